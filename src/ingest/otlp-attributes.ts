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
  if (v.stringValue !== undefined && v.stringValue !== null) return v.stringValue;
  if (v.boolValue !== undefined && v.boolValue !== null) return v.boolValue ? 'true' : 'false';
  if (v.intValue !== undefined && v.intValue !== null) return String(v.intValue);
  if (v.doubleValue !== undefined && v.doubleValue !== null) return formatDouble(v.doubleValue);
  if (v.arrayValue) return JSON.stringify((v.arrayValue.values ?? []).map(anyValueToJson));
  if (v.kvlistValue) return JSON.stringify(anyValueToJson(v));
  if (v.bytesValue !== undefined && v.bytesValue !== null) {
    return typeof v.bytesValue === 'string' ? v.bytesValue : Buffer.from(v.bytesValue).toString('base64');
  }
  return '';
}

/** Converts an attribute value to plain JSON (maps as objects, arrays as arrays). */
export function anyValueToJson(v: OtlpAnyValue | null | undefined): unknown {
  if (!v) return null;
  if (v.arrayValue) return (v.arrayValue.values ?? []).map(anyValueToJson);
  if (v.kvlistValue) {
    const out: Record<string, unknown> = {};
    for (const kv of v.kvlistValue.values ?? []) out[kv.key ?? ''] = anyValueToJson(kv.value);
    return out;
  }
  if (v.intValue !== undefined && v.intValue !== null) return Number(String(v.intValue));
  if (v.doubleValue !== undefined && v.doubleValue !== null) return v.doubleValue;
  if (v.boolValue !== undefined && v.boolValue !== null) return v.boolValue;
  return anyValueToString(v);
}

/** Flattens a key/value list into a string map (later duplicates win). */
export function attributesToMap(attrs: readonly OtlpKeyValue[] | null | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const kv of attrs ?? []) {
    if (kv.key) out[kv.key] = anyValueToString(kv.value);
  }
  return out;
}

function formatDouble(d: number): string {
  if (Number.isNaN(d)) return 'NaN';
  if (d === Infinity) return '+Inf';
  if (d === -Infinity) return '-Inf';
  return String(d);
}
