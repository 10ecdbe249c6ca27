import type { Logger } from 'pino';
import type { LogsConfig } from '../../config/index.ts';
import type { LogqlEngine } from '../../logql/index.ts';
import type { LogQueryEngine, LogsStorage } from '../../storage/index.ts';
import type { TenantResolver } from '../../tenant/index.ts';

/** What the Loki API reads through. */
export interface LokiApiDeps {
  readonly queryable: LogsStorage;
  /** Evaluates `query` and `query_range` (the query-execution seam: a worker pool in production). */
  readonly engine: LogQueryEngine;
  /**
   * The LogQL engine in this thread: for parsing (cheap), and for `tail` and `detected_fields`, which consume
   * log results here rather than answering them as encoded JSON.
   */
  readonly logqlEngine: LogqlEngine;
  readonly tenants: TenantResolver;
  readonly config: LogsConfig;
  readonly logger: Logger;
  /** How often `tail` polls the store for new entries. Default 500 ms (Grafana's live tail stays under 2 s behind). */
  readonly tailPollIntervalMs?: number;
}
