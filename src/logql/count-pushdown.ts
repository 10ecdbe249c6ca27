import type { Labels } from '../model/index.ts';
import type { SampleExpr } from './ast.ts';
import { seriesLimitError } from './evaluation-errors.ts';
import type { EvalContext } from './evaluator.ts';
import { labelsSetKey } from './pipeline.ts';
import { gcd, MAX_PUSHDOWN_BUCKETS } from './range-aggregation.ts';
import { reduceLabels } from './series-grouping.ts';
import { asLogqlRegexpError, planPushdown } from './source.ts';
import { newStepSeries, stepAt } from './step-series.ts';
import type { StepSeries } from './step-series.ts';

const COUNTABLE = new Set(['count_over_time', 'rate', 'bytes_over_time', 'bytes_rate']);

/**
 * `sum [by (...)] (count_over_time|rate|bytes_over_time|bytes_rate(<selector> <line filters> [r]))` computed
 * from storage's per-stream bucket counts instead of shipping every line. Exact because the sum folds away
 * the structured-metadata split that a per-line evaluation would make, provided every `by` label is a stream
 * label of every counted stream (otherwise, and whenever storage lacks `counts`, it returns undefined and
 * the caller evaluates normally).
 */
export async function sumOfCountsPushdown(ctx: EvalContext, e: Extract<SampleExpr, { kind: 'vectorAgg' }>): Promise<StepSeries[] | undefined> {
  const inner = e.inner;
  if (inner.kind !== 'rangeAgg' || !COUNTABLE.has(inner.op) || inner.range.unwrap || inner.grouping) return undefined;
  if (e.grouping?.without) return undefined;
  const plan = planPushdown(inner.range.selector.stages);
  if (plan.rest.length > 0) return undefined;
  const { grid } = ctx;
  const rangeNs = BigInt(Math.round(inner.range.rangeNs));
  const offsetNs = BigInt(Math.round(inner.range.offsetNs));
  if (rangeNs <= 0n) return undefined;
  const width = grid.count > 1 ? gcd(grid.stepNs, rangeNs) : rangeNs;
  const origin = stepAt(grid, 0) - offsetNs - rangeNs;
  const spanNs = stepAt(grid, grid.count - 1) - stepAt(grid, 0) + rangeNs;
  const buckets = Number(spanNs / width);
  if (buckets > MAX_PUSHDOWN_BUCKETS) return undefined;
  const byLabels = e.grouping?.labels ?? [];
  const bytes = inner.op === 'bytes_over_time' || inner.op === 'bytes_rate';
  const perSecond = inner.op === 'rate' || inner.op === 'bytes_rate';
  const rangeSec = inner.range.rangeNs / 1e9;
  const stepBuckets = grid.count > 1 ? Number(grid.stepNs / width) : 0;
  const windowBuckets = Number(rangeNs / width);
  const groups = new Map<string, { labels: Labels; prefix: Float64Array; any: Float64Array }>();
  // One querier over every tenant of the request: the queryable federates and labels `__tenant_id__`.
  const matchers = inner.range.selector.matchers;
  {
    const q = await ctx.queryable.querier(ctx.tenants);
    try {
      if (!q.counts) return undefined;
      const rows = await q.counts({ matchers, lineFilters: plan.lineFilters, startNs: origin, endNs: origin + spanNs, stepNs: width, groupBy: byLabels, signal: ctx.signal });
      for (const r of rows) {
        const labels = r.labels;
        if (byLabels.some((l) => !Object.hasOwn(labels, l))) return undefined;
        const reduced = reduceLabels(labels, e.grouping ?? { without: false, labels: [] });
        const key = labelsSetKey(reduced);
        let g = groups.get(key);
        if (!g) {
          if (groups.size >= ctx.limits.maxSeries) throw seriesLimitError(ctx.limits.maxSeries);
          g = { labels: reduced, prefix: new Float64Array(buckets + 1), any: new Float64Array(buckets + 1) };
          groups.set(key, g);
        }
        const src = bytes ? r.bytes : r.counts;
        for (let k = 0; k < buckets && k < src.length; k++) {
          // k + 1 <= buckets, the prefix arrays' last index; counts and bytes have src's length.
          const count = r.counts[k]!;
          g.prefix[k + 1]! += src[k]!;
          g.any[k + 1]! += count;
          ctx.stats.linesProcessed += count;
          ctx.stats.bytesProcessed += r.bytes[k]!;
        }
      }
    } catch (err) {
      throw asLogqlRegexpError(err);
    } finally {
      await q.close();
    }
  }
  const out: StepSeries[] = [];
  for (const g of groups.values()) {
    for (let k = 1; k <= buckets; k++) {
      g.prefix[k]! += g.prefix[k - 1]!; // 1 <= k <= buckets
      g.any[k]! += g.any[k - 1]!;
    }
    const s = newStepSeries(g.labels, grid.count);
    let present = false;
    for (let i = 0; i < grid.count; i++) {
      const lo = i * stepBuckets;
      const hi = lo + windowBuckets;
      if (g.any[hi]! - g.any[lo]! === 0) continue; // hi <= buckets by the bucketing's construction
      const v = g.prefix[hi]! - g.prefix[lo]!;
      s.values[i] = perSecond ? v / rangeSec : v;
      s.present[i] = 1;
      present = true;
    }
    if (present) out.push(s);
  }
  ctx.stats.postFilterLines = ctx.stats.linesProcessed;
  return out;
}
