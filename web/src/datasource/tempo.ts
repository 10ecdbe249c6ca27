import { proxyGet } from './proxy-fetch.ts';
import type { RequestRecord } from './proxy-fetch.ts';

/** An OTLP/JSON attribute value as Tempo answers it (64-bit integers as strings). */
interface AnyValue {
  stringValue?: string;
  intValue?: string | number;
  doubleValue?: number;
  boolValue?: boolean;
  arrayValue?: { values?: AnyValue[] };
  kvlistValue?: { values?: KeyValue[] };
  bytesValue?: string;
}
interface KeyValue {
  key: string;
  value?: AnyValue;
}

/** One matched span of a search result. */
export interface MatchedSpan {
  readonly spanID: string;
  readonly name?: string;
  readonly startTimeUnixNano: string;
  readonly durationNanos: string;
  readonly attributes?: KeyValue[];
}

/** The spans of a trace that matched a query (JSON leaves out empty lists and zero counts). */
export interface SpanSet {
  readonly spans?: MatchedSpan[];
  readonly matched?: number;
}

/** A trace of a TraceQL search answer (Tempo's `/api/search`). */
export interface TraceSearchHit {
  readonly traceID: string;
  readonly rootServiceName?: string;
  readonly rootTraceName?: string;
  readonly startTimeUnixNano: string;
  readonly durationMs?: number;
  readonly spanSets?: SpanSet[];
  readonly spanSet?: SpanSet;
}

export interface SearchResult {
  readonly traces: TraceSearchHit[];
  readonly record: RequestRecord;
}

/** `GET /api/search` with a TraceQL query between `startMs` and `endMs` (Tempo takes seconds). */
export async function searchTraces(uid: string, org: string, q: string, opts: { startMs: number; endMs: number; limit: number; spss?: number }, signal?: AbortSignal): Promise<SearchResult> {
  const { body, record } = await proxyGet<{ traces?: TraceSearchHit[] }>(
    uid,
    org,
    'api/search',
    {
      q,
      start: String(Math.floor(opts.startMs / 1000)),
      end: String(Math.ceil(opts.endMs / 1000)),
      limit: String(opts.limit),
      spss: String(opts.spss ?? 3),
    },
    signal,
  );
  return { traces: body.traces ?? [], record };
}

/** A label of a TraceQL metrics series: an OTLP AnyValue as Tempo's JSON writes it. */
export interface TempoLabel {
  readonly key: string;
  readonly value?: { stringValue?: string; intValue?: string | number; doubleValue?: number; boolValue?: boolean };
}

/** One series of a TraceQL metrics answer: samples (`timestampMs` as a string) and exemplars naming spans. */
export interface TempoMetricsSeries {
  readonly labels?: TempoLabel[];
  readonly samples?: { timestampMs: string | number; value?: number | string }[];
  readonly exemplars?: { labels?: TempoLabel[]; value?: number | string; timestampMs: string | number }[];
}

/** `GET /api/metrics/query_range`: a TraceQL metrics query over the range at `stepS`, with up to 100 exemplars. */
export async function traceMetricsRange(
  uid: string,
  org: string,
  q: string,
  range: { startMs: number; endMs: number; stepS: number },
  signal?: AbortSignal,
): Promise<{ series: TempoMetricsSeries[]; record: RequestRecord }> {
  const { body, record } = await proxyGet<{ series?: TempoMetricsSeries[] }>(
    uid,
    org,
    'api/metrics/query_range',
    { q, start: String(Math.floor(range.startMs / 1000)), end: String(Math.ceil(range.endMs / 1000)), step: `${range.stepS}s`, exemplars: '100' },
    signal,
  );
  return { series: body.series ?? [], record };
}

/** Tempo drops leading zeros of trace ids in search answers; ids are compared and linked as 32 hex digits. */
export function normalizeTraceId(id: string): string {
  return id.toLowerCase().padStart(32, '0');
}

/** Tag names by scope (`/api/v2/search/tags`): `{ resource: [...], span: [...], intrinsic: [...] }`. */
export async function traceTagNames(uid: string, org: string, range: { startMs: number; endMs: number } | undefined, signal?: AbortSignal): Promise<Record<string, string[]>> {
  const params: Record<string, string> = range ? { start: String(Math.floor(range.startMs / 1000)), end: String(Math.ceil(range.endMs / 1000)) } : {};
  const { body } = await proxyGet<{ scopes?: { name: string; tags?: string[] }[] }>(uid, org, 'api/v2/search/tags', params, signal);
  const out: Record<string, string[]> = {};
  for (const s of body.scopes ?? []) out[s.name] = s.tags ?? [];
  return out;
}

/** Values of a scoped tag (`resource.service.name`, `name`, `status`) with their TraceQL types. */
export async function traceTagValues(uid: string, org: string, tag: string, range: { startMs: number; endMs: number } | undefined, signal?: AbortSignal): Promise<{ type: string; value: string }[]> {
  const params: Record<string, string> = range ? { start: String(Math.floor(range.startMs / 1000)), end: String(Math.ceil(range.endMs / 1000)) } : {};
  const { body } = await proxyGet<{ tagValues?: { type: string; value: string }[] }>(uid, org, `api/v2/search/tag/${encodeURIComponent(tag)}/values`, params, signal);
  return body.tagValues ?? [];
}

/** A span of a fetched trace, flattened with its resource and scope, ids as hex, times as nanosecond bigints. */
export interface TraceSpan {
  readonly traceId: string;
  readonly spanId: string;
  readonly parentSpanId?: string;
  readonly name: string;
  readonly kind: string;
  readonly serviceName: string;
  readonly startNs: bigint;
  readonly endNs: bigint;
  /** 0 unset, 1 ok, 2 error (OTLP's codes). */
  readonly statusCode: number;
  readonly statusMessage?: string;
  readonly attributes: Readonly<Record<string, string>>;
  readonly resource: Readonly<Record<string, string>>;
  readonly scope: { readonly name: string; readonly version?: string };
  readonly events: readonly { readonly timeNs: bigint; readonly name: string; readonly attributes: Readonly<Record<string, string>> }[];
  readonly links: readonly { readonly traceId: string; readonly spanId: string; readonly attributes: Readonly<Record<string, string>> }[];
}

interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name?: string;
  kind?: string | number;
  startTimeUnixNano?: string;
  endTimeUnixNano?: string;
  attributes?: KeyValue[];
  status?: { code?: string | number; message?: string };
  events?: { timeUnixNano?: string; name?: string; attributes?: KeyValue[] }[];
  links?: { traceId: string; spanId: string; attributes?: KeyValue[] }[];
}
interface OtlpTrace {
  resourceSpans?: { resource?: { attributes?: KeyValue[] }; scopeSpans?: { scope?: { name?: string; version?: string }; spans?: OtlpSpan[] }[] }[];
  batches?: OtlpTrace['resourceSpans'];
}

/** `GET /api/v2/traces/<id>`: the whole trace as flattened spans (empty when the trace is not found). */
export async function fetchTrace(uid: string, org: string, traceId: string, signal?: AbortSignal): Promise<{ spans: TraceSpan[]; record: RequestRecord }> {
  const { body, record } = await proxyGet<{ trace?: OtlpTrace }>(uid, org, `api/v2/traces/${encodeURIComponent(traceId)}`, {}, signal);
  return { spans: flattenTrace(body.trace ?? {}), record };
}

/** OTLP/JSON (ids in base64, as Tempo's JSON answers carry them) to flat spans. */
export function flattenTrace(trace: OtlpTrace): TraceSpan[] {
  const out: TraceSpan[] = [];
  for (const rs of trace.resourceSpans ?? trace.batches ?? []) {
    const resource = attributeMap(rs.resource?.attributes);
    for (const ss of rs.scopeSpans ?? []) {
      for (const s of ss.spans ?? []) {
        const status = s.status?.code;
        out.push({
          traceId: idToHex(s.traceId),
          spanId: idToHex(s.spanId),
          ...(s.parentSpanId ? { parentSpanId: idToHex(s.parentSpanId) } : {}),
          name: s.name ?? '',
          kind: typeof s.kind === 'string' ? s.kind.replace(/^SPAN_KIND_/, '').toLowerCase() : (['unspecified', 'internal', 'server', 'client', 'producer', 'consumer'][s.kind ?? 0] ?? 'unspecified'),
          serviceName: resource['service.name'] ?? 'unknown',
          startNs: BigInt(s.startTimeUnixNano ?? '0'),
          endNs: BigInt(s.endTimeUnixNano ?? s.startTimeUnixNano ?? '0'),
          statusCode: status === 'STATUS_CODE_ERROR' || status === 2 ? 2 : status === 'STATUS_CODE_OK' || status === 1 ? 1 : 0,
          ...(s.status?.message ? { statusMessage: s.status.message } : {}),
          attributes: attributeMap(s.attributes),
          resource,
          scope: { name: ss.scope?.name ?? '', ...(ss.scope?.version ? { version: ss.scope.version } : {}) },
          events: (s.events ?? []).map((e) => ({ timeNs: BigInt(e.timeUnixNano ?? '0'), name: e.name ?? '', attributes: attributeMap(e.attributes) })),
          links: (s.links ?? []).map((l) => ({ traceId: idToHex(l.traceId), spanId: idToHex(l.spanId), attributes: attributeMap(l.attributes) })),
        });
      }
    }
  }
  return out;
}

/** OTLP/JSON ids: base64 in Tempo's (protobuf JSON mapping) answers, hex in the OTLP spec's JSON encoding. */
export function idToHex(id: string): string {
  if (/^[0-9a-fA-F]+$/.test(id) && (id.length === 16 || id.length === 32)) return id.toLowerCase();
  const bin = atob(id);
  let hex = '';
  for (let i = 0; i < bin.length; i++) hex += bin.charCodeAt(i).toString(16).padStart(2, '0');
  return hex;
}

function attributeMap(kvs: KeyValue[] | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const kv of kvs ?? []) out[kv.key] = formatValue(kv.value);
  return out;
}

function formatValue(v: AnyValue | undefined): string {
  if (!v) return '';
  if (v.stringValue !== undefined) return v.stringValue;
  if (v.intValue !== undefined) return String(v.intValue);
  if (v.doubleValue !== undefined) return String(v.doubleValue);
  if (v.boolValue !== undefined) return String(v.boolValue);
  if (v.arrayValue) return `[${(v.arrayValue.values ?? []).map(formatValue).join(', ')}]`;
  if (v.kvlistValue) return `{${(v.kvlistValue.values ?? []).map((kv) => `${kv.key}: ${formatValue(kv.value)}`).join(', ')}}`;
  if (v.bytesValue !== undefined) return v.bytesValue;
  return '';
}

/** A nanosecond duration for people: `850 µs`, `12.3 ms`, `4.56 s`. */
export function formatDurationNs(ns: number): string {
  if (ns < 1_000) return `${ns} ns`;
  if (ns < 1_000_000) return `${(ns / 1_000).toFixed(ns < 10_000 ? 2 : 0)} µs`;
  if (ns < 1_000_000_000) return `${(ns / 1_000_000).toFixed(ns < 10_000_000 ? 2 : 1)} ms`;
  return `${(ns / 1_000_000_000).toFixed(2)} s`;
}
