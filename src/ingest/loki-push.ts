import { WIRE_LEN, WIRE_VARINT, WireFormatError, WireReader, setOwnLabel } from '../model/index.ts';
import type { Labels, LogEntry, LogRecord, Rejection } from '../model/index.ts';
import { parseLokiLabels } from './loki-push-labels.ts';

/** What a logs decoder produced: records to append, per-stream rejections, or why the body is unreadable. */
export interface LogDecodeResult {
  readonly records: LogRecord[];
  /** Streams refused while decoding (unparsable labels); the other streams are in `records`. */
  readonly rejections: Rejection[];
  /** Entries the request carried in all (accepted or not), for `partial_success` counts. */
  readonly entries: number;
  /** Set when the body as a whole cannot be decoded (a 400); `records` is then empty. */
  readonly malformed?: string;
}

/**
 * Parsed label texts, shared across requests: senders repeat the same streams in every push, and sharing
 * the parsed object also lets later stages cache per label set. Bounded; cleared when full.
 */
const labelCache = new Map<string, ReturnType<typeof parseLokiLabels>>();
const LABEL_CACHE_MAX = 100_000;

function parseLabelsCached(text: string): ReturnType<typeof parseLokiLabels> {
  let parsed = labelCache.get(text);
  if (!parsed) {
    if (labelCache.size >= LABEL_CACHE_MAX) labelCache.clear();
    parsed = parseLokiLabels(text);
    labelCache.set(text, parsed);
  }
  return parsed;
}

/**
 * Decodes a Loki `logproto.PushRequest` (already snappy-decompressed): streams with their label text,
 * entries with nanosecond timestamps, lines and structured metadata, read in place with the shared
 * {@link WireReader} (unknown fields skipped, `int64` seconds exact to 2^53, negative too; no intermediate
 * objects).
 */
export function decodeLokiPushProtobuf(body: Uint8Array): LogDecodeResult {
  const r = new WireReader(body);
  const records: LogRecord[] = [];
  const rejections: Rejection[] = [];
  let entries = 0;
  try {
    while (r.pos < r.end) {
      const tag = r.uint32();
      if (tag === ((1 << 3) | WIRE_LEN)) {
        const stream = readStream(r, r.lengthEnd());
        entries += stream.entries.length;
        const parsed = parseLabelsCached(stream.labels);
        if ('labels' in parsed) records.push({ labels: parsed.labels, entries: stream.entries });
        else if (stream.entries.length > 0) rejections.push(labelRejection(parsed, stream.labels, stream.entries.length));
      } else {
        r.skip(tag & 7);
      }
    }
  } catch (err) {
    // Only malformed bytes reach here (WireFormatError, or a RangeError from a read past the end).
    return { records: [], rejections: [], entries: 0, malformed: `malformed Loki PushRequest protobuf: ${(err as Error).message}` };
  }
  return { records, rejections, entries };
}

function readStream(r: WireReader, end: number): { labels: string; entries: LogEntry[] } {
  let labels = '';
  const entries: LogEntry[] = [];
  while (r.pos < end) {
    const tag = r.uint32();
    if (tag === ((1 << 3) | WIRE_LEN)) labels = r.string(end);
    else if (tag === ((2 << 3) | WIRE_LEN)) entries.push(readEntry(r, r.lengthEnd(end)));
    else r.skip(tag & 7, end);
  }
  if (r.pos !== end) throw new WireFormatError('stream message overruns its length');
  return { labels, entries };
}

function readEntry(r: WireReader, end: number): LogEntry {
  let ts = 0n;
  let line = '';
  let md: Record<string, string> | undefined;
  while (r.pos < end) {
    const tag = r.uint32();
    if (tag === ((1 << 3) | WIRE_LEN)) {
      ts = readTimestamp(r, r.lengthEnd(end));
    } else if (tag === ((2 << 3) | WIRE_LEN)) {
      line = r.string(end);
    } else if (tag === ((3 << 3) | WIRE_LEN)) {
      const stop = r.lengthEnd(end);
      let name = '';
      let value = '';
      while (r.pos < stop) {
        const t = r.uint32();
        if (t === ((1 << 3) | WIRE_LEN)) name = r.string(stop);
        else if (t === ((2 << 3) | WIRE_LEN)) value = r.string(stop);
        else r.skip(t & 7, stop);
      }
      if (r.pos !== stop) throw new WireFormatError('structured metadata overruns its length');
      setOwnLabel((md ??= {}), name, value);
    } else {
      r.skip(tag & 7, end);
    }
  }
  if (r.pos !== end) throw new WireFormatError('entry message overruns its length');
  return md ? { timestampNs: ts, line, structuredMetadata: md } : { timestampNs: ts, line };
}

/** The last whole second decoded and its nanosecond value: entries of a push mostly share recent seconds. */
let lastSeconds = Number.NaN;
let lastSecondsNs = 0n;

function readTimestamp(r: WireReader, end: number): bigint {
  let seconds = 0;
  let nanos = 0;
  while (r.pos < end) {
    const tag = r.uint32();
    if (tag === ((1 << 3) | WIRE_VARINT)) seconds = r.int64();
    // int32: a negative value is sign-extended to ten bytes; uint32() keeps its low 32 bits.
    else if (tag === ((2 << 3) | WIRE_VARINT)) nanos = r.uint32() | 0;
    else r.skip(tag & 7, end);
  }
  if (r.pos !== end) throw new WireFormatError('timestamp overruns its length');
  if (seconds !== lastSeconds) {
    lastSeconds = seconds;
    lastSecondsNs = BigInt(seconds) * 1_000_000_000n;
  }
  return nanos === 0 ? lastSecondsNs : lastSecondsNs + BigInt(nanos);
}

/**
 * Decodes Loki's JSON push body. The v1 shape `{"streams":[{"stream":{..},"values":[["<ns>","line",{..}]]}]}`
 * (timestamps as decimal strings, optional structured metadata object) and the legacy
 * `{"streams":[{"labels":"{..}","entries":[{"ts":"<RFC3339>","line":".."}]}]}` of `/api/prom/push` are both
 * accepted, per stream.
 */
export function decodeLokiPushJson(body: Uint8Array | string): LogDecodeResult {
  let doc: unknown;
  try {
    doc = JSON.parse(typeof body === 'string' ? body : Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString('utf8'));
  } catch (err) {
    return bad(`malformed JSON push body: ${(err as Error).message}`);
  }
  if (!isObject(doc) || !Array.isArray(doc.streams)) return bad('malformed JSON push body: expected {"streams":[...]}');
  const records: LogRecord[] = [];
  const rejections: Rejection[] = [];
  let entries = 0;
  for (let s = 0; s < doc.streams.length; s++) {
    const stream: unknown = doc.streams[s];
    if (!isObject(stream)) return bad(`malformed JSON push body: streams[${s}] is not an object`);
    if (typeof stream.labels === 'string') {
      const legacy = legacyStream(stream, s);
      if (typeof legacy === 'string') return bad(legacy);
      entries += legacy.length;
      const parsed = parseLabelsCached(stream.labels);
      if ('labels' in parsed) records.push({ labels: parsed.labels, entries: legacy });
      else if (legacy.length > 0) rejections.push(labelRejection(parsed, stream.labels, legacy.length));
      continue;
    }
    if (!isObject(stream.stream)) return bad(`malformed JSON push body: streams[${s}].stream must be an object of label names to values`);
    const labels: Record<string, string> = {};
    for (const [k, v] of Object.entries(stream.stream)) {
      if (typeof v !== 'string') return bad(`malformed JSON push body: streams[${s}].stream.${k} must be a string`);
      // Loki drops empty label values, as the protobuf path does.
      if (v !== '') setOwnLabel(labels, k, v);
    }
    if (!Array.isArray(stream.values)) return bad(`malformed JSON push body: streams[${s}].values must be an array`);
    const list: LogEntry[] = [];
    for (let i = 0; i < stream.values.length; i++) {
      const e = valueEntry(stream.values[i], s, i);
      if (typeof e === 'string') return bad(e);
      list.push(e);
    }
    entries += list.length;
    records.push({ labels, entries: list });
  }
  return { records, rejections, entries };
}

function valueEntry(v: unknown, s: number, i: number): LogEntry | string {
  const where = `streams[${s}].values[${i}]`;
  if (!Array.isArray(v) || v.length < 2 || v.length > 3) return `malformed JSON push body: ${where} must be ["<unix ns>", "<line>"] or ["<unix ns>", "<line>", {metadata}]`;
  const [ts, line, md] = v as unknown[];
  if (typeof ts !== 'string' || !/^-?\d{1,19}$/.test(ts)) {
    return `malformed JSON push body: ${where}[0] must be a Unix nanosecond timestamp as a string, got ${JSON.stringify(ts)}`;
  }
  if (typeof line !== 'string') return `malformed JSON push body: ${where}[1] must be a string`;
  const entry: { timestampNs: bigint; line: string; structuredMetadata?: Labels } = { timestampNs: BigInt(ts), line };
  if (md !== undefined && md !== null) {
    if (!isObject(md)) return `malformed JSON push body: ${where}[2] must be an object of structured metadata`;
    const out: Record<string, string> = {};
    for (const [k, val] of Object.entries(md)) {
      if (typeof val !== 'string') return `malformed JSON push body: ${where}[2].${k} must be a string`;
      setOwnLabel(out, k, val);
    }
    if (Object.keys(out).length > 0) entry.structuredMetadata = out;
  }
  return entry;
}

function legacyStream(stream: Record<string, unknown>, s: number): LogEntry[] | string {
  if (!Array.isArray(stream.entries)) return `malformed JSON push body: streams[${s}].entries must be an array`;
  const out: LogEntry[] = [];
  for (let i = 0; i < stream.entries.length; i++) {
    const e: unknown = stream.entries[i];
    if (!isObject(e) || typeof e.line !== 'string') return `malformed JSON push body: streams[${s}].entries[${i}] must be {"ts": "<RFC3339>", "line": "..."}`;
    const ts = typeof e.ts === 'string' ? parseRfc3339Nano(e.ts) : typeof e.timestamp === 'string' ? parseRfc3339Nano(e.timestamp) : undefined;
    if (ts === undefined) return `malformed JSON push body: streams[${s}].entries[${i}].ts must be an RFC 3339 timestamp`;
    out.push({ timestampNs: ts, line: e.line });
  }
  return out;
}

/** Parses RFC 3339 with up to nanosecond fractions, exactly. */
export function parseRfc3339Nano(text: string): bigint | undefined {
  const m = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:\d{2})$/i.exec(text);
  if (!m) return undefined;
  const ms = Date.parse(`${m[1]}${m[3]!.toUpperCase()}`);
  if (Number.isNaN(ms)) return undefined;
  const frac = BigInt((m[2] ?? '').padEnd(9, '0') || '0');
  return BigInt(ms) * 1_000_000n + frac;
}

function labelRejection(parsed: { reason: 'invalid_labels' | 'duplicate_label_names'; message: string }, subject: string, count: number): Rejection {
  return { signal: 'logs', reason: parsed.reason, message: parsed.message, subject, count };
}

function bad(message: string): LogDecodeResult {
  return { records: [], rejections: [], entries: 0, malformed: message };
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
