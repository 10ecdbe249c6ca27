import type { Labels, Rejection, TenantId } from '../model/index.ts';
import type { TsdbTenantLimits } from './limits.ts';
import { MemSeries } from './mem-series.ts';
import { SampleArena } from './sample-arena.ts';
import { TenantIndex, hashLabels } from './series-index.ts';

/** Decoder label objects remembered per tenant (see `TenantIndex.labelCache`). */
const LABEL_CACHE_ENTRIES = 65_536;

/** Oldest and newest head sample over all series. */
export interface HeadSpan {
  readonly minT: number;
  readonly maxT: number;
  /** Float samples in the head. */
  readonly samples: number;
}

/**
 * The in-memory head: every live series by ref (refs are never reused within a process), each tenant's
 * inverted index, and the arena holding the series' not yet flushed samples. Not thread-safe (one event loop).
 */
export class Head {
  /** Series by ref; `undefined` for dropped refs. */
  readonly series: (MemSeries | undefined)[] = [];
  readonly tenants = new Map<string, TenantIndex>();
  private readonly arena = new SampleArena();
  private nextRef = 1;
  /** Float samples held in memory (maintained by the engine as samples come and go). */
  samples = 0;

  seriesCount(): number {
    let n = 0;
    for (const idx of this.tenants.values()) n += idx.count;
    return n;
  }

  /** The series a decoder's (shared, immutable) label object was resolved to before, if still live. */
  cachedSeries(tenant: TenantId, labels: Labels): MemSeries | undefined {
    const s = this.tenants.get(tenant)?.labelCache.get(labels);
    return s !== undefined && this.series[s.ref] === s ? s : undefined;
  }

  cacheSeries(tenant: TenantId, labels: Labels, s: MemSeries): void {
    const cache = this.tenants.get(tenant)?.labelCache;
    if (!cache) return;
    // Bounded: a full cache starts over (entries come back on the next miss of each live series).
    if (cache.size >= LABEL_CACHE_ENTRIES) cache.clear();
    cache.set(labels, s);
  }

  /** Finds or creates the series; returns a rejection when the tenant's series limit is reached. */
  getOrCreateSeries(tenant: TenantId, labels: Labels, hash: number, limits: TsdbTenantLimits): MemSeries | Rejection {
    let index = this.tenants.get(tenant);
    const existing = index?.get(labels, hash);
    if (existing) return existing;
    const max = limits.max_global_series_per_user;
    if (max > 0 && (index?.count ?? 0) >= max) {
      return {
        signal: 'metrics',
        reason: 'max_series_per_tenant',
        message:
          `per-user series limit of ${max} exceeded (err-mimir-max-series-per-user). To adjust the related ` +
          `per-tenant limit, configure max_global_series_per_user, or contact your service administrator.`,
        count: 1,
      };
    }
    if (!index) this.tenants.set(tenant, (index = new TenantIndex(tenant)));
    const s = new MemSeries(this.nextRef++, tenant, index.canonical(labels), hash, this.arena);
    this.series[s.ref] = s;
    index.add(s);
    return s;
  }

  /** Re-creates a series read from the WAL or a checkpoint under its logged ref (a known ref is kept). */
  restoreSeries(ref: number, tenant: string, labels: Labels): void {
    if (this.series[ref]) return;
    let index = this.tenants.get(tenant);
    if (!index) this.tenants.set(tenant, (index = new TenantIndex(tenant)));
    const s = new MemSeries(ref, tenant, index.canonical(labels), hashLabels(labels, Object.keys(labels)), this.arena);
    s.walLogged = true;
    this.series[ref] = s;
    index.add(s);
    if (ref >= this.nextRef) this.nextRef = ref + 1;
  }

  /** Removes series of one tenant from the index and frees their samples. */
  dropSeries(tenant: string, dropped: readonly MemSeries[]): void {
    if (dropped.length === 0) return;
    this.tenants.get(tenant)?.remove(dropped);
    for (const s of dropped) {
      this.series[s.ref] = undefined;
      this.samples -= s.n;
      s.releaseAll();
    }
  }

  /** Oldest and newest head sample over all series (recounting `samples`), or undefined when empty. */
  span(): HeadSpan | undefined {
    let minT = Infinity;
    let maxT = -Infinity;
    let samples = 0;
    for (const s of this.series) {
      if (!s) continue;
      samples += s.n;
      if (s.n > 0) {
        const first = s.firstT();
        const last = s.lastT();
        if (first < minT) minT = first;
        if (last > maxT) maxT = last;
      }
      if (s.histTs && s.histTs.length > 0) {
        if (s.histTs[0]! < minT) minT = s.histTs[0]!;
        if (s.histTs[s.histTs.length - 1]! > maxT) maxT = s.histTs[s.histTs.length - 1]!;
      }
    }
    this.samples = samples;
    return minT <= maxT ? { minT, maxT, samples } : undefined;
  }

  /** Drops one series' head data older than `cutoff` (retention). */
  expire(s: MemSeries, cutoff: number): void {
    const before = s.n;
    s.dropBefore(cutoff);
    this.samples -= before - s.n;
    if (s.histTs && s.hists) {
      let i = 0;
      while (i < s.histTs.length && s.histTs[i]! < cutoff) i++;
      s.histTs.splice(0, i);
      s.hists.splice(0, i);
    }
    s.minDataT = Math.max(s.minDataT, cutoff);
  }
}
