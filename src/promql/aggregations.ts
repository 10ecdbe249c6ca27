import { METRIC_NAME_LABEL } from '../model/index.ts';
import type { Labels } from '../model/index.ts';
import type { AggregateExpr } from './ast.ts';
import type { EvalEnv, Steps } from './env.ts';
import { execError } from './errors.ts';
import { GoHeap } from './go-heap.ts';
import { IncompatibleSchemaError } from './histogram.ts';
import type { FloatHistogram } from './histogram.ts';
import { goQuote } from './literals.ts';
import { quantile } from './quantile.ts';
import { HistogramMean, goFloatG, kahanInc } from './range-functions.ts';
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

const IGNORED_HIST = (agg: string): string => `ignored histogram in ${agg} aggregation`;
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
    return countValues(e, input, p, grouping, steps);
  }
  const fp = param instanceof Float64Array ? param : undefined;
  // Map input series to groups, in order of first appearance.
  const groupIndex = new Map<string, number>();
  const groups: Group[] = [];
  const seriesGroup = new Int32Array(input.length);
  for (let si = 0; si < input.length; si++) {
    const s = input[si]!;
    const gl = groupingLabels(s.labels, grouping, e.without);
    const key = keyOf(gl);
    let gi = groupIndex.get(key);
    if (gi === undefined) {
      gi = groups.length;
      groupIndex.set(key, gi);
      groups.push({ labels: gl, dropName: false });
    }
    seriesGroup[si] = gi;
  }
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

function aggregateValues(
  e: AggregateExpr,
  input: StepSeries[],
  fp: Float64Array | undefined,
  seriesGroup: Int32Array,
  groups: Group[],
  steps: Steps,
  env: EvalEnv,
): StepSeries[] {
  const n = steps.n;
  const G = groups.length;
  const size = G * n;
  const op = e.op;
  const pos = e.expr.pos;
  const value = new Float64Array(size);
  const comp = new Float64Array(size);
  const mean = new Float64Array(size);
  const count = new Float64Array(size);
  const seen = new Uint8Array(size);
  // Bit flags: 1 hasFloat, 2 hasHist, 4 incompatible, 8 incremental mean, 16 reset seen, 32 not-reset seen.
  const flags = new Uint8Array(size);
  const dropName = new Uint8Array(size);
  let hists: (HistogramMean | undefined)[] | undefined;
  let heaps: number[][] | undefined;
  if (op === 'quantile') {
    const q = fp!;
    let anyNaN = false;
    let max = -Infinity;
    let min = Infinity;
    for (let k = 0; k < q.length; k++) {
      const v = q[k]!;
      if (Number.isNaN(v)) anyNaN = true;
      else {
        if (v > max) max = v;
        if (v < min) min = v;
      }
    }
    const ppos = e.param!.pos;
    if (anyNaN) env.annos.warn(`quantile value should be between 0 and 1, got NaN`, ppos);
    if (max > 1) env.annos.warn(`quantile value should be between 0 and 1, got ${goFloatG(max)}`, ppos);
    if (min < 0) env.annos.warn(`quantile value should be between 0 and 1, got ${goFloatG(min)}`, ppos);
    heaps = new Array<number[]>(size);
  }
  for (let si = 0; si < input.length; si++) {
    if ((si & 1023) === 0) env.checkDeadline();
    const s = input[si]!;
    const g = seriesGroup[si]!;
    const base = g * n;
    const sDrop = s.dropName;
    for (let k = 0; k < n; k++) {
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
              hists ??= new Array<HistogramMean | undefined>(size);
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
            flags[idx] |= 2;
            const acc = hists?.[idx];
            if (acc) {
              try {
                acc.add(h);
              } catch (err) {
                if (!(err instanceof IncompatibleSchemaError)) throw err;
                env.annos.warn(MIXED_EXP_CUSTOM(s.labels[METRIC_NAME_LABEL] ?? ''), pos);
                flags[idx] |= 4;
              }
            }
            break;
          }
          flags[idx] |= 1;
          if (op === 'sum') {
            [value[idx], comp[idx]] = kahanInc(f, value[idx]!, comp[idx]!);
            break;
          }
          {
            count[idx] = count[idx]! + 1;
            const c = count[idx]!;
            if (!(flags[idx]! & 8)) {
              const [nv, nc] = kahanInc(f, value[idx]!, comp[idx]!);
              if (nv !== Infinity && nv !== -Infinity) {
                value[idx] = nv;
                comp[idx] = nc;
                break;
              }
              flags[idx] |= 8;
              mean[idx] = value[idx]! / (c - 1);
              comp[idx] = comp[idx]! / (c - 1);
            }
            const q = (c - 1) / c;
            [mean[idx], comp[idx]] = kahanInc(f / c, q * mean[idx]!, q * comp[idx]!);
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
            mean[idx] = mean[idx]! + delta / count[idx]!;
            value[idx] = value[idx]! + delta * (f - mean[idx]!);
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

interface KEntry {
  si: number;
  f: number;
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
  if (op === 'limit_ratio') {
    if (max === 0 && min === 0) return [];
    if (anyNaN) throw execError('Ratio value is NaN');
    if (max > 1) env.annos.warn(`ratio value should be between -1 and 1, got ${goFloatG(max)}, capping to 1`, e.param!.pos);
    if (min < -1) env.annos.warn(`ratio value should be between -1 and 1, got ${goFloatG(min)}, capping to -1`, e.param!.pos);
  } else {
    if (max < 1 && !anyNaN) return [];
    if (anyNaN) throw execError('Parameter value is NaN');
    if (min <= MIN_INT64) throw execError(`Scalar value ${goFloatG(min)} underflows int64`);
    if (max >= MAX_INT64) throw execError(`Scalar value ${goFloatG(max)} overflows int64`);
  }
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
  const lessTop = (a: KEntry, b: KEntry): boolean => Number.isNaN(a.f) || a.f < b.f;
  const lessBottom = (a: KEntry, b: KEntry): boolean => Number.isNaN(a.f) || a.f > b.f;
  for (let k = 0; k < n; k++) {
    if ((k & 255) === 0) env.checkDeadline();
    const p = fp[k]!;
    let kk = 0;
    let r = 0;
    if (op === 'limit_ratio') {
      if (p === 0) continue;
      r = p < -1 ? -1 : p > 1 ? 1 : p;
    } else {
      kk = Math.min(Math.trunc(p), input.length);
      if (kk < 1) continue;
    }
    const heaps = new Array<GoHeap<KEntry> | undefined>(numGroups);
    const entries = new Array<KEntry[] | undefined>(numGroups);
    for (let si = 0; si < input.length; si++) {
      const s = input[si]!;
      const pr = s.pres[k]!;
      if (pr === ABSENT) continue;
      const g = seriesGroup[si]!;
      const isHist = pr === HIST;
      const entry: KEntry = { si, f: isHist ? 0 : s.vals[k]! };
      if (op === 'topk' || op === 'bottomk') {
        if (isHist) {
          env.annos.info(IGNORED_HIST(op), e.pos);
          continue;
        }
        let heap = heaps[g];
        if (!heap) {
          heap = new GoHeap<KEntry>(op === 'topk' ? lessTop : lessBottom);
          heaps[g] = heap;
        }
        if (heap.length < kk) heap.push(entry);
        else {
          const top = heap.items[0]!;
          const replace =
            op === 'topk'
              ? top.f < entry.f || (Number.isNaN(top.f) && !Number.isNaN(entry.f))
              : top.f > entry.f || (Number.isNaN(top.f) && !Number.isNaN(entry.f));
          if (replace) {
            heap.items[0] = entry;
            if (kk > 1) heap.fix(0);
          }
        }
      } else if (op === 'limitk') {
        let heap = heaps[g];
        if (!heap) {
          heap = new GoHeap<KEntry>(lessTop);
          heaps[g] = heap;
        }
        if (heap.length < kk) heap.push(entry);
      } else {
        const offset = ratioOffset(s.labels);
        if ((r >= 0 && offset < r) || (r < 0 && offset >= 1 + r)) {
          let list = entries[g];
          if (!list) {
            list = [];
            entries[g] = list;
          }
          list.push(entry);
        }
      }
    }
    for (let g = 0; g < numGroups; g++) {
      if (op === 'limit_ratio') {
        for (const en of entries[g] ?? []) emit(en.si, k);
        continue;
      }
      const heap = heaps[g];
      if (!heap) continue;
      const items = heap.items.slice();
      if (op === 'topk') stableSort(items, (a, b) => lessTop(b, a));
      else if (op === 'bottomk') stableSort(items, (a, b) => lessBottom(b, a));
      for (const en of items) emit(en.si, k);
    }
  }
  return order.map((si) => outBySeries.get(si)!);
}

function stableSort<T>(items: T[], less: (a: T, b: T) => boolean): void {
  items.sort((a, b) => (less(a, b) ? -1 : less(b, a) ? 1 : 0));
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

function countValues(
  e: AggregateExpr,
  input: StepSeries[],
  p: StringParam,
  grouping: string[],
  steps: Steps,
): StepSeries[] {
  const valueLabel = p.value;
  if (!isValidLabelName(valueLabel, p.raw !== undefined)) {
    throw execError(`invalid label name ${goQuote(valueLabel, p.raw)}`);
  }
  let g = grouping;
  if (!e.without) g = [...grouping, valueLabel].sort();
  const n = steps.n;
  const out = new Map<string, StepSeries>();
  const order: StepSeries[] = [];
  for (let k = 0; k < n; k++) {
    const counts = new Map<string, { labels: Labels; count: number }>();
    for (const s of input) {
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
        series = newStepSeries(c.labels, n);
        out.set(key, series);
        order.push(series);
      }
      series.vals[k] = c.count;
      series.pres[k] = FLOAT;
    }
  }
  return order;
}
