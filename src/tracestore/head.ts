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

/** What a read sees of one trace in the head: a live trace, or spans a cut took out after the reader began. */
export interface HeadTraceView {
  readonly traceId: string;
  readonly spans: readonly StoredSpan[];
  readonly minStartNs: bigint;
  readonly maxEndNs: bigint;
}

/** Spans a cut wrote into a block at catalog `version`, kept for readers that began before it. */
interface RetiredSpans extends HeadTraceView {
  readonly version: number;
}

/** One tenant's live traces. */
class TenantHead {
  readonly traces = new Map<string, HeadTrace>();
  /** Spans cut into blocks that readers of older catalog versions may still need, oldest first. */
  retired: RetiredSpans[] = [];
  bytes = 0;
  spans = 0;
}

/**
 * The in-memory part of the trace store: spans made durable in the WAL, grouped by tenant and trace id, until a
 * head cut writes complete traces into blocks. Spans of one trace arriving over several commits accumulate
 * in one {@link HeadTrace}; a span id already held is ignored (its first copy wins).
 *
 * Contract: single-threaded (the event loop); mutated only by {@link Head.apply} (called when a WAL frame is
 * durable, or replayed), {@link Head.cut} (a head cut, right after its block was published) and
 * {@link Head.prune}. Readers go through {@link Head.visible} synchronously or copy what they need first.
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
  apply(
    tenant: TenantId,
    records: readonly SpanRecord[],
    segment: number,
    bytesPerSpan: number,
    nowMs: number,
    inBlock?: (traceId: string, spanId: string) => boolean,
  ): number {
    let th = this.tenants.get(tenant);
    if (!th) this.tenants.set(tenant, (th = new TenantHead()));
    let added = 0;
    for (const rec of records) {
      for (const span of rec.spans) {
        // Replay: a span a cut already wrote into a block (the WAL was not truncated yet) stays there.
        if (inBlock?.(span.traceId, span.spanId)) continue;
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

  /**
   * A cut wrote the first `count` spans of a trace into a block published at catalog `version`: they leave the
   * live trace (kept as retired spans for readers of older versions until {@link prune}); spans that arrived
   * meanwhile stay live, noted as coming from `segment` or later (the WAL segment current when the cut took
   * its snapshot).
   */
  cut(tenant: TenantId, traceId: string, count: number, version: number, segment: number): void {
    const th = this.tenants.get(tenant);
    const t = th?.traces.get(traceId);
    if (!th || !t) return;
    const taken = t.spans.splice(0, count);
    const bytes = t.spans.length === 0 ? t.bytes : Math.round((t.bytes * taken.length) / (taken.length + t.spans.length));
    th.retired.push({ version, traceId, spans: taken, ...timeBounds(taken) });
    t.bytes -= bytes;
    th.bytes -= bytes;
    this.bytes -= bytes;
    th.spans -= taken.length;
    if (t.spans.length === 0) {
      th.traces.delete(traceId);
      if (th.traces.size === 0) {
        // Per-span byte estimates are fractions: an empty tenant drops the rounding residue.
        this.bytes -= th.bytes;
        th.bytes = 0;
        if (this.bytes < 1e-3) this.bytes = 0;
      }
    } else {
      Object.assign(t, timeBounds(t.spans));
      t.segment = segment;
    }
  }

  /** Forgets retired spans no reader needs: those cut at or before `oldestReadVersion`. */
  prune(oldestReadVersion: number): void {
    for (const [id, th] of this.tenants) {
      if (th.retired.length > 0 && th.retired[0]!.version <= oldestReadVersion) {
        th.retired = th.retired.filter((r) => r.version > oldestReadVersion);
      }
      if (th.traces.size === 0 && th.retired.length === 0) this.tenants.delete(id);
    }
  }

  /** The traces a reader of catalog `version` sees in the head: the live ones, then spans cut after `version`. */
  *visible(tenant: TenantId, version: number): Iterable<HeadTraceView> {
    const th = this.tenants.get(tenant);
    if (!th) return;
    yield* th.traces.values();
    for (const r of th.retired) if (r.version > version) yield r;
  }

  /** The live spans of `traceId` and, for a reader of `version`, its spans cut since (a list per part). */
  *spansOf(tenant: TenantId, traceId: string, version: number): Iterable<readonly StoredSpan[]> {
    const th = this.tenants.get(tenant);
    if (!th) return;
    const t = th.traces.get(traceId);
    if (t) yield t.spans;
    for (const r of th.retired) if (r.version > version && r.traceId === traceId) yield r.spans;
  }

  /** The lowest WAL segment any held span came from (Infinity when empty). */
  minSegment(): number {
    let min = Infinity;
    for (const th of this.tenants.values()) for (const t of th.traces.values()) if (t.segment < min) min = t.segment;
    return min;
  }
}

function timeBounds(spans: readonly StoredSpan[]): { minStartNs: bigint; maxEndNs: bigint } {
  let minStartNs = spans[0]!.span.startTimeUnixNs;
  let maxEndNs = spans[0]!.span.endTimeUnixNs;
  for (const s of spans) {
    if (s.span.startTimeUnixNs < minStartNs) minStartNs = s.span.startTimeUnixNs;
    if (s.span.endTimeUnixNs > maxEndNs) maxEndNs = s.span.endTimeUnixNs;
  }
  return { minStartNs, maxEndNs };
}
