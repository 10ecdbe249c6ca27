import type { BucketSpan, NativeHistogram } from '../model/index.ts';
import { EXPONENTIAL_BOUNDS } from './exponential-bounds.ts';

/** Counter reset hints, numbered as remote_write's ResetHint. */
export const UNKNOWN_COUNTER_RESET = 0;
export const COUNTER_RESET = 1;
export const NOT_COUNTER_RESET = 2;
export const GAUGE_TYPE = 3;

/** The schema of native histograms with custom bucket bounds (NHCB). */
const CUSTOM_BUCKETS_SCHEMA = -53;

/** Thrown when exponential and custom-bucket histograms are combined. */
export class IncompatibleSchemaError extends Error {
  constructor() {
    super('cannot apply this operation on histograms with a mix of exponential and custom bucket schemas');
    this.name = 'IncompatibleSchemaError';
  }
}

/** One bucket as Prometheus' bucket iterators present it. */
export interface Bucket {
  lower: number;
  upper: number;
  readonly lowerInclusive: boolean;
  readonly upperInclusive: boolean;
  readonly count: number;
  readonly index: number;
}

/** What an addition or subtraction noticed, for the annotations the caller emits. */
export interface AddOutcome {
  readonly counterResetCollision: boolean;
  readonly nhcbBoundsReconciled: boolean;
}

interface Sparse {
  idx: number[];
  cnt: number[];
}

function expand(spans: readonly BucketSpan[], buckets: readonly number[]): Sparse {
  const idx: number[] = [];
  const cnt: number[] = [];
  let i = 0;
  let b = 0;
  for (const s of spans) {
    i += s.offset;
    for (let k = 0; k < s.length; k++) {
      idx.push(i);
      cnt.push(buckets[b] ?? 0);
      i++;
      b++;
    }
  }
  return { idx, cnt };
}

function build(sp: Sparse, keepZeros: boolean): { spans: BucketSpan[]; buckets: number[] } {
  const spans: { offset: number; length: number }[] = [];
  const buckets: number[] = [];
  let last = 0;
  let first = true;
  for (let k = 0; k < sp.idx.length; k++) {
    const c = sp.cnt[k]!;
    if (!keepZeros && c === 0) continue;
    const i = sp.idx[k]!;
    if (!first && i === last + 1) {
      spans[spans.length - 1]!.length++;
    } else {
      spans.push({ offset: first ? i : i - last - 1, length: 1 });
    }
    buckets.push(c);
    last = i;
    first = false;
  }
  return { spans, buckets };
}

/** Go's `math.Ldexp(frac, exp)` for `frac` in [0.5, 1): one rounding, no overflow of the intermediate power. */
function ldexp(frac: number, exp: number): number {
  if (exp > 1023) return frac * 2 ** 1023 * 2 ** (exp - 1023);
  if (exp < -1022) return frac * 2 ** (exp + 64) * 2 ** -64;
  return frac * 2 ** exp;
}

/**
 * The upper bound of exponential bucket `idx` of `schema`: Prometheus' `getBoundExponential`, with its exact
 * bound table (the last finite bucket ends at `Number.MAX_VALUE`, the one after it at +Inf).
 */
export function exponentialBound(idx: number, schema: number): number {
  if (schema <= 0) {
    const exp = idx * 2 ** -schema;
    if (exp === 1024) return Number.MAX_VALUE;
    return exp > 1024 ? Infinity : 2 ** exp;
  }
  const n = 1 << schema;
  const fracIdx = idx & (n - 1);
  // Schemas above 8 are refused at ingest; computing keeps a stray one from crashing a query.
  const frac = EXPONENTIAL_BOUNDS[schema]?.[fracIdx] ?? 2 ** (fracIdx / n) / 2;
  const exp = (idx >> schema) + 1;
  if (frac === 0.5 && exp === 1025) return Number.MAX_VALUE;
  return ldexp(frac, exp);
}

function targetIdx(idx: number, originSchema: number, targetSchema: number): number {
  return ((idx - 1) >> (originSchema - targetSchema)) + 1;
}

function reduceSparse(sp: Sparse, originSchema: number, targetSchema: number): Sparse {
  if (originSchema === targetSchema) return { idx: sp.idx.slice(), cnt: sp.cnt.slice() };
  const idx: number[] = [];
  const cnt: number[] = [];
  for (let k = 0; k < sp.idx.length; k++) {
    const t = targetIdx(sp.idx[k]!, originSchema, targetSchema);
    if (idx.at(-1) === t) cnt[cnt.length - 1]! += sp.cnt[k]!;
    else {
      idx.push(t);
      cnt.push(sp.cnt[k]!);
    }
  }
  return { idx, cnt };
}

function mergeSparse(a: Sparse, b: Sparse, sign: number): Sparse {
  const idx: number[] = [];
  const cnt: number[] = [];
  let i = 0;
  let j = 0;
  while (i < a.idx.length || j < b.idx.length) {
    if (j >= b.idx.length || (i < a.idx.length && a.idx[i]! < b.idx[j]!)) {
      idx.push(a.idx[i]!);
      cnt.push(a.cnt[i]!);
      i++;
    } else if (i >= a.idx.length || b.idx[j]! < a.idx[i]!) {
      idx.push(b.idx[j]!);
      cnt.push(sign * b.cnt[j]!);
      j++;
    } else {
      idx.push(a.idx[i]!);
      cnt.push(a.cnt[i]! + sign * b.cnt[j]!);
      i++;
      j++;
    }
  }
  return { idx, cnt };
}

/** Whether two custom bound lists are identical. */
export function customBoundsMatch(a: readonly number[] | undefined, b: readonly number[] | undefined): boolean {
  const x = a ?? [];
  const y = b ?? [];
  if (x.length !== y.length) return false;
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return false;
  return true;
}

function intersectBounds(a: readonly number[], b: readonly number[]): number[] {
  const out: number[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length && j < b.length) {
    if (a[i] === b[j]) {
      out.push(a[i]!);
      i++;
      j++;
    } else if (a[i]! < b[j]!) i++;
    else j++;
  }
  return out;
}

/** Maps custom-bucket counts onto a coarser set of bounds (a subset of the original ones). */
function mapCustom(sp: Sparse, bounds: readonly number[], target: readonly number[]): number[] {
  const out = new Array<number>(target.length + 1).fill(0);
  let t = 0;
  for (let k = 0; k < sp.idx.length; k++) {
    const src = sp.idx[k]!;
    let ti = target.length;
    if (src < bounds.length) {
      const bound = bounds[src]!;
      while (t < target.length && target[t]! < bound) t++;
      ti = t < target.length ? t : target.length;
    }
    out[ti] = out[ti]! + sp.cnt[k]!;
  }
  return out;
}

function denseToSparse(dense: readonly number[]): Sparse {
  const idx: number[] = [];
  const cnt: number[] = [];
  for (let i = 0; i < dense.length; i++) {
    idx.push(i);
    cnt.push(dense[i]!);
  }
  return { idx, cnt };
}


function kahanStep(inc: number, sum: number, c: number): [number, number] {
  const t = sum + inc;
  if (t === Infinity || t === -Infinity) return [t, 0];
  if (Math.abs(sum) >= Math.abs(inc)) return [t, c + (sum - t + inc)];
  return [t, c + (inc - t + sum)];
}

/** Compensation values of `c` aligned with the buckets of `layout` (missing ones are 0). */
function expandComp(c: FloatHistogram, layout: readonly BucketSpan[], positive: boolean): number[] {
  const want = expand(layout, []);
  const have = positive ? expand(c.positiveSpans, c.positiveBuckets) : expand(c.negativeSpans, c.negativeBuckets);
  const m = new Map<number, number>();
  for (let k = 0; k < have.idx.length; k++) m.set(have.idx[k]!, have.cnt[k]!);
  return want.idx.map((i) => m.get(i) ?? 0);
}

function dropZeroPairs(sp: Sparse, comp: number[]): { sp: Sparse; comp: number[] } {
  const out: Sparse = { idx: [], cnt: [] };
  const oc: number[] = [];
  for (let k = 0; k < sp.idx.length; k++) {
    if (sp.cnt[k] === 0 && comp[k] === 0) continue;
    out.idx.push(sp.idx[k]!);
    out.cnt.push(sp.cnt[k]!);
    oc.push(comp[k]!);
  }
  return { sp: out, comp: oc };
}

function kahanReduce(sp: Sparse, comp: number[], originSchema: number, targetSchema: number): { sp: Sparse; comp: number[] } {
  const out: Sparse = { idx: [], cnt: [] };
  const oc: number[] = [];
  for (let k = 0; k < sp.idx.length; k++) {
    const t = targetIdx(sp.idx[k]!, originSchema, targetSchema);
    const last = out.idx.length - 1;
    if (last >= 0 && out.idx[last] === t) {
      [out.cnt[last], oc[last]] = kahanStep(sp.cnt[k]!, out.cnt[last]!, oc[last]!);
      [out.cnt[last], oc[last]] = kahanStep(comp[k]!, out.cnt[last], oc[last]);
    } else {
      out.idx.push(t);
      out.cnt.push(sp.cnt[k]!);
      oc.push(comp[k]!);
    }
  }
  return { sp: out, comp: oc };
}

/** Adds buckets `b` (with optional compensation `cb`) into `a`/`ca` with Kahan steps. */
function kahanMerge(
  a: Sparse,
  ca: number[],
  b: Sparse,
  cb: number[] | undefined,
  threshold: number,
  schema: number,
  custom: boolean,
): { sum: Sparse; comp: number[] } {
  let skip = 0;
  if (!custom) while (skip < b.idx.length && exponentialBound(b.idx[skip]!, schema) <= threshold) skip++;
  const sum: Sparse = { idx: [], cnt: [] };
  const comp: number[] = [];
  let i = 0;
  let j = skip;
  while (i < a.idx.length || j < b.idx.length) {
    if (j >= b.idx.length || (i < a.idx.length && a.idx[i]! < b.idx[j]!)) {
      sum.idx.push(a.idx[i]!);
      sum.cnt.push(a.cnt[i]!);
      comp.push(ca[i]!);
      i++;
    } else if (i >= a.idx.length || b.idx[j]! < a.idx[i]!) {
      sum.idx.push(b.idx[j]!);
      sum.cnt.push(b.cnt[j]!);
      comp.push(cb ? cb[j]! : 0);
      j++;
    } else {
      let v = a.cnt[i]!;
      let c = ca[i]!;
      [v, c] = kahanStep(b.cnt[j]!, v, c);
      if (cb && cb[j] !== 0) [v, c] = kahanStep(cb[j]!, v, c);
      sum.idx.push(a.idx[i]!);
      sum.cnt.push(v);
      comp.push(c);
      i++;
      j++;
    }
  }
  return { sum, comp };
}

function formatGoFloat(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  const abs = Math.abs(v);
  if (abs !== 0 && (abs < 1e-4 || abs >= 1e21)) {
    const s = v.toExponential();
    const m = /^(-?[\d.]+)e([+-])(\d+)$/.exec(s);
    if (m) return `${m[1]}e${m[2]}${m[3]!.padStart(2, '0')}`;
    return s;
  }
  return String(v);
}

/**
 * A native histogram with float counts, the form PromQL computes on. Bucket counts are absolute. Instances
 * are mutable: operations named like Prometheus' (`add`, `mul`, ...) change the receiver; call `copy()`
 * first when the input must stay untouched.
 */
export class FloatHistogram {
  counterResetHint = UNKNOWN_COUNTER_RESET;
  schema = 0;
  zeroThreshold = 0;
  zeroCount = 0;
  count = 0;
  sum = 0;
  positiveSpans: BucketSpan[] = [];
  positiveBuckets: number[] = [];
  negativeSpans: BucketSpan[] = [];
  negativeBuckets: number[] = [];
  customValues: number[] | undefined = undefined;

  /** Converts a stored histogram (model form) into a FloatHistogram. */
  static fromModel(h: NativeHistogram): FloatHistogram {
    const f = new FloatHistogram();
    f.counterResetHint = h.resetHint ?? UNKNOWN_COUNTER_RESET;
    f.schema = h.schema;
    f.zeroThreshold = h.zeroThreshold;
    f.zeroCount = h.zeroCount;
    f.count = h.count;
    f.sum = h.sum;
    f.positiveSpans = h.positiveSpans.map((s) => ({ offset: s.offset, length: s.length }));
    f.positiveBuckets = [...h.positiveBuckets];
    f.negativeSpans = h.negativeSpans.map((s) => ({ offset: s.offset, length: s.length }));
    f.negativeBuckets = [...h.negativeBuckets];
    if (h.customValues && h.customValues.length > 0) f.customValues = [...h.customValues];
    else if (h.schema === CUSTOM_BUCKETS_SCHEMA) f.customValues = [];
    return f;
  }

  /** The model form (for storage or the wire). */
  toModel(): NativeHistogram {
    const base: NativeHistogram = {
      schema: this.schema,
      zeroThreshold: this.zeroThreshold,
      zeroCount: this.zeroCount,
      count: this.count,
      sum: this.sum,
      positiveSpans: this.positiveSpans.map((s) => ({ ...s })),
      positiveBuckets: [...this.positiveBuckets],
      negativeSpans: this.negativeSpans.map((s) => ({ ...s })),
      negativeBuckets: [...this.negativeBuckets],
      resetHint: this.counterResetHint,
    };
    return this.customValues ? { ...base, customValues: [...this.customValues] } : base;
  }

  get usesCustomBuckets(): boolean {
    return this.schema === CUSTOM_BUCKETS_SCHEMA;
  }

  copy(): FloatHistogram {
    const c = new FloatHistogram();
    c.counterResetHint = this.counterResetHint;
    c.schema = this.schema;
    c.zeroThreshold = this.zeroThreshold;
    c.zeroCount = this.zeroCount;
    c.count = this.count;
    c.sum = this.sum;
    c.positiveSpans = this.positiveSpans.map((s) => ({ offset: s.offset, length: s.length }));
    c.positiveBuckets = this.positiveBuckets.slice();
    c.negativeSpans = this.negativeSpans.map((s) => ({ offset: s.offset, length: s.length }));
    c.negativeBuckets = this.negativeBuckets.slice();
    c.customValues = this.customValues ? this.customValues.slice() : undefined;
    return c;
  }

  /** Scales all counts and the sum; a negative factor makes it a gauge. */
  mul(factor: number): this {
    this.zeroCount *= factor;
    this.count *= factor;
    this.sum *= factor;
    for (let i = 0; i < this.positiveBuckets.length; i++) this.positiveBuckets[i] = this.positiveBuckets[i]! * factor;
    for (let i = 0; i < this.negativeBuckets.length; i++) this.negativeBuckets[i] = this.negativeBuckets[i]! * factor;
    if (factor < 0) this.counterResetHint = GAUGE_TYPE;
    return this;
  }

  /** Divides all counts and the sum; dividing by zero drops every bucket, a negative divisor makes it a gauge. */
  div(scalar: number): this {
    this.zeroCount /= scalar;
    this.count /= scalar;
    this.sum /= scalar;
    if (scalar === 0) {
      this.positiveBuckets = [];
      this.negativeBuckets = [];
      this.positiveSpans = [];
      this.negativeSpans = [];
      return this;
    }
    for (let i = 0; i < this.positiveBuckets.length; i++) this.positiveBuckets[i] = this.positiveBuckets[i]! / scalar;
    for (let i = 0; i < this.negativeBuckets.length; i++) this.negativeBuckets[i] = this.negativeBuckets[i]! / scalar;
    if (scalar < 0) this.counterResetHint = GAUGE_TYPE;
    return this;
  }

  /** Adjusts the counter reset hint for an addition; returns true on a reset/not-reset collision. */
  adjustCounterReset(other: FloatHistogram): boolean {
    const a = this.counterResetHint;
    const b = other.counterResetHint;
    if (a === b) return false;
    if (a === GAUGE_TYPE) return false;
    if (b === GAUGE_TYPE) {
      this.counterResetHint = GAUGE_TYPE;
      return false;
    }
    if (a === UNKNOWN_COUNTER_RESET) return false;
    if (b === UNKNOWN_COUNTER_RESET) {
      this.counterResetHint = UNKNOWN_COUNTER_RESET;
      return false;
    }
    this.counterResetHint = UNKNOWN_COUNTER_RESET;
    return true;
  }

  /** Adds `other` into this histogram (Prometheus' `Add`). Throws IncompatibleSchemaError. */
  add(other: FloatHistogram): AddOutcome {
    return this.addOrSub(other, 1);
  }

  /** Subtracts `other` from this histogram (Prometheus' `Sub`). Throws IncompatibleSchemaError. */
  sub(other: FloatHistogram): AddOutcome {
    return this.addOrSub(other, -1);
  }

  private addOrSub(other: FloatHistogram, sign: number): AddOutcome {
    if (this.usesCustomBuckets !== other.usesCustomBuckets) throw new IncompatibleSchemaError();
    const collision = this.adjustCounterReset(other);
    let reconciled = false;
    if (!this.usesCustomBuckets) {
      const otherZero = this.reconcileZeroBuckets(other);
      this.zeroCount += sign * otherZero;
    }
    this.count += sign * other.count;
    this.sum += sign * other.sum;
    if (this.usesCustomBuckets) {
      const a = expand(this.positiveSpans, this.positiveBuckets);
      const b = expand(other.positiveSpans, other.positiveBuckets);
      if (customBoundsMatch(this.customValues, other.customValues)) {
        const built = build(mergeSparse(a, b, sign), true);
        this.positiveSpans = built.spans;
        this.positiveBuckets = built.buckets;
      } else {
        reconciled = true;
        const target = intersectBounds(this.customValues ?? [], other.customValues ?? []);
        const da = mapCustom(a, this.customValues ?? [], target);
        const db = mapCustom(b, other.customValues ?? [], target);
        for (let i = 0; i < da.length; i++) da[i] = da[i]! + sign * db[i]!;
        const built = build(denseToSparse(da), false);
        this.positiveSpans = built.spans;
        this.positiveBuckets = built.buckets;
        this.customValues = target;
      }
      return { counterResetCollision: collision, nhcbBoundsReconciled: reconciled };
    }
    const schema = Math.min(this.schema, other.schema);
    for (const positive of [true, false]) {
      const aSp = positive ? expand(this.positiveSpans, this.positiveBuckets) : expand(this.negativeSpans, this.negativeBuckets);
      let bSp = positive ? expand(other.positiveSpans, other.positiveBuckets) : expand(other.negativeSpans, other.negativeBuckets);
      const a = reduceSparse(aSp, this.schema, schema);
      bSp = reduceSparse(bSp, other.schema, schema);
      // Buckets of `other` that now fall into the (widened) zero bucket were already counted there.
      let skip = 0;
      while (skip < bSp.idx.length && exponentialBound(bSp.idx[skip]!, schema) <= this.zeroThreshold) skip++;
      const b = skip > 0 ? { idx: bSp.idx.slice(skip), cnt: bSp.cnt.slice(skip) } : bSp;
      const built = build(mergeSparse(a, b, sign), true);
      if (positive) {
        this.positiveSpans = built.spans;
        this.positiveBuckets = built.buckets;
      } else {
        this.negativeSpans = built.spans;
        this.negativeBuckets = built.buckets;
      }
    }
    this.schema = schema;
    return { counterResetCollision: collision, nhcbBoundsReconciled: reconciled };
  }


  /** Whether any count, the sum or a bucket is infinite (Prometheus' `HasOverflow`). */
  hasOverflow(): boolean {
    const inf = (v: number): boolean => v === Infinity || v === -Infinity;
    if (inf(this.count) || inf(this.sum) || inf(this.zeroCount)) return true;
    return this.positiveBuckets.some(inf) || this.negativeBuckets.some(inf);
  }

  /**
   * Adds `other` with Kahan-Neumaier compensation (Prometheus' `KahanAdd`). `c` carries the compensation
   * terms in this histogram's layout (created when undefined); use the returned one from then on. Add the
   * final compensation with `add(c)`. Throws IncompatibleSchemaError.
   */
  kahanAdd(other: FloatHistogram, cIn: FloatHistogram | undefined): { c: FloatHistogram; outcome: AddOutcome } {
    if (this.usesCustomBuckets !== other.usesCustomBuckets) throw new IncompatibleSchemaError();
    const collision = this.adjustCounterReset(other);
    let reconciled = false;
    const c = cIn ?? this.compensationLike();
    if (!this.usesCustomBuckets) {
      const otherZero = this.reconcileZeroBucketsKahan(other, c);
      [this.zeroCount, c.zeroCount] = kahanStep(otherZero, this.zeroCount, c.zeroCount);
    }
    [this.count, c.count] = kahanStep(other.count, this.count, c.count);
    [this.sum, c.sum] = kahanStep(other.sum, this.sum, c.sum);
    if (this.usesCustomBuckets) {
      const a = expand(this.positiveSpans, this.positiveBuckets);
      const ca = expandComp(c, this.positiveSpans, true);
      const b = expand(other.positiveSpans, other.positiveBuckets);
      if (customBoundsMatch(this.customValues, other.customValues)) {
        const r = kahanMerge(a, ca, b, undefined, -Infinity, 0, true);
        this.setSide(true, r.sum);
        c.setCompSide(true, r.comp, r.sum);
      } else {
        reconciled = true;
        const target = intersectBounds(this.customValues ?? [], other.customValues ?? []);
        const tb = new Array<number>(target.length + 1).fill(0);
        const tc = new Array<number>(target.length + 1).fill(0);
        const map = (sp: Sparse, comp: number[] | undefined, bounds: readonly number[]): void => {
          let t = 0;
          for (let k = 0; k < sp.idx.length; k++) {
            const src = sp.idx[k]!;
            let ti = target.length;
            if (src < bounds.length) {
              while (t < target.length && target[t]! < bounds[src]!) t++;
              ti = t;
            }
            [tb[ti], tc[ti]] = kahanStep(sp.cnt[k]!, tb[ti]!, tc[ti]!);
            if (comp) [tb[ti], tc[ti]] = kahanStep(comp[k]!, tb[ti]!, tc[ti]!);
          }
        };
        map(a, ca, this.customValues ?? []);
        map(b, undefined, other.customValues ?? []);
        const keep = { idx: [] as number[], cnt: [] as number[] };
        const keepC: number[] = [];
        for (let i = 0; i < tb.length; i++) {
          if (tb[i] === 0 && tc[i] === 0) continue;
          keep.idx.push(i);
          keep.cnt.push(tb[i]!);
          keepC.push(tc[i]!);
        }
        this.setSide(true, keep);
        this.customValues = target;
        c.customValues = target;
        c.setCompSide(true, keepC, keep);
      }
      return { c, outcome: { counterResetCollision: collision, nhcbBoundsReconciled: reconciled } };
    }
    for (const positive of [true, false]) {
      let a = positive ? expand(this.positiveSpans, this.positiveBuckets) : expand(this.negativeSpans, this.negativeBuckets);
      let ca = expandComp(c, positive ? this.positiveSpans : this.negativeSpans, positive);
      let b = positive ? expand(other.positiveSpans, other.positiveBuckets) : expand(other.negativeSpans, other.negativeBuckets);
      let cb: number[] | undefined;
      if (other.schema < this.schema) {
        const r = kahanReduce(a, ca, this.schema, other.schema);
        a = r.sp;
        ca = r.comp;
      } else if (other.schema > this.schema && b.idx.length > 0) {
        const r = kahanReduce(b, new Array<number>(b.idx.length).fill(0), other.schema, this.schema);
        b = r.sp;
        cb = r.comp;
      }
      const schema = Math.min(this.schema, other.schema);
      const r = kahanMerge(a, ca, b, cb, this.zeroThreshold, schema, false);
      this.setSide(positive, r.sum);
      c.setCompSide(positive, r.comp, r.sum);
    }
    if (other.schema < this.schema) this.schema = other.schema;
    c.schema = this.schema;
    c.zeroThreshold = this.zeroThreshold;
    return { c, outcome: { counterResetCollision: collision, nhcbBoundsReconciled: reconciled } };
  }

  private compensationLike(): FloatHistogram {
    const c = new FloatHistogram();
    c.counterResetHint = this.counterResetHint;
    c.schema = this.schema;
    c.zeroThreshold = this.zeroThreshold;
    c.positiveSpans = this.positiveSpans.map((s) => ({ ...s }));
    c.positiveBuckets = new Array<number>(this.positiveBuckets.length).fill(0);
    c.negativeSpans = this.negativeSpans.map((s) => ({ ...s }));
    c.negativeBuckets = new Array<number>(this.negativeBuckets.length).fill(0);
    c.customValues = this.customValues;
    return c;
  }

  private setSide(positive: boolean, sp: Sparse): void {
    const built = build(sp, true);
    if (positive) {
      this.positiveSpans = built.spans;
      this.positiveBuckets = built.buckets;
    } else {
      this.negativeSpans = built.spans;
      this.negativeBuckets = built.buckets;
    }
  }

  /** Sets compensation buckets laid out like `layout`. */
  private setCompSide(positive: boolean, comp: number[], layout: Sparse): void {
    const built = build({ idx: layout.idx, cnt: comp }, true);
    if (positive) {
      this.positiveSpans = built.spans;
      this.positiveBuckets = built.buckets;
    } else {
      this.negativeSpans = built.spans;
      this.negativeBuckets = built.buckets;
    }
  }

  /** Like reconcileZeroBuckets, moving compensation terms of buckets swallowed by the zero bucket too. */
  private reconcileZeroBucketsKahan(other: FloatHistogram, c: FloatHistogram): number {
    let otherZeroCount = other.zeroCount;
    let otherThreshold = other.zeroThreshold;
    let guard = 0;
    while (otherThreshold !== this.zeroThreshold && guard++ < 100) {
      if (this.zeroThreshold > otherThreshold) {
        const r = other.zeroCountForLargerThreshold(this.zeroThreshold);
        otherZeroCount = r.zeroCount;
        otherThreshold = r.threshold;
      }
      if (otherThreshold > this.zeroThreshold) {
        const r = this.zeroCountForLargerThreshold(otherThreshold);
        // Fold compensation terms of swallowed buckets into the zero bucket's compensation.
        const pos = expand(this.positiveSpans, this.positiveBuckets);
        const cpos = expandComp(c, this.positiveSpans, true);
        const neg = expand(this.negativeSpans, this.negativeBuckets);
        const cneg = expandComp(c, this.negativeSpans, false);
        let cz = c.zeroCount;
        for (let k = 0; k < pos.idx.length; k++) {
          if (exponentialBound(pos.idx[k]! - 1, this.schema) >= r.threshold) break;
          cz += cpos[k]!;
          cpos[k] = 0;
          pos.cnt[k] = 0;
        }
        for (let k = 0; k < neg.idx.length; k++) {
          if (-exponentialBound(neg.idx[k]! - 1, this.schema) <= -r.threshold) break;
          cz += cneg[k]!;
          cneg[k] = 0;
          neg.cnt[k] = 0;
        }
        this.zeroCount = r.zeroCount;
        this.zeroThreshold = r.threshold;
        c.zeroCount = cz;
        c.zeroThreshold = r.threshold;
        const keepPos = dropZeroPairs(pos, cpos);
        const keepNeg = dropZeroPairs(neg, cneg);
        this.setSide(true, keepPos.sp);
        this.setSide(false, keepNeg.sp);
        c.setCompSide(true, keepPos.comp, keepPos.sp);
        c.setCompSide(false, keepNeg.comp, keepNeg.sp);
      }
    }
    return otherZeroCount;
  }

  /** The zero count this histogram would have with a larger zero threshold, and the adjusted threshold. */
  zeroCountForLargerThreshold(larger: number): { zeroCount: number; threshold: number } {
    if (larger === this.zeroThreshold) return { zeroCount: this.zeroCount, threshold: larger };
    let threshold = larger;
    for (;;) {
      let zc = this.zeroCount;
      for (const b of this.positiveBucketList()) {
        if (b.lower >= threshold) break;
        zc += b.count;
        if (b.upper > threshold) {
          if (b.count !== 0) threshold = b.upper;
          break;
        }
      }
      let restart = false;
      for (const b of this.negativeBucketList()) {
        if (b.upper <= -threshold) break;
        zc += b.count;
        if (b.lower < -threshold) {
          if (b.count !== 0) {
            threshold = -b.lower;
            restart = true;
          }
          break;
        }
      }
      if (!restart) return { zeroCount: zc, threshold };
    }
  }

  private trimBucketsInZeroBucket(): void {
    const pos = expand(this.positiveSpans, this.positiveBuckets);
    for (let k = 0; k < pos.idx.length; k++) {
      const lower = exponentialBound(pos.idx[k]! - 1, this.schema);
      if (lower >= this.zeroThreshold) break;
      pos.cnt[k] = 0;
    }
    const neg = expand(this.negativeSpans, this.negativeBuckets);
    for (let k = 0; k < neg.idx.length; k++) {
      const upper = -exponentialBound(neg.idx[k]! - 1, this.schema);
      if (upper <= -this.zeroThreshold) break;
      neg.cnt[k] = 0;
    }
    const p = build(pos, false);
    const n = build(neg, false);
    this.positiveSpans = p.spans;
    this.positiveBuckets = p.buckets;
    this.negativeSpans = n.spans;
    this.negativeBuckets = n.buckets;
  }

  /** Makes both zero buckets equally wide (modifying only this one); returns `other`'s matching zero count. */
  private reconcileZeroBuckets(other: FloatHistogram): number {
    let otherZeroCount = other.zeroCount;
    let otherThreshold = other.zeroThreshold;
    let guard = 0;
    while (otherThreshold !== this.zeroThreshold && guard++ < 100) {
      if (this.zeroThreshold > otherThreshold) {
        const r = other.zeroCountForLargerThreshold(this.zeroThreshold);
        otherZeroCount = r.zeroCount;
        otherThreshold = r.threshold;
      }
      if (otherThreshold > this.zeroThreshold) {
        const r = this.zeroCountForLargerThreshold(otherThreshold);
        this.zeroCount = r.zeroCount;
        this.zeroThreshold = r.threshold;
        this.trimBucketsInZeroBucket();
      }
    }
    return otherZeroCount;
  }

  /** Removes empty buckets and merges spans (Prometheus' `Compact(0)`). */
  compact(): this {
    const p = build(expand(this.positiveSpans, this.positiveBuckets), false);
    const n = build(expand(this.negativeSpans, this.negativeBuckets), false);
    this.positiveSpans = p.spans;
    this.positiveBuckets = p.buckets;
    this.negativeSpans = n.spans;
    this.negativeBuckets = n.buckets;
    return this;
  }

  /** A copy reduced to a lower (or equal) resolution. */
  copyToSchema(target: number): FloatHistogram {
    const c = this.copy();
    if (target === this.schema || this.usesCustomBuckets) return c;
    const p = build(reduceSparse(expand(this.positiveSpans, this.positiveBuckets), this.schema, target), true);
    const n = build(reduceSparse(expand(this.negativeSpans, this.negativeBuckets), this.schema, target), true);
    c.positiveSpans = p.spans;
    c.positiveBuckets = p.buckets;
    c.negativeSpans = n.spans;
    c.negativeBuckets = n.buckets;
    c.schema = target;
    return c;
  }

  /** Whether this histogram is a counter reset relative to `previous` (Prometheus' `DetectReset`). */
  detectReset(previous: FloatHistogram): boolean {
    if (this.counterResetHint === COUNTER_RESET) return true;
    if (this.counterResetHint === NOT_COUNTER_RESET) return false;
    if (this.count < previous.count) return true;
    if (this.usesCustomBuckets !== previous.usesCustomBuckets) return true;
    if (this.usesCustomBuckets) {
      const cur = expand(this.positiveSpans, this.positiveBuckets);
      const prev = expand(previous.positiveSpans, previous.positiveBuckets);
      if (customBoundsMatch(this.customValues, previous.customValues)) {
        return sparseDecreased(prev, cur);
      }
      const target = intersectBounds(this.customValues ?? [], previous.customValues ?? []);
      const dc = mapCustom(cur, this.customValues ?? [], target);
      const dp = mapCustom(prev, previous.customValues ?? [], target);
      for (let i = 0; i < dc.length; i++) if (dp[i]! > dc[i]!) return true;
      return false;
    }
    if (this.schema > previous.schema) return true;
    if (this.zeroThreshold < previous.zeroThreshold) return true;
    const z = previous.zeroCountForLargerThreshold(this.zeroThreshold);
    if (z.threshold !== this.zeroThreshold) return true;
    if (this.zeroCount < z.zeroCount) return true;
    for (const positive of [true, false]) {
      const cur = positive ? expand(this.positiveSpans, this.positiveBuckets) : expand(this.negativeSpans, this.negativeBuckets);
      let prev = positive
        ? expand(previous.positiveSpans, previous.positiveBuckets)
        : expand(previous.negativeSpans, previous.negativeBuckets);
      prev = reduceSparse(prev, previous.schema, this.schema);
      const keep = (sp: Sparse): Sparse => {
        let k = 0;
        while (k < sp.idx.length && exponentialBound(sp.idx[k]!, this.schema) <= this.zeroThreshold) k++;
        return { idx: sp.idx.slice(k), cnt: sp.cnt.slice(k) };
      };
      if (sparseDecreased(keep(prev), keep(cur))) return true;
    }
    return false;
  }

  /** Exact equality of all fields and the bucket layout (Prometheus' `Equals`). */
  equals(o: FloatHistogram | undefined): boolean {
    if (!o) return false;
    if (
      this.schema !== o.schema ||
      !sameFloat(this.zeroThreshold, o.zeroThreshold) ||
      !sameFloat(this.zeroCount, o.zeroCount) ||
      !sameFloat(this.count, o.count) ||
      !sameFloat(this.sum, o.sum)
    ) {
      return false;
    }
    if (this.usesCustomBuckets && !customBoundsMatch(this.customValues, o.customValues)) return false;
    return (
      sparseEqual(expand(this.positiveSpans, this.positiveBuckets), expand(o.positiveSpans, o.positiveBuckets)) &&
      sparseEqual(expand(this.negativeSpans, this.negativeBuckets), expand(o.negativeSpans, o.negativeBuckets))
    );
  }

  private bucketList(positive: boolean): Bucket[] {
    const sp = positive ? expand(this.positiveSpans, this.positiveBuckets) : expand(this.negativeSpans, this.negativeBuckets);
    const out: Bucket[] = [];
    for (let k = 0; k < sp.idx.length; k++) {
      const i = sp.idx[k]!;
      let lower: number;
      let upper: number;
      if (this.usesCustomBuckets) {
        const cv = this.customValues ?? [];
        upper = i < cv.length ? cv[i]! : Infinity;
        lower = i === 0 ? -Infinity : i - 1 < cv.length ? cv[i - 1]! : Infinity;
      } else if (positive) {
        upper = exponentialBound(i, this.schema);
        lower = exponentialBound(i - 1, this.schema);
      } else {
        lower = -exponentialBound(i, this.schema);
        upper = -exponentialBound(i - 1, this.schema);
      }
      out.push({ lower, upper, lowerInclusive: lower < 0, upperInclusive: upper > 0, count: sp.cnt[k]!, index: i });
    }
    return out;
  }

  /** Positive buckets in ascending order. */
  positiveBucketList(): Bucket[] {
    return this.bucketList(true);
  }

  /** Negative buckets, nearest to zero first (as Prometheus iterates them). */
  negativeBucketList(): Bucket[] {
    return this.bucketList(false);
  }

  zeroBucket(): Bucket {
    return {
      lower: -this.zeroThreshold,
      upper: this.zeroThreshold,
      lowerInclusive: true,
      upperInclusive: true,
      count: this.zeroCount,
      index: 0,
    };
  }

  /** All buckets from the lowest to the highest value: negative ones, the zero bucket, positive ones. */
  allBuckets(): Bucket[] {
    const out = this.negativeBucketList().reverse();
    if (!this.usesCustomBuckets && this.zeroCount !== 0) out.push(this.zeroBucket());
    for (const b of this.positiveBucketList()) out.push(b);
    return out;
  }

  /** Prometheus' `String()`, used as the value label of `count_values` over histograms. */
  toString(): string {
    let s = `{count:${formatGoFloat(this.count)}, sum:${formatGoFloat(this.sum)}`;
    const neg = this.negativeBucketList().filter((b) => b.count !== 0);
    for (let i = neg.length - 1; i >= 0; i--) s += `, ${bucketString(neg[i]!)}`;
    if (this.zeroCount !== 0) s += `, ${bucketString(this.zeroBucket())}`;
    for (const b of this.positiveBucketList()) if (b.count !== 0) s += `, ${bucketString(b)}`;
    return s + '}';
  }
}

function bucketString(b: Bucket): string {
  return `${b.lowerInclusive ? '[' : '('}${formatGoFloat(b.lower)},${formatGoFloat(b.upper)}${b.upperInclusive ? ']' : ')'}:${formatGoFloat(b.count)}`;
}

function sameFloat(a: number, b: number): boolean {
  return a === b || (Number.isNaN(a) && Number.isNaN(b));
}

function sparseEqual(a: Sparse, b: Sparse): boolean {
  if (a.idx.length !== b.idx.length) return false;
  for (let k = 0; k < a.idx.length; k++) {
    if (a.idx[k] !== b.idx[k] || !sameFloat(a.cnt[k]!, b.cnt[k]!)) return false;
  }
  return true;
}

/** Whether any bucket count of `prev` is higher than the same bucket in `cur` (missing buckets count 0). */
function sparseDecreased(prev: Sparse, cur: Sparse): boolean {
  let j = 0;
  for (let k = 0; k < prev.idx.length; k++) {
    const c = prev.cnt[k]!;
    if (c === 0) continue;
    const i = prev.idx[k]!;
    while (j < cur.idx.length && cur.idx[j]! < i) j++;
    const curCount = j < cur.idx.length && cur.idx[j] === i ? cur.cnt[j]! : 0;
    if (c > curCount) return true;
  }
  return false;
}
