import type { Labels, TenantId } from '../model/index.ts';
import type { LogQueryable } from '../storage/index.ts';
import type { LogSelectorExpr } from './ast.ts';
import { LogqlError } from './errors.ts';
import { compilePipeline, LabelsBuilder, labelsSetKey } from './pipeline.ts';
import type { EntryState } from './pipeline.ts';
import type { LogqlBudget } from './query-budget.ts';
import { planPushdown, readTenants } from './source.ts';
import type { QueryStats } from './source.ts';

/** One entry of a log query result. */
export interface ResultEntry {
  readonly timestampNs: bigint;
  readonly line: string;
  /** Structured metadata of the entry (shown separately with Loki's categorize-labels encoding). */
  readonly structuredMetadata?: Labels;
  /** Labels the pipeline's parsers added (categorize-labels encoding). */
  readonly parsed?: Labels;
}

/** A stream of a log query result: its labels (stream + metadata + parsed) and entries in query order. */
export interface ResultStream {
  readonly labels: Labels;
  readonly entries: ResultEntry[];
}

export interface LogQueryParams {
  readonly startNs: bigint;
  readonly endNs: bigint;
  readonly direction: 'forward' | 'backward';
  readonly limit: number;
  /** Keep at most one entry per stream per interval (Loki's `interval`), in nanoseconds. */
  readonly intervalNs?: bigint;
  /**
   * Loki's categorize-labels encoding: streams group by their stream labels only; each entry carries its
   * structured metadata and parsed labels separately.
   */
  readonly categorizeLabels?: boolean;
  readonly signal?: AbortSignal;
  /** The query's running budgets (wall time, produced line bytes); Loki's defaults when absent. */
  readonly budget?: LogqlBudget;
}

interface Collected {
  readonly ts: bigint;
  readonly line: string;
  readonly labels: Labels;
  readonly key: string;
  readonly metadata?: Labels;
  readonly parsed?: Labels;
  readonly seq: number;
}

/**
 * Runs a log query: selects entries in `[startNs, endNs)`, runs the pipeline, and returns up to `limit`
 * entries in `direction` order grouped into streams by their final labels.
 */
export async function runLogQuery(
  queryable: LogQueryable,
  tenants: readonly TenantId[],
  expr: LogSelectorExpr,
  p: LogQueryParams,
  stats: QueryStats,
): Promise<ResultStream[]> {
  if (p.limit <= 0) throw new LogqlError('bad_data', 'limit must be a positive number');
  const plan = planPushdown(expr.stages);
  const pipeline = compilePipeline(plan.rest, undefined, p.budget?.pipeline);
  const lb = new LabelsBuilder();
  const streamKeys = new Map<Labels, string>();
  const kept: Collected[] = [];
  let seq = 0;
  const forward = p.direction === 'forward';
  const cmp = (a: Collected, b: Collected): number => {
    if (a.ts !== b.ts) return (a.ts < b.ts ? -1 : 1) * (forward ? 1 : -1);
    return a.seq - b.seq;
  };

  // Entries kept or cut so far, in storage's direction order (over every tenant: the querier merges them).
  let seen = 0;
  {
    const perTenant = kept;
    await readTenants(
      queryable,
      tenants,
      { matchers: expr.matchers, startNs: p.startNs, endNs: p.endNs, direction: p.direction, lineFilters: plan.lineFilters, signal: p.signal },
      stats,
      (batch, streamLabels) => {
        const before = perTenant.length;
        let truncated = 0;
        const meta = batch.structuredMetadata;
        for (let i = 0; i < batch.lines.length; i++) {
          p.budget?.tick();
          const md = meta?.[i];
          // A batch's columns all have lines.length entries.
          const line = batch.lines[i]!;
          const ts = batch.timestampsNs[i]!;
          const hasMeta = md !== undefined && Object.keys(md).length > 0;
          if (pipeline.stages.length === 0 && !hasMeta) {
            let key = streamKeys.get(streamLabels);
            if (key === undefined) streamKeys.set(streamLabels, (key = labelsSetKey(streamLabels)));
            perTenant.push({ ts, line, labels: streamLabels, key, seq: seq++ });
            continue;
          }
          lb.reset(streamLabels, hasMeta ? md : undefined);
          const st: EntryState = { line, timestampNs: ts, lb };
          if (!pipeline.process(st)) continue;
          if (p.categorizeLabels) {
            const c = lb.categorized();
            perTenant.push({ ts: st.timestampNs, line: st.line, labels: c.stream, key: labelsSetKey(c.stream), metadata: c.metadata, parsed: c.parsed, seq: seq++ });
          } else if (!lb.changed) {
            let key = streamKeys.get(streamLabels);
            if (key === undefined) streamKeys.set(streamLabels, (key = labelsSetKey(streamLabels)));
            perTenant.push({ ts: st.timestampNs, line: st.line, labels: streamLabels, key, seq: seq++ });
          } else {
            perTenant.push({ ts: st.timestampNs, line: st.line, labels: lb.labels(), key: lb.key(), metadata: hasMeta ? md : undefined, seq: seq++ });
          }
        }
        // Bound memory within huge slices: only the first `limit` entries in query order can be returned
        // (without `interval`, which thins entries after the cut).
        if (p.intervalNs === undefined && perTenant.length > 4 * p.limit + 10_000) {
          perTenant.sort(cmp);
          truncated += perTenant.length - p.limit;
          perTenant.length = p.limit;
        }
        // Storage yields slices in direction order: once `limit` entries are kept, later slices cannot
        // contribute (an entry of a later slice never precedes one of an earlier slice).
        seen += perTenant.length + truncated - before;
        return seen < p.limit;
      },
    );
  }
  stats.postFilterLines += kept.length;
  kept.sort(cmp);

  const streams = new Map<string, ResultStream>();
  const lastKept = new Map<string, bigint>();
  let count = 0;
  for (const e of kept) {
    if (count >= p.limit) break;
    if (p.intervalNs !== undefined && p.intervalNs > 0n) {
      const last = lastKept.get(e.key);
      if (last !== undefined && (forward ? e.ts - last : last - e.ts) < p.intervalNs) continue;
      lastKept.set(e.key, e.ts);
    }
    let s = streams.get(e.key);
    if (!s) streams.set(e.key, (s = { labels: e.labels, entries: [] }));
    s.entries.push({ timestampNs: e.ts, line: e.line, structuredMetadata: e.metadata, parsed: e.parsed });
    count++;
  }
  stats.entriesReturned += count;
  return [...streams.values()];
}
