import type { FastifyInstance } from 'fastify';
import { ApiError } from '../errors.ts';
import type { LokiApiDeps } from './deps.ts';
import { lokiRoute } from './handler.ts';

/** The version `status/buildinfo` reports: Grafana enables Loki 3 features (structured metadata, volume, drilldown) from 3.0. */
const LOKI_COMPATIBLE_VERSION = '3.5.0';

/**
 * `status/buildinfo`, `drilldown-limits`, and the endpoints of features Heimdall does not have (`patterns`,
 * `format_query`), which answer as Loki does for a disabled feature: 404 (Loki's querier answers
 * `httpgrpc.Errorf(http.StatusNotFound, "")` for `patterns` without a pattern ingester), never a 200 that
 * looks like an empty success.
 */
export function registerStatusRoutes(app: FastifyInstance, deps: LokiApiDeps): void {
  const { tenants, logger } = deps;
  const tenantless = { tenantless: true };

  const notBuilt = (what: string) =>
    lokiRoute(
      tenants,
      logger,
      async () => {
        throw new ApiError('not_found', what, { code: 'feature_disabled' });
      },
      tenantless,
    );
  app.get('/patterns', notBuilt('patterns are not available: Heimdall has no pattern ingester (drilldown-limits reports pattern_ingester_enabled: false)'));
  app.get('/format_query', notBuilt('format_query is not available: Heimdall does not format LogQL queries'));
  app.post('/format_query', notBuilt('format_query is not available: Heimdall does not format LogQL queries'));

  app.get(
    '/status/buildinfo',
    lokiRoute(
      tenants,
      logger,
      async () => ({ version: LOKI_COMPATIBLE_VERSION, revision: 'heimdall', branch: 'main', buildUser: 'heimdall', buildDate: '', goVersion: '' }),
      tenantless,
    ),
  );

  app.get(
    '/drilldown-limits',
    lokiRoute(
      tenants,
      logger,
      async () => ({
        version: LOKI_COMPATIBLE_VERSION,
        pattern_ingester_enabled: false,
        limits: {
          discover_log_levels: true,
          discover_service_name: deps.config.limits.discover_service_name,
          log_level_fields: ['level', 'LEVEL', 'Level', 'severity', 'SEVERITY', 'Severity', 'lvl', 'LVL', 'Lvl'],
          max_entries_limit_per_query: deps.config.query.max_entries_limit_per_query,
          max_query_series: deps.config.query.max_query_series,
          max_query_length: `${Math.round(deps.config.query.max_query_length / 3600_000)}h`,
          retention_period: `${Math.round(deps.config.limits.retention_period / 3600_000)}h`,
          volume_enabled: true,
          volume_max_series: 1000,
        },
      }),
      tenantless,
    ),
  );
}
