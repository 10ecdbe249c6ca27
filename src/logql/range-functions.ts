import type { RangeOp } from './ast.ts';

/**
 * Samples of one series (or one `by` group) in time order. `ts` are nanoseconds relative to a query base,
 * exact as doubles for spans up to ~104 days.
 */
export interface SampleColumn {
  readonly ts: number[];
  readonly values: number[];
}

/**
 * Computes a range aggregation over the samples `lo..hi-1` (`lo <= hi <= length`) of a column for the window `(windowStart,
 * windowEnd]` (relative ns). Returns undefined when the window yields no point.
 */
export type WindowFn = (col: SampleColumn, lo: number, hi: number, windowStartNs: number, windowEndNs: number) => number | undefined;

/** The window function for a range operation; `rangeSeconds` is the selector's range, `param` quantile's q. */
export function windowFunction(op: RangeOp, rangeSeconds: number, param: number | undefined, unwrapped: boolean): WindowFn {
  switch (op) {
    case 'count_over_time':
      return (_c, lo, hi) => hi - lo;
    case 'bytes_over_time':
    case 'sum_over_time':
      return (c, lo, hi) => sum(c.values, lo, hi);
    case 'rate':
      return unwrapped ? (c, lo, hi) => sum(c.values, lo, hi) / rangeSeconds : (_c, lo, hi) => (hi - lo) / rangeSeconds;
    case 'bytes_rate':
      return (c, lo, hi) => sum(c.values, lo, hi) / rangeSeconds;
    case 'avg_over_time':
      return (c, lo, hi) => sum(c.values, lo, hi) / (hi - lo);
    case 'min_over_time':
      return (c, lo, hi) => {
        let m = c.values[lo];
        for (let i = lo + 1; i < hi; i++) {
          const v = c.values[i]!; // lo <= i < hi <= length
          if (m === undefined || v < m || Number.isNaN(m)) m = v;
        }
        return m;
      };
    case 'max_over_time':
      return (c, lo, hi) => {
        let m = c.values[lo];
        for (let i = lo + 1; i < hi; i++) {
          const v = c.values[i]!; // lo <= i < hi <= length
          if (m === undefined || v > m || Number.isNaN(m)) m = v;
        }
        return m;
      };
    case 'stdvar_over_time':
      return (c, lo, hi) => variance(c.values, lo, hi);
    case 'stddev_over_time':
      return (c, lo, hi) => Math.sqrt(variance(c.values, lo, hi));
    case 'quantile_over_time':
      return (c, lo, hi) => quantile(param ?? NaN, c.values.slice(lo, hi));
    case 'first_over_time':
      return (c, lo) => c.values[lo];
    case 'last_over_time':
      return (c, _lo, hi) => c.values[hi - 1];
    case 'rate_counter':
      return (c, lo, hi, ws, we) => counterRate(c, lo, hi, ws, we, rangeSeconds);
    case 'absent_over_time':
      return (_c, lo, hi) => (hi > lo ? undefined : 1);
  }
}

function sum(values: number[], lo: number, hi: number): number {
  let s = 0;
  for (let i = lo; i < hi; i++) s += values[i]!; // hi <= length
  return s;
}

/** Population variance with Welford's method (as Prometheus computes it): any Inf or NaN gives NaN. */
function variance(values: number[], lo: number, hi: number): number {
  let count = 0;
  let mean = 0;
  let m2 = 0;
  for (let i = lo; i < hi; i++) {
    count++;
    const v = values[i]!; // hi <= length
    const delta = v - mean;
    mean += delta / count;
    m2 += delta * (v - mean);
  }
  return m2 / count;
}

/** Prometheus' quantile with linear interpolation; q < 0 gives -Inf, q > 1 gives +Inf. */
function quantile(q: number, values: number[]): number {
  if (values.length === 0 || Number.isNaN(q)) return NaN;
  if (q < 0) return -Infinity;
  if (q > 1) return Infinity;
  const sorted = [...values].sort((a, b) => (Number.isNaN(a) ? -1 : Number.isNaN(b) ? 1 : a - b));
  const n = sorted.length;
  const rank = q * (n - 1);
  const lowerIndex = Math.max(0, Math.floor(rank));
  const upperIndex = Math.min(n - 1, lowerIndex + 1);
  const weight = rank - Math.floor(rank);
  return sorted[lowerIndex]! * (1 - weight) + sorted[upperIndex]! * weight; // both in [0, n-1], n > 0
}

/**
 * `rate_counter`: Prometheus' extrapolated counter rate. Resets add the pre-drop value back; each edge is
 * extrapolated to the window boundary, capped at half the average interval when the nearest sample is more
 * than 1.1 intervals away, and the start never extrapolates below the counter's zero. A single sample gives 0.
 */
function counterRate(c: SampleColumn, lo: number, hi: number, windowStart: number, windowEnd: number, rangeSeconds: number): number | undefined {
  const n = hi - lo;
  if (n === 0) return undefined;
  if (n === 1) return 0;
  // lo < hi - 1 < length here.
  const first = c.values[lo]!;
  let result = c.values[hi - 1]! - first;
  let prev = first;
  for (let i = lo + 1; i < hi; i++) {
    const v = c.values[i]!;
    if (v < prev) result += prev;
    prev = v;
  }
  const firstT = c.ts[lo]!;
  const lastT = c.ts[hi - 1]!;
  let durationToStart = (firstT - windowStart) / 1e9;
  let durationToEnd = (windowEnd - lastT) / 1e9;
  const sampledInterval = (lastT - firstT) / 1e9;
  if (sampledInterval === 0) return 0;
  const avg = sampledInterval / (n - 1);
  const threshold = avg * 1.1;
  if (durationToStart >= threshold) durationToStart = avg / 2;
  if (result > 0 && first >= 0) {
    const durationToZero = sampledInterval * (first / result);
    if (durationToZero < durationToStart) durationToStart = durationToZero;
  }
  if (durationToEnd >= threshold) durationToEnd = avg / 2;
  const extrapolateTo = sampledInterval + durationToStart + durationToEnd;
  return (result * (extrapolateTo / sampledInterval)) / rangeSeconds;
}
