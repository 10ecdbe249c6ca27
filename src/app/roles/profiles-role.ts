import path from 'node:path';
import { PYROSCOPE_API_PREFIX, registerPyroscopeApi } from '../../api/pyroscope/index.ts';
import { ProfileStore } from '../../profilestore/index.ts';
import { federatedProfilesStorage } from '../../storage/index.ts';
import { profileStoreConfigOptions } from '../engine-options.ts';
import { scheduleRetention } from '../retention-schedule.ts';
import type { RoleModule } from '../role.ts';

/**
 * The profiles role (Pyroscope's ingester + querier): opens the profile store in `<data_dir>/profiles` (it
 * cuts blocks in the background) with its retention schedule, serves Pyroscope's query API under `/pyroscope`
 * (Connect QuerierService, legacy render and label-values, buildinfo), and provides `profilesStorage` to the gateway. Stopping ends the
 * retention timer, then closes the store after queued writes.
 */
export const profilesRole: RoleModule = {
  async start(ctx) {
    const { config, logger } = ctx;
    const store = await ProfileStore.open({
      dir: path.join(config.data_dir, 'profiles'),
      ...profileStoreConfigOptions(config.profiles),
      memoryLimitBytes: config.storage.memory_limit,
      threads: config.storage.threads,
      logger,
      health: ctx.dataDir,
    });
    try {
      await ctx.dataDir.watch(store.dir);
      await registerPyroscopeApi(ctx.http, { queryable: federatedProfilesStorage(store), tenants: ctx.tenants, logger });
    } catch (err) {
      await store.close();
      throw err;
    }
    const retention = scheduleRetention(store, config.profiles.store.retention_interval, logger, 'profiles');
    return {
      provides: { profilesStorage: store },
      serves: [`Pyroscope API ${PYROSCOPE_API_PREFIX}`],
      async stop() {
        await retention.stop();
        await store.close();
      },
    };
  },
};
