import type { FastifyInstance } from 'fastify';
import type { RoleName } from '../config/index.ts';
import type { SelfMetrics } from '../selfobs/index.ts';

const VERSION = process.env.npm_package_version ?? '0.1.0';

/** Registers `/ready`, `/api/health` and `/metrics`, Heimdall's own endpoints. */
export function registerStatusRoutes(
  app: FastifyInstance,
  deps: { selfMetrics: SelfMetrics; isReady: () => boolean; roles: readonly RoleName[] },
): void {
  app.get('/ready', async (_req, reply) =>
    deps.isReady()
      ? reply.type('text/plain; charset=utf-8').send('ready')
      : reply.code(503).type('text/plain; charset=utf-8').send('not ready: starting or shutting down'),
  );
  app.get('/api/health', async (_req, reply) =>
    reply.code(deps.isReady() ? 200 : 503).send({
      database: deps.isReady() ? 'ok' : 'starting',
      version: VERSION,
      roles: deps.roles,
    }),
  );
  app.get('/metrics', async (_req, reply) =>
    reply.type(deps.selfMetrics.registry.contentType).send(await deps.selfMetrics.registry.metrics()),
  );
}
