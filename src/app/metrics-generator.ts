import { Counter, Gauge } from 'prom-client';
import type { Logger } from 'pino';
import { limitsForTenant } from '../config/index.ts';
import type { TracesConfig } from '../config/index.ts';
import { MetricsGenerator } from '../metricsgen/index.ts';
import type { GeneratorSettings, TenantGeneratorSettings } from '../metricsgen/index.ts';
import type { MetricRecord } from '../model/index.ts';
import type { SelfMetrics } from '../selfobs/index.ts';
import type { Appendable } from '../storage/index.ts';

/** The metrics-generator's settings from the `traces` config section (per-tenant parts read at every batch). */
export function generatorSettings(traces: TracesConfig): GeneratorSettings {
  const perTenant = new Map<string, { limits: object; settings: TenantGeneratorSettings }>();
  return {
    collectionIntervalMs: traces.metrics_generator.collection_interval,
    staleMs: traces.metrics_generator.stale_duration,
    edgeWaitMs: traces.metrics_generator.service_graphs_wait,
    maxEdges: traces.metrics_generator.service_graphs_max_items,
    tenant: (tenant) => {
      const l = limitsForTenant(traces, tenant);
      const cached = perTenant.get(tenant);
      // The histogram series keep their bucket array by identity: hand out the same settings while the limits are the same.
      if (cached?.limits === l) return cached.settings;
      const settings: TenantGeneratorSettings = {
        processors: l.metrics_generator_processors,
        spanMetricsDimensions: l.metrics_generator_processor_span_metrics_dimensions,
        spanMetricsBuckets: l.metrics_generator_processor_span_metrics_histogram_buckets,
        serviceGraphDimensions: l.metrics_generator_processor_service_graphs_dimensions,
        serviceGraphBuckets: l.metrics_generator_processor_service_graphs_histogram_buckets,
        peerAttributes: l.metrics_generator_processor_service_graphs_peer_attributes,
      };
      perTenant.set(tenant, { limits: l, settings });
      return settings;
    },
  };
}

/**
 * Starts the metrics-generator writing to `metrics`, with its self-metrics on `/metrics`:
 * `heimdall_metricsgen_active_series`, `heimdall_metricsgen_service_graph_pending_edges`, and
 * `heimdall_metricsgen_service_graph_edges_total{outcome="paired|expired|dropped"}` (why an edge is missing),
 * all by tenant.
 */
export function startMetricsGenerator(traces: TracesConfig, metrics: Appendable<MetricRecord>, selfMetrics: SelfMetrics, logger: Logger): MetricsGenerator {
  const gen = new MetricsGenerator(generatorSettings(traces), metrics, (tenant, err) =>
    logger.warn({ err, tenant }, 'metrics-generator: writing generated series failed; the next collection writes them again'),
  );
  new Gauge({
    name: 'heimdall_metricsgen_active_series',
    help: 'Series the metrics-generator holds and writes each collection, by tenant.',
    labelNames: ['tenant'],
    registers: [selfMetrics.registry],
    collect() {
      for (const [tenant, s] of gen.stats()) this.set({ tenant }, s.activeSeries);
    },
  });
  new Gauge({
    name: 'heimdall_metricsgen_service_graph_pending_edges',
    help: 'Client or server spans waiting for their other half, by tenant.',
    labelNames: ['tenant'],
    registers: [selfMetrics.registry],
    collect() {
      for (const [tenant, s] of gen.stats()) this.set({ tenant }, s.pendingEdges);
    },
  });
  const reported = new Map<string, number>();
  new Counter({
    name: 'heimdall_metricsgen_service_graph_edges_total',
    help: 'Service-graph edges by outcome: paired (written), expired (no other half within the wait and no peer attribute), dropped (the store of unpaired edges was full), by tenant.',
    labelNames: ['tenant', 'outcome'],
    registers: [selfMetrics.registry],
    collect() {
      // The generator keeps running totals; the counter moves by what they grew since the last scrape.
      for (const [tenant, s] of gen.stats()) {
        for (const outcome of ['paired', 'expired', 'dropped'] as const) {
          const key = `${tenant}\u0000${outcome}`;
          const grown = s.edges[outcome] - (reported.get(key) ?? 0);
          if (grown > 0) this.inc({ tenant, outcome }, grown);
          reported.set(key, s.edges[outcome]);
        }
      }
    },
  });
  gen.start();
  return gen;
}
