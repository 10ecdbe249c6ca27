import type { SpanRecord, TenantId } from '../model/index.ts';
import type { StoredSpan } from '../storage/index.ts';

/** One trace's spans in the head. */
export interface HeadTrace {
  readonly traceId: string;
  readonly spans: StoredSpan[];
  /** Span ids held, so a re-sent span (a retried push, a replayed WAL frame) is kept once. */
  readonly spanIds: Set<string>;
  minStartNs: bigint;
  maxEndNs: bigint;
  /** When the trace first and last received a span (process clock, ms). */
  firstWriteMs: number;
  lastWriteMs: number;
  /** Estimated bytes of the spans held (their WAL encoding). */
  bytes: number;
  /** The lowest WAL segment holding one of the spans held: the WAL is truncated only below every trace's. */
  segment: number;
}

/** One tenant's live traces. */
export class TenantHead {
  readonly traces = new Map<string, HeadTrace>();
  bytes = 0;
  spans = 0;
}

/**
 * The in-memory part of the trace store: spans made durable in the WAL, grouped by tenant and trace id, until a
 * head cut writes complete traces into blocks. Spans of one trace arriving over several commits accumulate
 * in one {@link HeadTrace}; a span id already held is ignored (its first copy wins).
 *
 * Contract: single-threaded (the event loop); mutated only by {@link Head.apply} (called when a WAL frame is
 * durable, or replayed) and {@link Head.remove} (a head cut). Readers iterate `tenant(t).traces` synchronously
 * or copy what they need first.
 */
export class Head {
  private readonly tenants = new Map<TenantId, TenantHead>();
  bytes = 0;

  tenant(tenant: TenantId): TenantHead | undefined {
    return this.tenants.get(tenant);
  }

  tenantIds(): TenantId[] {
    return [...this.tenants.keys()];
  }

  /** Adds a durable batch. `bytesPerSpan` is the batch's WAL bytes spread over its spans (an estimate). */
  apply(tenant: TenantId, records: readonly SpanRecord[], segment: number, bytesPerSpan: number, nowMs: number): number {
    let th = this.tenants.get(tenant);
    if (!th) this.tenants.set(tenant, (th = new TenantHead()));
    let added = 0;
    for (const rec of records) {
      for (const span of rec.spans) {
        let t = th.traces.get(span.traceId);
        if (!t) {
          t = {
            traceId: span.traceId,
            spans: [],
            spanIds: new Set(),
            minStartNs: span.startTimeUnixNs,
            maxEndNs: span.endTimeUnixNs,
            firstWriteMs: nowMs,
            lastWriteMs: nowMs,
            bytes: 0,
            segment,
          };
          th.traces.set(span.traceId, t);
        }
        if (t.spanIds.has(span.spanId)) continue;
        t.spanIds.add(span.spanId);
        t.spans.push({ span, resource: rec.resource });
        if (span.startTimeUnixNs < t.minStartNs) t.minStartNs = span.startTimeUnixNs;
        if (span.endTimeUnixNs > t.maxEndNs) t.maxEndNs = span.endTimeUnixNs;
        t.lastWriteMs = nowMs;
        if (segment < t.segment) t.segment = segment;
        t.bytes += bytesPerSpan;
        th.bytes += bytesPerSpan;
        th.spans++;
        this.bytes += bytesPerSpan;
        added++;
      }
    }
    return added;
  }

  /** Drops traces (cut into a block). */
  remove(tenant: TenantId, traceIds: Iterable<string>): void {
    const th = this.tenants.get(tenant);
    if (!th) return;
    for (const id of traceIds) {
      const t = th.traces.get(id);
      if (!t) continue;
      th.traces.delete(id);
      th.bytes -= t.bytes;
      th.spans -= t.spans.length;
      this.bytes -= t.bytes;
    }
    if (th.traces.size === 0) this.tenants.delete(tenant);
  }

  /** The lowest WAL segment any held span came from (Infinity when empty). */
  minSegment(): number {
    let min = Infinity;
    for (const th of this.tenants.values()) for (const t of th.traces.values()) if (t.segment < min) min = t.segment;
    return min;
  }
}
