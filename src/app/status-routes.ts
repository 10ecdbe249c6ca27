import type { FastifyInstance } from 'fastify';
import type { RoleName } from '../config/index.ts';
import type { SelfMetrics } from '../selfobs/index.ts';

const VERSION = process.env.npm_package_version ?? '0.1.0';

/** Registers `/ready`, `/api/health` and `/metrics`, Heimdall's own endpoints. */
export function registerStatusRoutes(
  app: FastifyInstance,
  deps: { selfMetrics: SelfMetrics; notReadyReason: () => string | undefined; roles: readonly RoleName[]; apis: readonly string[] },
): void {
  app.get('/ready', async (_req, reply) => {
    const reason = deps.notReadyReason();
    return reason === undefined
      ? reply.type('text/plain; charset=utf-8').send('ready')
      : reply.code(503).type('text/plain; charset=utf-8').send(`not ready: ${reason}`);
  });
  app.get('/api/health', async (_req, reply) => {
    const reason = deps.notReadyReason();
    return reply.code(reason === undefined ? 200 : 503).send({
      database: reason === undefined ? 'ok' : reason,
      version: VERSION,
      roles: deps.roles,
      apis: deps.apis,
    });
  });
  app.get('/metrics', async (_req, reply) =>
    reply.type(deps.selfMetrics.registry.contentType).send(await deps.selfMetrics.registry.metrics()),
  );
}
