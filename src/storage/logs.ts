import type { LabelMatcher, Labels, LogRecord, TenantId, TimeRange } from '../model/index.ts';
import type { Appendable } from './append.ts';

/**
 * A line filter the engine pushes down to storage (LogQL `|=`, `!=`, `|~`, `!~`).
 *
 * Semantics are Loki's, exactly: `|=`/`!=` test for a byte substring (an empty value matches every line);
 * `|~`/`!~` test for an RE2 match anywhere in the line (unanchored, `.` does not match `\n` unless the
 * pattern says `(?s)`, case-sensitive unless `(?i)`), as Go's `regexp.MatchString` does.
 */
export interface LineFilter {
  readonly op: '|=' | '!=' | '|~' | '!~';
  /** A substring for `|=`/`!=`, an RE2 pattern (unanchored) for `|~`/`!~`. */
  readonly value: string;
}

export interface LogSelectParams {
  /** Stream selector matchers (RE2, anchored, as {@link LabelMatcher} documents); all must hold. */
  readonly matchers: readonly LabelMatcher[];
  /** Start inclusive, end exclusive, in Unix nanoseconds (Loki's convention). */
  readonly startNs: bigint;
  readonly endNs: bigint;
  readonly direction: 'forward' | 'backward';
  /** Stop after this many entries in `direction` order; undefined for all. */
  readonly limit?: number;
  /**
   * Line filters that apply before any parser; every one must hold (AND). Storage applies them exactly
   * (the query engine need not re-check). An invalid RE2 pattern rejects the `select` with a `bad_data`
   * HeimdallError of code `invalid_regexp` (model's `invalidRegexpError`).
   */
  readonly lineFilters?: readonly LineFilter[];
  readonly signal?: AbortSignal;
}

/** A batch of entries of one stream, in the requested direction. */
export interface LogStreamBatch {
  /** The stream's labels; with a federated (several-tenant) querier they include `__tenant_id__`. */
  readonly labels: Labels;
  readonly timestampsNs: BigInt64Array;
  readonly lines: readonly string[];
  /** Per entry; undefined or empty when the entry has none. */
  readonly structuredMetadata?: readonly (Labels | undefined)[];
}

/**
 * Parameters of a pushed-down count (`count_over_time`, `rate`, `bytes_over_time`, `bytes_rate`, index
 * volume): entries and line bytes per stream per step, computed where the data lives instead of shipping
 * every line to the query engine.
 */
export interface LogCountParams {
  readonly matchers: readonly LabelMatcher[];
  readonly lineFilters?: readonly LineFilter[];
  /**
   * Bucket `k` (0 ≤ k < n, n = (endNs - startNs) / stepNs rounded up) holds entries with
   * `startNs + k*stepNs < ts <= startNs + (k+1)*stepNs`: left-open, right-closed, as Loki's range windows
   * are. So bucket `k` is the window `(t - step, t]` ending at `t = startNs + (k+1)*stepNs`, and a range
   * vector `[r]` with `r` a multiple of `stepNs` is the sum of `r / stepNs` consecutive buckets.
   */
  readonly startNs: bigint;
  readonly endNs: bigint;
  readonly stepNs: bigint;
  /**
   * When set, the store may sum the buckets of streams that carry every one of these labels and agree on
   * their values: such a row's labels are exactly those labels. A stream lacking one of them comes back
   * alone, with all its labels. Without it, one row per stream. (The caller's `sum by` needs no more, and
   * a store with thousands of streams then returns a row per group instead of per stream.)
   */
  readonly groupBy?: readonly string[];
  readonly signal?: AbortSignal;
}

/** One stream's (or, with `groupBy`, one group's) buckets from {@link LogQuerier.counts}: `counts[k]` entries and `bytes[k]` line bytes. */
export interface LogStreamCounts {
  readonly labels: Labels;
  readonly counts: Float64Array;
  /** Sum of the UTF-8 byte lengths of the lines (what Loki's `bytes_over_time` counts). */
  readonly bytes: Float64Array;
}

/** Loki's `index/stats` answer for a selector and range. */
export interface LogIndexStats {
  readonly streams: number;
  /** Storage blocks touched (Loki's chunks); an engine-specific approximation. */
  readonly chunks: number;
  readonly entries: number;
  readonly bytes: number;
}

/**
 * Reads logs for a fixed set of tenants.
 *
 * Contract of `select`: it yields arrays of batches. Each yielded array is a slice of the result in
 * `direction` order: every entry of an earlier array comes before (forward: at or before in time; backward:
 * at or after) every entry of a later array, so a caller can stop after `limit` entries. Within one array
 * there is at most one batch per stream, and each batch's entries are in `direction` order; entries of
 * different streams in one array interleave in time (merge them if you need a global order). Entries with
 * equal timestamps in one stream come ordered by line (byte order; reversed for backward), so a result does
 * not depend on how the data is laid out on disk.
 *
 * A querier reads a consistent view per call, not across calls. Not safe for concurrent `select` calls on
 * one querier (open one per query). Call `close` when done.
 */
export interface LogQuerier {
  select(params: LogSelectParams): AsyncIterable<readonly LogStreamBatch[]>;
  /** Stream label names (sorted) of streams with entries in the range matching `matchers` (all if none). */
  labelNames(range: TimeRange, matchers?: readonly LabelMatcher[]): Promise<string[]>;
  /** Values (sorted) of one label over streams with entries in the range matching `matchers`. */
  labelValues(name: string, range: TimeRange, matchers?: readonly LabelMatcher[]): Promise<string[]>;
  /** Distinct stream label sets matching the matchers with entries in the range, sorted by labels. */
  series(range: TimeRange, matchers: readonly LabelMatcher[]): Promise<Labels[]>;
  /**
   * Counts entries and bytes per stream per step (see {@link LogCountParams}); streams with no matching
   * entry are left out. Optional: engines without it make the query engine fall back to `select`.
   */
  counts?(params: LogCountParams): Promise<LogStreamCounts[]>;
  /** Loki's `index/stats` for the matchers over the range. Optional, as `counts`. */
  stats?(range: TimeRange, matchers: readonly LabelMatcher[]): Promise<LogIndexStats>;
  close(): Promise<void>;
}

export interface LogQueryable {
  /** A querier over `tenants` (one, or several for a federated `a|b` read, which adds `__tenant_id__`). */
  querier(tenants: readonly TenantId[]): Promise<LogQuerier>;
}

/** Everything the log engine offers through seams. */
export interface LogsStorage extends Appendable<LogRecord>, LogQueryable {}
