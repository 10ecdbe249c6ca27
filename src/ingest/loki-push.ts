import { setOwnLabel } from '../model/index.ts';
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
 * entries with nanosecond timestamps, lines and structured metadata. A hand-written wire reader: it skips
 * unknown fields, reads `int64` seconds exactly (negative too), and never builds intermediate objects.
 */
export function decodeLokiPushProtobuf(body: Uint8Array): LogDecodeResult {
  const buf = Buffer.isBuffer(body) ? body : Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  const r = new WireReader(buf);
  const records: LogRecord[] = [];
  const rejections: Rejection[] = [];
  let entries = 0;
  try {
    while (r.pos < r.end) {
      const tag = r.varint32();
      if (tag === ((1 << 3) | 2)) {
        const len = r.varint32();
        const stream = readStream(r, r.pos + len);
        entries += stream.entries.length;
        const parsed = parseLabelsCached(stream.labels);
        if ('labels' in parsed) records.push({ labels: parsed.labels, entries: stream.entries });
        else if (stream.entries.length > 0) rejections.push(labelRejection(parsed, stream.labels, stream.entries.length));
      } else {
        r.skip(tag & 7);
      }
    }
  } catch (err) {
    return { records: [], rejections: [], entries: 0, malformed: `malformed Loki PushRequest protobuf: ${(err as Error).message}` };
  }
  return { records, rejections, entries };
}

function readStream(r: WireReader, end: number): { labels: string; entries: LogEntry[] } {
  let labels = '';
  const entries: LogEntry[] = [];
  while (r.pos < end) {
    const tag = r.varint32();
    const field = tag >>> 3;
    if (field === 1 && (tag & 7) === 2) {
      labels = r.string();
    } else if (field === 2 && (tag & 7) === 2) {
      const len = r.varint32();
      entries.push(readEntry(r, r.pos + len));
    } else {
      r.skip(tag & 7);
    }
  }
  if (r.pos !== end) throw new Error('stream message overruns its length');
  return { labels, entries };
}

function readEntry(r: WireReader, end: number): LogEntry {
  let ts = 0n;
  let line = '';
  let md: Record<string, string> | undefined;
  while (r.pos < end) {
    const tag = r.varint32();
    const field = tag >>> 3;
    if (field === 1 && (tag & 7) === 2) {
      const len = r.varint32();
      ts = readTimestamp(r, r.pos + len);
    } else if (field === 2 && (tag & 7) === 2) {
      line = r.string();
    } else if (field === 3 && (tag & 7) === 2) {
      const len = r.varint32();
      const stop = r.pos + len;
      let name = '';
      let value = '';
      while (r.pos < stop) {
        const t = r.varint32();
        if (t === ((1 << 3) | 2)) name = r.string();
        else if (t === ((2 << 3) | 2)) value = r.string();
        else r.skip(t & 7);
      }
      setOwnLabel((md ??= {}), name, value);
    } else {
      r.skip(tag & 7);
    }
  }
  if (r.pos !== end) throw new Error('entry message overruns its length');
  return md ? { timestampNs: ts, line, structuredMetadata: md } : { timestampNs: ts, line };
}

/** The last whole second decoded and its nanosecond value: entries of a push mostly share recent seconds. */
let lastSeconds = Number.NaN;
let lastSecondsNs = 0n;

function readTimestamp(r: WireReader, end: number): bigint {
  let seconds: number | bigint = 0;
  let nanos = 0;
  while (r.pos < end) {
    const tag = r.varint32();
    if (tag === ((1 << 3) | 0)) seconds = r.varint64Number();
    else if (tag === ((2 << 3) | 0)) nanos = r.varint32() | 0;
    else r.skip(tag & 7);
  }
  if (typeof seconds === 'bigint') return seconds * 1_000_000_000n + BigInt(nanos);
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

/** A minimal protobuf wire reader over a Buffer; throws on truncated input. */
class WireReader {
  pos = 0;
  readonly end: number;
  private readonly buf: Buffer;

  constructor(buf: Buffer) {
    this.buf = buf;
    this.end = buf.length;
  }

  /** A varint used as a tag or a length (non-negative, below 2^53). */
  varint32(): number {
    const buf = this.buf;
    let result = 0;
    let shift = 0;
    for (;;) {
      if (this.pos >= this.end) throw new Error('truncated varint');
      const b = buf[this.pos++]!;
      if (shift < 28) result |= (b & 0x7f) << shift;
      else if (shift < 53) result += (b & 0x7f) * 2 ** shift;
      if ((b & 0x80) === 0) return result;
      shift += 7;
      if (shift > 63) throw new Error('varint too long');
    }
  }

  /** A signed 64-bit varint as a number when it has at most 7 bytes (exact), else as a bigint. */
  varint64Number(): number | bigint {
    const buf = this.buf;
    const start = this.pos;
    let v = 0;
    for (let i = 0; i < 7; i++) {
      if (this.pos >= this.end) throw new Error('truncated varint');
      const b = buf[this.pos++]!;
      v += (b & 0x7f) * 2 ** (7 * i);
      if ((b & 0x80) === 0) return v;
    }
    this.pos = start;
    return this.varint64();
  }

  /** A varint as a signed 64-bit integer (two's complement, as int64 fields are encoded). */
  varint64(): bigint {
    const buf = this.buf;
    let lo = 0;
    let shift = 0;
    // Fast path: up to 7 bytes (49 bits) fit a double exactly.
    for (let i = 0; i < 7; i++) {
      if (this.pos >= this.end) throw new Error('truncated varint');
      const b = buf[this.pos++]!;
      lo += (b & 0x7f) * 2 ** shift;
      if ((b & 0x80) === 0) return BigInt(lo);
      shift += 7;
    }
    let big = BigInt(lo);
    let bshift = 49n;
    for (;;) {
      if (this.pos >= this.end) throw new Error('truncated varint');
      const b = buf[this.pos++]!;
      big |= BigInt(b & 0x7f) << bshift;
      if ((b & 0x80) === 0) return BigInt.asIntN(64, big);
      bshift += 7n;
      if (bshift > 70n) throw new Error('varint too long');
    }
  }

  string(): string {
    const len = this.varint32();
    const start = this.pos;
    const stop = start + len;
    if (stop > this.end) throw new Error('truncated string');
    this.pos = stop;
    return this.buf.toString('utf8', start, stop);
  }

  skip(wireType: number): void {
    switch (wireType) {
      case 0:
        this.varint64();
        return;
      case 1:
        this.pos += 8;
        break;
      case 2: {
        const len = this.varint32();
        this.pos += len;
        break;
      }
      case 5:
        this.pos += 4;
        break;
      default:
        throw new Error(`unsupported wire type ${wireType}`);
    }
    if (this.pos > this.end) throw new Error('truncated field');
  }
}
