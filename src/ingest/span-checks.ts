import type { Rejection, Span } from '../model/index.ts';

/** Hex digits of a trace id (16 bytes) and a span id (8 bytes), as the trace model keeps them. */
export const TRACE_ID_HEX_LENGTH = 32;
export const SPAN_ID_HEX_LENGTH = 16;

const ZEROS = /^0*$/;

/**
 * What is wrong with a decoded span, or undefined when nothing is: a trace id that is not 16 bytes or is all
 * zero, a span id that is not 8 bytes or is all zero, a parent id of the wrong length, an end before the
 * start. Ids are the lowercase hex the decoders produce (a wrong byte count shows as a wrong hex length).
 * The OTLP specification makes all-zero ids invalid; Tempo refuses the whole batch for a bad trace id, we
 * refuse only the span.
 */
export function spanProblem(span: Span): string | undefined {
  if (span.traceId.length !== TRACE_ID_HEX_LENGTH) {
    return `invalid trace id "${span.traceId}": ${span.traceId.length / 2} bytes, must be 16`;
  }
  if (ZEROS.test(span.traceId)) return 'invalid trace id: all zero';
  if (span.spanId.length !== SPAN_ID_HEX_LENGTH) {
    return `invalid span id "${span.spanId}" in trace ${span.traceId}: ${span.spanId.length / 2} bytes, must be 8`;
  }
  if (ZEROS.test(span.spanId)) return `invalid span id in trace ${span.traceId}: all zero`;
  if (span.parentSpanId !== undefined && span.parentSpanId.length !== SPAN_ID_HEX_LENGTH) {
    return `invalid parent span id "${span.parentSpanId}" of span ${span.spanId}: ${span.parentSpanId.length / 2} bytes, must be 8`;
  }
  if (span.endTimeUnixNs < span.startTimeUnixNs) {
    return `span ${span.spanId} of trace ${span.traceId} ends (${span.endTimeUnixNs} ns) before it starts (${span.startTimeUnixNs} ns)`;
  }
  return undefined;
}

/** A parent span id as the model keeps it: absent for a root (unset, empty or all zero, as senders vary). */
export function parentIdOf(hex: string): string | undefined {
  return hex === '' || ZEROS.test(hex) ? undefined : hex;
}

/** The rejection of one span the decoders refuse. */
export function spanRejection(message: string): Rejection {
  return { signal: 'traces', reason: 'invalid_record', message, count: 1 };
}
