import { gunzipSync } from 'node:zlib';
import { WIRE_LEN, WIRE_VARINT, WireFormatError, WireReader } from '../model/index.ts';

/*
 * The pprof wire format (google/pprof proto/profile.proto, package perftools.profiles), read with the one
 * protobuf reader. Only what profiles need is kept: sample types, samples (locations, values, labels),
 * locations with their lines, functions, mappings (for unsymbolized frames), the string table, time,
 * duration, period type and period.
 */

export interface PprofValueType {
  readonly type: string;
  readonly unit: string;
}

export interface PprofLabel {
  readonly key: string;
  /** The string value; undefined for a numeric label. */
  readonly str?: string;
}

export interface PprofSample {
  /** Location ids, leaf first. */
  readonly locationIds: number[];
  /** One value per sample type. */
  readonly values: number[];
  readonly labels: PprofLabel[];
}

export interface PprofLocation {
  readonly mappingId: number;
  readonly address: number;
  /** Function ids, innermost (inlined callee) first. */
  readonly functionIds: number[];
}

export interface PprofFunction {
  readonly name: string;
  readonly filename: string;
}

/** A decoded pprof profile, with every string index resolved. */
export interface Pprof {
  readonly sampleTypes: PprofValueType[];
  readonly samples: PprofSample[];
  readonly locations: Map<number, PprofLocation>;
  readonly functions: Map<number, PprofFunction>;
  /** Mapping id → file name. */
  readonly mappings: Map<number, string>;
  readonly timeNanos: number;
  readonly durationNanos: number;
  readonly periodType: PprofValueType | undefined;
  readonly period: number;
}

/** Whether bytes start with gzip's magic number (pprof files are usually gzipped; check the bytes, not the name). */
export function isGzip(bytes: Uint8Array): boolean {
  return bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;
}

/**
 * Decodes a pprof profile, gzipped or not, whose uncompressed size is at most `maxBytes`. Returns the profile
 * or a message saying what is wrong (not gzip-able, over the size, malformed protobuf, a string that is not
 * UTF-8 as Pyroscope refuses it, an index out of range). Pure; never throws for bad input.
 */
export function decodePprof(bytes: Uint8Array, maxBytes: number): Pprof | string {
  let raw: Uint8Array = bytes;
  if (isGzip(bytes)) {
    try {
      raw = gunzipSync(bytes, { maxOutputLength: maxBytes });
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ERR_BUFFER_TOO_LARGE') return `the profile is larger than ${maxBytes} bytes uncompressed`;
      return `the profile is not valid gzip: ${(err as Error).message}`;
    }
  } else if (bytes.length > maxBytes) {
    return `the profile is larger than ${maxBytes} bytes`;
  }
  try {
    return decodeRaw(raw);
  } catch (err) {
    if (err instanceof WireFormatError || err instanceof PprofError) return `invalid pprof profile: ${err.message}`;
    throw err;
  }
}

class PprofError extends Error {}

interface RawValueType {
  type: number;
  unit: number;
}

interface RawSample {
  locationIds: number[];
  values: number[];
  labels: { key: number; str: number }[];
}

interface RawLocation {
  id: number;
  mappingId: number;
  address: number;
  functionIds: number[];
}

interface RawFunction {
  id: number;
  name: number;
  filename: number;
}

function decodeRaw(buf: Uint8Array): Pprof {
  const r = new WireReader(buf);
  const sampleTypes: RawValueType[] = [];
  const samples: RawSample[] = [];
  const locations: RawLocation[] = [];
  const functions: RawFunction[] = [];
  const mappings: { id: number; filename: number }[] = [];
  const strings: string[] = [];
  let invalidString = -1;
  let timeNanos = 0;
  let durationNanos = 0;
  let periodType: RawValueType | undefined;
  let period = 0;
  while (r.pos < r.end) {
    const tag = r.uint32();
    const field = tag >>> 3;
    const wire = tag & 7;
    if (field === 1 && wire === WIRE_LEN) sampleTypes.push(valueType(r));
    else if (field === 2 && wire === WIRE_LEN) samples.push(sample(r));
    else if (field === 3 && wire === WIRE_LEN) mappings.push(mapping(r));
    else if (field === 4 && wire === WIRE_LEN) locations.push(location(r));
    else if (field === 5 && wire === WIRE_LEN) functions.push(fn(r));
    else if (field === 6 && wire === WIRE_LEN) {
      strings.push(r.string());
      if (r.lastStringInvalid && invalidString < 0) invalidString = strings.length - 1;
    } else if (field === 9 && wire === WIRE_VARINT) timeNanos = r.int64();
    else if (field === 10 && wire === WIRE_VARINT) durationNanos = r.int64();
    else if (field === 11 && wire === WIRE_LEN) periodType = valueType(r);
    else if (field === 12 && wire === WIRE_VARINT) period = r.int64();
    else r.skip(wire);
  }
  if (invalidString >= 0) throw new PprofError(`string table entry ${invalidString} is not valid UTF-8`);
  const str = (i: number): string => {
    if (i === 0) return '';
    const s = strings[i];
    if (s === undefined) throw new PprofError(`string index ${i} is past the string table (${strings.length} entries)`);
    return s;
  };
  const vt = (v: RawValueType): PprofValueType => ({ type: str(v.type), unit: str(v.unit) });
  const fns = new Map<number, PprofFunction>();
  for (const f of functions) fns.set(f.id, { name: str(f.name), filename: str(f.filename) });
  const maps = new Map<number, string>();
  for (const m of mappings) maps.set(m.id, str(m.filename));
  const locs = new Map<number, PprofLocation>();
  for (const l of locations) locs.set(l.id, { mappingId: l.mappingId, address: l.address, functionIds: l.functionIds });
  const types = sampleTypes.map(vt);
  return {
    sampleTypes: types,
    samples: samples.map((s) => {
      if (s.values.length !== types.length) {
        throw new PprofError(`a sample has ${s.values.length} values for ${types.length} sample types`);
      }
      return {
        locationIds: s.locationIds,
        values: s.values,
        labels: s.labels.map((l) => (l.str === 0 ? { key: str(l.key) } : { key: str(l.key), str: str(l.str) })),
      };
    }),
    locations: locs,
    functions: fns,
    mappings: maps,
    timeNanos,
    durationNanos,
    periodType: periodType && vt(periodType),
    period,
  };
}

function valueType(r: WireReader): RawValueType {
  const end = r.lengthEnd();
  const out = { type: 0, unit: 0 };
  while (r.pos < end) {
    const tag = r.uint32();
    if (tag === (1 << 3)) out.type = r.int64();
    else if (tag === (2 << 3)) out.unit = r.int64();
    else r.skip(tag & 7, end);
  }
  return out;
}

/** Reads a repeated integer field, packed or not, into `into`. */
function repeatedVarint(r: WireReader, wire: number, end: number, into: number[], read: () => number): void {
  if (wire === WIRE_LEN) {
    const packedEnd = r.lengthEnd(end);
    while (r.pos < packedEnd) into.push(read());
  } else if (wire === WIRE_VARINT) {
    into.push(read());
  } else {
    r.skip(wire, end);
  }
}

function sample(r: WireReader): RawSample {
  const end = r.lengthEnd();
  const out: RawSample = { locationIds: [], values: [], labels: [] };
  const u64 = (): number => r.uint64();
  const i64 = (): number => r.int64();
  while (r.pos < end) {
    const tag = r.uint32();
    const field = tag >>> 3;
    const wire = tag & 7;
    if (field === 1) repeatedVarint(r, wire, end, out.locationIds, u64);
    else if (field === 2) repeatedVarint(r, wire, end, out.values, i64);
    else if (field === 3 && wire === WIRE_LEN) {
      const lend = r.lengthEnd(end);
      const label = { key: 0, str: 0 };
      while (r.pos < lend) {
        const t = r.uint32();
        if (t === (1 << 3)) label.key = r.int64();
        else if (t === (2 << 3)) label.str = r.int64();
        else r.skip(t & 7, lend);
      }
      out.labels.push(label);
    } else r.skip(wire, end);
  }
  return out;
}

function mapping(r: WireReader): { id: number; filename: number } {
  const end = r.lengthEnd();
  const out = { id: 0, filename: 0 };
  while (r.pos < end) {
    const tag = r.uint32();
    if (tag === (1 << 3)) out.id = r.uint64();
    else if (tag === (5 << 3)) out.filename = r.int64();
    else r.skip(tag & 7, end);
  }
  return out;
}

function location(r: WireReader): RawLocation {
  const end = r.lengthEnd();
  const out: RawLocation = { id: 0, mappingId: 0, address: 0, functionIds: [] };
  while (r.pos < end) {
    const tag = r.uint32();
    const field = tag >>> 3;
    if (tag === (1 << 3)) out.id = r.uint64();
    else if (tag === (2 << 3)) out.mappingId = r.uint64();
    else if (tag === (3 << 3)) out.address = r.uint64();
    else if (field === 4 && (tag & 7) === WIRE_LEN) {
      const lend = r.lengthEnd(end);
      let functionId = 0;
      while (r.pos < lend) {
        const t = r.uint32();
        if (t === (1 << 3)) functionId = r.uint64();
        else r.skip(t & 7, lend);
      }
      out.functionIds.push(functionId);
    } else r.skip(tag & 7, end);
  }
  return out;
}

function fn(r: WireReader): RawFunction {
  const end = r.lengthEnd();
  const out = { id: 0, name: 0, filename: 0 };
  while (r.pos < end) {
    const tag = r.uint32();
    if (tag === (1 << 3)) out.id = r.uint64();
    else if (tag === (2 << 3)) out.name = r.int64();
    else if (tag === (4 << 3)) out.filename = r.int64();
    else r.skip(tag & 7, end);
  }
  return out;
}
