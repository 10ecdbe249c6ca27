import type { Attribute, AttributeScalar, AttributeValue, InstrumentationScope, Span, SpanEvent, SpanLink } from '../../model/index.ts';
import type { ResourceGroup, ShapedTrace } from './trace-shape.ts';

/*
 * Traces in the JSON Tempo writes: gogo `jsonpb` over its OTLP protos (`tempopb.MarshalToJSONV1` for v1,
 * plain jsonpb for v2). So ids are base64 (protobuf `bytes`), 64-bit integers are strings, enums are their
 * names, zero values are left out, and a span always has a `status` object.
 */

const SPAN_KINDS = ['SPAN_KIND_UNSPECIFIED', 'SPAN_KIND_INTERNAL', 'SPAN_KIND_SERVER', 'SPAN_KIND_CLIENT', 'SPAN_KIND_PRODUCER', 'SPAN_KIND_CONSUMER'];
const STATUS_CODES = ['STATUS_CODE_UNSET', 'STATUS_CODE_OK', 'STATUS_CODE_ERROR'];

/** A lowercase hex id as jsonpb writes protobuf bytes: standard base64. */
export function hexToBase64(hex: string): string {
  return Buffer.from(hex, 'hex').toString('base64');
}

/** jsonpb's double: a JSON number, or the strings `NaN`, `Infinity`, `-Infinity`. */
function doubleJson(n: number): string {
  if (Number.isNaN(n)) return '"NaN"';
  if (!Number.isFinite(n)) return n > 0 ? '"Infinity"' : '"-Infinity"';
  return JSON.stringify(n);
}

const INT64_LIMIT = 2 ** 63;

function scalarJson(v: AttributeScalar): string {
  if (typeof v === 'string') return `{"stringValue":${JSON.stringify(v)}}`;
  if (typeof v === 'boolean') return `{"boolValue":${v}}`;
  // The store keeps int and double as number; an integral value was an OTLP int (see model/span.ts).
  if (Number.isInteger(v) && Math.abs(v) < INT64_LIMIT) return `{"intValue":"${BigInt(v).toString()}"}`;
  return `{"doubleValue":${doubleJson(v)}}`;
}

/** An attribute value as OTLP JSON's `AnyValue`. */
export function anyValueJson(v: AttributeValue): string {
  if (!Array.isArray(v)) return scalarJson(v as AttributeScalar);
  const items = (v as readonly AttributeScalar[]).map(scalarJson);
  return items.length === 0 ? '{"arrayValue":{}}' : `{"arrayValue":{"values":[${items.join(',')}]}}`;
}

/** A `KeyValue` list, or undefined when empty (jsonpb leaves empty repeated fields out). */
function attributesJson(attrs: readonly Attribute[] | undefined): string | undefined {
  if (attrs === undefined || attrs.length === 0) return undefined;
  return `[${attrs.map((a) => `{"key":${JSON.stringify(a.key)},"value":${anyValueJson(a.value)}}`).join(',')}]`;
}

/** Builds a JSON object from members in order, leaving out undefined ones. */
function object(members: [string, string | undefined][]): string {
  const parts: string[] = [];
  for (const [k, v] of members) if (v !== undefined) parts.push(`"${k}":${v}`);
  return `{${parts.join(',')}}`;
}

function str(s: string | undefined): string | undefined {
  return s === undefined || s === '' ? undefined : JSON.stringify(s);
}

function count(n: number | undefined): string | undefined {
  return n === undefined || n === 0 ? undefined : String(n);
}

function eventJson(e: SpanEvent): string {
  return object([
    ['timeUnixNano', e.timeUnixNs === 0n ? undefined : `"${e.timeUnixNs}"`],
    ['name', str(e.name)],
    ['attributes', attributesJson(e.attributes)],
  ]);
}

function linkJson(l: SpanLink): string {
  return object([
    ['traceId', `"${hexToBase64(l.traceId)}"`],
    ['spanId', `"${hexToBase64(l.spanId)}"`],
    ['traceState', str(l.traceState)],
    ['attributes', attributesJson(l.attributes)],
  ]);
}

/** One span as Tempo's jsonpb writes it. */
export function spanJson(s: Span): string {
  const events = s.events !== undefined && s.events.length > 0 ? `[${s.events.map(eventJson).join(',')}]` : undefined;
  const links = s.links !== undefined && s.links.length > 0 ? `[${s.links.map(linkJson).join(',')}]` : undefined;
  return object([
    ['traceId', `"${hexToBase64(s.traceId)}"`],
    ['spanId', `"${hexToBase64(s.spanId)}"`],
    ['traceState', str(s.traceState)],
    ['parentSpanId', s.parentSpanId === undefined ? undefined : `"${hexToBase64(s.parentSpanId)}"`],
    ['name', str(s.name)],
    ['kind', s.kind === 0 ? undefined : `"${SPAN_KINDS[s.kind]}"`],
    ['startTimeUnixNano', s.startTimeUnixNs === 0n ? undefined : `"${s.startTimeUnixNs}"`],
    ['endTimeUnixNano', s.endTimeUnixNs === 0n ? undefined : `"${s.endTimeUnixNs}"`],
    ['attributes', attributesJson(s.attributes)],
    ['droppedAttributesCount', count(s.droppedAttributesCount)],
    ['events', events],
    ['droppedEventsCount', count(s.droppedEventsCount)],
    ['links', links],
    ['droppedLinksCount', count(s.droppedLinksCount)],
    ['status', object([['message', str(s.statusMessage)], ['code', s.statusCode === 0 ? undefined : `"${STATUS_CODES[s.statusCode]}"`]])],
  ]);
}

function scopeJson(scope: InstrumentationScope): string {
  return object([['name', str(scope.name)], ['version', str(scope.version)], ['attributes', attributesJson(scope.attributes)]]);
}

function resourceSpansJson(group: ResourceGroup): string {
  const scopes = group.scopes.map((s) => `{"scope":${scopeJson(s.scope)},"spans":[${s.spans.map(spanJson).join(',')}]}`);
  return `{"resource":${object([['attributes', attributesJson(group.resource)]])},"scopeSpans":[${scopes.join(',')}]}`;
}

/** The resource spans of a shaped trace as a JSON array, or undefined when it has none. */
function resourceSpansArray(trace: ShapedTrace): string | undefined {
  return trace.resources.length === 0 ? undefined : `[${trace.resources.map(resourceSpansJson).join(',')}]`;
}

/** `GET /api/traces/<id>` in JSON: `{"batches":[...]}` (Tempo's v1 name for `resourceSpans`). */
export function traceV1Json(trace: ShapedTrace): string {
  return object([['batches', resourceSpansArray(trace)]]);
}

/**
 * `GET /api/v2/traces/<id>` in JSON: `tempopb.TraceByIDResponse` — `trace.resourceSpans`, `metrics`, and
 * `status: "PARTIAL"` with `message` when the trace was cut (COMPLETE is the zero value, left out).
 */
export function traceV2Json(trace: ShapedTrace, message: string | undefined): string {
  return object([
    ['trace', object([['resourceSpans', resourceSpansArray(trace)]])],
    ['metrics', object([['inspectedBytes', trace.storedBytes === 0 ? undefined : `"${trace.storedBytes}"`]])],
    ['status', trace.partial ? '"PARTIAL"' : undefined],
    ['message', trace.partial ? str(message) : undefined],
  ]);
}
