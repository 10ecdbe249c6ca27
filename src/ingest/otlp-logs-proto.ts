import { fileURLToPath } from 'node:url';
import protobuf from 'protobufjs';

const serviceProto = fileURLToPath(new URL('../../proto/otlp/logs-service.proto', import.meta.url));

/** The OTLP logs protobuf types, loaded once from `proto/otlp/` (imports resolve beside the file). */
const root = protobuf.loadSync(serviceProto);
root.resolveAll();

const PACKAGE = 'opentelemetry.proto.collector.logs.v1';

/** `ExportLogsServiceRequest`, for decoding OTLP/protobuf bodies and gRPC messages. */
export const ExportLogsServiceRequest = root.lookupType(`${PACKAGE}.ExportLogsServiceRequest`);
/** `ExportLogsServiceResponse`, for encoding answers (and for clients in tests). */
export const ExportLogsServiceResponse = root.lookupType(`${PACKAGE}.ExportLogsServiceResponse`);

/** The gRPC method path of the OTLP logs export. */
export const LOGS_EXPORT_GRPC_PATH = `/${PACKAGE}.LogsService/Export`;

/** What an export answers: nothing on full success, else how many log records were refused and why. */
export interface OtlpLogsPartialSuccess {
  readonly rejectedLogRecords: number;
  readonly errorMessage: string;
}

/** Encodes an `ExportLogsServiceResponse` as protobuf (`partial_success` only when given). */
export function encodeExportLogsResponse(partial?: OtlpLogsPartialSuccess): Uint8Array {
  const msg = partial ? { partialSuccess: { rejectedLogRecords: partial.rejectedLogRecords, errorMessage: partial.errorMessage } } : {};
  return ExportLogsServiceResponse.encode(ExportLogsServiceResponse.fromObject(msg)).finish();
}

/** Encodes an `ExportLogsServiceResponse` as OTLP/JSON (int64 as a decimal string, per the proto3 JSON mapping). */
export function exportLogsResponseJson(partial?: OtlpLogsPartialSuccess): string {
  if (!partial) return '{}';
  return JSON.stringify({
    partialSuccess: { rejectedLogRecords: String(partial.rejectedLogRecords), errorMessage: partial.errorMessage },
  });
}
