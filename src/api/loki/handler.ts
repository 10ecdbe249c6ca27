import type { FastifyReply, FastifyRequest, RouteHandlerMethod } from 'fastify';
import type { Logger } from 'pino';
import type { TenantId } from '../../model/index.ts';
import type { TenantResolver } from '../../tenant/index.ts';
import { EncodedJson } from '../encoded-json.ts';
import { toApiError } from '../errors.ts';
import { abortOnClientClose, readTenants } from '../request-context.ts';
import { LokiParams } from './params.ts';

/** What a Loki route handler gets. */
export interface LokiRequest {
  readonly request: FastifyRequest;
  readonly params: LokiParams;
  readonly tenants: readonly TenantId[];
  /** Aborted when the client goes away. */
  readonly signal: AbortSignal;
}

/**
 * Sends an error the way Loki does: a plain-text body with the status the one error mapper picks
 * (`toApiError`, Loki flavour: 504 for a timeout). Internal errors are logged in full; the client sees a generic message with the request id.
 */
export function sendLokiError(request: FastifyRequest, reply: FastifyReply, err: unknown, logger: Logger): FastifyReply {
  const mapped = toApiError(err, String(request.id), 'loki');
  if (mapped.internal) logger.error({ err, requestId: request.id, url: request.url }, 'Loki API internal error');
  if (mapped.retryAfterSeconds !== undefined) reply.header('retry-after', String(mapped.retryAfterSeconds));
  return reply.code(mapped.status).type('text/plain; charset=utf-8').send(mapped.message);
}

/**
 * Wraps a handler: resolves tenants (unless `tenantless`), aborts the signal when the client disconnects,
 * sends the returned value as JSON (an {@link EncodedJson} as it is) and errors as Loki's plain text.
 */
export function lokiRoute(
  tenants: TenantResolver,
  logger: Logger,
  fn: (req: LokiRequest) => Promise<unknown>,
  options: { tenantless?: boolean } = {},
): RouteHandlerMethod {
  return async (request: FastifyRequest, reply: FastifyReply) => {
    const { signal, dispose } = abortOnClientClose(reply);
    try {
      const ids = options.tenantless ? [] : readTenants(tenants, request);
      const body = await fn({ request, params: new LokiParams(request), tenants: ids, signal });
      return reply.code(200).type('application/json; charset=utf-8').send(body instanceof EncodedJson ? body.body() : JSON.stringify(body));
    } catch (err) {
      return sendLokiError(request, reply, err, logger);
    } finally {
      dispose();
    }
  };
}
