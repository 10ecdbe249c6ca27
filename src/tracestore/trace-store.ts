import os from 'node:os';
import path from 'node:path';
import type { DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';
import type { Logger } from 'pino';
import { BlockCatalog, ColumnarDatabase, SerialJobs, quoteString } from '../columnar/index.ts';
import type { SpanRecord, TenantId } from '../model/index.ts';
import { LocalBucket, Wal, directoryBytes, tenantKey } from '../objstore/index.ts';
import { RetryableStorageError, diagnoseWriteFailure } from '../storage/index.ts';
import type { Appender, StorageHealth, StoredSpan, TenantLimits, TraceQuerier, TracesStorage } from '../storage/index.ts';
import { TraceAppender } from './appender.ts';
import { BlockIndexCache, listKeysJson, parseListKeys } from './block-index-cache.ts';
import { BlockSource } from './block-source.ts';
import type { BlockReadStats } from './block-source.ts';
import { BlockWriter, removeBlockFiles } from './block-writer.ts';
import type { BlockTarget } from './block-writer.ts';
import type { BlockInfo, RowGroupRange } from './catalog.ts';
import { nextMerge } from './compaction-plan.ts';
import { DATABASE_NAME, FORMAT_VERSION } from './format.ts';
import { Head } from './head.ts';
import type { TraceStoreSettings, TraceStoreTenantLimits } from './limits.ts';
import { HeadSource } from './head-source.ts';
import { TraceStoreQuerier } from './querier.ts';
import type { SpanSource } from './span-source.ts';
import { decodeWalBatch, encodeWalBatch, isJsonWalFrame } from './wal-codec.ts';

export interface TraceStoreOptions {
  /** The store's directory: `wal/` (segments), `traces.duckdb` (catalog) and `blocks/`. */
  readonly dir: string;
  /** Each tenant's retention. */
  readonly limits: TenantLimits<TraceStoreTenantLimits>;
  readonly settings: TraceStoreSettings;
  /** DuckDB's memory limit (block cuts and block reads); spills to `<dir>/tmp` beyond it. Default 1 GiB. */
  readonly memoryLimitBytes?: number;
  /** DuckDB worker threads; 0 or undefined means one per core. */
  readonly threads?: number;
  readonly logger?: Logger;
  /** The data directory's monitor: refuses writes while the directory is lost and classifies write failures. */
  readonly health?: StorageHealth;
  /**
   * Background work: cutting complete traces into blocks and periodic retention (`config.store.*`).
   * Default true; tests that drive `flush()`/`applyRetention()` themselves turn it off.
   */
  readonly background?: boolean;
}

/** Spans a merged block holds at most unless `settings.compactionTargetSpans` says otherwise. */
const DEFAULT_COMPACTION_TARGET_SPANS = 1_000_000;

/**
 * The head's byte estimate per byte of binary WAL frame. `head_max_bytes` bounds memory and was measured in
 * format 3's JSON frames, which are about six times the binary ones for typical spans (the bench corpus: 6.4×); the
 * spans' objects in memory are closer to the JSON's size, so the bound keeps its meaning.
 */
const HEAD_BYTES_PER_WAL_BYTE = 6;

/** One trace picked by a cut: its id and the spans the block takes (the first `spans.length` of the live trace). */
interface CutTrace {
  readonly tenant: TenantId;
  readonly traceId: string;
  readonly spans: readonly StoredSpan[];
}

/**
 * The embedded trace engine (Heimdall's Tempo storage).
 *
 * Writes: a commit is one WAL frame (docs/formats/tracestore.md); it resolves once the frame is fsynced,
 * and the spans are in the in-memory head (grouped by tenant and trace id) at that moment, so they are
 * queryable at once. Opening replays the WAL into the head (a torn tail, which no commit acknowledged, is cut).
 *
 * Cuts: complete traces (idle for `trace_idle_period`, older than `max_block_duration`, or the oldest ones
 * when the head passes `head_max_bytes`) are written into one Parquet block per tenant and window, with a
 * trace-id bloom filter; both files are durable and the block is in the catalog (`trace_blocks`) before
 * the spans leave the head, and the WAL is truncated only below the oldest segment the head still needs.
 * Reads merge head and blocks (a reader's catalog version keeps its view consistent while cuts run).
 *
 * Contract: one `TraceStore` per directory and process. Appenders and queriers may be used concurrently;
 * commits are group-committed by the WAL; cuts, merges (compaction) and retention run one at a time. `close` waits for queued
 * writes and a running cut, then closes.
 */
export class TraceStore implements TracesStorage {
  readonly dir: string;
  private readonly head = new Head();
  private readonly catalog: BlockCatalog<BlockInfo>;
  /** Blocks' bloom filters and trace records indexes, read once (dropped with the block's files). */
  private readonly indexCache: BlockIndexCache;
  private readonly bucket: LocalBucket;
  private writer: BlockWriter | undefined;
  private writerDb: DuckDBInstance | undefined;
  private writerConn: DuckDBConnection | undefined;
  private readonly jobs = new SerialJobs();
  private timer: NodeJS.Timeout | undefined;
  private closed = false;
  /** When each tenant's window last got a block from a cut (`tenant\0windowStartMs`): compaction waits for quiet. */
  private readonly lastCutMs = new Map<string, number>();
  /** What block reads touched since open (tests read it to check the trace-id index). */
  readonly readStats: BlockReadStats = { blocksRead: 0, recordsRead: 0, rowGroupsRead: 0 };

  private constructor(
    dir: string,
    private readonly settings: TraceStoreSettings,
    private readonly limits: TenantLimits<TraceStoreTenantLimits>,
    private readonly db: ColumnarDatabase,
    private readonly maintenance: DuckDBConnection,
    private readonly wal: Wal,
    private readonly logger: Logger | undefined,
    private readonly health: StorageHealth | undefined,
  ) {
    this.dir = dir;
    this.bucket = new LocalBucket(path.join(dir, 'blocks'));
    this.indexCache = new BlockIndexCache(settings.indexCacheBytes);
    this.catalog = new BlockCatalog<BlockInfo>(
      (b) => {
        this.indexCache.drop(b.seq);
        void removeBlockFiles(b).catch((err: unknown) => this.logger?.warn({ err, key: b.key }, 'trace store: removing a dropped block failed; it is removed at next open'));
      },
      (oldest) => this.head.prune(oldest),
    );
  }

  /**
   * Opens (or creates) the store in `dir`: checks the format version (refusing newer data with a
   * `StorageFormatError`; a version-1 directory, WAL only, is read as is), loads the block catalog, removes
   * files a crash left unreferenced, and replays the WAL into the head, leaving out spans already in blocks.
   */
  static async open(opts: TraceStoreOptions): Promise<TraceStore> {
    const db = await ColumnarDatabase.open({
      dir: opts.dir,
      name: DATABASE_NAME,
      formatVersion: FORMAT_VERSION,
      ...(opts.memoryLimitBytes !== undefined ? { memoryLimitBytes: opts.memoryLimitBytes } : {}),
      ...(opts.threads !== undefined ? { threads: opts.threads } : {}),
    });
    let wal: Wal | undefined;
    let maintenance: DuckDBConnection | undefined;
    try {
      maintenance = await db.connect();
      await maintenance.run('SET parquet_metadata_cache = true');
      await maintenance.run(`CREATE TABLE IF NOT EXISTS trace_blocks (
        seq BIGINT PRIMARY KEY, tenant VARCHAR NOT NULL, window_start_ms BIGINT NOT NULL, key VARCHAR NOT NULL,
        bloom_blocks INTEGER NOT NULL, spans BIGINT NOT NULL, traces BIGINT NOT NULL, size_bytes BIGINT NOT NULL,
        min_start_ns BIGINT NOT NULL, max_start_ns BIGINT NOT NULL, max_end_ns BIGINT NOT NULL,
        min_trace_id VARCHAR NOT NULL, max_trace_id VARCHAR NOT NULL, wal_segment BIGINT NOT NULL,
        level INTEGER NOT NULL, row_groups VARCHAR NOT NULL, records_bytes BIGINT NOT NULL DEFAULT 0)`);
      // Format 2 catalogs have no records column: their blocks have no trace records (reads use the Parquet file).
      await maintenance.run('ALTER TABLE trace_blocks ADD COLUMN IF NOT EXISTS records_bytes BIGINT DEFAULT 0');
      // Format 5 records each block's list keys; older rows have null (computed on first need).
      await maintenance.run('ALTER TABLE trace_blocks ADD COLUMN IF NOT EXISTS list_keys VARCHAR');
      wal = await Wal.open(path.join(opts.dir, 'wal'), undefined, 'traces');
      const store = new TraceStore(opts.dir, opts.settings, opts.limits, db, maintenance, wal, opts.logger, opts.health);
      const blocks = await store.loadBlocks();
      store.catalog.load(blocks);
      await store.removeOrphans(blocks);
      await store.replay(blocks);
      // Cuts and merges run on an instance of their own with half the threads (at least one), so a big merge
      // never holds every DuckDB thread while a search waits.
      const threads = opts.threads !== undefined && opts.threads > 0 ? opts.threads : os.availableParallelism();
      store.writerDb = await db.scratch('writer', { threads: Math.max(1, Math.floor(threads / 2)), memoryLimitBytes: Math.floor((opts.memoryLimitBytes ?? 1024 ** 3) / 2) });
      store.writerConn = await store.writerDb.connect();
      store.writer = new BlockWriter(store.writerConn, opts.settings.rowGroupSpans);
      if (opts.background !== false) store.startTimer();
      return store;
    } catch (err) {
      await wal?.close().catch(() => undefined);
      maintenance?.closeSync();
      // The open failure is what the caller needs; the database was only opened.
      await db.close().catch(() => undefined);
      throw err;
    }
  }

  /** A write transaction for `tenant`. After `close`, its commit rejects with a retryable `shutting_down`. */
  appender(tenant: TenantId): Appender<SpanRecord> {
    return new TraceAppender(tenant, (t, records, spans) => this.submit(t, records, spans));
  }

  querier(tenants: readonly TenantId[]): Promise<TraceQuerier> {
    if (this.closed) return Promise.reject(new Error('trace store is closed'));
    // Federated reads (`a|b`) are storage/federation.ts's: it opens one querier per tenant.
    if (tenants.length !== 1) return Promise.reject(new Error(`a trace store querier reads exactly one tenant, got ${tenants.length}`));
    const slackMs = this.settings.maxBlockDurationMs + this.settings.traceIdlePeriodMs;
    return Promise.resolve(
      new TraceStoreQuerier({ acquire: () => this.acquire(), matchSlackNs: BigInt(slackMs) * 1_000_000n }, tenants[0]!),
    );
  }

  /** Span bytes held in the head (the in-memory part). */
  get headBytes(): number {
    return this.head.bytes;
  }

  /** The blocks in the catalog now (tests and benchmarks read their sizes and row groups). */
  blocks(): readonly BlockInfo[] {
    return this.catalog.allBlocks();
  }

  /** Bytes on disk (WAL, catalog and blocks). */
  async diskBytes(): Promise<number> {
    return directoryBytes(this.dir);
  }

  /** Cuts every trace in the head into blocks now, complete or not (tests; the background cuts by age). */
  flush(): Promise<void> {
    return this.jobs.enqueue(() => this.cut(Date.now(), true));
  }

  /**
   * Merges small blocks until no merge is due, treating every window as quiet (tests and benchmarks; the
   * background merges after cuts). Returns how many merges ran.
   */
  compact(): Promise<number> {
    return this.jobs.enqueue(async () => {
      let merges = 0;
      while (await this.compactOnce(true)) merges++;
      return merges;
    });
  }

  /** Drops the blocks whose window ended more than the tenant's `block_retention` before `nowMs`. */
  applyRetention(nowMs: number): Promise<{ blocks: number }> {
    return this.jobs.enqueue(async () => {
      const windowMs = this.settings.blockWindowMs;
      const expired = this.catalog.allBlocks().filter((b) => {
        const keep = this.limits.forTenant(b.tenant).block_retention;
        return keep > 0 && b.windowStartMs + windowMs <= nowMs - keep;
      });
      if (expired.length === 0) return { blocks: 0 };
      const seqs = new Set(expired.map((b) => b.seq));
      await this.maintenance.run(`DELETE FROM trace_blocks WHERE seq IN (${[...seqs].join(', ')})`);
      this.catalog.remove(seqs);
      this.logger?.info({ blocks: expired.length, tenants: [...new Set(expired.map((b) => b.tenant))] }, 'trace retention dropped blocks');
      return { blocks: expired.length };
    });
  }

  /** Refuses new commits, waits for queued ones and a running cut, and closes. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    await this.jobs.idle();
    await this.wal.close();
    this.writerConn?.closeSync();
    this.writerDb?.closeSync();
    this.maintenance.closeSync();
    await this.db.close();
  }

  private startTimer(): void {
    const everyMs = Math.max(100, Math.min(1000, Math.floor(this.settings.traceIdlePeriodMs / 2)));
    this.timer = setInterval(() => this.kickCut(), everyMs);
    this.timer.unref();
  }

  /** Schedules a cut of what is due, coalescing repeated kicks. */
  private kickCut(): void {
    if (this.closed) return;
    this.jobs.kick(
      async () => {
        if (!this.closed) await this.cut(Date.now(), false);
        if (!this.closed) await this.compactOnce(false);
      },
      (err: unknown) => this.logger?.error({ err }, 'trace store: cutting blocks failed; it will be retried'),
    );
  }

  /** The traces due for a block at `nowMs` (all of them with `force`), oldest-written first. */
  private dueTraces(nowMs: number, force: boolean): CutTrace[] {
    const due: CutTrace[] = [];
    const rest: (CutTrace & { lastWriteMs: number; bytes: number })[] = [];
    let dueBytes = 0;
    for (const tenant of this.head.tenantIds()) {
      const th = this.head.tenant(tenant)!;
      for (const t of th.traces.values()) {
        if (t.spans.length === 0) continue;
        if (force || nowMs - t.lastWriteMs >= this.settings.traceIdlePeriodMs || nowMs - t.firstWriteMs >= this.settings.maxBlockDurationMs) {
          due.push({ tenant, traceId: t.traceId, spans: t.spans.slice() });
          dueBytes += t.bytes;
        } else {
          rest.push({ tenant, traceId: t.traceId, spans: t.spans, lastWriteMs: t.lastWriteMs, bytes: t.bytes });
        }
      }
    }
    // Over the memory bound: cut the least recently written of the rest too, down to half the bound.
    if (this.head.bytes - dueBytes > this.settings.headMaxBytes) {
      rest.sort((a, b) => a.lastWriteMs - b.lastWriteMs);
      let left = this.head.bytes - dueBytes;
      for (const r of rest) {
        if (left <= this.settings.headMaxBytes / 2) break;
        // A copy: spans arriving while the block is written stay in the head for the next cut.
        due.push({ tenant: r.tenant, traceId: r.traceId, spans: r.spans.slice() });
        left -= r.bytes;
      }
    }
    return due;
  }

  /**
   * Writes the due traces into blocks (one per tenant and window), registers them in one catalog
   * transaction, then takes their spans out of the head and truncates the WAL below what the head still
   * needs. A crash before the catalog commit leaves files the next open removes (the spans replay from the
   * WAL); after it, replay leaves out the spans the blocks hold.
   */
  private async cut(nowMs: number, force: boolean): Promise<void> {
    const due = this.dueTraces(nowMs, force);
    if (due.length === 0) return;
    const segment = this.wal.currentSegment;
    const groups = new Map<string, { tenant: TenantId; windowStartMs: number; traces: CutTrace[] }>();
    const windowMs = this.settings.blockWindowMs;
    for (const t of due) {
      let min = t.spans[0]!.span.startTimeUnixNs;
      for (const s of t.spans) if (s.span.startTimeUnixNs < min) min = s.span.startTimeUnixNs;
      const windowStartMs = Math.floor(Number(min / 1_000_000n) / windowMs) * windowMs;
      const k = `${t.tenant}\u0000${windowStartMs}`;
      let g = groups.get(k);
      if (!g) groups.set(k, (g = { tenant: t.tenant, windowStartMs, traces: [] }));
      g.traces.push(t);
    }
    const written: BlockInfo[] = [];
    try {
      for (const g of groups.values()) {
        const seq = this.catalog.allocateSeq();
        const key = tenantKey(g.tenant, 'traces', String(g.windowStartMs), `${seq}.parquet`);
        const target: BlockTarget = {
          seq,
          tenant: g.tenant,
          windowStartMs: g.windowStartMs,
          key,
          ...this.blockPaths(key),
          walSegment: segment,
          level: 0,
        };
        written.push(await this.writer!.write(target, g.traces));
      }
      await this.maintenance.run(`INSERT INTO trace_blocks VALUES ${written.map(blockRow).join(', ')}`);
    } catch (err) {
      for (const b of written) await removeBlockFiles(b).catch(() => undefined);
      throw err;
    }
    const version = this.catalog.add(written);
    for (const b of written) this.lastCutMs.set(`${b.tenant}\u0000${b.windowStartMs}`, nowMs);
    for (const t of due) this.head.cut(t.tenant, t.traceId, t.spans.length, version, segment);
    this.head.prune(this.catalog.oldestReadVersion());
    // Spans that arrive from now on go to a new segment; every older one the head no longer needs goes.
    const next = await this.wal.rotate();
    await this.wal.truncateBefore(Math.min(this.head.minSegment(), next));
  }

  /**
   * Runs the next due merge, if any (compaction-plan.ts): the merged block is written and made durable, then one
   * catalog transaction swaps it for its inputs; their files go once no reader holds them. A crash before the
   * commit leaves the merged file unreferenced (removed at open); after it, the inputs' files (removed at open).
   * Returns whether a merge ran.
   */
  private async compactOnce(allQuiet: boolean): Promise<boolean> {
    const target = this.settings.compactionTargetSpans ?? DEFAULT_COMPACTION_TARGET_SPANS;
    if (target <= 0) return false;
    const nowMs = Date.now();
    const quietMs = 2 * this.settings.traceIdlePeriodMs;
    const inputs = nextMerge(this.catalog.allBlocks(), {
      targetSpans: target,
      isQuiet: (tenant, windowStartMs) => allQuiet || nowMs - (this.lastCutMs.get(`${tenant}\u0000${windowStartMs}`) ?? 0) >= quietMs,
    });
    if (!inputs) return false;
    const first = inputs[0]!;
    const seq = this.catalog.allocateSeq();
    const key = tenantKey(first.tenant, 'traces', String(first.windowStartMs), `${seq}.parquet`);
    const merged = await this.writer!.merge(
      {
        seq,
        tenant: first.tenant,
        windowStartMs: first.windowStartMs,
        key,
        ...this.blockPaths(key),
        // Replay leaves out spans of blocks at or after the oldest WAL segment: the newest input's is the safe bound.
        walSegment: Math.max(...inputs.map((b) => b.walSegment)),
        level: Math.max(...inputs.map((b) => b.level)) + 1,
      },
      inputs,
    );
    const seqs = new Set(inputs.map((b) => b.seq));
    try {
      await this.maintenance.run('BEGIN TRANSACTION');
      await this.maintenance.run(`DELETE FROM trace_blocks WHERE seq IN (${[...seqs].join(', ')})`);
      await this.maintenance.run(`INSERT INTO trace_blocks VALUES ${blockRow(merged)}`);
      await this.maintenance.run('COMMIT');
    } catch (err) {
      await this.maintenance.run('ROLLBACK').catch(() => undefined);
      await removeBlockFiles(merged).catch(() => undefined);
      throw err;
    }
    this.catalog.remove(seqs, [merged]);
    this.logger?.debug({ tenant: first.tenant, windowStartMs: first.windowStartMs, inputs: inputs.length, spans: merged.spans, level: merged.level }, 'trace store: merged blocks');
    return true;
  }

  private acquire(): { sources: readonly SpanSource[]; release(): void } {
    const snap = this.catalog.acquire();
    const blocks = new BlockSource(snap.blocks, () => this.db.connect(), this.indexCache, this.readStats);
    return {
      sources: [new HeadSource(this.head, snap.version), blocks],
      release: () => {
        snap.release();
        void blocks.close().catch((err: unknown) => this.logger?.warn({ err }, 'trace store: closing a read connection failed'));
      },
    };
  }

  private async submit(tenant: TenantId, records: readonly SpanRecord[], spans: number): Promise<void> {
    if (this.closed) throw new RetryableStorageError('shutting_down', 'the trace store is shutting down; retry against the restarted server', 5);
    const refusal = this.health?.writeRefusal();
    if (refusal) throw refusal;
    const hardMax = 2 * this.settings.headMaxBytes;
    if (this.head.bytes > hardMax) {
      this.kickCut();
      throw new RetryableStorageError(
        'overloaded',
        `the trace head holds ${this.head.bytes} bytes, over twice traces.store.head_max_bytes (${this.settings.headMaxBytes}); cutting blocks is behind, retry shortly`,
        2,
      );
    }
    const payload = encodeWalBatch({ tenant, records });
    const perSpan = (payload.length * HEAD_BYTES_PER_WAL_BYTE) / spans;
    try {
      await this.wal.append(payload, () => {
        this.head.apply(tenant, records, this.wal.currentSegment, perSpan, Date.now());
      });
    } catch (err) {
      const answer = await diagnoseWriteFailure(err, payload.length, this.health, this.dir);
      if (!(answer instanceof RetryableStorageError)) this.logger?.error({ err }, 'trace store write failed');
      throw answer;
    }
    if (this.head.bytes > this.settings.headMaxBytes && this.timer) this.kickCut();
  }

  private async loadBlocks(): Promise<BlockInfo[]> {
    const r = await this.maintenance.runAndReadAll(
      `SELECT seq, tenant, window_start_ms, key, bloom_blocks, spans, traces, size_bytes, min_start_ns, max_start_ns, max_end_ns,
        min_trace_id, max_trace_id, wal_segment, level, row_groups, records_bytes, list_keys FROM trace_blocks ORDER BY seq`,
    );
    return r.getRows().map(([seq, tenant, win, key, bloomBlocks, spans, traces, size, minStart, maxStart, maxEnd, minId, maxId, seg, level, rgs, recordsBytes, listKeys]) => {
      const keys = parseListKeys(listKeys === null ? null : String(listKeys));
      return {
        seq: Number(seq),
        tenant: String(tenant) as TenantId,
        windowStartMs: Number(win),
        key: String(key),
        ...this.blockPaths(String(key)),
        recordsBytes: Number(recordsBytes),
        bloomBlocks: Number(bloomBlocks),
        spans: Number(spans),
        traces: Number(traces),
        sizeBytes: Number(size),
        minStartNs: minStart as bigint,
        maxStartNs: maxStart as bigint,
        maxEndNs: maxEnd as bigint,
        minTraceId: String(minId),
        maxTraceId: String(maxId),
        walSegment: Number(seg),
        level: Number(level),
        rowGroups: (JSON.parse(String(rgs)) as [string, string, number][]).map(([firstTraceId, lastTraceId, n]): RowGroupRange => ({ firstTraceId, lastTraceId, spans: n })),
        ...(keys ? { listKeys: keys } : {}),
      };
    });
  }

  /** A block's file paths from its bucket key (`<seq>.parquet`; `.bloom` and `.records` beside it). */
  private blockPaths(key: string): Pick<BlockInfo, 'path' | 'bloomPath' | 'recordsPath'> {
    return {
      path: this.bucket.pathOf(key),
      bloomPath: this.bucket.pathOf(key.replace(/\.parquet$/, '.bloom')),
      recordsPath: this.bucket.pathOf(key.replace(/\.parquet$/, '.records')),
    };
  }

  /** Deletes block files (and temp files) no catalog row names: leftovers of a crash mid-cut. */
  private async removeOrphans(blocks: readonly BlockInfo[]): Promise<void> {
    const live = new Set<string>();
    for (const b of blocks) {
      live.add(b.key);
      live.add(b.key.replace(/\.parquet$/, '.bloom'));
      if (b.recordsBytes > 0) live.add(b.key.replace(/\.parquet$/, '.records'));
    }
    for (const o of await this.bucket.list('')) {
      if (live.has(o.key) || !o.key.split('/').includes('traces')) continue;
      this.logger?.info({ key: o.key }, 'trace store: removing an unreferenced block file');
      await this.bucket.delete(o.key);
    }
  }

  /**
   * Replays every WAL segment into the head, leaving out spans that blocks cut after the oldest segment still
   * on disk already hold (the crash came between a cut's catalog commit and the WAL's truncation).
   */
  private async replay(blocks: readonly BlockInfo[]): Promise<void> {
    const first = (await this.wal.segments())[0];
    const recent = first === undefined ? [] : blocks.filter((b) => b.walSegment >= first);
    const held = new Set<string>();
    if (recent.length > 0) {
      const files = recent.map((b) => quoteString(b.path)).join(', ');
      const r = await this.maintenance.runAndReadAll(`SELECT trace_id || lower(hex(span_id)) FROM read_parquet([${files}])`);
      for (const [k] of r.getRows()) held.add(String(k));
    }
    const inBlock = held.size > 0 ? (traceId: string, spanId: string) => held.has(traceId + spanId) : undefined;
    const nowMs = Date.now();
    let frames = 0;
    await this.wal.replay(0, (frame) => {
      const batch = decodeWalBatch(frame.payload);
      let spans = 0;
      for (const r of batch.records) spans += r.spans.length;
      // A format-3 frame (JSON) is about the size the estimate stands for already.
      const headBytes = isJsonWalFrame(frame.payload) ? frame.payload.length : frame.payload.length * HEAD_BYTES_PER_WAL_BYTE;
      if (spans > 0) this.head.apply(batch.tenant, batch.records, frame.segment, headBytes / spans, nowMs, inBlock);
      frames++;
    });
    if (frames > 0) this.logger?.info({ frames, headBytes: this.head.bytes, spansInBlocks: held.size }, 'trace store: WAL replayed into the head');
  }
}

function blockRow(b: BlockInfo): string {
  const rgs = JSON.stringify(b.rowGroups.map((g) => [g.firstTraceId, g.lastTraceId, g.spans]));
  return (
    `(${b.seq}, ${quoteString(b.tenant)}, ${b.windowStartMs}, ${quoteString(b.key)}, ${b.bloomBlocks}, ${b.spans}, ${b.traces}, ` +
    `${b.sizeBytes}, ${b.minStartNs}, ${b.maxStartNs}, ${b.maxEndNs}, ${quoteString(b.minTraceId)}, ${quoteString(b.maxTraceId)}, ` +
    `${b.walSegment}, ${b.level}, ${quoteString(rgs)}, ${b.recordsBytes}, ${b.listKeys ? quoteString(listKeysJson(b.listKeys)) : 'NULL'})`
  );
}
