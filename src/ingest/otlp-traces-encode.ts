import type { InstrumentationScope, Span, SpanRecord } from '../model/index.ts';
import { attributesObject, spanObject } from './otlp-trace-objects.ts';
import { ExportTraceServiceRequest } from './otlp-traces-proto.ts';

/**
 * Encodes `records` as an OTLP `ExportTraceServiceRequest` (protobuf): one `ResourceSpans` per record, its spans
 * grouped under their instrumentation scope (spans of one scope share the scope object, as the decoder made them).
 */
export function encodeOtlpTraces(records: readonly SpanRecord[]): Uint8Array {
  const resourceSpans = records.map((r) => {
    const scopes = new Map<InstrumentationScope, Span[]>();
    for (const s of r.spans) {
      const list = scopes.get(s.scope);
      if (list) list.push(s);
      else scopes.set(s.scope, [s]);
    }
    return {
      resource: { attributes: attributesObject(r.resource) },
      scopeSpans: [...scopes].map(([scope, spans]) => ({
        scope: { name: scope.name, version: scope.version ?? '', attributes: attributesObject(scope.attributes) },
        spans: spans.map(spanObject),
      })),
    };
  });
  return ExportTraceServiceRequest.encode({ resourceSpans }).finish();
}
