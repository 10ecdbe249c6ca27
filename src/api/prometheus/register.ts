import formbody from '@fastify/formbody';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { MetricsConfig } from '../../config/index.ts';
import { federatedMetricsStorage } from '../../storage/index.ts';
import type { MetricQueryEngine, MetricsStorage } from '../../storage/index.ts';
import type { TenantResolver } from '../../tenant/index.ts';
import { sendError } from './envelope.ts';
import { registerLabelRoutes } from './label-routes.ts';
import { registerMetadataRoutes } from './metadata-routes.ts';
import { registerQueryRoutes } from './query-routes.ts';

/** The path prefix of the Prometheus/Mimir query API (ARCHITECTURE.md §1a). */
const PROMETHEUS_API_PREFIX = '/prometheus/api/v1';

/** What the Prometheus API reads through. */
export interface PrometheusApiDeps {
  readonly queryable: MetricsStorage;
  /** Evaluates PromQL (the query-execution seam: a worker pool in production). */
  readonly engine: MetricQueryEngine;
  readonly tenants: TenantResolver;
  readonly config: MetricsConfig;
  readonly logger: Logger;
  /**
   * Buildinfo `features` (Mimir's flags, values `"true"`/`"false"`); only `"true"` ones are advertised, and
   * with none the `features` object is left out (Grafana then looks for no Mimir API). Defaults to none.
   */
  readonly buildFeatures?: Readonly<Record<string, string>>;
}

/**
 * Registers the Prometheus/Mimir HTTP query API under `/prometheus/api/v1/`: `query`, `query_range`,
 * `query_exemplars` (GET and form POST), `series`, `labels` (GET and POST),
 * `label/:name/values`, `metadata`, `status/buildinfo`. Answers use Prometheus' envelope and error types;
 * reads take their tenants from `X-Scope-OrgID` through `tenants.forRead` (federated `a|b` reads label
 * series with `__tenant_id__`). Call before the server listens.
 */
export async function registerPrometheusApi(app: FastifyInstance, deps: PrometheusApiDeps): Promise<void> {
  await app.register(
    async (scope) => {
      // Grafana posts form bodies; the main server may already parse them.
      if (!scope.hasContentTypeParser('application/x-www-form-urlencoded')) await scope.register(formbody);
      // Failures before a handler runs (unparsable or oversized bodies) still get the Prometheus envelope.
      scope.setErrorHandler((err, request, reply) => sendError(request, reply, err, deps.logger));
      // Handlers and the engine read through one federating querier per request (storage/federation.ts).
      const routeDeps = { ...deps, queryable: federatedMetricsStorage(deps.queryable), queryTimeoutMs: deps.config.query.timeout };
      registerQueryRoutes(scope, routeDeps);
      registerLabelRoutes(scope, routeDeps);
      registerMetadataRoutes(scope, routeDeps);
    },
    { prefix: PROMETHEUS_API_PREFIX },
  );
}
