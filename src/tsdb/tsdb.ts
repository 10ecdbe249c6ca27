import fsp from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from 'pino';
import { metricsLimitsFor } from '../config/metrics-config.ts';
import type { MetricsConfig, MetricsLimits } from '../config/metrics-config.ts';
import type {
  LabelMatcher,
  Labels,
  MetricMetadata,
  MetricRecord,
  Rejection,
  TenantId,
  TimeRange,
} from '../model/index.ts';
import { RetryableStorageError } from '../storage/index.ts';
import type { Appender, MetricQuerier, MetricsStorage, SeriesExemplars } from '../storage/index.ts';
import { TsdbAppender } from './appender.ts';
import type { AppenderHost } from './appender.ts';
import { ByteReader } from './byte-buffer.ts';
import { readFormat, writeFormat } from './format.ts';
import { MemSeries } from './mem-series.ts';
import { TsdbQuerier } from './querier.ts';
import type { QuerierHost, SeriesSamples } from './querier.ts';
import { TenantIndex, hashLabels } from './series-index.ts';
import { Wal } from './wal.ts';
import { decodeRecords } from './wal-records.ts';
import type { RecordVisitor } from './wal-records.ts';

/** Options of {@link Tsdb.open}. */
export interface TsdbOptions {
  /** The engine's own directory (created if missing). */
  readonly dir: string;
  readonly config: MetricsConfig;
  /** Upper bound for the engine's caches and buffers. */
  readonly memoryLimitBytes?: number;
  readonly threads?: number;
  readonly logger?: Logger;
  /** Clock for validation (tests); defaults to `Date.now`. */
  readonly now?: () => number;
}

/** Counters and gauges the benchmark and self-metrics read. */
export interface TsdbStats {
  readonly series: number;
  readonly tenants: number;
  readonly headSamples: number;
  readonly samplesCommitted: number;
}

/** Distinct metadata entries kept per metric (Prometheus returns a list per metric). */
const MAX_METADATA_PER_METRIC = 4;

/**
 * The embedded metrics engine: a write-ahead log, an in-memory head with a per-tenant inverted index, and
 * (once flushed) immutable blocks. Implements every metrics seam.
 *
 * Contract: open once per directory (no file lock is taken: two processes on one directory corrupt it);
 * all methods may be called concurrently from the event loop; `close` waits for in-flight commits.
 */
export class Tsdb implements MetricsStorage, AppenderHost, QuerierHost {
  private readonly series: (MemSeries | undefined)[] = [];
  private nextRef = 1;
  private readonly tenants = new Map<string, TenantIndex>();
  private readonly metadataByTenant = new Map<string, Map<string, MetricMetadata[]>>();
  private samplesCommitted = 0;
  private closed = false;

  private constructor(
    readonly dir: string,
    private readonly config: MetricsConfig,
    private readonly wal: Wal,
    private readonly now: () => number,
    private readonly logger: Logger | undefined,
  ) {}

  /** Opens (or creates) the engine in `opts.dir`, replaying the WAL. Refuses a newer on-disk format. */
  static async open(opts: TsdbOptions): Promise<Tsdb> {
    await fsp.mkdir(opts.dir, { recursive: true });
    const existing = await readFormat(opts.dir);
    if (existing === undefined) await writeFormat(opts.dir);
    const wal = await Wal.open(path.join(opts.dir, 'wal'));
    const db = new Tsdb(opts.dir, opts.config, wal, opts.now ?? Date.now, opts.logger);
    const started = Date.now();
    let frames = 0;
    await wal.replay(0, (frame) => {
      frames++;
      decodeRecords(new ByteReader(frame.payload), db.replayVisitor());
    });
    opts.logger?.info({ dir: opts.dir, frames, series: db.seriesCount(), ms: Date.now() - started }, 'metrics storage opened');
    return db;
  }

  // ---- seams -------------------------------------------------------------------------------------------

  appender(tenant: TenantId): Appender<MetricRecord> {
    return new TsdbAppender(this, tenant, metricsLimitsFor(this.config, tenant), this.now());
  }

  async querier(tenants: readonly TenantId[], range: TimeRange): Promise<MetricQuerier> {
    return new TsdbQuerier(this, tenants, range);
  }

  async exemplars(
    tenants: readonly TenantId[],
    range: TimeRange,
    matcherSets: readonly (readonly LabelMatcher[])[],
  ): Promise<SeriesExemplars[]> {
    const q = new TsdbQuerier(this, tenants, range);
    const seen = new Set<string>();
    const out: SeriesExemplars[] = [];
    for (const matchers of matcherSets) {
      for await (const batch of q.select(matchers, { labelsOnly: true })) {
        for (const sd of batch) {
          const key = JSON.stringify(sd.labels);
          if (seen.has(key)) continue;
          seen.add(key);
          const s = this.findSeries(tenants, sd.labels);
          const ex = (s?.exemplars ?? []).filter((e) => e.timestampMs >= range.startMs && e.timestampMs <= range.endMs);
          if (ex.length > 0) out.push({ seriesLabels: sd.labels, exemplars: ex });
        }
      }
    }
    return out;
  }

  async metadata(tenants: readonly TenantId[], metric?: string, limit?: number): Promise<Map<string, MetricMetadata[]>> {
    const out = new Map<string, MetricMetadata[]>();
    for (const tenant of tenants) {
      const m = this.metadataByTenant.get(tenant);
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

  /** Stops accepting writes and waits for in-flight commits to become durable. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.wal.close();
  }

  /**
   * Drops data older than each tenant's `retention_period` relative to `nowMs` (0 keeps everything). Only
   * runs when called; nothing expires on open or append.
   */
  async applyRetention(nowMs: number): Promise<void> {
    for (const [tenant, index] of this.tenants) {
      const retention = metricsLimitsFor(this.config, tenant).retention_period;
      if (retention <= 0) continue;
      const cutoff = nowMs - retention;
      const dropped: MemSeries[] = [];
      for (const ref of index.select([])) {
        const s = this.series[ref];
        if (!s) continue;
        if (s.maxDataT < cutoff) {
          dropped.push(s);
          continue;
        }
        if (s.minDataT < cutoff) {
          s.dropBefore(cutoff);
          if (s.histTs && s.hists) {
            let i = 0;
            while (i < s.histTs.length && s.histTs[i]! < cutoff) i++;
            s.histTs.splice(0, i);
            s.hists.splice(0, i);
          }
          if (s.exemplars) s.exemplars = s.exemplars.filter((e) => e.timestampMs >= cutoff);
          s.minDataT = Math.min(s.n > 0 ? s.ts![0]! : Infinity, s.histTs?.[0] ?? Infinity);
        }
      }
      index.remove(dropped);
      for (const s of dropped) this.series[s.ref] = undefined;
      if (dropped.length > 0) this.logger?.info({ tenant, series: dropped.length }, 'retention dropped series');
    }
  }

  stats(): TsdbStats {
    let headSamples = 0;
    for (const s of this.series) if (s) headSamples += s.n;
    return { series: this.seriesCount(), tenants: this.tenants.size, headSamples, samplesCommitted: this.samplesCommitted };
  }

  // ---- AppenderHost ------------------------------------------------------------------------------------

  getOrCreateSeries(tenant: TenantId, labels: Labels, hash: number, limits: MetricsLimits): MemSeries | Rejection {
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
    const s = new MemSeries(this.nextRef++, tenant, labels, hash);
    this.series[s.ref] = s;
    index.add(s);
    return s;
  }

  writeFrame(payload: Buffer, apply: () => void): Promise<void> {
    if (this.closed) return Promise.reject(new RetryableStorageError('shutting_down', 'metrics storage is shutting down'));
    return this.wal.append(payload, apply);
  }

  setMetadata(tenant: string, metric: string, meta: MetricMetadata): void {
    let m = this.metadataByTenant.get(tenant);
    if (!m) this.metadataByTenant.set(tenant, (m = new Map()));
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

  noteCommitted(samples: number): void {
    this.samplesCommitted += samples;
  }

  // ---- QuerierHost -------------------------------------------------------------------------------------

  selectRefs(tenant: TenantId, matchers: readonly LabelMatcher[]): Uint32Array {
    const index = this.tenants.get(tenant);
    return index ? index.select(matchers) : new Uint32Array(0);
  }

  seriesByRef(ref: number): MemSeries | undefined {
    return this.series[ref];
  }

  labelNamesOf(tenant: TenantId): Iterable<string> {
    return this.tenants.get(tenant)?.names() ?? [];
  }

  labelValuesOf(tenant: TenantId, name: string): Iterable<string> {
    return this.tenants.get(tenant)?.values(name)?.keys() ?? [];
  }

  async loadSamples(series: readonly MemSeries[], range: TimeRange): Promise<SeriesSamples[]> {
    return series.map((s) => {
      const { ts, vs } = s.range(range.startMs, range.endMs);
      const out: SeriesSamples = { timestampsMs: ts, values: vs };
      if (s.histTs && s.hists && s.histTs.length > 0) {
        const hts: number[] = [];
        const hs = [];
        for (let i = 0; i < s.histTs.length; i++) {
          const t = s.histTs[i]!;
          if (t >= range.startMs && t <= range.endMs) {
            hts.push(t);
            hs.push(s.hists[i]!);
          }
        }
        if (hts.length > 0) {
          out.histogramTimestampsMs = Float64Array.from(hts);
          out.histograms = hs;
        }
      }
      return out;
    });
  }

  // ---- internals ---------------------------------------------------------------------------------------

  private seriesCount(): number {
    let n = 0;
    for (const idx of this.tenants.values()) n += idx.count;
    return n;
  }

  private findSeries(tenants: readonly TenantId[], labels: Labels): MemSeries | undefined {
    const tenant = tenants.length > 1 ? labels['__tenant_id__'] : tenants[0];
    if (tenant === undefined) return undefined;
    const index = this.tenants.get(tenant);
    if (!index) return undefined;
    const { ['__tenant_id__']: _t, ...rest } = labels;
    const plain = tenants.length > 1 ? rest : labels;
    const names = Object.keys(plain).sort();
    const sorted: Record<string, string> = {};
    for (const n of names) sorted[n] = plain[n]!;
    for (const ref of index.select(names.map((n) => ({ op: '=' as const, name: n, value: sorted[n]! })))) {
      const s = this.series[ref];
      if (s && Object.keys(s.labels).length === names.length) return s;
    }
    return undefined;
  }

  private replayVisitor(): RecordVisitor {
    return {
      series: (ref, tenant, labels) => {
        if (this.series[ref]) return;
        let index = this.tenants.get(tenant);
        if (!index) this.tenants.set(tenant, (index = new TenantIndex(tenant)));
        const names = Object.keys(labels);
        const s = new MemSeries(ref, tenant, labels, hashLabels(labels, names));
        s.walLogged = true;
        this.series[ref] = s;
        index.add(s);
        if (ref >= this.nextRef) this.nextRef = ref + 1;
      },
      samples: (refs, ts, vs) => {
        for (let i = 0; i < refs.length; i++) this.series[refs[i]!]?.insert(ts[i]!, vs[i]!);
      },
      exemplar: (ref, e) => this.series[ref]?.addExemplar(e),
      metadata: (tenant, metric, meta) => this.setMetadata(tenant, metric, meta),
      histogram: (ref, t, h) => this.series[ref]?.insertHistogram(t, h),
      seriesDropped: (ref) => {
        const s = this.series[ref];
        if (!s) return;
        this.tenants.get(s.tenant)?.remove([s]);
        this.series[ref] = undefined;
      },
    };
  }
}

function sameMeta(a: MetricMetadata, b: MetricMetadata): boolean {
  return a.type === b.type && a.help === b.help && a.unit === b.unit;
}
