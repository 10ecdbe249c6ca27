import { METRIC_NAME_LABEL } from '../model/index.ts';
import type { MetricRecord, TenantId } from '../model/index.ts';
import type { WriteTenancy } from '../tenant/index.ts';

/** Series-name suffixes that belong to a metric family of the name before them (Prometheus and OpenMetrics). */
const FAMILY_SUFFIXES = ['_total', '_bucket', '_count', '_sum', '_created', '_info', '_gcount', '_gsum', '_gbucket'];

/** How many metric names the routing remembers before it starts over (bounded memory). */
const MAX_REMEMBERED_NAMES = 100_000;

/**
 * Routes metadata-only metric records (remote_write 1.0 sends HELP/TYPE/UNIT apart from the series, often in
 * requests of their own) to the tenants whose series carry that metric family, so one tenant never reads
 * another's HELP text. With one tenant per request, metadata goes to it. With tenants from namespaces, a
 * family goes to the tenants its series reach in this request and in earlier ones (remembered, bounded);
 * metadata of a family no tenant has written yet is dropped, as Prometheus resends metadata every minute.
 * One instance per process; not shared across processes.
 */
export class MetricMetadataRouting {
  /** Series metric name → the tenants that wrote series of that name (by namespace). */
  private readonly nameTenants = new Map<string, Set<TenantId>>();

  /** Whether a record is metadata only (no samples, histograms or exemplars). */
  static isMetadataOnly(r: MetricRecord): boolean {
    return r.samples === undefined && r.histograms === undefined && r.exemplars === undefined;
  }

  /**
   * Places metadata-only `records` into `batches` (adding batches where needed). Called for every request,
   * with or without metadata, so the tenants of each family are known when its metadata arrives later.
   */
  place(records: readonly MetricRecord[], batches: Map<TenantId, MetricRecord[]>, tenancy: WriteTenancy): void {
    if (tenancy.kind === 'fixed') {
      if (records.length === 0) return;
      let batch = batches.get(tenancy.tenant);
      if (batch === undefined) batches.set(tenancy.tenant, (batch = []));
      batch.push(...records);
      return;
    }
    this.remember(batches);
    for (const record of records) {
      const family = record.labels[METRIC_NAME_LABEL];
      if (family === undefined) continue;
      for (const tenant of this.tenantsOfFamily(family)) {
        let batch = batches.get(tenant);
        if (batch === undefined) batches.set(tenant, (batch = []));
        batch.push(record);
      }
    }
  }

  /** The tenants with series of `family`: its own name, or its name with a family suffix. */
  private tenantsOfFamily(family: string): Set<TenantId> {
    const out = new Set<TenantId>();
    for (const name of [family, ...FAMILY_SUFFIXES.map((s) => family + s)]) {
      for (const tenant of this.nameTenants.get(name) ?? []) out.add(tenant);
    }
    return out;
  }

  /** Notes which tenants this request's series reach, per metric name. */
  private remember(batches: ReadonlyMap<TenantId, readonly MetricRecord[]>): void {
    for (const [tenant, batch] of batches) {
      for (const r of batch) {
        const name = r.labels[METRIC_NAME_LABEL];
        if (name === undefined) continue;
        let tenants = this.nameTenants.get(name);
        if (tenants === undefined) {
          if (this.nameTenants.size >= MAX_REMEMBERED_NAMES) this.nameTenants.clear();
          this.nameTenants.set(name, (tenants = new Set()));
        }
        tenants.add(tenant);
      }
    }
  }
}
