export type { Appendable, Appender, AppendOutcome, CommitStats } from './append.ts';
export { QueryLimitError, RetryableStorageError, StorageFormatError } from './errors.ts';
export type { RetryableStorageReason } from './errors.ts';
export { labelForTenant, partitionTenantMatchers } from './federation.ts';
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
