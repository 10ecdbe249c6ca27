import { compareStrings, parseGoFloat } from '../model/index.ts';
import type { Labels } from '../model/index.ts';
import type { Grouping, LabelFilterExpr, LogRange } from './ast.ts';
import { seriesLimitError } from './evaluation-errors.ts';
import type { EvalContext } from './evaluator.ts';
import { LogqlError } from './errors.ts';
import { compileLabelFilter, compilePipeline, LabelsBuilder, labelsSetKey, lineBytes } from './pipeline.ts';
import type { EntryState } from './pipeline.ts';
import type { SampleColumn } from './range-functions.ts';
import { reduceLabels } from './series-grouping.ts';
import { planPushdown, readTenants } from './source.ts';
import { parseGoDuration, parseHumanBytes } from './units.ts';

// ------------------------------------------------------------------------------------------------ extraction

export interface Column extends SampleColumn {
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
export interface Bucketing {
  readonly widthNs: number;
  readonly count: number;
}

export interface Extracted {
  readonly columns: Column[];
  /** Relative ns of the first sample with `__error__` per error series (to check windows lazily). */
  readonly errors: { labels: Labels; ts: number[] }[];
  /** Every sample's relative ns, for absent_over_time. */
  readonly all: number[];
}

/**
 * Runs the log pipeline over the range's lines and turns each kept line into a sample: 1 (counting), its
 * byte length (`bytes_*`), or the unwrapped label's value. Samples group by their final labels, or by the
 * range aggregation's `by`/`without` grouping.
 */
export async function extract(
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
  const pipeline = compilePipeline(plan.rest, neededLabels(range, grouping), ctx.budget.pipeline);
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
    const out: [string, string][] = [];
    for (const l of byLabels!) {
      const v = lb.get(l);
      if (v !== undefined) out.push([l, v]);
    }
    return Object.fromEntries(out);
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
      if (bucketing) ctx.budget.hold(2 * bucketing.count);
      col = bucketing
        ? { labels: resolve(labels), ts: [], values: [], sorted: true, sums: new Float64Array(bucketing.count), counts: new Float64Array(bucketing.count) }
        : { labels: resolve(labels), ts: [], values: [], sorted: true };
      columns.set(key, col);
    }
    if (bucketing) {
      const k = Math.floor((relNs - 1) / bucketing.widthNs);
      if (k >= 0 && k < bucketing.count) {
        col.sums![k]! += value; // 0 <= k < bucketing.count, the columns' length
        col.counts![k]!++;
      }
      return;
    }
    if ((col.ts.at(-1) ?? -Infinity) > relNs) col.sorted = false;
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
        ctx.budget.tick();
        // A batch's columns all have lines.length entries.
        const ts = batch.timestampsNs[i]!;
        const line = batch.lines[i]!;
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
          add(labels, key, rel, mode === 'bytes' ? lineBytes(line) : 1, false);
          continue;
        }
        lb.reset(streamLabels, hasMeta ? md : undefined);
        st.line = line;
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
  // Every index below is < n, the length of ts, values and idx.
  idx.sort((a, b) => c.ts[a]! - c.ts[b]! || a - b);
  const ts = c.ts.slice();
  const vs = c.values.slice();
  idx.forEach((from, i) => {
    c.ts[i] = ts[from]!;
    c.values[i] = vs[from]!;
  });
  c.sorted = true;
}
