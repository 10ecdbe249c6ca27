import type { MetricRecord, SpanRecord, TenantId } from '../model/index.ts';
import type { Appendable } from '../storage/index.ts';
import { SeriesRegistry } from './series-registry.ts';
import { ServiceGraphs } from './service-graphs.ts';
import type { EdgeCounters } from './service-graphs.ts';
import type { GeneratorSettings } from './settings.ts';
import { recordSpanMetrics } from './span-metrics.ts';

interface TenantState {
  readonly registry: SeriesRegistry;
  readonly graphs: ServiceGraphs;
}

/** Per-tenant numbers for self-metrics. */
export interface GeneratorTenantStats {
  readonly activeSeries: number;
  readonly pendingEdges: number;
  readonly edges: Readonly<EdgeCounters>;
}

/**
 * Tempo's metrics-generator in one process: it is fed the spans each tenant committed ({@link consume}),
 * keeps span metrics and service graphs per tenant, and every collection interval writes each tenant's
 * series to that tenant's metrics store through the metrics `Appendable` (the same seam remote_write uses,
 * so the series land wherever metrics go). A failed write is reported to `onError` and the next collection
 * writes the cumulative values again, so counts are never lost, only a point of resolution.
 */
export class MetricsGenerator {
  private readonly tenants = new Map<TenantId, TenantState>();
  private timer: NodeJS.Timeout | undefined;
  private collecting: Promise<void> | undefined;

  constructor(
    private readonly settings: GeneratorSettings,
    private readonly metrics: Appendable<MetricRecord>,
    private readonly onError: (tenant: TenantId, err: unknown) => void,
    private readonly now: () => number = Date.now,
  ) {}

  /** Feeds committed spans of a tenant. Cheap and synchronous; nothing is written until the next collection. */
  consume(tenant: TenantId, records: readonly SpanRecord[]): void {
    const settings = this.settings.tenant(tenant);
    const spanMetrics = settings.processors.includes('span-metrics');
    const graphs = settings.processors.includes('service-graphs');
    if (!spanMetrics && !graphs) return;
    const state = this.stateOf(tenant);
    const nowMs = this.now();
    for (const record of records) {
      const sn = record.resource.find((a) => a.key === 'service.name')?.value;
      const service = typeof sn === 'string' ? sn : '';
      for (const span of record.spans) {
        if (spanMetrics) recordSpanMetrics(state.registry, settings, service, span, record.resource, nowMs);
        if (graphs) state.graphs.consume(settings, service, span, record.resource, nowMs);
      }
    }
  }

  /** Starts the collection timer (it does not keep the process alive). */
  start(): void {
    this.timer ??= setInterval(() => void this.collect(), this.settings.collectionIntervalMs);
    this.timer.unref();
  }

  /** Stops the timer and writes a last collection. */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.collect();
  }

  /**
   * Expires waiting edges and writes every tenant's series now; resolves when written (failures go to
   * `onError`). Overlapping calls share one run.
   */
  collect(): Promise<void> {
    this.collecting ??= this.collectAll().finally(() => {
      this.collecting = undefined;
    });
    return this.collecting;
  }

  /** The numbers behind the `heimdall_metricsgen_*` self-metrics, per tenant. */
  stats(): Map<TenantId, GeneratorTenantStats> {
    const out = new Map<TenantId, GeneratorTenantStats>();
    for (const [tenant, s] of this.tenants) {
      out.set(tenant, { activeSeries: s.registry.size, pendingEdges: s.graphs.pendingEdges, edges: { ...s.graphs.counters } });
    }
    return out;
  }

  private async collectAll(): Promise<void> {
    for (const [tenant, state] of this.tenants) {
      const nowMs = this.now();
      state.graphs.expire(this.settings.tenant(tenant), nowMs);
      const records = state.registry.collect(nowMs);
      if (records.length === 0) continue;
      const appender = this.metrics.appender(tenant);
      try {
        for (const r of records) appender.append(r);
        await appender.commit();
      } catch (err) {
        appender.rollback();
        this.onError(tenant, err);
      }
    }
  }

  private stateOf(tenant: TenantId): TenantState {
    let s = this.tenants.get(tenant);
    if (!s) {
      const registry = new SeriesRegistry(this.settings.staleMs);
      s = { registry, graphs: new ServiceGraphs(registry, this.settings.edgeWaitMs, this.settings.maxEdges) };
      this.tenants.set(tenant, s);
    }
    return s;
  }
}
