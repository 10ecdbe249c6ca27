import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { LabelMatcher, TimeRange } from '../../model/index.ts';
import type { MetricsStorage } from '../../storage/index.ts';
import type { TenantResolver } from '../../tenant/index.ts';
import { ApiError } from '../errors.ts';
import { TRUNCATED_WARNING, apiRoute } from './handler.ts';
import type { ApiRequest, ApiResult } from './handler.ts';
import { MAX_POINTS_PER_SERIES, durationParam, invalidParam, limitParam, optionalTimeParam, timeParam } from './params.ts';
import { extractSelectors, formatQuery, resultJson } from './engine.ts';
import type { QueryEngine, QueryOptions, QueryOutcome } from './engine.ts';
import { readExemplars } from './tenant-reads.ts';

/** Registers `query`, `query_range`, `query_exemplars` and `format_query` (GET and form POST). */
export function registerQueryRoutes(
  app: FastifyInstance,
  deps: { queryable: MetricsStorage; engine: QueryEngine; tenants: TenantResolver; logger: Logger; queryTimeoutMs: number },
): void {
  const both = (path: string, fn: (req: ApiRequest) => Promise<ApiResult>, tenantless = false): void => {
    const handler = apiRoute(deps.tenants, deps.logger, fn, { tenantless });
    app.get(path, handler);
    app.post(path, handler);
  };

  both('/query', async (req) => {
    const limit = limitParam(req.form.get('limit'));
    const timeMs = optionalTimeParam('time', req.form.get('time'), Date.now());
    const opts = queryOptions(req, deps.queryTimeoutMs);
    const outcome = await runQuery(() => deps.engine.instant(deps.queryable, req.tenants, req.form.get('query') ?? '', timeMs, opts));
    return respond(outcome, limit);
  });

  both('/query_range', async (req) => {
    const limit = limitParam(req.form.get('limit'));
    const startMs = timeParam('start', req.form.get('start'));
    const endMs = timeParam('end', req.form.get('end'));
    if (endMs < startMs) throw invalidParam('end', new Error('end timestamp must not be before start time'));
    const stepMs = durationParam('step', req.form.get('step'));
    if (!(stepMs > 0)) {
      throw invalidParam('step', new Error('zero or negative query resolution step widths are not accepted. Try a positive integer'));
    }
    // Go divides durations as integers: the number of whole steps in the range.
    if (Math.floor((endMs - startMs) / stepMs) > MAX_POINTS_PER_SERIES) {
      throw new ApiError(
        'bad_data',
        'exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the query resolution (?step=XX)',
      );
    }
    const opts = queryOptions(req, deps.queryTimeoutMs);
    // Timestamps are whole milliseconds; a sub-millisecond step still advances.
    const engineStepMs = Math.max(1, Math.round(stepMs));
    const outcome = await runQuery(() =>
      deps.engine.range(deps.queryable, req.tenants, req.form.get('query') ?? '', startMs, endMs, engineStepMs, opts),
    );
    return respond(outcome, limit);
  });

  both('/query_exemplars', async (req) => {
    const startMs = optionalTimeParam('start', req.form.get('start'), Number.MIN_SAFE_INTEGER);
    const endMs = optionalTimeParam('end', req.form.get('end'), Number.MAX_SAFE_INTEGER);
    if (endMs < startMs) throw new ApiError('bad_data', 'end timestamp must not be before start timestamp');
    const selectors = extractSelectors(req.form.get('query') ?? '');
    if (selectors.length === 0) return { data: [] };
    const found = await readExemplarsFor(deps.queryable, req, { startMs, endMs }, selectors);
    return { data: found };
  });

  both(
    '/format_query',
    async (req) => {
      try {
        return { data: formatQuery(req.form.get('query') ?? '') };
      } catch (err) {
        throw asQueryParamError(err);
      }
    },
    true,
  );
}

async function readExemplarsFor(
  queryable: MetricsStorage,
  req: ApiRequest,
  range: TimeRange,
  selectors: readonly (readonly LabelMatcher[])[],
): Promise<unknown[]> {
  const series = await readExemplars(queryable, req.tenants, range, selectors);
  return series.map((s) => ({
    seriesLabels: s.seriesLabels,
    exemplars: s.exemplars.map((e) => ({ labels: e.labels, value: formatFloat(e.value), timestamp: e.timestampMs / 1000 })),
  }));
}

/** The engine options of a request: its `timeout` (capped by the configured one), `lookback_delta`, abort. */
function queryOptions(req: ApiRequest, maxTimeoutMs: number): QueryOptions {
  const timeout = req.form.get('timeout');
  const lookback = req.form.get('lookback_delta');
  const opts: { signal: AbortSignal; timeoutMs: number; lookbackDeltaMs?: number } = { signal: req.signal, timeoutMs: maxTimeoutMs };
  if (timeout !== undefined && timeout !== '') opts.timeoutMs = Math.min(maxTimeoutMs, durationParam('timeout', timeout));
  if (lookback !== undefined && lookback !== '') {
    try {
      opts.lookbackDeltaMs = durationParam('lookback_delta', lookback);
    } catch (err) {
      throw new ApiError('bad_data', `error parsing lookback delta duration: ${((err as Error).cause as Error).message}`);
    }
  }
  return opts;
}

/** Runs a query; a `bad_data` failure before evaluation is a bad `query` parameter, as in Prometheus. */
async function runQuery(run: () => Promise<QueryOutcome>): Promise<QueryOutcome> {
  try {
    return await run();
  } catch (err) {
    throw asQueryParamError(err);
  }
}

function asQueryParamError(err: unknown): unknown {
  if (err instanceof Error && (err as { type?: unknown }).type === 'bad_data') return invalidParam('query', err);
  return err;
}

function respond(outcome: QueryOutcome, limit: number): ApiResult {
  const warnings = [...outcome.warnings];
  let value = outcome.value;
  if (limit > 0 && (value.resultType === 'vector' || value.resultType === 'matrix') && value.result.length > limit) {
    value = { ...value, result: value.result.slice(0, limit) };
    warnings.push(TRUNCATED_WARNING);
  }
  return { data: resultJson(value), warnings, infos: outcome.infos };
}

/** Go's strconv.FormatFloat(v, 'f', -1, 64) for the values Prometheus prints as strings. */
export function formatFloat(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  const s = String(v);
  if (!/e/i.test(s)) return s;
  // Shortest round-trip digits, laid out without an exponent.
  const [mant, expPart] = s.split('e') as [string, string];
  const exp = Number(expPart);
  const neg = mant.startsWith('-');
  const digits = mant.replace('-', '').replace('.', '');
  const pointAt = (mant.replace('-', '').indexOf('.') === -1 ? mant.replace('-', '').length : mant.replace('-', '').indexOf('.')) + exp;
  let out: string;
  if (pointAt <= 0) out = `0.${'0'.repeat(-pointAt)}${digits}`;
  else if (pointAt >= digits.length) out = digits + '0'.repeat(pointAt - digits.length);
  else out = `${digits.slice(0, pointAt)}.${digits.slice(pointAt)}`;
  return neg ? `-${out}` : out;
}
