import { METRIC_NAME_LABEL, quoteGo } from '../model/index.ts';
import type { Labels } from '../model/index.ts';
import type { AggregateExpr } from './ast.ts';
import type { EvalEnv, Steps } from './env.ts';
import { execError } from './errors.ts';
import { IncompatibleSchemaError } from './histogram.ts';
import type { FloatHistogram } from './histogram.ts';
import { quantile } from './quantile.ts';
import { HistogramMean, goFloatG, kahanComp } from './range-functions.ts';
import { ABSENT, FLOAT, HIST, keyOf, newStepSeries, setHist } from './value.ts';
import type { StepSeries } from './value.ts';

const MAX_INT64 = 9223372036854774784;
const MIN_INT64 = -9223372036854775808;

/** Go's `strconv.FormatFloat(v, 'f', -1, 64)`: shortest round-trip digits, never an exponent. */
export function formatFloatPlain(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  const s = String(v);
  if (!/e/i.test(s)) return s;
  const neg = s.startsWith('-');
  const [mant, expPart] = s.replace('-', '').split('e') as [string, string];
  const exp = Number(expPart);
  const dot = mant.indexOf('.');
  const digits = mant.replace('.', '');
  const pointAt = (dot === -1 ? mant.length : dot) + exp;
  let out: string;
  if (pointAt <= 0) out = `0.${'0'.repeat(-pointAt)}${digits}`;
  else if (pointAt >= digits.length) out = digits + '0'.repeat(pointAt - digits.length);
  else out = `${digits.slice(0, pointAt)}.${digits.slice(pointAt)}`;
  return neg ? `-${out}` : out;
}

/** The labels an aggregation group keeps (`by`: only those; `without`: all but those and the name). */
export function groupingLabels(labels: Labels, grouping: readonly string[], without: boolean): Labels {
  const out: Record<string, string> = {};
  if (without) {
    for (const k in labels) if (k !== METRIC_NAME_LABEL && !grouping.includes(k)) out[k] = labels[k]!;
  } else {
    for (const g of grouping) {
      const v = labels[g];
      if (v !== undefined && v !== '') out[g] = v;
    }
  }
  return out;
}

/** Validity of a label name under UTF-8 validation: any non-empty, valid UTF-8 string. */
function isValidLabelName(name: string, invalidUtf8: boolean): boolean {
  return name.length > 0 && !invalidUtf8;
}

export const IGNORED_HIST = (agg: string): string => `ignored histogram in ${agg} aggregation`;
const MIXED_AGG = 'encountered a mix of histograms and floats for aggregation';
const MIXED_EXP_CUSTOM = (name: string): string =>
  `vector contains a mix of histograms with exponential and custom buckets schemas for metric name "${name}"`;

/** A string parameter (count_values' label), with its raw bytes when they are not valid UTF-8. */
export interface StringParam {
  readonly value: string;
  readonly raw: Uint8Array | undefined;
}

interface Group {
  labels: Labels;
  dropName: boolean;
}

/** Assigns series to aggregation groups by their labels, numbering the groups in order of first appearance. */
export class Grouper {
  readonly groups: Group[] = [];
  private readonly index = new Map<string, number>();

  /** `grouping` sorted, as `aggregate` sorts it. */
  constructor(
    private readonly grouping: readonly string[],
    private readonly without: boolean,
  ) {}

  /** The group of a series labelled `labels`. */
  groupOf(labels: Labels): number {
    let key: string;
    if (this.without) key = keyOf(groupingLabels(labels, this.grouping, true));
    else {
      // `by`: the grouping labels' values name the group (missing and empty alike leave a label out), so
      // the group's label set is built only for a new group. Length-prefixed: values may hold any character.
      key = '';
      for (const g of this.grouping) {
        const v = labels[g] ?? '';
        key += `${v.length}:${v}`;
      }
    }
    let gi = this.index.get(key);
    if (gi === undefined) {
      gi = this.groups.length;
      this.index.set(key, gi);
      this.groups.push({ labels: groupingLabels(labels, this.grouping, this.without), dropName: false });
    }
    return gi;
  }
}

/**
 * Evaluates an aggregation over all steps. `param` holds the per-step scalar parameter (k, q, ratio) or
 * the `count_values` label name.
 */
export function aggregate(
  e: AggregateExpr,
  input: StepSeries[],
  param: Float64Array | StringParam | undefined,
  steps: Steps,
  env: EvalEnv,
): StepSeries[] {
  const grouping = [...e.grouping].sort();
  if (e.op === 'count_values') {
    const p = param as StringParam;
    return countValues(e, input, p, grouping, steps, env);
  }
  const fp = param instanceof Float64Array ? param : undefined;
  const grouper = new Grouper(grouping, e.without);
  const seriesGroup = new Int32Array(input.length);
  for (let si = 0; si < input.length; si++) seriesGroup[si] = grouper.groupOf(input[si]!.labels);
  const groups = grouper.groups;
  switch (e.op) {
    case 'topk':
    case 'bottomk':
    case 'limitk':
    case 'limit_ratio':
      return aggregateK(e, input, fp!, seriesGroup, groups.length, steps, env);
    default:
      return aggregateValues(e, input, fp, seriesGroup, groups, steps, env);
  }
}

/**
 * The per-(group, step) accumulators of the value aggregations (sum, avg, count, min, max, group, stddev,
 * stdvar, quantile), fed one series at a time: an input can be streamed through it (a range function's
 * series, each evaluated into one reused buffer) instead of being held whole. Groups are numbered from 0 in
 * order of first appearance; `reserve` makes room for more as they appear.
 */
export class ValueAggregation {
  private readonly op: AggregateExpr['op'];
  private readonly pos: AggregateExpr['pos'];
  private readonly n: number;
  private cap = 0;
  private value = new Float64Array(0);
  private comp = new Float64Array(0);
  private mean = new Float64Array(0);
  private count = new Float64Array(0);
  private seen = new Uint8Array(0);
  // Bit flags: 1 hasFloat, 2 hasHist, 4 incompatible, 8 incremental mean, 16 reset seen, 32 not-reset seen.
  private flags = new Uint8Array(0);
  private dropName = new Uint8Array(0);
  private hists: (HistogramMean | undefined)[] | undefined;
  private heaps: number[][] | undefined;

  constructor(
    private readonly e: AggregateExpr,
    private readonly fp: Float64Array | undefined,
    steps: Steps,
    private readonly env: EvalEnv,
  ) {
    this.op = e.op;
    this.pos = e.expr.pos;
    this.n = steps.n;
    if (this.op === 'quantile') {
      const { anyNaN, max, min } = paramRange(fp!);
      const ppos = e.param!.pos;
      if (anyNaN) env.annos.warn(`quantile value should be between 0 and 1, got NaN`, ppos);
      if (max > 1) env.annos.warn(`quantile value should be between 0 and 1, got ${goFloatG(max)}`, ppos);
      if (min < 0) env.annos.warn(`quantile value should be between 0 and 1, got ${goFloatG(min)}`, ppos);
      this.heaps = [];
    }
  }

  /** Makes room for groups `[0, groups)`; the layout (`g * n + k`) stays, so reserving again keeps what was added. */
  reserve(groups: number): void {
    if (groups <= this.cap) return;
    const cap = Math.max(groups, this.cap * 2);
    const size = cap * this.n;
    const grow = <T extends Float64Array | Uint8Array>(a: T, make: (len: number) => T): T => {
      const b = make(size);
      b.set(a);
      return b;
    };
    this.value = grow(this.value, (l) => new Float64Array(l));
    this.comp = grow(this.comp, (l) => new Float64Array(l));
    this.mean = grow(this.mean, (l) => new Float64Array(l));
    this.count = grow(this.count, (l) => new Float64Array(l));
    this.seen = grow(this.seen, (l) => new Uint8Array(l));
    this.flags = grow(this.flags, (l) => new Uint8Array(l));
    this.dropName = grow(this.dropName, (l) => new Uint8Array(l));
    if (this.hists) this.hists.length = size;
    if (this.heaps) this.heaps.length = size;
    this.cap = cap;
  }

  /** Adds series `s` to group `g` (reserved), at steps `[kLo, kHi)` (where `s` may be present). */
  add(s: StepSeries, g: number, kLo = 0, kHi = this.n): void {
    const { op, pos, env, n, value, comp, mean, count, seen, flags, dropName, heaps } = this;
    let hists = this.hists;
    const base = g * n;
    const sDrop = s.dropName;
    for (let k = kLo; k < kHi; k++) {
      const p = s.pres[k]!;
      if (p === ABSENT) continue;
      const idx = base + k;
      const f = p === FLOAT ? s.vals[k]! : 0;
      const h = p === HIST ? s.hists![k]! : undefined;
      if (!seen[idx]) {
        seen[idx] = 1;
        value[idx] = f;
        mean[idx] = f;
        count[idx] = 1;
        comp[idx] = 0;
        flags[idx] = 0;
        dropName[idx] = sDrop ? 1 : 0;
        switch (op) {
          case 'sum':
          case 'avg':
            if (!h) flags[idx] |= 1;
            else {
              hists = this.hists ??= new Array<HistogramMean | undefined>(this.cap * n);
              const acc = new HistogramMean(op === 'avg');
              acc.add(h);
              hists[idx] = acc;
              flags[idx] |= 2;
            }
            break;
          case 'stddev':
          case 'stdvar':
            if (h) {
              seen[idx] = 0;
              env.annos.info(IGNORED_HIST(op), pos);
            } else if (!Number.isFinite(f)) value[idx] = NaN;
            else value[idx] = 0;
            break;
          case 'quantile':
            if (h) {
              seen[idx] = 0;
              env.annos.info(IGNORED_HIST('quantile'), pos);
            }
            heaps![idx] = [f];
            break;
          case 'group':
            value[idx] = 1;
            break;
          case 'min':
          case 'max':
            if (h) {
              seen[idx] = 0;
              env.annos.info(IGNORED_HIST(op), pos);
            }
            break;
          default:
            break;
        }
        continue;
      }
      if (flags[idx]! & 4) continue;
      if (sDrop) dropName[idx] = 1;
      switch (op) {
        case 'sum':
        case 'avg':
          if (h) {
            flags[idx]! |= 2;
            const acc = hists?.[idx];
            if (acc) {
              try {
                acc.add(h);
              } catch (err) {
                if (!(err instanceof IncompatibleSchemaError)) throw err;
                env.annos.warn(MIXED_EXP_CUSTOM(s.labels[METRIC_NAME_LABEL] ?? ''), pos);
                flags[idx]! |= 4;
              }
            }
            break;
          }
          flags[idx]! |= 1;
          if (op === 'sum') {
            const v = value[idx]!;
            comp[idx] = kahanComp(f, v, comp[idx]!);
            value[idx] = v + f;
            break;
          }
          {
            count[idx] = count[idx]! + 1;
            const c = count[idx];
            if (!(flags[idx]! & 8)) {
              const v = value[idx]!;
              const nv = v + f;
              if (nv !== Infinity && nv !== -Infinity) {
                comp[idx] = kahanComp(f, v, comp[idx]!);
                value[idx] = nv;
                break;
              }
              flags[idx]! |= 8;
              mean[idx] = value[idx]! / (c - 1);
              comp[idx] = comp[idx]! / (c - 1);
            }
            const q = (c - 1) / c;
            const inc = f / c;
            const m = q * mean[idx]!;
            comp[idx] = kahanComp(inc, m, q * comp[idx]!);
            mean[idx] = m + inc;
          }
          break;
        case 'group':
          break;
        case 'max':
          if (h) {
            env.annos.info(IGNORED_HIST('max'), pos);
            break;
          }
          if (value[idx]! < f || Number.isNaN(value[idx]!)) value[idx] = f;
          break;
        case 'min':
          if (h) {
            env.annos.info(IGNORED_HIST('min'), pos);
            break;
          }
          if (value[idx]! > f || Number.isNaN(value[idx]!)) value[idx] = f;
          break;
        case 'count':
          count[idx] = count[idx]! + 1;
          break;
        case 'stddev':
        case 'stdvar':
          if (!h) {
            count[idx] = count[idx]! + 1;
            const delta = f - mean[idx]!;
            mean[idx] = mean[idx]! + delta / count[idx];
            value[idx] = value[idx]! + delta * (f - mean[idx]);
          } else {
            env.annos.info(IGNORED_HIST(op), pos);
          }
          break;
        case 'quantile':
          if (h) {
            env.annos.info(IGNORED_HIST('quantile'), pos);
            break;
          }
          heaps![idx]!.push(f);
          break;
        default:
          throw new Error(`expected aggregation operator but got ${op}`);
      }
    }
  }

  /** The aggregated series of `groups` (group `g` is `groups[g]`), in group order, those with any value. */
  finish(groups: readonly Group[]): StepSeries[] {
    const { op, pos, env, n, e, value, comp, mean, count, seen, flags, dropName, hists, heaps, fp } = this;
    const G = groups.length;
    const out: StepSeries[] = [];
    for (let g = 0; g < G; g++) {
      const grp = groups[g]!;
      const series = newStepSeries(grp.labels, n);
      let any = false;
      let drop = false;
      for (let k = 0; k < n; k++) {
        const idx = g * n + k;
        if (!seen[idx]) continue;
        let f = value[idx]!;
        let h: FloatHistogram | undefined;
        const fl = flags[idx]!;
        switch (op) {
          case 'avg':
          case 'sum':
            if (fl & 1 && fl & 2) {
              env.annos.warn(MIXED_AGG, e.expr.pos);
              continue;
            }
            if (fl & 4) continue;
            if (fl & 2) {
              const acc = hists![idx]!;
              h = acc.result()!.compact();
              if (acc.reconciled) env.annos.info('mismatched custom buckets were reconciled during aggregation', pos);
              if (acc.counterResetSeen && acc.notCounterResetSeen) {
                env.annos.warn('conflicting counter resets during histogram aggregation', e.expr.pos);
              }
            } else if (op === 'avg') {
              f = fl & 8 ? mean[idx]! + comp[idx]! : value[idx]! / count[idx]! + comp[idx]! / count[idx]!;
            } else {
              f = value[idx]! + comp[idx]!;
            }
            break;
          case 'count':
            f = count[idx]!;
            break;
          case 'stdvar':
            f = value[idx]! / count[idx]!;
            break;
          case 'stddev':
            f = Math.sqrt(value[idx]! / count[idx]!);
            break;
          case 'quantile':
            f = quantile(fp![k]!, heaps![idx]!);
            break;
          default:
            break;
        }
        if (dropName[idx]) drop = true;
        any = true;
        if (h) setHist(series, k, h, n);
        else {
          series.vals[k] = f;
          series.pres[k] = FLOAT;
        }
      }
      if (any) {
        series.dropName = drop;
        out.push(series);
      }
    }
    return out;
  }
}

/** Whether a per-step parameter (k, q, ratio) is NaN at some step, and its largest and smallest other values. */
function paramRange(fp: Float64Array): { anyNaN: boolean; max: number; min: number } {
  let anyNaN = false;
  let max = -Infinity;
  let min = Infinity;
  for (let k = 0; k < fp.length; k++) {
    const v = fp[k]!;
    if (Number.isNaN(v)) anyNaN = true;
    else {
      if (v > max) max = v;
      if (v < min) min = v;
    }
  }
  return { anyNaN, max, min };
}

/** Aggregations `ValueAggregation` computes (the rest select series: topk, bottomk, limitk, limit_ratio; or count_values). */
export function isValueAggregation(op: AggregateExpr['op']): boolean {
  return op !== 'topk' && op !== 'bottomk' && op !== 'limitk' && op !== 'limit_ratio' && op !== 'count_values';
}

function aggregateValues(
  e: AggregateExpr,
  input: StepSeries[],
  fp: Float64Array | undefined,
  seriesGroup: Int32Array,
  groups: Group[],
  steps: Steps,
  env: EvalEnv,
): StepSeries[] {
  const agg = new ValueAggregation(e, fp, steps, env);
  agg.reserve(groups.length);
  for (let si = 0; si < input.length; si++) {
    if ((si & 1023) === 0) env.checkDeadline();
    agg.add(input[si]!, seriesGroup[si]!);
  }
  return agg.finish(groups);
}

/**
 * Checks topk/bottomk/limitk/limit_ratio's per-step parameter as Prometheus does (errors, annotations);
 * false when no step can select anything (the answer is empty).
 */
export function checkKParam(e: AggregateExpr, fp: Float64Array, env: EvalEnv): boolean {
  const { anyNaN, max, min } = paramRange(fp);
  if (e.op === 'limit_ratio') {
    if (max === 0 && min === 0) return false;
    if (anyNaN) throw execError('Ratio value is NaN');
    if (max > 1) env.annos.warn(`ratio value should be between -1 and 1, got ${goFloatG(max)}, capping to 1`, e.param!.pos);
    if (min < -1) env.annos.warn(`ratio value should be between -1 and 1, got ${goFloatG(min)}, capping to -1`, e.param!.pos);
    return true;
  }
  if (max < 1 && !anyNaN) return false;
  if (anyNaN) throw execError('Parameter value is NaN');
  if (min <= MIN_INT64) throw execError(`Scalar value ${goFloatG(min)} underflows int64`);
  if (max >= MAX_INT64) throw execError(`Scalar value ${goFloatG(max)} overflows int64`);
  return true;
}

/** Heap entries (groups × steps × k) topk/bottomk/limitk keep at once; more are processed in step chunks. */
export const MAX_K_HEAP_ENTRIES = 4_000_000;

/**
 * The per-(group, step) heaps of topk, bottomk and limitk over the steps [k0, k1), on parallel typed
 * arrays, with the exact sift order of Go's container/heap so that ties pick the same series as Prometheus.
 * Series are fed one at a time in input order (Prometheus visits them in that order at every step), so an
 * input can be streamed through (a range function's series, each evaluated into one reused buffer).
 */
export class KHeaps {
  private readonly top: boolean;
  private readonly isTopOrBottom: boolean;
  /** Heap capacity: k at its largest (at most the number of input series). */
  private readonly kCap: number;
  /** Per step, k (capped at the number of input series). */
  private readonly kAt: Int32Array;
  private readonly chunk: number;
  private heapIdx: Int32Array;
  private heapVal: Float64Array;
  private heapLen: Int32Array;

  /** `series`: how many input series there are (or at most). */
  constructor(
    op: AggregateExpr['op'],
    fp: Float64Array,
    series: number,
    numGroups: number,
    private readonly k0: number,
    private readonly k1: number,
  ) {
    this.top = op !== 'bottomk';
    this.isTopOrBottom = op === 'topk' || op === 'bottomk';
    const n = fp.length;
    const { max } = paramRange(fp);
    this.kCap = Math.max(1, Math.min(Math.trunc(max), series));
    this.kAt = new Int32Array(n);
    for (let k = 0; k < n; k++) this.kAt[k] = Math.min(Math.trunc(fp[k]!), series);
    this.chunk = k1 - k0;
    const slots = numGroups * this.chunk;
    this.heapIdx = new Int32Array(slots * this.kCap);
    this.heapVal = new Float64Array(slots * this.kCap);
    this.heapLen = new Int32Array(slots);
  }

  /** Step chunks of at most MAX_K_HEAP_ENTRIES heap entries for `numGroups` groups. */
  static chunkSteps(fp: Float64Array, series: number, numGroups: number): number {
    const kCap = Math.max(1, Math.min(Math.trunc(paramRange(fp).max), series));
    return Math.max(1, Math.min(fp.length, Math.floor(MAX_K_HEAP_ENTRIES / (numGroups * kCap))));
  }

  /**
   * Offers series `si` (of group `group`) at its present steps in [kLo, kHi) ∩ [k0, k1). True when topk or
   * bottomk skipped a histogram (the caller annotates).
   */
  add(si: number, group: number, pres: Uint8Array, vals: Float64Array, kLo = this.k0, kHi = this.k1): boolean {
    const { top, kCap, kAt, heapIdx, heapVal, heapLen } = this;
    const gslot = group * this.chunk - this.k0;
    const from = Math.max(kLo, this.k0);
    const to = Math.min(kHi, this.k1);
    let skippedHist = false;
    for (let k = from; k < to; k++) {
      const pr = pres[k]!;
      if (pr === ABSENT) continue;
      const kk = kAt[k]!;
      if (kk < 1) continue;
      const slot = gslot + k;
      const base = slot * kCap;
      const len = heapLen[slot]!;
      if (this.isTopOrBottom) {
        if (pr === HIST) {
          skippedHist = true;
          continue;
        }
        const v = vals[k]!;
        if (len < kk) {
          heapIdx[base + len] = si;
          heapVal[base + len] = v;
          heapLen[slot] = len + 1;
          this.up(base, len);
        } else {
          const t = heapVal[base]!;
          const replace = top ? t < v || (t !== t && v === v) : t > v || (t !== t && v === v);
          if (replace) {
            heapIdx[base] = si;
            heapVal[base] = v;
            if (kk > 1 && !this.down(base, 0, len)) this.up(base, 0);
          }
        }
      } else if (len < kk) {
        heapIdx[base + len] = si;
        heapVal[base + len] = pr === HIST ? 0 : vals[k]!;
        heapLen[slot] = len + 1;
        this.up(base, len);
      }
    }
    return skippedHist;
  }

  /**
   * Hands every kept (series, step, value) to `emit`, step by step, group by group; for an instant query
   * (`sorted`) each heap in value order (Prometheus returns topk/bottomk sorted; range results are sorted by
   * labels anyway).
   */
  emit(numGroups: number, sorted: boolean, emit: (si: number, k: number, value: number) => void): void {
    const { kCap, heapIdx, heapVal, heapLen } = this;
    for (let k = this.k0; k < this.k1; k++) {
      for (let g = 0; g < numGroups; g++) {
        const slot = g * this.chunk + (k - this.k0);
        const len = heapLen[slot]!;
        if (len === 0) continue;
        const base = slot * kCap;
        const items: number[] = [];
        for (let i = 0; i < len; i++) items.push(i);
        if (sorted) {
          items.sort((a, b) => {
            const va = heapVal[base + a]!;
            const vb = heapVal[base + b]!;
            return this.less(vb, va) ? -1 : this.less(va, vb) ? 1 : 0;
          });
        }
        for (const i of items) emit(heapIdx[base + i]!, k, heapVal[base + i]!);
      }
    }
  }

  private less(a: number, b: number): boolean {
    return this.top ? a !== a || a < b : a !== a || a > b;
  }

  private swap(base: number, i: number, j: number): void {
    const { heapIdx, heapVal } = this;
    const ti = heapIdx[base + i]!;
    heapIdx[base + i] = heapIdx[base + j]!;
    heapIdx[base + j] = ti;
    const tv = heapVal[base + i]!;
    heapVal[base + i] = heapVal[base + j]!;
    heapVal[base + j] = tv;
  }

  private up(base: number, j0: number): void {
    const { heapVal } = this;
    let j = j0;
    while (j > 0) {
      const i = (j - 1) >> 1;
      if (!this.less(heapVal[base + j]!, heapVal[base + i]!)) break;
      this.swap(base, i, j);
      j = i;
    }
  }

  private down(base: number, i0: number, n0: number): boolean {
    const { heapVal } = this;
    let i = i0;
    for (;;) {
      const j1 = 2 * i + 1;
      if (j1 >= n0) break;
      let j = j1;
      const j2 = j1 + 1;
      if (j2 < n0 && this.less(heapVal[base + j2]!, heapVal[base + j1]!)) j = j2;
      if (!this.less(heapVal[base + j]!, heapVal[base + i]!)) break;
      this.swap(base, i, j);
      i = j;
    }
    return i > i0;
  }
}

function aggregateK(
  e: AggregateExpr,
  input: StepSeries[],
  fp: Float64Array,
  seriesGroup: Int32Array,
  numGroups: number,
  steps: Steps,
  env: EvalEnv,
): StepSeries[] {
  const op = e.op;
  const n = steps.n;
  if (!checkKParam(e, fp, env)) return [];
  // Output: one series per selected input series; values where selected.
  const outBySeries = new Map<number, StepSeries>();
  const order: number[] = [];
  const emit = (si: number, k: number): void => {
    let o = outBySeries.get(si);
    if (!o) {
      const src = input[si]!;
      o = newStepSeries(src.labels, n, src.dropName);
      outBySeries.set(si, o);
      order.push(si);
    }
    const src = input[si]!;
    if (src.pres[k] === HIST) setHist(o, k, src.hists![k]!, n);
    else {
      o.vals[k] = src.vals[k]!;
      o.pres[k] = FLOAT;
    }
  };
  if (op === 'limit_ratio') {
    const ratioOffsets = input.map((x) => ratioOffset(x.labels));
    for (let k = 0; k < n; k++) {
      const p = fp[k]!;
      if (p === 0) continue;
      const r = p < -1 ? -1 : p > 1 ? 1 : p;
      for (let si = 0; si < input.length; si++) {
        if (input[si]!.pres[k] === ABSENT) continue;
        const offset = ratioOffsets[si]!;
        if ((r >= 0 && offset < r) || (r < 0 && offset >= 1 + r)) emit(si, k);
      }
    }
    return order.map((si) => outBySeries.get(si)!);
  }
  // Steps are processed in chunks so the heaps stay within MAX_K_HEAP_ENTRIES; the loop runs series-major
  // for memory locality.
  const chunk = KHeaps.chunkSteps(fp, input.length, numGroups);
  for (let k0 = 0; k0 < n; k0 += chunk) {
    const heaps = new KHeaps(op, fp, input.length, numGroups, k0, Math.min(n, k0 + chunk));
    for (let si = 0; si < input.length; si++) {
      if ((si & 1023) === 0) env.checkDeadline();
      const s = input[si]!;
      if (heaps.add(si, seriesGroup[si]!, s.pres, s.vals)) env.annos.info(IGNORED_HIST(op), e.pos);
    }
    heaps.emit(numGroups, n === 1 && op !== 'limitk', emit);
  }
  return order.map((si) => outBySeries.get(si)!);
}

/** A deterministic offset in [0, 1) per label set, for `limit_ratio` (FNV-1a 64 over the canonical form). */
function ratioOffset(labels: Labels): number {
  const key = keyOf(labels);
  let h = 0xcbf29ce484222325n;
  const prime = 0x100000001b3n;
  const mask = 0xffffffffffffffffn;
  for (let i = 0; i < key.length; i++) {
    h ^= BigInt(key.charCodeAt(i));
    h = (h * prime) & mask;
  }
  return Number(h) / 2 ** 64;
}

/** Bytes of the value label a count_values output series carries. */
function valueLabelBytes(labels: Labels, valueLabel: string): number {
  return labels[valueLabel]?.length ?? 0;
}

function countValues(
  e: AggregateExpr,
  input: StepSeries[],
  p: StringParam,
  grouping: string[],
  steps: Steps,
  env: EvalEnv,
): StepSeries[] {
  const valueLabel = p.value;
  if (!isValidLabelName(valueLabel, p.raw !== undefined)) {
    throw execError(`invalid label name ${quoteGo(valueLabel, p.raw)}`);
  }
  let g = grouping;
  if (!e.without) g = [...grouping, valueLabel].sort();
  const n = steps.n;
  const out = new Map<string, StepSeries>();
  const order: StepSeries[] = [];
  // Every output series holds a slot per step, so each new one is charged its whole grid while the
  // output grows (distinct values × steps is what an abusive count_values allocates).
  let held = 0;
  for (let k = 0; k < n; k++) {
    const counts = new Map<string, { labels: Labels; count: number }>();
    for (let si = 0; si < input.length; si++) {
      if ((si & 1023) === 0) env.checkDeadline();
      const s = input[si]!;
      const pr = s.pres[k]!;
      if (pr === ABSENT) continue;
      const v = pr === HIST ? s.hists![k]!.toString() : formatFloatPlain(s.vals[k]!);
      const metric = { ...s.labels, [valueLabel]: v };
      const gl = groupingLabels(metric, g, e.without);
      const key = keyOf(gl);
      const c = counts.get(key);
      if (c) c.count++;
      else counts.set(key, { labels: gl, count: 1 });
    }
    for (const [key, c] of counts) {
      let series = out.get(key);
      if (!series) {
        env.track(n);
        env.trackLabelBytes(valueLabelBytes(c.labels, valueLabel));
        held += n;
        series = newStepSeries(c.labels, n);
        out.set(key, series);
        order.push(series);
      }
      series.vals[k] = c.count;
      series.pres[k] = FLOAT;
    }
  }
  // The caller accounts the output's points; the slots charged above were its provisional size.
  env.release(held);
  return order;
}
