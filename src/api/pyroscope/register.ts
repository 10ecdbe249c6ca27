import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import { HeimdallError, PROFILE_TYPE_LABEL } from '../../model/index.ts';
import { DEFAULT_MAX_NODES, MAX_MAX_NODES, StackTree, flameGraphDiffOf, flameGraphOf } from '../../profiles/index.ts';
import type { ProfileQueryable } from '../../storage/index.ts';
import type { TenantResolver } from '../../tenant/index.ts';
import { toApiError } from '../errors.ts';
import { abortOnClientClose, readTenants } from '../request-context.ts';
import { registerConnectMethods } from './connect.ts';
import { querierMethods, selectorMatchers } from './querier-methods.ts';

/** Where Pyroscope's HTTP surface lives: a Grafana Pyroscope data source URL is `http://HOST:3000/pyroscope`. */
export const PYROSCOPE_API_PREFIX = '/pyroscope';

/** The Pyroscope version `status/buildinfo` reports: the v1 API this one speaks. */
const PYROSCOPE_COMPATIBLE_VERSION = '1.14.0';

export interface PyroscopeApiDeps {
  /** The profiles to read; its `querier(tenants)` must accept several tenants (the store wrapped by `federatedProfilesStorage`). */
  readonly queryable: ProfileQueryable;
  readonly tenants: TenantResolver;
  readonly logger: Logger;
}

/** Pyroscope's legacy time parameter: `now`, `now-1h`, Unix seconds or milliseconds. */
function legacyTimeMs(text: string | undefined, fallback: number, nowMs: number): number {
  if (text === undefined || text === '') return fallback;
  const rel = /^now(?:-(\d+)([smhdw]))?$/.exec(text);
  if (rel) {
    if (rel[1] === undefined) return nowMs;
    const unit = { s: 1e3, m: 6e4, h: 3.6e6, d: 8.64e7, w: 6.048e8 }[rel[2] as 's' | 'm' | 'h' | 'd' | 'w'];
    return nowMs - Number(rel[1]) * unit;
  }
  const n = Number(text);
  if (!Number.isFinite(n)) throw new HeimdallError('bad_data', `invalid time "${text}": expected now, now-1h, or Unix seconds`);
  return n > 1e11 ? n : n * 1000;
}

/** Splits a legacy query `<profile type id>{selector}` into the two. */
function splitLegacyQuery(query: string | undefined): { profileTypeID: string; selector: string } {
  if (!query) throw new HeimdallError('bad_data', 'the query parameter is required (e.g. process_cpu:cpu:nanoseconds:cpu:nanoseconds{service_name="api"})');
  const brace = query.indexOf('{');
  return brace < 0 ? { profileTypeID: query.trim(), selector: '' } : { profileTypeID: query.slice(0, brace).trim(), selector: query.slice(brace) };
}

function legacyMaxNodes(text: string | undefined): number {
  return text ? Math.min(MAX_MAX_NODES, Math.max(1, Number(text) || DEFAULT_MAX_NODES)) : DEFAULT_MAX_NODES;
}

/** The merged tree of a legacy query (`<profile type id>{selector}`) over a range. */
async function legacyTree(
  deps: PyroscopeApiDeps,
  request: FastifyRequest,
  query: string | undefined,
  startMs: number,
  endMs: number,
  signal: AbortSignal,
): Promise<{ profileTypeID: string; tree: StackTree }> {
  const { profileTypeID, selector } = splitLegacyQuery(query);
  const tree = new StackTree();
  const querier = await deps.queryable.querier(readTenants(deps.tenants, request));
  try {
    const matchers = [{ name: PROFILE_TYPE_LABEL, op: '=' as const, value: profileTypeID }, ...selectorMatchers(selector)];
    for await (const batch of querier.select({ startMs, endMs, matchers, read: 'merged', signal })) for (const { profile } of batch) tree.add(profile);
  } finally {
    await querier.close();
  }
  return { profileTypeID, tree };
}

/** Answers a legacy render request with `answer`'s JSON, or the mapped error as text (Pyroscope's shape). */
async function legacyAnswer(
  deps: PyroscopeApiDeps,
  request: FastifyRequest,
  reply: FastifyReply,
  what: string,
  answer: (q: Record<string, string | undefined>, signal: AbortSignal) => Promise<object>,
): Promise<FastifyReply> {
  const { signal, dispose } = abortOnClientClose(reply);
  try {
    return await reply.type('application/json').send(JSON.stringify(await answer(request.query as Record<string, string | undefined>, signal)));
  } catch (err) {
    const mapped = toApiError(err, String(request.id));
    if (mapped.internal) deps.logger.error({ err, requestId: request.id }, `Pyroscope ${what} internal error`);
    return reply.code(mapped.status).type('text/plain; charset=utf-8').send(`${mapped.message}\n`);
  } finally {
    dispose();
  }
}

/**
 * Registers Pyroscope's query API under `/pyroscope`: Connect `querier.v1.QuerierService/*` (ProfileTypes,
 * LabelNames, LabelValues, Series, SelectMergeStacktraces, SelectMergeSpanProfile, SelectMergeProfile,
 * SelectSeries, Diff, GetProfileStats), the legacy `GET /pyroscope/pyroscope/render` (`query`, `from`,
 * `until`, `maxNodes`; flamebearer JSON), `/pyroscope/pyroscope/render-diff` (`leftQuery`, `leftFrom`,
 * `leftUntil`, `rightQuery`, ...) and `/pyroscope/pyroscope/label-values`, and
 * `/pyroscope/api/v1/status/buildinfo`. Call before the server listens.
 */
export async function registerPyroscopeApi(app: FastifyInstance, deps: PyroscopeApiDeps): Promise<void> {
  await app.register(
    async (scope) => {
      await registerConnectMethods(scope, deps.tenants, deps.logger, querierMethods(deps.queryable));
      scope.get('/api/v1/status/buildinfo', async (_request, reply) =>
        reply.type('application/json').send(
          JSON.stringify({ status: 'success', data: { version: PYROSCOPE_COMPATIBLE_VERSION, revision: 'heimdall', branch: 'main', goVersion: '' } }),
        ),
      );
      scope.get('/pyroscope/render', async (request, reply) =>
        legacyAnswer(deps, request, reply, 'render', async (q, signal) => {
          const now = Date.now();
          const { profileTypeID, tree } = await legacyTree(deps, request, q.query, legacyTimeMs(q.from, now - 3_600_000, now), legacyTimeMs(q.until, now, now), signal);
          const fg = flameGraphOf(tree, legacyMaxNodes(q.maxNodes));
          return {
            flamebearer: { names: fg.names, levels: fg.levels, numTicks: fg.total, maxSelf: fg.maxSelf },
            metadata: { format: 'single', units: profileTypeID.split(':')[2] ?? '', name: profileTypeID },
            timeline: null,
          };
        }),
      );
      // Pyroscope's legacy diff: two queries over two ranges, one flamebearer in the "double" format.
      scope.get('/pyroscope/render-diff', async (request, reply) =>
        legacyAnswer(deps, request, reply, 'render-diff', async (q, signal) => {
          const now = Date.now();
          const left = await legacyTree(deps, request, q.leftQuery, legacyTimeMs(q.leftFrom, now - 3_600_000, now), legacyTimeMs(q.leftUntil, now, now), signal);
          const right = await legacyTree(deps, request, q.rightQuery, legacyTimeMs(q.rightFrom, now - 3_600_000, now), legacyTimeMs(q.rightUntil, now, now), signal);
          const fg = flameGraphDiffOf(left.tree, right.tree, legacyMaxNodes(q.maxNodes));
          return {
            flamebearer: { names: fg.names, levels: fg.levels, numTicks: fg.total, maxSelf: fg.maxSelf },
            metadata: { format: 'double', units: left.profileTypeID.split(':')[2] ?? '', name: left.profileTypeID },
            leftTicks: fg.leftTicks,
            rightTicks: fg.rightTicks,
            timeline: null,
          };
        }),
      );
      scope.get('/pyroscope/label-values', async (request, reply) => {
        try {
          const q = request.query as Record<string, string | undefined>;
          if (!q.label) throw new HeimdallError('bad_data', 'the label parameter is required');
          const now = Date.now();
          const querier = await deps.queryable.querier(readTenants(deps.tenants, request));
          try {
            const values = await querier.labelValues(q.label, q.query ? selectorMatchers(q.query) : [], {
              startMs: legacyTimeMs(q.from, 0, now),
              endMs: legacyTimeMs(q.until, Number.MAX_SAFE_INTEGER, now),
            });
            return reply.type('application/json').send(JSON.stringify(values));
          } finally {
            await querier.close();
          }
        } catch (err) {
          const mapped = toApiError(err, String(request.id));
          if (mapped.internal) deps.logger.error({ err, requestId: request.id }, 'Pyroscope label-values internal error');
          return reply.code(mapped.status).type('text/plain; charset=utf-8').send(`${mapped.message}\n`);
        }
      });
    },
    { prefix: PYROSCOPE_API_PREFIX },
  );
}
