import path from 'node:path';
import { registerTempoApi, TEMPO_API_PREFIX } from '../../api/tempo/index.ts';
import { limitsForTenant } from '../../config/index.ts';
import { PooledTraceQueryEngine } from '../../query/index.ts';
import { TraceStore } from '../../tracestore/index.ts';
import { traceStoreConfigOptions } from '../engine-options.ts';
import { scheduleRetention } from '../retention-schedule.ts';
import type { RoleModule } from '../role.ts';

/**
 * The traces role (Tempo's ingester + querier): opens the trace store in `<data_dir>/traces` (its own
 * background work cuts complete traces into blocks), applies per-tenant `block_retention` every
 * `traces.store.retention_interval` (the role's timer is the only one), serves the Tempo query API under
 * `/tempo` (TraceQL on the query worker pool), and provides `tracesStorage` to the roles that depend on it
 * (the gateway writes through it). Stopping waits for a running retention pass, then closes the store after
 * queued writes.
 */
export const tracesRole: RoleModule = {
  async start(ctx) {
    const { config, logger } = ctx;
    const store = await TraceStore.open({
      dir: path.join(config.data_dir, 'traces'),
      ...traceStoreConfigOptions(config.traces),
      memoryLimitBytes: config.storage.memory_limit,
      threads: config.storage.threads,
      logger,
      health: ctx.dataDir,
    });
    try {
      await ctx.dataDir.watch(store.dir);
      const q = config.traces.query;
      await registerTempoApi(ctx.http, {
        queryable: store,
        engine: new PooledTraceQueryEngine(ctx.queryPool(), { timeoutMs: q.timeout, maxSeries: q.max_series }, 'traces.query.timeout'),
        tenants: ctx.tenants,
        logger,
        maxBytesPerTrace: (tenant) => limitsForTenant(config.traces, tenant).max_bytes_per_trace,
      });
    } catch (err) {
      await store.close();
      throw err;
    }
    const retention = scheduleRetention(store, config.traces.store.retention_interval, logger, 'traces');
    return {
      provides: { tracesStorage: store },
      serves: [`Tempo API ${TEMPO_API_PREFIX}`],
      async stop() {
        await retention.stop();
        await store.close();
      },
    };
  },
};
