import type { Labels } from './labels.ts';

/** One log line. Timestamps are Unix nanoseconds as bigint: Loki's precision does not fit a double. */
export interface LogEntry {
  readonly timestampNs: bigint;
  readonly line: string;
  /** Loki's structured metadata: per-entry key/value pairs that are not index labels. */
  readonly structuredMetadata?: Labels;
}

/** The logs write record: one stream (its index labels) and the entries that arrived for it. */
export interface LogRecord {
  readonly labels: Labels;
  readonly entries: readonly LogEntry[];
}
