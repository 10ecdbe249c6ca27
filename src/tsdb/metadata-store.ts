import type { MetricMetadata, TenantId } from '../model/index.ts';

/** Distinct metadata entries kept per metric (Prometheus returns a list per metric). */
const MAX_METADATA_PER_METRIC = 4;

function sameMeta(a: MetricMetadata, b: MetricMetadata): boolean {
  return a.type === b.type && a.help === b.help && a.unit === b.unit;
}

/**
 * Metric metadata (type, help, unit) per tenant and metric name: the newest few distinct entries of each
 * metric, most recent last. Held in memory; the WAL and checkpoints carry it across restarts.
 */
export class MetadataStore {
  private readonly byTenant = new Map<string, Map<string, MetricMetadata[]>>();

  /** Records `meta` as the newest entry of the metric (an equal older entry moves to the end). */
  set(tenant: string, metric: string, meta: MetricMetadata): void {
    let m = this.byTenant.get(tenant);
    if (!m) this.byTenant.set(tenant, (m = new Map()));
    const list = m.get(metric);
    if (!list) {
      m.set(metric, [meta]);
      return;
    }
    const i = list.findIndex((x) => sameMeta(x, meta));
    if (i >= 0) list.splice(i, 1);
    list.push(meta);
    if (list.length > MAX_METADATA_PER_METRIC) list.shift();
  }

  /**
   * The metadata of the tenants' metrics (all, or only `metric`), distinct entries merged across tenants,
   * sorted by metric name and cut to `limit` metrics when `limit > 0`.
   */
  query(tenants: readonly TenantId[], metric?: string, limit?: number): Map<string, MetricMetadata[]> {
    const out = new Map<string, MetricMetadata[]>();
    for (const tenant of tenants) {
      const m = this.byTenant.get(tenant);
      if (!m) continue;
      for (const [name, metas] of m) {
        if (metric !== undefined && metric !== name) continue;
        const list = out.get(name) ?? [];
        for (const meta of metas) if (!list.some((x) => sameMeta(x, meta))) list.push(meta);
        out.set(name, list);
      }
    }
    const sorted = new Map([...out].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
    if (limit !== undefined && limit > 0 && sorted.size > limit) return new Map([...sorted].slice(0, limit));
    return sorted;
  }

  /** Every stored entry (for checkpoints). */
  *entries(): IterableIterator<{ tenant: string; metric: string; meta: MetricMetadata }> {
    for (const [tenant, m] of this.byTenant) {
      for (const [metric, metas] of m) for (const meta of metas) yield { tenant, metric, meta };
    }
  }
}
