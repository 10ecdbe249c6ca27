import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { HeimdallConfig } from '../config/index.ts';
import { BUILTIN_DASHBOARDS_DIR, DashboardStore, ProvisionedDashboards } from '../dashboards/index.ts';
import type { ProvisioningSource } from '../dashboards/index.ts';
import { registerDashboardRoutes } from './dashboard-routes.ts';
import { registerAlertmanagerProxy } from './alertmanager-proxy.ts';
import { resolveCorrelations } from './correlations.ts';
import type { ResolvedCorrelations } from './correlations.ts';
import { registerDatasourceProxy } from './datasource-proxy.ts';
import { resolveOrgs } from './orgs.ts';

/** What the UI learns at start-up from `GET /api/frontend/settings` (Grafana's name for the same thing). */
export interface FrontendSettings {
  readonly version: string;
  readonly multitenancy: boolean;
  readonly orgs: readonly { name: string; tenants: readonly string[] }[];
  /** Data sources without their URL or credentials: the browser reaches them only through the proxy. */
  readonly datasources: readonly { uid: string; name: string; type: string; embedded: boolean; correlations: ResolvedCorrelations }[];
}

const VERSION = process.env.npm_package_version ?? '0.1.0';

/** The UI's running parts that need stopping (the provisioning directory's watcher). */
export interface UiRoutes {
  stop(): void;
}

/**
 * Registers the UI's API: `GET /api/frontend/settings` (orgs and data sources), the data-source proxy and the
 * dashboard API (saved dashboards in `<data_dir>/ui/dashboards`, provisioned ones from the built-ins and
 * `ui.dashboards_dir`). Throws when `ui.orgs` names an invalid tenant, so a bad config stops start-up.
 */
export async function registerUiRoutes(http: FastifyInstance, config: HeimdallConfig, logger: Logger): Promise<UiRoutes> {
  const orgs = resolveOrgs(config);
  const settings: FrontendSettings = {
    version: VERSION,
    multitenancy: config.multitenancy,
    orgs,
    datasources: config.ui.datasources.map((d) => ({ uid: d.uid, name: d.name, type: d.type, embedded: d.url === undefined, correlations: resolveCorrelations(d, config.ui.datasources) })),
  };
  http.get('/api/frontend/settings', async (_request, reply) => reply.header('cache-control', 'no-store').send(settings));
  await registerDatasourceProxy(http, { orgs, datasources: config.ui.datasources, logger });
  registerAlertmanagerProxy(http, { orgs });
  const store = await DashboardStore.open(path.join(config.data_dir, 'ui', 'dashboards'));
  const sources: ProvisioningSource[] = [];
  if (config.ui.builtin_dashboards) sources.push({ dir: BUILTIN_DASHBOARDS_DIR, folderTitle: 'Heimdall', watch: false });
  if (config.ui.dashboards_dir !== undefined) sources.push({ dir: path.resolve(config.ui.dashboards_dir), folderTitle: '', watch: true });
  const provisioned = await ProvisionedDashboards.start(sources, logger.child({ component: 'dashboards' }));
  registerDashboardRoutes(http, { orgs, store, provisioned });
  return { stop: () => provisioned.stop() };
}
