import { TENANT_ID_LABEL } from '../model/index.ts';
import type { LabelMatcher, Labels, TenantId } from '../model/index.ts';
import { labelForTenant, partitionTenantMatchers } from '../storage/index.ts';
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
    const s = stages[i];
    if (s.kind !== 'lineFilter') break;
    if (s.values.length !== 1 || s.values[0].kind !== 'literal') break;
    if (s.op === '|>' || s.op === '!>') break;
    // An empty substring matches every line; nothing to push.
    if ((s.op === '|=' || s.op === '!=') && s.values[0].value === '') {
      if (s.op === '!=') break;
      continue;
    }
    lineFilters.push({ op: s.op, value: s.values[0].value });
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
 * reading that tenant once the current slice is done.
 */
export type BatchSink = (batch: LogStreamBatch, labels: Labels, tenant: TenantId) => boolean | void;

/**
 * Reads matching entries from every tenant of the request, one tenant at a time, calling `sink` per batch
 * (return false to stop reading that tenant). `__tenant_id__` matchers pick tenants; a federated request
 * labels every stream with its tenant. Storage errors about regexps become `bad_data`.
 */
export async function readTenants(
  queryable: LogQueryable,
  tenants: readonly TenantId[],
  p: ReadParams,
  stats: QueryStats,
  sink: BatchSink,
): Promise<void> {
  const federated = tenants.length > 1;
  const split = partitionTenantMatchers(tenants, p.matchers);
  // A selector with only `__tenant_id__` matchers selects every stream of the chosen tenants.
  const matchers = split.matchers.length > 0 ? split.matchers : [{ op: '=~' as const, name: TENANT_ID_LABEL, value: '.*' }];
  for (const tenant of split.tenants) {
    p.signal?.throwIfAborted();
    const q = await queryable.querier([tenant]);
    try {
      const labelCache = new Map<Labels, Labels>();
      let stop = false;
      try {
        for await (const slice of q.select({
          matchers,
          startNs: p.startNs,
          endNs: p.endNs,
          direction: p.direction,
          limit: p.limit,
          lineFilters: p.lineFilters,
          signal: p.signal,
        })) {
          for (const batch of slice) {
            let labels = labelCache.get(batch.labels);
            if (!labels) {
              labels = labelForTenant(batch.labels, tenant, federated);
              labelCache.set(batch.labels, labels);
              stats.streamsSeen++;
            }
            stats.linesProcessed += batch.lines.length;
            for (const l of batch.lines) stats.bytesProcessed += l.length;
            // Stopping takes effect at the end of the slice: its other batches may hold earlier entries.
            if (sink(batch, labels, tenant) === false) stop = true;
          }
          if (stop) break;
          p.signal?.throwIfAborted();
        }
      } catch (err) {
        const msg = (err as Error).message ?? '';
        if (msg.startsWith('error parsing regexp')) throw new LogqlError('bad_data', `parse error : ${msg}`, { cause: err });
        throw err;
      }
    } finally {
      await q.close();
    }
  }
}
