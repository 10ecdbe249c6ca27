import path from 'node:path';
import { registerLokiApi } from '../../api/loki/index.ts';
import { LogqlEngine } from '../../logql/index.ts';
import { LogStore } from '../../logstore/index.ts';
import { PooledLogQueryEngine } from '../../query/index.ts';
import { logStoreConfigOptions } from '../engine-options.ts';
import { scheduleRetention } from '../retention-schedule.ts';
import type { RoleModule } from '../role.ts';

/**
 * The logs role (Loki's ingester + querier): opens the log store in `<data_dir>/logs`, applies per-tenant
 * and per-stream retention every `logs.store.retention_interval` (the role's timer is the only one; the
 * store's own background work handles head rotation and compaction), serves the Loki query API under `/loki/api/v1/`, and provides
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
    let engine: PooledLogQueryEngine;
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
        engine: (engine = new PooledLogQueryEngine(ctx.queryPool(), engineOptions)),
        logqlEngine: new LogqlEngine(engineOptions),
        tenants: ctx.tenants,
        config: config.logs,
        logger,
      });
    } catch (err) {
      await store.close();
      throw err;
    }

    const retention = scheduleRetention(store, config.logs.store.retention_interval, logger, 'logs');
    return {
      provides: { logsStorage: store, logQueryEngine: engine },
      serves: ['Loki API /loki/api/v1'],
      async stop() {
        await retention.stop();
        await store.close();
      },
    };
  },
};
