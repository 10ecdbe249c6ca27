import type { LogqlEngineOptions } from '../logql/index.ts';
import type { TenantId } from '../model/index.ts';
import type { PromqlEngineOptions } from '../promql/index.ts';
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
  TraceQueryEngine,
  TraceQueryable,
  TraceqlMetricsInstantQuery,
  TraceqlMetricsRangeQuery,
  TraceqlSearchQuery,
} from '../storage/index.ts';
import { DEFAULT_TRACEQL_TIMEOUT_MS } from '../traceql/index.ts';
import type { TraceqlEngineOptions } from '../traceql/index.ts';
import type { QueryWorkerPool } from './worker-pool.ts';

/** Prometheus' default query timeout, when the engine options name none. */
const PROMQL_DEFAULT_TIMEOUT_MS = 2 * 60_000;
/** Loki's default query timeout. */
const LOGQL_DEFAULT_TIMEOUT_MS = 60_000;

/** PromQL evaluated on the pool's workers. Safe for concurrent use. */
export class PooledMetricQueryEngine implements MetricQueryEngine {
  private readonly pool: QueryWorkerPool;
  private readonly engine: PromqlEngineOptions;

  /** `engine` configures the PromqlEngine each query runs on (its timeout is also the pool's watchdog budget). */
  constructor(pool: QueryWorkerPool, engine: PromqlEngineOptions) {
    this.pool = pool;
    this.engine = engine;
  }

  instant(queryable: MetricQueryable, tenants: readonly TenantId[], query: PromqlInstantQuery, controls: QueryControls = {}): Promise<EncodedQueryResult> {
    return this.pool.run({
      queryable: { metrics: queryable },
      tenants,
      job: { lang: 'promql', mode: 'instant', query, engine: this.engine },
      ...this.budget(controls),
    });
  }

  range(queryable: MetricQueryable, tenants: readonly TenantId[], query: PromqlRangeQuery, controls: QueryControls = {}): Promise<EncodedQueryResult> {
    return this.pool.run({
      queryable: { metrics: queryable },
      tenants,
      job: { lang: 'promql', mode: 'range', query, engine: this.engine },
      ...this.budget(controls),
    });
  }

  private budget(controls: QueryControls): { timeoutMs: number; timeoutSetting: string; signal?: AbortSignal } {
    const configured = this.engine.timeoutMs && this.engine.timeoutMs > 0 ? this.engine.timeoutMs : PROMQL_DEFAULT_TIMEOUT_MS;
    const asked = controls.timeoutMs && controls.timeoutMs > 0 ? Math.min(controls.timeoutMs, configured) : configured;
    return {
      timeoutMs: asked,
      timeoutSetting: asked < configured ? 'the request\'s timeout parameter' : 'metrics.query.timeout',
      ...(controls.signal === undefined ? {} : { signal: controls.signal }),
    };
  }
}

/** LogQL evaluated on the pool's workers. Safe for concurrent use. */
export class PooledLogQueryEngine implements LogQueryEngine {
  private readonly pool: QueryWorkerPool;
  private readonly engine: LogqlEngineOptions;

  constructor(pool: QueryWorkerPool, engine: LogqlEngineOptions) {
    this.pool = pool;
    this.engine = engine;
  }

  instant(queryable: LogQueryable, tenants: readonly TenantId[], query: LogqlInstantQuery, controls: QueryControls = {}): Promise<EncodedQueryResult> {
    return this.pool.run({ queryable: { logs: queryable }, tenants, job: { lang: 'logql', mode: 'instant', query, engine: this.engine }, ...this.budget(controls) });
  }

  range(queryable: LogQueryable, tenants: readonly TenantId[], query: LogqlRangeQuery, controls: QueryControls = {}): Promise<EncodedQueryResult> {
    return this.pool.run({ queryable: { logs: queryable }, tenants, job: { lang: 'logql', mode: 'range', query, engine: this.engine }, ...this.budget(controls) });
  }

  private budget(controls: QueryControls): { timeoutMs: number; timeoutSetting: string; signal?: AbortSignal } {
    return {
      timeoutMs: this.engine.timeoutMs && this.engine.timeoutMs > 0 ? this.engine.timeoutMs : LOGQL_DEFAULT_TIMEOUT_MS,
      timeoutSetting: 'logs.query.timeout',
      ...(controls.signal === undefined ? {} : { signal: controls.signal }),
    };
  }
}

/** TraceQL (searches and metrics) evaluated on the pool's workers. Safe for concurrent use. */
export class PooledTraceQueryEngine implements TraceQueryEngine {
  private readonly pool: QueryWorkerPool;
  private readonly engine: TraceqlEngineOptions;
  private readonly timeoutSetting: string;

  /** `timeoutSetting` names the config key of `engine.timeoutMs` in the error of a query the pool terminates. */
  constructor(pool: QueryWorkerPool, engine: TraceqlEngineOptions, timeoutSetting: string) {
    this.pool = pool;
    this.engine = engine;
    this.timeoutSetting = timeoutSetting;
  }

  search(queryable: TraceQueryable, tenants: readonly TenantId[], query: TraceqlSearchQuery, controls: QueryControls = {}): Promise<EncodedQueryResult> {
    return this.pool.run({ queryable: { traces: queryable }, tenants, job: { lang: 'traceql', mode: 'search', query, engine: this.engine }, ...this.budget(controls) });
  }

  instant(queryable: TraceQueryable, tenants: readonly TenantId[], query: TraceqlMetricsInstantQuery, controls: QueryControls = {}): Promise<EncodedQueryResult> {
    return this.pool.run({ queryable: { traces: queryable }, tenants, job: { lang: 'traceql', mode: 'instant', query, engine: this.engine }, ...this.budget(controls) });
  }

  range(queryable: TraceQueryable, tenants: readonly TenantId[], query: TraceqlMetricsRangeQuery, controls: QueryControls = {}): Promise<EncodedQueryResult> {
    return this.pool.run({ queryable: { traces: queryable }, tenants, job: { lang: 'traceql', mode: 'range', query, engine: this.engine }, ...this.budget(controls) });
  }

  private budget(controls: QueryControls): { timeoutMs: number; timeoutSetting: string; signal?: AbortSignal } {
    const configured = this.engine.timeoutMs && this.engine.timeoutMs > 0 ? this.engine.timeoutMs : DEFAULT_TRACEQL_TIMEOUT_MS;
    const asked = controls.timeoutMs && controls.timeoutMs > 0 ? Math.min(controls.timeoutMs, configured) : configured;
    return {
      timeoutMs: asked,
      timeoutSetting: asked < configured ? "the request's timeout parameter" : this.timeoutSetting,
      ...(controls.signal === undefined ? {} : { signal: controls.signal }),
    };
  }
}
