import fsp from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from 'pino';
import { openFormatStamp } from '../columnar/index.ts';
import type { Exemplar, LabelMatcher, Labels, MetricMetadata, MetricRecord, Rejection, TenantId, TimeRange } from '../model/index.ts';
import { RetryableStorageError, diagnoseWriteFailure } from '../storage/index.ts';
import type { Appender, MetricQuerier, MetricsStorage, SeriesExemplars, StorageHealth, TenantLimits } from '../storage/index.ts';
import { TsdbAppender } from './appender.ts';
import type { AppenderHost } from './appender.ts';
import { compactBlocks } from './block-compaction.ts';
import { BlockStore, defaultDuckThreads } from './block-store.ts';
import type { BlockMeta } from './block-store.ts';
import { ByteReader, ByteWriter, Wal } from '../objstore/index.ts';
import { latestCheckpoint, readCheckpoint, removeCheckpointsBefore, writeCheckpoint } from './checkpoint.ts';
import { TSDB_FORMAT } from './format.ts';
import { ExemplarStore } from './exemplar-store.ts';
import type { TsdbTenantLimits } from './limits.ts';
import { Head } from './head.ts';
import { encodeHeadCheckpoint } from './head-checkpoint.ts';
import { cutHead, restoreCut } from './head-flush.ts';
import type { FrozenPart } from './head-flush.ts';
import type { MemSeries } from './mem-series.ts';
import { MetadataStore } from './metadata-store.ts';
import { TsdbQuerier } from './querier.ts';
import type { QuerierHost, SeriesSamples } from './querier.ts';
import { loadExemplars, loadSamples } from './sample-loader.ts';
import { decodeRecords, encodeSeriesDropped } from './wal-records.ts';
import type { RecordVisitor } from './wal-records.ts';

/** Options of {@link Tsdb.open}. */
export interface TsdbOptions {
  /** The engine's own directory (created if missing). */
  readonly dir: string;
  /** Each tenant's write limits and retention period. */
  readonly limits: TenantLimits<TsdbTenantLimits>;
  /**
   * Exemplars kept in memory, all series and tenants together (Prometheus' `storage.exemplars.max_exemplars`):
   * a circular buffer whose oldest exemplar is overwritten when it is full; 0 stores none.
   */
  readonly maxExemplars: number;
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
  /** The data directory's monitor: refuses writes while the directory is lost and classifies write failures. */
  readonly health?: StorageHealth;
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

/** The head is flushed when its data spans more than this (data time), keeping the newest hour in memory. */
const HEAD_SPAN_FLUSH_MS = 3 * 3_600_000;
const HEAD_KEEP_MS = 3_600_000;
/** Bytes a float sample costs in the head (two Float64Arrays), for the memory budget. */
const HEAD_BYTES_PER_SAMPLE = 16;

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
  private readonly head = new Head();
  private readonly meta = new MetadataStore();
  private readonly exemplarStore: ExemplarStore;
  private samplesCommitted = 0;
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
    private readonly limits: TenantLimits<TsdbTenantLimits>,
    private readonly wal: Wal,
    private readonly blocks: BlockStore,
    private readonly now: () => number,
    private readonly logger: Logger | undefined,
    memoryLimitBytes: number,
    private readonly health: StorageHealth | undefined,
    maxExemplars: number,
  ) {
    this.headLimitBytes = Math.max(16 * 1024 * 1024, Math.floor(memoryLimitBytes / 4));
    this.exemplarStore = new ExemplarStore(maxExemplars);
  }

  /** Opens (or creates) the engine in `opts.dir`, replaying checkpoint and WAL. Refuses a newer format. */
  static async open(opts: TsdbOptions): Promise<Tsdb> {
    await fsp.mkdir(opts.dir, { recursive: true });
    // Older formats are read as they are; the stamp moves up so an older build refuses what this one adds.
    await openFormatStamp(opts.dir, TSDB_FORMAT);
    const memoryLimitBytes = opts.memoryLimitBytes ?? 1024 ** 3;
    const blocks = await BlockStore.open(path.join(opts.dir, 'blocks'), {
      memoryLimitBytes: Math.floor(memoryLimitBytes / 2),
      threads: opts.threads && opts.threads > 0 ? opts.threads : defaultDuckThreads(),
      ...(opts.logger ? { logger: opts.logger } : {}),
    });
    const walDir = path.join(opts.dir, 'wal');
    const wal = await Wal.open(walDir);
    const db = new Tsdb(opts.dir, opts.limits, wal, blocks, opts.now ?? Date.now, opts.logger, memoryLimitBytes, opts.health, opts.maxExemplars);
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
    db.head.span();
    opts.logger?.info(
      { dir: opts.dir, checkpoint, frames, series: db.head.seriesCount(), blocks: blocks.list().length, ms: Date.now() - started },
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
    return new TsdbAppender(this, tenant, this.limits.forTenant(tenant), this.now());
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
    const selected: { labels: Labels; series: MemSeries }[] = [];
    for (const matchers of matcherSets) {
      for (const sel of q.collect(matchers)) {
        if (seen.has(sel.series)) continue;
        seen.add(sel.series);
        selected.push(sel);
      }
    }
    const stored = await loadExemplars(this.blocks, this.frozen, this.exemplarStore, selected.map((x) => x.series), range);
    const out: SeriesExemplars[] = [];
    selected.forEach(({ labels }, i) => {
      if (stored[i]!.length > 0) out.push({ seriesLabels: labels, exemplars: stored[i]! });
    });
    return out;
  }

  async metadata(tenants: readonly TenantId[], metric?: string, limit?: number): Promise<Map<string, MetricMetadata[]>> {
    return this.meta.query(tenants, metric, limit);
  }

  // ---- lifecycle and maintenance -----------------------------------------------------------------------

  /** Stops accepting writes, waits for in-flight commits and maintenance, and releases DuckDB. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    // Each maintenance job reported its error to its caller; closing only waits for them to end.
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
      const span = this.head.span();
      if (this.head.samples * HEAD_BYTES_PER_SAMPLE > this.headLimitBytes) {
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
      for (const [tenant, index] of this.head.tenants) {
        const retention = this.limits.forTenant(tenant).retention_period;
        if (retention <= 0) continue;
        const cutoff = nowMs - retention;
        for (const b of this.blocks.list()) if (b.tenant === tenant && b.maxT < cutoff) removed.push(b);
        const tenantDropped: MemSeries[] = [];
        for (const ref of index.select([])) {
          const s = this.head.series[ref];
          if (!s) continue;
          if (s.maxDataT < cutoff) {
            tenantDropped.push(s);
            continue;
          }
          this.exemplarStore.takeBefore(s.ref, cutoff);
          if (s.minDataT < cutoff) this.head.expire(s, cutoff);
        }
        for (const s of tenantDropped) this.exemplarStore.dropSeries(s.ref);
        this.head.dropSeries(tenant, tenantDropped);
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
      series: this.head.seriesCount(),
      tenants: this.head.tenants.size,
      headSamples: this.head.samples,
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
    return this.head.cachedSeries(tenant, labels);
  }

  cacheSeries(tenant: TenantId, labels: Labels, s: MemSeries): void {
    this.head.cacheSeries(tenant, labels, s);
  }

  getOrCreateSeries(tenant: TenantId, labels: Labels, hash: number, limits: TsdbTenantLimits): MemSeries | Rejection {
    return this.head.getOrCreateSeries(tenant, labels, hash, limits);
  }

  writeFrame(payload: Uint8Array, apply: () => void, onFailed: () => void): Promise<void> {
    const refusal = this.closed
      ? new RetryableStorageError('shutting_down', 'metrics storage is shutting down')
      : this.health?.writeRefusal();
    if (refusal) {
      onFailed();
      return Promise.reject(refusal);
    }
    return this.wal.append(payload, apply, onFailed).catch(async (err: unknown) => {
      throw await diagnoseWriteFailure(err, payload.length, this.health, this.dir);
    });
  }

  setMetadata(tenant: string, metric: string, meta: MetricMetadata): void {
    this.meta.set(tenant, metric, meta);
  }

  addExemplar(ref: number, e: Exemplar): void {
    this.exemplarStore.add(ref, e);
  }

  noteCommitted(samples: number): void {
    this.samplesCommitted += samples;
    this.head.samples += samples;
  }

  // ---- QuerierHost -------------------------------------------------------------------------------------

  selectRefs(tenant: TenantId, matchers: readonly LabelMatcher[]): Uint32Array {
    const index = this.head.tenants.get(tenant);
    return index ? index.select(matchers) : new Uint32Array(0);
  }

  seriesByRef(ref: number): MemSeries | undefined {
    return this.head.series[ref];
  }

  orderedSeries(tenant: TenantId): readonly MemSeries[] {
    return this.head.tenants.get(tenant)?.ordered() ?? [];
  }

  labelNamesOf(tenant: TenantId): Iterable<string> {
    return this.head.tenants.get(tenant)?.names() ?? [];
  }

  labelValuesOf(tenant: TenantId, name: string): Iterable<string> {
    return this.head.tenants.get(tenant)?.values(name)?.keys() ?? [];
  }

  loadSamples(series: readonly MemSeries[], range: TimeRange, signal?: AbortSignal): Promise<SeriesSamples[]> {
    return loadSamples(this.blocks, this.frozen, series, range, signal);
  }

  // ---- internals ---------------------------------------------------------------------------------------

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.maintenanceChain.then(() => {
      if (this.closed) throw new RetryableStorageError('shutting_down', 'metrics storage is shutting down');
      return fn();
    });
    // The job's own error reaches its caller through `run`; the chain only orders the jobs.
    this.maintenanceChain = run.catch(() => undefined);
    return run;
  }

  private async flushLocked(beforeMs: number): Promise<void> {
    if (this.closed) return;
    const started = Date.now();
    const segment = await this.wal.rotate();
    // Everything below `segment` is applied to the head. The cut is synchronous so the snapshot is
    // consistent; frames applied later are in segments ≥ `segment` and are replayed after the checkpoint.
    const cut = cutHead(this.head, this.exemplarStore, beforeMs);
    this.frozen = cut.frozen;
    const checkpoint = encodeHeadCheckpoint(this.head, this.exemplarStore, this.meta);
    const added: BlockMeta[] = [];
    let committed = false;
    try {
      for (const f of cut.floats) added.push(await this.blocks.writeFloats(f.tenant, f.dayStartMs, f.cols));
      for (const h of cut.histograms) added.push(await this.blocks.writeHistograms(h.tenant, h.dayStartMs, h.rows));
      for (const x of cut.exemplars) added.push(await this.blocks.writeExemplars(x.tenant, x.dayStartMs, x.rows));
      await this.blocks.commit(added, []);
      committed = true;
      await writeCheckpoint(this.wal.dir, segment, checkpoint);
      await this.wal.truncateBefore(segment);
      await removeCheckpointsBefore(this.wal.dir, segment);
      this.flushes++;
      this.logger?.info({ samples: cut.moved, blocks: added.length, segment, ms: Date.now() - started }, 'metrics head flushed');
    } catch (err) {
      // Put the samples back so nothing is lost from memory; the WAL still holds them.
      restoreCut(this.head, this.exemplarStore, cut);
      // Blocks written but not committed would hold on to disk space (the disk may be full) until restart.
      if (!committed) this.blocks.discard(added);
      throw err;
    } finally {
      this.frozen = null;
    }
  }

  private async compactLocked(force: boolean): Promise<void> {
    if (this.closed) return;
    this.compactions += await compactBlocks(this.blocks, this.head.span()?.minT ?? Infinity, force, this.logger);
  }

  private replayVisitor(): RecordVisitor {
    return {
      series: (ref, tenant, labels) => this.head.restoreSeries(ref, tenant, labels),
      seriesState: (ref, st) => {
        const s = this.head.series[ref];
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
        for (let i = 0; i < refs.length; i++) this.head.series[refs[i]!]?.insert(ts[i]!, vs[i]!);
      },
      exemplar: (ref, e) => {
        if (this.head.series[ref]) this.exemplarStore.add(ref, e);
      },
      metadata: (tenant, metric, meta) => this.meta.set(tenant, metric, meta),
      histogram: (ref, t, h) => this.head.series[ref]?.insertHistogram(t, h),
      seriesDropped: (ref) => {
        const s = this.head.series[ref];
        if (!s) return;
        this.exemplarStore.dropSeries(ref);
        this.head.dropSeries(s.tenant, [s]);
      },
    };
  }
}
