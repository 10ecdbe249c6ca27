import type { Attribute, AttributeValue, Span } from './span.ts';

/*
 * The one estimate of a span's encoded size. Tempo measures its trace limits (`max_bytes_per_trace`, the
 * ingestion rate) in protobuf bytes; ingest admission and the Tempo API's trace-by-id cut both count with
 * these functions so a trace the gateway let in is measured the same way when it is read back.
 */

/**
 * A span's size as OTLP protobuf would carry it, estimated (ids, times, strings, attributes, events,
 * links) within a few bytes per field.
 */
export function estimateSpanBytes(s: Span): number {
  let n = 16 + 8 + 18 + 4 + 10 + utf8Bytes(s.name);
  if (s.parentSpanId !== undefined) n += 10;
  if (s.traceState !== undefined) n += 2 + utf8Bytes(s.traceState);
  if (s.statusMessage !== undefined) n += 2 + utf8Bytes(s.statusMessage);
  n += estimateAttributesBytes(s.attributes);
  for (const e of s.events ?? []) n += 12 + utf8Bytes(e.name) + estimateAttributesBytes(e.attributes ?? []);
  for (const l of s.links ?? []) n += 30 + (l.traceState === undefined ? 0 : utf8Bytes(l.traceState)) + estimateAttributesBytes(l.attributes ?? []);
  return n;
}

/** Attributes' size as OTLP protobuf would carry them, estimated (a resource's, a span's, an event's). */
export function estimateAttributesBytes(attrs: readonly Attribute[]): number {
  let n = 0;
  for (const a of attrs) n += 6 + utf8Bytes(a.key) + valueBytes(a.value);
  return n;
}

function valueBytes(v: AttributeValue): number {
  if (typeof v === 'string') return utf8Bytes(v);
  if (typeof v === 'number') return 9;
  if (typeof v === 'boolean') return 2;
  let n = 2;
  for (const e of v as readonly (string | number | boolean)[]) n += 4 + valueBytes(e);
  return n;
}

function utf8Bytes(s: string): number {
  // Short ASCII is the common case; Buffer.byteLength is exact otherwise.
  if (s.length < 64) {
    let ascii = true;
    for (let i = 0; i < s.length && ascii; i++) ascii = s.charCodeAt(i) < 0x80;
    if (ascii) return s.length;
  }
  return Buffer.byteLength(s, 'utf8');
}
