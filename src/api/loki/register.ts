import formbody from '@fastify/formbody';
import websocket from '@fastify/websocket';
import type { FastifyInstance } from 'fastify';
import { federatedLogsStorage } from '../../storage/index.ts';
import type { LokiApiDeps } from './deps.ts';
import { sendLokiError } from './handler.ts';
import { registerDetectedRoutes } from './detected-routes.ts';
import { registerIndexRoutes } from './index-routes.ts';
import { registerLabelRoutes } from './label-routes.ts';
import { registerQueryRoutes } from './query-routes.ts';
import { registerStatusRoutes } from './status-routes.ts';
import { registerTailRoute } from './tail.ts';

/** The path prefix of the Loki query API (ARCHITECTURE.md §1a). */
const LOKI_API_PREFIX = '/loki/api/v1';

/**
 * Registers Loki's HTTP query API under `/loki/api/v1/`: `query`, `query_range`, `labels`,
 * `label/:name/values`, `series`, `index/stats`, `index/volume`, `index/volume_range`, `detected_labels`,
 * `detected_fields`, `detected_field/:name/values`, `patterns` and `format_query` (404: not built, as
 * Loki answers for a disabled feature), `status/buildinfo`, `drilldown-limits`, and `tail` over WebSocket. Tenants come from
 * `X-Scope-OrgID` through `tenants.forRead` (federated `a|b` reads add `__tenant_id__`); errors are Loki's
 * plain-text bodies with the status of the shared mapper. Registers `@fastify/websocket` on `app` unless it
 * is there already. Call before the server listens. (`push` is the gateway's.)
 */
export async function registerLokiApi(app: FastifyInstance, deps: LokiApiDeps): Promise<void> {
  if (!app.hasDecorator('websocketServer')) await app.register(websocket);
  await app.register(
    async (scope) => {
      if (!scope.hasContentTypeParser('application/x-www-form-urlencoded')) await scope.register(formbody);
      scope.setErrorHandler((err, request, reply) => sendLokiError(request, reply, err, deps.logger));
      // Handlers, the engine and tail read through one federating querier per request (storage/federation.ts).
      const routeDeps: LokiApiDeps = { ...deps, queryable: federatedLogsStorage(deps.queryable) };
      registerQueryRoutes(scope, routeDeps);
      registerLabelRoutes(scope, routeDeps);
      registerIndexRoutes(scope, routeDeps);
      registerDetectedRoutes(scope, routeDeps);
      registerStatusRoutes(scope, routeDeps);
      registerTailRoute(scope, routeDeps);
    },
    { prefix: LOKI_API_PREFIX },
  );
}
