/** The per-tenant limits the profile store applies; app/ fills them from `profiles.limits` and `profiles.overrides`. */
export interface ProfileStoreTenantLimits {
  /** Profiles whose window ended longer ago than this (ms) are dropped, a whole window at a time (0 keeps everything). */
  readonly retention_period: number;
  /** Labels a series may have, the profile-type labels included (Pyroscope's `max_label_names_per_series`). */
  readonly max_label_names_per_series: number;
  readonly max_label_name_length: number;
  readonly max_label_value_length: number;
}

/** The profile store's engine settings (the same for every tenant). */
export interface ProfileStoreSettings {
  /** Width of a block and retention window (ms); must divide a day. Retention drops whole windows per tenant. */
  readonly windowMs: number;
  /**
   * Estimated bytes of profiles the head may hold before open windows are cut into blocks early; past twice
   * this, commits are refused with a retryable 429.
   */
  readonly headMaxBytes: number;
  /** How long after a window ends its head profiles are cut into a block (late profiles get a later block). */
  readonly cutDelayMs: number;
}
