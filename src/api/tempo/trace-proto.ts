import { fileURLToPath } from 'node:url';
import protobuf from 'protobufjs';
import { attributesObject, spanObject } from '../../ingest/otlp-trace-objects.ts';
import type { ShapedTrace } from './trace-shape.ts';

const tempoProto = fileURLToPath(new URL('../../../proto/tempo/tempo.proto', import.meta.url));

/** Tempo's protobuf messages (`proto/tempo/tempo.proto`, which imports OTLP's trace protos), loaded once. */
const root = protobuf.loadSync(tempoProto);
root.resolveAll();

/** `tempopb.Trace` (v1 trace by id with `Accept: application/protobuf`; wire-identical to OTLP `TracesData`). */
export const TempoTrace = root.lookupType('tempopb.Trace');
/** `tempopb.TraceByIDResponse` (v2 trace by id with `Accept: application/protobuf`). */
export const TraceByIDResponse = root.lookupType('tempopb.TraceByIDResponse');

function traceObject(trace: ShapedTrace): Record<string, unknown> {
  return {
    resourceSpans: trace.resources.map((r) => ({
      resource: { attributes: attributesObject(r.resource) },
      scopeSpans: r.scopes.map((s) => ({
        scope: { name: s.scope.name, version: s.scope.version ?? '', attributes: attributesObject(s.scope.attributes) },
        spans: s.spans.map(spanObject),
      })),
    })),
  };
}

/** `GET /api/traces/<id>` as protobuf: a `tempopb.Trace`. */
export function traceV1Proto(trace: ShapedTrace): Uint8Array {
  return TempoTrace.encode(traceObject(trace)).finish();
}

/** `GET /api/v2/traces/<id>` as protobuf: a `tempopb.TraceByIDResponse`, PARTIAL with `message` when cut. */
export function traceV2Proto(trace: ShapedTrace, message: string | undefined): Uint8Array {
  return TraceByIDResponse.encode({
    trace: traceObject(trace),
    metrics: { inspectedBytes: trace.storedBytes },
    status: trace.partial ? 1 : 0,
    message: trace.partial ? (message ?? '') : '',
  }).finish();
}
