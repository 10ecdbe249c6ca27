import type { FastifyInstance } from 'fastify';
import { parseLogql, parseSelector } from '../../logql/index.ts';
import type { Expr, SampleExpr } from '../../logql/index.ts';
import { TENANT_ID_LABEL, compareStrings } from '../../model/index.ts';
import type { LabelMatcher, Labels, TenantId, TimeRange } from '../../model/index.ts';
import { labelForTenant, partitionTenantMatchers } from '../../storage/index.ts';
import type { LogQuerier, LogQueryable } from '../../storage/index.ts';
import { ApiError } from '../errors.ts';
import type { LokiApiDeps } from './deps.ts';
import { detectFields } from './detected-fields.ts';
import { lokiRoute } from './handler.ts';
import type { LokiRequest } from './handler.ts';
import { limitParam, rangeParams, requiredParam, secondsOrDurationParam } from './params.ts';

/** Loki's default look-back for label and series reads. */
const METADATA_SINCE_MS = 6 * 3600_000;
/** Loki's default look-back for index stats and volume (the query_range default). */
const INDEX_SINCE_MS = 3600_000;
/** The version `status/buildinfo` reports: Grafana enables Loki 3 features (structured metadata, volume, drilldown) from 3.0. */
export const LOKI_COMPATIBLE_VERSION = '3.5.0';

function toRange(startNs: bigint, endNs: bigint): TimeRange {
  return { startMs: Number(startNs / 1_000_000n), endMs: Number(endNs / 1_000_000n) };
}

function selector(text: string | undefined, name: string): LabelMatcher[] | undefined {
  if (text === undefined) return undefined;
  try {
    return parseSelector(text);
  } catch (err) {
    throw new ApiError('bad_data', `invalid ${name}: ${(err as Error).message}`, { cause: err });
  }
}

/** The stream matchers of any LogQL query (its first log selector); index endpoints ignore the pipeline. */
function matchersOfQuery(text: string): LabelMatcher[] {
  let e: Expr;
  try {
    e = parseLogql(text);
  } catch (err) {
    throw new ApiError('bad_data', (err as Error).message, { cause: err });
  }
  const find = (x: Expr): LabelMatcher[] | undefined => {
    if (x.kind === 'logSelector') return [...x.matchers];
    const s = x as SampleExpr;
    switch (s.kind) {
      case 'rangeAgg':
        return [...s.range.selector.matchers];
      case 'vectorAgg':
      case 'labelReplace':
        return find(s.inner);
      case 'binary':
        return find(s.left) ?? find(s.right);
      default:
        return undefined;
    }
  };
  const m = find(e);
  if (!m) throw new ApiError('bad_data', 'the query has no stream selector');
  return m;
}

/**
 * Runs `fn` per tenant of the request with the tenant's querier and the matchers left after
 * `__tenant_id__` matchers picked the tenants (undefined when none remain).
 */
export async function perTenant<T>(
  queryable: LogQueryable,
  tenants: readonly TenantId[],
  matchers: readonly LabelMatcher[] | undefined,
  fn: (q: LogQuerier, tenant: TenantId, matchers: LabelMatcher[] | undefined) => Promise<T>,
): Promise<{ tenant: TenantId; value: T }[]> {
  const split = matchers ? partitionTenantMatchers(tenants, matchers) : { tenants: [...tenants], matchers: undefined };
  const out: { tenant: TenantId; value: T }[] = [];
  for (const tenant of split.tenants) {
    const q = await queryable.querier([tenant]);
    try {
      const rest = split.matchers && split.matchers.length > 0 ? split.matchers : undefined;
      out.push({ tenant, value: await fn(q, tenant, rest) });
    } finally {
      await q.close();
    }
  }
  return out;
}

const ALL_STREAMS: LabelMatcher[] = [{ op: '=~', name: TENANT_ID_LABEL, value: '.*' }];

function sortedUnique(values: Iterable<string>): string[] {
  return [...new Set(values)].sort(compareStrings);
}

function sortLabels(l: Labels): Labels {
  return Object.fromEntries(Object.keys(l).sort(compareStrings).map((k) => [k, l[k]]));
}

/** labels, label values, series, index stats and volume, detected labels/fields, format_query, buildinfo. */
export function registerMetadataRoutes(app: FastifyInstance, deps: LokiApiDeps): void {
  const { tenants, logger, queryable } = deps;

  const labels = lokiRoute(tenants, logger, async (req) => {
    const { startNs, endNs } = rangeParams(req.params, METADATA_SINCE_MS);
    const matchers = selector(req.params.get('query'), 'query');
    const federated = req.tenants.length > 1;
    const parts = await perTenant(queryable, req.tenants, matchers, (q, _t, m) => q.labelNames(toRange(startNs, endNs), m));
    const names = parts.flatMap((p) => p.value);
    if (federated && parts.length > 0) names.push(TENANT_ID_LABEL);
    return { status: 'success', data: sortedUnique(names) };
  });
  app.get('/labels', labels);
  app.post('/labels', labels);
  // Loki's legacy alias.
  app.get('/label', labels);

  app.get(
    '/label/:name/values',
    lokiRoute(tenants, logger, async (req) => {
      const name = (req.request.params as { name: string }).name;
      const { startNs, endNs } = rangeParams(req.params, METADATA_SINCE_MS);
      const matchers = selector(req.params.get('query'), 'query');
      const federated = req.tenants.length > 1;
      if (name === TENANT_ID_LABEL) {
        const picked = matchers ? partitionTenantMatchers(req.tenants, matchers).tenants : req.tenants;
        return { status: 'success', data: federated ? sortedUnique(picked) : [] };
      }
      const parts = await perTenant(queryable, req.tenants, matchers, (q, _t, m) => q.labelValues(name, toRange(startNs, endNs), m));
      return { status: 'success', data: sortedUnique(parts.flatMap((p) => p.value)) };
    }),
  );

  const series = lokiRoute(tenants, logger, async (req) => {
    const { startNs, endNs } = rangeParams(req.params, METADATA_SINCE_MS);
    const texts = [...req.params.all('match[]'), ...req.params.all('match')].filter((t) => t !== '');
    const sets = texts.length > 0 ? texts.map((t) => selector(t, 'match[]')!) : [undefined];
    const federated = req.tenants.length > 1;
    const seen = new Map<string, Labels>();
    for (const set of sets) {
      const parts = await perTenant(queryable, req.tenants, set, (q, _t, m) => q.series(toRange(startNs, endNs), m ?? ALL_STREAMS));
      for (const p of parts) {
        for (const l of p.value) {
          const labels = sortLabels(labelForTenant(l, p.tenant, federated));
          seen.set(JSON.stringify(labels), labels);
        }
      }
    }
    return { status: 'success', data: [...seen.values()] };
  });
  app.get('/series', series);
  app.post('/series', series);

  const stats = lokiRoute(tenants, logger, async (req) => {
    const { startNs, endNs } = rangeParams(req.params, INDEX_SINCE_MS);
    const matchers = matchersOfQuery(requiredParam(req.params, 'query'));
    const totals = { streams: 0, chunks: 0, entries: 0, bytes: 0 };
    await perTenant(queryable, req.tenants, matchers, async (q, _t, m) => {
      const range = toRange(startNs, endNs);
      if (q.stats) {
        const s = await q.stats(range, m ?? ALL_STREAMS);
        totals.streams += s.streams;
        totals.chunks += s.chunks;
        totals.entries += s.entries;
        totals.bytes += s.bytes;
        return;
      }
      const streams = new Set<Labels>();
      for await (const slice of q.select({ matchers: m ?? ALL_STREAMS, startNs, endNs: endNs + 1n, direction: 'forward', signal: req.signal })) {
        for (const b of slice) {
          streams.add(b.labels);
          totals.entries += b.lines.length;
          for (const l of b.lines) totals.bytes += Buffer.byteLength(l);
        }
      }
      totals.streams += streams.size;
    });
    return totals;
  });
  app.get('/index/stats', stats);
  app.post('/index/stats', stats);

  const volume = (ranged: boolean) =>
    lokiRoute(tenants, logger, async (req) => {
      const { startNs, endNs } = rangeParams(req.params, INDEX_SINCE_MS);
      const matchers = matchersOfQuery(requiredParam(req.params, 'query'));
      const limit = limitParam(req.params, 100);
      const target = (req.params.get('targetLabels') ?? '').split(',').map((s) => s.trim()).filter((s) => s !== '');
      const aggregateBy = req.params.get('aggregateBy') ?? 'series';
      if (aggregateBy !== 'series' && aggregateBy !== 'labels') {
        throw new ApiError('bad_data', `invalid aggregateBy: ${JSON.stringify(aggregateBy)}; expected series or labels`);
      }
      const groupBy = target.length > 0 ? target : sortedUnique(matchers.map((m) => m.name).filter((n) => n !== TENANT_ID_LABEL));
      const stepMs = ranged ? (secondsOrDurationParam(req.params, 'step') ?? Math.max(1000, Math.floor(Number(endNs - startNs) / 1e6 / 250 / 1000) * 1000)) : undefined;
      return { status: 'success', data: await computeVolume(queryable, req, matchers, startNs, endNs, stepMs, groupBy, aggregateBy, limit) };
    });
  app.get('/index/volume', volume(false));
  app.post('/index/volume', volume(false));
  app.get('/index/volume_range', volume(true));
  app.post('/index/volume_range', volume(true));

  app.get(
    '/detected_labels',
    lokiRoute(tenants, logger, async (req) => {
      const { startNs, endNs } = rangeParams(req.params, METADATA_SINCE_MS);
      const q = req.params.get('query');
      const matchers = q !== undefined && q.trim() !== '' && q.trim() !== '{}' ? matchersOfQuery(q) : undefined;
      const values = new Map<string, Set<string>>();
      const parts = await perTenant(queryable, req.tenants, matchers, (qr, _t, m) => qr.series(toRange(startNs, endNs), m ?? ALL_STREAMS));
      for (const p of parts) {
        for (const l of p.value) {
          for (const [k, v] of Object.entries(l)) {
            let set = values.get(k);
            if (!set) values.set(k, (set = new Set()));
            set.add(v);
          }
        }
      }
      const detectedLabels = [...values.entries()]
        .sort(([a], [b]) => compareStrings(a, b))
        .map(([label, set]) => ({ label, cardinality: set.size }));
      return { detectedLabels };
    }),
  );

  app.get(
    '/detected_fields',
    lokiRoute(tenants, logger, async (req) => {
      const query = req.params.get('query') ?? '';
      const { startNs, endNs } = rangeParams(req.params, INDEX_SINCE_MS);
      const lineLimit = Number(req.params.get('line_limit') ?? 1000);
      const limit = limitParam(req.params, 1000);
      const fields = await detectFields(deps, req, query, startNs, endNs, Math.min(lineLimit, deps.config.query.max_entries_limit_per_query));
      return { fields: fields.slice(0, limit).map((f) => ({ label: f.label, type: f.type, cardinality: f.values.size, parsers: f.parsers })), limit };
    }),
  );

  app.get(
    '/detected_field/:name/values',
    lokiRoute(tenants, logger, async (req) => {
      const name = (req.request.params as { name: string }).name;
      const query = req.params.get('query') ?? '';
      const { startNs, endNs } = rangeParams(req.params, INDEX_SINCE_MS);
      const lineLimit = Number(req.params.get('line_limit') ?? 1000);
      const limit = limitParam(req.params, 1000);
      const fields = await detectFields(deps, req, query, startNs, endNs, Math.min(lineLimit, deps.config.query.max_entries_limit_per_query));
      const f = fields.find((x) => x.label === name);
      return { values: f ? [...f.values].sort(compareStrings).slice(0, limit) : [], limit };
    }),
  );

  app.get(
    '/patterns',
    lokiRoute(tenants, logger, async () => ({ status: 'success', data: [] })),
  );

  app.get(
    '/format_query',
    lokiRoute(
      tenants,
      logger,
      async (req) => {
        const query = requiredParam(req.params, 'query');
        try {
          parseLogql(query);
        } catch (err) {
          throw new ApiError('bad_data', (err as Error).message, { cause: err });
        }
        // Validated but not re-indented: @grafana/lezer-logql 0.3.0 ships no formatter.
        return { status: 'success', data: query.trim() };
      },
      { tenantless: true },
    ),
  );

  app.get(
    '/status/buildinfo',
    lokiRoute(
      tenants,
      logger,
      async () => ({ version: LOKI_COMPATIBLE_VERSION, revision: 'heimdall', branch: 'main', buildUser: 'heimdall', buildDate: '', goVersion: '' }),
      { tenantless: true },
    ),
  );

  app.get(
    '/drilldown-limits',
    lokiRoute(
      tenants,
      logger,
      async () => ({
        version: LOKI_COMPATIBLE_VERSION,
        pattern_ingester_enabled: false,
        limits: {
          discover_log_levels: true,
          discover_service_name: deps.config.limits.discover_service_name,
          log_level_fields: ['level', 'LEVEL', 'Level', 'severity', 'SEVERITY', 'Severity', 'lvl', 'LVL', 'Lvl'],
          max_entries_limit_per_query: deps.config.query.max_entries_limit_per_query,
          max_query_series: deps.config.query.max_query_series,
          max_query_length: `${Math.round(deps.config.query.max_query_length / 3600_000)}h`,
          retention_period: `${Math.round(deps.config.limits.retention_period / 3600_000)}h`,
          volume_enabled: true,
          volume_max_series: 1000,
        },
      }),
      { tenantless: true },
    ),
  );
}

interface VolumeCell {
  labels: Labels;
  total: number;
  perStep: Map<number, number>;
}

async function computeVolume(
  queryable: LogQueryable,
  req: LokiRequest,
  matchers: LabelMatcher[],
  startNs: bigint,
  endNs: bigint,
  stepMs: number | undefined,
  groupBy: string[],
  aggregateBy: 'series' | 'labels',
  limit: number,
): Promise<unknown> {
  const federated = req.tenants.length > 1;
  const cells = new Map<string, VolumeCell>();
  const stepNs = stepMs !== undefined ? BigInt(Math.round(stepMs * 1e6)) : endNs - startNs + 1n;
  const add = (labels: Labels, bucket: number, bytes: number): void => {
    const keys: Labels[] =
      aggregateBy === 'labels'
        ? Object.keys(labels).filter((k) => groupBy.length === 0 || groupBy.includes(k)).map((k) => ({ [k]: '' }))
        : [Object.fromEntries(groupBy.filter((k) => labels[k] !== undefined).map((k) => [k, labels[k]]))];
    for (const k of keys) {
      const key = JSON.stringify(sortLabels(k));
      let c = cells.get(key);
      if (!c) cells.set(key, (c = { labels: sortLabels(k), total: 0, perStep: new Map() }));
      c.total += bytes;
      c.perStep.set(bucket, (c.perStep.get(bucket) ?? 0) + bytes);
    }
  };
  await perTenant(queryable, req.tenants, matchers, async (q, tenant, m) => {
    const sel = m ?? ALL_STREAMS;
    if (q.counts) {
      // Buckets are (start + k*step, start + (k+1)*step]; shift by one ns so `start` itself counts.
      const rows = await q.counts({ matchers: sel, startNs: startNs - 1n, endNs, stepNs, signal: req.signal });
      for (const r of rows) {
        const labels = labelForTenant(r.labels, tenant, federated);
        for (let k = 0; k < r.bytes.length; k++) if (r.counts[k] > 0) add(labels, k, r.bytes[k]);
      }
      return;
    }
    for await (const slice of q.select({ matchers: sel, startNs, endNs: endNs + 1n, direction: 'forward', signal: req.signal })) {
      for (const b of slice) {
        const labels = labelForTenant(b.labels, tenant, federated);
        for (let i = 0; i < b.lines.length; i++) {
          const k = Number((b.timestampsNs[i] - startNs) / stepNs);
          add(labels, k, Buffer.byteLength(b.lines[i]));
        }
      }
    }
  });
  // Volume matches the selector's own matchers, so a stream missing a grouped label still counts under
  // the labels it has; the largest volumes come first.
  const ranked = [...cells.values()].sort((a, b) => b.total - a.total).slice(0, limit);
  const endSeconds = Number(endNs / 1_000_000n) / 1000;
  if (stepMs === undefined) {
    return { resultType: 'vector', result: ranked.map((c) => ({ metric: c.labels, value: [endSeconds, String(c.total)] })) };
  }
  return {
    resultType: 'matrix',
    result: ranked.map((c) => ({
      metric: c.labels,
      values: [...c.perStep.entries()]
        .sort(([a], [b]) => a - b)
        .map(([k, v]) => [Number((startNs + BigInt(k + 1) * stepNs) / 1_000_000n) / 1000, String(v)]),
    })),
  };
}
