import type { LabelMatcher, Labels, LogRecord, TenantId, TimeRange } from '../model/index.ts';
import type { Appendable } from './append.ts';

/** A line filter the engine may push down to storage (LogQL `|=`, `!=`, `|~`, `!~`). */
export interface LineFilter {
  readonly op: '|=' | '!=' | '|~' | '!~';
  /** A substring for `|=`/`!=`, an RE2 pattern (unanchored) for `|~`/`!~`. */
  readonly value: string;
}

export interface LogSelectParams {
  readonly matchers: readonly LabelMatcher[];
  /** Start inclusive, end exclusive, in Unix nanoseconds (Loki's convention). */
  readonly startNs: bigint;
  readonly endNs: bigint;
  readonly direction: 'forward' | 'backward';
  /** Stop after this many entries in `direction` order; undefined for all. */
  readonly limit?: number;
  /**
   * Line filters that apply before any parser; every one must hold (AND). Storage must apply them exactly
   * (the query engine does not re-check), or return `pushedDown: false` per filter via `filtersApplied`.
   */
  readonly lineFilters?: readonly LineFilter[];
  readonly signal?: AbortSignal;
}

/** A batch of entries of one stream, in the requested direction. */
export interface LogStreamBatch {
  readonly labels: Labels;
  readonly timestampsNs: BigInt64Array;
  readonly lines: readonly string[];
  /** Per entry; undefined or empty when the entry has none. */
  readonly structuredMetadata?: readonly (Labels | undefined)[];
}

/**
 * Reads logs for a fixed set of tenants.
 *
 * Contract: `select` yields batches; entries come in global `direction` order across batches (a merge of all
 * streams), so a caller can stop after `limit` entries. Call `close` when done.
 */
export interface LogQuerier {
  select(params: LogSelectParams): AsyncIterable<readonly LogStreamBatch[]>;
  labelNames(range: TimeRange, matchers?: readonly LabelMatcher[]): Promise<string[]>;
  labelValues(name: string, range: TimeRange, matchers?: readonly LabelMatcher[]): Promise<string[]>;
  /** Distinct stream label sets matching the matchers in the range. */
  series(range: TimeRange, matchers: readonly LabelMatcher[]): Promise<Labels[]>;
  close(): Promise<void>;
}

export interface LogQueryable {
  querier(tenants: readonly TenantId[]): Promise<LogQuerier>;
}

/** Everything the log engine offers through seams. */
export interface LogsStorage extends Appendable<LogRecord>, LogQueryable {}
