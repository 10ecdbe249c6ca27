import { promisify } from 'node:util';
import zlib from 'node:zlib';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import { EncodedJson } from '../encoded-json.ts';
import { toApiError } from '../errors.ts';
import type { ApiErrorType } from '../errors.ts';

/** Prometheus' response envelope (`web/api/v1/api.go` Response). */
export interface PrometheusEnvelope {
  readonly status: 'success' | 'error';
  readonly data?: unknown;
  readonly errorType?: ApiErrorType;
  readonly error?: string;
  readonly warnings?: readonly string[];
  readonly infos?: readonly string[];
}

/** Annotations collected while answering a request; empty lists are left out of the envelope. */
export interface Annotations {
  readonly warnings?: readonly string[];
  readonly infos?: readonly string[];
}

const gzip = promisify(zlib.gzip);

const SUCCESS_HEAD = '{"status":"success"';
const SUCCESS_DATA_BYTES = Buffer.from(`${SUCCESS_HEAD},"data":`);

/** Bodies smaller than this go out uncompressed: gzip would cost more than it saves. */
const GZIP_MIN_BYTES = 16 * 1024;

/**
 * Sends `{status:"success", data, warnings?, infos?}` as JSON, gzip-compressed when the client accepts it
 * and the body is large (as Prometheus compresses its API responses; range query matrices shrink ~10×).
 */
export async function sendSuccess(reply: FastifyReply, data: unknown, annotations: Annotations = {}): Promise<FastifyReply> {
  const body: Record<string, unknown> = { status: 'success' };
  if (!(data instanceof EncodedJson)) body.data = data;
  if (annotations.warnings && annotations.warnings.length > 0) body.warnings = annotations.warnings;
  if (annotations.infos && annotations.infos.length > 0) body.infos = annotations.infos;
  let json: string | Buffer = JSON.stringify(body);
  // `{"status":"success"` + `,"data":…` + the rest: the encoded data goes where JSON.stringify put nothing.
  if (data instanceof EncodedJson) {
    const rest = json.slice(SUCCESS_HEAD.length);
    const encoded = data.body();
    json =
      typeof encoded === 'string'
        ? `${SUCCESS_HEAD},"data":${encoded}${rest}`
        : Buffer.concat([SUCCESS_DATA_BYTES, encoded, Buffer.from(rest, 'utf8')], SUCCESS_DATA_BYTES.length + encoded.length + Buffer.byteLength(rest));
  }
  reply.code(200).type('application/json');
  if (json.length >= GZIP_MIN_BYTES && acceptsGzip(reply.request)) {
    const compressed = await gzip(json, { level: zlib.constants.Z_BEST_SPEED });
    return reply.header('content-encoding', 'gzip').header('vary', 'Accept-Encoding').send(compressed);
  }
  return reply.send(json);
}

function acceptsGzip(request: FastifyRequest): boolean {
  const header = request.headers['accept-encoding'];
  const value = Array.isArray(header) ? header.join(',') : (header ?? '');
  for (const token of value.split(',')) {
    const [name, ...params] = token.split(';').map((p) => p.trim().toLowerCase());
    if (name !== 'gzip' && name !== '*') continue;
    const q = params.find((p) => p.startsWith('q='));
    if (q === undefined || Number(q.slice(2)) > 0) return true;
  }
  return false;
}

/**
 * Sends `{status:"error", errorType, error}` with the status {@link toApiError} picks. Internal errors are
 * logged in full with the request id; the client sees a generic message naming that id.
 */
export function sendError(request: FastifyRequest, reply: FastifyReply, err: unknown, logger: Logger): FastifyReply {
  const mapped = toApiError(err, String(request.id));
  if (mapped.internal) {
    logger.error({ err, requestId: request.id, url: request.url }, 'query API internal error');
  }
  if (mapped.retryAfterSeconds !== undefined) reply.header('retry-after', String(mapped.retryAfterSeconds));
  const body: PrometheusEnvelope = { status: 'error', errorType: mapped.errorType, error: mapped.message };
  return reply.code(mapped.status).type('application/json').send(JSON.stringify(body));
}
