import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { DuckDBConnection } from '@duckdb/node-api';
import type { Logger } from 'pino';
import { ColumnarDatabase } from '../columnar/index.ts';
import type { Labels, LogRecord, TenantId } from '../model/index.ts';
import { LocalBucket, directoryBytes } from '../objstore/index.ts';
import type { Appender, CommitStats, LogQuerier, LogsStorage, StorageHealth, TenantLimits } from '../storage/index.ts';
import { LogAppender } from './appender.ts';
import { Catalog } from './catalog.ts';
import type { BlockInfo, HeadInfo, PartitionInfo } from './catalog.ts';
import { Compactor } from './compactor.ts';
import { StreamLabelCache } from './stream-labels.ts';
import { DATABASE_NAME, FORMAT_VERSION, bloomPath } from './format.ts';
import { TokenBloomCache } from './token-bloom.ts';
import { HeadWriter, attachHead, headInfo } from './head-writer.ts';
import type { WriteBatch } from './head-writer.ts';
import type { LogStoreSettings, LogStoreTenantLimits } from './limits.ts';
import { LogStoreQuerier } from './querier.ts';
import { DEFAULT_CLASS, RetentionPolicy } from './retention.ts';

export interface LogStoreOptions {
  /** The store's directory: `logs.duckdb` (+ WAL, format stamp) and `blocks/<tenant>/logs/...parquet`. */
  readonly dir: string;
  /** Each tenant's write limits and retention rules. */
  readonly limits: TenantLimits<LogStoreTenantLimits>;
  readonly settings: LogStoreSettings;
  /** DuckDB's memory limit; queries and compactions spill to `<dir>/tmp` beyond it. Default 1 GiB. */
  readonly memoryLimitBytes?: number;
  /** DuckDB worker threads; 0 or undefined means one per core. */
  readonly threads?: number;
  readonly logger?: Logger;
  /**
   * Background work: head rotation by age and compaction (`settings`). Default true; tests that drive `flush()`
   * themselves may turn it off. Retention runs only when `applyRetention` is called (app/ schedules it).
   */
  readonly background?: boolean;
  /** The data directory's monitor: refuses writes while the directory is lost and classifies write failures. */
  readonly health?: StorageHealth;
}

/** Streams whose retention class is cached, per store, before the cache is cleared. */
const MAX_CLASS_CACHE = 200_000;
/** Bytes of parsed token bloom sidecars kept in memory (about 2 % of the blocks they filter). */
const BLOOM_CACHE_BYTES = 64 * 1024 ** 2;

/**
 * The embedded log engine (Heimdall's Loki storage), on DuckDB.
 *
 * Layout (docs/formats/logstore.md): a stream index table (tenant, 64-bit stream id, labels as a MAP); a
 * head database per generation receiving group-committed appends (durable in its WAL at commit, queryable
 * at once, deleted once compacted); immutable Parquet blocks (zstd, sorted by stream then time) cut from sealed
 * heads per partition, a partition being one tenant × retention class × time window; and catalog tables
 * for partitions, blocks and heads. Retention drops whole partitions.
 *
 * Contract: one `LogStore` per directory and process (DuckDB locks the file). Appenders and queriers may be
 * used concurrently. `close` waits for queued writes and compaction, then checkpoints.
 */
export class LogStore implements LogsStorage {
  readonly dir: string;
  readonly windowMs: number;
  private readonly db: ColumnarDatabase;
  private readonly settings: LogStoreSettings;
  private readonly tenantLimits: TenantLimits<LogStoreTenantLimits>;
  private readonly catalog: Catalog;
  private readonly writer: HeadWriter;
  private readonly compactor: Compactor;
  private readonly policy: RetentionPolicy;
  private readonly maintenance: DuckDBConnection;
  private readonly logger: Logger | undefined;
  private readonly timers: NodeJS.Timeout[] = [];
  /** Every queried tenant's stream labels, kept until the stream index changes. */
  private readonly streamLabels = new StreamLabelCache(() => this.writer.streamsVersion);
  /** Token bloom sidecars of format-3 blocks, read on a filtered query's first use (a few % of block size). */
  private readonly blooms = new TokenBloomCache(BLOOM_CACHE_BYTES, (block) => fs.readFile(bloomPath(block)));
  private readonly classCache = new Map<string, string>();
  private readonly limits = new Map<string, LogStoreTenantLimits>();
  private closed = false;

  private constructor(parts: {
    dir: string;
    db: ColumnarDatabase;
    settings: LogStoreSettings;
    tenantLimits: TenantLimits<LogStoreTenantLimits>;
    catalog: Catalog;
    writer: HeadWriter;
    compactor: Compactor;
    policy: RetentionPolicy;
    maintenance: DuckDBConnection;
    logger: Logger | undefined;
  }) {
    this.dir = parts.dir;
    this.db = parts.db;
    this.settings = parts.settings;
    this.tenantLimits = parts.tenantLimits;
    this.catalog = parts.catalog;
    this.writer = parts.writer;
    this.compactor = parts.compactor;
    this.policy = parts.policy;
    this.maintenance = parts.maintenance;
    this.logger = parts.logger;
    this.windowMs = parts.settings.partitionWindowMs;
  }

  /**
   * Opens (or creates) the store in `dir`: checks the format version (refusing newer data with a
   * `StorageFormatError`), attaches the head databases (replaying their WALs), removes files a crash left
   * unreferenced,
   * and resumes compaction. Throws an `Error` for an invalid `retention_stream` selector.
   */
  static async open(opts: LogStoreOptions): Promise<LogStore> {
    const policy = new RetentionPolicy(opts.limits);
    const windowMs = opts.settings.partitionWindowMs;
    if (windowMs < 60_000 || 86_400_000 % windowMs !== 0) {
      throw new Error(`the log store's partition window must divide a day and be at least 1m, got ${windowMs} ms`);
    }
    const db = await ColumnarDatabase.open({
      dir: opts.dir,
      name: DATABASE_NAME,
      formatVersion: FORMAT_VERSION,
      ...(opts.memoryLimitBytes !== undefined ? { memoryLimitBytes: opts.memoryLimitBytes } : {}),
      ...(opts.threads !== undefined ? { threads: opts.threads } : {}),
    });
    const maintenance = await db.connect();
    const headMax = opts.settings.headMaxBytes;
    // Head databases must never reach DuckDB's checkpoint threshold (their rows would be compressed into a
    // file that is about to be deleted): it sits well above a head's size.
    const threshold = Math.max(256 * 1024 ** 2, 4 * headMax);
    await maintenance.run(`SET checkpoint_threshold = '${Math.floor(threshold / 1024 ** 2)}MB'`);
    await maintenance.run('SET parquet_metadata_cache = true');
    await createSchema(maintenance);
    const bucket = new LocalBucket(path.join(opts.dir, 'blocks'));
    const headsDir = path.join(opts.dir, 'heads');
    await fs.mkdir(headsDir, { recursive: true });
    const { partitions, blocks, heads } = await loadCatalog(maintenance, bucket, headsDir);
    // Attaching a head replays its WAL: acknowledged entries of a crashed process come back here.
    for (const h of heads) await attachHead(maintenance, h);
    await removeOrphanHeads(headsDir, heads, opts.logger);
    await removeOrphanFiles(bucket, blocks, opts.logger);

    // The catalog hands retired heads and blocks to the compactor, which is built from the catalog; the
    // compactor asks the writer (built last) how full the active head is.
    const late: { compactor?: Compactor; writer?: HeadWriter } = {};
    const catalog = new Catalog((r) => {
      const c = late.compactor!;
      void c.enqueue(() => c.reclaim(r)).catch((err: unknown) =>
        opts.logger?.warn({ err }, 'log store: reclaiming a retired head or block failed; it is removed at next open'),
      );
    });
    catalog.load(partitions, blocks, heads);
    const compactorConn = await db.connect();
    const compactor = new Compactor(compactorConn, catalog, bucket, {
      mergeTargetBytes: Math.max(8 * headMax, 256 * 1024 ** 2),
      closeGraceMs: Math.min(opts.settings.headMaxAgeMs * 2, 15 * 60_000),
      maxOpenBlocks: 8,
      zstdLevel: 3,
      finalZstdLevel: 6,
      checkpointCheap: () => (late.writer?.activeHeadBytes ?? 0) <= headMax / 4,
      ...(opts.logger ? { logger: opts.logger } : {}),
    });
    late.compactor = compactor;
    const writer = await HeadWriter.open(await db.connect(), [await db.connect(), await db.connect()], catalog, {
      headMaxBytes: headMax,
      headMaxAgeMs: opts.settings.headMaxAgeMs,
      maxPendingBytes: Math.max(2 * headMax, 64 * 1024 ** 2),
      maxSealedHeads: 3,
      onSealed: () => compactor.kick(),
      headsDir,
      ...(opts.logger ? { logger: opts.logger } : {}),
      ...(opts.health ? { health: opts.health } : {}),
    });
    late.writer = writer;
    const store = new LogStore({ dir: opts.dir, db, settings: opts.settings, tenantLimits: opts.limits, catalog, writer, compactor, policy, maintenance, logger: opts.logger });
    if (catalog.sealedHeads().length > 0) compactor.kick();
    if (opts.background !== false) store.startTimers();
    return store;
  }

  /** A write transaction for `tenant`. After `close`, its commit rejects with a retryable `shutting_down`. */
  appender(tenant: TenantId): Appender<LogRecord> {
    return new LogAppender(
      {
        windowMs: this.windowMs,
        classOf: (t, labels, key) => this.classOf(t, labels, key),
        pidFor: (t, cls, windowStartMs) => this.catalog.pidFor(t, cls, windowStartMs, this.windowMs),
        submit: (batch: WriteBatch): Promise<CommitStats> => this.writer.submit(batch),
      },
      tenant,
      this.limitsFor(tenant),
      Date.now(),
    );
  }

  async querier(tenants: readonly TenantId[]): Promise<LogQuerier> {
    if (this.closed) throw new Error('log store is closed');
    // Federated reads (`a|b`) are storage/federation.ts's: it opens one querier per tenant.
    if (tenants.length !== 1) throw new Error(`a log store querier reads exactly one tenant, got ${tenants.length}`);
    return new LogStoreQuerier(
      { connect: () => this.db.connect(), acquire: () => this.catalog.acquire(), windowMs: this.windowMs, streams: this.streamLabels, blooms: this.blooms },
      tenants,
    );
  }

  /**
   * Seals the head and compacts everything into merged Parquet blocks now, as the background would do
   * eventually (tests compare fresh and compacted reads; benchmarks measure the final footprint).
   */
  async flush(): Promise<void> {
    await this.writer.rotate(true);
    await this.compactor.compactNow(Date.now(), true);
    await this.compactor.enqueue(() => this.compactor.checkpoint(true));
  }

  /** Drops the partitions whose retention period (per tenant and per stream class) has passed at `nowMs`. */
  async applyRetention(nowMs: number): Promise<{ partitions: number; blocks: number }> {
    const r = await this.compactor.applyRetention(nowMs, this.policy);
    if (r.partitions > 0) {
      this.logger?.info({ partitions: r.partitions, blocks: r.blocks, tenants: r.tenants }, 'log retention dropped partitions');
      await this.pruneStreams(r.tenants);
    }
    return { partitions: r.partitions, blocks: r.blocks };
  }

  /** Bytes on disk (database, WAL and blocks). */
  async diskBytes(): Promise<number> {
    return directoryBytes(this.dir);
  }

  /** Stops background work, lets queued writes and compaction finish, checkpoints and closes. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const t of this.timers) clearInterval(t);
    await this.writer.close();
    await this.compactor.close();
    this.maintenance.closeSync();
    await this.db.close();
  }

  /** The tenant's limits, one object per tenant (appenders cache validation results by its identity). */
  private limitsFor(tenant: TenantId): LogStoreTenantLimits {
    let l = this.limits.get(tenant);
    if (!l) {
      l = this.tenantLimits.forTenant(tenant);
      if (this.limits.size > 10_000) this.limits.clear();
      this.limits.set(tenant, l);
    }
    return l;
  }

  private classOf(tenant: TenantId, labels: Labels, key: string): string {
    if (!this.policy.hasStreamRules(tenant)) return DEFAULT_CLASS;
    const ck = `${tenant}\u0000${key}`;
    let cls = this.classCache.get(ck);
    if (cls === undefined) {
      cls = this.policy.classOf(tenant, labels);
      if (this.classCache.size >= MAX_CLASS_CACHE) this.classCache.clear();
      this.classCache.set(ck, cls);
    }
    return cls;
  }

  /** Removes index rows of streams that no longer have data, serially with writes. */
  private async pruneStreams(tenants: readonly string[]): Promise<void> {
    await this.writer.exclusive(async (conn) => {
      const snap = this.catalog.acquire();
      try {
        for (const tenant of tenants) {
          const pids = [...snap.partitions.values()].filter((p) => p.tenant === tenant).map((p) => p.pid);
          const sources: string[] = [];
          if (pids.length > 0) {
            for (const h of snap.heads) sources.push(`SELECT stream_id FROM ${h.table} WHERE pid IN (${pids.join(', ')})`);
            const pidSet = new Set(pids);
            const files = snap.blocks.filter((b) => pidSet.has(b.pid)).map((b) => `'${b.path.replaceAll("'", "''")}'`);
            if (files.length > 0) sources.push(`SELECT stream_id FROM read_parquet([${files.join(', ')}])`);
          }
          const keep = sources.length > 0 ? `AND stream_id NOT IN (${sources.join(' UNION ')})` : '';
          await conn.run(`DELETE FROM log_streams WHERE tenant = '${tenant.replaceAll("'", "''")}' ${keep}`);
        }
        this.writer.forgetKnownStreams();
      } finally {
        snap.release();
      }
    });
  }

  private startTimers(): void {
    const every = (ms: number, fn: () => Promise<unknown>, what: string): void => {
      const t = setInterval(() => {
        if (this.closed) return;
        fn().catch((err: unknown) => this.logger?.error({ err }, `log store: ${what} failed`));
      }, ms);
      t.unref();
      this.timers.push(t);
    };
    every(Math.min(1000, this.settings.headMaxAgeMs), () => this.writer.rotate(false), 'head rotation');
    every(60_000, async () => this.compactor.kick(), 'compaction');
  }
}

async function createSchema(conn: DuckDBConnection): Promise<void> {
  await conn.run(`CREATE TABLE IF NOT EXISTS log_partitions (
    pid INTEGER PRIMARY KEY, tenant VARCHAR NOT NULL, class VARCHAR NOT NULL,
    window_start_ms BIGINT NOT NULL, window_end_ms BIGINT NOT NULL)`);
  await conn.run(`CREATE TABLE IF NOT EXISTS log_blocks (
    seq BIGINT PRIMARY KEY, pid INTEGER NOT NULL, key VARCHAR NOT NULL, row_count BIGINT NOT NULL,
    raw_bytes BIGINT NOT NULL, size_bytes BIGINT NOT NULL, min_ts BIGINT NOT NULL, max_ts BIGINT NOT NULL,
    level INTEGER NOT NULL, zstd_level INTEGER NOT NULL)`);
  // Format 2 (docs/formats/logstore.md): the block's format; rows of a format-1 catalog are format-1 blocks.
  await conn.run('ALTER TABLE log_blocks ADD COLUMN IF NOT EXISTS format INTEGER DEFAULT 1');
  await conn.run('CREATE TABLE IF NOT EXISTS log_heads (gen BIGINT PRIMARY KEY, created_ms BIGINT NOT NULL)');
  await conn.run(`CREATE TABLE IF NOT EXISTS log_streams (
    tenant VARCHAR NOT NULL, stream_id BIGINT NOT NULL, labels MAP(VARCHAR, VARCHAR) NOT NULL)`);
}

async function loadCatalog(
  conn: DuckDBConnection,
  bucket: LocalBucket,
  headsDir: string,
): Promise<{ partitions: PartitionInfo[]; blocks: BlockInfo[]; heads: HeadInfo[] }> {
  const partitions: PartitionInfo[] = [];
  for (const [pid, tenant, cls, start, end] of (
    await conn.runAndReadAll('SELECT pid, tenant, class, window_start_ms, window_end_ms FROM log_partitions')
  ).getRows()) {
    partitions.push({
      pid: Number(pid),
      tenant: String(tenant) as TenantId,
      cls: String(cls),
      windowStartMs: Number(start),
      windowEndMs: Number(end),
    });
  }
  const blocks: BlockInfo[] = [];
  for (const [seq, pid, key, rows, raw, size, minTs, maxTs, level, zstdLevel, format] of (
    await conn.runAndReadAll(
      'SELECT seq, pid, key, row_count, raw_bytes, size_bytes, min_ts, max_ts, level, zstd_level, format FROM log_blocks ORDER BY seq',
    )
  ).getRows()) {
    blocks.push({
      seq: Number(seq),
      pid: Number(pid),
      key: String(key),
      path: bucket.pathOf(String(key)),
      rows: Number(rows),
      rawBytes: Number(raw),
      sizeBytes: Number(size),
      minTs: minTs as bigint,
      maxTs: maxTs as bigint,
      level: Number(level),
      zstdLevel: Number(zstdLevel),
      format: Number(format),
    });
  }
  const heads: HeadInfo[] = [];
  for (const [gen] of (await conn.runAndReadAll('SELECT gen FROM log_heads ORDER BY gen')).getRows()) {
    heads.push(headInfo(headsDir, Number(gen)));
  }
  return { partitions, blocks, heads };
}

/** Deletes head database files no `log_heads` row names (compacted, or half-created, before a crash). */
async function removeOrphanHeads(headsDir: string, heads: readonly HeadInfo[], logger: Logger | undefined): Promise<void> {
  const live = new Set<string>();
  for (const h of heads) {
    live.add(path.basename(h.file));
    live.add(`${path.basename(h.file)}.wal`);
  }
  for (const name of await fs.readdir(headsDir)) {
    if (live.has(name)) continue;
    logger?.info({ file: name }, 'log store: removing an unreferenced head file');
    await fs.rm(path.join(headsDir, name), { force: true });
  }
}

/** Deletes block files (and temp files) no catalog row names: leftovers of a crash mid-compaction. */
async function removeOrphanFiles(bucket: LocalBucket, blocks: readonly BlockInfo[], logger: Logger | undefined): Promise<void> {
  const live = new Set(blocks.map((b) => b.key));
  for (const b of blocks) if (b.format >= 3) live.add(bloomPath(b.key));
  const objects = await bucket.list('');
  for (const o of objects) {
    if (live.has(o.key)) continue;
    if (!o.key.split('/').includes('logs')) continue;
    logger?.info({ key: o.key }, 'log store: removing unreferenced file');
    await bucket.delete(o.key);
  }
  for (const b of blocks) {
    try {
      await fs.access(b.path);
    } catch {
      logger?.error({ key: b.key }, 'log store: a catalogued block file is missing; its entries are lost');
    }
  }
}
