import type { ServiceDefinition } from '@grpc/grpc-js';

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
