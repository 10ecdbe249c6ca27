import path from 'node:path';
import { registerPrometheusApi } from '../../api/prometheus/index.ts';
import { PooledMetricQueryEngine } from '../../query/index.ts';
import { Tsdb } from '../../tsdb/index.ts';
import { tsdbConfigOptions } from '../engine-options.ts';
import { scheduleRetention } from '../retention-schedule.ts';
import { boundAddress, splitAddress } from '../listen-address.ts';
import { SelfScraper } from '../self-scrape.ts';
import type { RoleModule } from '../role.ts';
import type { TenantId } from '../../model/index.ts';
import type { WriteTenancy } from '../../tenant/index.ts';

/** Whether the ruler role runs in this process (it then answers the ruler API on the same address). */
function rulerRuns(target: readonly string[]): boolean {
  return target.includes('all') || target.includes('ruler');
}

/** The self-scrape's tenant: the configured one, or `anonymous` when multitenancy is off. */
function selfScrapeTenant(w: WriteTenancy): TenantId {
  if (w.kind !== 'fixed') throw new Error('metrics.self_scrape.tenant: a fixed tenant is required');
  return w.tenant;
}

/** How often expired data is dropped. Retention is days long, so minutes of slack do not matter. */
export const RETENTION_INTERVAL_MS = 5 * 60_000;

/**
 * The metrics role (Mimir's ingester + querier): opens the TSDB in `<data_dir>/metrics`, applies per-tenant
 * retention every {@link RETENTION_INTERVAL_MS}, serves the Prometheus/Mimir query API under
 * `/prometheus/api/v1/`, and provides `metricsStorage` to the roles that depend on it (the gateway writes
 * through it). Stopping waits for a running retention pass, then closes the TSDB.
 */
export const metricsRole: RoleModule = {
  async start(ctx) {
    const { config, logger } = ctx;
    const tsdb = await Tsdb.open({
      dir: path.join(config.data_dir, 'metrics'),
      ...tsdbConfigOptions(config.metrics),
      memoryLimitBytes: config.storage.memory_limit,
      threads: config.storage.threads,
      logger,
      health: ctx.dataDir,
    });
    await ctx.dataDir.watch(tsdb.dir);
    let engine: PooledMetricQueryEngine;
    try {
      engine = new PooledMetricQueryEngine(ctx.queryPool(), {
        lookbackDeltaMs: config.metrics.query.lookback_delta,
        maxSamples: config.metrics.query.max_samples,
        timeoutMs: config.metrics.query.timeout,
        maxResultBytes: config.metrics.query.max_result_bytes,
      });
      await registerPrometheusApi(ctx.http, {
        queryable: tsdb,
        engine,
        tenants: ctx.tenants,
        config: config.metrics,
        logger,
        // Grafana looks for the Mimir ruler API (and shows data-source-managed rules) when buildinfo says so.
        ...(rulerRuns(config.target) ? { buildFeatures: { ruler_config_api: 'true' } } : {}),
      });
    } catch (err) {
      await tsdb.close();
      throw err;
    }

    const retention = scheduleRetention(tsdb, RETENTION_INTERVAL_MS, logger, 'metrics');
    const scrape = config.metrics.self_scrape;
    const selfScraper = scrape.enabled && scrape.interval > 0
      ? new SelfScraper({
        registry: ctx.selfMetrics.registry,
        metrics: tsdb,
        tenant: selfScrapeTenant(ctx.tenants.forWrite(scrape.tenant)),
        intervalMs: scrape.interval,
        job: scrape.job,
        instance: () => boundAddress(ctx.http, splitAddress(config.http_address)[0]),
        logger,
      })
      : undefined;
    selfScraper?.start();
    return {
      provides: { metricsStorage: tsdb, metricQueryEngine: engine },
      serves: ['Prometheus API /prometheus/api/v1'],
      async stop() {
        await selfScraper?.stop();
        await retention.stop();
        await tsdb.close();
      },
    };
  },
};
