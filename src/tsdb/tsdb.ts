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
  NativeHistogram,
  Rejection,
  TenantId,
  TimeRange,
} from '../model/index.ts';
import { RetryableStorageError } from '../storage/index.ts';
import type { Appender, MetricQuerier, MetricsStorage, SeriesExemplars } from '../storage/index.ts';
import { TsdbAppender } from './appender.ts';
import type { AppenderHost } from './appender.ts';
import { BLOCK_DAY_MS, BlockStore, defaultDuckThreads } from './block-store.ts';
import type { BlockMeta, FloatColumns, HistogramRows, ReadPart } from './block-store.ts';
import { ByteReader, ByteWriter } from './byte-buffer.ts';
import { latestCheckpoint, readCheckpoint, removeCheckpointsBefore, writeCheckpoint } from './checkpoint.ts';
import { readFormat, writeFormat } from './format.ts';
import { MemSeries, lowerBound } from './mem-series.ts';
import { SampleArena } from './sample-arena.ts';
import { TsdbQuerier } from './querier.ts';
import type { QuerierHost, SeriesSamples } from './querier.ts';
import { TenantIndex, hashLabels } from './series-index.ts';
import { Wal } from './wal.ts';
import {
  decodeRecords,
  encodeExemplar,
  encodeHistogram,
  encodeMetadata,
  encodeSamples,
  encodeSeries,
  encodeSeriesDropped,
  encodeSeriesState,
} from './wal-records.ts';
import type { RecordVisitor } from './wal-records.ts';

/** Options of {@link Tsdb.open}. */
export interface TsdbOptions {
  /** The engine's own directory (created if missing). */
  readonly dir: string;
  readonly config: MetricsConfig;
  /**
   * Memory budget of the engine's buffers: the in-memory head is flushed to blocks when it holds more than a
   * quarter of it, and DuckDB (block writes, compaction, block reads) gets half of it. Default 1 GiB.
   */
  readonly memoryLimitBytes?: number;
  /** DuckDB worker threads (default: cores − 1, at most 4). */
  readonly threads?: number;
  readonly logger?: Logger;
  /** Clock for validation (tests); defaults to `Date.now`. */
  readonly now?: () => number;
  /** How often background maintenance (head flush, compaction) runs; 0 disables it. Default 30 s. */
  readonly maintenanceIntervalMs?: number;
}

/** Counters and gauges the benchmark and self-metrics read. */
export interface TsdbStats {
  readonly series: number;
  readonly tenants: number;
  /** Float samples held in memory (not yet in blocks). */
  readonly headSamples: number;
  readonly samplesCommitted: number;
  readonly blocks: number;
  readonly blockBytes: number;
  readonly blockFloatSamples: number;
  readonly flushes: number;
  readonly compactions: number;
}

/** Distinct metadata entries kept per metric (Prometheus returns a list per metric). */
const MAX_METADATA_PER_METRIC = 4;
/** The head is flushed when its data spans more than this (data time), keeping the newest hour in memory. */
const HEAD_SPAN_FLUSH_MS = 3 * 3_600_000;
const HEAD_KEEP_MS = 3_600_000;
/** Bytes a float sample costs in the head (two Float64Arrays), for the memory budget. */
const HEAD_BYTES_PER_SAMPLE = 16;
/** L0 blocks of one day merged once this many exist even if the day is still open. */
const MAX_L0_PER_DAY = 6;
/** Decoder label objects remembered per tenant (see `TenantIndex.labelCache`). */
const LABEL_CACHE_ENTRIES = 65_536;
/** Samples per checkpoint frame. */
const CHECKPOINT_SAMPLES_PER_FRAME = 262_144;

/** Flushed samples kept visible to queries until the manifest lists their blocks. */
interface FrozenPart {
  ts?: Float64Array;
  vs?: Float64Array;
  hts?: number[];
  hs?: NativeHistogram[];
}

/** Column builder for one tenant-day of a flush. */
class FloatBuilder implements FloatColumns {
  refs = new Uint32Array(1024);
  ts = new Float64Array(1024);
  vs = new Float64Array(1024);
  n = 0;

  add(ref: number, ts: Float64Array, vs: Float64Array, from: number, to: number): void {
    const need = this.n + (to - from);
    if (need > this.ts.length) {
      let cap = this.ts.length * 2;
      while (cap < need) cap *= 2;
      const refs = new Uint32Array(cap);
      refs.set(this.refs.subarray(0, this.n));
      const t = new Float64Array(cap);
      t.set(this.ts.subarray(0, this.n));
      const v = new Float64Array(cap);
      v.set(this.vs.subarray(0, this.n));
      this.refs = refs;
      this.ts = t;
      this.vs = v;
    }
    this.refs.fill(ref, this.n, need);
    this.ts.set(ts.subarray(from, to), this.n);
    this.vs.set(vs.subarray(from, to), this.n);
    this.n = need;
  }
}

/**
 * The embedded metrics engine: a write-ahead log, an in-memory head with a per-tenant inverted index, and
 * immutable Parquet blocks (one UTC day per tenant, sorted by series then time) written by DuckDB.
 * Implements every metrics seam.
 *
 * Durability: a commit resolves after its WAL frame is fsynced. The head is flushed into blocks when it
 * grows past its memory budget or spans more than 3 h; a checkpoint then replaces the WAL segments that
 * the flush covered. Open replays checkpoint + WAL without operator action.
 *
 * Contract: open once per directory (two processes on one directory corrupt it); all methods may be called
 * concurrently from the event loop; `close` waits for in-flight commits and maintenance.
 */
export class Tsdb implements MetricsStorage, AppenderHost, QuerierHost {
  private readonly series: (MemSeries | undefined)[] = [];
  private readonly arena = new SampleArena();
  private nextRef = 1;
  private readonly tenants = new Map<string, TenantIndex>();
  private readonly metadataByTenant = new Map<string, Map<string, MetricMetadata[]>>();
  private samplesCommitted = 0;
  private headSamples = 0;
  private flushes = 0;
  private compactions = 0;
  private closed = false;
  private frozen: Map<number, FrozenPart> | null = null;
  /** Serialises flushes, compactions and retention. */
  private maintenanceChain: Promise<unknown> = Promise.resolve();
  private timer: NodeJS.Timeout | undefined;
  private readonly headLimitBytes: number;

  private constructor(
    readonly dir: string,
    private readonly config: MetricsConfig,
    private readonly wal: Wal,
    private readonly blocks: BlockStore,
    private readonly now: () => number,
    private readonly logger: Logger | undefined,
    memoryLimitBytes: number,
  ) {
    this.headLimitBytes = Math.max(16 * 1024 * 1024, Math.floor(memoryLimitBytes / 4));
  }

  /** Opens (or creates) the engine in `opts.dir`, replaying checkpoint and WAL. Refuses a newer format. */
  static async open(opts: TsdbOptions): Promise<Tsdb> {
    await fsp.mkdir(opts.dir, { recursive: true });
    const existing = await readFormat(opts.dir);
    if (existing === undefined) await writeFormat(opts.dir);
    const memoryLimitBytes = opts.memoryLimitBytes ?? 1024 ** 3;
    const blocks = await BlockStore.open(path.join(opts.dir, 'blocks'), {
      memoryLimitBytes: Math.floor(memoryLimitBytes / 2),
      threads: opts.threads && opts.threads > 0 ? opts.threads : defaultDuckThreads(),
      ...(opts.logger ? { logger: opts.logger } : {}),
    });
    const walDir = path.join(opts.dir, 'wal');
    const wal = await Wal.open(walDir);
    const db = new Tsdb(opts.dir, opts.config, wal, blocks, opts.now ?? Date.now, opts.logger, memoryLimitBytes);
    const started = Date.now();
    const visitor = db.replayVisitor();
    const checkpoint = await latestCheckpoint(walDir);
    if (checkpoint > 0) {
      await readCheckpoint(walDir, checkpoint, (payload) => decodeRecords(new ByteReader(payload), visitor));
    }
    let frames = 0;
    await wal.replay(checkpoint, (frame) => {
      frames++;
      decodeRecords(new ByteReader(frame.payload), visitor);
    });
    await wal.truncateBefore(checkpoint);
    await removeCheckpointsBefore(walDir, checkpoint);
    db.headSamples = 0;
    for (const s of db.series) if (s) db.headSamples += s.n;
    opts.logger?.info(
      { dir: opts.dir, checkpoint, frames, series: db.seriesCount(), blocks: blocks.list().length, ms: Date.now() - started },
      'metrics storage opened',
    );
    const interval = opts.maintenanceIntervalMs ?? 30_000;
    if (interval > 0) {
      db.timer = setInterval(() => {
        db.maintain().catch((err: unknown) => db.logger?.error({ err }, 'metrics storage maintenance failed'));
      }, interval);
      db.timer.unref();
    }
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
    const q = new TsdbQuerier(this, tenants, { startMs: -Infinity, endMs: Infinity });
    const seen = new Set<MemSeries>();
    const out: SeriesExemplars[] = [];
    for (const matchers of matcherSets) {
      for (const { labels, series } of q.collect(matchers)) {
        if (seen.has(series)) continue;
        seen.add(series);
        const ex = (series.exemplars ?? []).filter((e) => e.timestampMs >= range.startMs && e.timestampMs <= range.endMs);
        if (ex.length > 0) out.push({ seriesLabels: labels, exemplars: ex });
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

  // ---- lifecycle and maintenance -----------------------------------------------------------------------

  /** Stops accepting writes, waits for in-flight commits and maintenance, and releases DuckDB. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    await this.maintenanceChain.catch(() => undefined);
    await this.wal.close();
    await this.blocks.close();
  }

  /**
   * One round of background work: flushes the head if it is over its memory budget or spans more than
   * 3 h of data, and merges a day's blocks once the day is complete (or has many small blocks).
   */
  maintain(): Promise<void> {
    return this.serial(async () => {
      const span = this.headSpan();
      this.headSamples = span?.samples ?? 0;
      if (this.headSamples * HEAD_BYTES_PER_SAMPLE > this.headLimitBytes) {
        await this.flushLocked(Infinity);
      } else if (span && span.maxT - span.minT > HEAD_SPAN_FLUSH_MS) {
        await this.flushLocked(span.maxT - HEAD_KEEP_MS);
      }
      await this.compactLocked(false);
    });
  }

  /**
   * Moves head samples older than `beforeMs` (all of them by default) into blocks and checkpoints the WAL.
   * Data stays queryable throughout.
   */
  flush(beforeMs = Infinity): Promise<void> {
    return this.serial(() => this.flushLocked(beforeMs));
  }

  /**
   * Merges each tenant-day's blocks into one block sorted by series and time. With `force` every day with
   * more than one block is merged; otherwise only complete days or days with many small blocks.
   */
  compact(force = true): Promise<void> {
    return this.serial(() => this.compactLocked(force));
  }

  /**
   * Drops data older than each tenant's `retention_period` relative to `nowMs` (0 keeps everything): whole
   * day blocks, head samples, and series left without data. Only runs when called; nothing expires on open
   * or append.
   */
  applyRetention(nowMs: number): Promise<void> {
    return this.serial(async () => {
      const removed: BlockMeta[] = [];
      const dropped: MemSeries[] = [];
      for (const [tenant, index] of this.tenants) {
        const retention = metricsLimitsFor(this.config, tenant).retention_period;
        if (retention <= 0) continue;
        const cutoff = nowMs - retention;
        for (const b of this.blocks.list()) if (b.tenant === tenant && b.maxT < cutoff) removed.push(b);
        const tenantDropped: MemSeries[] = [];
        for (const ref of index.select([])) {
          const s = this.series[ref];
          if (!s) continue;
          if (s.maxDataT < cutoff) {
            tenantDropped.push(s);
            continue;
          }
          if (s.minDataT < cutoff) this.expireHead(s, cutoff);
        }
        index.remove(tenantDropped);
        for (const s of tenantDropped) {
          this.series[s.ref] = undefined;
          this.headSamples -= s.n;
          s.releaseAll();
        }
        dropped.push(...tenantDropped);
        if (tenantDropped.length > 0) this.logger?.info({ tenant, series: tenantDropped.length }, 'retention dropped series');
      }
      if (dropped.length > 0) {
        const w = new ByteWriter(16 + dropped.length * 6);
        for (const s of dropped) encodeSeriesDropped(w, s.ref);
        await this.wal.append(w.toBuffer(), () => undefined);
      }
      if (removed.length > 0) {
        await this.blocks.commit([], removed);
        this.logger?.info({ blocks: removed.length }, 'retention dropped blocks');
      }
    });
  }

  stats(): TsdbStats {
    return {
      series: this.seriesCount(),
      tenants: this.tenants.size,
      headSamples: this.headSamples,
      samplesCommitted: this.samplesCommitted,
      blocks: this.blocks.list().length,
      blockBytes: this.blocks.totalBytes(),
      blockFloatSamples: this.blocks.totalRows('floats'),
      flushes: this.flushes,
      compactions: this.compactions,
    };
  }

  // ---- AppenderHost ------------------------------------------------------------------------------------

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
    const s = new MemSeries(this.nextRef++, tenant, index.canonical(labels), hash, this.arena);
    this.series[s.ref] = s;
    index.add(s);
    return s;
  }

  writeFrame(payload: Uint8Array, apply: () => void): Promise<void> {
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
    this.headSamples += samples;
  }

  // ---- QuerierHost -------------------------------------------------------------------------------------

  selectRefs(tenant: TenantId, matchers: readonly LabelMatcher[]): Uint32Array {
    const index = this.tenants.get(tenant);
    return index ? index.select(matchers) : new Uint32Array(0);
  }

  seriesByRef(ref: number): MemSeries | undefined {
    return this.series[ref];
  }

  orderedSeries(tenant: TenantId): readonly MemSeries[] {
    return this.tenants.get(tenant)?.ordered() ?? [];
  }

  labelNamesOf(tenant: TenantId): Iterable<string> {
    return this.tenants.get(tenant)?.names() ?? [];
  }

  labelValuesOf(tenant: TenantId, name: string): Iterable<string> {
    return this.tenants.get(tenant)?.values(name)?.keys() ?? [];
  }

  async loadSamples(series: readonly MemSeries[], range: TimeRange, signal?: AbortSignal): Promise<SeriesSamples[]> {
    const { startMs, endMs } = range;
    const parts = new Map<number, ReadPart[]>();
    const histParts = new Map<number, { ts: number[]; hs: NativeHistogram[] }[]>();
    // Blocks first (oldest source), grouped by tenant.
    const byTenant = new Map<string, MemSeries[]>();
    for (const s of series) {
      if (s.minDataT > endMs || s.maxDataT < startMs) continue;
      const list = byTenant.get(s.tenant);
      if (list) list.push(s);
      else byTenant.set(s.tenant, [s]);
    }
    for (const [tenant, list] of byTenant) {
      const floatBlocks = this.blocks.select(tenant, 'floats', startMs, endMs);
      const histBlocks = this.blocks.select(tenant, 'histograms', startMs, endMs);
      if (floatBlocks.length === 0 && histBlocks.length === 0) continue;
      const refs = Uint32Array.from(list.map((s) => s.ref)).sort();
      const all = [...floatBlocks, ...histBlocks];
      this.blocks.acquire(all);
      try {
        await this.blocks.readFloats(floatBlocks, refs, startMs, endMs, (ref, part) => {
          const l = parts.get(ref);
          if (l) l.push(part);
          else parts.set(ref, [part]);
        }, signal);
        await this.blocks.readHistograms(histBlocks, refs, startMs, endMs, (ref, t, h) => {
          let l = histParts.get(ref);
          if (!l) histParts.set(ref, (l = []));
          let last = l[l.length - 1];
          if (!last) l.push((last = { ts: [], hs: [] }));
          last.ts.push(t);
          last.hs.push(h);
        });
      } finally {
        this.blocks.release(all);
      }
    }
    // Series whose samples are all in the head (the common case for recent data) are copied into two
    // arrays shared by the batch: one allocation per batch instead of two per series.
    const simple = series.map((s) => !parts.has(s.ref) && !histParts.has(s.ref) && !this.frozen?.has(s.ref) && s.histTs === null);
    const lo = new Uint32Array(series.length);
    const hi = new Uint32Array(series.length);
    let total = 0;
    for (let i = 0; i < series.length; i++) {
      if (!simple[i]) continue;
      const s = series[i]!;
      lo[i] = s.lowerIndex(startMs);
      hi[i] = Math.max(lo[i]!, s.upperIndex(endMs));
      total += hi[i]! - lo[i]!;
    }
    const batchTs = new Float64Array(total);
    const batchVs = new Float64Array(total);
    let at = 0;
    return series.map((s, i) => {
      if (simple[i]) {
        const n = hi[i]! - lo[i]!;
        s.copyTo(lo[i]!, hi[i]!, batchTs, batchVs, at);
        const out: SeriesSamples = { timestampsMs: batchTs.subarray(at, at + n), values: batchVs.subarray(at, at + n) };
        at += n;
        return out;
      }
      const list = parts.get(s.ref) ?? [];
      const hlist = histParts.get(s.ref) ?? [];
      const fz = this.frozen?.get(s.ref);
      if (fz?.ts && fz.vs) list.push(sliceRange(fz.ts, fz.vs, fz.ts.length, startMs, endMs));
      if (fz?.hts && fz.hs) hlist.push(sliceHist(fz.hts, fz.hs, startMs, endMs));
      if (s.n > 0) {
        const { ts, vs } = s.range(startMs, endMs);
        list.push({ ts, vs });
      }
      if (s.histTs && s.hists && s.histTs.length > 0) hlist.push(sliceHist(s.histTs, s.hists, startMs, endMs));
      const merged = mergeParts(list);
      const out: SeriesSamples = { timestampsMs: merged.ts, values: merged.vs };
      const hm = mergeHistParts(hlist);
      if (hm.ts.length > 0) {
        out.histogramTimestampsMs = Float64Array.from(hm.ts);
        out.histograms = hm.hs;
      }
      return out;
    });
  }

  // ---- internals ---------------------------------------------------------------------------------------

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.maintenanceChain.then(() => {
      if (this.closed) throw new RetryableStorageError('shutting_down', 'metrics storage is shutting down');
      return fn();
    });
    this.maintenanceChain = run.catch(() => undefined);
    return run;
  }

  private seriesCount(): number {
    let n = 0;
    for (const idx of this.tenants.values()) n += idx.count;
    return n;
  }

  /** Oldest and newest head sample over all series, or undefined when the head is empty. */
  private headSpan(): { minT: number; maxT: number; samples: number } | undefined {
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
    return minT <= maxT ? { minT, maxT, samples } : undefined;
  }

  private expireHead(s: MemSeries, cutoff: number): void {
    const before = s.n;
    s.dropBefore(cutoff);
    this.headSamples -= before - s.n;
    if (s.histTs && s.hists) {
      let i = 0;
      while (i < s.histTs.length && s.histTs[i]! < cutoff) i++;
      s.histTs.splice(0, i);
      s.hists.splice(0, i);
    }
    if (s.exemplars) s.exemplars = s.exemplars.filter((e) => e.timestampMs >= cutoff);
    s.minDataT = Math.max(s.minDataT, cutoff);
  }

  private async flushLocked(beforeMs: number): Promise<void> {
    if (this.closed) return;
    const started = Date.now();
    const segment = await this.wal.rotate();
    // Everything below `segment` is applied to the head. Split the head synchronously so the snapshot is
    // consistent; frames applied later are in segments ≥ `segment` and are replayed after the checkpoint.
    const frozen = new Map<number, FrozenPart>();
    const floatBuilders = new Map<string, FloatBuilder>();
    const histBuilders = new Map<string, HistogramRows>();
    const key = (tenant: string, day: number): string => `${day}\u0000${tenant}`;
    let moved = 0;
    for (const s of this.series) {
      if (!s) continue;
      if (s.n > 0 && s.firstT() < beforeMs) {
        const cut = beforeMs === Infinity ? s.n : lowerBound(s.timestamps(), s.n, beforeMs);
        const ts = s.timestamps().slice(0, cut);
        const vs = s.values().slice(0, cut);
        frozen.set(s.ref, { ts, vs });
        let from = 0;
        while (from < cut) {
          const day = Math.floor(ts[from]! / BLOCK_DAY_MS) * BLOCK_DAY_MS;
          const to = Math.min(cut, lowerBound(ts, cut, day + BLOCK_DAY_MS));
          const k = key(s.tenant, day);
          let b = floatBuilders.get(k);
          if (!b) floatBuilders.set(k, (b = new FloatBuilder()));
          b.add(s.ref, ts, vs, from, to);
          from = to;
        }
        s.dropBefore(beforeMs);
        moved += cut;
      }
      if (s.histTs && s.hists && s.histTs.length > 0 && s.histTs[0]! < beforeMs) {
        let cut = 0;
        while (cut < s.histTs.length && s.histTs[cut]! < beforeMs) cut++;
        const hts = s.histTs.splice(0, cut);
        const hs = s.hists.splice(0, cut);
        const fz = frozen.get(s.ref) ?? {};
        fz.hts = hts;
        fz.hs = hs;
        frozen.set(s.ref, fz);
        for (let i = 0; i < hts.length; i++) {
          const k = key(s.tenant, Math.floor(hts[i]! / BLOCK_DAY_MS) * BLOCK_DAY_MS);
          let rows = histBuilders.get(k);
          if (!rows) histBuilders.set(k, (rows = { refs: [], ts: [], hs: [] }));
          rows.refs.push(s.ref);
          rows.ts.push(hts[i]!);
          rows.hs.push(hs[i]!);
        }
      }
    }
    this.headSamples -= moved;
    this.frozen = frozen;
    const checkpoint = this.encodeCheckpoint();
    try {
      const added: BlockMeta[] = [];
      for (const [k, cols] of floatBuilders) {
        const [day, tenant] = splitKey(k);
        added.push(await this.blocks.writeFloats(tenant, day, cols));
      }
      for (const [k, rows] of histBuilders) {
        const [day, tenant] = splitKey(k);
        added.push(await this.blocks.writeHistograms(tenant, day, rows));
      }
      await this.blocks.commit(added, []);
      await writeCheckpoint(this.wal.dir, segment, checkpoint);
      await this.wal.truncateBefore(segment);
      await removeCheckpointsBefore(this.wal.dir, segment);
      this.flushes++;
      this.logger?.info({ samples: moved, blocks: added.length, segment, ms: Date.now() - started }, 'metrics head flushed');
    } catch (err) {
      // Put the samples back so nothing is lost from memory; the WAL still holds them.
      for (const [ref, fz] of frozen) {
        const s = this.series[ref];
        if (!s) continue;
        if (fz.ts && fz.vs) for (let i = 0; i < fz.ts.length; i++) s.insert(fz.ts[i]!, fz.vs[i]!);
        if (fz.hts && fz.hs) for (let i = 0; i < fz.hts.length; i++) s.insertHistogram(fz.hts[i]!, fz.hs[i]!);
      }
      this.headSamples += moved;
      throw err;
    } finally {
      this.frozen = null;
    }
  }

  /** Serialises what the checkpoint must hold: every series with its state, head data, exemplars, metadata. */
  private encodeCheckpoint(): Buffer[] {
    const frames: Buffer[] = [];
    let w = new ByteWriter(1 << 20);
    const cut = (): void => {
      if (w.length > 8 << 20) {
        frames.push(w.toBuffer());
        w = new ByteWriter(1 << 20);
      }
    };
    for (const s of this.series) {
      if (!s) continue;
      encodeSeries(w, s.ref, s.tenant, s.labels);
      encodeSeriesState(w, s.ref, s);
      cut();
    }
    // Head samples in frames of bounded size.
    let refs = new Uint32Array(CHECKPOINT_SAMPLES_PER_FRAME);
    let ts = new Float64Array(CHECKPOINT_SAMPLES_PER_FRAME);
    let vs = new Float64Array(CHECKPOINT_SAMPLES_PER_FRAME);
    let n = 0;
    const drain = (): void => {
      if (n === 0) return;
      encodeSamples(w, refs, ts, vs, n);
      n = 0;
      cut();
    };
    for (const s of this.series) {
      if (!s || s.n === 0) continue;
      const sts = s.timestamps();
      const svs = s.values();
      for (let i = 0; i < s.n; i++) {
        refs[n] = s.ref;
        ts[n] = sts[i]!;
        vs[n] = svs[i]!;
        if (++n === CHECKPOINT_SAMPLES_PER_FRAME) drain();
      }
    }
    drain();
    refs = new Uint32Array(0);
    ts = new Float64Array(0);
    vs = new Float64Array(0);
    for (const s of this.series) {
      if (!s) continue;
      if (s.histTs && s.hists) for (let i = 0; i < s.histTs.length; i++) encodeHistogram(w, s.ref, s.histTs[i]!, s.hists[i]!);
      if (s.exemplars) for (const e of s.exemplars) encodeExemplar(w, s.ref, e);
      cut();
    }
    for (const [tenant, m] of this.metadataByTenant) {
      for (const [metric, metas] of m) for (const meta of metas) encodeMetadata(w, tenant, metric, meta);
    }
    if (w.length > 0) frames.push(w.toBuffer());
    return frames;
  }

  private async compactLocked(force: boolean): Promise<void> {
    if (this.closed) return;
    const groups = new Map<string, BlockMeta[]>();
    for (const b of this.blocks.list()) {
      const k = `${b.tenant}\u0000${b.kind}\u0000${b.dayStartMs}`;
      const g = groups.get(k);
      if (g) g.push(b);
      else groups.set(k, [b]);
    }
    const span = this.headSpan();
    for (const g of groups.values()) {
      if (g.length < 2) continue;
      const dayEnd = g[0]!.dayStartMs + BLOCK_DAY_MS;
      // A day is complete once the head no longer holds data for it.
      const complete = span === undefined || span.minT >= dayEnd;
      if (!force && !complete && g.length < MAX_L0_PER_DAY) continue;
      const started = Date.now();
      const merged = await this.blocks.merge(g);
      await this.blocks.commit([merged], g);
      this.compactions++;
      this.logger?.info(
        { tenant: g[0]!.tenant, kind: g[0]!.kind, day: new Date(g[0]!.dayStartMs).toISOString().slice(0, 10), inputs: g.length, bytes: merged.bytes, ms: Date.now() - started },
        'metrics blocks compacted',
      );
    }
  }

  private replayVisitor(): RecordVisitor {
    return {
      series: (ref, tenant, labels) => {
        if (this.series[ref]) return;
        let index = this.tenants.get(tenant);
        if (!index) this.tenants.set(tenant, (index = new TenantIndex(tenant)));
        const s = new MemSeries(ref, tenant, index.canonical(labels), hashLabels(labels, Object.keys(labels)), this.arena);
        s.walLogged = true;
        this.series[ref] = s;
        index.add(s);
        if (ref >= this.nextRef) this.nextRef = ref + 1;
      },
      seriesState: (ref, st) => {
        const s = this.series[ref];
        if (!s) return;
        if (st.maxT > s.maxT || (st.maxT === s.maxT && s.n === 0)) {
          s.maxT = st.maxT;
          s.lastValue = st.lastValue;
        }
        s.maxHistT = Math.max(s.maxHistT, st.maxHistT);
        s.minDataT = Math.min(s.minDataT, st.minDataT);
        s.maxDataT = Math.max(s.maxDataT, st.maxDataT);
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
        s.releaseAll();
      },
    };
  }
}

function splitKey(k: string): [number, string] {
  const i = k.indexOf('\u0000');
  return [Number(k.slice(0, i)), k.slice(i + 1)];
}

function sameMeta(a: MetricMetadata, b: MetricMetadata): boolean {
  return a.type === b.type && a.help === b.help && a.unit === b.unit;
}

function sliceRange(ts: Float64Array, vs: Float64Array, n: number, minT: number, maxT: number): ReadPart {
  const lo = lowerBound(ts, n, minT);
  let hi = lo;
  while (hi < n && ts[hi]! <= maxT) hi++;
  return { ts: ts.subarray(lo, hi), vs: vs.subarray(lo, hi) };
}

function sliceHist(ts: number[], hs: NativeHistogram[], minT: number, maxT: number): { ts: number[]; hs: NativeHistogram[] } {
  const out = { ts: [] as number[], hs: [] as NativeHistogram[] };
  for (let i = 0; i < ts.length; i++) {
    if (ts[i]! >= minT && ts[i]! <= maxT) {
      out.ts.push(ts[i]!);
      out.hs.push(hs[i]!);
    }
  }
  return out;
}

const EMPTY = new Float64Array(0);

/**
 * Merges sorted parts (oldest source first) into one ascending run. On equal timestamps the later part
 * wins, so the head overrides blocks.
 */
export function mergeParts(parts: readonly ReadPart[]): { ts: Float64Array; vs: Float64Array } {
  const nonEmpty = parts.filter((p) => p.ts.length > 0);
  if (nonEmpty.length === 0) return { ts: EMPTY, vs: EMPTY };
  // Parts are fresh copies (head ranges, block reads) or frozen flush snapshots, never mutated afterwards.
  if (nonEmpty.length === 1) return { ts: nonEmpty[0]!.ts, vs: nonEmpty[0]!.vs };
  let total = 0;
  let ordered = true;
  let last = -Infinity;
  for (const p of nonEmpty) {
    total += p.ts.length;
    if (p.ts[0]! <= last) ordered = false;
    last = p.ts[p.ts.length - 1]!;
  }
  const ts = new Float64Array(total);
  const vs = new Float64Array(total);
  if (ordered) {
    let pos = 0;
    for (const p of nonEmpty) {
      ts.set(p.ts, pos);
      vs.set(p.vs, pos);
      pos += p.ts.length;
    }
    return { ts, vs };
  }
  // Overlapping sources (late samples, a flush racing a query): sort by (time, source), keep the last.
  const idx: [number, number, number][] = [];
  nonEmpty.forEach((p, pi) => {
    for (let i = 0; i < p.ts.length; i++) idx.push([p.ts[i]!, pi, i]);
  });
  idx.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  let n = 0;
  for (let k = 0; k < idx.length; k++) {
    const [t, pi, i] = idx[k]!;
    if (k + 1 < idx.length && idx[k + 1]![0] === t) continue;
    ts[n] = t;
    vs[n] = nonEmpty[pi]!.vs[i]!;
    n++;
  }
  return { ts: ts.slice(0, n), vs: vs.slice(0, n) };
}

function mergeHistParts(parts: readonly { ts: number[]; hs: NativeHistogram[] }[]): { ts: number[]; hs: NativeHistogram[] } {
  const byT = new Map<number, NativeHistogram>();
  for (const p of parts) for (let i = 0; i < p.ts.length; i++) byT.set(p.ts[i]!, p.hs[i]!);
  const ts = [...byT.keys()].sort((a, b) => a - b);
  return { ts, hs: ts.map((t) => byT.get(t)!) };
}
