/**
 * The per-tenant limits the metrics engine enforces on write and applies in retention, named as Mimir names them;
 * durations in milliseconds. app/ fills them from the `metrics.limits` and `metrics.overrides` configuration.
 */
export interface TsdbTenantLimits {
  /** Series the tenant may hold in the head (0 = unlimited). */
  readonly max_global_series_per_user: number;
  readonly max_label_names_per_series: number;
  readonly max_label_name_length: number;
  readonly max_label_value_length: number;
  /** Samples older than this relative to now are refused (0 = no limit). */
  readonly past_grace_period: number;
  /** Samples further than this in the future are refused. */
  readonly creation_grace_period: number;
  /** Out-of-order samples within this window of the series' newest sample are accepted; 0 rejects them. */
  readonly out_of_order_time_window: number;
  /** Data older than this is dropped by `applyRetention` (0 keeps everything). */
  readonly retention_period: number;
}
