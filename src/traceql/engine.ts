import { HeimdallError } from '../model/index.ts';
import type { TenantId } from '../model/index.ts';
import { QueryDeadline } from '../storage/index.ts';
import type {
  EncodedQueryResult,
  QueryControls,
  TraceQueryable,
  TraceQueryEngine,
  TraceqlMetricsInstantQuery,
  TraceqlMetricsRangeQuery,
  TraceqlSearchQuery,
} from '../storage/index.ts';
import type { RootExpr } from './ast.ts';
import { runMetrics } from './metrics.ts';
import { parseAndValidate } from './parser.ts';
import { encodeSearchResponse, runSearch } from './search.ts';

export interface TraceqlEngineOptions {
  /** Longest a query may run; a caller's shorter `timeoutMs` wins. Default 60 s. */
  readonly timeoutMs?: number;
  /** Most series a metrics query may produce before it fails (a limit error naming this setting). Default 10,000. */
  readonly maxSeries?: number;
}

/** Tempo's default query timeout. */
export const DEFAULT_TRACEQL_TIMEOUT_MS = 60_000;
const DEFAULT_MAX_SERIES = 10_000;

/**
 * TraceQL evaluated in the calling thread over the trace seam: searches and metrics queries, answered in Tempo's
 * JSON. Parse and validation failures reject with `bad_data`; a query past its budget with `timeout`; a cancelled
 * one with `canceled`; limits with `execution`. Safe for concurrent use (each query opens its own querier).
 */
export class TraceqlEngine implements TraceQueryEngine {
  private readonly timeoutMs: number;
  readonly maxSeries: number;

  constructor(opts: TraceqlEngineOptions = {}) {
    this.timeoutMs = opts.timeoutMs ?? DEFAULT_TRACEQL_TIMEOUT_MS;
    this.maxSeries = opts.maxSeries ?? DEFAULT_MAX_SERIES;
  }

  private deadline(controls: QueryControls): QueryDeadline {
    const ms = Math.min(this.timeoutMs, controls.timeoutMs ?? Infinity);
    return new QueryDeadline(Date.now() + ms, controls.signal);
  }

  async search(queryable: TraceQueryable, tenants: readonly TenantId[], q: TraceqlSearchQuery, controls: QueryControls = {}): Promise<EncodedQueryResult> {
    const root = parseAndValidate(q.query);
    if (root.kind !== 'search') throw new HeimdallError('bad_data', 'a TraceQL metrics query cannot be used for search; use /api/metrics/query_range');
    const deadline = this.deadline(controls);
    const querier = await queryable.querier(tenants);
    try {
      const { matches, stats } = await runSearch(querier, root.pipeline, { startNs: q.startNs, endNs: q.endNs, limit: q.limit, spansPerSpanSet: q.spansPerSpanSet, deadline });
      return { dataJson: encodeSearchResponse(matches, root.pipeline, q.spansPerSpanSet, stats), warnings: [], infos: [] };
    } finally {
      await querier.close();
    }
  }

  async range(queryable: TraceQueryable, tenants: readonly TenantId[], q: TraceqlMetricsRangeQuery, controls: QueryControls = {}): Promise<EncodedQueryResult> {
    const root = metricsRoot(q.query);
    return this.metrics(queryable, tenants, root, { startNs: q.startNs, endNs: q.endNs, stepNs: q.stepNs, exemplars: q.exemplars ?? 0, instant: false }, controls);
  }

  async instant(queryable: TraceQueryable, tenants: readonly TenantId[], q: TraceqlMetricsInstantQuery, controls: QueryControls = {}): Promise<EncodedQueryResult> {
    const root = metricsRoot(q.query);
    const stepNs = q.endNs > q.startNs ? q.endNs - q.startNs : 1n;
    return this.metrics(queryable, tenants, root, { startNs: q.startNs, endNs: q.endNs, stepNs, exemplars: 0, instant: true }, controls);
  }

  private async metrics(
    queryable: TraceQueryable,
    tenants: readonly TenantId[],
    root: Extract<RootExpr, { kind: 'metrics' }>,
    range: { startNs: bigint; endNs: bigint; stepNs: bigint; exemplars: number; instant: boolean },
    controls: QueryControls,
  ): Promise<EncodedQueryResult> {
    const deadline = this.deadline(controls);
    const querier = await queryable.querier(tenants);
    try {
      const json = await runMetrics(querier, root, { ...range, deadline, maxSeries: this.maxSeries });
      return { dataJson: json, warnings: [], infos: [] };
    } finally {
      await querier.close();
    }
  }
}

function metricsRoot(query: string): Extract<RootExpr, { kind: 'metrics' }> {
  const root = parseAndValidate(query);
  if (root.kind !== 'metrics') {
    throw new HeimdallError('bad_data', 'invalid TraceQL query: a metrics query needs a metrics function (rate(), count_over_time(), ...)');
  }
  return root;
}
