import { METRIC_NAME_LABEL } from '../model/index.ts';
import type { Labels } from '../model/index.ts';
import type { Annotations } from './annotations.ts';
import type { PosRange } from './ast.ts';
import {
  COUNTER_RESET,
  FloatHistogram,
  GAUGE_TYPE,
  IncompatibleSchemaError,
  NOT_COUNTER_RESET,
} from './histogram.ts';
import { quantile } from './quantile.ts';

/**
 * Neumaier-compensated summation, as Prometheus' `kahansum.Inc`: the compensation after adding `inc` to
 * `sum` (the new sum is `sum + inc`; an infinite one resets the compensation). Returning the pair as an array
 * allocated one per sample: a tenth of a GB per `sum by (…) (rate(…))` in the metrics bench.
 */
export function kahanComp(inc: number, sum: number, c: number): number {
  const t = sum + inc;
  if (t === Infinity || t === -Infinity) return 0;
  if (Math.abs(sum) >= Math.abs(inc)) return c + (sum - t + inc);
  return c + (inc - t + sum);
}

/**
 * The samples of one series inside one step's range window: floats `ft/fv[flo..fhi)` and histograms
 * `ht/hv[hlo..hhi)`, both in time order without stale markers.
 */
export interface RangeWindow {
  ft: Float64Array;
  fv: Float64Array;
  flo: number;
  fhi: number;
  ht: Float64Array;
  hv: readonly FloatHistogram[];
  hlo: number;
  hhi: number;
  /** The evaluation timestamp of the step. */
  ts: number;
  rangeStart: number;
  rangeEnd: number;
  readonly rangeMs: number;
  labels: Labels;
  /** Scalar arguments at this step, in argument order (the range vector excluded). */
  params: number[];
  /**
   * The index of the series' first float sample lower than the one before it (`fv.length` without any): rate
   * and increase look for counter resets only from there. -1 until a kernel computes it; the evaluator
   * resets it with each new series.
   */
  firstDrop: number;
}

/** Where a range function writes its result for one step. */
export interface RangeOut {
  f: number;
  h: FloatHistogram | undefined;
}

/** What a range function needs besides the window: annotations and positions for them. */
export interface RangeFnContext {
  readonly annos: Annotations;
  /** Position of the range-vector argument (Prometheus' `args[0].PositionRange()` for most functions). */
  readonly argPos: PosRange;
  /** Position of the first argument (quantile_over_time's q, predict_linear's range vector). */
  readonly firstArgPos: PosRange;
  /** Position of all arguments together (Prometheus' `args.PositionRange()`). */
  readonly argsPos: PosRange;
}

/** A range-vector function: returns false when the series produces no value at this step. */
export type RangeFn = (w: RangeWindow, out: RangeOut, ctx: RangeFnContext) => boolean;

function metricName(labels: Labels): string {
  return labels[METRIC_NAME_LABEL] ?? '';
}

const MIXED = (name: string): string => `encountered a mix of histograms and floats for metric name "${name}"`;
const IGNORED_MIXED = (name: string): string =>
  `ignored histograms in a range containing both floats and histograms for metric name "${name}"`;
const NOT_COUNTER = (name: string): string => `this native histogram metric is not a counter: "${name}"`;
const NOT_GAUGE = (name: string): string => `this native histogram metric is not a gauge: "${name}"`;
const MIXED_EXP_CUSTOM = (name: string): string =>
  `vector contains a mix of histograms with exponential and custom buckets schemas for metric name "${name}"`;
const RECONCILED = (op: string): string => `mismatched custom buckets were reconciled during ${op}`;
const COLLISION = (op: string): string => `conflicting counter resets during histogram ${op}`;

function histogramRate(
  w: RangeWindow,
  isCounter: boolean,
  ctx: RangeFnContext,
): FloatHistogram | undefined {
  const { hv, hlo, hhi } = w;
  const name = metricName(w.labels);
  let prev = hv[hlo]!;
  let usingCustom = prev.usesCustomBuckets;
  const last = hv[hhi - 1]!;
  if (isCounter && (prev.counterResetHint === GAUGE_TYPE || last.counterResetHint === GAUGE_TYPE)) {
    ctx.annos.warn(NOT_COUNTER(name), ctx.argPos);
  }
  if (isCounter && hhi - hlo > 1) {
    const second = hv[hlo + 1]!;
    if (second.detectReset(prev)) {
      const empty = new FloatHistogram();
      empty.schema = second.schema;
      empty.customValues = second.customValues;
      prev = empty;
      usingCustom = second.usesCustomBuckets;
    }
  }
  if (last.usesCustomBuckets !== usingCustom) {
    ctx.annos.warn(MIXED_EXP_CUSTOM(name), ctx.argPos);
    return undefined;
  }
  let minSchema = Math.min(last.schema, prev.schema);
  for (let i = hlo + 1; i < hhi - 1; i++) {
    const curr = hv[i]!;
    if (!isCounter) continue;
    if (curr.counterResetHint === GAUGE_TYPE) ctx.annos.warn(NOT_COUNTER(name), ctx.argPos);
    if (curr.schema < minSchema) minSchema = curr.schema;
    if (curr.usesCustomBuckets !== usingCustom) {
      ctx.annos.warn(MIXED_EXP_CUSTOM(name), ctx.argPos);
      return undefined;
    }
  }
  const h = last.copyToSchema(minSchema);
  try {
    const r = h.sub(prev);
    if (r.nhcbBoundsReconciled) ctx.annos.info(RECONCILED('subtraction'), ctx.argPos);
  } catch (err) {
    if (err instanceof IncompatibleSchemaError) {
      ctx.annos.warn(MIXED_EXP_CUSTOM(name), ctx.argPos);
      return undefined;
    }
    throw err;
  }
  if (isCounter) {
    let p = prev;
    for (let i = hlo + 1; i < hhi; i++) {
      const curr = hv[i]!;
      if (curr.detectReset(p)) {
        try {
          const r = h.add(p);
          if (r.nhcbBoundsReconciled) ctx.annos.info(RECONCILED('addition'), ctx.argPos);
        } catch (err) {
          if (err instanceof IncompatibleSchemaError) {
            ctx.annos.warn(MIXED_EXP_CUSTOM(name), ctx.argPos);
            return undefined;
          }
          throw err;
        }
      }
      p = curr;
    }
  } else if (hv[hlo]!.counterResetHint !== GAUGE_TYPE || hv[hhi - 1]!.counterResetHint !== GAUGE_TYPE) {
    ctx.annos.warn(NOT_GAUGE(name), ctx.argPos);
  }
  h.counterResetHint = GAUGE_TYPE;
  return h.compact();
}

function extrapolatedRate(w: RangeWindow, out: RangeOut, ctx: RangeFnContext, isCounter: boolean, isRate: boolean): boolean {
  const nf = w.fhi - w.flo;
  const nh = w.hhi - w.hlo;
  if (nf > 0 && nh > 0) {
    ctx.annos.warn(MIXED(metricName(w.labels)), ctx.argPos);
    return false;
  }
  let resultFloat = 0;
  let resultHist: FloatHistogram | undefined;
  let firstT: number;
  let lastT: number;
  let numMinusOne: number;
  if (nh > 1) {
    numMinusOne = nh - 1;
    firstT = w.ht[w.hlo]!;
    lastT = w.ht[w.hhi - 1]!;
    resultHist = histogramRate(w, isCounter, ctx);
    if (!resultHist) return false;
  } else if (nf > 1) {
    numMinusOne = nf - 1;
    firstT = w.ft[w.flo]!;
    lastT = w.ft[w.fhi - 1]!;
    resultFloat = w.fv[w.fhi - 1]! - w.fv[w.flo]!;
    if (isCounter) {
      // Most counters never reset: find the first drop once per series instead of scanning every window
      // (the same additions in the same order where there are resets).
      if (w.firstDrop < 0) w.firstDrop = firstDrop(w.fv);
      for (let i = Math.max(w.flo + 1, w.firstDrop); i < w.fhi; i++) {
        const prev = w.fv[i - 1]!;
        if (w.fv[i]! < prev) resultFloat += prev;
      }
    }
  } else {
    return false;
  }
  let durationToStart = (firstT - w.rangeStart) / 1000;
  let durationToEnd = (w.rangeEnd - lastT) / 1000;
  const sampledInterval = (lastT - firstT) / 1000;
  const avg = sampledInterval / numMinusOne;
  const threshold = avg * 1.1;
  if (durationToStart >= threshold) durationToStart = avg / 2;
  if (isCounter) {
    let durationToZero = durationToStart;
    if (resultFloat > 0 && nf > 0 && w.fv[w.flo]! >= 0) {
      durationToZero = sampledInterval * (w.fv[w.flo]! / resultFloat);
    } else if (resultHist && resultHist.count > 0 && nh > 0 && w.hv[w.hlo]!.count >= 0) {
      durationToZero = sampledInterval * (w.hv[w.hlo]!.count / resultHist.count);
    }
    if (durationToZero < durationToStart) durationToStart = durationToZero;
  }
  if (durationToEnd >= threshold) durationToEnd = avg / 2;
  let factor = (sampledInterval + durationToStart + durationToEnd) / sampledInterval;
  if (isRate) factor /= w.rangeMs / 1000;
  if (resultHist) {
    resultHist.mul(factor);
    out.h = resultHist;
  } else {
    out.f = resultFloat * factor;
  }
  return true;
}

/** The index of the first value lower than the one before it, `fv.length` without any (see RangeWindow.firstDrop). */
function firstDrop(fv: Float64Array): number {
  for (let i = 1; i < fv.length; i++) if (fv[i]! < fv[i - 1]!) return i;
  return fv.length;
}

function instantValue(w: RangeWindow, out: RangeOut, ctx: RangeFnContext, isRate: boolean): boolean {
  const nf = w.fhi - w.flo;
  const nh = w.hhi - w.hlo;
  if (nf + nh < 2) return false;
  type S = { t: number; f: number; h: FloatHistogram | undefined };
  const ss: S[] = [];
  for (let i = Math.max(w.flo, w.fhi - 2); i < w.fhi; i++) ss.push({ t: w.ft[i]!, f: w.fv[i]!, h: undefined });
  for (let i = Math.max(w.hlo, w.hhi - 2); i < w.hhi; i++) {
    const s: S = { t: w.ht[i]!, f: 0, h: w.hv[i]! };
    if (ss.length === 0) ss.push(s);
    else if (ss.length === 1) {
      if (s.t < ss[0]!.t) ss.unshift(s);
      else ss.push(s);
    } else if (s.t < ss[0]!.t) {
      // Older than both; ignore.
    } else if (s.t > ss[1]!.t) {
      ss[0] = ss[1]!;
      ss[1] = s;
    } else {
      ss[0] = s;
    }
  }
  const a = ss[0]!;
  const b = ss[1]!;
  const interval = b.t - a.t;
  if (interval === 0) return false;
  const name = metricName(w.labels);
  if (!a.h && !b.h) {
    let f = b.f;
    if (!isRate || !(b.f < a.f)) f = b.f - a.f;
    if (isRate) f /= interval / 1000;
    out.f = f;
    return true;
  }
  if (a.h && b.h) {
    const h = b.h.copy();
    if (isRate && (b.h.counterResetHint === GAUGE_TYPE || a.h.counterResetHint === GAUGE_TYPE)) {
      ctx.annos.warn(NOT_COUNTER(name), ctx.argsPos);
    }
    if (!isRate && (b.h.counterResetHint !== GAUGE_TYPE || a.h.counterResetHint !== GAUGE_TYPE)) {
      ctx.annos.warn(NOT_GAUGE(name), ctx.argsPos);
    }
    if (!isRate || !b.h.detectReset(a.h)) {
      try {
        const r = h.sub(a.h);
        if (r.nhcbBoundsReconciled) ctx.annos.info(RECONCILED('subtraction'), ctx.argsPos);
      } catch (err) {
        if (err instanceof IncompatibleSchemaError) {
          ctx.annos.warn(MIXED_EXP_CUSTOM(name), ctx.argsPos);
          return false;
        }
        throw err;
      }
    }
    h.counterResetHint = GAUGE_TYPE;
    h.compact();
    if (isRate) h.div(interval / 1000);
    out.h = h;
    return true;
  }
  ctx.annos.warn(MIXED(name), ctx.argsPos);
  return false;
}

function linearRegression(ft: Float64Array, fv: Float64Array, lo: number, hi: number, interceptTime: number): [number, number] {
  let n = 0;
  let sumX = 0;
  let cX = 0;
  let sumY = 0;
  let cY = 0;
  let sumXY = 0;
  let cXY = 0;
  let sumX2 = 0;
  let cX2 = 0;
  const initY = fv[lo]!;
  let constY = true;
  for (let i = lo; i < hi; i++) {
    const y = fv[i]!;
    if (constY && i > lo && y !== initY) constY = false;
    n += 1;
    const x = (ft[i]! - interceptTime) / 1000;
    const xy = x * y;
    const x2 = x * x;
    cX = kahanComp(x, sumX, cX);
    sumX += x;
    cY = kahanComp(y, sumY, cY);
    sumY += y;
    cXY = kahanComp(xy, sumXY, cXY);
    sumXY += xy;
    cX2 = kahanComp(x2, sumX2, cX2);
    sumX2 += x2;
  }
  if (constY) {
    if (!Number.isFinite(initY) && !Number.isNaN(initY)) return [NaN, NaN];
    return [0, initY];
  }
  sumX += cX;
  sumY += cY;
  sumXY += cXY;
  sumX2 += cX2;
  const covXY = sumXY - (sumX * sumY) / n;
  const varX = sumX2 - (sumX * sumX) / n;
  const slope = covXY / varX;
  const intercept = sumY / n - (slope * sumX) / n;
  return [slope, intercept];
}

type HistAgg = 'sum' | 'avg';

function histOverTime(w: RangeWindow, out: RangeOut, ctx: RangeFnContext, mode: HistAgg): boolean {
  const acc = new HistogramMean(mode === 'avg');
  try {
    for (let i = w.hlo; i < w.hhi; i++) acc.add(w.hv[i]!);
  } catch (err) {
    if (err instanceof IncompatibleSchemaError) {
      ctx.annos.warn(MIXED_EXP_CUSTOM(metricName(w.labels)), ctx.argPos);
      return false;
    }
    throw err;
  }
  if (acc.counterResetSeen && acc.notCounterResetSeen) ctx.annos.warn(COLLISION('aggregation'), ctx.argPos);
  if (acc.reconciled) ctx.annos.info(RECONCILED('aggregation'), ctx.argPos);
  out.h = acc.result();
  return true;
}

/**
 * Sums (or averages) native histograms as Prometheus does: Kahan-compensated running sum, switching to an
 * incremental mean once the sum would overflow (averages only).
 */
export class HistogramMean {
  counterResetSeen = false;
  notCounterResetSeen = false;
  reconciled = false;
  private sum: FloatHistogram | undefined;
  private mean: FloatHistogram | undefined;
  private comp: FloatHistogram | undefined;
  private count = 0;
  private incremental = false;

  constructor(private readonly average: boolean) {}

  /** Adds one histogram; throws IncompatibleSchemaError on a mix of exponential and custom buckets. */
  add(h: FloatHistogram): void {
    if (h.counterResetHint === COUNTER_RESET) this.counterResetSeen = true;
    else if (h.counterResetHint === NOT_COUNTER_RESET) this.notCounterResetSeen = true;
    this.count++;
    if (!this.sum) {
      this.sum = h.copy();
      return;
    }
    const count = this.count;
    if (!this.incremental) {
      if (!this.average) {
        const r = this.sum.kahanAdd(h, this.comp);
        this.comp = r.c;
        if (r.outcome.nhcbBoundsReconciled) this.reconciled = true;
        return;
      }
      const sumCopy = this.sum.copy();
      const r = sumCopy.kahanAdd(h, this.comp?.copy());
      if (r.outcome.nhcbBoundsReconciled) this.reconciled = true;
      if (!sumCopy.hasOverflow()) {
        this.sum = sumCopy;
        this.comp = r.c;
        return;
      }
      this.incremental = true;
      this.mean = this.sum.copy().div(count - 1);
      this.comp?.div(count - 1);
    }
    const q = (count - 1) / count;
    this.comp?.mul(q);
    const toAdd = h.copy().div(count);
    const r = this.mean!.mul(q).kahanAdd(toAdd, this.comp);
    this.comp = r.c;
    if (r.outcome.nhcbBoundsReconciled) this.reconciled = true;
  }

  /** The sum or mean; undefined when nothing was added. */
  result(): FloatHistogram | undefined {
    if (!this.sum) return undefined;
    if (this.incremental) {
      if (this.comp) this.mean!.add(this.comp);
      return this.mean!;
    }
    if (!this.average) {
      if (this.comp) this.sum.add(this.comp);
      return this.sum;
    }
    if (this.comp) {
      this.sum.div(this.count);
      this.sum.add(this.comp.div(this.count));
      return this.sum;
    }
    return this.sum.div(this.count);
  }
}

function avgFloats(fv: Float64Array, lo: number, hi: number): number {
  let sum = fv[lo]!;
  let count = 1;
  let mean = 0;
  let c = 0;
  let incremental = false;
  for (let i = lo + 1; i < hi; i++) {
    const f = fv[i]!;
    count = i - lo + 1;
    if (!incremental) {
      const ns = sum + f;
      if (ns !== Infinity && ns !== -Infinity) {
        c = kahanComp(f, sum, c);
        sum = ns;
        continue;
      }
      incremental = true;
      mean = sum / (count - 1);
      c /= count - 1;
    }
    const q = (count - 1) / count;
    const inc = f / count;
    const m = q * mean;
    c = kahanComp(inc, m, q * c);
    mean = m + inc;
  }
  if (incremental) return mean + c;
  return sum / count + c / count;
}

function varianceFloats(fv: Float64Array, lo: number, hi: number): number {
  let count = 0;
  let mean = 0;
  let cMean = 0;
  let aux = 0;
  let cAux = 0;
  for (let i = lo; i < hi; i++) {
    const f = fv[i]!;
    count++;
    const delta = f - (mean + cMean);
    const inc = delta / count;
    cMean = kahanComp(inc, mean, cMean);
    mean += inc;
    const incAux = delta * (f - (mean + cMean));
    cAux = kahanComp(incAux, aux, cAux);
    aux += incAux;
  }
  return (aux + cAux) / count;
}

/** Float-only range functions ignore histograms with an info annotation when both kinds are present. */
function floatsOnly(w: RangeWindow, ctx: RangeFnContext): boolean {
  if (w.fhi - w.flo === 0) return false;
  if (w.hhi - w.hlo > 0) ctx.annos.info(IGNORED_MIXED(metricName(w.labels)), ctx.argPos);
  return true;
}

function compareOverTime(w: RangeWindow, out: RangeOut, ctx: RangeFnContext, better: (cur: number, best: number) => boolean, ts: boolean): boolean {
  if (!floatsOnly(w, ctx)) return false;
  let best = w.fv[w.flo]!;
  let bestT = w.ft[w.flo]!;
  for (let i = w.flo; i < w.fhi; i++) {
    const f = w.fv[i]!;
    if (better(f, best)) {
      best = f;
      bestT = w.ft[i]!;
    }
  }
  out.f = ts ? bestT / 1000 : best;
  return true;
}

function pickFirst(w: RangeWindow, out: RangeOut, last: boolean): boolean {
  const nf = w.fhi - w.flo;
  const nh = w.hhi - w.hlo;
  if (nf === 0 && nh === 0) return false;
  if (last) {
    const ftLast = nf > 0 ? w.ft[w.fhi - 1]! : -Infinity;
    const htLast = nh > 0 ? w.ht[w.hhi - 1]! : -Infinity;
    if (nh === 0 || (nf > 0 && htLast < ftLast)) out.f = w.fv[w.fhi - 1]!;
    else out.h = w.hv[w.hhi - 1]!.copy();
    return true;
  }
  const ftFirst = nf > 0 ? w.ft[w.flo]! : Infinity;
  const htFirst = nh > 0 ? w.ht[w.hlo]! : Infinity;
  if (nh === 0 || (nf > 0 && ftFirst < htFirst)) out.f = w.fv[w.flo]!;
  else out.h = w.hv[w.hlo]!.copy();
  return true;
}

/** Walks floats and histograms of the window merged in time order. */
function mergedSamples(w: RangeWindow, fn: (f: number, h: FloatHistogram | undefined, first: boolean) => void): void {
  let i = w.flo;
  let j = w.hlo;
  let first = true;
  while (i < w.fhi || j < w.hhi) {
    if (j >= w.hhi || (i < w.fhi && w.ft[i]! < w.ht[j]!)) {
      fn(w.fv[i]!, undefined, first);
      i++;
    } else {
      fn(0, w.hv[j], first);
      j++;
    }
    first = false;
  }
}

/** Every range-vector function, by name. */
export const RANGE_FUNCTIONS: ReadonlyMap<string, RangeFn> = new Map<string, RangeFn>([
  ['rate', (w, o, c) => extrapolatedRate(w, o, c, true, true)],
  ['increase', (w, o, c) => extrapolatedRate(w, o, c, true, false)],
  ['delta', (w, o, c) => extrapolatedRate(w, o, c, false, false)],
  ['irate', (w, o, c) => instantValue(w, o, c, true)],
  ['idelta', (w, o, c) => instantValue(w, o, c, false)],
  [
    'avg_over_time',
    (w, o, c) => {
      const nf = w.fhi - w.flo;
      const nh = w.hhi - w.hlo;
      if (nf > 0 && nh > 0) {
        c.annos.warn(MIXED(metricName(w.labels)), c.argPos);
        return false;
      }
      if (nf === 0) return nh > 0 ? histOverTime(w, o, c, 'avg') : false;
      o.f = avgFloats(w.fv, w.flo, w.fhi);
      return true;
    },
  ],
  [
    'sum_over_time',
    (w, o, c) => {
      const nf = w.fhi - w.flo;
      const nh = w.hhi - w.hlo;
      if (nf > 0 && nh > 0) {
        c.annos.warn(MIXED(metricName(w.labels)), c.argPos);
        return false;
      }
      if (nf === 0) return nh > 0 ? histOverTime(w, o, c, 'sum') : false;
      let sum = 0;
      let comp = 0;
      for (let i = w.flo; i < w.fhi; i++) {
        const f = w.fv[i]!;
        comp = kahanComp(f, sum, comp);
        sum += f;
      }
      o.f = sum === Infinity || sum === -Infinity ? sum : sum + comp;
      return true;
    },
  ],
  [
    'count_over_time',
    (w, o) => {
      const n = w.fhi - w.flo + (w.hhi - w.hlo);
      if (n === 0) return false;
      o.f = n;
      return true;
    },
  ],
  ['last_over_time', (w, o) => pickFirst(w, o, true)],
  ['first_over_time', (w, o) => pickFirst(w, o, false)],
  [
    'ts_of_last_over_time',
    (w, o) => {
      const nf = w.fhi - w.flo;
      const nh = w.hhi - w.hlo;
      if (nf + nh === 0) return false;
      o.f = Math.max(nf > 0 ? w.ft[w.fhi - 1]! : 0, nh > 0 ? w.ht[w.hhi - 1]! : 0) / 1000;
      return true;
    },
  ],
  [
    'ts_of_first_over_time',
    (w, o) => {
      const nf = w.fhi - w.flo;
      const nh = w.hhi - w.hlo;
      if (nf + nh === 0) return false;
      o.f = Math.min(nf > 0 ? w.ft[w.flo]! : Infinity, nh > 0 ? w.ht[w.hlo]! : Infinity) / 1000;
      return true;
    },
  ],
  ['max_over_time', (w, o, c) => compareOverTime(w, o, c, (cur, m) => cur > m || Number.isNaN(m), false)],
  ['min_over_time', (w, o, c) => compareOverTime(w, o, c, (cur, m) => cur < m || Number.isNaN(m), false)],
  ['ts_of_max_over_time', (w, o, c) => compareOverTime(w, o, c, (cur, m) => cur >= m || Number.isNaN(m), true)],
  ['ts_of_min_over_time', (w, o, c) => compareOverTime(w, o, c, (cur, m) => cur <= m || Number.isNaN(m), true)],
  [
    'quantile_over_time',
    (w, o, c) => {
      if (w.fhi - w.flo === 0) return false;
      const q = w.params[0]!;
      if (Number.isNaN(q) || q < 0 || q > 1) {
        c.annos.warn(`quantile value should be between 0 and 1, got ${goFloatG(q)}`, c.firstArgPos);
      }
      if (w.hhi - w.hlo > 0) c.annos.info(IGNORED_MIXED(metricName(w.labels)), c.argPos);
      o.f = quantile(q, Array.from(w.fv.subarray(w.flo, w.fhi)));
      return true;
    },
  ],
  [
    'stddev_over_time',
    (w, o, c) => {
      if (!floatsOnly(w, c)) return false;
      o.f = Math.sqrt(varianceFloats(w.fv, w.flo, w.fhi));
      return true;
    },
  ],
  [
    'stdvar_over_time',
    (w, o, c) => {
      if (!floatsOnly(w, c)) return false;
      o.f = varianceFloats(w.fv, w.flo, w.fhi);
      return true;
    },
  ],
  [
    'mad_over_time',
    (w, o, c) => {
      if (!floatsOnly(w, c)) return false;
      const vals = Array.from(w.fv.subarray(w.flo, w.fhi));
      if (vals.some((v) => Number.isNaN(v))) {
        o.f = NaN;
        return true;
      }
      const median = quantile(0.5, vals.slice());
      o.f = quantile(0.5, vals.map((v) => Math.abs(v - median)));
      return true;
    },
  ],
  [
    'present_over_time',
    (w, o) => {
      if (w.fhi - w.flo + (w.hhi - w.hlo) === 0) return false;
      o.f = 1;
      return true;
    },
  ],
  [
    'absent_over_time',
    (w, o) => {
      if (w.fhi - w.flo + (w.hhi - w.hlo) === 0) return false;
      o.f = 1;
      return true;
    },
  ],
  [
    'changes',
    (w, o) => {
      if (w.fhi - w.flo + (w.hhi - w.hlo) === 0) return false;
      let changes = 0;
      let pf = 0;
      let ph: FloatHistogram | undefined;
      mergedSamples(w, (f, h, first) => {
        if (!first) {
          if (!ph && !h) {
            if (f !== pf && !(Number.isNaN(f) && Number.isNaN(pf))) changes++;
          } else if (!ph || !h) {
            changes++;
          } else if (!h.equals(ph)) {
            changes++;
          }
        }
        pf = f;
        ph = h;
      });
      o.f = changes;
      return true;
    },
  ],
  [
    'resets',
    (w, o) => {
      if (w.fhi - w.flo + (w.hhi - w.hlo) === 0) return false;
      let resets = 0;
      let pf = 0;
      let ph: FloatHistogram | undefined;
      mergedSamples(w, (f, h, first) => {
        if (!first) {
          if (!ph && !h) {
            if (f < pf) resets++;
          } else if (!ph || !h) {
            resets++;
          } else if (h.detectReset(ph)) {
            resets++;
          }
        }
        pf = f;
        ph = h;
      });
      o.f = resets;
      return true;
    },
  ],
  [
    'deriv',
    (w, o, c) => {
      const nf = w.fhi - w.flo;
      if (nf < 2) {
        if (nf === 1 && w.hhi - w.hlo > 0) c.annos.info(IGNORED_MIXED(metricName(w.labels)), c.argPos);
        return false;
      }
      const [slope] = linearRegression(w.ft, w.fv, w.flo, w.fhi, w.ft[w.flo]!);
      if (w.hhi - w.hlo > 0) c.annos.info(IGNORED_MIXED(metricName(w.labels)), c.argPos);
      o.f = slope;
      return true;
    },
  ],
  [
    'predict_linear',
    (w, o, c) => {
      const nf = w.fhi - w.flo;
      if (nf < 2) {
        if (nf === 1 && w.hhi - w.hlo > 0) c.annos.info(IGNORED_MIXED(metricName(w.labels)), c.argPos);
        return false;
      }
      const duration = w.params[0]!;
      const [slope, intercept] = linearRegression(w.ft, w.fv, w.flo, w.fhi, w.ts);
      if (w.hhi - w.hlo > 0) c.annos.info(IGNORED_MIXED(metricName(w.labels)), c.argPos);
      o.f = slope * duration + intercept;
      return true;
    },
  ],
  [
    'double_exponential_smoothing',
    (w, o, c) => {
      const sf = w.params[0]!;
      const tf = w.params[1]!;
      if (sf <= 0 || sf >= 1) throw new RangeFunctionError(`invalid smoothing factor. Expected: 0 < sf < 1, got: ${goFloatF(sf)}`);
      if (tf <= 0 || tf >= 1) throw new RangeFunctionError(`invalid trend factor. Expected: 0 < tf < 1, got: ${goFloatF(tf)}`);
      const l = w.fhi - w.flo;
      if (l < 2) {
        if (l === 1 && w.hhi - w.hlo > 0) c.annos.info(IGNORED_MIXED(metricName(w.labels)), c.argPos);
        return false;
      }
      let s0 = 0;
      let s1 = w.fv[w.flo]!;
      let b = w.fv[w.flo + 1]! - w.fv[w.flo]!;
      for (let i = 1; i < l; i++) {
        const x = sf * w.fv[w.flo + i]!;
        if (i - 1 !== 0) b = tf * (s1 - s0) + (1 - tf) * b;
        const y = (1 - sf) * (s1 + b);
        s0 = s1;
        s1 = x + y;
      }
      if (w.hhi - w.hlo > 0) c.annos.info(IGNORED_MIXED(metricName(w.labels)), c.argPos);
      o.f = s1;
      return true;
    },
  ],
]);

/** An evaluation error raised by a range function (e.g. invalid smoothing factor). */
export class RangeFunctionError extends Error {}

/** Formats a float as Go's `%g`. */
export function goFloatG(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  const abs = Math.abs(v);
  if (abs !== 0 && (abs < 1e-4 || abs >= 1e21)) {
    const m = /^(-?[\d.]+)e([+-])(\d+)$/.exec(v.toExponential());
    if (m) return `${m[1]}e${m[2]}${m[3]!.padStart(2, '0')}`;
  }
  return String(v);
}

function goFloatF(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (!Number.isFinite(v)) return v > 0 ? '+Inf' : '-Inf';
  return v.toFixed(6);
}
