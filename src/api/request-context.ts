import type { FastifyReply, FastifyRequest } from 'fastify';
import type { TenantId } from '../model/index.ts';
import type { TenantResolver } from '../tenant/index.ts';
import { TENANT_HEADER } from '../tenant/index.ts';

/** Resolves the tenants a read covers from `X-Scope-OrgID` (401/400 TenantError as the resolver decides). */
export function readTenants(tenants: TenantResolver, request: FastifyRequest): TenantId[] {
  const header = request.headers[TENANT_HEADER];
  return tenants.forRead(Array.isArray(header) ? header[0] : header);
}

/**
 * A signal aborted when the client closes the connection before the answer is written, so a query stops
 * working for nobody. Call `dispose` when the handler is done.
 */
export function abortOnClientClose(reply: FastifyReply): { signal: AbortSignal; dispose(): void } {
  const controller = new AbortController();
  const onClose = (): void => {
    if (!reply.raw.writableFinished) controller.abort(new DOMException('client closed the connection', 'AbortError'));
  };
  reply.raw.on('close', onClose);
  return { signal: controller.signal, dispose: () => reply.raw.off('close', onClose) };
}
