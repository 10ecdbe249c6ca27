import type { InstrumentationScope, Rejection, Span, SpanEvent, SpanKind, SpanLink, SpanRecord, SpanStatusCode } from '../model/index.ts';
import { otlpAttributes, otlpUint64 } from './otlp-attributes.ts';
import type { OtlpBytes, OtlpInt64, OtlpKeyValue } from './otlp-attributes.ts';
import { ExportTraceServiceRequest } from './otlp-traces-proto.ts';
import { SPAN_ID_HEX_LENGTH, TRACE_ID_HEX_LENGTH, parentIdOf, spanProblem, spanRejection } from './span-checks.ts';

/**
 * A trace decode (OTLP or Zipkin): one record per resource with the spans that passed validation, a
 * rejection per refused span, how many spans the request carried (`partial_success` never counts more), and
 * each record's `k8s.namespace.name` (for tenants from namespaces).
 */
export interface SpanDecodeResult {
  readonly records: readonly SpanRecord[];
  readonly rejections: readonly Rejection[];
  readonly spans: number;
  readonly malformed?: string;
  readonly namespaces: ReadonlyMap<SpanRecord, string>;
}

/** The OTLP shapes shared by protobufjs-decoded messages and OTLP/JSON objects (camelCase, every field optional). */
type Enum = number | string | null | undefined;
interface OtlpEvent {
  timeUnixNano?: OtlpInt64;
  name?: string | null;
  attributes?: OtlpKeyValue[] | null;
}
interface OtlpLink {
  traceId?: OtlpBytes;
  spanId?: OtlpBytes;
  traceState?: string | null;
  attributes?: OtlpKeyValue[] | null;
}
interface OtlpSpan {
  traceId?: OtlpBytes;
  spanId?: OtlpBytes;
  traceState?: string | null;
  parentSpanId?: OtlpBytes;
  name?: string | null;
  kind?: Enum;
  startTimeUnixNano?: OtlpInt64;
  endTimeUnixNano?: OtlpInt64;
  attributes?: OtlpKeyValue[] | null;
  droppedAttributesCount?: number | null;
  events?: OtlpEvent[] | null;
  droppedEventsCount?: number | null;
  links?: OtlpLink[] | null;
  droppedLinksCount?: number | null;
  status?: { message?: string | null; code?: Enum } | null;
}
interface OtlpScopeSpans {
  scope?: { name?: string | null; version?: string | null; attributes?: OtlpKeyValue[] | null } | null;
  spans?: OtlpSpan[] | null;
}
interface OtlpResourceSpans {
  resource?: { attributes?: OtlpKeyValue[] | null } | null;
  scopeSpans?: OtlpScopeSpans[] | null;
}
interface OtlpExportTraceRequest {
  resourceSpans?: OtlpResourceSpans[] | null;
}

/** Decodes an OTLP/protobuf `ExportTraceServiceRequest` (decompressed) into span records. */
export function decodeOtlpTracesProtobuf(body: Uint8Array): SpanDecodeResult {
  let request: OtlpExportTraceRequest;
  try {
    request = ExportTraceServiceRequest.decode(body) as unknown as OtlpExportTraceRequest;
  } catch (err) {
    return malformedSpans(`malformed OTLP traces protobuf: ${(err as Error).message}`);
  }
  return translate(request, false);
}

/**
 * Decodes an OTLP/JSON `ExportTraceServiceRequest`: ids in hex as the OTLP/JSON specification says (base64
 * is tolerated, as some collectors send the proto3 JSON mapping), int64 as strings or numbers, enums as
 * numbers or names. A document of the wrong shape is malformed.
 */
export function decodeOtlpTracesJson(body: Uint8Array | string): SpanDecodeResult {
  let doc: unknown;
  try {
    doc = JSON.parse(typeof body === 'string' ? body : Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString('utf8'));
  } catch (err) {
    return malformedSpans(`malformed OTLP/JSON traces body: ${(err as Error).message}`);
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) return malformedSpans('malformed OTLP/JSON traces body: expected an object');
  try {
    return translate(doc, true);
  } catch (err) {
    return malformedSpans(`malformed OTLP/JSON traces body: ${(err as Error).message}`);
  }
}

/** A decode that failed as a whole (400). */
export function malformedSpans(message: string): SpanDecodeResult {
  return { records: [], rejections: [], spans: 0, malformed: message, namespaces: new Map() };
}

function translate(request: OtlpExportTraceRequest, json: boolean): SpanDecodeResult {
  const records: SpanRecord[] = [];
  const rejections: Rejection[] = [];
  const namespaces = new Map<SpanRecord, string>();
  let total = 0;
  for (const rs of list(request.resourceSpans, 'resourceSpans')) {
    const resource = otlpAttributes(list(rs.resource?.attributes, 'resource.attributes'));
    const spans: Span[] = [];
    for (const ss of list(rs.scopeSpans, 'scopeSpans')) {
      const scope = scopeOf(ss.scope);
      for (const s of list(ss.spans, 'spans')) {
        total++;
        const decoded = decodeSpan(s, scope, json);
        const problem = typeof decoded === 'string' ? decoded : spanProblem(decoded);
        if (problem !== undefined) rejections.push(spanRejection(problem));
        else spans.push(decoded as Span);
      }
    }
    if (spans.length === 0) continue;
    const record: SpanRecord = { resource, spans };
    records.push(record);
    const ns = resource.find((a) => a.key === 'k8s.namespace.name')?.value;
    if (typeof ns === 'string' && ns !== '') namespaces.set(record, ns);
  }
  return { records, rejections, spans: total, namespaces };
}

function scopeOf(s: OtlpScopeSpans['scope']): InstrumentationScope {
  const attributes = otlpAttributes(list(s?.attributes, 'scope.attributes'));
  return {
    name: s?.name ?? '',
    ...(s?.version ? { version: s.version } : {}),
    ...(attributes.length > 0 ? { attributes } : {}),
  };
}

/** One span, or the message saying why it cannot be one (an id or enum that does not decode). */
function decodeSpan(s: OtlpSpan, scope: InstrumentationScope, json: boolean): Span | string {
  if (typeof s !== 'object' || s === null) throw new TypeError('a span must be an object');
  const traceId = idHex(s.traceId, TRACE_ID_HEX_LENGTH, json);
  const spanId = idHex(s.spanId, SPAN_ID_HEX_LENGTH, json);
  const parent = idHex(s.parentSpanId, SPAN_ID_HEX_LENGTH, json);
  if (traceId === undefined || spanId === undefined || parent === undefined) {
    return `span ${JSON.stringify(s.spanId)} of trace ${JSON.stringify(s.traceId)}: an id is neither hex nor base64`;
  }
  const kind = enumValue(s.kind, KIND_NAMES);
  if (kind === undefined || kind > 5) return `span ${spanId} of trace ${traceId}: unknown span kind ${JSON.stringify(s.kind)}`;
  const code = enumValue(s.status?.code, STATUS_NAMES);
  if (code === undefined || code > 2) return `span ${spanId} of trace ${traceId}: unknown status code ${JSON.stringify(s.status?.code)}`;
  const attributes = otlpAttributes(list(s.attributes, 'attributes'));
  const events: SpanEvent[] = list(s.events, 'events').map((e) => {
    const attrs = otlpAttributes(list(e.attributes, 'event attributes'));
    return { timeUnixNs: otlpUint64(e.timeUnixNano), name: e.name ?? '', ...(attrs.length > 0 ? { attributes: attrs } : {}) };
  });
  const links: SpanLink[] = [];
  for (const l of list(s.links, 'links')) {
    const attrs = otlpAttributes(list(l.attributes, 'link attributes'));
    const linkTrace = idHex(l.traceId, TRACE_ID_HEX_LENGTH, json);
    const linkSpan = idHex(l.spanId, SPAN_ID_HEX_LENGTH, json);
    if (linkTrace?.length !== TRACE_ID_HEX_LENGTH || linkSpan?.length !== SPAN_ID_HEX_LENGTH) {
      return `span ${spanId} of trace ${traceId}: a link's trace id or span id is invalid`;
    }
    links.push({
      traceId: linkTrace,
      spanId: linkSpan,
      ...(l.traceState ? { traceState: l.traceState } : {}),
      ...(attrs.length > 0 ? { attributes: attrs } : {}),
    });
  }
  const parentSpanId = parentIdOf(parent);
  return {
    traceId,
    spanId,
    ...(parentSpanId !== undefined ? { parentSpanId } : {}),
    ...(s.traceState ? { traceState: s.traceState } : {}),
    name: s.name ?? '',
    kind: kind as SpanKind,
    startTimeUnixNs: otlpUint64(s.startTimeUnixNano),
    endTimeUnixNs: otlpUint64(s.endTimeUnixNano),
    attributes,
    statusCode: code as SpanStatusCode,
    ...(s.status?.message ? { statusMessage: s.status.message } : {}),
    ...(events.length > 0 ? { events } : {}),
    ...(links.length > 0 ? { links } : {}),
    scope,
    ...(s.droppedAttributesCount ? { droppedAttributesCount: s.droppedAttributesCount } : {}),
    ...(s.droppedEventsCount ? { droppedEventsCount: s.droppedEventsCount } : {}),
    ...(s.droppedLinksCount ? { droppedLinksCount: s.droppedLinksCount } : {}),
  };
}

const KIND_NAMES = ['SPAN_KIND_UNSPECIFIED', 'SPAN_KIND_INTERNAL', 'SPAN_KIND_SERVER', 'SPAN_KIND_CLIENT', 'SPAN_KIND_PRODUCER', 'SPAN_KIND_CONSUMER'];
const STATUS_NAMES = ['STATUS_CODE_UNSET', 'STATUS_CODE_OK', 'STATUS_CODE_ERROR'];

/** An enum as protobuf (a number) or proto3 JSON (a number or the value's name) gives it; undefined if neither. */
function enumValue(v: Enum, names: readonly string[]): number | undefined {
  if (v === null || v === undefined) return 0;
  if (typeof v === 'number') return Number.isInteger(v) && v >= 0 ? v : undefined;
  const i = names.indexOf(v);
  if (i >= 0) return i;
  return /^\d+$/.test(v) ? Number(v) : undefined;
}

const HEX = /^[0-9a-fA-F]*$/;
const BASE64 = /^[A-Za-z0-9+/_-]*={0,2}$/;

/**
 * An id as lowercase hex ('' when unset). OTLP/JSON carries hex; a string of the length a base64 encoding of
 * the expected byte count has (24 characters for a trace id, 12 for a span id) is read as base64 instead,
 * since those lengths cannot be valid hex ids. Undefined for a string that is neither.
 */
function idHex(v: OtlpBytes, hexLength: number, json: boolean): string | undefined {
  if (v === null || v === undefined) return '';
  if (typeof v !== 'string') {
    // protobufjs' default for an unset bytes field may be a plain empty array rather than a Buffer.
    return (v instanceof Uint8Array ? Buffer.from(v.buffer, v.byteOffset, v.byteLength) : Buffer.from(v)).toString('hex');
  }
  if (!json) return Buffer.from(v, 'base64').toString('hex');
  if (v.length !== hexLength && v.length === Math.ceil((hexLength / 2) / 3) * 4 && BASE64.test(v)) {
    return Buffer.from(v, 'base64').toString('hex');
  }
  return HEX.test(v) ? v.toLowerCase() : undefined;
}

/** A repeated field: absent is empty; anything but an array (in a JSON document) is malformed. */
function list<T>(v: readonly T[] | null | undefined, what: string): readonly T[] {
  if (v === null || v === undefined) return [];
  if (!Array.isArray(v)) throw new TypeError(`${what} must be an array`);
  return v;
}
