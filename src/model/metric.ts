import type { Labels } from './labels.ts';

/** The special NaN Prometheus writes as a staleness marker (bit pattern 0x7ff0000000000002). */
export const STALE_NAN_BITS = 0x7ff0000000000002n;

const staleView = new DataView(new ArrayBuffer(8));
staleView.setBigUint64(0, STALE_NAN_BITS);
/** The staleness marker as a float64 value. Compare with {@link isStaleNaN}, never with `===`. */
export const STALE_NAN = staleView.getFloat64(0);

/** The marker with the quiet bit set: V8 may quieten the signalling NaN when it passes through a JS array. */
const QUIET_STALE_NAN_BITS = 0x7ff8000000000002n;

/**
 * Whether `v` is the Prometheus staleness marker (a specific NaN payload, not any NaN). The quietened form
 * counts too, since values copied through JS arrays can come back with the quiet bit set.
 */
export function isStaleNaN(v: number): boolean {
  if (!Number.isNaN(v)) return false;
  staleView.setFloat64(0, v);
  const bits = staleView.getBigUint64(0);
  return bits === STALE_NAN_BITS || bits === QUIET_STALE_NAN_BITS;
}

export interface FloatSample {
  readonly timestampMs: number;
  readonly value: number;
}

export interface Exemplar {
  readonly labels: Labels;
  readonly value: number;
  readonly timestampMs: number;
}

/** A bucket span of a native histogram: `length` consecutive buckets starting `offset` after the previous span. */
export interface BucketSpan {
  readonly offset: number;
  readonly length: number;
}

/**
 * A native (sparse) histogram sample, float form. Integer histograms are converted to this form on ingest.
 * Bucket counts are absolute (not delta-encoded).
 */
export interface NativeHistogram {
  readonly schema: number;
  readonly zeroThreshold: number;
  readonly zeroCount: number;
  readonly count: number;
  readonly sum: number;
  readonly positiveSpans: readonly BucketSpan[];
  readonly positiveBuckets: readonly number[];
  readonly negativeSpans: readonly BucketSpan[];
  readonly negativeBuckets: readonly number[];
  /** 0 unknown, 1 counter reset, 2 not a counter reset, 3 gauge (remote_write's ResetHint). */
  readonly resetHint?: number;
  /** Custom bucket bounds for schema -53 (NHCB). */
  readonly customValues?: readonly number[];
}

export interface HistogramSample {
  readonly timestampMs: number;
  readonly histogram: NativeHistogram;
}

export type MetricType =
  | 'counter'
  | 'gauge'
  | 'histogram'
  | 'gaugehistogram'
  | 'summary'
  | 'info'
  | 'stateset'
  | 'unknown';

export interface MetricMetadata {
  readonly type: MetricType;
  readonly help: string;
  readonly unit: string;
}

/**
 * The metrics write record: one series and whatever arrived for it in one request. Every field but
 * `labels` is optional, so remote_write 1.0/2.0 and OTLP all map onto it without sub-types.
 */
export interface MetricRecord {
  /** The series labels including `__name__`. */
  readonly labels: Labels;
  readonly samples?: readonly FloatSample[];
  readonly histograms?: readonly HistogramSample[];
  readonly exemplars?: readonly Exemplar[];
  readonly metadata?: MetricMetadata;
  /** Created timestamp (remote_write 2.0 / OTLP start time), when known. */
  readonly createdTimestampMs?: number;
}
