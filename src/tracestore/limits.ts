/**
 * The per-tenant limits the trace store applies, named as Tempo names them; durations in milliseconds. app/ fills
 * them from `traces.limits` and `traces.overrides`.
 */
export interface TraceStoreTenantLimits {
  /** Blocks whose window ended longer ago than this are dropped by retention (0 keeps everything). */
  readonly block_retention: number;
}

/** The trace store's engine settings (the same for every tenant). */
export interface TraceStoreSettings {
  /** A trace with no new span for this long is complete and may be cut into a block (Tempo's `trace_idle_period`). */
  readonly traceIdlePeriodMs: number;
  /** Longest a trace stays in the head however busy it is (Tempo's `max_block_duration`). */
  readonly maxBlockDurationMs: number;
  /** Width of a block's time window; must divide a day and be at least a minute. */
  readonly blockWindowMs: number;
  /** Span bytes the head holds before complete traces are cut early; commits are refused past twice this. */
  readonly headMaxBytes: number;
  /** Spans per Parquet row group in blocks. */
  readonly rowGroupSpans: number;
  /**
   * Spans a merged block holds at most (compaction merges a window's small blocks up to it; blocks of half of it
   * or more are never rewritten). 0 turns compaction off. Default 1,000,000.
   */
  readonly compactionTargetSpans?: number;
  /** Bytes of blocks' trace-id indexes (bloom filters, trace records indexes) kept in memory. Default 64 MiB. */
  readonly indexCacheBytes?: number;
}
