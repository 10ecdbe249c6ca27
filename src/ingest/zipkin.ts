import type { Attribute, AttributeValue, InstrumentationScope, Rejection, Span, SpanEvent, SpanKind, SpanRecord, SpanStatusCode } from '../model/index.ts';
import { malformedSpans } from './otlp-traces.ts';
import type { SpanDecodeResult } from './otlp-traces.ts';
import { SPAN_ID_HEX_LENGTH, TRACE_ID_HEX_LENGTH, parentIdOf, spanProblem, spanRejection } from './span-checks.ts';

/** A Zipkin v2 endpoint (`localEndpoint`, `remoteEndpoint`). */
interface ZipkinEndpoint {
  serviceName?: unknown;
  ipv4?: unknown;
  ipv6?: unknown;
  port?: unknown;
}

/** A Zipkin v2 JSON span (zipkin-api's `zipkin2-api.yaml`): times in microseconds, ids in hex. */
interface ZipkinSpan {
  traceId?: unknown;
  id?: unknown;
  parentId?: unknown;
  name?: unknown;
  kind?: unknown;
  timestamp?: unknown;
  duration?: unknown;
  localEndpoint?: ZipkinEndpoint | null;
  remoteEndpoint?: ZipkinEndpoint | null;
  annotations?: unknown;
  tags?: unknown;
}

const KINDS: Record<string, SpanKind> = { CLIENT: 3, SERVER: 2, PRODUCER: 4, CONSUMER: 5 };
const STATUS_CODES: Record<string, SpanStatusCode> = {
  STATUS_CODE_UNSET: 0, UNSET: 0, STATUS_CODE_OK: 1, OK: 1, STATUS_CODE_ERROR: 2, ERROR: 2,
};

/**
 * Tags that describe the process rather than the operation: the OpenTelemetry Collector's Zipkin receiver
 * moves the resource semantic-convention attributes back to the resource (so `k8s.namespace.name` can pick a
 * tenant and `service.namespace` reaches the service graph). These prefixes cover those conventions.
 */
const RESOURCE_TAG_PREFIXES = ['service.', 'k8s.', 'container.', 'host.', 'cloud.', 'deployment.', 'process.', 'os.', 'telemetry.sdk.', 'faas.'];

/** Tags the receiver turns into span fields (status, scope, trace state, kind) rather than attributes. */
const SCOPE_NAME_TAGS = ['otel.scope.name', 'otel.library.name'];
const SCOPE_VERSION_TAGS = ['otel.scope.version', 'otel.library.version'];

/**
 * Decodes a Zipkin v2 JSON body (`POST /api/v2/spans`: an array of spans) as the OpenTelemetry Collector's
 * Zipkin receiver maps it (what Tempo's distributor runs): spans are grouped into one record per
 * `localEndpoint.serviceName` (its `service.name`; a span without one gets a resource without it) and
 * scope (`otel.scope.name` tag); `kind` maps to the OTLP kind (none: `span.kind=internal` tag, else
 * unspecified); `timestamp`/`duration` (µs) to start/end; `otel.status_code`/`otel.status_description` and an
 * `error` tag to the status; `w3c.tracestate` to the trace state; resource semantic-convention tags to the
 * resource; other tags to string attributes; endpoints to `net.host.ip`/`net.host.port`, `peer.service`,
 * `net.peer.ip`/`net.peer.port`; annotations to events (`name|{json attributes}|dropped` when an
 * OpenTelemetry exporter wrote them). 64-bit trace ids are padded to 128 bits, as the collector does.
 * Zipkin v1 and Zipkin's protobuf encoding are not decoded.
 */
export function decodeZipkinJson(body: Uint8Array | string): SpanDecodeResult {
  let doc: unknown;
  try {
    doc = JSON.parse(typeof body === 'string' ? body : Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString('utf8'));
  } catch (err) {
    return malformedSpans(`malformed Zipkin v2 JSON body: ${(err as Error).message}`);
  }
  if (!Array.isArray(doc)) return malformedSpans('malformed Zipkin v2 JSON body: expected an array of spans');
  const rejections: Rejection[] = [];
  const groups = new Map<string, { resource: Attribute[]; spans: Span[]; namespace?: string }>();
  const scopes = new Map<string, InstrumentationScope>();
  for (const z of doc as unknown[]) {
    if (typeof z !== 'object' || z === null || Array.isArray(z)) {
      rejections.push(spanRejection(`a Zipkin span must be an object, not ${JSON.stringify(z)?.slice(0, 40)}`));
      continue;
    }
    const mapped = mapSpan(z, scopes);
    const problem = typeof mapped === 'string' ? mapped : spanProblem(mapped.span);
    if (problem !== undefined) {
      rejections.push(spanRejection(problem));
      continue;
    }
    const m = mapped as Mapped;
    const key = JSON.stringify(m.resource);
    let g = groups.get(key);
    if (!g) groups.set(key, (g = { resource: m.resource, spans: [] }));
    g.spans.push(m.span);
  }
  const records: SpanRecord[] = [];
  const namespaces = new Map<SpanRecord, string>();
  for (const g of groups.values()) {
    const record: SpanRecord = { resource: g.resource, spans: g.spans };
    records.push(record);
    const ns = g.resource.find((a) => a.key === 'k8s.namespace.name')?.value;
    if (typeof ns === 'string' && ns !== '') namespaces.set(record, ns);
  }
  return { records, rejections, spans: doc.length, namespaces };
}

interface Mapped {
  readonly resource: Attribute[];
  readonly span: Span;
}

function mapSpan(z: ZipkinSpan, scopes: Map<string, InstrumentationScope>): Mapped | string {
  const traceId = zipkinId(z.traceId, TRACE_ID_HEX_LENGTH);
  const spanId = zipkinId(z.id, SPAN_ID_HEX_LENGTH);
  if (traceId === undefined) return `Zipkin span ${JSON.stringify(z.id)}: invalid traceId ${JSON.stringify(z.traceId)} (1 to 32 hex digits)`;
  if (spanId === undefined) return `Zipkin span in trace ${traceId}: invalid id ${JSON.stringify(z.id)} (1 to 16 hex digits)`;
  let parent: string | undefined;
  if (z.parentId !== undefined && z.parentId !== null && z.parentId !== '') {
    const p = zipkinId(z.parentId, SPAN_ID_HEX_LENGTH);
    if (p === undefined) return `Zipkin span ${spanId}: invalid parentId ${JSON.stringify(z.parentId)}`;
    parent = p === spanId ? undefined : parentIdOf(p);
  }
  const start = micros(z.timestamp);
  const duration = micros(z.duration);
  if (start === undefined || duration === undefined) return `Zipkin span ${spanId}: timestamp and duration must be whole non-negative microseconds`;

  const tags = new Map<string, string>();
  if (z.tags !== undefined && z.tags !== null) {
    if (typeof z.tags !== 'object' || Array.isArray(z.tags)) return `Zipkin span ${spanId}: tags must be an object`;
    for (const [k, v] of Object.entries(z.tags)) tags.set(k, typeof v === 'string' ? v : JSON.stringify(v));
  }
  const take = (key: string): string | undefined => {
    const v = tags.get(key);
    tags.delete(key);
    return v;
  };

  let kind: SpanKind = 0;
  if (typeof z.kind === 'string' && Object.hasOwn(KINDS, z.kind)) kind = KINDS[z.kind]!;
  else if (z.kind !== undefined && z.kind !== null) return `Zipkin span ${spanId}: unknown kind ${JSON.stringify(z.kind)}`;
  else if (take('span.kind') === 'internal') kind = 1;

  let statusCode: SpanStatusCode = 0;
  let statusMessage: string | undefined;
  const code = take('otel.status_code');
  if (code !== undefined) {
    statusCode = STATUS_CODES[code.toUpperCase()] ?? 0;
    statusMessage = take('otel.status_description');
  }
  const error = take('error');
  if (error !== undefined) {
    statusCode = 2;
    if (statusMessage === undefined && error !== '' && error !== 'true') statusMessage = error;
  }
  const traceState = take('w3c.tracestate');

  const resource: Attribute[] = [];
  const local = endpointOf(z.localEndpoint);
  if (local.serviceName !== undefined) resource.push({ key: 'service.name', value: local.serviceName });
  for (const [k, v] of [...tags]) {
    if (RESOURCE_TAG_PREFIXES.some((p) => k.startsWith(p))) {
      resource.push({ key: k, value: v });
      tags.delete(k);
    }
  }
  let scopeName = '';
  let scopeVersion: string | undefined;
  for (const k of SCOPE_NAME_TAGS) scopeName = take(k) ?? scopeName;
  for (const k of SCOPE_VERSION_TAGS) scopeVersion = take(k) ?? scopeVersion;
  const scopeKey = `${scopeName}\u0000${scopeVersion ?? ''}`;
  let scope = scopes.get(scopeKey);
  if (!scope) scopes.set(scopeKey, (scope = { name: scopeName, ...(scopeVersion !== undefined ? { version: scopeVersion } : {}) }));

  const attributes: Attribute[] = [...tags].map(([key, value]) => ({ key, value }));
  if (local.ip !== undefined) attributes.push({ key: 'net.host.ip', value: local.ip });
  if (local.port !== undefined) attributes.push({ key: 'net.host.port', value: local.port });
  const remote = endpointOf(z.remoteEndpoint);
  if (remote.serviceName !== undefined) attributes.push({ key: 'peer.service', value: remote.serviceName });
  if (remote.ip !== undefined) attributes.push({ key: 'net.peer.ip', value: remote.ip });
  if (remote.port !== undefined) attributes.push({ key: 'net.peer.port', value: remote.port });

  const events = annotationsOf(z.annotations);
  if (typeof events === 'string') return `Zipkin span ${spanId}: ${events}`;
  const startNs = start * 1000n;
  const span: Span = {
    traceId,
    spanId,
    ...(parent !== undefined ? { parentSpanId: parent } : {}),
    ...(traceState ? { traceState } : {}),
    name: typeof z.name === 'string' ? z.name : '',
    kind,
    startTimeUnixNs: startNs,
    endTimeUnixNs: startNs + duration * 1000n,
    attributes,
    statusCode,
    ...(statusMessage ? { statusMessage } : {}),
    ...(events.length > 0 ? { events } : {}),
    scope,
  };
  return { resource, span };
}

/** A Zipkin id as lowercase hex of the model's width (left-padded: 64-bit trace ids become 128-bit), or undefined. */
function zipkinId(v: unknown, hexLength: number): string | undefined {
  if (typeof v !== 'string' || v.length === 0 || v.length > hexLength || !/^[0-9a-fA-F]+$/.test(v)) return undefined;
  return v.toLowerCase().padStart(hexLength, '0');
}

/** Whole non-negative microseconds (absent is 0, as the collector takes an unset timestamp), or undefined. */
function micros(v: unknown): bigint | undefined {
  if (v === undefined || v === null) return 0n;
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) return undefined;
  return BigInt(v);
}

function endpointOf(e: ZipkinEndpoint | null | undefined): { serviceName?: string; ip?: string; port?: number } {
  if (typeof e !== 'object' || e === null) return {};
  const out: { serviceName?: string; ip?: string; port?: number } = {};
  if (typeof e.serviceName === 'string' && e.serviceName !== '') out.serviceName = e.serviceName;
  if (typeof e.ipv6 === 'string' && e.ipv6 !== '') out.ip = e.ipv6;
  else if (typeof e.ipv4 === 'string' && e.ipv4 !== '') out.ip = e.ipv4;
  if (typeof e.port === 'number' && Number.isInteger(e.port) && e.port > 0) out.port = e.port;
  return out;
}

/**
 * Annotations as span events. An OpenTelemetry Zipkin exporter writes an event with attributes as
 * `name|{"k":v}|droppedCount`; those attributes are restored (numbers without a fraction as ints).
 */
function annotationsOf(v: unknown): SpanEvent[] | string {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) return 'annotations must be an array';
  const events: SpanEvent[] = [];
  for (const a of v as unknown[]) {
    if (typeof a !== 'object' || a === null) return 'an annotation must be an object';
    const { timestamp, value } = a as { timestamp?: unknown; value?: unknown };
    const ts = micros(timestamp);
    if (ts === undefined) return 'an annotation timestamp must be whole non-negative microseconds';
    const text = typeof value === 'string' ? value : '';
    events.push({ timeUnixNs: ts * 1000n, ...eventNameAndAttributes(text) });
  }
  return events;
}

function eventNameAndAttributes(text: string): { name: string; attributes?: Attribute[] } {
  const parts = text.split('|');
  if (parts.length < 3) return { name: parts[0]! };
  let parsed: unknown;
  try {
    parsed = JSON.parse(parts.slice(1, -1).join('|'));
  } catch {
    // Not the exporter's encoding: the whole annotation is the event's name, as Zipkin showed it.
    return { name: text };
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return { name: text };
  const attributes: Attribute[] = [];
  for (const [key, val] of Object.entries(parsed)) {
    const value: AttributeValue | undefined =
      typeof val === 'string' || typeof val === 'boolean' || typeof val === 'number' ? val : undefined;
    if (value !== undefined) attributes.push({ key, value });
  }
  return { name: parts[0]!, ...(attributes.length > 0 ? { attributes } : {}) };
}
