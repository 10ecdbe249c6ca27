import type { LogqlEngine } from '../logql/index.ts';
import type { TenantId } from '../model/index.ts';
import type { PromqlEngine, QueryResult } from '../promql/index.ts';
import type {
  EncodedQueryResult,
  LogQueryEngine,
  LogQueryable,
  LogqlInstantQuery,
  LogqlRangeQuery,
  MetricQueryEngine,
  MetricQueryable,
  PromqlInstantQuery,
  PromqlRangeQuery,
  QueryControls,
} from '../storage/index.ts';
import { lokiDataJson } from '../api/loki/result-json.ts';
import { resultToPrometheusJsonData } from '../api/prometheus/result-json.ts';
import { TRUNCATED_WARNING } from '../api/prometheus/handler.ts';

/**
 * PromQL evaluated in the calling thread and encoded there: what a query worker runs, and what a caller
 * without workers (tests, tools) may use directly. Blocks its thread for the whole evaluation.
 */
export class InProcessMetricQueryEngine implements MetricQueryEngine {
  private readonly engine: PromqlEngine;

  constructor(engine: PromqlEngine) {
    this.engine = engine;
  }

  async instant(queryable: MetricQueryable, tenants: readonly TenantId[], q: PromqlInstantQuery, controls: QueryControls = {}): Promise<EncodedQueryResult> {
    const opts = promqlOptions(controls, q.lookbackDeltaMs);
    return encodePromql(await this.engine.instant(queryable, tenants, q.query, q.timeMs, opts), q.limit ?? 0);
  }

  async range(queryable: MetricQueryable, tenants: readonly TenantId[], q: PromqlRangeQuery, controls: QueryControls = {}): Promise<EncodedQueryResult> {
    const opts = promqlOptions(controls, q.lookbackDeltaMs);
    return encodePromql(await this.engine.range(queryable, tenants, q.query, q.startMs, q.endMs, q.stepMs, opts), q.limit ?? 0);
  }
}

/** LogQL evaluated and encoded in the calling thread (see {@link InProcessMetricQueryEngine}). */
export class InProcessLogQueryEngine implements LogQueryEngine {
  private readonly engine: LogqlEngine;

  constructor(engine: LogqlEngine) {
    this.engine = engine;
  }

  async instant(queryable: LogQueryable, tenants: readonly TenantId[], q: LogqlInstantQuery, controls: QueryControls = {}): Promise<EncodedQueryResult> {
    const res = await this.engine.query(queryable, tenants, {
      query: q.query,
      startNs: q.timeNs,
      endNs: q.timeNs,
      direction: q.direction,
      limit: q.limit,
      instant: true,
      ...(q.categorizeLabels === undefined ? {} : { categorizeLabels: q.categorizeLabels }),
      ...(controls.signal === undefined ? {} : { signal: controls.signal }),
    });
    return { dataJson: JSON.stringify(lokiDataJson(res, { categorizeLabels: q.categorizeLabels === true })), warnings: [], infos: [] };
  }

  async range(queryable: LogQueryable, tenants: readonly TenantId[], q: LogqlRangeQuery, controls: QueryControls = {}): Promise<EncodedQueryResult> {
    const res = await this.engine.query(queryable, tenants, {
      query: q.query,
      startNs: q.startNs,
      endNs: q.endNs,
      ...(q.stepMs === undefined ? {} : { stepMs: q.stepMs }),
      ...(q.intervalMs === undefined ? {} : { intervalMs: q.intervalMs }),
      direction: q.direction,
      limit: q.limit,
      ...(q.categorizeLabels === undefined ? {} : { categorizeLabels: q.categorizeLabels }),
      ...(controls.signal === undefined ? {} : { signal: controls.signal }),
    });
    return { dataJson: JSON.stringify(lokiDataJson(res, { categorizeLabels: q.categorizeLabels === true })), warnings: [], infos: [] };
  }
}

function promqlOptions(controls: QueryControls, lookbackDeltaMs: number | undefined): { signal?: AbortSignal; timeoutMs?: number; lookbackDeltaMs?: number } {
  return {
    ...(controls.signal === undefined ? {} : { signal: controls.signal }),
    ...(controls.timeoutMs === undefined ? {} : { timeoutMs: controls.timeoutMs }),
    ...(lookbackDeltaMs === undefined ? {} : { lookbackDeltaMs }),
  };
}

/** Prometheus' `data` for a result, cut to `limit` series (Prometheus 3's `limit` parameter) with a warning. */
function encodePromql(outcome: QueryResult, limit: number): EncodedQueryResult {
  const warnings = [...outcome.warnings];
  let value = outcome.value;
  if (limit > 0 && value.type === 'vector' && value.samples.length > limit) {
    value = { ...value, samples: value.samples.slice(0, limit) };
    warnings.push(TRUNCATED_WARNING);
  } else if (limit > 0 && value.type === 'matrix' && value.series.length > limit) {
    value = { ...value, series: value.series.slice(0, limit) };
    warnings.push(TRUNCATED_WARNING);
  }
  return { dataJson: resultToPrometheusJsonData(value), warnings, infos: outcome.infos };
}
