import type { FastifyReply, FastifyRequest, RouteHandlerMethod } from 'fastify';
import type { Logger } from 'pino';
import type { TenantId } from '../../model/index.ts';
import type { TenantResolver } from '../../tenant/index.ts';
import { TENANT_HEADER } from '../../tenant/index.ts';
import { sendError, sendSuccess } from './envelope.ts';
import { FormParams } from './form.ts';

/** What a handler gets: its parameters, the tenants it reads, and a signal aborted when the client leaves. */
export interface ApiRequest {
  readonly request: FastifyRequest;
  readonly form: FormParams;
  readonly tenants: readonly TenantId[];
  readonly signal: AbortSignal;
}

/** What a handler answers: `data` and the annotations for the envelope. */
export interface ApiResult {
  readonly data: unknown;
  readonly warnings?: readonly string[];
  readonly infos?: readonly string[];
}

/** Prometheus' warning when `limit` cut a result short. */
export const TRUNCATED_WARNING = 'results truncated due to limit';

/**
 * Wraps a handler in the Prometheus envelope: resolves the tenants (unless `tenantless`), aborts its signal
 * when the client disconnects, and maps any thrown error through the one error mapper.
 */
export function apiRoute(
  tenants: TenantResolver,
  logger: Logger,
  fn: (req: ApiRequest) => Promise<ApiResult>,
  options: { tenantless?: boolean } = {},
): RouteHandlerMethod {
  return async (request: FastifyRequest, reply: FastifyReply) => {
    const controller = new AbortController();
    const onClose = (): void => {
      if (!reply.raw.writableFinished) controller.abort(new DOMException('client closed the connection', 'AbortError'));
    };
    reply.raw.on('close', onClose);
    try {
      const header = request.headers[TENANT_HEADER];
      const ids = options.tenantless ? [] : tenants.forRead(Array.isArray(header) ? header[0] : header);
      const result = await fn({ request, form: new FormParams(request), tenants: ids, signal: controller.signal });
      return await sendSuccess(reply, result.data, result);
    } catch (err) {
      return sendError(request, reply, err, logger);
    } finally {
      reply.raw.off('close', onClose);
    }
  };
}
