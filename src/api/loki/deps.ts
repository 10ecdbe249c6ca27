import type { Logger } from 'pino';
import type { LogsConfig } from '../../config/index.ts';
import type { LogqlEngine } from '../../logql/index.ts';
import type { LogsStorage } from '../../storage/index.ts';
import type { TenantResolver } from '../../tenant/index.ts';

/** What the Loki API reads through. */
export interface LokiApiDeps {
  readonly queryable: LogsStorage;
  readonly engine: LogqlEngine;
  readonly tenants: TenantResolver;
  readonly config: LogsConfig;
  readonly logger: Logger;
  /** How often `tail` polls the store for new entries. Default 1000 ms. */
  readonly tailPollIntervalMs?: number;
}
