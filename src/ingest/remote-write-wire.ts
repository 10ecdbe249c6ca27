import { isUtf8 } from 'node:buffer';

/**
 * A malformed protobuf message (truncated, a length past the end, an unknown wire type). Thrown inside the
 * remote_write decoders and caught at their entry points, which turn it into a whole-request failure;
 * never thrown out of a decoder.
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
 * A forward-only protobuf reader over one buffer, hand-rolled for the remote_write hot path: it reads
 * fields in place (no intermediate message objects), returns 64-bit integers as JS numbers (exact up to
 * 2^53, which covers millisecond timestamps and counts), and interns short strings so repeated label names
 * and values share one string instance.
 *
 * Not safe for concurrent use; one reader per decode.
 */
export class WireReader {
  readonly buf: Uint8Array;
  readonly view: DataView;
  /** The same bytes as a Buffer, for native string decoding. */
  private readonly text: Buffer;
  pos: number;
  /** Exclusive end of the whole buffer. */
  readonly end: number;
  private readonly strings: StringInterner;

  constructor(buf: Uint8Array, strings: StringInterner = sharedInterner) {
    this.buf = buf;
    this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    this.text = Buffer.isBuffer(buf) ? buf : Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
    this.pos = 0;
    this.end = buf.length;
    this.strings = strings;
  }

  /** Reads an unsigned varint of at most 32 significant bits (tags, lengths, enums, uint32). */
  uint32(): number {
    const buf = this.buf;
    let pos = this.pos;
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
    let guard = 0;
    while (b >= 0x80) {
      if (++guard > 5) throw new WireFormatError('varint too long');
      b = buf[pos++]!;
    }
    if (pos > this.end) throw new WireFormatError('unexpected end of message in varint');
    this.pos = pos;
    return value;
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
    if (pos > this.end) throw new WireFormatError('unexpected end of message in varint');
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
        if (pos > this.end) throw new WireFormatError('unexpected end of message in varint');
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

  /** Reads a little-endian float64. */
  double(): number {
    const pos = this.pos;
    if (pos + 8 > this.end) throw new WireFormatError('unexpected end of message in double');
    this.pos = pos + 8;
    return this.view.getFloat64(pos, true);
  }

  /** Reads a length prefix and returns the exclusive end offset of the field, checked against `limit`. */
  lengthEnd(limit: number): number {
    const len = this.uint32();
    const end = this.pos + len;
    if (end > limit) throw new WireFormatError(`length ${len} runs past the end of the message`);
    return end;
  }

  /**
   * Reads a length-delimited string, interned when short. Invalid UTF-8 is decoded with replacement
   * characters and flagged in {@link lastStringInvalid}.
   */
  string(limit: number): string {
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
  skip(wireType: number, limit: number): void {
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
    if (this.pos > limit) throw new WireFormatError('unexpected end of message');
  }
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

const MAX_INTERNED_BYTES = 64;
const INTERN_SLOTS = 1 << 14;

/**
 * A direct-mapped cache from UTF-8 bytes to strings. Label names and most label values repeat across
 * series and requests; returning the cached instance skips the UTF-8 decode and gives V8 one string (with
 * its hash computed) for every use as an object key. Hits are verified against the cached string itself
 * (ASCII) or a copy of its bytes (other text), so a collision costs a decode, never a wrong string.
 * Bounded: INTERN_SLOTS entries of at most MAX_INTERNED_BYTES bytes.
 *
 * Invalid UTF-8 is decoded with replacement characters and reported through {@link lastInvalid}, so
 * callers can refuse the label instead of storing mangled text; such strings are never cached.
 */
export class StringInterner {
  private readonly values: string[] = new Array<string>(INTERN_SLOTS).fill('');
  /** Bytes of non-ASCII entries (ASCII entries compare against the string's own char codes). */
  private readonly utf8Keys: (Uint8Array | undefined)[] = new Array<Uint8Array | undefined>(INTERN_SLOTS);
  /** Whether the most recent {@link get} saw invalid UTF-8. */
  lastInvalid = false;

  /** Returns `buf[start, end)` as a string; `text` must be a Buffer over the same bytes as `buf`. */
  get(buf: Uint8Array, text: Buffer, start: number, end: number): string {
    const len = end - start;
    this.lastInvalid = false;
    if (len === 0) return '';
    if (len > MAX_INTERNED_BYTES) return this.decode(text, start, end);
    // A sampled hash (length, first, middle and last bytes): a full hash costs as much as the compare
    // that verifies a hit anyway. Strings that collide on it only cost a decode each.
    let h = Math.imul(len ^ buf[start]!, 0x01000193);
    h = Math.imul(h ^ buf[start + (len >> 1)]!, 0x01000193);
    h = Math.imul(h ^ buf[end - 1]!, 0x01000193);
    if (len > 3) {
      h = Math.imul(h ^ buf[start + 1]!, 0x01000193);
      h = Math.imul(h ^ buf[end - 2]!, 0x01000193);
      h = Math.imul(h ^ buf[start + (len >> 2)]!, 0x01000193);
      h = Math.imul(h ^ buf[end - 1 - (len >> 2)]!, 0x01000193);
    }
    const slot = (h ^ (h >>> 15)) & (INTERN_SLOTS - 1);
    const cached = this.values[slot]!;
    const key = this.utf8Keys[slot];
    if (key === undefined) {
      // An ASCII entry: its char codes are its bytes (bytes >= 0x80 can never match them).
      if (cached.length === len) {
        let i = 0;
        while (i < len && cached.charCodeAt(i) === buf[start + i]) i++;
        if (i === len) return cached;
      }
    } else if (key.length === len) {
      let i = 0;
      while (i < len && key[i] === buf[start + i]) i++;
      if (i === len) return cached;
    }
    let high = 0;
    for (let i = start; i < end; i++) high |= buf[i]!;
    if (high < 0x80) {
      const s = len <= 10 ? shortAscii(buf, start, end) : text.toString('latin1', start, end);
      this.values[slot] = s;
      this.utf8Keys[slot] = undefined;
      return s;
    }
    const s = this.decode(text, start, end);
    if (!this.lastInvalid) {
      this.values[slot] = s;
      this.utf8Keys[slot] = buf.slice(start, end);
    }
    return s;
  }

  private decode(text: Buffer, start: number, end: number): string {
    const s = text.toString('utf8', start, end);
    // The decoder replaces invalid sequences with U+FFFD; only then is a strict check needed.
    this.lastInvalid = s.includes('\uFFFD') && !isUtf8(text.subarray(start, end));
    return s;
  }
}

function shortAscii(buf: Uint8Array, start: number, end: number): string {
  // Short ASCII: building the string in JS beats the native call's fixed cost.
  let s = '';
  for (let i = start; i < end; i++) s += String.fromCharCode(buf[i]!);
  return s;
}

/** The process-wide interner the decoders share (its memory is bounded, see {@link StringInterner}). */
export const sharedInterner = new StringInterner();
