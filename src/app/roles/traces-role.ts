import path from 'node:path';
import { TraceStore } from '../../tracestore/index.ts';
import { traceStoreConfigOptions } from '../engine-options.ts';
import type { RoleModule } from '../role.ts';

/**
 * The traces role (Tempo's ingester + querier storage): opens the trace store in `<data_dir>/traces` (its
 * own background work cuts complete traces into blocks and applies retention) and provides `tracesStorage`
 * to the roles that depend on it (the gateway writes through it; the Tempo API reads it). Stopping closes
 * the store after queued writes.
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
    } catch (err) {
      await store.close();
      throw err;
    }
    return {
      provides: { tracesStorage: store },
      async stop() {
        await store.close();
      },
    };
  },
};
