import { fileURLToPath } from 'node:url';
import protobuf from 'protobufjs';

const serviceProto = fileURLToPath(new URL('../../proto/otlp/trace-service.proto', import.meta.url));

/** The OTLP trace protobuf types, loaded once from `proto/otlp/` (imports resolve beside the file). */
const root = protobuf.loadSync(serviceProto);
root.resolveAll();

const PACKAGE = 'opentelemetry.proto.collector.trace.v1';

/** `ExportTraceServiceRequest`, for decoding OTLP/protobuf bodies and gRPC messages (and for encoding them in tests). */
export const ExportTraceServiceRequest = root.lookupType(`${PACKAGE}.ExportTraceServiceRequest`);
/** `ExportTraceServiceResponse`, for encoding answers (and for clients in tests). */
export const ExportTraceServiceResponse = root.lookupType(`${PACKAGE}.ExportTraceServiceResponse`);
/** `TracesData` (`opentelemetry.proto.trace.v1`), the body of Tempo's v1 trace-by-id protobuf answer. */
export const TracesData = root.lookupType('opentelemetry.proto.trace.v1.TracesData');

/** The gRPC method path of the OTLP trace export. */
export const TRACES_EXPORT_GRPC_PATH = `/${PACKAGE}.TraceService/Export`;

/** What an export answers: nothing on full success, else how many spans were refused and why. */
export interface OtlpTracesPartialSuccess {
  readonly rejectedSpans: number;
  readonly errorMessage: string;
}

/** Encodes an `ExportTraceServiceResponse` as protobuf (`partial_success` only when given). */
export function encodeExportTraceResponse(partial?: OtlpTracesPartialSuccess): Uint8Array {
  const msg = partial ? { partialSuccess: { rejectedSpans: partial.rejectedSpans, errorMessage: partial.errorMessage } } : {};
  return ExportTraceServiceResponse.encode(ExportTraceServiceResponse.fromObject(msg)).finish();
}

/** Encodes an `ExportTraceServiceResponse` as OTLP/JSON (int64 as a decimal string, per the proto3 JSON mapping). */
export function exportTraceResponseJson(partial?: OtlpTracesPartialSuccess): string {
  if (!partial) return '{}';
  return JSON.stringify({ partialSuccess: { rejectedSpans: String(partial.rejectedSpans), errorMessage: partial.errorMessage } });
}
