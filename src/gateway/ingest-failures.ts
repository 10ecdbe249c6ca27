import { Metadata, status as GrpcStatus } from '@grpc/grpc-js';
import type { FastifyReply } from 'fastify';
import protobuf from 'protobufjs';
import { TenantError } from '../tenant/index.ts';
import { HttpError } from './http-error.ts';
import { sendRetryable } from './ingest-scope.ts';

/** How an OTLP/HTTP request was encoded; its answer (success or failure) uses the same encoding. */
export type OtlpEncoding = 'protobuf' | 'json';

export function sendText(reply: FastifyReply, status: number, message: string): FastifyReply {
  return reply.code(status).type('text/plain; charset=utf-8').send(message);
}

/** Whole-request failures of the remote_write and Loki push paths: tenant problems, size limits, overload. */
export function sendHttpFailure(reply: FastifyReply, err: unknown): FastifyReply {
  if (err instanceof TenantError) return sendText(reply, err.status, err.message);
  if (err instanceof HttpError) {
    if (err.retryAfterSeconds !== undefined || err.status === 429 || err.status === 503) return sendRetryable(reply, err);
    return sendText(reply, err.status, err.message);
  }
  throw err;
}

/** The gRPC status code an HTTP status stands for (OTLP's mapping). */
export function grpcCodeFor(status: number): number {
  if (status === 401) return GrpcStatus.UNAUTHENTICATED;
  if (status === 403) return GrpcStatus.PERMISSION_DENIED;
  if (status === 413 || status === 429) return GrpcStatus.RESOURCE_EXHAUSTED;
  if (status === 503) return GrpcStatus.UNAVAILABLE;
  if (status >= 400 && status < 500) return GrpcStatus.INVALID_ARGUMENT;
  return GrpcStatus.INTERNAL;
}

/** Encodes a google.rpc.Status (code, message, optional RetryInfo detail). */
export function encodeRpcStatus(code: number, message: string, retryAfterSeconds?: number): Uint8Array {
  const w = protobuf.Writer.create();
  if (code !== 0) w.uint32((1 << 3) | 0).int32(code);
  if (message !== '') w.uint32((2 << 3) | 2).string(message);
  if (retryAfterSeconds !== undefined) {
    // details: Any{type_url, value: google.rpc.RetryInfo{retry_delay: Duration{seconds}}}
    const duration = protobuf.Writer.create().uint32((1 << 3) | 0).int64(retryAfterSeconds).finish();
    const retryInfo = protobuf.Writer.create().uint32((1 << 3) | 2).bytes(duration).finish();
    const any = protobuf.Writer.create()
      .uint32((1 << 3) | 2)
      .string('type.googleapis.com/google.rpc.RetryInfo')
      .uint32((2 << 3) | 2)
      .bytes(retryInfo)
      .finish();
    w.uint32((3 << 3) | 2).bytes(any);
  }
  return w.finish();
}

/** Whole-request failures of OTLP/HTTP: the status code with a google.rpc.Status body in the request's encoding. */
export function sendOtlpHttpFailure(reply: FastifyReply, err: unknown, encoding: OtlpEncoding): FastifyReply {
  let status: number;
  let message: string;
  let retryAfter: number | undefined;
  if (err instanceof TenantError) {
    status = err.status;
    message = err.message;
  } else if (err instanceof HttpError) {
    status = err.status;
    message = err.message;
    if (status === 429 || status === 503) retryAfter = err.retryAfterSeconds ?? 1;
  } else {
    throw err;
  }
  if (retryAfter !== undefined) reply.header('retry-after', String(retryAfter));
  const code = grpcCodeFor(status);
  if (encoding === 'json') return reply.code(status).type('application/json').send(JSON.stringify({ code, message }));
  return reply.code(status).type('application/x-protobuf').send(Buffer.from(encodeRpcStatus(code, message)));
}

/** An HttpError from the write path as a gRPC error (with RetryInfo for retryable ones). */
export function grpcErrorFor(err: HttpError): { code: number; details: string; metadata?: Metadata } {
  const code = grpcCodeFor(err.status);
  if (err.status !== 429 && err.status !== 503) return { code, details: err.message };
  const metadata = new Metadata();
  metadata.set('grpc-status-details-bin', Buffer.from(encodeRpcStatus(code, err.message, err.retryAfterSeconds ?? 1)));
  return { code, details: err.message, metadata };
}
