/**
 * One per-stream retention rule in Loki's `retention_stream` shape. A stream matched by several rules takes the one
 * with the highest `priority`, and among equal priorities the longest `period`; a stream matched by none keeps the
 * tenant's `retention_period`.
 */
export interface RetentionStreamRule {
  /** A LogQL stream selector, e.g. `{log_source="audit"}` (label matchers only). */
  readonly selector: string;
  readonly priority: number;
  /** Milliseconds; 0 keeps the stream's data forever. */
  readonly period: number;
}

/**
 * The per-tenant limits the log store enforces on write and applies in retention, named as Loki names them (the
 * rejection messages name them); durations in milliseconds. app/ fills them from `logs.limits` and `logs.overrides`.
 */
export interface LogStoreTenantLimits {
  readonly max_line_size: number;
  readonly max_label_names_per_series: number;
  readonly max_label_name_length: number;
  readonly max_label_value_length: number;
  readonly reject_old_samples: boolean;
  readonly reject_old_samples_max_age: number;
  readonly creation_grace_period: number;
  /** Data older than this is dropped by retention (0 keeps everything). */
  readonly retention_period: number;
  readonly retention_stream: readonly RetentionStreamRule[];
}

/** The log store's engine settings (the same for every tenant). */
export interface LogStoreSettings {
  /** Width of a time partition; retention drops whole partitions. Must divide a day and be at least a minute. */
  readonly partitionWindowMs: number;
  /** Raw line bytes a head database holds before it is sealed and compacted into Parquet blocks. */
  readonly headMaxBytes: number;
  /** Oldest data a head holds before it is sealed, so recent partitions reach their compact form. */
  readonly headMaxAgeMs: number;
}
