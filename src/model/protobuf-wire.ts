import { sharedInterner } from './string-interner.ts';
import type { StringInterner } from './string-interner.ts';

/**
 * Malformed bytes: input that ends inside a value, a length past the end of its message, a varint longer
 * than ten bytes, an unknown wire type. Decoders catch it at their entry points and turn it into a
 * whole-request (or whole-record) failure; it never escapes a decoder.
 */
export class WireFormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'WireFormatError';
  }
}

/** Protobuf wire types. */
export const WIRE_VARINT = 0;
export const WIRE_I64 = 1;
export const WIRE_LEN = 2;
export const WIRE_I32 = 5;

const TWO_32 = 4294967296;

/**
 * The one reader of the protobuf wire format (varints, zigzag, fixed-width little-endian values,
 * length-delimited fields, unknown-field skipping), shared by every decoder that reads it: remote_write 1.0
 * and 2.0, Loki push, the snappy length header and the metrics WAL and block records (LEB128 varints too).
 * Hand-rolled for the remote_write hot path: it reads fields in place (no intermediate message objects),
 * returns 64-bit integers as JS numbers (exact up to 2^53, which covers millisecond timestamps, nanosecond
 * offsets and counts), and interns short strings so repeated label names and values share one instance.
 *
 * Reading past {@link end} throws {@link WireFormatError}. Not safe for concurrent use; one reader per decode.
 */
export class WireReader {
  readonly buf: Uint8Array;
  readonly view: DataView;
  /** The same bytes as a Buffer, for native string decoding. */
  private readonly text: Buffer;
  pos: number;
  /** Exclusive end of the bytes this reader may read. */
  readonly end: number;
  private readonly strings: StringInterner;

  /** Reads `buf[start, end)`; strings of at most 64 bytes are interned in `strings`. */
  constructor(buf: Uint8Array, start = 0, end = buf.length, strings: StringInterner = sharedInterner) {
    this.buf = buf;
    this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    this.text = Buffer.isBuffer(buf) ? buf : Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
    this.pos = start;
    this.end = end;
    this.strings = strings;
  }

  /** Reads an unsigned varint of at most 32 significant bits (tags, lengths, enums, uint32). */
  uint32(): number {
    const buf = this.buf;
    let pos = this.pos;
    // Ten bytes or more from the end (nearly always) no read can pass it: one check instead of one per
    // byte keeps this small enough for V8 to inline into the decoders' loops.
    if (pos + 10 > this.end) return this.uint32NearEnd();
    let b = buf[pos++]!;
    let value = b & 0x7f;
    if (b < 0x80) {
      this.pos = pos;
      return value;
    }
    b = buf[pos++]!;
    value |= (b & 0x7f) << 7;
    if (b < 0x80) {
      this.pos = pos;
      return value;
    }
    b = buf[pos++]!;
    value |= (b & 0x7f) << 14;
    if (b < 0x80) {
      this.pos = pos;
      return value;
    }
    b = buf[pos++]!;
    value |= (b & 0x7f) << 21;
    if (b < 0x80) {
      this.pos = pos;
      return value;
    }
    b = buf[pos++]!;
    value = (value | ((b & 0x0f) << 28)) >>> 0;
    // A uint32 encoded as a (negative) int32 carries five more bytes; skip them.
    for (let i = 0; b >= 0x80; i++) {
      if (i === 5) throw new WireFormatError('varint too long');
      b = buf[pos++]!;
    }
    this.pos = pos;
    return value;
  }

  /** {@link uint32} within ten bytes of the end: every byte is checked against it. */
  private uint32NearEnd(): number {
    const buf = this.buf;
    const end = this.end;
    let pos = this.pos;
    let value = 0;
    for (let i = 0; i < 10; i++) {
      if (pos >= end) throw truncated();
      const b = buf[pos++]!;
      // Bits past the 32nd (a sign-extended int32) are dropped, as protobuf does for uint32.
      if (i < 5) value |= (b & 0x7f) << (7 * i);
      if (b < 0x80) {
        this.pos = pos;
        return value >>> 0;
      }
    }
    throw new WireFormatError('varint too long');
  }

  /** Reads a varint as two 32-bit halves into `lohi` (lo at [0], hi at [1], both unsigned). */
  private varint64(): void {
    const buf = this.buf;
    let pos = this.pos;
    let lo = 0;
    let hi = 0;
    let b = 0;
    let i = 0;
    for (; i < 4; i++) {
      b = buf[pos++]!;
      lo |= (b & 0x7f) << (i * 7);
      if (b < 0x80) {
        if (pos > this.end) throw truncated();
        this.pos = pos;
        lohi[0] = lo >>> 0;
        lohi[1] = 0;
        return;
      }
    }
    // Fifth byte: 4 bits to lo, 3 bits to hi.
    b = buf[pos++]!;
    lo |= (b & 0x0f) << 28;
    hi = (b & 0x7f) >> 4;
    if (b >= 0x80) {
      for (i = 0; i < 5; i++) {
        b = buf[pos++]!;
        hi |= (b & 0x7f) << (i * 7 + 3);
        if (b < 0x80) break;
      }
      if (b >= 0x80) throw new WireFormatError('varint too long');
    }
    if (pos > this.end) throw truncated();
    this.pos = pos;
    lohi[0] = lo >>> 0;
    lohi[1] = hi >>> 0;
  }

  /** Reads an int64 varint (two's complement) as a number. */
  int64(): number {
    // Fast path: small non-negative values (timestamps in ms fit in 6 bytes).
    const buf = this.buf;
    let pos = this.pos;
    let value = 0;
    let mul = 1;
    for (let i = 0; i < 7; i++) {
      const b = buf[pos++]!;
      value += (b & 0x7f) * mul;
      if (b < 0x80) {
        if (pos > this.end) throw truncated();
        this.pos = pos;
        return value;
      }
      mul *= 128;
    }
    this.varint64();
    return lohiToSigned();
  }

  /** Reads a uint64 varint as a number. */
  uint64(): number {
    this.varint64();
    return lohi[1]! * TWO_32 + lohi[0]!;
  }

  /** Reads a zigzag-encoded sint64 as a number. */
  sint64(): number {
    this.varint64();
    const lo = lohi[0]!;
    const hi = lohi[1]!;
    const mask = -(lo & 1);
    lohi[0] = (((lo >>> 1) | (hi << 31)) ^ mask) >>> 0;
    lohi[1] = ((hi >>> 1) ^ mask) >>> 0;
    return lohiToSigned();
  }

  /** Reads a zigzag-encoded sint32. */
  sint32(): number {
    const n = this.uint32();
    return (n >>> 1) ^ -(n & 1);
  }

  /** Reads a little-endian uint32 (protobuf `fixed32`). */
  fixed32(): number {
    const pos = this.pos;
    if (pos + 4 > this.end) throw truncated();
    this.pos = pos + 4;
    return this.view.getUint32(pos, true);
  }

  /** Reads a little-endian float64. */
  double(): number {
    const pos = this.pos;
    if (pos + 8 > this.end) throw truncated();
    this.pos = pos + 8;
    return this.view.getFloat64(pos, true);
  }

  /**
   * Reads a length prefix and returns the exclusive end offset of the field, checked against `limit` (the
   * end of the enclosing message, never past the reader's end; the reader's end by default).
   */
  lengthEnd(limit: number = this.end): number {
    const len = this.uint32();
    const end = this.pos + len;
    if (end > limit) throw new WireFormatError(`length ${len} runs past the end of the message`);
    return end;
  }

  /**
   * Reads a length-delimited string, interned when short. Invalid UTF-8 is decoded with replacement
   * characters and flagged in {@link lastStringInvalid}.
   */
  string(limit: number = this.end): string {
    const end = this.lengthEnd(limit);
    const start = this.pos;
    this.pos = end;
    return this.strings.get(this.buf, this.text, start, end);
  }

  /** Whether the most recent {@link string} read held invalid UTF-8. */
  get lastStringInvalid(): boolean {
    return this.strings.lastInvalid;
  }

  /** Skips one field's value of the given wire type. */
  skip(wireType: number, limit: number = this.end): void {
    switch (wireType) {
      case WIRE_VARINT: {
        let guard = 0;
        while (this.buf[this.pos++]! >= 0x80) {
          if (++guard > 10) throw new WireFormatError('varint too long');
        }
        break;
      }
      case WIRE_I64:
        this.pos += 8;
        break;
      case WIRE_LEN:
        this.pos = this.lengthEnd(limit);
        break;
      case WIRE_I32:
        this.pos += 4;
        break;
      default:
        throw new WireFormatError(`invalid wire type ${wireType} at offset ${this.pos}`);
    }
    if (this.pos > limit) throw truncated();
  }
}

function truncated(): WireFormatError {
  return new WireFormatError('unexpected end of message');
}

const lohi = new Uint32Array(2);

function lohiToSigned(): number {
  const lo = lohi[0]!;
  const hi = lohi[1]!;
  if (hi & 0x80000000) {
    // Negative: -(~value + 1).
    const nlo = (~lo + 1) >>> 0;
    const nhi = (~hi + (nlo === 0 ? 1 : 0)) >>> 0;
    return -(nhi * TWO_32 + nlo);
  }
  return hi * TWO_32 + lo;
}

