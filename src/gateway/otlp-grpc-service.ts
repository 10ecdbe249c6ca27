import { status as GrpcStatus } from '@grpc/grpc-js';
import type { Server, ServerUnaryCall, ServiceDefinition, sendUnaryData } from '@grpc/grpc-js';
import type { Logger } from 'pino';

/**
 * An OTLP `Export` service definition whose (de)serialisers pass raw bytes, so grpc-js hands over the request
 * bytes untouched (decoding and its errors stay with our decoders) and sends an already-encoded response.
 * grpc-js handles `grpc-encoding: gzip` itself.
 */
export function rawExportService(path: string): ServiceDefinition {
  return {
    Export: {
      path,
      requestStream: false,
      responseStream: false,
      requestSerialize: (b: Buffer) => b,
      requestDeserialize: (b: Buffer) => b,
      responseSerialize: (b: Uint8Array) => Buffer.from(b.buffer, b.byteOffset, b.byteLength),
      responseDeserialize: (b: Buffer) => b,
      originalName: 'export',
    },
  };
}

/** Handles one OTLP `Export` call; it answers through `callback` itself, rejecting only for bugs. */
export type OtlpExportHandler = (call: ServerUnaryCall<Buffer, Uint8Array>, callback: sendUnaryData<Uint8Array>) => Promise<void>;

/**
 * Adds an OTLP `Export` service at `path` to the gRPC server. A handler that rejects (a bug, not bad data)
 * is logged in full and answered INTERNAL, so the caller never hangs.
 */
export function addOtlpExportService(grpc: Server, path: string, handler: OtlpExportHandler, logger: Logger, what: string): void {
  grpc.addService(rawExportService(path), {
    Export: (call: ServerUnaryCall<Buffer, Uint8Array>, callback: sendUnaryData<Uint8Array>) => {
      handler(call, callback).catch((err: unknown) => {
        logger.error({ err }, `OTLP/gRPC ${what} export failed`);
        callback({ code: GrpcStatus.INTERNAL, details: 'internal error' });
      });
    },
  });
}
