import type { FastifyInstance } from 'fastify';
import { federatedTracesStorage } from '../../storage/index.ts';
import type { TempoApiDeps } from './deps.ts';
import { sendTempoError } from './handler.ts';
import { registerMetricsRoutes } from './metrics-routes.ts';
import { registerSearchRoutes } from './search-routes.ts';
import { registerStatusRoutes } from './status-routes.ts';
import { registerTagRoutes } from './tag-routes.ts';
import { registerTraceRoutes } from './trace-routes.ts';

/** Where the Tempo API lives on the HTTP address: a Grafana Tempo data source URL is `http://HOST:3000/tempo`. */
export const TEMPO_API_PREFIX = '/tempo';

/**
 * Registers Tempo's HTTP query API under `/tempo`: `api/traces/:id` and `api/v2/traces/:id` (JSON or
 * protobuf by `Accept`), `api/search` (TraceQL and legacy tag search), `api/search/tags`,
 * `api/v2/search/tags`, `api/search/tag/:tag/values`, `api/v2/search/tag/:tag/values`,
 * `api/metrics/query_range`, `api/metrics/query`, `api/echo` and `api/status/buildinfo`. Tenants come from
 * `X-Scope-OrgID` through `tenants.forRead` (`a|b` reads both, through `federatedTracesStorage`); errors are Tempo's plain-text bodies with
 * the status of the shared mapper. Call before the server listens.
 */
export async function registerTempoApi(app: FastifyInstance, deps: TempoApiDeps): Promise<void> {
  await app.register(
    async (scope) => {
      scope.setErrorHandler((err, request, reply) => sendTempoError(request, reply, err, deps.logger));
      const routeDeps: TempoApiDeps = { ...deps, queryable: federatedTracesStorage(deps.queryable) };
      registerTraceRoutes(scope, routeDeps);
      registerSearchRoutes(scope, routeDeps);
      registerTagRoutes(scope, routeDeps);
      registerMetricsRoutes(scope, routeDeps);
      registerStatusRoutes(scope, routeDeps);
    },
    { prefix: TEMPO_API_PREFIX },
  );
}
