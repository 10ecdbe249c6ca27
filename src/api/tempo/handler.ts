import type { FastifyReply, FastifyRequest, RouteHandlerMethod } from 'fastify';
import type { Logger } from 'pino';
import type { TenantId } from '../../model/index.ts';
import type { TenantResolver } from '../../tenant/index.ts';
import { EncodedJson } from '../encoded-json.ts';
import { toApiError } from '../errors.ts';
import { FormParams } from '../form-params.ts';
import { abortOnClientClose, readTenants } from '../request-context.ts';

/** What a Tempo route handler gets. */
export interface TempoRequest {
  readonly request: FastifyRequest;
  readonly params: FormParams;
  readonly tenants: readonly TenantId[];
  /** Aborted when the client goes away. */
  readonly signal: AbortSignal;
}

/** An answer other than a 200 JSON body: protobuf bytes, or a status with an empty body (Tempo's 404). */
export class TempoBody {
  constructor(
    readonly status: number,
    readonly contentType: string | undefined,
    readonly body: string | Uint8Array,
  ) {}
}

/**
 * Sends an error the way Tempo does (Go's `http.Error`): a plain-text body, the message and a newline, with
 * the status the one error mapper picks (`toApiError`, Tempo flavour: 504 for a timeout). Internal errors
 * are logged in full; the client sees a generic message with the request id.
 */
export function sendTempoError(request: FastifyRequest, reply: FastifyReply, err: unknown, logger: Logger): FastifyReply {
  const mapped = toApiError(err, String(request.id), 'tempo');
  if (mapped.internal) logger.error({ err, requestId: request.id, url: request.url }, 'Tempo API internal error');
  if (mapped.retryAfterSeconds !== undefined) reply.header('retry-after', String(mapped.retryAfterSeconds));
  return reply.code(mapped.status).type('text/plain; charset=utf-8').send(`${mapped.message}\n`);
}

/**
 * Wraps a handler: resolves tenants (unless `tenantless`), aborts the signal when the client disconnects,
 * sends the returned value as JSON (`application/json`, an {@link EncodedJson} as it is), a
 * {@link TempoBody} as it says, and errors as Tempo's plain text.
 */
export function tempoRoute(
  tenants: TenantResolver,
  logger: Logger,
  fn: (req: TempoRequest) => Promise<unknown>,
  options: { tenantless?: boolean } = {},
): RouteHandlerMethod {
  return async (request: FastifyRequest, reply: FastifyReply) => {
    const { signal, dispose } = abortOnClientClose(reply);
    try {
      const ids = options.tenantless ? [] : readTenants(tenants, request);
      const body = await fn({ request, params: new FormParams(request), tenants: ids, signal });
      if (body instanceof TempoBody) {
        reply.code(body.status);
        if (body.contentType !== undefined) reply.type(body.contentType);
        return reply.send(typeof body.body === 'string' ? body.body : Buffer.from(body.body.buffer, body.body.byteOffset, body.body.byteLength));
      }
      return reply.code(200).type('application/json').send(body instanceof EncodedJson ? body.body() : JSON.stringify(body));
    } catch (err) {
      return sendTempoError(request, reply, err, logger);
    } finally {
      dispose();
    }
  };
}

/** Whether the client asked for protobuf (`Accept` containing `application/protobuf`, as Tempo tests it). */
export function wantsProtobuf(request: FastifyRequest): boolean {
  const accept = request.headers.accept;
  const text = Array.isArray(accept) ? accept.join(',') : (accept ?? '');
  return text.includes('application/protobuf');
}
