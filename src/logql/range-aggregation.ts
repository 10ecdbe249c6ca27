import { compareStrings } from '../model/index.ts';
import type { Labels } from '../model/index.ts';
import type { LogRange, SampleExpr } from './ast.ts';
import { pipelineError, seriesLimitError } from './evaluation-errors.ts';
import type { EvalContext } from './evaluator.ts';
import { windowFunction } from './range-functions.ts';
import { extract } from './sample-extraction.ts';
import type { Bucketing } from './sample-extraction.ts';
import { newStepSeries, stepAt } from './step-series.ts';
import type { StepSeries } from './step-series.ts';

/** Index of the first element of sorted `a` that is > x. */
function upperBound(a: number[], x: number, from = 0): number {
  let lo = from;
  let hi = a.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (a[mid]! <= x) lo = mid + 1; // lo <= mid < hi <= length
    else hi = mid;
  }
  return lo;
}

/** Range aggregations whose sum over a group equals the aggregation over the group's merged samples. */
export const ADDITIVE = new Set(['count_over_time', 'rate', 'bytes_over_time', 'bytes_rate', 'sum_over_time']);
/** Buckets per stream above which the pushed-down count would cost more than it saves. */
export const MAX_PUSHDOWN_BUCKETS = 100_000;

export function gcd(a: bigint, b: bigint): bigint {
  while (b !== 0n) [a, b] = [b, a % b];
  return a;
}

/** A range aggregation (`count_over_time`, `rate`, `quantile_over_time`, ...) evaluated at every step of the grid. */
export async function rangeAggregation(ctx: EvalContext, e: Extract<SampleExpr, { kind: 'rangeAgg' }>): Promise<StepSeries[]> {
  const { grid } = ctx;
  const { range } = e;
  const rangeNs = BigInt(Math.round(range.rangeNs));
  const offsetNs = BigInt(Math.round(range.offsetNs));
  const firstEnd = stepAt(grid, 0) - offsetNs;
  const lastEnd = stepAt(grid, grid.count - 1) - offsetNs;
  const baseNs = firstEnd - rangeNs;
  const mode = e.op === 'bytes_over_time' || e.op === 'bytes_rate' ? 'bytes' : range.unwrap ? 'unwrap' : 'count';
  const absent = e.op === 'absent_over_time';
  let bucketing: (Bucketing & { stepBuckets: number; windowBuckets: number }) | undefined;
  if (ADDITIVE.has(e.op) && rangeNs > 0n) {
    const width = grid.count > 1 ? gcd(grid.stepNs, rangeNs) : rangeNs;
    const count = Number((lastEnd - baseNs) / width);
    if (count <= MAX_PUSHDOWN_BUCKETS) {
      bucketing = { widthNs: Number(width), count, stepBuckets: grid.count > 1 ? Number(grid.stepNs / width) : 0, windowBuckets: Number(rangeNs / width) };
    }
  }
  const ex = await extract(ctx, range, mode, e.grouping, baseNs, baseNs + 1n, lastEnd + 1n, absent, bucketing);
  const rangeSec = range.rangeNs / 1e9;
  const fn = windowFunction(e.op, rangeSec, e.param, range.unwrap !== undefined);
  const windows: [number, number][] = [];
  for (let i = 0; i < grid.count; i++) {
    const end = Number(stepAt(grid, i) - offsetNs - baseNs);
    windows.push([end - range.rangeNs, end]);
  }
  // A sample with __error__ inside an evaluated window fails the query.
  for (const es of ex.errors) {
    es.ts.sort((a, b) => a - b);
    for (const [ws, we] of windows) {
      const next = es.ts[upperBound(es.ts, ws)];
      if (next !== undefined && next <= we) throw pipelineError(es.labels);
    }
  }
  if (absent) {
    const s = newStepSeries(absentLabels(range), grid.count);
    let any = false;
    for (const [i, [ws, we]] of windows.entries()) {
      const next = ex.all[upperBound(ex.all, ws)];
      if (!(next !== undefined && next <= we)) {
        s.values[i] = 1;
        s.present[i] = 1;
        any = true;
      }
    }
    return any ? [s] : [];
  }
  const out: StepSeries[] = [];
  if (bucketing) {
    const perSecond = e.op === 'rate' || e.op === 'bytes_rate';
    for (const col of ex.columns) {
    ctx.budget.tick();
      ctx.budget.tick();
      const counts = prefixSums(col.counts!);
      // Prefix differences of sums turn ±Inf into NaN; sum such windows bucket by bucket instead.
      const finite = col.sums!.every((v) => Number.isFinite(v));
      const sums = finite ? prefixSums(col.sums!) : undefined;
      ctx.budget.hold(grid.count);
      const s = newStepSeries(col.labels, grid.count);
      let any = false;
      for (let i = 0; i < grid.count; i++) {
        const lo = i * bucketing.stepBuckets;
        const hi = lo + bucketing.windowBuckets;
        // hi <= bucketing.count, the length of every bucket column; the prefix sums have one more.
        const n = counts[hi]! - counts[lo]!;
        if (n === 0) continue;
        let v: number;
        if (e.op === 'count_over_time' || (e.op === 'rate' && !range.unwrap)) v = n;
        else if (sums) v = sums[hi]! - sums[lo]!;
        else {
          v = 0;
          for (let k = lo; k < hi; k++) if (col.counts![k]! > 0) v += col.sums![k]!;
        }
        s.values[i] = perSecond ? v / rangeSec : v;
        s.present[i] = 1;
        any = true;
      }
      if (any) out.push(s);
    }
    if (out.length > ctx.limits.maxSeries) throw seriesLimitError(ctx.limits.maxSeries);
    return out;
  }
  for (const col of ex.columns) {
    ctx.budget.tick();
    ctx.budget.hold(grid.count);
    const s = newStepSeries(col.labels, grid.count);
    let any = false;
    let lo = 0;
    let hi = 0;
    for (const [i, [ws, we]] of windows.entries()) {
      // Windows move forward with the steps, so both bounds only advance.
      while ((col.ts[lo] ?? Infinity) <= ws) lo++;
      if (hi < lo) hi = lo;
      while ((col.ts[hi] ?? Infinity) <= we) hi++;
      if (hi === lo) continue;
      const v = fn(col, lo, hi, ws, we);
      if (v === undefined) continue;
      s.values[i] = v;
      s.present[i] = 1;
      any = true;
    }
    if (any) out.push(s);
  }
  if (out.length > ctx.limits.maxSeries) throw seriesLimitError(ctx.limits.maxSeries);
  return out;
}

/** Prefix sums with a leading 0: `p[hi] - p[lo]` is the sum of `a[lo..hi-1]`. */
function prefixSums(a: Float64Array): Float64Array {
  const p = new Float64Array(a.length + 1);
  for (let k = 0; k < a.length; k++) p[k + 1] = p[k]! + a[k]!; // k < a.length < p.length
  return p;
}

/** absent_over_time's labels: the selector's equality matchers (a name used twice is left out). */
function absentLabels(range: LogRange): Labels {
  const counts = new Map<string, number>();
  for (const m of range.selector.matchers) counts.set(m.name, (counts.get(m.name) ?? 0) + 1);
  const out: [string, string][] = [];
  for (const m of range.selector.matchers) {
    if (m.op === '=' && counts.get(m.name) === 1) out.push([m.name, m.value]);
  }
  return Object.fromEntries(out.sort(([a], [b]) => compareStrings(a, b)));
}
