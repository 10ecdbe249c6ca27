import type { Attribute, AttributeValue, Span, SpanEvent, SpanLink, SpanRecord, TenantId } from '../model/index.ts';

/** One WAL frame of the trace store: one tenant's committed batch (docs/formats/tracestore.md, "WAL"). */
export interface WalBatch {
  readonly tenant: TenantId;
  readonly records: readonly SpanRecord[];
}

/*
 * A frame's payload is UTF-8 JSON: `{"t": tenant, "r": [records]}` with spans as in the model, except that
 * times (bigint nanoseconds) are decimal strings and a non-finite double attribute value is `{"$f": "NaN"}`
 * (JSON has no NaN or Infinity). JSON keeps this simple and exact; the WAL is short-lived (a head cut
 * truncates it), so its size matters less than the blocks'.
 */

/** Encodes a batch as a WAL frame payload. */
export function encodeWalBatch(batch: WalBatch): Buffer {
  return Buffer.from(JSON.stringify({ t: batch.tenant, r: batch.records }, replacer), 'utf8');
}

/** Span records as the JSON a WAL frame's `r` holds (a block's trace records use the same form). */
export function encodeSpanRecords(records: readonly SpanRecord[]): Buffer {
  return Buffer.from(JSON.stringify(records, replacer), 'utf8');
}

/** Decodes JSON written by {@link encodeSpanRecords}. Throws on anything else. */
export function decodeSpanRecords(json: Uint8Array): SpanRecord[] {
  const raw = JSON.parse(Buffer.from(json.buffer, json.byteOffset, json.byteLength).toString('utf8')) as RawRecord[];
  if (!Array.isArray(raw)) throw new Error('not a list of span records');
  return raw.map(record);
}

function replacer(this: unknown, _key: string, value: unknown): unknown {
  if (typeof value === 'bigint') return value.toString();
  if (typeof value === 'number' && !Number.isFinite(value)) return { $f: String(value) };
  return value;
}

/** Decodes a frame payload written by {@link encodeWalBatch}. Throws on a payload that is not one. */
export function decodeWalBatch(payload: Uint8Array): WalBatch {
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
