import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { HeimdallConfig } from '../config/index.ts';
import { registerDatasourceProxy } from './datasource-proxy.ts';
import { resolveOrgs } from './orgs.ts';

/** What the UI learns at start-up from `GET /api/frontend/settings` (Grafana's name for the same thing). */
export interface FrontendSettings {
  readonly version: string;
  readonly multitenancy: boolean;
  readonly orgs: readonly { name: string; tenants: readonly string[] }[];
  /** Data sources without their URL or credentials: the browser reaches them only through the proxy. */
  readonly datasources: readonly { uid: string; name: string; type: string; embedded: boolean }[];
}

const VERSION = process.env.npm_package_version ?? '0.1.0';

/**
 * Registers the UI's API: `GET /api/frontend/settings` (orgs and data sources) and the data-source proxy.
 * Throws when `ui.orgs` names an invalid tenant, so a bad config stops start-up.
 */
export async function registerUiRoutes(http: FastifyInstance, config: HeimdallConfig, logger: Logger): Promise<void> {
  const orgs = resolveOrgs(config);
  const settings: FrontendSettings = {
    version: VERSION,
    multitenancy: config.multitenancy,
    orgs,
    datasources: config.ui.datasources.map((d) => ({ uid: d.uid, name: d.name, type: d.type, embedded: d.url === undefined })),
  };
  http.get('/api/frontend/settings', async (_request, reply) => reply.header('cache-control', 'no-store').send(settings));
  await registerDatasourceProxy(http, { orgs, datasources: config.ui.datasources, logger });
}
