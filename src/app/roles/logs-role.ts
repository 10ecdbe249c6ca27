import path from 'node:path';
import { registerLokiApi } from '../../api/loki/index.ts';
import { LogqlEngine } from '../../logql/index.ts';
import { LogStore } from '../../logstore/index.ts';
import { PooledLogQueryEngine } from '../../query/index.ts';
import { logStoreConfigOptions } from '../engine-options.ts';
import type { RoleModule } from '../role.ts';

/** How often expired log partitions are dropped. Retention is days long, so minutes of slack do not matter. */
export const LOGS_RETENTION_INTERVAL_MS = 5 * 60_000;

/**
 * The logs role (Loki's ingester + querier): opens the log store in `<data_dir>/logs`, applies per-tenant
 * and per-stream retention every {@link LOGS_RETENTION_INTERVAL_MS} (the store's own background work
 * handles head rotation and compaction), serves the Loki query API under `/loki/api/v1/`, and provides
 * `logsStorage` to the roles that depend on it (the gateway writes through it). Stopping waits for a
 * running retention pass, then closes the store.
 */
export const logsRole: RoleModule = {
  async start(ctx) {
    const { config, logger } = ctx;
    const store = await LogStore.open({
      dir: path.join(config.data_dir, 'logs'),
      ...logStoreConfigOptions(config.logs),
      memoryLimitBytes: config.storage.memory_limit,
      threads: config.storage.threads,
      logger,
      health: ctx.dataDir,
    });
    await ctx.dataDir.watch(store.dir);
    try {
      const q = config.logs.query;
      const engineOptions = {
        maxEntriesLimitPerQuery: q.max_entries_limit_per_query,
        maxQuerySeries: q.max_query_series,
        timeoutMs: q.timeout,
        maxQueryLengthMs: q.max_query_length,
        maxSamples: q.max_samples,
        maxLineBytes: config.logs.limits.max_line_size,
      };
      await registerLokiApi(ctx.http, {
        queryable: store,
        engine: new PooledLogQueryEngine(ctx.queryPool(), engineOptions),
        logqlEngine: new LogqlEngine(engineOptions),
        tenants: ctx.tenants,
        config: config.logs,
        logger,
      });
    } catch (err) {
      await store.close();
      throw err;
    }

    let retention: Promise<void> | undefined;
    const runRetention = (): void => {
      if (retention) return; // the previous pass is still running
      retention = store
        .applyRetention(Date.now())
        .then(() => undefined)
        .catch((err: unknown) => logger.error({ err }, 'logs retention failed'))
        .finally(() => (retention = undefined));
    };
    const timer = setInterval(runRetention, LOGS_RETENTION_INTERVAL_MS);
    timer.unref();

    return {
      provides: { logsStorage: store },
      async stop() {
        clearInterval(timer);
        await retention;
        await store.close();
      },
    };
  },
};
