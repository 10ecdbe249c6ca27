import { fileURLToPath } from 'node:url';
import protobuf from 'protobufjs';

const serviceProto = fileURLToPath(new URL('../../proto/otlp/metrics-service.proto', import.meta.url));

/** The OTLP metrics protobuf types, loaded once from `proto/otlp/` (imports resolve beside the file). */
const root = protobuf.loadSync(serviceProto);
root.resolveAll();

const PACKAGE = 'opentelemetry.proto.collector.metrics.v1';

/** `ExportMetricsServiceRequest`, for decoding OTLP/protobuf bodies and gRPC messages. */
export const ExportMetricsServiceRequest = root.lookupType(`${PACKAGE}.ExportMetricsServiceRequest`);
/** `ExportMetricsServiceResponse`, for encoding answers (and for clients in tests). */
export const ExportMetricsServiceResponse = root.lookupType(`${PACKAGE}.ExportMetricsServiceResponse`);

/** The gRPC method path of the OTLP metrics export. */
export const METRICS_EXPORT_GRPC_PATH = `/${PACKAGE}.MetricsService/Export`;

/** What an export answers: nothing on full success, else how many data points were refused and why. */
export interface OtlpMetricsPartialSuccess {
  readonly rejectedDataPoints: number;
  readonly errorMessage: string;
}

/** Encodes an `ExportMetricsServiceResponse` as protobuf (`partial_success` only when given). */
export function encodeExportMetricsResponse(partial?: OtlpMetricsPartialSuccess): Uint8Array {
  const msg = partial ? { partialSuccess: { rejectedDataPoints: partial.rejectedDataPoints, errorMessage: partial.errorMessage } } : {};
  return ExportMetricsServiceResponse.encode(ExportMetricsServiceResponse.fromObject(msg)).finish();
}

/** Encodes an `ExportMetricsServiceResponse` as OTLP/JSON (int64 as a decimal string, per the proto3 JSON mapping). */
export function exportMetricsResponseJson(partial?: OtlpMetricsPartialSuccess): string {
  if (!partial) return '{}';
  return JSON.stringify({
    partialSuccess: { rejectedDataPoints: String(partial.rejectedDataPoints), errorMessage: partial.errorMessage },
  });
}
