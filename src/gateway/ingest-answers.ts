import { Metadata } from '@grpc/grpc-js';
import type { FastifyReply } from 'fastify';
import protobuf from 'protobufjs';
import { HeimdallError, isRetryableKind } from '../model/index.ts';

/** How an OTLP/HTTP request was encoded; its answer (success or failure) uses the same encoding. */
export type OtlpEncoding = 'protobuf' | 'json';

/** Sends a plain-text answer (remote_write and Loki push answer text, as Mimir and Loki do). */
export function sendText(reply: FastifyReply, status: number, message: string): FastifyReply {
  return reply.code(status).type('text/plain; charset=utf-8').send(message);
}

/** Adds `Retry-After` for retryable kinds (senders retry exactly 429/502/503/504 and honour it). */
function withRetryAfter(reply: FastifyReply, err: HeimdallError): FastifyReply {
  if (isRetryableKind(err.kind)) reply.header('retry-after', String(err.retryAfterSeconds ?? 1));
  return reply;
}

/**
 * Answers a whole-request failure of a text protocol (remote_write, Loki push): the kind's status, the
 * message as text, `Retry-After` when retryable. Anything but a {@link HeimdallError} is a bug and rethrown.
 */
export function sendHttpFailure(reply: FastifyReply, err: unknown): FastifyReply {
  if (!(err instanceof HeimdallError)) throw err;
  return sendText(withRetryAfter(reply, err), err.httpStatus, err.message);
}

/** Encodes a google.rpc.Status (code, message, optional RetryInfo detail). */
function encodeRpcStatus(code: number, message: string, retryAfterSeconds?: number): Uint8Array {
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

/**
 * Answers a whole-request failure of OTLP/HTTP: the kind's status with a google.rpc.Status body in the
 * request's encoding (OTLP/HTTP's failure format). Non-HeimdallErrors are rethrown.
 */
export function sendOtlpHttpFailure(reply: FastifyReply, err: unknown, encoding: OtlpEncoding): FastifyReply {
  if (!(err instanceof HeimdallError)) throw err;
  withRetryAfter(reply.code(err.httpStatus), err);
  if (encoding === 'json') return reply.type('application/json').send(JSON.stringify({ code: err.grpcCode, message: err.message }));
  return reply.type('application/x-protobuf').send(Buffer.from(encodeRpcStatus(err.grpcCode, err.message)));
}

/** A gRPC error for a whole-request failure, with a RetryInfo detail when the kind is retryable. */
export function grpcFailure(err: HeimdallError): { code: number; details: string; metadata?: Metadata } {
  if (!isRetryableKind(err.kind)) return { code: err.grpcCode, details: err.message };
  const metadata = new Metadata();
  metadata.set('grpc-status-details-bin', Buffer.from(encodeRpcStatus(err.grpcCode, err.message, err.retryAfterSeconds ?? 1)));
  return { code: err.grpcCode, details: err.message, metadata };
}
