import assert from 'node:assert/strict';
import { test } from 'node:test';
import protobuf from 'protobufjs';
import { WIRE_I32, WIRE_I64, WIRE_LEN, WIRE_VARINT, WireFormatError, WireReader } from './protobuf-wire.ts';

type Read = (r: WireReader) => unknown;

const hex = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s.replace(/\s+/g, ''), 'hex'));
const w = (): protobuf.Writer => protobuf.Writer.create();
const MAX = 'ff ff ff ff ff ff ff ff ff 01';

/**
 * One row per behaviour: the bytes, how they are read, and the value (or the error) expected. Bytes come
 * from the protobuf encoding spec's examples, Go's encoding/binary varint tests, and protobufjs' encoder
 * (an independent implementation) for the values around each boundary.
 */
const ROWS: readonly { readonly name: string; readonly bytes: Uint8Array; readonly read: Read; readonly want?: unknown; readonly error?: RegExp }[] = [
  // Varints: one to ten bytes.
  { name: 'uint32 0', bytes: hex('00'), read: (r) => r.uint32(), want: 0 },
  { name: 'uint32 150 (spec example)', bytes: hex('96 01'), read: (r) => r.uint32(), want: 150 },
  { name: 'uint32 300', bytes: hex('ac 02'), read: (r) => r.uint32(), want: 300 },
  { name: 'uint32 max', bytes: w().uint32(0xffffffff).finish(), read: (r) => r.uint32(), want: 0xffffffff },
  { name: 'int32 -1 is ten bytes; uint32 keeps the low 32 bits', bytes: w().int32(-1).finish(), read: (r) => r.uint32() | 0, want: -1 },
  { name: 'uint64 2^53 - 1', bytes: w().uint64(Number.MAX_SAFE_INTEGER).finish(), read: (r) => r.uint64(), want: Number.MAX_SAFE_INTEGER },
  { name: 'uint64 max (ten bytes)', bytes: hex(MAX), read: (r) => r.uint64(), want: 2 ** 64 },
  { name: 'int64 ms timestamp', bytes: w().int64(1_700_000_000_123).finish(), read: (r) => r.int64(), want: 1_700_000_000_123 },
  { name: 'int64 -1 (ten bytes)', bytes: hex(MAX), read: (r) => r.int64(), want: -1 },
  { name: 'int64 min', bytes: hex('80 80 80 80 80 80 80 80 80 01'), read: (r) => r.int64(), want: -9223372036854775808 },
  { name: 'int64 -2^53 + 1', bytes: w().int64(-Number.MAX_SAFE_INTEGER).finish(), read: (r) => r.int64(), want: -Number.MAX_SAFE_INTEGER },
  { name: 'over-long varint (eleven bytes)', bytes: hex('ff ff ff ff ff ff ff ff ff ff 01'), read: (r) => r.uint64(), error: /varint too long/ },
  { name: 'over-long uint32', bytes: hex('ff ff ff ff ff ff ff ff ff ff 01'), read: (r) => r.uint32(), error: /varint too long/ },
  // Zigzag.
  { name: 'sint64 0', bytes: hex('00'), read: (r) => r.sint64(), want: 0 },
  { name: 'sint64 -1', bytes: hex('01'), read: (r) => r.sint64(), want: -1 },
  { name: 'sint64 1', bytes: hex('02'), read: (r) => r.sint64(), want: 1 },
  { name: 'sint64 -2', bytes: hex('03'), read: (r) => r.sint64(), want: -2 },
  { name: 'sint64 2^31 - 1', bytes: hex('fe ff ff ff 0f'), read: (r) => r.sint64(), want: 2147483647 },
  { name: 'sint64 -2^31', bytes: hex('ff ff ff ff 0f'), read: (r) => r.sint64(), want: -2147483648 },
  { name: 'sint64 -(2^52)', bytes: w().sint64(-(2 ** 52)).finish(), read: (r) => r.sint64(), want: -(2 ** 52) },
  { name: 'sint64 2^53 - 1', bytes: w().sint64(Number.MAX_SAFE_INTEGER).finish(), read: (r) => r.sint64(), want: Number.MAX_SAFE_INTEGER },
  { name: 'sint32 -64', bytes: w().sint32(-64).finish(), read: (r) => r.sint32(), want: -64 },
  // Fixed width, little-endian.
  { name: 'double', bytes: w().double(-1.5e-300).finish(), read: (r) => r.double(), want: -1.5e-300 },
  { name: 'fixed32', bytes: hex('78 56 34 12'), read: (r) => r.fixed32(), want: 0x12345678 },
  // Length-delimited.
  { name: 'string', bytes: w().string('héllo').finish(), read: (r) => r.string(), want: 'héllo' },
  { name: 'empty string', bytes: hex('00'), read: (r) => r.string(), want: '' },
  {
    name: 'nested length checked against the enclosing message',
    bytes: hex('0a 05 0a 04 61 62 63 64'),
    read: (r) => {
      r.uint32();
      const end = r.lengthEnd();
      r.uint32();
      return r.string(end);
    },
    error: /runs past the end/,
  },
  // Unknown-field skipping: every wire type, then the field after them is still read.
  {
    name: 'skips unknown varint, i64, len and i32 fields',
    bytes: w().uint32((9 << 3) | WIRE_VARINT).int64(-1).uint32((10 << 3) | WIRE_I64).fixed64(7).uint32((11 << 3) | WIRE_LEN).string('skip me')
      .uint32((12 << 3) | WIRE_I32).fixed32(9).uint32((1 << 3) | WIRE_LEN).string('kept').finish(),
    read: (r) => {
      for (;;) {
        const tag = r.uint32();
        if (tag === ((1 << 3) | WIRE_LEN)) return r.string();
        r.skip(tag & 7);
      }
    },
    want: 'kept',
  },
  { name: 'groups (wire type 3) are refused', bytes: hex('0b 0c'), read: (r) => r.skip(r.uint32() & 7), error: /invalid wire type 3/ },
  { name: 'wire type 7 is refused', bytes: hex('0f'), read: (r) => r.skip(r.uint32() & 7), error: /invalid wire type 7/ },
  // Truncated input: every read fails instead of returning garbage.
  { name: 'empty input', bytes: hex(''), read: (r) => r.uint32(), error: /unexpected end/ },
  { name: 'varint cut after a continuation byte', bytes: hex('80'), read: (r) => r.uint32(), error: /unexpected end/ },
  { name: 'int64 cut short', bytes: hex('80 80 80 80 80 80 80 80'), read: (r) => r.int64(), error: /unexpected end/ },
  { name: 'uint64 cut short', bytes: hex('ff ff'), read: (r) => r.uint64(), error: /unexpected end/ },
  { name: 'double cut short', bytes: hex('00 00 00 00 00 00 f0'), read: (r) => r.double(), error: /unexpected end/ },
  { name: 'fixed32 cut short', bytes: hex('01 02 03'), read: (r) => r.fixed32(), error: /unexpected end/ },
  { name: 'string longer than the input', bytes: hex('05 61 62 63'), read: (r) => r.string(), error: /runs past the end/ },
  { name: 'skipped i64 cut short', bytes: hex('09 01 02 03'), read: (r) => r.skip(r.uint32() & 7), error: /unexpected end/ },
  { name: 'skipped varint cut short', bytes: hex('08 ff'), read: (r) => r.skip(r.uint32() & 7), error: /unexpected end/ },
];

test('the wire reader decodes varints, zigzag, fixed values and fields, skips unknown fields, refuses truncated input', () => {
  for (const row of ROWS) {
    if (row.error) {
      assert.throws(() => row.read(new WireReader(row.bytes)), (err: unknown) => err instanceof WireFormatError && row.error!.test(err.message), row.name);
    } else {
      assert.deepEqual(row.read(new WireReader(row.bytes)), row.want, row.name);
    }
  }
  // A reader over a sub-range never reads past its end, even when the buffer goes on.
  const sub = new WireReader(hex('96 01 96 01'), 0, 1);
  assert.throws(() => sub.uint32(), WireFormatError, 'varint crossing the sub-range end');
  const four = new WireReader(hex('01 02 03 04 05'), 1, 4);
  assert.throws(() => four.fixed32(), WireFormatError, 'fixed32 crossing the sub-range end');
});
