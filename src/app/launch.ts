import type { Logger } from 'pino';
import type { HeimdallConfig } from '../config/index.ts';
import type { HeimdallApp } from './app.ts';
import type { RoleDefinition } from './role.ts';

/**
 * Starts Heimdall (see {@link HeimdallApp.start}). The composition root and the servers it creates (Fastify,
 * gRPC, prom-client) are imported here, on start, so the CLI's help and argument errors do not load them.
 */
export async function launchHeimdall(config: HeimdallConfig, logger: Logger, registry: readonly RoleDefinition[]): Promise<HeimdallApp> {
  const { HeimdallApp: App } = await import('./app.ts');
  return App.start(config, logger, registry);
}
