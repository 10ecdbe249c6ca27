import type { FastifyReply, FastifyRequest, RouteHandlerMethod } from 'fastify';
import type { Logger } from 'pino';
import type { TenantId } from '../../model/index.ts';
import type { JsonText } from '../../storage/index.ts';
import type { TenantResolver } from '../../tenant/index.ts';
import { FormParams } from '../form-params.ts';
import { abortOnClientClose, readTenants } from '../request-context.ts';
import { EncodedJson } from '../encoded-json.ts';
import { sendError, sendSuccess } from './envelope.ts';

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
  /** `data` already encoded as JSON (a query engine's answer); sent as is instead of `data`. */
  readonly dataJson?: JsonText;
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
    const { signal, dispose } = abortOnClientClose(reply);
    try {
      const ids = options.tenantless ? [] : readTenants(tenants, request);
      const result = await fn({ request, form: new FormParams(request), tenants: ids, signal });
      return await sendSuccess(reply, result.dataJson === undefined ? result.data : new EncodedJson(result.dataJson), result);
    } catch (err) {
      return sendError(request, reply, err, logger);
    } finally {
      dispose();
    }
  };
}
