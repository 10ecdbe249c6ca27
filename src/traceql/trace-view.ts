import type { Attribute, AttributeValue, SpanEvent, SpanLink } from '../model/index.ts';
import type { StoredSpan, StoredTrace } from '../storage/index.ts';
import type { AttributeRef, KindName, Static, StatusName } from './ast.ts';
import type { FieldSource } from './field-eval.ts';
import { NIL } from './values.ts';

const STATUS_NAMES: readonly StatusName[] = ['unset', 'ok', 'error'];
const KIND_NAMES: readonly KindName[] = ['unspecified', 'internal', 'server', 'client', 'producer', 'consumer'];

/** What `trace:rootService` says when the root span has not arrived (Tempo's text). */
export const ROOT_SPAN_NOT_YET_RECEIVED = '<root span not yet received>';

/** An attribute value as a TraceQL value: ints and floats by `Number.isInteger`, arrays typed by their elements. */
export function toStatic(v: AttributeValue): Static {
  if (typeof v === 'string') return { type: 'string', value: v };
  if (typeof v === 'number') return { type: Number.isInteger(v) ? 'int' : 'float', value: v };
  if (typeof v === 'boolean') return { type: 'bool', value: v };
  const arr = v;
  if (arr.length === 0) return NIL;
  if (arr.every((x) => typeof x === 'number')) {
    const nums = arr;
    return { type: nums.every((x) => Number.isInteger(x)) ? 'intArray' : 'floatArray', value: nums };
  }
  if (arr.every((x) => typeof x === 'boolean')) return { type: 'boolArray', value: arr };
  return { type: 'stringArray', value: arr.map((x) => String(x)) };
}

/** Attribute lists turned into lookup maps once per list (a resource's list is shared by its spans). */
const attributeMaps = new WeakMap<readonly Attribute[], Map<string, Static>>();

function lookup(list: readonly Attribute[] | undefined, name: string): Static {
  if (list === undefined || list.length === 0) return NIL;
  let m = attributeMaps.get(list);
  if (m === undefined) {
    m = new Map();
    for (const a of list) if (!m.has(a.key)) m.set(a.key, toStatic(a.value));
    attributeMaps.set(list, m);
  }
  return m.get(name) ?? NIL;
}

/**
 * One span of a trace being evaluated, with its place in the trace's tree (parent, children, nested-set
 * numbers as Tempo computes them: depth-first from each root, roots' `nestedSetParent` is -1).
 */
export class EvalSpan {
  parent: EvalSpan | undefined;
  readonly children: EvalSpan[] = [];
  nestedSetLeft = 0;
  nestedSetRight = 0;
  nestedSetParent = 0;
  readonly durationNs: number;
  readonly startNs: bigint;

  constructor(
    readonly stored: StoredSpan,
    readonly trace: TraceView,
    /** Position in the trace's canonical order (start time, then span id): output order of spansets. */
    readonly index: number,
  ) {
    this.startNs = stored.span.startTimeUnixNs;
    this.durationNs = Number(stored.span.endTimeUnixNs - stored.span.startTimeUnixNs);
  }

  get serviceName(): string | undefined {
    const v = lookup(this.stored.resource, 'service.name');
    return v.type === 'string' ? v.value : undefined;
  }

  get isError(): boolean {
    return this.stored.span.statusCode === 2;
  }

  /** The value of an attribute or intrinsic; `event`/`link` bind the event or link that scope reads. */
  attribute(ref: AttributeRef, event?: SpanEvent, link?: SpanLink): Static {
    const span = this.stored.span;
    if (ref.intrinsic !== undefined) {
      switch (ref.intrinsic) {
        case 'span:duration':
          return { type: 'duration', value: this.durationNs };
        case 'span:name':
          return { type: 'string', value: span.name };
        case 'span:status':
          return { type: 'status', value: STATUS_NAMES[span.statusCode] ?? 'unset' };
        case 'span:statusMessage':
          return { type: 'string', value: span.statusMessage ?? '' };
        case 'span:kind':
          return { type: 'kind', value: KIND_NAMES[span.kind] ?? 'unspecified' };
        case 'span:childCount':
          return { type: 'int', value: this.children.length };
        case 'span:id':
          return { type: 'string', value: span.spanId };
        case 'span:parentID':
          return { type: 'string', value: span.parentSpanId ?? '' };
        case 'trace:id':
          return { type: 'string', value: span.traceId.replace(/^0+/, '') };
        case 'trace:rootService':
          return { type: 'string', value: this.trace.rootServiceName };
        case 'trace:rootName':
          return { type: 'string', value: this.trace.rootSpanName };
        case 'trace:duration':
          return { type: 'duration', value: this.trace.durationNs };
        case 'nestedSetLeft':
          return { type: 'int', value: this.nestedSetLeft };
        case 'nestedSetRight':
          return { type: 'int', value: this.nestedSetRight };
        case 'nestedSetParent':
          return { type: 'int', value: this.nestedSetParent };
        case 'event:name':
          return event === undefined ? NIL : { type: 'string', value: event.name };
        case 'event:timeSinceStart':
          return event === undefined ? NIL : { type: 'duration', value: Number(event.timeUnixNs - span.startTimeUnixNs) };
        case 'link:traceID':
          return link === undefined ? NIL : { type: 'string', value: link.traceId };
        case 'link:spanID':
          return link === undefined ? NIL : { type: 'string', value: link.spanId };
        case 'instrumentation:name':
          return { type: 'string', value: span.scope.name };
        case 'instrumentation:version':
          return span.scope.version === undefined ? NIL : { type: 'string', value: span.scope.version };
        case 'parent':
          return NIL;
      }
    }
    if (ref.parent) return NIL;
    switch (ref.scope) {
      case 'span':
        return lookup(span.attributes, ref.name);
      case 'resource':
        return lookup(this.stored.resource, ref.name);
      case 'event':
        return lookup(event?.attributes, ref.name);
      case 'link':
        return lookup(link?.attributes, ref.name);
      case 'instrumentation':
        return lookup(span.scope.attributes, ref.name);
      case 'none': {
        // Unscoped: span attributes first, then resource (the storage prefilter's `any` looks at the same two).
        const s = lookup(span.attributes, ref.name);
        return s.type !== 'nil' ? s : lookup(this.stored.resource, ref.name);
      }
    }
  }

  /** A field source reading this span (and, when given, one of its events and links). */
  source(event?: SpanEvent, link?: SpanLink): FieldSource {
    return { attribute: (ref) => this.attribute(ref, event, link) };
  }
}

/** A trace prepared for evaluation: spans in canonical order, the tree, and trace-level intrinsics. */
export class TraceView {
  readonly spans: EvalSpan[];
  readonly traceId: string;
  readonly startNs: bigint;
  readonly durationNs: number;
  readonly rootServiceName: string;
  readonly rootSpanName: string;

  constructor(trace: StoredTrace) {
    this.traceId = trace.traceId;
    const sorted = [...trace.spans].sort((a, b) =>
      a.span.startTimeUnixNs < b.span.startTimeUnixNs ? -1 : a.span.startTimeUnixNs > b.span.startTimeUnixNs ? 1 : a.span.spanId < b.span.spanId ? -1 : a.span.spanId > b.span.spanId ? 1 : 0,
    );
    this.spans = sorted.map((s, i) => new EvalSpan(s, this, i));
    let start: bigint | undefined;
    let end: bigint | undefined;
    const byId = new Map<string, EvalSpan>();
    for (const s of this.spans) {
      if (!byId.has(s.stored.span.spanId)) byId.set(s.stored.span.spanId, s);
      const st = s.stored.span.startTimeUnixNs;
      const en = s.stored.span.endTimeUnixNs;
      if (start === undefined || st < start) start = st;
      if (end === undefined || en > end) end = en;
    }
    this.startNs = start ?? 0n;
    this.durationNs = start === undefined || end === undefined ? 0 : Number(end - start);
    const roots: EvalSpan[] = [];
    for (const s of this.spans) {
      const pid = s.stored.span.parentSpanId;
      const p = pid === undefined ? undefined : byId.get(pid);
      if (p !== undefined && p !== s) {
        s.parent = p;
        p.children.push(s);
      } else {
        roots.push(s);
      }
    }
    const root = roots.find((s) => s.stored.span.parentSpanId === undefined);
    this.rootServiceName = root === undefined ? ROOT_SPAN_NOT_YET_RECEIVED : (root.serviceName ?? '');
    this.rootSpanName = root === undefined ? '' : root.stored.span.name;
    // Nested sets, iteratively (deep traces must not overflow the stack). A cycle in bad data is cut.
    let counter = 1;
    const visited = new Set<EvalSpan>();
    for (const r of roots) {
      const stack: { span: EvalSpan; child: number }[] = [{ span: r, child: 0 }];
      r.nestedSetParent = -1;
      r.nestedSetLeft = counter++;
      visited.add(r);
      while (stack.length > 0) {
        const top = stack[stack.length - 1]!;
        const next = top.span.children[top.child++];
        if (next === undefined) {
          top.span.nestedSetRight = counter++;
          stack.pop();
          continue;
        }
        if (visited.has(next)) continue;
        visited.add(next);
        next.nestedSetParent = top.span.nestedSetLeft;
        next.nestedSetLeft = counter++;
        stack.push({ span: next, child: 0 });
      }
    }
  }

  /** Per-service span and error counts (Tempo's `serviceStats`). */
  serviceStats(): Map<string, { spanCount: number; errorCount: number }> {
    const out = new Map<string, { spanCount: number; errorCount: number }>();
    for (const s of this.spans) {
      const name = s.serviceName ?? '';
      let st = out.get(name);
      if (st === undefined) out.set(name, (st = { spanCount: 0, errorCount: 0 }));
      st.spanCount++;
      if (s.isError) st.errorCount++;
    }
    return out;
  }
}
