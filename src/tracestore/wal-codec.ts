import type { Attribute, AttributeValue, Span, SpanEvent, SpanLink, SpanRecord, TenantId } from '../model/index.ts';
import { ByteReader, ByteWriter } from '../objstore/index.ts';
import { decodeSpanRecordsBinary, encodeSpanRecordsBinary } from './span-codec.ts';

/** One WAL frame of the trace store: one tenant's committed batch (docs/formats/tracestore.md, "WAL"). */
export interface WalBatch {
  readonly tenant: TenantId;
  readonly records: readonly SpanRecord[];
}

/*
 * A frame's payload (format 4) is binary: u8 WAL_FRAME_BINARY, the tenant (ByteWriter.str), then the batch's span
 * records in span-codec.ts's form. Format 3 wrote UTF-8 JSON, `{"t": tenant, "r": [records]}`, with times (bigint
 * nanoseconds) as decimal strings and a non-finite double as `{"$f": "NaN"}`; such frames (they start with `{`)
 * are still read, and a block's trace records written by format 3 hold the same JSON records.
 */

/** First byte of a binary frame (a JSON one starts with `{`). */
const WAL_FRAME_BINARY = 0x01;
const JSON_OBJECT = 0x7b;

/** Whether a frame payload is format 3's JSON (about six times the size of the binary form of the same spans). */
export function isJsonWalFrame(payload: Uint8Array): boolean {
  return payload[0] === JSON_OBJECT;
}

/** Encodes a batch as a WAL frame payload. */
export function encodeWalBatch(batch: WalBatch): Buffer {
  const w = new ByteWriter(64 * 1024);
  w.u8(WAL_FRAME_BINARY);
  w.str(batch.tenant);
  encodeSpanRecordsBinary(w, batch.records);
  return w.view_();
}

/** Decodes a frame payload written by {@link encodeWalBatch} or by format 3 (JSON). Throws on a payload that is neither. */
export function decodeWalBatch(payload: Uint8Array): WalBatch {
  if (isJsonWalFrame(payload)) return decodeWalBatchJson(payload);
  const buf = Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength);
  const r = new ByteReader(buf);
  if (r.u8() !== WAL_FRAME_BINARY) throw new Error('not a trace WAL batch');
  const tenant = r.str() as TenantId;
  return { tenant, records: decodeSpanRecordsBinary(r) };
}

/** A format-3 (JSON) frame payload: what older builds wrote; kept so tests can write one. */
export function encodeWalBatchJson(batch: WalBatch): Buffer {
  return Buffer.from(JSON.stringify({ t: batch.tenant, r: batch.records }, replacer), 'utf8');
}

/** Span records as format 3's JSON (a format-3 block's trace records chunk before deflate); for tests. */
export function encodeSpanRecordsJson(records: readonly SpanRecord[]): Buffer {
  return Buffer.from(JSON.stringify(records, replacer), 'utf8');
}

/** Decodes JSON written by {@link encodeSpanRecordsJson} (format 3). Throws on anything else. */
export function decodeSpanRecordsJson(json: Uint8Array): SpanRecord[] {
  const raw = JSON.parse(Buffer.from(json.buffer, json.byteOffset, json.byteLength).toString('utf8')) as RawRecord[];
  if (!Array.isArray(raw)) throw new Error('not a list of span records');
  return raw.map(record);
}

function replacer(this: unknown, _key: string, value: unknown): unknown {
  if (typeof value === 'bigint') return value.toString();
  if (typeof value === 'number' && !Number.isFinite(value)) return { $f: String(value) };
  return value;
}

function decodeWalBatchJson(payload: Uint8Array): WalBatch {
  const raw = JSON.parse(Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength).toString('utf8')) as { t: string; r: RawRecord[] };
  if (typeof raw.t !== 'string' || !Array.isArray(raw.r)) throw new Error('not a trace WAL batch');
  return { tenant: raw.t as TenantId, records: raw.r.map(record) };
}

type RawRecord = { resource: RawAttribute[]; spans: RawSpan[] };

function record(r: RawRecord): SpanRecord {
  return { resource: attrs(r.resource)!, spans: r.spans.map(span) };
}

type RawAttribute = { key: string; value: unknown };
type RawSpan = Omit<Span, 'startTimeUnixNs' | 'endTimeUnixNs' | 'attributes' | 'events' | 'links' | 'scope'> & {
  startTimeUnixNs: string;
  endTimeUnixNs: string;
  attributes: RawAttribute[];
  events?: (Omit<SpanEvent, 'timeUnixNs' | 'attributes'> & { timeUnixNs: string; attributes?: RawAttribute[] })[];
  links?: (Omit<SpanLink, 'attributes'> & { attributes?: RawAttribute[] })[];
  scope: { name: string; version?: string; attributes?: RawAttribute[] };
};

function span(s: RawSpan): Span {
  const out: Span = {
    ...s,
    startTimeUnixNs: BigInt(s.startTimeUnixNs),
    endTimeUnixNs: BigInt(s.endTimeUnixNs),
    attributes: attrs(s.attributes)!,
    scope: { ...s.scope, ...(s.scope.attributes ? { attributes: attrs(s.scope.attributes)! } : {}) },
    ...(s.events ? { events: s.events.map((e) => ({ ...e, timeUnixNs: BigInt(e.timeUnixNs), ...(e.attributes ? { attributes: attrs(e.attributes)! } : {}) })) } : {}),
    ...(s.links ? { links: s.links.map((l) => ({ ...l, ...(l.attributes ? { attributes: attrs(l.attributes)! } : {}) })) } : {}),
  } as Span;
  return out;
}

function attrs(list: RawAttribute[] | undefined): Attribute[] | undefined {
  if (!list) return undefined;
  return list.map((a) => ({ key: a.key, value: value(a.value) }));
}

function value(v: unknown): AttributeValue {
  if (Array.isArray(v)) return v.map((x) => value(x) as string | number | boolean);
  if (v !== null && typeof v === 'object' && '$f' in v) return Number((v as { $f: string }).$f);
  return v as AttributeValue;
}
