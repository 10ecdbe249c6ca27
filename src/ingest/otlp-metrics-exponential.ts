import type { BucketSpan } from '../model/index.ts';

/** The zero-bucket width Prometheus' OTLP receiver uses when a data point does not give one. */
export const DEFAULT_ZERO_THRESHOLD = 1e-128;
/** The finest exponential schema native histograms support; finer OTLP scales are merged down to it. */
export const MAX_NATIVE_SCHEMA = 8;
/** The coarsest exponential schema native histograms support. */
export const MIN_NATIVE_SCHEMA = -4;

/**
 * Converts one side (positive or negative) of an OTLP exponential histogram's dense buckets to a native
 * histogram's sparse spans and absolute counts, as Prometheus' OTLP receiver (after client_golang's
 * `makeBuckets`) does: `2^scaleDown` adjacent buckets merge into one; gaps of up to two empty buckets are
 * filled with zeros, longer gaps start a new span; the index shifts by one because OTLP bucket `i` covers
 * `(base^i, base^(i+1)]` while native bucket `i` covers `(base^(i-1), base^i]`.
 */
export function convertExponentialBuckets(
  counts: readonly number[],
  offset: number,
  scaleDown: number,
): { spans: BucketSpan[]; buckets: number[] } {
  const n = counts.length;
  if (n === 0) return { spans: [], buckets: [] };
  const spans: { offset: number; length: number }[] = [];
  const buckets: number[] = [];
  const append = (c: number): void => {
    spans[spans.length - 1]!.length++;
    buckets.push(c);
  };
  let count = 0;
  let bucketIdx = (offset >> scaleDown) + 1;
  spans.push({ offset: bucketIdx, length: 0 });
  for (let i = 0; i < n; i++) {
    const next = ((i + offset) >> scaleDown) + 1;
    if (bucketIdx === next) {
      count += counts[i]!;
      continue;
    }
    if (count === 0) {
      count = counts[i]!;
      continue;
    }
    const gap = next - bucketIdx - 1;
    if (gap > 2) spans.push({ offset: gap, length: 0 });
    else for (let j = 0; j < gap; j++) append(0);
    append(count);
    count = counts[i]!;
    bucketIdx = next;
  }
  const gap = ((n + offset - 1) >> scaleDown) + 1 - bucketIdx;
  if (gap > 2) spans.push({ offset: gap, length: 0 });
  else for (let j = 0; j < gap; j++) append(0);
  append(count);
  return { spans, buckets };
}
