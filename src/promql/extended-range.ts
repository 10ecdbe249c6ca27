import { COUNTER_RESET, GAUGE_TYPE, IncompatibleSchemaError, NOT_COUNTER_RESET } from './histogram.ts';
import type { FloatHistogram } from './histogram.ts';

/**
 * The experimental `anchored` and `smoothed` range selectors (Prometheus' extended range selectors):
 * anchored windows reach back one lookback delta to the last sample before the range, smoothed windows
 * interpolate values at both range boundaries.
 */

/** Interpolates linearly between two points at `t`; a counter drop is modelled as a restart from 0. */
function interpolate(t1: number, y1In: number, t2: number, y2: number, t: number, isCounter: boolean): number {
  const y1 = isCounter && y2 < y1In ? 0 : y1In;
  return y1 + ((y2 - y1) * (t - t1)) / (t2 - t1);
}

/** The first index in [lo, hi) whose timestamp satisfies `pred`, or hi. */
function search(ft: Float64Array, lo: number, hi: number, pred: (t: number) => boolean): number {
  let a = lo;
  let b = hi;
  while (a < b) {
    const m = (a + b) >> 1;
    if (pred(ft[m]!)) b = m;
    else a = m + 1;
  }
  return a;
}

/**
 * rate/increase/delta over an anchored or smoothed window (Prometheus' `extendedRate`). The samples
 * `ft/fv[lo..hi)` cover the range extended by the lookback delta. Returns undefined for no result.
 */
export function extendedRate(
  ft: Float64Array,
  fv: Float64Array,
  lo: number,
  hi: number,
  rangeStart: number,
  rangeEnd: number,
  rangeMs: number,
  smoothed: boolean,
  isCounter: boolean,
  isRate: boolean,
): number | undefined {
  if (hi <= lo) return undefined;
  let last = hi - 1;
  let first = Math.max(lo, search(ft, lo, last, (t) => t > rangeStart) - 1);
  if (smoothed) last = search(ft, lo, last, (t) => t >= rangeEnd);
  if (ft[last]! <= rangeStart) return undefined;
  // Data only after the range: nothing to interpolate from.
  if (ft[first]! > rangeEnd) return undefined;
  const left =
    smoothed && ft[first]! < rangeStart ? interpolate(ft[first]!, fv[first]!, ft[first + 1]!, fv[first + 1]!, rangeStart, isCounter) : fv[first]!;
  const right =
    smoothed && last > lo && ft[last]! > rangeEnd ? interpolate(ft[last - 1]!, fv[last - 1]!, ft[last]!, fv[last]!, rangeEnd, isCounter) : fv[last]!;
  let result = right - left;
  if (isCounter) {
    if (ft[first]! <= rangeStart) first++;
    if (ft[last]! >= rangeEnd) last--;
    let correction = 0;
    let prev = left;
    for (let i = first; i <= last; i++) {
      if (fv[i]! < prev) correction += prev;
      prev = fv[i]!;
    }
    if (right < prev) correction += prev;
    result += correction;
  }
  if (isRate) result /= rangeMs / 1000;
  return result;
}

/** Index of the last sample at or before the range start for anchored `resets`/`changes`, or -1 if none in range. */
export function anchoredFirstIndex(ft: Float64Array, lo: number, hi: number, rangeStart: number): number {
  if (hi <= lo || ft[hi - 1]! <= rangeStart) return -1;
  return Math.max(lo, search(ft, lo, hi - 1, (t) => t > rangeStart) - 1);
}

/**
 * An anchored or smoothed range vector as returned by a selector (Prometheus' `extendFloats`): a point at
 * each range boundary plus the samples strictly inside.
 */
export function extendFloats(
  ft: Float64Array,
  fv: Float64Array,
  lo: number,
  hi: number,
  mint: number,
  maxt: number,
  smoothed: boolean,
): { t: number[]; v: number[] } {
  const out = { t: [] as number[], v: [] as number[] };
  if (hi <= lo) return out;
  let last = hi - 1;
  let first = Math.max(lo, search(ft, lo, last, (t) => t > mint) - 1);
  if (smoothed) last = search(ft, lo, last, (t) => t >= maxt);
  if (ft[last]! <= mint) return out;
  const left = smoothed && ft[first]! < mint ? interpolate(ft[first]!, fv[first]!, ft[first + 1]!, fv[first + 1]!, mint, false) : fv[first]!;
  const right = smoothed && last > lo && ft[last]! > maxt ? interpolate(ft[last - 1]!, fv[last - 1]!, ft[last]!, fv[last]!, maxt, false) : fv[last]!;
  if (ft[first]! <= mint) first++;
  if (ft[last]! >= maxt) last--;
  out.t.push(mint);
  out.v.push(left);
  for (let i = first; i <= last; i++) {
    out.t.push(ft[i]!);
    out.v.push(fv[i]!);
  }
  out.t.push(maxt);
  out.v.push(right);
  return out;
}

/**
 * The value of a smoothed instant selector at `ts`: the sample at `ts`, else interpolated between its
 * neighbours within the lookback delta, else the last earlier sample. `ft/fv[lo..hi)` are the samples in
 * (ts - lookback, ts + lookback].
 */
export function smoothedValue(ft: Float64Array, fv: Float64Array, lo: number, hi: number, ts: number): number | undefined {
  if (hi <= lo) return undefined;
  const i = search(ft, lo, hi, (t) => t >= ts);
  if (i < hi && ft[i] === ts) return fv[i]!;
  if (i > lo && i < hi) return interpolate(ft[i - 1]!, fv[i - 1]!, ft[i]!, fv[i]!, ts, false);
  if (i > lo) return fv[i - 1]!;
  return undefined;
}

/** Linear interpolation between two histograms at `t`; a counter reset restarts the counter from zero. */
export function interpolateHistogram(
  t1: number,
  h1: FloatHistogram,
  t2: number,
  h2: FloatHistogram,
  t: number,
  isCounter: boolean,
): FloatHistogram {
  const fraction = (t - t1) / (t2 - t1);
  if (isCounter && h2.detectReset(h1)) {
    const r = h2.copy().mul(fraction);
    r.counterResetHint = COUNTER_RESET;
    return r;
  }
  const r = h2.copy();
  r.sub(h1);
  r.mul(fraction);
  r.add(h1);
  r.counterResetHint = isCounter ? NOT_COUNTER_RESET : GAUGE_TYPE;
  return r.compact();
}

/** What an extended histogram rate noticed, for annotations. */
export type ExtendedHistogramIssue = 'mixed-schemas' | 'not-counter' | 'not-gauge';

/**
 * rate/increase/delta of native histograms over an anchored or smoothed window (`ht/hv[lo..hi)`).
 * Returns undefined when there is no result; `issues` collects annotation reasons.
 */
export function extendedHistogramRate(
  ht: Float64Array,
  hv: readonly FloatHistogram[],
  lo: number,
  hi: number,
  rangeStart: number,
  rangeEnd: number,
  rangeMs: number,
  smoothed: boolean,
  isCounter: boolean,
  isRate: boolean,
  issues: Set<ExtendedHistogramIssue>,
): FloatHistogram | undefined {
  if (hi <= lo) return undefined;
  let last = hi - 1;
  const first = Math.max(lo, search(ht, lo, last, (t) => t > rangeStart) - 1);
  if (smoothed) last = search(ht, lo, last, (t) => t >= rangeEnd);
  if (ht[last]! <= rangeStart) return undefined;
  if (ht[first]! > rangeEnd) return undefined;
  const custom = hv[first]!.usesCustomBuckets;
  for (let i = first; i <= last; i++) {
    if (hv[i]!.usesCustomBuckets !== custom) {
      issues.add('mixed-schemas');
      return undefined;
    }
  }
  if (isCounter) {
    for (let i = first; i <= last; i++) if (hv[i]!.counterResetHint === GAUGE_TYPE) issues.add('not-counter');
  } else if (hv[first]!.counterResetHint !== GAUGE_TYPE || hv[last]!.counterResetHint !== GAUGE_TYPE) {
    issues.add('not-gauge');
  }
  const leftInterpolated = smoothed && ht[first]! < rangeStart;
  const rightInterpolated = smoothed && last > lo && ht[last]! > rangeEnd;
  const left = leftInterpolated ? interpolateHistogram(ht[first]!, hv[first]!, ht[first + 1]!, hv[first + 1]!, rangeStart, isCounter) : hv[first]!;
  const right = rightInterpolated ? interpolateHistogram(ht[last - 1]!, hv[last - 1]!, ht[last]!, hv[last]!, rangeEnd, isCounter) : hv[last]!;
  const result = right.copy();
  try {
    result.sub(left);
    if (isCounter) {
      // Samples strictly inside the range: the boundary values already stand for the others.
      let inner = first;
      if (ht[inner]! <= rangeStart) inner++;
      let prev = left;
      // An interpolated left boundary lies on the segment to the next sample: no reset between them.
      if (leftInterpolated) {
        prev = hv[inner]!;
        inner++;
      }
      let end = last;
      if (ht[end]! >= rangeEnd) end--;
      if (inner <= end + 1) {
        for (let i = inner; i <= end; i++) {
          if (hv[i]!.detectReset(prev)) result.add(prev);
          prev = hv[i]!;
        }
        // The right boundary counts only when it is not one of the samples just walked.
        const rightWalked = !rightInterpolated && end === last;
        if (!rightWalked && right.detectReset(prev)) result.add(prev);
      }
    }
  } catch (err) {
    if (err instanceof IncompatibleSchemaError) {
      issues.add('mixed-schemas');
      return undefined;
    }
    throw err;
  }
  if (isRate) result.div(rangeMs / 1000);
  result.counterResetHint = GAUGE_TYPE;
  return result.compact();
}

/** A smoothed instant selector over histograms at `ts`, like {@link smoothedValue}. */
export function smoothedHistogram(
  ht: Float64Array,
  hv: readonly FloatHistogram[],
  lo: number,
  hi: number,
  ts: number,
  issues: Set<ExtendedHistogramIssue>,
): FloatHistogram | undefined {
  if (hi <= lo) return undefined;
  const i = search(ht, lo, hi, (t) => t >= ts);
  if (i < hi && ht[i] === ts) return hv[i]!;
  if (i > lo && i < hi) {
    const a = hv[i - 1]!;
    const b = hv[i]!;
    if (a.usesCustomBuckets !== b.usesCustomBuckets) {
      issues.add('mixed-schemas');
      return undefined;
    }
    return interpolateHistogram(ht[i - 1]!, a, ht[i]!, b, ts, b.counterResetHint !== GAUGE_TYPE);
  }
  if (i > lo) return hv[i - 1]!;
  return undefined;
}
