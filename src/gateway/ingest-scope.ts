import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { TenantResolver, WriteTenancy } from '../tenant/index.ts';
import { TENANT_HEADER } from '../tenant/index.ts';
import { decompressBody, parseContentEncoding } from './decompress.ts';
import type { HttpError } from './http-error.ts';

/**
 * Registers ingest routes in a scope where every request body arrives as a raw Buffer, whatever its
 * content type, so decoders see the exact bytes (compressed bodies included). Route handlers then call
 * {@link readIngestBody}.
 */
export async function registerIngestRoutes(
  app: FastifyInstance,
  register: (scope: FastifyInstance) => void | Promise<void>,
): Promise<void> {
  await app.register(async (scope) => {
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', { parseAs: 'buffer' }, (_req, body, done) => done(null, body));
    await register(scope);
  });
}

/** A decoded ingest request: the raw body after Content-Encoding, its media type, and who it writes for. */
export interface IngestRequest {
  readonly body: Buffer;
  /** The media type without parameters, lower-cased (`application/x-protobuf`). */
  readonly mediaType: string;
  /** The full Content-Type header, parameters included (remote_write 2.0 reads `proto=`). */
  readonly contentType: string;
  readonly tenancy: WriteTenancy;
}

/**
 * Reads an ingest request inside {@link registerIngestRoutes}: resolves the write tenancy (401/400 via
 * TenantError), decompresses the body within `maxDecompressedBytes` (413 names `setting`).
 */
export function readIngestBody(
  request: FastifyRequest,
  tenants: TenantResolver,
  maxDecompressedBytes: number,
  setting: string,
): IngestRequest {
  const tenancy = tenants.forWrite(headerValue(request, TENANT_HEADER));
  const raw = request.body;
  const body = Buffer.isBuffer(raw) ? raw : Buffer.alloc(0);
  const encoding = parseContentEncoding(headerValue(request, 'content-encoding'));
  const contentType = headerValue(request, 'content-type') ?? '';
  const mediaType = contentType.split(';')[0]!.trim().toLowerCase();
  return { body: decompressBody(body, encoding, maxDecompressedBytes, setting), mediaType, contentType, tenancy };
}

/** A header's value as one string (the first, when repeated). */
export function headerValue(request: FastifyRequest, name: string): string | undefined {
  const v = request.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

/** Sends a retryable refusal with `Retry-After`, as senders retry exactly 429/502/503/504. */
export function sendRetryable(reply: FastifyReply, err: HttpError): FastifyReply {
  return reply
    .code(err.status)
    .header('retry-after', String(err.retryAfterSeconds ?? 1))
    .type('text/plain; charset=utf-8')
    .send(err.message);
}
