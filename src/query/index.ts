export { InProcessLogQueryEngine, InProcessMetricQueryEngine } from './in-process-engines.ts';
export { PooledLogQueryEngine, PooledMetricQueryEngine, PooledTraceQueryEngine } from './pooled-engines.ts';
export { QueryWorkerPool } from './worker-pool.ts';
export type { PoolQuery, PoolQueryable, QueryPoolOptions } from './worker-pool.ts';
