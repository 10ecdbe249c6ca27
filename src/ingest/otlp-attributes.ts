import protobuf from 'protobufjs';
import { setOwnLabel } from '../model/index.ts';
import type { Attribute, AttributeScalar, AttributeValue } from '../model/index.ts';

/**
 * How deeply OTLP protobuf messages may nest. protobufjs' default (100 messages, about 33 levels of nested
 * attribute or body values, each level being AnyValue → KeyValueList → KeyValue) refuses whole batches that
 * the OpenTelemetry Collector forwards; Go's protobuf allows 10,000. This keeps the decoder and the value
 * rendering well inside the default V8 stack (about 3,000 nested messages decode there), so a deeper value
 * is a 400 naming the depth, never a crash. It is protobufjs' process-wide setting: set once, here, by the
 * OTLP decoders' shared module.
 */
export const OTLP_MAX_MESSAGE_DEPTH = 1000;
protobuf.Reader.recursionLimit = OTLP_MAX_MESSAGE_DEPTH;

/**
 * OTLP attribute values as protobufjs decodes them (camelCase, `longs: Number`) or as OTLP/JSON carries them.
 * Both shapes are the same object form, so one converter serves the protobuf and JSON decoders of every signal.
 */
export interface OtlpAnyValue {
  stringValue?: string | null;
  boolValue?: boolean | null;
  intValue?: number | string | { toString(): string } | null;
  doubleValue?: number | null;
  arrayValue?: { values?: OtlpAnyValue[] | null } | null;
  kvlistValue?: { values?: OtlpKeyValue[] | null } | null;
  bytesValue?: Uint8Array | string | null;
}

export interface OtlpKeyValue {
  key?: string | null;
  value?: OtlpAnyValue | null;
}

/**
 * Renders an attribute value as the string a label or structured-metadata value carries: strings as is,
 * numbers and booleans in their canonical text, arrays and maps as JSON, bytes as base64 (the rules
 * Prometheus' and Loki's OTLP translators follow).
 */
export function anyValueToString(v: OtlpAnyValue | null | undefined): string {
  if (!v) return '';
  if (set(v, 'stringValue')) return v.stringValue!;
  if (set(v, 'boolValue')) return v.boolValue ? 'true' : 'false';
  if (set(v, 'intValue')) return String(v.intValue);
  if (set(v, 'doubleValue')) return formatDouble(v.doubleValue!);
  if (set(v, 'arrayValue')) return JSON.stringify((v.arrayValue!.values ?? []).map(anyValueToJson));
  if (set(v, 'kvlistValue')) return JSON.stringify(anyValueToJson(v));
  if (set(v, 'bytesValue')) {
    return typeof v.bytesValue === 'string' ? v.bytesValue : Buffer.from(v.bytesValue!).toString('base64');
  }
  return '';
}

/** Converts an attribute value to plain JSON (maps as objects, arrays as arrays). */
export function anyValueToJson(v: OtlpAnyValue | null | undefined): unknown {
  if (!v) return null;
  if (set(v, 'arrayValue')) return (v.arrayValue!.values ?? []).map(anyValueToJson);
  if (set(v, 'kvlistValue')) {
    const out: Record<string, unknown> = {};
    for (const kv of v.kvlistValue!.values ?? []) setOwnLabel(out, kv.key ?? '', anyValueToJson(kv.value));
    return out;
  }
  if (set(v, 'intValue')) return Number(String(v.intValue));
  if (set(v, 'doubleValue')) return v.doubleValue;
  if (set(v, 'boolValue')) return v.boolValue;
  return anyValueToString(v);
}

/**
 * Whether a oneof member is set. protobufjs puts proto3 defaults on message prototypes (an unset
 * `string_value` reads ''), so only own properties count; JSON objects have only own properties anyway.
 */
function set(v: OtlpAnyValue, key: keyof OtlpAnyValue): boolean {
  return Object.hasOwn(v, key) && v[key] !== undefined && v[key] !== null;
}

function formatDouble(d: number): string {
  if (Number.isNaN(d)) return 'NaN';
  if (d === Infinity) return '+Inf';
  if (d === -Infinity) return '-Inf';
  return String(d);
}

/**
 * A 64-bit integer as protobufjs decodes it (a Long, or `{low, high}`), or as OTLP/JSON carries it (a decimal
 * string, or a number).
 */
export type OtlpInt64 = number | string | { low: number; high: number; unsigned?: boolean } | null | undefined;

/** OTLP bytes: a Buffer from protobuf, a string from OTLP/JSON (hex for trace and span ids, else base64). */
export type OtlpBytes = Uint8Array | string | null | undefined;

/**
 * An unsigned 64-bit OTLP integer (timestamps in Unix nanoseconds) as an exact bigint; unset is 0n. Throws a
 * TypeError for a JSON string that is not a decimal integer (the JSON decoders report it as malformed).
 */
export function otlpUint64(v: OtlpInt64): bigint {
  if (v === null || v === undefined) return 0n;
  if (typeof v === 'number') return BigInt(Math.trunc(v));
  if (typeof v === 'string') {
    if (!/^\d+$/.test(v)) throw new TypeError(`not an unsigned integer: "${v}"`);
    return BigInt(v);
  }
  return (BigInt(v.high >>> 0) << 32n) | BigInt(v.low >>> 0);
}

/**
 * OTLP attributes as the trace model keeps them ({@link AttributeValue}): strings, booleans and numbers as
 * they are (int64 and double both numbers), bytes as base64 text, a map as its OTLP/JSON text, an array as an
 * array of scalars (an element that is itself a map or an array becomes its OTLP/JSON text). Entries without
 * a key, or whose value is unset, are skipped, as Tempo skips them; order and duplicates are kept.
 */
export function otlpAttributes(kvs: readonly (OtlpKeyValue | null | undefined)[] | null | undefined): Attribute[] {
  const out: Attribute[] = [];
  if (!kvs) return out;
  for (const kv of kvs) {
    if (!kv || typeof kv.key !== 'string' || kv.key === '') continue;
    const value = anyValueToAttribute(kv.value);
    if (value !== undefined) out.push({ key: kv.key, value });
  }
  return out;
}

/** One OTLP value as an {@link AttributeValue} (see {@link otlpAttributes}); undefined when unset. */
export function anyValueToAttribute(v: OtlpAnyValue | null | undefined): AttributeValue | undefined {
  if (!v) return undefined;
  if (set(v, 'arrayValue')) {
    const values: AttributeScalar[] = [];
    for (const e of v.arrayValue!.values ?? []) {
      const s = anyValueToScalar(e);
      if (s !== undefined) values.push(s);
    }
    return values;
  }
  return anyValueToScalar(v);
}

function anyValueToScalar(v: OtlpAnyValue | null | undefined): AttributeScalar | undefined {
  if (!v) return undefined;
  if (set(v, 'stringValue')) return v.stringValue!;
  if (set(v, 'boolValue')) return v.boolValue!;
  if (set(v, 'intValue')) return Number(String(v.intValue));
  if (set(v, 'doubleValue')) return Number(v.doubleValue);
  if (set(v, 'bytesValue')) return anyValueToString(v);
  if (set(v, 'kvlistValue')) return JSON.stringify(anyValueToOtlpJson(v).kvlistValue);
  if (set(v, 'arrayValue')) return JSON.stringify(anyValueToOtlpJson(v).arrayValue);
  return undefined;
}

/**
 * An OTLP value in the canonical OTLP/JSON form (`{"stringValue":"x"}`, int64 as a decimal string, bytes as
 * base64), whichever of the protobuf or JSON shapes it came in.
 */
export function anyValueToOtlpJson(v: OtlpAnyValue | null | undefined): Record<string, unknown> {
  if (!v) return {};
  if (set(v, 'stringValue')) return { stringValue: v.stringValue };
  if (set(v, 'boolValue')) return { boolValue: v.boolValue };
  if (set(v, 'intValue')) return { intValue: String(v.intValue) };
  if (set(v, 'doubleValue')) return { doubleValue: v.doubleValue };
  if (set(v, 'bytesValue')) return { bytesValue: anyValueToString(v) };
  if (set(v, 'arrayValue')) return { arrayValue: { values: (v.arrayValue!.values ?? []).map(anyValueToOtlpJson) } };
  if (set(v, 'kvlistValue')) {
    return {
      kvlistValue: { values: (v.kvlistValue!.values ?? []).map((kv) => ({ key: kv.key ?? '', value: anyValueToOtlpJson(kv.value) })) },
    };
  }
  return {};
}
