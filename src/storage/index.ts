export type { Appendable, Appender, AppendOutcome, CommitStats } from './append.ts';
export {
  QueryLimitError,
  RetryableStorageError,
  STORAGE_UNAVAILABLE_RETRY_AFTER_SECONDS,
  StorageFormatError,
  StorageUnavailableError,
  storageUnavailableCodeOf,
} from './errors.ts';
export type { RetryableStorageReason, StorageUnavailableCode } from './errors.ts';
export { diagnoseWriteFailure } from './health.ts';
export type { StorageHealth } from './health.ts';
export {
  federatedLogsStorage,
  federatedMetricsStorage,
  federatedProfilesStorage,
  federatedTracesStorage,
  partitionTenantMatchers,
} from './federation.ts';
export type { TenantLimits } from './tenant-limits.ts';
export { QueryDeadline } from './query-deadline.ts';
export type { QueryStopReason } from './query-deadline.ts';
export type {
  ExemplarQueryable,
  MetadataQueryable,
  MetricQuerier,
  MetricQueryable,
  MetricsStorage,
  SelectHints,
  SeriesData,
  SeriesExemplars,
} from './metrics.ts';
export type {
  LineFilter,
  LogCountParams,
  LogIndexStats,
  LogQuerier,
  LogQueryable,
  LogSelectParams,
  LogStreamBatch,
  LogStreamCounts,
  LogsStorage,
} from './logs.ts';
export type {
  AttributeScope,
  SpanCondition,
  SpanCountParams,
  SpanCountRow,
  StoredSpan,
  StoredTrace,
  TraceQuerier,
  TraceQueryable,
  TraceSelectParams,
  TraceTimeRange,
  TracesStorage,
} from './traces.ts';
export type {
  EncodedQueryResult,
  JsonText,
  LogQueryEngine,
  LogqlInstantQuery,
  LogqlRangeQuery,
  MetricQueryEngine,
  PromqlInstantQuery,
  PromqlRangeQuery,
  QueryControls,
  QueryEngine,
  TraceQueryEngine,
  TraceqlMetricsInstantQuery,
  TraceqlMetricsRangeQuery,
  TraceqlSearchQuery,
} from './query-engine.ts';
export { jsonText } from './query-engine.ts';
export type {
  ProfileQuerier,
  ProfileReadShape,
  ProfileQueryable,
  ProfileSelectParams,
  ProfileTimeRange,
  ProfilesStorage,
  StoredProfile,
} from './profiles.ts';
