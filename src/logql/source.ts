import { INVALID_REGEXP_CODE, isHeimdallError } from '../model/index.ts';
import type { LabelMatcher, Labels, TenantId } from '../model/index.ts';
import type { LineFilter, LogQueryable, LogStreamBatch } from '../storage/index.ts';
import type { Stage } from './ast.ts';
import { LogqlError } from './errors.ts';

/** Counters a query accumulates for Loki's `stats` object. */
export interface QueryStats {
  linesProcessed: number;
  bytesProcessed: number;
  postFilterLines: number;
  entriesReturned: number;
  streamsSeen: number;
}

export function newStats(): QueryStats {
  return { linesProcessed: 0, bytesProcessed: 0, postFilterLines: 0, entriesReturned: 0, streamsSeen: 0 };
}

/** A pipeline split into the filters storage can apply and the stages left to run here. */
export interface PushdownPlan {
  readonly lineFilters: LineFilter[];
  readonly rest: readonly Stage[];
}

/**
 * Moves the leading simple line filters (one operand, `|=`, `!=`, `|~`, `!~`) into storage's `lineFilters`.
 * Or-chains, `ip()` and pattern filters, and anything after the first other stage stay in the pipeline.
 */
export function planPushdown(stages: readonly Stage[]): PushdownPlan {
  const lineFilters: LineFilter[] = [];
  let i = 0;
  for (; i < stages.length; i++) {
    const s = stages[i]!; // i < stages.length
    if (s.kind !== 'lineFilter') break;
    const [v] = s.values;
    if (s.values.length !== 1 || v?.kind !== 'literal') break;
    if (s.op === '|>' || s.op === '!>') break;
    // An empty substring matches every line; nothing to push.
    if ((s.op === '|=' || s.op === '!=') && v.value === '') {
      if (s.op === '!=') break;
      continue;
    }
    lineFilters.push({ op: s.op, value: v.value });
  }
  return { lineFilters, rest: stages.slice(i) };
}

export interface ReadParams {
  readonly matchers: readonly LabelMatcher[];
  readonly startNs: bigint;
  readonly endNs: bigint;
  readonly direction: 'forward' | 'backward';
  readonly limit?: number;
  readonly lineFilters: readonly LineFilter[];
  readonly signal?: AbortSignal;
}

/**
 * Receives one batch and its stream labels (with `__tenant_id__` when federated). Returning false stops
 * reading once the current slice is done.
 */
export type BatchSink = (batch: LogStreamBatch, labels: Labels) => boolean | void;

/**
 * Reads matching entries for the tenants of the request through one querier (the queryable federates:
 * `__tenant_id__` matchers pick tenants and a federated read labels every stream with its tenant), calling
 * `sink` per batch (return false to stop). Invalid regexps from storage become `bad_data`.
 */
export async function readTenants(
  queryable: LogQueryable,
  tenants: readonly TenantId[],
  p: ReadParams,
  stats: QueryStats,
  sink: BatchSink,
): Promise<void> {
  p.signal?.throwIfAborted();
  const q = await queryable.querier(tenants);
  try {
    const seen = new Set<Labels>();
    let stop = false;
    for await (const slice of q.select({
      matchers: p.matchers,
      startNs: p.startNs,
      endNs: p.endNs,
      direction: p.direction,
      limit: p.limit,
      lineFilters: p.lineFilters,
      signal: p.signal,
    })) {
      for (const batch of slice) {
        if (!seen.has(batch.labels)) {
          seen.add(batch.labels);
          stats.streamsSeen++;
        }
        stats.linesProcessed += batch.lines.length;
        for (const l of batch.lines) stats.bytesProcessed += l.length;
        // Stopping takes effect at the end of the slice: its other batches may hold earlier entries.
        if (sink(batch, batch.labels) === false) stop = true;
      }
      if (stop) break;
      p.signal?.throwIfAborted();
    }
  } catch (err) {
    throw asLogqlRegexpError(err);
  } finally {
    await q.close();
  }
}

/** An invalid regexp reported by storage is the query's fault: `bad_data` with Loki's parse-error prefix. */
export function asLogqlRegexpError(err: unknown): unknown {
  if (isHeimdallError(err) && err.code === INVALID_REGEXP_CODE && !(err instanceof LogqlError)) {
    return new LogqlError('bad_data', `parse error : ${err.message}`, { cause: err });
  }
  return err;
}
