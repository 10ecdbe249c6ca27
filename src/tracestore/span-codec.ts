import type { Attribute, AttributeScalar, AttributeValue, InstrumentationScope, Span, SpanEvent, SpanKind, SpanLink, SpanRecord, SpanStatusCode } from '../model/index.ts';
import type { ByteReader, ByteWriter } from '../objstore/index.ts';

/*
 * The binary form of span records (docs/formats/tracestore.md, "Span records"), written by the WAL (a frame's
 * records) and the trace records (a trace's chunk). It replaced JSON (format 3), which cost a large share of
 * ingest CPU: `JSON.stringify` with a replacer for bigints, then UTF-8 encoding of ~1 KB of text per span, then
 * deflate over all of it. Here a string seen before in the same encoding (attribute keys, service names, the trace
 * id of every span of a trace) is a back-reference, times are 8 bytes and numbers are doubles, so a span is a few
 * hundred bytes and the deflate after it has a third of the input.
 *
 *   records:   u8 SPAN_RECORDS_MAGIC, uvarint count, per record: attrs (the resource), uvarint span count, spans
 *   span:      u16 flags, text trace id, text span id, [text parent id], [text trace state], text name,
 *              u8 kind, u8 status, time start, time end, attrs, scope, [text status message],
 *              [uvarint count, events], [uvarint count, links], [uvarint dropped attributes/events/links]
 *   event:     time, text name, u8 has-attrs, [attrs];   link: text trace id, text span id, u8 flags, [text], [attrs]
 *   scope:     uvarint ref: 0 = a new scope follows (text name, u8 flags, [text version], [attrs]), n = the n-th one
 *   attrs:     uvarint count, per attribute: text key, value
 *   value:     u8 type: 0 text, 1 double (f64), 2 false, 3 true, 4 array (uvarint count, values, no nesting)
 *   text:      uvarint ref: 0 = a new string follows (ByteWriter.str), n = the n-th new string of this encoding
 *   time:      u64 LE (flag WIDE_TIMES: decimal text instead, for a value outside [0, 2^64))
 *
 * Strings are stored as UTF-8 (a lone surrogate becomes U+FFFD, as in the Parquet blocks); numbers as doubles,
 * NaN, ±Infinity and -0 included, so every span decodes exactly as it was encoded otherwise.
 */

/** First byte of binary span records: JSON records (format 3) start with `[` or `{`, so the two never mix up. */
export const SPAN_RECORDS_MAGIC = 0x01;

const F_PARENT = 1 << 0;
const F_TRACE_STATE = 1 << 1;
const F_STATUS_MESSAGE = 1 << 2;
const F_EVENTS = 1 << 3;
const F_LINKS = 1 << 4;
const F_DROPPED_ATTRS = 1 << 5;
const F_DROPPED_EVENTS = 1 << 6;
const F_DROPPED_LINKS = 1 << 7;
const F_WIDE_TIMES = 1 << 8;

const V_STRING = 0;
const V_NUMBER = 1;
const V_FALSE = 2;
const V_TRUE = 3;
const V_ARRAY = 4;

const U64_END = 1n << 64n;
/** Strings longer than this are written in full each time (rarely repeated; keeps the table small). */
const MAX_SHARED_STRING = 256;

/** Writes span records; one encoder per encoding (its string and scope tables are the encoding's). */
class SpanRecordsEncoder {
  private readonly strings = new Map<string, number>();
  private readonly scopes = new Map<InstrumentationScope, number>();

  constructor(private readonly w: ByteWriter) {}

  records(records: readonly SpanRecord[]): void {
    const w = this.w;
    w.u8(SPAN_RECORDS_MAGIC);
    w.uvarint(records.length);
    for (const r of records) {
      this.attrs(r.resource);
      w.uvarint(r.spans.length);
      for (const s of r.spans) this.span(s);
    }
  }

  private span(s: Span): void {
    const w = this.w;
    const wide = !fitsU64(s.startTimeUnixNs) || !fitsU64(s.endTimeUnixNs) || (s.events?.some((e) => !fitsU64(e.timeUnixNs)) ?? false);
    const flags =
      (s.parentSpanId !== undefined ? F_PARENT : 0) |
      (s.traceState !== undefined ? F_TRACE_STATE : 0) |
      (s.statusMessage !== undefined ? F_STATUS_MESSAGE : 0) |
      (s.events !== undefined ? F_EVENTS : 0) |
      (s.links !== undefined ? F_LINKS : 0) |
      (s.droppedAttributesCount !== undefined ? F_DROPPED_ATTRS : 0) |
      (s.droppedEventsCount !== undefined ? F_DROPPED_EVENTS : 0) |
      (s.droppedLinksCount !== undefined ? F_DROPPED_LINKS : 0) |
      (wide ? F_WIDE_TIMES : 0);
    w.u16(flags);
    this.text(s.traceId);
    w.str(s.spanId);
    if (s.parentSpanId !== undefined) w.str(s.parentSpanId);
    if (s.traceState !== undefined) this.text(s.traceState);
    this.text(s.name);
    w.u8(s.kind);
    w.u8(s.statusCode);
    this.time(s.startTimeUnixNs, wide);
    this.time(s.endTimeUnixNs, wide);
    this.attrs(s.attributes);
    this.scope(s.scope);
    if (s.statusMessage !== undefined) this.text(s.statusMessage);
    if (s.events !== undefined) {
      w.uvarint(s.events.length);
      for (const e of s.events) {
        this.time(e.timeUnixNs, wide);
        this.text(e.name);
        w.u8(e.attributes !== undefined ? 1 : 0);
        if (e.attributes !== undefined) this.attrs(e.attributes);
      }
    }
    if (s.links !== undefined) {
      w.uvarint(s.links.length);
      for (const l of s.links) {
        this.text(l.traceId);
        this.text(l.spanId);
        w.u8((l.traceState !== undefined ? 1 : 0) | (l.attributes !== undefined ? 2 : 0));
        if (l.traceState !== undefined) this.text(l.traceState);
        if (l.attributes !== undefined) this.attrs(l.attributes);
      }
    }
    if (s.droppedAttributesCount !== undefined) w.uvarint(s.droppedAttributesCount);
    if (s.droppedEventsCount !== undefined) w.uvarint(s.droppedEventsCount);
    if (s.droppedLinksCount !== undefined) w.uvarint(s.droppedLinksCount);
  }

  private scope(scope: InstrumentationScope): void {
    const w = this.w;
    const ref = this.scopes.get(scope);
    if (ref !== undefined) {
      w.uvarint(ref + 1);
      return;
    }
    this.scopes.set(scope, this.scopes.size);
    w.uvarint(0);
    this.text(scope.name);
    w.u8((scope.version !== undefined ? 1 : 0) | (scope.attributes !== undefined ? 2 : 0));
    if (scope.version !== undefined) this.text(scope.version);
    if (scope.attributes !== undefined) this.attrs(scope.attributes);
  }

  private attrs(list: readonly Attribute[]): void {
    this.w.uvarint(list.length);
    for (const a of list) {
      this.text(a.key);
      this.value(a.value);
    }
  }

  private value(v: AttributeValue): void {
    const w = this.w;
    if (typeof v === 'string') {
      w.u8(V_STRING);
      this.text(v);
    } else if (typeof v === 'number') {
      w.u8(V_NUMBER);
      w.f64(v);
    } else if (typeof v === 'boolean') {
      w.u8(v ? V_TRUE : V_FALSE);
    } else {
      w.u8(V_ARRAY);
      w.uvarint(v.length);
      for (const x of v) this.value(x);
    }
  }

  private text(s: string): void {
    const ref = this.strings.get(s);
    if (ref !== undefined) {
      this.w.uvarint(ref + 1);
      return;
    }
    if (s.length <= MAX_SHARED_STRING) this.strings.set(s, this.strings.size);
    this.w.uvarint(0);
    this.w.str(s);
  }

  private time(v: bigint, wide: boolean): void {
    if (wide) this.w.str(v.toString());
    else this.w.u64(v);
  }
}

/** Decodes span records written by {@link encodeSpanRecordsBinary}: one decoder per encoding. */
class SpanRecordsDecoder {
  private readonly strings: string[] = [];
  private readonly scopes: InstrumentationScope[] = [];

  constructor(private readonly r: ByteReader) {}

  records(): SpanRecord[] {
    const r = this.r;
    if (r.u8() !== SPAN_RECORDS_MAGIC) throw new Error('not binary span records');
    const n = r.uvarint();
    const out: SpanRecord[] = [];
    for (let i = 0; i < n; i++) {
      const resource = this.attrs();
      const count = r.uvarint();
      const spans: Span[] = [];
      for (let k = 0; k < count; k++) spans.push(this.span());
      out.push({ resource, spans });
    }
    return out;
  }

  private span(): Span {
    const r = this.r;
    const flags = r.u16();
    const wide = (flags & F_WIDE_TIMES) !== 0;
    const traceId = this.text();
    const spanId = r.str();
    const parentSpanId = flags & F_PARENT ? r.str() : undefined;
    const traceState = flags & F_TRACE_STATE ? this.text() : undefined;
    const name = this.text();
    const kind = r.u8() as SpanKind;
    const statusCode = r.u8() as SpanStatusCode;
    const startTimeUnixNs = this.time(wide);
    const endTimeUnixNs = this.time(wide);
    const attributes = this.attrs();
    const scope = this.scope();
    const span: { -readonly [K in keyof Span]: Span[K] } = { traceId, spanId, name, kind, startTimeUnixNs, endTimeUnixNs, attributes, statusCode, scope };
    // Optional fields are present only when set, as the decoders of OTLP make them (tests compare with deepEqual).
    if (parentSpanId !== undefined) span.parentSpanId = parentSpanId;
    if (traceState !== undefined) span.traceState = traceState;
    if (flags & F_STATUS_MESSAGE) span.statusMessage = this.text();
    if (flags & F_EVENTS) {
      const events: SpanEvent[] = [];
      for (let i = r.uvarint(); i > 0; i--) {
        const timeUnixNs = this.time(wide);
        const ename = this.text();
        events.push(r.u8() ? { timeUnixNs, name: ename, attributes: this.attrs() } : { timeUnixNs, name: ename });
      }
      span.events = events;
    }
    if (flags & F_LINKS) {
      const links: SpanLink[] = [];
      for (let i = r.uvarint(); i > 0; i--) {
        const link: { -readonly [K in keyof SpanLink]: SpanLink[K] } = { traceId: this.text(), spanId: this.text() };
        const lf = r.u8();
        if (lf & 1) link.traceState = this.text();
        if (lf & 2) link.attributes = this.attrs();
        links.push(link);
      }
      span.links = links;
    }
    if (flags & F_DROPPED_ATTRS) span.droppedAttributesCount = r.uvarint();
    if (flags & F_DROPPED_EVENTS) span.droppedEventsCount = r.uvarint();
    if (flags & F_DROPPED_LINKS) span.droppedLinksCount = r.uvarint();
    return span;
  }

  private scope(): InstrumentationScope {
    const ref = this.r.uvarint();
    if (ref > 0) {
      const s = this.scopes[ref - 1];
      if (s === undefined) throw new Error(`span records: scope reference ${ref} out of range`);
      return s;
    }
    const name = this.text();
    const f = this.r.u8();
    const scope: { -readonly [K in keyof InstrumentationScope]: InstrumentationScope[K] } = { name };
    if (f & 1) scope.version = this.text();
    if (f & 2) scope.attributes = this.attrs();
    this.scopes.push(scope);
    return scope;
  }

  private attrs(): Attribute[] {
    const n = this.r.uvarint();
    const out: Attribute[] = new Array<Attribute>(n);
    for (let i = 0; i < n; i++) out[i] = { key: this.text(), value: this.value(true) };
    return out;
  }

  private value(top: boolean): AttributeValue {
    const t = this.r.u8();
    switch (t) {
      case V_STRING:
        return this.text();
      case V_NUMBER:
        return this.r.f64();
      case V_FALSE:
        return false;
      case V_TRUE:
        return true;
      case V_ARRAY: {
        if (!top) throw new Error('span records: nested array value');
        const n = this.r.uvarint();
        const out: AttributeScalar[] = [];
        for (let i = 0; i < n; i++) out.push(this.value(false) as AttributeScalar);
        return out;
      }
      default:
        throw new Error(`span records: unknown value type ${t}`);
    }
  }

  private text(): string {
    const ref = this.r.uvarint();
    if (ref > 0) {
      const s = this.strings[ref - 1];
      if (s === undefined) throw new Error(`span records: string reference ${ref} out of range`);
      return s;
    }
    const s = this.r.str();
    if (s.length <= MAX_SHARED_STRING) this.strings.push(s);
    return s;
  }

  private time(wide: boolean): bigint {
    return wide ? BigInt(this.r.str()) : this.r.u64();
  }
}

function fitsU64(v: bigint): boolean {
  return v >= 0n && v < U64_END;
}

/** Appends `records` to `w` in the binary form. */
export function encodeSpanRecordsBinary(w: ByteWriter, records: readonly SpanRecord[]): void {
  new SpanRecordsEncoder(w).records(records);
}

/** Decodes binary span records starting at `r`'s position (they must be the rest of what `r` reads). */
export function decodeSpanRecordsBinary(r: ByteReader): SpanRecord[] {
  const out = new SpanRecordsDecoder(r).records();
  if (r.remaining !== 0) throw new Error('span records: bytes after the records');
  return out;
}
