/** The four telemetry signals. */
export type Signal = 'metrics' | 'logs' | 'traces' | 'profiles';

/**
 * Why a record was dropped. A closed snake_case set: every value is a label value of
 * `heimdall_discarded_records_total{signal,reason,tenant}`, so add new reasons here, never inline.
 */
export const DISCARD_REASONS = [
  // shared
  'invalid_tenant',
  'rate_limited',
  'per_tenant_limit',
  'invalid_record',
  'unsupported',
  // labels (metrics, logs, profiles)
  'missing_metric_name',
  'invalid_metric_name',
  'invalid_label_name',
  'invalid_label_value',
  'duplicate_label_names',
  'max_label_names_per_series',
  'label_name_too_long',
  'label_value_too_long',
  'max_series_per_tenant',
  // samples and entries
  'sample_too_old',
  'sample_too_far_in_future',
  'sample_out_of_order',
  'sample_duplicate_timestamp',
  'exemplar_invalid',
  'line_too_long',
  'entry_too_old',
  'entry_too_far_in_future',
  'stream_limit',
  // logs: a stream without labels, or a label string that does not parse (Loki's missing_labels, invalid_labels)
  'missing_labels',
  'invalid_labels',
  // traces (Tempo's reasons): a span that would take its live trace past max_bytes_per_trace, or start a trace
  // past max_traces_per_user
  'trace_too_large',
  'live_traces_exceeded',
  // profiles: a pprof over max_profile_size_bytes (Pyroscope's profile_size)
  'profile_too_large',
] as const;

export type DiscardReason = (typeof DISCARD_REASONS)[number];
