import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
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

/** Sends `{status:"success", data, warnings?, infos?}` as JSON. */
export function sendSuccess(reply: FastifyReply, data: unknown, annotations: Annotations = {}): FastifyReply {
  const body: Record<string, unknown> = { status: 'success', data };
  if (annotations.warnings && annotations.warnings.length > 0) body.warnings = annotations.warnings;
  if (annotations.infos && annotations.infos.length > 0) body.infos = annotations.infos;
  return reply.code(200).type('application/json').send(JSON.stringify(body));
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
