import type { Attribute, Span, SpanKind, SpanStatusCode } from '../model/index.ts';
import type { SeriesRegistry } from './series-registry.ts';
import type { TenantGeneratorSettings } from './settings.ts';

const KIND_NAMES: Record<SpanKind, string> = {
  0: 'SPAN_KIND_UNSPECIFIED',
  1: 'SPAN_KIND_INTERNAL',
  2: 'SPAN_KIND_SERVER',
  3: 'SPAN_KIND_CLIENT',
  4: 'SPAN_KIND_PRODUCER',
  5: 'SPAN_KIND_CONSUMER',
};
const STATUS_NAMES: Record<SpanStatusCode, string> = { 0: 'STATUS_CODE_UNSET', 1: 'STATUS_CODE_OK', 2: 'STATUS_CODE_ERROR' };

/** OTLP's kind and status names, as Tempo's span metrics label them. */
export function spanKindName(kind: SpanKind): string {
  return KIND_NAMES[kind];
}
export function statusCodeName(code: SpanStatusCode): string {
  return STATUS_NAMES[code];
}

/** A label name for an attribute dimension, as Tempo sanitizes them (anything but `[a-zA-Z0-9_]` becomes `_`). */
export function dimensionLabel(attribute: string): string {
  const s = attribute.replace(/[^a-zA-Z0-9_]/g, '_');
  return /^[0-9]/.test(s) ? `_${s}` : s;
}

/** An attribute's value on the span, else on its resource, as label text ('' when absent). */
export function attributeText(name: string, span: Span, resource: readonly Attribute[]): string {
  const a = span.attributes.find((x) => x.key === name) ?? resource.find((x) => x.key === name);
  if (a === undefined) return '';
  return Array.isArray(a.value) ? JSON.stringify(a.value) : String(a.value);
}

/** The span duration in seconds. */
export function durationSeconds(span: Span): number {
  return Number(span.endTimeUnixNs - span.startTimeUnixNs) / 1e9;
}

/**
 * Tempo's span-metrics processor for one span: `traces_spanmetrics_calls_total` and the
 * `traces_spanmetrics_latency` histogram labelled `service`, `span_name`, `span_kind`, `status_code` and the
 * tenant's extra dimensions, with the span's trace id as the exemplar.
 */
export function recordSpanMetrics(
  registry: SeriesRegistry,
  settings: TenantGeneratorSettings,
  service: string,
  span: Span,
  resource: readonly Attribute[],
  nowMs: number,
): void {
  const labels: Record<string, string> = {
    service,
    span_name: span.name,
    span_kind: spanKindName(span.kind),
    status_code: statusCodeName(span.statusCode),
  };
  for (const d of settings.spanMetricsDimensions) {
    const v = attributeText(d, span, resource);
    if (v !== '') labels[dimensionLabel(d)] = v;
  }
  const latency = durationSeconds(span);
  registry.inc('traces_spanmetrics_calls_total', 'Spans received by the metrics-generator, by service, span name, kind and status.', labels, 1, nowMs, {
    traceId: span.traceId,
    value: 1,
    timestampMs: nowMs,
  });
  registry.observe('traces_spanmetrics_latency', 'Span durations in seconds.', labels, settings.spanMetricsBuckets, latency, nowMs, span.traceId);
}
