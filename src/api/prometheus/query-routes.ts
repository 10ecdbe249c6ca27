import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { isHeimdallError } from '../../model/index.ts';
import type { LabelMatcher, TimeRange } from '../../model/index.ts';
import { parseExpr, walk } from '../../promql/index.ts';
import type { EncodedQueryResult, MetricQueryEngine, MetricsStorage, QueryControls } from '../../storage/index.ts';
import type { TenantResolver } from '../../tenant/index.ts';
import { ApiError } from '../errors.ts';
import { formatSampleValue } from '../sample-value.ts';
import { apiRoute } from './handler.ts';
import type { ApiRequest, ApiResult } from './handler.ts';
import { MAX_POINTS_PER_SERIES, durationParam, invalidParam, limitParam, optionalTimeParam, timeParam } from './params.ts';
import { readExemplars } from './label-reads.ts';

/** Registers `query`, `query_range` and `query_exemplars` (GET and form POST). */
export function registerQueryRoutes(
  app: FastifyInstance,
  deps: { queryable: MetricsStorage; engine: MetricQueryEngine; tenants: TenantResolver; logger: Logger; queryTimeoutMs: number },
): void {
  const both = (path: string, fn: (req: ApiRequest) => Promise<ApiResult>): void => {
    const handler = apiRoute(deps.tenants, deps.logger, fn);
    app.get(path, handler);
    app.post(path, handler);
  };

  both('/query', async (req) => {
    const limit = limitParam(req.form.get('limit'));
    const timeMs = optionalTimeParam('time', req.form.get('time'), Date.now());
    const { controls, lookbackDeltaMs } = queryOptions(req, deps.queryTimeoutMs);
    const query = { query: req.form.get('query') ?? '', timeMs, limit, ...lookbackDeltaMs };
    return respond(await runQuery(() => deps.engine.instant(deps.queryable, req.tenants, query, controls)));
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
    const { controls, lookbackDeltaMs } = queryOptions(req, deps.queryTimeoutMs);
    // Timestamps are whole milliseconds; a sub-millisecond step still advances.
    const query = { query: req.form.get('query') ?? '', startMs, endMs, stepMs: Math.max(1, Math.round(stepMs)), limit, ...lookbackDeltaMs };
    return respond(await runQuery(() => deps.engine.range(deps.queryable, req.tenants, query, controls)));
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
    exemplars: s.exemplars.map((e) => ({ labels: e.labels, value: formatSampleValue(e.value), timestamp: e.timestampMs / 1000 })),
  }));
}

/** The query controls of a request (its `timeout`, capped by the configured one, and abort) and its `lookback_delta`. */
function queryOptions(req: ApiRequest, maxTimeoutMs: number): { controls: QueryControls; lookbackDeltaMs: { lookbackDeltaMs?: number } } {
  const timeout = req.form.get('timeout');
  const lookback = req.form.get('lookback_delta');
  let timeoutMs = maxTimeoutMs;
  if (timeout !== undefined && timeout !== '') timeoutMs = Math.min(maxTimeoutMs, durationParam('timeout', timeout));
  const lookbackDeltaMs: { lookbackDeltaMs?: number } = {};
  if (lookback !== undefined && lookback !== '') {
    try {
      lookbackDeltaMs.lookbackDeltaMs = durationParam('lookback_delta', lookback);
    } catch (err) {
      throw new ApiError('bad_data', `error parsing lookback delta duration: ${((err as Error).cause as Error).message}`, { cause: err });
    }
  }
  return { controls: { signal: req.signal, timeoutMs }, lookbackDeltaMs };
}

/** Runs a query; a `bad_data` failure before evaluation is a bad `query` parameter, as in Prometheus. */
async function runQuery(run: () => Promise<EncodedQueryResult>): Promise<EncodedQueryResult> {
  try {
    return await run();
  } catch (err) {
    throw asQueryParamError(err);
  }
}

function asQueryParamError(err: unknown): unknown {
  if (isHeimdallError(err) && err.kind === 'bad_data') return invalidParam('query', err);
  return err;
}

/** The engine's answer in the envelope (the engine already applied `limit` and encoded `data`). */
function respond(outcome: EncodedQueryResult): ApiResult {
  return { data: undefined, dataJson: outcome.dataJson, warnings: outcome.warnings, infos: outcome.infos };
}

/** The matchers of every vector selector in a query, as Prometheus' `parser.ExtractSelectors`. */
function extractSelectors(query: string): LabelMatcher[][] {
  const sets: LabelMatcher[][] = [];
  walk(parseExpr(query), (node) => {
    if (node.type === 'VectorSelector') sets.push([...node.matchers]);
  });
  return sets;
}
