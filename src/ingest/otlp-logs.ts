import { setOwnLabel } from '../model/index.ts';
import type { Labels, LogEntry, LogRecord } from '../model/index.ts';
import type { LogDecodeResult } from './loki-push.ts';
import { anyValueToString, otlpUint64 } from './otlp-attributes.ts';
import type { OtlpAnyValue, OtlpBytes, OtlpInt64, OtlpKeyValue } from './otlp-attributes.ts';
import { ExportLogsServiceRequest } from './otlp-logs-proto.ts';

/**
 * The resource attributes Loki indexes as stream labels by default (its `default_resource_attributes_as_
 * index_labels`); every other attribute becomes structured metadata.
 */
const OTLP_INDEX_LABEL_ATTRIBUTES: readonly string[] = [
  'service.name',
  'service.namespace',
  'service.instance.id',
  'deployment.environment',
  'cloud.region',
  'cloud.availability_zone',
  'k8s.cluster.name',
  'k8s.namespace.name',
  'k8s.pod.name',
  'k8s.container.name',
  'container.name',
  'k8s.replicaset.name',
  'k8s.deployment.name',
  'k8s.statefulset.name',
  'k8s.daemonset.name',
  'k8s.cronjob.name',
  'k8s.job.name',
];
const INDEXED = new Set(OTLP_INDEX_LABEL_ATTRIBUTES);

/** An OTLP logs decode: the records, plus each record's `k8s.namespace.name` (for tenants from namespaces). */
export interface OtlpLogsDecodeResult extends LogDecodeResult {
  readonly namespaces: Map<LogRecord, string>;
}

type Int64 = OtlpInt64;
type Bytes = OtlpBytes;

interface OtlpLogRecord {
  timeUnixNano?: Int64;
  observedTimeUnixNano?: Int64;
  severityNumber?: number | string | null;
  severityText?: string | null;
  body?: OtlpAnyValue | null;
  attributes?: OtlpKeyValue[] | null;
  droppedAttributesCount?: number | null;
  flags?: number | null;
  traceId?: Bytes;
  spanId?: Bytes;
}
interface OtlpScopeLogs {
  scope?: { name?: string | null; version?: string | null; attributes?: OtlpKeyValue[] | null; droppedAttributesCount?: number | null } | null;
  logRecords?: OtlpLogRecord[] | null;
}
interface OtlpResourceLogs {
  resource?: { attributes?: OtlpKeyValue[] | null } | null;
  scopeLogs?: OtlpScopeLogs[] | null;
}
interface OtlpExportLogsRequest {
  resourceLogs?: OtlpResourceLogs[] | null;
}

/** Decodes an OTLP/protobuf `ExportLogsServiceRequest` (decompressed) into Loki-mapped log records. */
export function decodeOtlpLogsProtobuf(body: Uint8Array, nowNs: bigint = BigInt(Date.now()) * 1_000_000n): OtlpLogsDecodeResult {
  let request: OtlpExportLogsRequest;
  try {
    request = ExportLogsServiceRequest.decode(body) as unknown as OtlpExportLogsRequest;
  } catch (err) {
    return malformed(`malformed OTLP logs protobuf: ${(err as Error).message}`);
  }
  return translate(request, false, nowNs);
}

/** Decodes an OTLP/JSON `ExportLogsServiceRequest` (hex trace and span ids, int64 as strings or numbers). */
export function decodeOtlpLogsJson(body: Uint8Array | string, nowNs: bigint = BigInt(Date.now()) * 1_000_000n): OtlpLogsDecodeResult {
  let doc: unknown;
  try {
    doc = JSON.parse(typeof body === 'string' ? body : Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString('utf8'));
  } catch (err) {
    return malformed(`malformed OTLP/JSON logs body: ${(err as Error).message}`);
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) return malformed('malformed OTLP/JSON logs body: expected an object');
  try {
    return translate(doc, true, nowNs);
  } catch (err) {
    return malformed(`malformed OTLP/JSON logs body: ${(err as Error).message}`);
  }
}

/**
 * Maps OTLP logs the way Loki's OTLP endpoint does: the default index attributes of each resource become
 * stream labels (names normalized: `service.name` → `service_name`); other resource attributes, scope
 * attributes and name/version, log attributes, `observed_timestamp`, `severity_number`, `severity_text`,
 * `dropped_attributes_count`, `flags`, `trace_id` and `span_id` (hex) become structured metadata (an entry's
 * own values win over its scope's, which win over its resource's); the body (a string as is, anything else
 * as Loki's AsString renders it) is the line; the timestamp is `time_unix_nano`, else the observed time,
 * else now.
 */
function translate(request: OtlpExportLogsRequest, json: boolean, nowNs: bigint): OtlpLogsDecodeResult {
  const records: LogRecord[] = [];
  const namespaces = new Map<LogRecord, string>();
  let total = 0;
  const list = request.resourceLogs ?? [];
  if (!Array.isArray(list)) throw new Error('resourceLogs must be an array');
  for (const rl of list) {
    const labels: Record<string, string> = {};
    const resourceMd: Record<string, string> = {};
    let namespace: string | undefined;
    for (const kv of rl.resource?.attributes ?? []) {
      if (!kv.key) continue;
      if (kv.key === 'k8s.namespace.name') namespace = anyValueToString(kv.value);
      flatten(kv.key, kv.value, INDEXED.has(kv.key) ? labels : resourceMd);
    }
    // Loki drops empty label values.
    for (const k of Object.keys(labels)) if (labels[k] === '') delete labels[k];
    const entries: LogEntry[] = [];
    for (const sl of rl.scopeLogs ?? []) {
      const scopeMd: Record<string, string> = {};
      const scope = sl.scope;
      for (const kv of scope?.attributes ?? []) if (kv.key) flatten(kv.key, kv.value, scopeMd);
      if (scope?.name) scopeMd.scope_name = scope.name;
      if (scope?.version) scopeMd.scope_version = scope.version;
      if (scope?.droppedAttributesCount) scopeMd.scope_dropped_attributes_count = String(scope.droppedAttributesCount);
      for (const lr of sl.logRecords ?? []) {
        total++;
        const own: Record<string, string> = {};
        for (const kv of lr.attributes ?? []) if (kv.key) flatten(kv.key, kv.value, own);
        const ts = otlpUint64(lr.timeUnixNano);
        const observed = otlpUint64(lr.observedTimeUnixNano);
        if (ts !== 0n && observed !== 0n) own.observed_timestamp = String(observed);
        const sev = severityNumber(lr.severityNumber);
        if (sev !== 0) own.severity_number = String(sev);
        if (lr.severityText) own.severity_text = lr.severityText;
        if (lr.droppedAttributesCount) own.dropped_attributes_count = String(lr.droppedAttributesCount);
        if (lr.flags) own.flags = String(lr.flags >>> 0);
        const traceId = hexId(lr.traceId, json);
        if (traceId) own.trace_id = traceId;
        const spanId = hexId(lr.spanId, json);
        if (spanId) own.span_id = spanId;
        const md: Labels = { ...resourceMd, ...scopeMd, ...own };
        const entry: LogEntry = {
          timestampNs: ts !== 0n ? ts : observed !== 0n ? observed : nowNs,
          line: anyValueToString(lr.body),
          ...(Object.keys(md).length > 0 ? { structuredMetadata: md } : {}),
        };
        entries.push(entry);
      }
    }
    if (entries.length === 0) continue;
    const record: LogRecord = { labels, entries };
    records.push(record);
    if (namespace !== undefined && namespace !== '') namespaces.set(record, namespace);
  }
  return { records, rejections: [], entries: total, namespaces };
}

/** Adds an attribute under its normalized name; a map value is flattened to `key_subkey` names, as Loki does. */
function flatten(key: string, value: OtlpAnyValue | null | undefined, out: Record<string, string>): void {
  const name = normalizeLabel(key);
  const kv = value?.kvlistValue;
  if (kv && Object.hasOwn(value, 'kvlistValue')) {
    for (const sub of kv.values ?? []) if (sub.key) flatten(`${name}_${sub.key}`, sub.value, out);
    return;
  }
  setOwnLabel(out, name, anyValueToString(value));
}

/**
 * Prometheus' OTLP label normalization (otlptranslator.NormalizeLabel): every character outside
 * `[a-zA-Z0-9_]` becomes `_`; a leading digit gets `key_`, a single leading `_` gets `key`.
 */
export function normalizeLabel(name: string): string {
  if (name === '') return name;
  let out = name.replace(/[^a-zA-Z0-9_]/g, '_');
  if (out[0]! >= '0' && out[0]! <= '9') out = `key_${out}`;
  else if (out.startsWith('_') && !out.startsWith('__')) out = `key${out}`;
  return out;
}

const SEVERITY_NAMES: Record<string, number> = Object.fromEntries(
  ['UNSPECIFIED', 'TRACE', 'TRACE2', 'TRACE3', 'TRACE4', 'DEBUG', 'DEBUG2', 'DEBUG3', 'DEBUG4', 'INFO', 'INFO2', 'INFO3', 'INFO4',
    'WARN', 'WARN2', 'WARN3', 'WARN4', 'ERROR', 'ERROR2', 'ERROR3', 'ERROR4', 'FATAL', 'FATAL2', 'FATAL3', 'FATAL4'].map((n, i) => [`SEVERITY_NUMBER_${n}`, i]),
);

function severityNumber(v: number | string | null | undefined): number {
  if (typeof v === 'number') return v;
  if (typeof v === 'string') return SEVERITY_NAMES[v] ?? (Number.isInteger(Number(v)) ? Number(v) : 0);
  return 0;
}

/** A trace or span id as lower-case hex ('' when unset or all zero). OTLP/JSON carries hex already. */
function hexId(v: Bytes, json: boolean): string {
  if (v === null || v === undefined) return '';
  let hex: string;
  if (typeof v === 'string') {
    // OTLP/JSON uses hex; a protobufjs-decoded message never has a string here.
    hex = json ? v.toLowerCase() : Buffer.from(v, 'base64').toString('hex');
  } else {
    if (v.length === 0) return '';
    hex = Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('hex');
  }
  return /^0*$/.test(hex) ? '' : hex;
}

function malformed(message: string): OtlpLogsDecodeResult {
  return { records: [], rejections: [], entries: 0, malformed: message, namespaces: new Map() };
}
