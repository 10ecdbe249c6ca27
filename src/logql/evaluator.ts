import { RE2JS } from 're2js';
import { TENANT_ID_LABEL, compileAnchoredRegex, compareStrings, labelsKey } from '../model/index.ts';
import type { Labels, TenantId } from '../model/index.ts';
import { labelForTenant, partitionTenantMatchers } from '../storage/index.ts';
import type { LogQueryable } from '../storage/index.ts';
import type { BinaryOp, Grouping, LabelFilterExpr, LogRange, SampleExpr, VectorMatching } from './ast.ts';
import { LogqlError } from './errors.ts';
import { foldScalar } from './parser.ts';
import { compileLabelFilter, compilePipeline, ERROR_LABEL, LabelsBuilder, labelsSetKey, lineBytes } from './pipeline.ts';
import type { EntryState } from './pipeline.ts';
import { windowFunction } from './range-functions.ts';
import type { SampleColumn } from './range-functions.ts';
import { planPushdown, readTenants } from './source.ts';
import type { QueryStats } from './source.ts';
import { newStepSeries, stepAt } from './step-series.ts';
import type { EvalValue, StepGrid, StepSeries } from './step-series.ts';
import { expandReplacement } from './template-functions.ts';
import { parseGoDuration, parseGoFloat, parseHumanBytes } from './units.ts';

/** Limits a metric evaluation enforces. */
export interface EvalLimits {
  /** Series any intermediate result may hold (memory bound). */
  readonly maxSeries: number;
  /** Samples extracted from log lines per query (memory bound). */
  readonly maxSamples: number;
}

export interface EvalContext {
  readonly queryable: LogQueryable;
  readonly tenants: readonly TenantId[];
  readonly grid: StepGrid;
  readonly limits: EvalLimits;
  readonly stats: QueryStats;
  readonly signal?: AbortSignal;
}

/** Evaluates a metric expression over the grid. */
export async function evaluate(ctx: EvalContext, e: SampleExpr): Promise<EvalValue> {
  switch (e.kind) {
    case 'literal':
      return { kind: 'scalar', value: e.value };
    case 'vector': {
      const s = newStepSeries({}, ctx.grid.count);
      s.values.fill(e.value);
      s.present.fill(1);
      return { kind: 'vector', series: [s] };
    }
    case 'rangeAgg':
      return { kind: 'vector', series: await rangeAggregation(ctx, e) };
    case 'vectorAgg': {
      if (e.op === 'sum') {
        const pushed = await sumOfCountsPushdown(ctx, e);
        if (pushed) return { kind: 'vector', series: pushed };
        const inner = e.inner;
        if (inner.kind === 'rangeAgg' && ADDITIVE.has(inner.op) && !inner.grouping) {
          // sum by (L) of an additive range aggregation equals the aggregation grouped by L at extraction:
          // it never materialises one series per distinct parsed label set.
          const grouped = await rangeAggregation(ctx, { ...inner, grouping: e.grouping ?? { without: false, labels: [] } });
          return { kind: 'vector', series: vectorAggregation('sum', undefined, e.grouping, grouped, ctx.grid.count) };
        }
      }
      const inner = await evaluate(ctx, e.inner);
      return { kind: 'vector', series: vectorAggregation(e.op, e.param, e.grouping, asVector(inner, ctx.grid), ctx.grid.count) };
    }
    case 'labelReplace': {
      const inner = await evaluate(ctx, e.inner);
      return { kind: 'vector', series: labelReplace(asVector(inner, ctx.grid), e.dst, e.replacement, e.src, e.regex) };
    }
    case 'binary': {
      const [l, r] = [await evaluate(ctx, e.left), await evaluate(ctx, e.right)];
      return binary(e.op, e.returnBool, e.matching, l, r, ctx.grid.count);
    }
  }
}

function asVector(v: EvalValue, grid: StepGrid): StepSeries[] {
  if (v.kind === 'vector') return v.series;
  const s = newStepSeries({}, grid.count);
  s.values.fill(v.value);
  s.present.fill(1);
  return [s];
}

// ------------------------------------------------------------------------------------------------ extraction

interface Column extends SampleColumn {
  readonly labels: Labels;
  readonly ts: number[];
  readonly values: number[];
  sorted: boolean;
  /** Bucketed mode: per-bucket value sums and sample counts instead of `ts`/`values`. */
  readonly sums?: Float64Array;
  readonly counts?: Float64Array;
}

/**
 * Additive range aggregations (counts, bytes, sums) need no individual samples: each sample adds into the
 * bucket `(k·width, (k+1)·width]` (relative ns) that contains it, and a window is a run of whole buckets.
 * Memory is then series × buckets, not samples.
 */
interface Bucketing {
  readonly widthNs: number;
  readonly count: number;
}

interface Extracted {
  readonly columns: Column[];
  /** Relative ns of the first sample with `__error__` per error series (to check windows lazily). */
  readonly errors: { labels: Labels; ts: number[] }[];
  /** Every sample's relative ns, for absent_over_time. */
  readonly all: number[];
}

function reduceLabels(labels: Labels, g: Grouping | undefined): Labels {
  if (!g) return labels;
  const out: Record<string, string> = {};
  if (g.without) {
    const drop = new Set(g.labels);
    for (const k of Object.keys(labels).sort(compareStrings)) if (!drop.has(k)) out[k] = labels[k];
  } else {
    for (const k of [...g.labels].sort(compareStrings)) if (labels[k] !== undefined) out[k] = labels[k];
  }
  return out;
}

/**
 * Runs the log pipeline over the range's lines and turns each kept line into a sample: 1 (counting), its
 * byte length (`bytes_*`), or the unwrapped label's value. Samples group by their final labels, or by the
 * range aggregation's `by`/`without` grouping.
 */
async function extract(
  ctx: EvalContext,
  range: LogRange,
  mode: 'count' | 'bytes' | 'unwrap',
  grouping: Grouping | undefined,
  baseNs: bigint,
  fromNs: bigint,
  toNs: bigint,
  needAll: boolean,
  bucketing?: Bucketing,
): Promise<Extracted> {
  const plan = planPushdown(range.selector.stages);
  const pipeline = compilePipeline(plan.rest, neededLabels(range, grouping));
  const uw = range.unwrap;
  const postFilters = uw ? uw.postFilters.map(compileLabelFilter) : [];
  const convert: ((s: string) => number) | undefined = uw
    ? uw.conv === 'bytes'
      ? parseHumanBytes
      : uw.conv === 'duration' || uw.conv === 'duration_seconds'
        ? (s) => parseGoDuration(s) / 1e9
        : parseGoFloat
    : undefined;
  const columns = new Map<string, Column>();
  const errorSeries = new Map<string, { labels: Labels; ts: number[] }>();
  const all: number[] = [];
  const lb = new LabelsBuilder();
  const st: EntryState = { line: '', timestampNs: 0n, lb };
  const streamKeys = new Map<Labels, string>();
  let samples = 0;
  const { maxSeries, maxSamples } = ctx.limits;

  const byLabels = grouping && !grouping.without ? [...grouping.labels].sort(compareStrings) : undefined;
  const reducedFromBuilder = (): Labels => {
    const out: Record<string, string> = {};
    for (const l of byLabels!) {
      const v = lb.get(l);
      if (v !== undefined) out[l] = v;
    }
    return out;
  };
  const resolve = (labels: Labels | (() => Labels) | undefined): Labels => (labels === undefined ? lb.labels() : typeof labels === 'function' ? labels() : labels);
  const add = (labels: Labels | (() => Labels) | undefined, key: string, relNs: number, value: number, hasErr: boolean): void => {
    if (hasErr) {
      let es = errorSeries.get(key);
      if (!es) {
        es = { labels: resolve(labels), ts: [] };
        errorSeries.set(key, es);
      }
      if (es.ts.length < 1_000_000) es.ts.push(relNs);
    }
    let col = columns.get(key);
    if (!col) {
      if (columns.size >= maxSeries) throw seriesLimitError(maxSeries);
      col = bucketing
        ? { labels: resolve(labels), ts: [], values: [], sorted: true, sums: new Float64Array(bucketing.count), counts: new Float64Array(bucketing.count) }
        : { labels: resolve(labels), ts: [], values: [], sorted: true };
      columns.set(key, col);
    }
    if (bucketing) {
      const k = Math.floor((relNs - 1) / bucketing.widthNs);
      if (k >= 0 && k < bucketing.count) {
        col.sums![k] += value;
        col.counts![k]++;
      }
      return;
    }
    const n = col.ts.length;
    if (n > 0 && col.ts[n - 1] > relNs) col.sorted = false;
    col.ts.push(relNs);
    col.values.push(value);
    if (needAll) all.push(relNs);
    if (++samples > maxSamples) {
      throw new LogqlError('bad_data', `the query would read too many samples (limit ${maxSamples}); add stream selectors or line filters, shorten the range, or raise logs.query.max_samples`);
    }
  };

  await readTenants(
    ctx.queryable,
    ctx.tenants,
    { matchers: range.selector.matchers, startNs: fromNs, endNs: toNs, direction: 'forward', lineFilters: plan.lineFilters, signal: ctx.signal },
    ctx.stats,
    (batch, streamLabels) => {
      const meta = batch.structuredMetadata;
      const n = batch.lines.length;
      // Fast path: no stages, no metadata: the stream's labels are the series.
      for (let i = 0; i < n; i++) {
        const ts = batch.timestampsNs[i];
        const rel = Number(ts - baseNs);
        const md = meta?.[i];
        const hasMeta = md !== undefined && Object.keys(md).length > 0;
        if (pipeline.stages.length === 0 && !hasMeta && !uw) {
          ctx.stats.postFilterLines++;
          let key = streamKeys.get(streamLabels);
          let labels = streamLabels;
          if (grouping) labels = reduceLabels(streamLabels, grouping);
          if (key === undefined) {
            key = labelsSetKey(labels);
            streamKeys.set(streamLabels, key);
          }
          add(labels, key, rel, mode === 'bytes' ? lineBytes(batch.lines[i]) : 1, false);
          continue;
        }
        lb.reset(streamLabels, hasMeta ? md : undefined);
        st.line = batch.lines[i];
        st.timestampNs = ts;
        if (!pipeline.process(st)) continue;
        ctx.stats.postFilterLines++;
        let value = 1;
        if (mode === 'bytes') value = lineBytes(st.line);
        else if (uw) {
          const raw = lb.get(uw.label);
          if (raw === undefined) continue;
          try {
            value = convert!(raw);
          } catch (err) {
            value = 0;
            lb.setErr('SampleExtractionErr', (err as Error).message);
          }
          let keep = true;
          for (const f of postFilters) {
            if (!f(lb)) {
              keep = false;
              break;
            }
          }
          if (!keep) continue;
          lb.delete(uw.label);
        }
        const hasErr = lb.hasErr();
        if (grouping) {
          if (hasErr) {
            const full = lb.labels();
            const ek = labelsSetKey(full);
            let es = errorSeries.get(ek);
            if (!es) errorSeries.set(ek, (es = { labels: full, ts: [] }));
            if (es.ts.length < 1_000_000) es.ts.push(rel);
          }
          if (byLabels) {
            // by (...): build the group key straight from the builder, labels only for a new group.
            let key = '';
            for (const l of byLabels) {
              const v = lb.get(l);
              if (v !== undefined) key += `${l}\u0000${v}\u0001`;
            }
            add(reducedFromBuilder, key, rel, value, false);
          } else {
            const reduced = reduceLabels(lb.labels(), grouping);
            add(reduced, labelsSetKey(reduced), rel, value, false);
          }
        } else if (!lb.changed && !hasMeta) {
          let key = streamKeys.get(streamLabels);
          if (key === undefined) {
            key = labelsSetKey(streamLabels);
            streamKeys.set(streamLabels, key);
          }
          add(streamLabels, key, rel, value, hasErr);
        } else {
          add(undefined, lb.key(), rel, value, hasErr);
        }
      }
      ctx.signal?.throwIfAborted();
    },
  );
  const cols = [...columns.values()];
  for (const c of cols) if (!c.sorted) sortColumn(c);
  if (needAll) all.sort((a, b) => a - b);
  return { columns: cols, errors: [...errorSeries.values()], all };
}

function filterLabelNames(f: LabelFilterExpr, out: Set<string>): void {
  switch (f.kind) {
    case 'and':
    case 'or':
      filterLabelNames(f.left, out);
      filterLabelNames(f.right, out);
      return;
    case 'string':
      out.add(f.matcher.name);
      return;
    default:
      out.add(f.name);
  }
}

/**
 * Parser hints: with samples grouped `by (...)`, only the grouping labels and the labels stages read
 * matter, so parsers may skip every other key. Templates can read anything, so they turn hints off.
 */
function neededLabels(range: LogRange, grouping: Grouping | undefined): Set<string> | undefined {
  if (!grouping || grouping.without) return undefined;
  const need = new Set(grouping.labels);
  for (const s of range.selector.stages) {
    if (s.kind === 'lineFormat' || s.kind === 'labelFormat') return undefined;
    if (s.kind === 'labelFilter') filterLabelNames(s.filter, need);
    if (s.kind === 'drop' || s.kind === 'keep') for (const i of s.items) need.add(i.name);
  }
  if (range.unwrap) {
    need.add(range.unwrap.label);
    for (const f of range.unwrap.postFilters) filterLabelNames(f, need);
  }
  return need;
}

function sortColumn(c: Column): void {
  const n = c.ts.length;
  const idx = new Uint32Array(n);
  for (let i = 0; i < n; i++) idx[i] = i;
  // Stable by time (equal timestamps keep arrival order).
  idx.sort((a, b) => c.ts[a] - c.ts[b] || a - b);
  const ts = new Float64Array(n);
  const vs = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    ts[i] = c.ts[idx[i]];
    vs[i] = c.values[idx[i]];
  }
  for (let i = 0; i < n; i++) {
    c.ts[i] = ts[i];
    c.values[i] = vs[i];
  }
  c.sorted = true;
}

export function seriesLimitError(max: number): LogqlError {
  return new LogqlError(
    'bad_data',
    `maximum number of series (${max}) reached for a single query; consider reducing query cardinality by adding more specific stream selectors, reducing the time range, or aggregating results with a vector aggregation`,
  );
}

/** The pipeline error Loki reports when a sample in an evaluated window carries `__error__`. */
export function pipelineError(labels: Labels): LogqlError {
  const type = labels[ERROR_LABEL];
  return new LogqlError(
    'bad_data',
    `pipeline error: '${type}' for series: '${labelsKey(labels)}'.\n` +
      `Use a label filter to intentionally skip this error. (e.g | __error__!="${type}").\n` +
      `To skip all potential errors you can match empty errors.(e.g __error__="")\n` +
      `The label filter can also be specified after unwrap. (e.g | unwrap latency | __error__="" )\n`,
  );
}

/** Index of the first element of sorted `a` that is > x. */
function upperBound(a: number[], x: number, from = 0): number {
  let lo = from;
  let hi = a.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (a[mid] <= x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

const COUNTABLE = new Set(['count_over_time', 'rate', 'bytes_over_time', 'bytes_rate']);
/** Range aggregations whose sum over a group equals the aggregation over the group's merged samples. */
const ADDITIVE = new Set(['count_over_time', 'rate', 'bytes_over_time', 'bytes_rate', 'sum_over_time']);
/** Buckets per stream above which the pushed-down count would cost more than it saves. */
const MAX_PUSHDOWN_BUCKETS = 100_000;

function gcd(a: bigint, b: bigint): bigint {
  while (b !== 0n) [a, b] = [b, a % b];
  return a;
}

/**
 * `sum [by (...)] (count_over_time|rate|bytes_over_time|bytes_rate(<selector> <line filters> [r]))` computed
 * from storage's per-stream bucket counts instead of shipping every line. Exact because the sum folds away
 * the structured-metadata split that a per-line evaluation would make, provided every `by` label is a stream
 * label of every counted stream (otherwise, and whenever storage lacks `counts`, it returns undefined and
 * the caller evaluates normally).
 */
async function sumOfCountsPushdown(ctx: EvalContext, e: Extract<SampleExpr, { kind: 'vectorAgg' }>): Promise<StepSeries[] | undefined> {
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
  const split = partitionTenantMatchers(ctx.tenants, inner.range.selector.matchers);
  const matchers = split.matchers.length > 0 ? split.matchers : [{ op: '=~' as const, name: TENANT_ID_LABEL, value: '.*' }];
  const federated = ctx.tenants.length > 1;
  for (const tenant of split.tenants) {
    const q = await ctx.queryable.querier([tenant]);
    try {
      if (!q.counts) return undefined;
      const rows = await q.counts({ matchers, lineFilters: plan.lineFilters, startNs: origin, endNs: origin + spanNs, stepNs: width, signal: ctx.signal });
      for (const r of rows) {
        const labels = labelForTenant(r.labels, tenant, federated);
        if (byLabels.some((l) => labels[l] === undefined)) return undefined;
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
          g.prefix[k + 1] += src[k];
          g.any[k + 1] += r.counts[k];
          ctx.stats.linesProcessed += r.counts[k];
          ctx.stats.bytesProcessed += r.bytes[k];
        }
      }
    } catch (err) {
      const msg = (err as Error).message ?? '';
      if (msg.startsWith('error parsing regexp')) throw new LogqlError('bad_data', `parse error : ${msg}`, { cause: err });
      throw err;
    } finally {
      await q.close();
    }
  }
  const out: StepSeries[] = [];
  for (const g of groups.values()) {
    for (let k = 1; k <= buckets; k++) {
      g.prefix[k] += g.prefix[k - 1];
      g.any[k] += g.any[k - 1];
    }
    const s = newStepSeries(g.labels, grid.count);
    let present = false;
    for (let i = 0; i < grid.count; i++) {
      const lo = i * stepBuckets;
      const hi = lo + windowBuckets;
      if (g.any[hi] - g.any[lo] === 0) continue;
      const v = g.prefix[hi] - g.prefix[lo];
      s.values[i] = perSecond ? v / rangeSec : v;
      s.present[i] = 1;
      present = true;
    }
    if (present) out.push(s);
  }
  ctx.stats.postFilterLines = ctx.stats.linesProcessed;
  return out;
}

async function rangeAggregation(ctx: EvalContext, e: Extract<SampleExpr, { kind: 'rangeAgg' }>): Promise<StepSeries[]> {
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
      const lo = upperBound(es.ts, ws);
      if (lo < es.ts.length && es.ts[lo] <= we) throw pipelineError(es.labels);
    }
  }
  if (absent) {
    const s = newStepSeries(absentLabels(range), grid.count);
    let any = false;
    for (let i = 0; i < grid.count; i++) {
      const [ws, we] = windows[i];
      const lo = upperBound(ex.all, ws);
      if (!(lo < ex.all.length && ex.all[lo] <= we)) {
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
      const counts = prefixSums(col.counts!);
      // Prefix differences of sums turn ±Inf into NaN; sum such windows bucket by bucket instead.
      const finite = col.sums!.every((v) => Number.isFinite(v));
      const sums = finite ? prefixSums(col.sums!) : undefined;
      const s = newStepSeries(col.labels, grid.count);
      let any = false;
      for (let i = 0; i < grid.count; i++) {
        const lo = i * bucketing.stepBuckets;
        const hi = lo + bucketing.windowBuckets;
        const n = counts[hi] - counts[lo];
        if (n === 0) continue;
        let v: number;
        if (e.op === 'count_over_time' || (e.op === 'rate' && !range.unwrap)) v = n;
        else if (sums) v = sums[hi] - sums[lo];
        else {
          v = 0;
          for (let k = lo; k < hi; k++) if (col.counts![k] > 0) v += col.sums![k];
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
    const s = newStepSeries(col.labels, grid.count);
    let any = false;
    let lo = 0;
    let hi = 0;
    for (let i = 0; i < grid.count; i++) {
      const [ws, we] = windows[i];
      // Windows move forward with the steps, so both bounds only advance.
      while (lo < col.ts.length && col.ts[lo] <= ws) lo++;
      if (hi < lo) hi = lo;
      while (hi < col.ts.length && col.ts[hi] <= we) hi++;
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
  for (let k = 0; k < a.length; k++) p[k + 1] = p[k] + a[k];
  return p;
}

/** absent_over_time's labels: the selector's equality matchers (a name used twice is left out). */
function absentLabels(range: LogRange): Labels {
  const counts = new Map<string, number>();
  for (const m of range.selector.matchers) counts.set(m.name, (counts.get(m.name) ?? 0) + 1);
  const out: Record<string, string> = {};
  for (const m of range.selector.matchers) {
    if (m.op === '=' && counts.get(m.name) === 1) out[m.name] = m.value;
  }
  return Object.fromEntries(Object.entries(out).sort(([a], [b]) => compareStrings(a, b)));
}

// ------------------------------------------------------------------------------------------------ vector aggregation

function groupKeyOf(labels: Labels, g: Grouping | undefined): { key: string; labels: Labels } {
  if (!g) return { key: '', labels: {} };
  const reduced = reduceLabels(labels, g);
  return { key: labelsSetKey(reduced), labels: reduced };
}

function vectorAggregation(op: string, param: number | undefined, grouping: Grouping | undefined, input: StepSeries[], n: number): StepSeries[] {
  if (op === 'sort' || op === 'sort_desc') return sortSeries(input, op === 'sort_desc', n);
  if (op === 'topk' || op === 'bottomk' || op === 'approx_topk') return topk(input, param ?? 1, op !== 'bottomk', grouping, n);
  const groups = new Map<string, { labels: Labels; members: StepSeries[] }>();
  for (const s of input) {
    const { key, labels } = groupKeyOf(s.labels, grouping);
    let g = groups.get(key);
    if (!g) groups.set(key, (g = { labels, members: [] }));
    g.members.push(s);
  }
  const out: StepSeries[] = [];
  for (const g of groups.values()) {
    const r = newStepSeries(g.labels, n);
    let any = false;
    for (let i = 0; i < n; i++) {
      let count = 0;
      let acc = 0;
      let mean = 0;
      let m2 = 0;
      for (const s of g.members) {
        if (!s.present[i]) continue;
        const v = s.values[i];
        count++;
        switch (op) {
          case 'sum':
          case 'avg':
            acc += v;
            break;
          case 'min':
            if (count === 1 || v < acc || Number.isNaN(acc)) acc = v;
            break;
          case 'max':
            if (count === 1 || v > acc || Number.isNaN(acc)) acc = v;
            break;
          case 'stddev':
          case 'stdvar': {
            const delta = v - mean;
            mean += delta / count;
            m2 += delta * (v - mean);
            break;
          }
        }
      }
      if (count === 0) continue;
      let v: number;
      switch (op) {
        case 'avg':
          v = acc / count;
          break;
        case 'count':
          v = count;
          break;
        case 'stdvar':
          v = m2 / count;
          break;
        case 'stddev':
          v = Math.sqrt(m2 / count);
          break;
        default:
          v = acc;
      }
      r.values[i] = v;
      r.present[i] = 1;
      any = true;
    }
    if (any) out.push(r);
  }
  return out;
}

/** sort/sort_desc: only meaningful for instant queries (one step); NaN sorts last either way. */
function sortSeries(input: StepSeries[], desc: boolean, n: number): StepSeries[] {
  if (n !== 1) return input;
  const present = input.filter((s) => s.present[0]);
  return present.sort((a, b) => {
    const x = a.values[0];
    const y = b.values[0];
    if (Number.isNaN(x)) return Number.isNaN(y) ? 0 : 1;
    if (Number.isNaN(y)) return -1;
    return desc ? y - x : x - y;
  });
}

function topk(input: StepSeries[], k: number, top: boolean, grouping: Grouping | undefined, n: number): StepSeries[] {
  const groups = new Map<string, StepSeries[]>();
  for (const s of input) {
    const key = grouping ? labelsSetKey(reduceLabels(s.labels, grouping)) : '';
    let g = groups.get(key);
    if (!g) groups.set(key, (g = []));
    g.push(s);
  }
  const outputs = new Map<StepSeries, StepSeries>();
  // Better first; NaN is the worst in both directions.
  const better = (x: number, y: number): boolean => {
    if (Number.isNaN(y)) return !Number.isNaN(x);
    if (Number.isNaN(x)) return false;
    return top ? x > y : x < y;
  };
  const order: StepSeries[] = [];
  for (const members of groups.values()) {
    for (let i = 0; i < n; i++) {
      const present = members.filter((s) => s.present[i]);
      present.sort((a, b) => (better(a.values[i], b.values[i]) ? -1 : better(b.values[i], a.values[i]) ? 1 : 0));
      for (const s of present.slice(0, k)) {
        let o = outputs.get(s);
        if (!o) {
          o = newStepSeries(s.labels, n);
          outputs.set(s, o);
          order.push(o);
        }
        o.values[i] = s.values[i];
        o.present[i] = 1;
      }
    }
  }
  if (n === 1) {
    order.sort((a, b) => (better(a.values[0], b.values[0]) ? -1 : better(b.values[0], a.values[0]) ? 1 : 0));
  }
  return order;
}

// ------------------------------------------------------------------------------------------------ label_replace

function labelReplace(input: StepSeries[], dst: string, replacement: string, src: string, regex: string): StepSeries[] {
  let re: RE2JS;
  try {
    re = compileRe2Anchored(regex);
  } catch (err) {
    throw new LogqlError('bad_data', `parse error : ${(err as Error).message}`, { cause: err });
  }
  const names = re.namedGroups() as Record<string, number>;
  const out = new Map<string, StepSeries>();
  for (const s of input) {
    const value = s.labels[src] ?? '';
    const m = re.matcher(value);
    let labels = s.labels;
    if (m.matches()) {
      const groups: (string | null)[] = [];
      for (let g = 0; g <= m.groupCount(); g++) groups.push(m.group(g));
      const res = expandReplacement(replacement, groups, names);
      const next: Record<string, string> = { ...s.labels };
      if (res === '') delete next[dst];
      else next[dst] = res;
      labels = Object.fromEntries(Object.entries(next).sort(([a], [b]) => compareStrings(a, b)));
    }
    const key = labelsSetKey(labels);
    const existing = out.get(key);
    if (existing) {
      for (let i = 0; i < s.values.length; i++) {
        if (!s.present[i]) continue;
        if (existing.present[i]) throw new LogqlError('execution', 'vector cannot contain metrics with the same labelset');
        existing.values[i] = s.values[i];
        existing.present[i] = 1;
      }
    } else out.set(key, { labels, values: s.values, present: s.present });
  }
  return [...out.values()];
}

function compileRe2Anchored(regex: string): RE2JS {
  // Validate with the anchored compiler from model (RE2 semantics, Go's error text), then build the
  // capturing matcher.
  compileAnchoredRegex(regex);
  return RE2JS.compile(`^(?s:${regex})$`);
}

// ------------------------------------------------------------------------------------------------ binary operations

const COMPARISONS = new Set<BinaryOp>(['==', '!=', '>', '>=', '<', '<=']);

function binary(op: BinaryOp, returnBool: boolean, matching: VectorMatching | undefined, l: EvalValue, r: EvalValue, n: number): EvalValue {
  if (l.kind === 'scalar' && r.kind === 'scalar') return { kind: 'scalar', value: foldScalar(op, l.value, r.value) };
  if (op === 'and' || op === 'or' || op === 'unless') {
    return { kind: 'vector', series: setOperation(op, matching, l as Extract<EvalValue, { kind: 'vector' }>, r as Extract<EvalValue, { kind: 'vector' }>, n) };
  }
  if (l.kind === 'vector' && r.kind === 'scalar') return { kind: 'vector', series: vectorScalar(op, returnBool, l.series, r.value, false, n) };
  if (l.kind === 'scalar' && r.kind === 'vector') return { kind: 'vector', series: vectorScalar(op, returnBool, r.series, l.value, true, n) };
  return { kind: 'vector', series: vectorVector(op, returnBool, matching, (l as { series: StepSeries[] }).series, (r as { series: StepSeries[] }).series, n) };
}

/** Applies `op` to one pair; returns [keep, value] for comparisons. */
function applyOp(op: BinaryOp, returnBool: boolean, a: number, b: number, keepValue: number): [boolean, number] {
  if (COMPARISONS.has(op)) {
    const ok = foldScalar(op, a, b) === 1;
    if (returnBool) return [true, ok ? 1 : 0];
    return [ok, keepValue];
  }
  return [true, foldScalar(op, a, b)];
}

function vectorScalar(op: BinaryOp, returnBool: boolean, series: StepSeries[], scalar: number, scalarLeft: boolean, n: number): StepSeries[] {
  const out: StepSeries[] = [];
  for (const s of series) {
    const r = newStepSeries(s.labels, n);
    let any = false;
    for (let i = 0; i < n; i++) {
      if (!s.present[i]) continue;
      const v = s.values[i];
      const [keep, value] = scalarLeft ? applyOp(op, returnBool, scalar, v, v) : applyOp(op, returnBool, v, scalar, v);
      if (!keep) continue;
      r.values[i] = value;
      r.present[i] = 1;
      any = true;
    }
    if (any) out.push(r);
  }
  return out;
}

function signature(labels: Labels, matching: VectorMatching | undefined): string {
  if (!matching) return labelsSetKey(labels);
  const keep: Record<string, string> = {};
  if (matching.on) {
    for (const k of matching.labels) if (labels[k] !== undefined) keep[k] = labels[k];
  } else {
    const drop = new Set(matching.labels);
    for (const k in labels) if (!drop.has(k)) keep[k] = labels[k];
  }
  return labelsSetKey(keep);
}

function resultLabels(many: Labels, one: Labels, matching: VectorMatching | undefined): Labels {
  const out: Record<string, string> = {};
  const card = matching?.card ?? 'one-to-one';
  if (card === 'one-to-one') {
    if (matching?.on) {
      for (const k of matching.labels) if (many[k] !== undefined) out[k] = many[k];
    } else {
      const drop = new Set(matching?.labels ?? []);
      for (const k in many) if (!drop.has(k)) out[k] = many[k];
    }
  } else {
    Object.assign(out, many);
    for (const k of matching!.include) {
      const v = one[k];
      if (v === undefined || v === '') delete out[k];
      else out[k] = v;
    }
  }
  return Object.fromEntries(Object.entries(out).sort(([a], [b]) => compareStrings(a, b)));
}

function vectorVector(op: BinaryOp, returnBool: boolean, matching: VectorMatching | undefined, left: StepSeries[], right: StepSeries[], n: number): StepSeries[] {
  const card = matching?.card ?? 'one-to-one';
  // The "one" side is right for one-to-one and group_left, left for group_right.
  const swap = card === 'one-to-many';
  const manySide = swap ? right : left;
  const oneSide = swap ? left : right;
  const manySigs = manySide.map((s) => signature(s.labels, matching));
  const oneSigs = oneSide.map((s) => signature(s.labels, matching));
  const outputs = new Map<string, StepSeries>();
  const order: StepSeries[] = [];
  for (let i = 0; i < n; i++) {
    const oneBySig = new Map<string, StepSeries>();
    for (let j = 0; j < oneSide.length; j++) {
      const s = oneSide[j];
      if (!s.present[i]) continue;
      if (oneBySig.has(oneSigs[j])) {
        const side = swap ? 'left' : 'right';
        throw new LogqlError(
          'execution',
          card === 'one-to-one'
            ? `found duplicate series on the ${side} hand-side of the operation: ${labelsKey(s.labels)};many-to-many matching not allowed: matching labels must be unique on one side`
            : `found duplicate series on the ${side} hand-side of the operation: ${labelsKey(s.labels)};many-to-many matching not allowed: matching labels must be unique on one side`,
        );
      }
      oneBySig.set(oneSigs[j], s);
    }
    const matchedOne = new Set<string>();
    const seenResult = new Set<string>();
    for (let j = 0; j < manySide.length; j++) {
      const s = manySide[j];
      if (!s.present[i]) continue;
      const sig = manySigs[j];
      const other = oneBySig.get(sig);
      if (!other) continue;
      if (card === 'one-to-one') {
        if (matchedOne.has(sig)) {
          throw new LogqlError('execution', 'multiple matches for labels: many-to-one matching must be explicit (group_left/group_right)');
        }
        matchedOne.add(sig);
      }
      const [lv, rv] = swap ? [other.values[i], s.values[i]] : [s.values[i], other.values[i]];
      const [keep, value] = applyOp(op, returnBool, lv, rv, lv);
      if (!keep) continue;
      const labels = resultLabels(s.labels, other.labels, matching);
      const key = labelsSetKey(labels);
      if (seenResult.has(key)) {
        throw new LogqlError('execution', 'multiple matches for labels: grouping labels must ensure unique matches');
      }
      seenResult.add(key);
      let o = outputs.get(key);
      if (!o) {
        o = newStepSeries(labels, n);
        outputs.set(key, o);
        order.push(o);
      }
      o.values[i] = value;
      o.present[i] = 1;
    }
  }
  return order;
}

function setOperation(op: 'and' | 'or' | 'unless', matching: VectorMatching | undefined, l: Extract<EvalValue, { kind: 'vector' }>, r: Extract<EvalValue, { kind: 'vector' }>, n: number): StepSeries[] {
  const rSigs = r.series.map((s) => signature(s.labels, matching));
  const lSigs = l.series.map((s) => signature(s.labels, matching));
  const out: StepSeries[] = [];
  if (op === 'and' || op === 'unless') {
    for (let j = 0; j < l.series.length; j++) {
      const s = l.series[j];
      const o = newStepSeries(s.labels, n);
      let any = false;
      for (let i = 0; i < n; i++) {
        if (!s.present[i]) continue;
        let matched = false;
        for (let k = 0; k < r.series.length; k++) {
          if (r.series[k].present[i] && rSigs[k] === lSigs[j]) {
            matched = true;
            break;
          }
        }
        if (matched !== (op === 'and')) continue;
        o.values[i] = s.values[i];
        o.present[i] = 1;
        any = true;
      }
      if (any) out.push(o);
    }
    return out;
  }
  // or: every left sample, plus right samples whose signature has no left sample at that step. Series
  // with equal labels on both sides become one.
  const byKey = new Map<string, StepSeries>();
  for (const s of l.series) {
    const copy = { labels: s.labels, values: Float64Array.from(s.values), present: Uint8Array.from(s.present) };
    out.push(copy);
    byKey.set(labelsSetKey(s.labels), copy);
  }
  for (let k = 0; k < r.series.length; k++) {
    const s = r.series[k];
    const key = labelsSetKey(s.labels);
    const existing = byKey.get(key);
    const o = existing ?? newStepSeries(s.labels, n);
    let any = false;
    for (let i = 0; i < n; i++) {
      if (!s.present[i]) continue;
      let leftHas = false;
      for (let j = 0; j < l.series.length; j++) {
        if (l.series[j].present[i] && lSigs[j] === rSigs[k]) {
          leftHas = true;
          break;
        }
      }
      if (leftHas) continue;
      if (existing && existing.present[i]) continue;
      o.values[i] = s.values[i];
      o.present[i] = 1;
      any = true;
    }
    if (any && !existing) {
      out.push(o);
      byKey.set(key, o);
    }
  }
  return out;
}

