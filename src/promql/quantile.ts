import type { FloatHistogram } from './histogram.ts';

/** A classic-histogram bucket: the `le` upper bound and its cumulative count. */
export interface ClassicBucket {
  upperBound: number;
  count: number;
}

/** How `bucketQuantile` had to repair its input, for the monotonicity info annotation. */
export interface MonotonicityFix {
  forcedMonotonic: boolean;
  fixedPrecision: boolean;
  minBucket: number;
  maxBucket: number;
  maxDiff: number;
}

const SMALL_DELTA_TOLERANCE = 1e-12;

function almostEqual(a: number, b: number, epsilon: number): boolean {
  if (a === b) return true;
  const absSum = Math.abs(a) + Math.abs(b);
  const diff = Math.abs(a - b);
  if (a === 0 || b === 0 || absSum < Number.MIN_VALUE) return diff < epsilon * Number.MIN_VALUE;
  return diff / Math.min(absSum, Number.MAX_VALUE) < epsilon;
}

function coalesce(buckets: ClassicBucket[]): ClassicBucket[] {
  const out: ClassicBucket[] = [];
  let last = { ...buckets[0]! };
  for (let i = 1; i < buckets.length; i++) {
    const b = buckets[i]!;
    if (b.upperBound === last.upperBound) last.count += b.count;
    else {
      out.push(last);
      last = { ...b };
    }
  }
  out.push(last);
  return out;
}

function ensureMonotonic(buckets: ClassicBucket[]): MonotonicityFix {
  const fix: MonotonicityFix = { forcedMonotonic: false, fixedPrecision: false, minBucket: Infinity, maxBucket: -Infinity, maxDiff: 0 };
  let prev = buckets[0]!.count;
  for (let i = 1; i < buckets.length; i++) {
    const curr = buckets[i]!.count;
    if (curr === prev) continue;
    if (almostEqual(prev, curr, SMALL_DELTA_TOLERANCE)) {
      buckets[i]!.count = prev;
      fix.fixedPrecision = true;
      continue;
    }
    if (curr < prev) {
      buckets[i]!.count = prev;
      fix.forcedMonotonic = true;
      const ub = buckets[i]!.upperBound;
      if (ub < fix.minBucket) fix.minBucket = ub;
      if (ub > fix.maxBucket) fix.maxBucket = ub;
      if (prev - curr > fix.maxDiff) fix.maxDiff = prev - curr;
      continue;
    }
    prev = curr;
  }
  return fix;
}

/** Prometheus' `BucketQuantile` over classic buckets (sorted in place). */
export function bucketQuantile(q: number, input: ClassicBucket[]): { value: number; fix: MonotonicityFix | undefined } {
  if (Number.isNaN(q)) return { value: NaN, fix: undefined };
  if (q < 0) return { value: -Infinity, fix: undefined };
  if (q > 1) return { value: Infinity, fix: undefined };
  input.sort((a, b) => a.upperBound - b.upperBound);
  if (input[input.length - 1]!.upperBound !== Infinity) return { value: NaN, fix: undefined };
  const buckets = coalesce(input);
  const fix = ensureMonotonic(buckets);
  if (buckets.length < 2) return { value: NaN, fix };
  const observations = buckets[buckets.length - 1]!.count;
  if (observations === 0) return { value: NaN, fix };
  let rank = q * observations;
  let lo = 0;
  let hi = buckets.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (buckets[mid]!.count >= rank) hi = mid;
    else lo = mid + 1;
  }
  const b = lo;
  if (b === buckets.length - 1) return { value: buckets[buckets.length - 2]!.upperBound, fix };
  if (b === 0 && buckets[0]!.upperBound <= 0) return { value: buckets[0]!.upperBound, fix };
  let bucketStart = 0;
  const bucketEnd = buckets[b]!.upperBound;
  let count = buckets[b]!.count;
  if (b > 0) {
    bucketStart = buckets[b - 1]!.upperBound;
    count -= buckets[b - 1]!.count;
    rank -= buckets[b - 1]!.count;
  }
  return { value: bucketStart + (bucketEnd - bucketStart) * (rank / count), fix };
}

/** Prometheus' `BucketFraction`: the fraction of observations between lower and upper, classic buckets. */
export function bucketFraction(lower: number, upper: number, input: ClassicBucket[]): number {
  input.sort((a, b) => a.upperBound - b.upperBound);
  if (input[input.length - 1]!.upperBound !== Infinity) return NaN;
  const buckets = coalesce(input);
  const count = buckets[buckets.length - 1]!.count;
  if (count === 0 || Number.isNaN(lower) || Number.isNaN(upper)) return NaN;
  if (lower >= upper) return 0;
  let rank = 0;
  let lowerRank = 0;
  let upperRank = 0;
  let lowerSet = false;
  let upperSet = false;
  let lowerBound = buckets[0]!.upperBound <= 0 ? -Infinity : 0;
  for (let i = 0; i < buckets.length; i++) {
    const b = buckets[i]!;
    if (i > 0) lowerBound = buckets[i - 1]!.upperBound;
    const upperBound = b.upperBound;
    const interp = (v: number): number =>
      lowerBound === -Infinity ? b.count : rank + ((b.count - rank) * (v - lowerBound)) / (upperBound - lowerBound);
    if (!lowerSet && lowerBound >= lower) {
      lowerRank = rank;
      lowerSet = true;
    }
    if (!upperSet && lowerBound >= upper) {
      upperRank = rank;
      upperSet = true;
    }
    if (lowerSet && upperSet) break;
    if (!lowerSet && lowerBound < lower && upperBound > lower) {
      lowerRank = interp(lower);
      lowerSet = true;
    }
    if (!upperSet && lowerBound < upper && upperBound > upper) {
      upperRank = interp(upper);
      upperSet = true;
    }
    if (lowerSet && upperSet) break;
    rank = b.count;
  }
  if (!lowerSet || lowerRank > count) lowerRank = count;
  if (!upperSet || upperRank > count) upperRank = count;
  return (upperRank - lowerRank) / count;
}

/** What a native-histogram quantile or fraction noticed about NaN observations. */
export type NaNNote = 'nan-result' | 'nan-skew' | 'fraction-nans' | undefined;

/** Prometheus' `HistogramQuantile` over a native histogram. */
export function histogramQuantile(q: number, h: FloatHistogram): { value: number; note: NaNNote } {
  if (q < 0) return { value: -Infinity, note: undefined };
  if (q > 1) return { value: Infinity, note: undefined };
  if (h.count === 0 || Number.isNaN(q)) return { value: NaN, note: undefined };
  const forward = Number.isNaN(h.sum) || q < 0.5;
  const all = h.allBuckets();
  if (!forward) all.reverse();
  let rank = forward ? q * h.count : (1 - q) * h.count;
  let count = 0;
  let bucket = { lower: 0, upper: 0, count: 0 };
  let i = 0;
  for (; i < all.length; i++) {
    const b = all[i]!;
    bucket = { lower: b.lower, upper: b.upper, count: b.count };
    if (b.count === 0) continue;
    count += b.count;
    if (count >= rank) {
      i++;
      break;
    }
  }
  const custom = h.usesCustomBuckets;
  if (!custom && bucket.lower < 0 && bucket.upper > 0) {
    if (h.negativeBuckets.length === 0 && h.positiveBuckets.length > 0) bucket.lower = 0;
    else if (h.positiveBuckets.length === 0 && h.negativeBuckets.length > 0) bucket.upper = 0;
  } else if (custom) {
    if (bucket.lower === -Infinity) {
      if (bucket.upper <= 0) return { value: bucket.upper, note: undefined };
      bucket.lower = 0;
    } else if (bucket.upper === Infinity) {
      return { value: bucket.lower, note: undefined };
    }
  }
  if (count > h.count) count = h.count;
  if (count < rank) {
    if (Number.isNaN(h.sum)) return { value: NaN, note: 'nan-result' };
    return { value: bucket.upper, note: undefined };
  }
  if (forward) rank -= count - bucket.count;
  else rank = count - rank;
  let note: NaNNote;
  if (Number.isNaN(h.sum)) {
    let total = count;
    for (; i < all.length; i++) total += all[i]!.count;
    if (total < h.count) note = 'nan-skew';
  }
  const fraction = rank / bucket.count;
  if (custom || (bucket.lower <= 0 && bucket.upper >= 0)) {
    return { value: bucket.lower + (bucket.upper - bucket.lower) * fraction, note };
  }
  const logLower = Math.log2(Math.abs(bucket.lower));
  const logUpper = Math.log2(Math.abs(bucket.upper));
  if (bucket.lower > 0) return { value: Math.pow(2, logLower + (logUpper - logLower) * fraction), note };
  return { value: -Math.pow(2, logUpper + (logLower - logUpper) * (1 - fraction)), note };
}

/** Prometheus' `HistogramFraction` over a native histogram. */
export function histogramFraction(lower: number, upper: number, h: FloatHistogram): { value: number; note: NaNNote } {
  if (h.count === 0 || Number.isNaN(lower) || Number.isNaN(upper)) return { value: NaN, note: undefined };
  if (lower >= upper) return { value: 0, note: undefined };
  const all = h.allBuckets();
  let count = 0;
  let rank = 0;
  let lowerRank = 0;
  let upperRank = 0;
  let lowerSet = false;
  let upperSet = false;
  let i = 0;
  for (; i < all.length; i++) {
    const src = all[i]!;
    const b = { lower: src.lower, upper: src.upper, count: src.count };
    count += b.count;
    let zeroBucket = false;
    const linear = (v: number): number => (b.lower === -Infinity ? b.count : rank + (b.count * (v - b.lower)) / (b.upper - b.lower));
    const expo = (v: number): number => {
      const logLower = Math.log2(Math.abs(b.lower));
      const logUpper = Math.log2(Math.abs(b.upper));
      const logV = Math.log2(Math.abs(v));
      const fraction = v > 0 ? (logV - logLower) / (logUpper - logLower) : 1 - (logV - logUpper) / (logLower - logUpper);
      return rank + b.count * fraction;
    };
    if (b.lower <= 0 && b.upper >= 0) {
      zeroBucket = true;
      if (h.negativeBuckets.length === 0 && h.positiveBuckets.length > 0) b.lower = 0;
      else if (h.positiveBuckets.length === 0 && h.negativeBuckets.length > 0) b.upper = 0;
    }
    if (!lowerSet && b.lower >= lower) {
      lowerRank = rank;
      lowerSet = true;
    }
    if (!upperSet && b.lower >= upper) {
      upperRank = rank;
      upperSet = true;
    }
    if (lowerSet && upperSet) {
      i++;
      break;
    }
    if (!lowerSet && b.lower < lower && b.upper > lower) {
      lowerRank = h.usesCustomBuckets || zeroBucket ? linear(lower) : expo(lower);
      lowerSet = true;
    }
    if (!upperSet && b.lower < upper && b.upper > upper) {
      upperRank = h.usesCustomBuckets || zeroBucket ? linear(upper) : expo(upper);
      upperSet = true;
    }
    if (lowerSet && upperSet) {
      i++;
      break;
    }
    rank += b.count;
  }
  let note: NaNNote;
  if (Number.isNaN(h.sum)) {
    for (; i < all.length; i++) count += all[i]!.count;
    if (count < h.count) note = 'fraction-nans';
  } else {
    count = h.count;
  }
  if (!lowerSet || lowerRank > count) lowerRank = count;
  if (!upperSet || upperRank > count) upperRank = count;
  return { value: (upperRank - lowerRank) / h.count, note };
}

/** Prometheus' `quantile` over sample values (sorts `values` in place; NaN first). */
export function quantile(q: number, values: number[]): number {
  if (values.length === 0 || Number.isNaN(q)) return NaN;
  if (q < 0) return -Infinity;
  if (q > 1) return Infinity;
  values.sort((a, b) => (Number.isNaN(a) ? (Number.isNaN(b) ? 0 : -1) : Number.isNaN(b) ? 1 : a - b));
  const n = values.length;
  const rank = q * (n - 1);
  const lowerIndex = Math.max(0, Math.floor(rank));
  const upperIndex = Math.min(n - 1, lowerIndex + 1);
  const weight = rank - Math.floor(rank);
  return values[lowerIndex]! * (1 - weight) + values[upperIndex]! * weight;
}
