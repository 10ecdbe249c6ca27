import { quoteGo } from '../model/index.ts';
import type { LogRecord, Rejection } from '../model/index.ts';
import { decodeOtlpTracesJson, malformedSpans } from './otlp-traces.ts';
import type { SpanDecodeResult } from './otlp-traces.ts';

/*
 * Grafana Faro's browser payload (`POST /collect`, what `@grafana/faro-web-sdk` sends and Alloy's
 * `faro.receiver` takes): logs, exceptions, measurements and events become log lines in Alloy's logfmt format
 * (the same keys in the same order), browser traces are OTLP/JSON for the trace store.
 */

/** Faro's default `labels` in the issue's shape: one stream per kind, app, version and environment. */
export const FARO_LABELS = ['kind', 'app_name', 'app_version', 'environment'] as const;

type Json = Record<string, unknown>;

/** Alloy's KeyVal: an insertion-ordered map; setting a key again keeps its place. Empty strings are not added. */
type KeyVal = Map<string, string>;

function add(kv: KeyVal, key: string, value: unknown): void {
  if (typeof value === 'string' && value.length > 0) kv.set(key, value);
}

function merge(target: KeyVal, source: KeyVal, prefix = ''): void {
  for (const [k, v] of source) target.set(prefix + k, v);
}

function obj(v: unknown): Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Json) : {};
}

function list(v: unknown): Json[] {
  return Array.isArray(v) ? v.map(obj) : [];
}

function str(v: unknown): string {
  return typeof v === 'string' ? v : typeof v === 'number' || typeof v === 'boolean' ? String(v) : '';
}

/** A string map (context, attributes) with its keys sorted, as Alloy's `KeyValFromMap`. */
function fromMap(v: unknown): KeyVal {
  const kv: KeyVal = new Map();
  const m = obj(v);
  for (const k of Object.keys(m).sort()) add(kv, k, str(m[k]));
  return kv;
}

/** Go's `time.Time.String()` of a Faro timestamp (RFC 3339, read as Go reads it into UTC): `2024-01-02 03:04:05.678 +0000 UTC`. */
export function goTimeString(iso: unknown): string {
  const ms = typeof iso === 'string' ? Date.parse(iso) : NaN;
  if (!Number.isFinite(ms)) return '0001-01-01 00:00:00 +0000 UTC';
  const d = new Date(ms);
  const pad = (n: number, w = 2): string => String(n).padStart(w, '0');
  // Go prints the fraction with trailing zeros removed; the SDK's timestamps carry milliseconds.
  const fraction = typeof iso === 'string' ? (/\.(\d+)/.exec(iso)?.[1] ?? '').replace(/0+$/, '') : '';
  return (
    `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())} ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}` +
    `${fraction !== '' ? `.${fraction}` : ''} +0000 UTC`
  );
}

function traceKeyVal(trace: unknown): KeyVal {
  const t = obj(trace);
  const kv: KeyVal = new Map();
  add(kv, 'traceID', str(t.trace_id));
  add(kv, 'spanID', str(t.span_id));
  return kv;
}

/** The stack trace text Alloy writes: `Type: value` and one `\n  at fn (module|file:line:col)` per frame. */
function exceptionText(e: Json): string {
  let out = `${str(e.type)}: ${str(e.value)}`;
  for (const f of list(obj(e.stacktrace).frames)) {
    const module = str(f.module);
    out += `\n  at ${str(f.function)} (${module !== '' ? `${module}|` : ''}${str(f.filename)}:${Number(f.lineno ?? 0) || 0}:${Number(f.colno ?? 0) || 0})`;
  }
  return out;
}

/** An item's first keys, as every kind starts: its time and its kind. */
function itemKeyVal(kind: string, timestamp: unknown): KeyVal {
  return new Map([
    ['timestamp', goTimeString(timestamp)],
    ['kind', kind],
  ]);
}

function metaKeyVal(meta: Json): KeyVal {
  const kv: KeyVal = new Map();
  const sdk = obj(meta.sdk);
  const sdkKv: KeyVal = new Map();
  add(sdkKv, 'name', str(sdk.name));
  add(sdkKv, 'version', str(sdk.version));
  const integrations = list(sdk.integrations).map((i) => `${str(i.name)}:${str(i.version)}`);
  if (integrations.length > 0) add(sdkKv, 'integrations', integrations.join(','));
  merge(kv, sdkKv, 'sdk_');
  const app = obj(meta.app);
  const appKv: KeyVal = new Map();
  for (const k of ['name', 'namespace', 'release', 'version', 'environment']) add(appKv, k, str(app[k]));
  merge(kv, appKv, 'app_');
  const user = obj(meta.user);
  const userKv: KeyVal = new Map();
  for (const k of ['email', 'id', 'username']) add(userKv, k, str(user[k]));
  merge(userKv, fromMap(user.attributes), 'attr_');
  merge(kv, userKv, 'user_');
  const session = obj(meta.session);
  const sessionKv: KeyVal = new Map();
  add(sessionKv, 'id', str(session.id));
  merge(sessionKv, fromMap(session.attributes), 'attr_');
  merge(kv, sessionKv, 'session_');
  const page = obj(meta.page);
  const pageKv: KeyVal = new Map();
  add(pageKv, 'id', str(page.id));
  add(pageKv, 'url', str(page.url));
  merge(pageKv, fromMap(page.attributes), 'attr_');
  merge(kv, pageKv, 'page_');
  const browser = obj(meta.browser);
  const browserKv: KeyVal = new Map();
  for (const k of ['name', 'version', 'os']) add(browserKv, k, str(browser[k]));
  add(browserKv, 'mobile', browser.mobile === true ? 'true' : 'false');
  for (const k of ['userAgent', 'language', 'viewportWidth', 'viewportHeight']) add(browserKv, k, str(browser[k]));
  merge(kv, browserKv, 'browser_');
  const viewKv: KeyVal = new Map();
  add(viewKv, 'name', str(obj(meta.view).name));
  merge(kv, viewKv, 'view_');
  return kv;
}

/** A key as go-logfmt writes it: spaces, `=`, `"` and control characters removed; undefined when nothing is left. */
function logfmtKey(k: string): string | undefined {
  let out = '';
  for (const ch of k) if (ch > ' ' && ch !== '=' && ch !== '"' && ch !== '\ufffd') out += ch;
  return out === '' ? undefined : out;
}

/** A value as go-logfmt writes it: bare unless it holds a space, `=`, `"` or a control character, then Go-quoted. */
function logfmtValue(v: string): string {
  for (const ch of v) if (ch <= ' ' || ch === '=' || ch === '"' || ch === '\ufffd') return quoteGo(v);
  return v;
}

/** One logfmt line of a KeyVal, in its order. */
export function logfmtLine(kv: KeyVal): string {
  const parts: string[] = [];
  for (const [k, v] of kv) {
    const key = logfmtKey(k);
    if (key !== undefined) parts.push(`${key}=${logfmtValue(v)}`);
  }
  return parts.join(' ');
}

/** What one Faro payload holds for the stores. */
export interface FaroDecodeResult {
  /** One record per line (each line's stream labels are its own). */
  readonly records: LogRecord[];
  readonly rejections: Rejection[];
  readonly malformed?: string;
  /** Browser spans, when the payload carries `traces`. */
  readonly traces?: SpanDecodeResult;
  /** Items by kind, for the receiver's counters. */
  readonly counts: { readonly logs: number; readonly exceptions: number; readonly measurements: number; readonly events: number };
}

const NO_COUNTS = { logs: 0, exceptions: 0, measurements: 0, events: 0 };

/**
 * Decodes a Faro payload. Each log, exception (with its stack trace), measurement and event becomes one logfmt
 * line with the keys and order of Alloy's `faro.receiver` (`timestamp`, `kind`, the item's fields, its
 * `context_*`, `traceID`/`spanID`, then the `sdk_*`, `app_*`, `user_*`, `session_*`, `page_*`, `browser_*`,
 * `view_*` metadata), stamped `nowNs` as Alloy stamps entries at receipt, with the stream labels `kind`,
 * `app_name`, `app_version` and `environment` (each only when set). Source maps are not applied. Pure.
 */
export function decodeFaro(body: Buffer, nowNs: bigint): FaroDecodeResult {
  let doc: unknown;
  try {
    doc = JSON.parse(body.toString('utf8'));
  } catch (err) {
    return { records: [], rejections: [], malformed: `malformed Faro payload: ${(err as Error).message}`, counts: NO_COUNTS };
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) {
    return { records: [], rejections: [], malformed: 'malformed Faro payload: expected a JSON object', counts: NO_COUNTS };
  }
  const p = doc as Json;
  const meta = metaKeyVal(obj(p.meta));
  const records: LogRecord[] = [];
  const emit = (kv: KeyVal): void => {
    merge(kv, meta);
    const labels: Record<string, string> = {};
    const set = (label: string, key: string): void => {
      const v = kv.get(key);
      if (v !== undefined) labels[label] = v;
    };
    set('kind', 'kind');
    set('app_name', 'app_name');
    set('app_version', 'app_version');
    set('environment', 'app_environment');
    records.push({ labels, entries: [{ timestampNs: nowNs, line: logfmtLine(kv) }] });
  };
  const logs = list(p.logs);
  for (const l of logs) {
    const kv = itemKeyVal('log', l.timestamp);
    add(kv, 'message', str(l.message));
    add(kv, 'level', str(l.level));
    merge(kv, fromMap(l.context), 'context_');
    merge(kv, traceKeyVal(l.trace));
    emit(kv);
  }
  const exceptions = list(p.exceptions);
  for (const e of exceptions) {
    const kv = itemKeyVal('exception', e.timestamp);
    add(kv, 'type', str(e.type));
    add(kv, 'value', str(e.value));
    add(kv, 'stacktrace', exceptionText(e));
    merge(kv, fromMap(e.context), 'context_');
    merge(kv, traceKeyVal(e.trace));
    emit(kv);
  }
  const measurements = list(p.measurements);
  for (const m of measurements) {
    const kv = itemKeyVal('measurement', m.timestamp);
    add(kv, 'type', str(m.type));
    const values = obj(m.values);
    const names = Object.keys(values).filter((k) => typeof values[k] === 'number').sort();
    for (const k of names) add(kv, k, (values[k] as number).toFixed(6));
    merge(kv, traceKeyVal(m.trace));
    merge(kv, fromMap(m.context), 'context_');
    for (const k of names) kv.set(`value_${k}`, String(values[k]));
    emit(kv);
  }
  const events = list(p.events);
  for (const e of events) {
    const kv = itemKeyVal('event', e.timestamp);
    add(kv, 'event_name', str(e.name));
    add(kv, 'event_domain', str(e.domain));
    merge(kv, fromMap(e.attributes), 'event_data_');
    merge(kv, traceKeyVal(e.trace));
    emit(kv);
  }
  let traces: SpanDecodeResult | undefined;
  if (p.traces !== undefined && p.traces !== null) {
    traces = typeof p.traces === 'object' ? decodeOtlpTracesJson(JSON.stringify(p.traces)) : malformedSpans('Faro traces: expected OTLP/JSON');
  }
  return {
    records,
    rejections: [],
    ...(traces !== undefined ? { traces } : {}),
    counts: { logs: logs.length, exceptions: exceptions.length, measurements: measurements.length, events: events.length },
  };
}
