import { compareStrings } from '../model/index.ts';
import type { LabelMatcher, Labels, NativeHistogram, TenantId, TimeRange } from '../model/index.ts';
import type { MetricQuerier, SelectHints, SeriesData } from '../storage/index.ts';
import type { MemSeries } from './mem-series.ts';

/** Series per batch yielded by `select`. */
const BATCH_SERIES = 256;

/** Samples of one series gathered from every source (head and blocks), ascending and de-duplicated. */
export interface SeriesSamples {
  timestampsMs: Float64Array;
  values: Float64Array;
  histogramTimestampsMs?: Float64Array;
  histograms?: NativeHistogram[];
}

/** What the querier needs from the engine; implemented by `Tsdb`. */
export interface QuerierHost {
  /** Refs of the tenant's series matching the matchers (ascending), or an empty list for unknown tenants. */
  selectRefs(tenant: TenantId, matchers: readonly LabelMatcher[]): Uint32Array;
  seriesByRef(ref: number): MemSeries | undefined;
  /** The tenant's series sorted by labels, `rank` = index (see `TenantIndex.ordered`). */
  orderedSeries(tenant: TenantId): readonly MemSeries[];
  /** Every label name of the tenant's series. */
  labelNamesOf(tenant: TenantId): Iterable<string>;
  /** Every value of `name` among the tenant's series. */
  labelValuesOf(tenant: TenantId, name: string): Iterable<string>;
  /** Loads the samples of several series in the range (one entry per input series, same order). */
  loadSamples(series: readonly MemSeries[], range: TimeRange, signal?: AbortSignal): Promise<SeriesSamples[]>;
}

/** A selected series with the labels a reader sees. */
export interface Selected {
  readonly labels: Labels;
  readonly series: MemSeries;
}

function overlapsSeries(s: MemSeries, range: TimeRange): boolean {
  return s.minDataT <= range.endMs && s.maxDataT >= range.startMs;
}

/**
 * A querier over one tenant and a range (see {@link MetricQuerier}). Federated reads (`a|b`) are
 * storage/federation.ts's: it opens one querier per tenant.
 */
export class TsdbQuerier implements MetricQuerier {
  private readonly tenant: TenantId;

  constructor(
    private readonly host: QuerierHost,
    tenants: readonly TenantId[],
    private readonly range: TimeRange,
  ) {
    if (tenants.length !== 1) throw new Error(`a metrics querier reads exactly one tenant, got ${tenants.length}`);
    this.tenant = tenants[0]!;
  }

  /** Matching series with data in the range, sorted by labels (by each series' precomputed rank). */
  collect(matchers: readonly LabelMatcher[]): Selected[] {
    const refs = this.host.selectRefs(this.tenant, matchers);
    const ordered = this.host.orderedSeries(this.tenant);
    const ranks = new Uint32Array(refs.length);
    let n = 0;
    for (let i = 0; i < refs.length; i++) {
      const s = this.host.seriesByRef(refs[i]!);
      if (s && overlapsSeries(s, this.range)) ranks[n++] = s.rank;
    }
    const sortedRanks = ranks.subarray(0, n).sort();
    const out: Selected[] = new Array(n);
    for (let i = 0; i < n; i++) {
      const s = ordered[sortedRanks[i]!]!;
      out[i] = { labels: s.labels, series: s };
    }
    return out;
  }

  async *select(matchers: readonly LabelMatcher[], hints?: SelectHints): AsyncIterable<readonly SeriesData[]> {
    const selected = this.collect(matchers);
    const limit = hints?.limit ?? Infinity;
    let emitted = 0;
    for (let i = 0; i < selected.length && emitted < limit; i += BATCH_SERIES) {
      hints?.signal?.throwIfAborted();
      const chunk = selected.slice(i, i + BATCH_SERIES);
      const batch: SeriesData[] = [];
      if (hints?.labelsOnly) {
        for (const c of chunk) {
          if (emitted >= limit) break;
          batch.push({ labels: c.labels, timestampsMs: EMPTY, values: EMPTY });
          emitted++;
        }
      } else {
        const data = await this.host.loadSamples(chunk.map((c) => c.series), this.range, hints?.signal);
        for (let j = 0; j < chunk.length && emitted < limit; j++) {
          const d = data[j]!;
          const hasHist = d.histograms !== undefined && d.histograms.length > 0;
          if (d.timestampsMs.length === 0 && !hasHist) continue;
          // Literals, not a conditional spread (V8's generic copy path, a tenth of a selection's CPU).
          batch.push(
            hasHist
              ? { labels: chunk[j]!.labels, timestampsMs: d.timestampsMs, values: d.values, histogramTimestampsMs: d.histogramTimestampsMs!, histograms: d.histograms! }
              : { labels: chunk[j]!.labels, timestampsMs: d.timestampsMs, values: d.values },
          );
          emitted++;
        }
      }
      if (batch.length > 0) yield batch;
    }
  }

  async labelNames(matchers?: readonly LabelMatcher[], limit?: number): Promise<string[]> {
    const names = new Set<string>();
    if (!matchers || matchers.length === 0) {
      if (this.tenantHasData()) for (const n of this.host.labelNamesOf(this.tenant)) names.add(n);
    } else {
      for (const { labels } of this.collect(matchers)) for (const n of Object.keys(labels)) names.add(n);
    }
    return finish(names, limit);
  }

  async labelValues(name: string, matchers?: readonly LabelMatcher[], limit?: number): Promise<string[]> {
    const values = new Set<string>();
    if (!matchers || matchers.length === 0) {
      if (this.tenantHasData()) for (const v of this.host.labelValuesOf(this.tenant, name)) values.add(v);
    } else {
      for (const { labels } of this.collect(matchers)) {
        const v = labels[name];
        if (v !== undefined && v !== '') values.add(v);
      }
    }
    return finish(values, limit);
  }

  async close(): Promise<void> {}

  /** Whether any of the tenant's series has data in the range. */
  private tenantHasData(): boolean {
    const refs = this.host.selectRefs(this.tenant, []);
    for (let i = 0; i < refs.length; i++) {
      const s = this.host.seriesByRef(refs[i]!);
      if (s && overlapsSeries(s, this.range)) return true;
    }
    return false;
  }
}

const EMPTY = new Float64Array(0);

function finish(set: Set<string>, limit?: number): string[] {
  const out = [...set].sort(compareStrings);
  return limit !== undefined && limit > 0 && out.length > limit ? out.slice(0, limit) : out;
}
