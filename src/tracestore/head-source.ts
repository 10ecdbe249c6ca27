import type { Attribute, AttributeScalar, AttributeValue, TenantId } from '../model/index.ts';
import type { AttributeScope, SpanCountParams, SpanCountRow, StoredSpan, TraceTimeRange } from '../storage/index.ts';
import type { Head } from './head.ts';
import { compileConditions } from './span-condition.ts';
import { isIntrinsicTag } from './span-source.ts';
import type { IntrinsicTag, Prefilter, SpanSource, TagScope } from './span-source.ts';

/** How many traces are scanned between checks of a select's abort signal. */
const ABORT_CHECK_EVERY = 4096;

/**
 * The head as a {@link SpanSource} for a reader of catalog `version`: scans its traces in memory (the head is
 * bounded by `head_max_bytes`), including spans cut into blocks the reader's snapshot does not have.
 */
export class HeadSource implements SpanSource {
  constructor(
    private readonly head: Head,
    private readonly version: number,
  ) {}

  idsInRange(tenant: TenantId, startNs: bigint, endNs: bigint, signal?: AbortSignal, only?: ReadonlySet<string>): Promise<Map<string, bigint>> {
    const out = new Map<string, bigint>();
    let n = 0;
    for (const t of this.head.visible(tenant, this.version)) {
      if (++n % ABORT_CHECK_EVERY === 0) signal?.throwIfAborted();
      if (t.maxEndNs < startNs || t.minStartNs >= endNs || (only && !only.has(t.traceId))) continue;
      if (t.spans.some((s) => inRange(s, startNs, endNs))) out.set(t.traceId, t.minStartNs);
    }
    return Promise.resolve(out);
  }

  idsMatching(tenant: TenantId, filter: Prefilter, near: TraceTimeRange, range: TraceTimeRange, signal?: AbortSignal): Promise<Map<string, bigint | undefined>> {
    const out = new Map<string, bigint | undefined>();
    let n = 0;
    for (const t of this.head.visible(tenant, this.version)) {
      if (++n % ABORT_CHECK_EVERY === 0) signal?.throwIfAborted();
      if (t.maxEndNs < near.startNs || t.minStartNs >= near.endNs) continue;
      // A trace whose every span starts inside a range (the usual case) needs no per-span check of it; its latest
      // end bounds every start (ingest refuses a span that ends before it starts: ingest/span-checks.ts).
      const allNear = t.minStartNs >= near.startNs && t.maxEndNs < near.endNs;
      const allInRange = t.minStartNs >= range.startNs && t.maxEndNs < range.endNs;
      let matched = false;
      let inSelectRange = false;
      for (const s of t.spans) {
        if ((!allNear && !inRange(s, near.startNs, near.endNs)) || !filter.predicate(s)) continue;
        matched = true;
        if (allInRange || inRange(s, range.startNs, range.endNs)) {
          inSelectRange = true;
          break;
        }
      }
      if (matched) out.set(t.traceId, inSelectRange ? t.minStartNs : undefined);
    }
    return Promise.resolve(out);
  }

  spansOf(tenant: TenantId, ids: ReadonlySet<string>): Promise<Map<string, StoredSpan[]>> {
    const out = new Map<string, StoredSpan[]>();
    for (const id of ids) {
      let spans: StoredSpan[] | undefined;
      // A copy: a later commit may push onto the head's array while the caller reads.
      for (const part of this.head.spansOf(tenant, id, this.version)) spans = spans ? spans.concat(part) : part.slice();
      if (spans) out.set(id, spans);
    }
    return Promise.resolve(out);
  }

  /** Exact for the engine's count conditions: the compiled predicate follows TraceQL for them, arrays included. */
  countSpans(tenant: TenantId, p: SpanCountParams, counted?: ReadonlyMap<string, ReadonlySet<string>>): Promise<SpanCountRow[]> {
    const groups = new Map<string, { interval: number; values: (AttributeValue | undefined)[]; count: number; exemplar: SpanCountRow['exemplar'] }>();
    const keep = compileConditions(p.conditions);
    let n = 0;
    for (const t of this.head.visible(tenant, this.version)) {
      if (++n % ABORT_CHECK_EVERY === 0) p.signal?.throwIfAborted();
      if (t.maxEndNs <= p.fromNs || t.minStartNs > p.toNs) continue;
      const elsewhere = counted?.get(t.traceId);
      for (const s of t.spans) {
        const ts = s.span.startTimeUnixNs;
        if (ts <= p.fromNs || ts > p.toNs || (keep && !keep(s)) || elsewhere?.has(s.span.spanId)) continue;
        const interval = Number((ts - p.fromNs - 1n) / p.stepNs);
        const values = p.groupBy.map((g) => (g.scope === 'span' ? s.span.attributes : s.resource).find((a) => a.key === g.name)?.value);
        const key = `${interval}\u0000${JSON.stringify(values)}`;
        const have = groups.get(key);
        if (have) have.count++;
        else groups.set(key, { interval, values, count: 1, exemplar: { traceId: t.traceId, spanId: s.span.spanId, startNs: ts } });
      }
    }
    return Promise.resolve([...groups.values()]);
  }

  tagNames(tenant: TenantId, scope: TagScope, range?: TraceTimeRange): Promise<Set<string>> {
    const names = new Set<string>();
    this.eachSpan(tenant, range, (s) => {
      for (const list of attributeLists(s, scope)) for (const a of list) names.add(a.key);
    });
    return Promise.resolve(names);
  }

  tagValues(
    tenant: TenantId,
    scope: AttributeScope,
    name: string,
    range: TraceTimeRange | undefined,
    limit: number,
    into: Map<string, AttributeScalar>,
  ): Promise<void> {
    if (scope === 'intrinsic') {
      if (isIntrinsicTag(name)) this.intrinsicValues(tenant, name, range, limit, into);
      return Promise.resolve();
    }
    const scopes: TagScope[] = scope === 'any' ? ['span', 'resource'] : [scope];
    this.eachSpan(tenant, range, (s) => {
      if (into.size >= limit) return;
      for (const sc of scopes) {
        for (const list of attributeLists(s, sc)) {
          for (const a of list) {
            if (a.key !== name) continue;
            const vs = Array.isArray(a.value) ? (a.value as readonly AttributeScalar[]) : [a.value as AttributeScalar];
            for (const v of vs) if (into.size < limit) into.set(valueKey(v), v);
          }
        }
      }
    });
    return Promise.resolve();
  }

  private intrinsicValues(tenant: TenantId, name: IntrinsicTag, range: TraceTimeRange | undefined, limit: number, into: Map<string, AttributeScalar>): void {
    const add = (v: string | undefined): void => {
      if (v !== undefined && v !== '' && into.size < limit) into.set(valueKey(v), v);
    };
    if (name === 'trace:rootService' || name === 'trace:rootName') {
      for (const t of this.head.visible(tenant, this.version)) {
        if (into.size >= limit) return;
        if (range && !t.spans.some((s) => inRange(s, range.startNs, range.endNs))) continue;
        const root = rootSpan(t.spans);
        if (!root) continue;
        if (name === 'trace:rootName') add(root.span.name);
        else add(serviceName(root.resource));
      }
      return;
    }
    this.eachSpan(tenant, range, (s) => {
      switch (name) {
        case 'name':
          return add(s.span.name);
        case 'statusMessage':
          return add(s.span.statusMessage);
        case 'event:name':
          for (const e of s.span.events ?? []) add(e.name);
          return;
        case 'instrumentation:name':
          return add(s.span.scope.name);
        case 'instrumentation:version':
          return add(s.span.scope.version);
      }
    });
  }

  private eachSpan(tenant: TenantId, range: TraceTimeRange | undefined, fn: (s: StoredSpan) => void): void {
    for (const t of this.head.visible(tenant, this.version)) {
      if (range && (t.maxEndNs < range.startNs || t.minStartNs >= range.endNs)) continue;
      for (const s of t.spans) if (!range || inRange(s, range.startNs, range.endNs)) fn(s);
    }
  }
}

/** Whether a span started in `[startNs, endNs)`. */
export function inRange(s: StoredSpan, startNs: bigint, endNs: bigint): boolean {
  return s.span.startTimeUnixNs >= startNs && s.span.startTimeUnixNs < endNs;
}

/** The identity of a tag value across types (1 and "1" are different values). */
export function valueKey(v: AttributeScalar): string {
  return `${typeof v}:${String(v)}`;
}

/** The attribute lists of a span in one scope. */
function attributeLists(s: StoredSpan, scope: TagScope): (readonly Attribute[])[] {
  switch (scope) {
    case 'span':
      return [s.span.attributes];
    case 'resource':
      return [s.resource];
    case 'instrumentation':
      return s.span.scope.attributes ? [s.span.scope.attributes] : [];
    case 'event':
      return (s.span.events ?? []).flatMap((e) => (e.attributes ? [e.attributes] : []));
    case 'link':
      return (s.span.links ?? []).flatMap((l) => (l.attributes ? [l.attributes] : []));
  }
}

/** The trace's root: the earliest span without a parent (Tempo's rule), or undefined when none has arrived. */
export function rootSpan(spans: readonly StoredSpan[]): StoredSpan | undefined {
  let root: StoredSpan | undefined;
  for (const s of spans) {
    if (s.span.parentSpanId !== undefined) continue;
    if (!root || s.span.startTimeUnixNs < root.span.startTimeUnixNs) root = s;
  }
  return root;
}

/** The resource's `service.name` as text, or undefined. */
export function serviceName(resource: readonly Attribute[]): string | undefined {
  const v = resource.find((a) => a.key === 'service.name')?.value;
  return typeof v === 'string' ? v : undefined;
}
