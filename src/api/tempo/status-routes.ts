import type { FastifyInstance } from 'fastify';
import type { TempoApiDeps } from './deps.ts';
import { TempoBody, tempoRoute } from './handler.ts';

/** The Tempo version `status/buildinfo` reports: the 2.x HTTP API (v2 trace by id, v2 tags, TraceQL metrics) this API speaks. */
export const TEMPO_COMPATIBLE_VERSION = '2.10.0';

/**
 * `GET /api/echo` (Grafana's Tempo health check: 200 `echo`, as Tempo's `http.Error(w, "echo", 200)` writes
 * it) and `GET /api/status/buildinfo` (Prometheus' version object, as Tempo answers). Neither needs a tenant.
 */
export function registerStatusRoutes(app: FastifyInstance, deps: TempoApiDeps): void {
  const tenantless = { tenantless: true };
  app.get('/api/echo', tempoRoute(deps.tenants, deps.logger, async () => new TempoBody(200, 'text/plain; charset=utf-8', 'echo\n'), tenantless));
  app.get(
    '/api/status/buildinfo',
    tempoRoute(
      deps.tenants,
      deps.logger,
      async () => ({ version: TEMPO_COMPATIBLE_VERSION, revision: 'heimdall', branch: 'main', buildUser: 'heimdall', buildDate: '', goVersion: '' }),
      tenantless,
    ),
  );
}
