import { WireFormatError, WireReader } from '../model/index.ts';

/**
 * A growable little-endian byte writer for WAL records and block files. Floats are written through a
 * Float64Array view so NaN payloads (the stale marker) keep their exact bits.
 */
export class ByteWriter {
  private buf: Buffer;
  private view: DataView;
  length = 0;

  constructor(initialBytes = 4096) {
    this.buf = Buffer.allocUnsafe(initialBytes);
    this.view = new DataView(this.buf.buffer, this.buf.byteOffset, this.buf.byteLength);
  }

  /** Bytes allocated. */
  get capacity(): number {
    return this.buf.length;
  }

  /** Makes room for `n` more bytes. */
  ensure(n: number): void {
    const need = this.length + n;
    if (need <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < need) size *= 2;
    const next = Buffer.allocUnsafe(size);
    this.buf.copy(next, 0, 0, this.length);
    this.buf = next;
    this.view = new DataView(next.buffer, next.byteOffset, next.byteLength);
  }

  u8(v: number): void {
    this.ensure(1);
    this.buf[this.length++] = v;
  }

  u16(v: number): void {
    this.ensure(2);
    this.view.setUint16(this.length, v, true);
    this.length += 2;
  }

  u32(v: number): void {
    this.ensure(4);
    this.view.setUint32(this.length, v, true);
    this.length += 4;
  }

  /** An unsigned 64-bit integer in [0, 2^64) (nanosecond times). */
  u64(v: bigint): void {
    this.ensure(8);
    this.view.setBigUint64(this.length, v, true);
    this.length += 8;
  }

  f64(v: number): void {
    this.ensure(8);
    this.view.setFloat64(this.length, v, true);
    this.length += 8;
  }

  /** Unsigned LEB128 varint for values up to 2^53. */
  uvarint(v: number): void {
    this.ensure(10);
    while (v >= 0x80) {
      this.buf[this.length++] = (v % 0x80) | 0x80;
      v = Math.floor(v / 0x80);
    }
    this.buf[this.length++] = v;
  }

  /** Zig-zag signed varint for integers in ±2^52. */
  varint(v: number): void {
    this.uvarint(v >= 0 ? v * 2 : -v * 2 - 1);
  }

  /** A length-prefixed (uvarint) UTF-8 string. */
  str(s: string): void {
    const max = s.length * 3;
    this.ensure(max + 5);
    if (s.length < 128 && max < 128) {
      const n = this.buf.write(s, this.length + 1, 'utf8');
      this.buf[this.length] = n;
      this.length += 1 + n;
      return;
    }
    const n = Buffer.byteLength(s, 'utf8');
    this.uvarint(n);
    this.buf.write(s, this.length, 'utf8');
    this.length += n;
  }

  bytes(b: Uint8Array): void {
    this.ensure(b.length);
    this.buf.set(b, this.length);
    this.length += b.length;
  }

  /** Overwrites a u32 at `offset` (for back-patched lengths). */
  patchU32(offset: number, v: number): void {
    this.view.setUint32(offset, v, true);
  }

  /** The bytes written so far (a view, valid until the next write). */
  view_(): Buffer {
    return this.buf.subarray(0, this.length);
  }

  /** A copy of the bytes written so far. */
  toBuffer(): Buffer {
    return Buffer.from(this.buf.subarray(0, this.length));
  }

  reset(): void {
    this.length = 0;
  }
}

/**
 * The reading side of {@link ByteWriter}: the shared protobuf wire reader (whose varints are the same
 * LEB128, zigzag for signed values, and whose fixed-width values are little-endian too) plus the byte-sized
 * reads the record formats add. A read past the end throws `WireFormatError` (a torn or corrupt record).
 */
export class ByteReader extends WireReader {
  constructor(buf: Buffer, start = 0, end = buf.length) {
    super(buf, start, end);
  }

  get remaining(): number {
    return this.end - this.pos;
  }

  u8(): number {
    if (this.pos >= this.end) throw new WireFormatError('unexpected end of record');
    return this.buf[this.pos++]!;
  }

  u16(): number {
    if (this.pos + 2 > this.end) throw new WireFormatError('unexpected end of record');
    const v = this.view.getUint16(this.pos, true);
    this.pos += 2;
    return v;
  }

  u32(): number {
    return this.fixed32();
  }

  f64(): number {
    return this.double();
  }

  /** An unsigned 64-bit integer written by {@link ByteWriter.u64}. */
  u64(): bigint {
    if (this.pos + 8 > this.end) throw new WireFormatError('unexpected end of record');
    const v = this.view.getBigUint64(this.pos, true);
    this.pos += 8;
    return v;
  }

  /** An unsigned varint written by {@link ByteWriter.uvarint}. */
  uvarint(): number {
    return this.uint64();
  }

  /** A zigzag varint written by {@link ByteWriter.varint}. */
  varint(): number {
    return this.sint64();
  }

  /** A length-prefixed UTF-8 string written by {@link ByteWriter.str}. */
  str(): string {
    return this.string();
  }

  bytes(n: number): Buffer {
    if (this.pos + n > this.end) throw new WireFormatError('unexpected end of record');
    const b = (this.buf as Buffer).subarray(this.pos, this.pos + n);
    this.pos += n;
    return b;
  }
}
