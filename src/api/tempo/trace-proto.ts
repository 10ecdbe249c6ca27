import { fileURLToPath } from 'node:url';
import protobuf from 'protobufjs';
import type { Attribute, AttributeScalar, AttributeValue, Span } from '../../model/index.ts';
import type { ShapedTrace } from './trace-shape.ts';

const tempoProto = fileURLToPath(new URL('../../../proto/tempo/tempo.proto', import.meta.url));

/** Tempo's protobuf messages (`proto/tempo/tempo.proto`, which imports OTLP's trace protos), loaded once. */
const root = protobuf.loadSync(tempoProto);
root.resolveAll();

/** `tempopb.Trace` (v1 trace by id with `Accept: application/protobuf`; wire-identical to OTLP `TracesData`). */
export const TempoTrace = root.lookupType('tempopb.Trace');
/** `tempopb.TraceByIDResponse` (v2 trace by id with `Accept: application/protobuf`). */
export const TraceByIDResponse = root.lookupType('tempopb.TraceByIDResponse');

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

function attributesObject(attrs: readonly Attribute[] | undefined): Record<string, unknown>[] {
  return (attrs ?? []).map((a) => ({ key: a.key, value: anyValueObject(a.value) }));
}

function hex(id: string): Buffer {
  return Buffer.from(id, 'hex');
}

function spanObject(s: Span): Record<string, unknown> {
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

function traceObject(trace: ShapedTrace): Record<string, unknown> {
  return {
    resourceSpans: trace.resources.map((r) => ({
      resource: { attributes: attributesObject(r.resource) },
      scopeSpans: r.scopes.map((s) => ({
        scope: { name: s.scope.name, version: s.scope.version ?? '', attributes: attributesObject(s.scope.attributes) },
        spans: s.spans.map(spanObject),
      })),
    })),
  };
}

/** `GET /api/traces/<id>` as protobuf: a `tempopb.Trace`. */
export function traceV1Proto(trace: ShapedTrace): Uint8Array {
  return TempoTrace.encode(traceObject(trace)).finish();
}

/** `GET /api/v2/traces/<id>` as protobuf: a `tempopb.TraceByIDResponse`, PARTIAL with `message` when cut. */
export function traceV2Proto(trace: ShapedTrace, message: string | undefined): Uint8Array {
  return TraceByIDResponse.encode({
    trace: traceObject(trace),
    metrics: { inspectedBytes: trace.storedBytes },
    status: trace.partial ? 1 : 0,
    message: trace.partial ? (message ?? '') : '',
  }).finish();
}
