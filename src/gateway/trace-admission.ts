import { HeimdallError } from '../model/index.ts';
import type { Attribute, AttributeValue, Rejection, Span, SpanRecord, TenantId } from '../model/index.ts';
import { TokenBucket } from './token-bucket.ts';

/** The per-tenant trace ingest limits, with Tempo's names (its `overrides`); 0 turns a limit off. */
export interface TraceIngestLimits {
  /** Bytes one trace may reach while it is live (Tempo's `max_bytes_per_trace`). */
  readonly max_bytes_per_trace: number;
  /** Longer attribute keys and string values are truncated to this many bytes (Tempo's `max_attribute_bytes`). */
  readonly max_attribute_bytes: number;
  /** Span bytes per second a tenant may write (Tempo's `ingestion_rate_limit_bytes`, local strategy). */
  readonly ingestion_rate_limit_bytes: number;
  /** The bucket size of that rate (Tempo's `ingestion_burst_size_bytes`). */
  readonly ingestion_burst_size_bytes: number;
  /** Traces a tenant may have live at once (Tempo's `max_traces_per_user`). */
  readonly max_traces_per_user: number;
}

/** The setting prefix named in limit messages. */
const SETTING = 'traces.limits';

/** What admission kept of one tenant's batch, what it refused, and how many attributes it truncated. */
export interface Admitted {
  readonly records: SpanRecord[];
  readonly rejections: Rejection[];
  readonly truncatedAttributes: number;
}

interface LiveTrace {
  bytes: number;
  lastSeenMs: number;
}

interface TenantState {
  readonly bucket: TokenBucket;
  /** Live traces in order of last activity (an entry is moved to the end when touched). */
  readonly live: Map<string, LiveTrace>;
}

/**
 * Tempo's ingest limits for traces, per tenant: attribute truncation, the ingestion rate (a token bucket of
 * span bytes; a batch over it is refused whole with a retryable 429, as Tempo's distributor does), live
 * traces (a trace is live while spans keep arriving within `traceIdleMs`; a span that would start a trace
 * past `max_traces_per_user` is refused, `live_traces_exceeded`) and bytes per live trace (a span that
 * would take its trace past `max_bytes_per_trace` is refused, `trace_too_large`). Sizes are estimates of the
 * spans' OTLP protobuf size.
 *
 * State is this process's (a gateway of a split deployment counts only what it receives) and is taken when
 * a batch is admitted, before it is committed: a batch that then fails to commit still counts, which errs
 * on the side of refusing. Memory is bounded by `max_traces_per_user` per tenant. Not for concurrent use
 * from several threads (Node's one event loop is fine).
 */
export class TraceAdmission {
  private readonly tenants = new Map<TenantId, TenantState>();

  constructor(
    private readonly limitsFor: (tenant: TenantId) => TraceIngestLimits,
    private readonly traceIdleMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * Applies the tenant's limits to its records. Throws a `rate_limited` HeimdallError (429 with
   * `Retry-After`) when the batch does not fit the tenant's ingestion rate; `onRateLimited` is called first
   * with the spans refused, so they are counted.
   */
  admit(tenant: TenantId, records: readonly SpanRecord[], onRateLimited: (spans: number) => void): Admitted {
    const limits = this.limitsFor(tenant);
    const nowMs = this.now();
    let truncatedAttributes = 0;
    let work: readonly SpanRecord[] = records;
    if (limits.max_attribute_bytes > 0) {
      const t = new Truncator(limits.max_attribute_bytes);
      work = records.map((r) => t.record(r));
      truncatedAttributes = t.count;
    }
    const state = this.stateOf(tenant, limits, nowMs);
    const sizes = work.map((r) => r.spans.map(estimateSpanBytes));
    if (limits.ingestion_rate_limit_bytes > 0) {
      let total = 0;
      let spans = 0;
      for (let i = 0; i < work.length; i++) {
        total += estimateAttributesBytes(work[i]!.resource);
        for (const s of sizes[i]!) total += s;
        spans += work[i]!.spans.length;
      }
      const burst = Math.max(limits.ingestion_burst_size_bytes, 1);
      const waitMs = state.bucket.take(total, limits.ingestion_rate_limit_bytes, burst, nowMs);
      if (waitMs > 0) {
        onRateLimited(spans);
        const message = waitMs === Infinity
          ? `RATE_LIMITED: batch of ${total} span bytes exceeds the ingestion burst size (${burst} bytes) of tenant ${tenant}; send smaller batches or raise ${SETTING}.ingestion_burst_size_bytes`
          : `RATE_LIMITED: ingestion rate limit (${limits.ingestion_rate_limit_bytes} bytes/s, burst ${burst}) exceeded while adding ${total} bytes for tenant ${tenant}; retry later or raise ${SETTING}.ingestion_rate_limit_bytes`;
        throw new HeimdallError('rate_limited', message, {
          code: 'rate_limited',
          retryAfterSeconds: waitMs === Infinity ? 1 : Math.max(1, Math.ceil(waitMs / 1000)),
        });
      }
    }
    this.expire(state, nowMs);
    const refused = new Map<string, { reason: 'trace_too_large' | 'live_traces_exceeded'; traceId: string; count: number }>();
    const out: SpanRecord[] = [];
    for (let i = 0; i < work.length; i++) {
      const record = work[i]!;
      const kept: Span[] = [];
      for (let j = 0; j < record.spans.length; j++) {
        const span = record.spans[j]!;
        const reason = this.place(state, limits, span.traceId, sizes[i]![j]!, nowMs);
        if (reason === undefined) {
          kept.push(span);
          continue;
        }
        const key = `${reason}/${span.traceId}`;
        const r = refused.get(key);
        if (r) r.count++;
        else refused.set(key, { reason, traceId: span.traceId, count: 1 });
      }
      if (kept.length === record.spans.length) out.push(record);
      else if (kept.length > 0) out.push({ resource: record.resource, spans: kept });
    }
    const rejections: Rejection[] = [];
    for (const r of refused.values()) {
      const message = r.reason === 'trace_too_large'
        ? `TRACE_TOO_LARGE: max size of trace (${limits.max_bytes_per_trace} bytes) exceeded while adding spans to trace ${r.traceId} for tenant ${tenant} (${SETTING}.max_bytes_per_trace)`
        : `LIVE_TRACES_EXCEEDED: max live traces per tenant exceeded: per-user traces limit (${limits.max_traces_per_user}) reached for tenant ${tenant}, trace ${r.traceId} refused (${SETTING}.max_traces_per_user)`;
      rejections.push({ signal: 'traces', reason: r.reason, message, count: r.count });
    }
    return { records: out, rejections, truncatedAttributes };
  }

  /** Live traces of a tenant now (for tests and self-metrics). */
  liveTraces(tenant: TenantId): number {
    const state = this.tenants.get(tenant);
    if (!state) return 0;
    this.expire(state, this.now());
    return state.live.size;
  }

  /** Adds a span's bytes to its live trace, or says why it may not. */
  private place(state: TenantState, limits: TraceIngestLimits, traceId: string, bytes: number, nowMs: number): 'trace_too_large' | 'live_traces_exceeded' | undefined {
    let t = state.live.get(traceId);
    if (t === undefined) {
      if (limits.max_traces_per_user > 0 && state.live.size >= limits.max_traces_per_user) return 'live_traces_exceeded';
      t = { bytes: 0, lastSeenMs: nowMs };
    } else {
      state.live.delete(traceId);
    }
    // Re-inserted (or inserted) at the end: the map stays ordered by last activity.
    state.live.set(traceId, t);
    t.lastSeenMs = nowMs;
    if (limits.max_bytes_per_trace > 0 && t.bytes + bytes > limits.max_bytes_per_trace) return 'trace_too_large';
    t.bytes += bytes;
    return undefined;
  }

  private stateOf(tenant: TenantId, limits: TraceIngestLimits, nowMs: number): TenantState {
    let s = this.tenants.get(tenant);
    if (!s) this.tenants.set(tenant, (s = { bucket: new TokenBucket(limits.ingestion_burst_size_bytes, nowMs), live: new Map() }));
    return s;
  }

  /** Drops traces idle for longer than the idle period, oldest first (the map's order). */
  private expire(state: TenantState, nowMs: number): void {
    for (const [id, t] of state.live) {
      if (nowMs - t.lastSeenMs < this.traceIdleMs) break;
      state.live.delete(id);
    }
  }
}

/** Truncates attribute keys and string values (arrays' strings too) to a byte limit, counting what it cut. */
class Truncator {
  count = 0;
  constructor(private readonly maxBytes: number) {}

  record(r: SpanRecord): SpanRecord {
    const resource = this.attributes(r.resource);
    let changed = resource !== r.resource;
    const spans = r.spans.map((s) => {
      const t = this.span(s);
      if (t !== s) changed = true;
      return t;
    });
    return changed ? { resource, spans } : r;
  }

  private span(s: Span): Span {
    const attributes = this.attributes(s.attributes);
    const events = s.events?.map((e) => {
      const a = e.attributes && this.attributes(e.attributes);
      return a === e.attributes ? e : { ...e, attributes: a! };
    });
    const links = s.links?.map((l) => {
      const a = l.attributes && this.attributes(l.attributes);
      return a === l.attributes ? l : { ...l, attributes: a! };
    });
    const scopeAttrs = s.scope.attributes && this.attributes(s.scope.attributes);
    const sameEvents = events === undefined || events.every((e, i) => e === s.events![i]);
    const sameLinks = links === undefined || links.every((l, i) => l === s.links![i]);
    if (attributes === s.attributes && sameEvents && sameLinks && scopeAttrs === s.scope.attributes) return s;
    return {
      ...s,
      attributes,
      ...(events !== undefined ? { events } : {}),
      ...(links !== undefined ? { links } : {}),
      ...(scopeAttrs !== s.scope.attributes ? { scope: { ...s.scope, attributes: scopeAttrs! } } : {}),
    };
  }

  private attributes(attrs: readonly Attribute[]): readonly Attribute[] {
    let out: Attribute[] | undefined;
    for (let i = 0; i < attrs.length; i++) {
      const a = attrs[i]!;
      const key = this.cut(a.key);
      const value = this.value(a.value);
      if (key === a.key && value === a.value) continue;
      out ??= attrs.slice();
      out[i] = { key, value };
    }
    return out ?? attrs;
  }

  private value(v: AttributeValue): AttributeValue {
    if (typeof v === 'string') return this.cut(v);
    if (!Array.isArray(v)) return v;
    const arr = v as readonly (string | number | boolean)[];
    let out: (string | number | boolean)[] | undefined;
    for (let i = 0; i < arr.length; i++) {
      const e = arr[i]!;
      if (typeof e !== 'string') continue;
      const c = this.cut(e);
      if (c === e) continue;
      out ??= arr.slice();
      out[i] = c;
    }
    return out ?? v;
  }

  /** The string cut to the byte limit on a UTF-8 character boundary (unchanged, the same string, when it fits). */
  private cut(s: string): string {
    // A string of at most maxBytes/3 UTF-16 units cannot exceed maxBytes in UTF-8.
    if (s.length * 3 <= this.maxBytes || Buffer.byteLength(s, 'utf8') <= this.maxBytes) return s;
    this.count++;
    const buf = Buffer.from(s, 'utf8');
    let end = this.maxBytes;
    while (end > 0 && (buf[end]! & 0xc0) === 0x80) end--;
    return buf.subarray(0, end).toString('utf8');
  }
}

/**
 * A span's size as OTLP protobuf would carry it, estimated (ids, times, strings, attributes, events,
 * links): what `max_bytes_per_trace` and the ingestion rate count, as Tempo counts proto sizes.
 */
export function estimateSpanBytes(s: Span): number {
  let n = 16 + 8 + 18 + 4 + 10 + utf8Bytes(s.name);
  if (s.parentSpanId !== undefined) n += 10;
  if (s.traceState !== undefined) n += 2 + utf8Bytes(s.traceState);
  if (s.statusMessage !== undefined) n += 2 + utf8Bytes(s.statusMessage);
  n += estimateAttributesBytes(s.attributes);
  for (const e of s.events ?? []) n += 12 + utf8Bytes(e.name) + estimateAttributesBytes(e.attributes ?? []);
  for (const l of s.links ?? []) n += 30 + (l.traceState === undefined ? 0 : utf8Bytes(l.traceState)) + estimateAttributesBytes(l.attributes ?? []);
  return n;
}

/** Attributes' size as OTLP protobuf would carry them, estimated. */
export function estimateAttributesBytes(attrs: readonly Attribute[]): number {
  let n = 0;
  for (const a of attrs) n += 6 + utf8Bytes(a.key) + valueBytes(a.value);
  return n;
}

function valueBytes(v: AttributeValue): number {
  if (typeof v === 'string') return utf8Bytes(v);
  if (typeof v === 'number') return 9;
  if (typeof v === 'boolean') return 2;
  let n = 2;
  for (const e of v as readonly (string | number | boolean)[]) n += 4 + valueBytes(e);
  return n;
}

function utf8Bytes(s: string): number {
  return Buffer.byteLength(s, 'utf8');
}
