import type { Attribute, AttributeScalar, AttributeValue, Span } from '../model/index.ts';

/**
 * Spans and attributes as OTLP message objects (protobufjs' camelCase shape, 64-bit integers as decimal
 * strings, ids as bytes): the one translation from the trace model back to OTLP, used by Tempo's protobuf
 * answers and by the gateway when it forwards spans over OTLP.
 */

const INT64_LIMIT = 2 ** 63;

function scalarObject(v: AttributeScalar): Record<string, unknown> {
  if (typeof v === 'string') return { stringValue: v };
  if (typeof v === 'boolean') return { boolValue: v };
  if (Number.isInteger(v) && Math.abs(v) < INT64_LIMIT) return { intValue: BigInt(v).toString() };
  return { doubleValue: v };
}

function anyValueObject(v: AttributeValue): Record<string, unknown> {
  if (!Array.isArray(v)) return scalarObject(v as AttributeScalar);
  return { arrayValue: { values: (v as readonly AttributeScalar[]).map(scalarObject) } };
}

/** OTLP `KeyValue` objects of an attribute list (absent gives none). */
export function attributesObject(attrs: readonly Attribute[] | undefined): Record<string, unknown>[] {
  return (attrs ?? []).map((a) => ({ key: a.key, value: anyValueObject(a.value) }));
}

function hex(id: string): Buffer {
  return Buffer.from(id, 'hex');
}

/** An OTLP `Span` object of a span (its scope is not part of it: OTLP groups spans under `ScopeSpans`). */
export function spanObject(s: Span): Record<string, unknown> {
  return {
    traceId: hex(s.traceId),
    spanId: hex(s.spanId),
    traceState: s.traceState ?? '',
    parentSpanId: s.parentSpanId === undefined ? Buffer.alloc(0) : hex(s.parentSpanId),
    name: s.name,
    kind: s.kind,
    startTimeUnixNano: s.startTimeUnixNs.toString(),
    endTimeUnixNano: s.endTimeUnixNs.toString(),
    attributes: attributesObject(s.attributes),
    droppedAttributesCount: s.droppedAttributesCount ?? 0,
    events: (s.events ?? []).map((e) => ({ timeUnixNano: e.timeUnixNs.toString(), name: e.name, attributes: attributesObject(e.attributes) })),
    droppedEventsCount: s.droppedEventsCount ?? 0,
    links: (s.links ?? []).map((l) => ({ traceId: hex(l.traceId), spanId: hex(l.spanId), traceState: l.traceState ?? '', attributes: attributesObject(l.attributes) })),
    droppedLinksCount: s.droppedLinksCount ?? 0,
    status: { message: s.statusMessage ?? '', code: s.statusCode },
  };
}
