import type { Attribute, AttributeScalar } from '../../model/index.ts';
import type { StoredSpan, StoredTrace, TraceQuerier, TraceTimeRange } from '../../storage/index.ts';
import type { SpanSelection } from '../../traceql/index.ts';
import type { TagRef } from './tag-names.ts';

/** A typed tag value of the v2 API (`tempopb.TagValue`). */
export interface TagValue {
  readonly type: string;
  readonly value: string;
}

const STATUS = ['unset', 'ok', 'error'];
const KIND = ['unspecified', 'internal', 'server', 'client', 'producer', 'consumer'];

/** A stored value as Tempo types it: `string`, `int`, `float` or `bool`. */
export function typedValue(v: AttributeScalar): TagValue {
  if (typeof v === 'string') return { type: 'string', value: v };
  if (typeof v === 'boolean') return { type: 'bool', value: String(v) };
  return Number.isInteger(v) ? { type: 'int', value: String(v) } : { type: 'float', value: String(v) };
}

function push(out: TagValue[], list: readonly Attribute[] | undefined, name: string): boolean {
  for (const a of list ?? []) {
    if (a.key !== name) continue;
    for (const v of Array.isArray(a.value) ? (a.value as readonly AttributeScalar[]) : [a.value as AttributeScalar]) out.push(typedValue(v));
    return true;
  }
  return false;
}

/** The values `ref` has on one span of `trace` (an attribute, or an intrinsic by the storage seam's names). */
function valuesOn(s: StoredSpan, trace: StoredTrace, ref: TagRef, out: TagValue[]): void {
  const span = s.span;
  switch (ref.scope) {
    case 'span':
      push(out, span.attributes, ref.name);
      return;
    case 'resource':
      push(out, s.resource, ref.name);
      return;
    case 'any':
      if (!push(out, span.attributes, ref.name)) push(out, s.resource, ref.name);
      return;
    case 'event':
      for (const e of span.events ?? []) push(out, e.attributes, ref.name);
      return;
    case 'link':
      for (const l of span.links ?? []) push(out, l.attributes, ref.name);
      return;
    case 'instrumentation':
      push(out, span.scope.attributes, ref.name);
      return;
    case 'intrinsic':
      break;
  }
  const root = (): StoredSpan | undefined => trace.spans.find((x) => x.span.parentSpanId === undefined);
  switch (ref.name) {
    case 'name':
      out.push({ type: 'string', value: span.name });
      return;
    case 'statusMessage':
      if (span.statusMessage !== undefined && span.statusMessage !== '') out.push({ type: 'string', value: span.statusMessage });
      return;
    case 'status':
      out.push({ type: 'keyword', value: STATUS[span.statusCode]! });
      return;
    case 'kind':
      out.push({ type: 'keyword', value: KIND[span.kind]! });
      return;
    case 'event:name':
      for (const e of span.events ?? []) out.push({ type: 'string', value: e.name });
      return;
    case 'instrumentation:name':
      out.push({ type: 'string', value: span.scope.name });
      return;
    case 'instrumentation:version':
      if (span.scope.version !== undefined) out.push({ type: 'string', value: span.scope.version });
      return;
    case 'trace:rootService': {
      const r = root();
      if (r !== undefined) push(out, r.resource, 'service.name');
      return;
    }
    case 'trace:rootName': {
      const r = root();
      if (r !== undefined) out.push({ type: 'string', value: r.span.name });
    }
  }
}

/**
 * The distinct values of `ref` on the spans a TraceQL query selects (Tempo's autocomplete filtering), read
 * through the storage prefilter and evaluated exactly per trace; at most `limit` values, in first-seen order.
 */
export async function selectedTagValues(
  querier: TraceQuerier,
  selection: SpanSelection,
  ref: TagRef,
  range: TraceTimeRange,
  limit: number,
  signal: AbortSignal,
): Promise<TagValue[]> {
  const seen = new Map<string, TagValue>();
  const found: TagValue[] = [];
  for await (const batch of querier.select({ ...range, conditions: selection.conditions, conditionsMatch: 'all', signal })) {
    for (const trace of batch) {
      for (const s of selection.spansOf(trace)) {
        found.length = 0;
        valuesOn(s, trace, ref, found);
        for (const v of found) if (!seen.has(`${v.type}:${v.value}`)) seen.set(`${v.type}:${v.value}`, v);
        if (seen.size >= limit) return [...seen.values()].slice(0, limit);
      }
    }
  }
  return [...seen.values()];
}
