import protobuf from 'protobufjs';
import { setOwnLabel } from '../model/index.ts';

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

/** Flattens a key/value list into a string map (later duplicates win). */
export function attributesToMap(attrs: readonly OtlpKeyValue[] | null | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const kv of attrs ?? []) {
    if (kv.key) setOwnLabel(out, kv.key, anyValueToString(kv.value));
  }
  return out;
}

function formatDouble(d: number): string {
  if (Number.isNaN(d)) return 'NaN';
  if (d === Infinity) return '+Inf';
  if (d === -Infinity) return '-Inf';
  return String(d);
}
