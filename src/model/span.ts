/**
 * An attribute value as the trace store keeps it and TraceQL sees it. OTLP's `intValue` and `doubleValue`
 * both become a number (an int64 beyond ±2^53 loses precision, which the README lists); whether a value is
 * an int for TraceQL's typed answers (`/api/v2/search/tag/<t>/values`) is `Number.isInteger`, which is
 * exactly the OTLP distinction for the JavaScript SDK. `bytesValue` becomes its base64 text and `kvlistValue`
 * its OTLP JSON text (TraceQL cannot address inside either, as in Tempo). Arrays hold scalars only.
 */
export type AttributeScalar = string | number | boolean;
export type AttributeValue = AttributeScalar | readonly AttributeScalar[];

/** One key/value pair. Lists of them keep OTLP's order; a key may be any string (`__proto__` included). */
export interface Attribute {
  readonly key: string;
  readonly value: AttributeValue;
}

/** OTLP's `Span.SpanKind` numbers: 0 unspecified, 1 internal, 2 server, 3 client, 4 producer, 5 consumer. */
export type SpanKind = 0 | 1 | 2 | 3 | 4 | 5;

/** OTLP's `Status.StatusCode` numbers: 0 unset, 1 ok, 2 error. */
export type SpanStatusCode = 0 | 1 | 2;

/** The instrumentation scope (library) that produced a span. One object is shared by its spans. */
export interface InstrumentationScope {
  readonly name: string;
  readonly version?: string;
  readonly attributes?: readonly Attribute[];
}

export interface SpanEvent {
  readonly timeUnixNs: bigint;
  readonly name: string;
  readonly attributes?: readonly Attribute[];
}

export interface SpanLink {
  /** Lowercase hex, 32 digits. */
  readonly traceId: string;
  /** Lowercase hex, 16 digits. */
  readonly spanId: string;
  readonly traceState?: string;
  readonly attributes?: readonly Attribute[];
}

/**
 * One span. Ids are lowercase hex text (32 digits for a trace id, 16 for a span id) because they are map keys
 * and wire values everywhere they go (Tempo's JSON, TraceQL's `trace:id`/`span:id`). Times are Unix
 * nanoseconds as bigint: OTLP's fixed64 precision does not fit a double.
 */
export interface Span {
  readonly traceId: string;
  readonly spanId: string;
  /** Absent (never the empty string) for a root span. */
  readonly parentSpanId?: string;
  readonly traceState?: string;
  readonly name: string;
  readonly kind: SpanKind;
  readonly startTimeUnixNs: bigint;
  readonly endTimeUnixNs: bigint;
  readonly attributes: readonly Attribute[];
  readonly statusCode: SpanStatusCode;
  readonly statusMessage?: string;
  readonly events?: readonly SpanEvent[];
  readonly links?: readonly SpanLink[];
  readonly scope: InstrumentationScope;
  readonly droppedAttributesCount?: number;
  readonly droppedEventsCount?: number;
  readonly droppedLinksCount?: number;
}

/**
 * The traces write record: one resource (OTLP `ResourceSpans`) and the spans that arrived for it, whatever
 * their scopes (each span names its own). Tenancy by namespace reads the resource's `k8s.namespace.name`.
 */
export interface SpanRecord {
  readonly resource: readonly Attribute[];
  readonly spans: readonly Span[];
}
