import path from 'node:path';
import type { DuckDBConnection } from '@duckdb/node-api';
import type { Logger } from 'pino';
import { BlockCatalog, ColumnarDatabase, SerialJobs, quoteString } from '../columnar/index.ts';
import type { Profile, TenantId } from '../model/index.ts';
import { LocalBucket, Wal, directoryBytes, tenantKey } from '../objstore/index.ts';
import { RetryableStorageError, diagnoseWriteFailure } from '../storage/index.ts';
import type { Appender, ProfileQuerier, ProfilesStorage, StorageHealth, TenantLimits } from '../storage/index.ts';
import { ProfileAppender } from './appender.ts';
import { BlockSymbolCache, ProfileBlockReader } from './block-reader.ts';
import { ProfileBlockWriter } from './block-writer.ts';
import { removeBlockDir } from './block.ts';
import type { ProfileBlock } from './block.ts';
import { FORMAT_VERSION, STORE_NAME } from './format.ts';
import { Head } from './head.ts';
import type { CutWindow } from './head.ts';
import type { ProfileStoreSettings, ProfileStoreTenantLimits } from './limits.ts';
import { ProfileStoreQuerier } from './querier.ts';
import { decodeWalBatch, encodeWalBatch } from './wal-codec.ts';

export interface ProfileStoreOptions {
  /** The store's directory: `profiles.format.json`, `profiles.duckdb` (catalog), `wal/` and `blocks/`. */
  readonly dir: string;
  readonly limits: TenantLimits<ProfileStoreTenantLimits>;
  readonly settings: ProfileStoreSettings;
  /** DuckDB's memory limit (block cuts and block reads); spills to `<dir>/tmp` beyond it. Default 1 GiB. */
  readonly memoryLimitBytes?: number;
  /** DuckDB worker threads (0 or undefined: one per core). */
  readonly threads?: number;
  readonly logger?: Logger;
  /** The data directory's monitor: refuses writes while the directory is lost and classifies write failures. */
  readonly health?: StorageHealth;
  /** Cut windows into blocks in the background (default true; tests cut with {@link ProfileStore.flush}). */
  readonly background?: boolean;
}

/*
 * A frame of format version 1 has no sequence numbers; replay gives its profiles negative ones made of the
 * segment and the frame's place in it, the same on every replay, so blocks cut from them are recognised.
 */
const LEGACY_SEGMENT_STRIDE = 1e10;
/** Estimated bytes of block symbol tables kept for reads. */
const SYMBOL_CACHE_BYTES = 64 * 1024 * 1024;
const LEGACY_FRAME_STRIDE = 1e5;

/**
 * The embedded profile engine (Heimdall's Pyroscope storage).
 *
 * Writes: a commit is one WAL frame (docs/formats/profilestore.md); it resolves once the frame is fsynced,
 * and the profiles are in the in-memory head at that moment, so they are queryable at once. Every profile
 * gets a sequence number (the frame's first plus its index) that blocks record.
 *
 * Blocks: once a window has ended (plus `cutDelayMs`) each tenant's profiles of it are cut into a block
 * (Parquet files with symbols stored once, docs/formats/profilestore.md "Blocks"), made durable, registered
 * in the catalog table `profile_blocks`, then taken out of the head, and the WAL segments nothing in the
 * head needs are deleted. Past `headMaxBytes` the oldest open windows are cut early; past twice that, commits
 * are refused with a retryable 429. A crash between a block's registration and the WAL truncation is undone
 * on open: replay leaves out the profiles whose sequence numbers a block holds.
 *
 * Reads merge head and blocks; retention drops whole blocks and head windows per tenant.
 *
 * Contract: one `ProfileStore` per directory and process. Appenders and queriers may be used concurrently;
 * commits are group-committed by the WAL; cuts and retention run one at a time. `close` waits for queued
 * writes and a running cut, then closes.
 */
export class ProfileStore implements ProfilesStorage {
  readonly dir: string;
  private readonly head: Head;
  private readonly bucket: LocalBucket;
  private readonly catalog: BlockCatalog<ProfileBlock>;
  private readonly writer: ProfileBlockWriter;
  /** Symbol tables of recently read blocks (a day's merge reads every block's). */
  private readonly symbols = new BlockSymbolCache(SYMBOL_CACHE_BYTES);
  private closed = false;
  private nextSeq = 0;
  private readonly jobs = new SerialJobs();
  private timer: NodeJS.Timeout | undefined;

  private constructor(
    dir: string,
    private readonly settings: ProfileStoreSettings,
    private readonly limits: TenantLimits<ProfileStoreTenantLimits>,
    private readonly db: ColumnarDatabase,
    private readonly maintenance: DuckDBConnection,
    private readonly writerConn: DuckDBConnection,
    private readonly wal: Wal,
    private readonly logger: Logger | undefined,
    private readonly health: StorageHealth | undefined,
  ) {
    this.dir = dir;
    this.head = new Head(settings.windowMs);
    this.bucket = new LocalBucket(path.join(dir, 'blocks'));
    this.writer = new ProfileBlockWriter(writerConn);
    this.catalog = new BlockCatalog<ProfileBlock>(
      (b) => {
        void removeBlockDir(b.dir).catch((err: unknown) => this.logger?.warn({ err, key: b.key }, 'profile store: removing a dropped block failed; it is removed at next open'));
      },
      // Head profiles leave the head when their block is published; nothing waits for old readers.
      () => undefined,
    );
  }

  /**
   * Opens (or creates) the store in `dir`: checks the format stamp (refusing newer data with a
   * `StorageFormatError`; a version-1 directory, WAL only, is read as is), loads the block catalog, removes
   * block files a crash left unregistered, replays the WAL into the head leaving out what blocks hold, and
   * applies retention.
   */
  static async open(opts: ProfileStoreOptions): Promise<ProfileStore> {
    const db = await ColumnarDatabase.open({
      dir: opts.dir,
      name: STORE_NAME,
      formatVersion: FORMAT_VERSION,
      ...(opts.memoryLimitBytes !== undefined ? { memoryLimitBytes: opts.memoryLimitBytes } : {}),
      ...(opts.threads !== undefined ? { threads: opts.threads } : {}),
    });
    let wal: Wal | undefined;
    const conns: DuckDBConnection[] = [];
    try {
      const maintenance = await db.connect();
      conns.push(maintenance);
      await maintenance.run('SET parquet_metadata_cache = true');
      await maintenance.run(`CREATE TABLE IF NOT EXISTS profile_blocks (
        seq BIGINT PRIMARY KEY, tenant VARCHAR NOT NULL, window_start_ms BIGINT NOT NULL, key VARCHAR NOT NULL,
        wal_segment BIGINT NOT NULL, profiles BIGINT NOT NULL, samples BIGINT NOT NULL, size_bytes BIGINT NOT NULL,
        min_ms BIGINT NOT NULL, max_ms BIGINT NOT NULL, max_seq BIGINT NOT NULL)`);
      const writerConn = await db.connect();
      conns.push(writerConn);
      wal = await Wal.open(path.join(opts.dir, 'wal'), undefined, 'profiles');
      const store = new ProfileStore(opts.dir, opts.settings, opts.limits, db, maintenance, writerConn, wal, opts.logger, opts.health);
      const blocks = await store.loadBlocks();
      store.catalog.load(blocks);
      await store.removeOrphans(blocks);
      await store.replay(blocks);
      await store.applyRetention(Date.now());
      if (opts.background !== false) store.startTimer();
      return store;
    } catch (err) {
      await wal?.close().catch(() => undefined);
      for (const c of conns) c.closeSync();
      // The open failure is what the caller needs; the database was only opened.
      await db.close().catch(() => undefined);
      throw err;
    }
  }

  /** A write transaction for `tenant`. After `close`, its commit rejects with a retryable `shutting_down`. */
  appender(tenant: TenantId): Appender<Profile> {
    return new ProfileAppender(tenant, this.limits.forTenant(tenant), (t, profiles) => this.submit(t, profiles));
  }

  querier(tenants: readonly TenantId[]): Promise<ProfileQuerier> {
    if (this.closed) return Promise.reject(new Error('profile store is closed'));
    // Federated reads (`a|b`) are storage/federation.ts's: it opens one querier per tenant.
    if (tenants.length !== 1) return Promise.reject(new Error(`a profile store querier reads exactly one tenant, got ${tenants.length}`));
    return Promise.resolve(
      new ProfileStoreQuerier(
        { head: this.head, acquire: () => this.catalog.acquire(), blocks: () => this.catalog.allBlocks(), connect: () => this.db.connect(), symbols: this.symbols },
        tenants[0]!,
      ),
    );
  }

  /** Estimated bytes of the profiles held in memory. */
  get headBytes(): number {
    return this.head.bytes;
  }

  /** The blocks in the catalog now (tests and benchmarks). */
  blocks(): readonly ProfileBlock[] {
    return this.catalog.allBlocks();
  }

  /** Bytes on disk (stamp, catalog, WAL and blocks). */
  async diskBytes(): Promise<number> {
    return directoryBytes(this.dir);
  }

  /** Cuts every window in the head into blocks now, open ones too (tests, benchmarks). */
  flush(): Promise<void> {
    return this.jobs.enqueue(() => this.cut(Date.now(), true));
  }

  /**
   * Drops every tenant's blocks and head windows that ended longer than its `retention_period` before
   * `nowMs`, rolls the WAL segment when it is older than a window, and deletes the segments no head profile
   * is in. Returns the profiles dropped.
   */
  applyRetention(nowMs: number): Promise<number> {
    return this.jobs.enqueue(async () => {
      if (this.closed) return 0;
      const cutoff = (tenant: TenantId): number | undefined => {
        const retention = this.limits.forTenant(tenant).retention_period;
        return retention > 0 ? nowMs - retention : undefined;
      };
      let dropped = 0;
      for (const tenant of this.head.tenantIds()) {
        const c = cutoff(tenant);
        if (c !== undefined) dropped += this.head.dropWindowsBefore(tenant, c);
      }
      const expired = this.catalog.allBlocks().filter((b) => {
        const c = cutoff(b.tenant);
        return c !== undefined && b.windowStartMs + this.settings.windowMs <= c;
      });
      if (expired.length > 0) {
        const seqs = new Set(expired.map((b) => b.seq));
        await this.maintenance.run(`DELETE FROM profile_blocks WHERE seq IN (${[...seqs].join(', ')})`);
        this.catalog.remove(seqs);
        for (const b of expired) dropped += b.profiles;
      }
      const segment = this.wal.currentSegment;
      if (this.head.minSegment() > segment || nowMs - this.segmentStartedMs >= this.settings.windowMs) {
        await this.wal.rotate();
        this.segmentStartedMs = nowMs;
      }
      await this.wal.truncateBefore(Math.min(this.head.minSegment(), this.wal.currentSegment));
      if (dropped > 0) this.logger?.info({ dropped, blocks: expired.length }, 'profile store: retention dropped profiles');
      return dropped;
    });
  }

  /**
   * Refuses new commits, waits for queued ones and a running cut, cuts what the head holds into blocks (so a
   * restart has no WAL to replay; on failure the WAL keeps it), and closes.
   */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    await this.jobs.idle();
    // Every queued commit is durable and in the head once a rotation resolves.
    await this.wal.rotate().catch(() => undefined);
    await this.cut(Date.now(), true).catch((err: unknown) => this.logger?.error({ err }, 'profile store: cutting the head at close failed; the WAL keeps it'));
    await this.wal.close();
    this.writerConn.closeSync();
    this.maintenance.closeSync();
    await this.db.close();
  }

  /** When the WAL's current segment was started (ms), so retention can roll it and free old ones. */
  private segmentStartedMs = Date.now();

  private startTimer(): void {
    const everyMs = Math.max(1000, Math.min(30_000, Math.floor(this.settings.cutDelayMs / 2)));
    this.timer = setInterval(() => this.kickCut(), everyMs);
    this.timer.unref();
  }

  /** Schedules a cut of what is due, coalescing repeated kicks. */
  private kickCut(): void {
    if (this.closed) return;
    this.jobs.kick(
      async () => {
        if (!this.closed) await this.cut(Date.now(), false);
      },
      (err: unknown) => this.logger?.error({ err }, 'profile store: cutting blocks failed; it will be retried'),
    );
  }

  /** The windows due at `nowMs` (every one with `force`); over the memory bound, the oldest open ones too. */
  private windowsToCut(nowMs: number, force: boolean): CutWindow[] {
    if (force) return this.head.windowsToCut(nowMs, 0, true);
    const due = this.head.windowsToCut(nowMs, this.settings.cutDelayMs, false);
    let left = this.head.bytes - due.reduce((n, w) => n + w.bytes, 0);
    if (left <= this.settings.headMaxBytes) return due;
    const taken = new Set(due.map((w) => `${w.tenant}\u0000${w.windowStartMs}`));
    for (const w of this.head.windowsToCut(nowMs, 0, true)) {
      if (left <= this.settings.headMaxBytes / 2) break;
      if (taken.has(`${w.tenant}\u0000${w.windowStartMs}`)) continue;
      due.push(w);
      left -= w.bytes;
    }
    return due;
  }

  /**
   * Writes the due windows into blocks (one per tenant and window), registers them in one catalog
   * transaction, then takes their profiles out of the head and truncates the WAL below what the head still
   * needs. A crash before the catalog commit leaves files the next open removes (the profiles replay from the
   * WAL); after it, replay leaves out the profiles the blocks hold.
   */
  private async cut(nowMs: number, force: boolean): Promise<void> {
    const windows = this.windowsToCut(nowMs, force);
    if (windows.length === 0) return;
    const segment = this.wal.currentSegment;
    const written: ProfileBlock[] = [];
    try {
      for (const w of windows) {
        const seq = this.catalog.allocateSeq();
        const key = tenantKey(w.tenant, 'profiles', String(w.windowStartMs), String(seq));
        written.push(await this.writer.write({ seq, tenant: w.tenant, windowStartMs: w.windowStartMs, key, dir: this.bucket.pathOf(key), walSegment: segment }, w));
      }
      await this.maintenance.run(`INSERT INTO profile_blocks VALUES ${written.map(blockRow).join(', ')}`);
    } catch (err) {
      for (const b of written) await removeBlockDir(b.dir).catch(() => undefined);
      throw err;
    }
    // Publishing and taking the profiles out of the head happen in one step, so a reader sees each once.
    this.catalog.add(written);
    for (const w of windows) this.head.removeCut(w);
    this.logger?.debug({ blocks: written.length, profiles: written.reduce((n, b) => n + b.profiles, 0) }, 'profile store: cut blocks');
    // Profiles that arrive from now on go to a new segment; every older one the head no longer needs goes.
    const next = await this.wal.rotate();
    this.segmentStartedMs = Date.now();
    await this.wal.truncateBefore(Math.min(this.head.minSegment(), next));
  }

  private async submit(tenant: TenantId, profiles: readonly Profile[]): Promise<void> {
    if (this.closed) throw new RetryableStorageError('shutting_down', 'the profile store is shutting down; retry against the restarted server', 5);
    const refusal = this.health?.writeRefusal();
    if (refusal) throw refusal;
    if (this.head.bytes > 2 * this.settings.headMaxBytes) {
      this.kickCut();
      throw new RetryableStorageError(
        'overloaded',
        `the profile head holds ${this.head.bytes} bytes, over twice profiles.store.head_max_bytes (${this.settings.headMaxBytes}); cutting blocks is behind, retry shortly`,
        2,
      );
    }
    const firstSeq = this.nextSeq;
    this.nextSeq += profiles.length;
    const payload = encodeWalBatch({ tenant, profiles, firstSeq });
    const perProfile = Math.ceil(payload.length / profiles.length);
    try {
      await this.wal.append(payload, () => this.head.apply(tenant, profiles, this.wal.currentSegment, perProfile, firstSeq));
    } catch (err) {
      const answer = await diagnoseWriteFailure(err, payload.length, this.health, this.dir);
      if (!(answer instanceof RetryableStorageError)) this.logger?.error({ err }, 'profile store write failed');
      throw answer;
    }
    if (this.head.bytes > this.settings.headMaxBytes && this.timer) this.kickCut();
  }

  private async loadBlocks(): Promise<ProfileBlock[]> {
    const r = await this.maintenance.runAndReadAll(
      `SELECT seq, tenant, window_start_ms, key, wal_segment, profiles, samples, size_bytes, min_ms, max_ms, max_seq FROM profile_blocks ORDER BY seq`,
    );
    const reader = new ProfileBlockReader(this.maintenance);
    const out: ProfileBlock[] = [];
    for (const [seq, tenant, win, key, seg, profiles, samples, size, minMs, maxMs, maxSeq] of r.getRows()) {
      const dir = this.bucket.pathOf(String(key));
      out.push({
        seq: Number(seq),
        tenant: String(tenant) as TenantId,
        windowStartMs: Number(win),
        key: String(key),
        dir,
        walSegment: Number(seg),
        profiles: Number(profiles),
        samples: Number(samples),
        sizeBytes: Number(size),
        minMs: Number(minMs),
        maxMs: Number(maxMs),
        maxSeq: Number(maxSeq),
        series: await reader.series(dir),
      });
    }
    return out;
  }

  /** Deletes block directories no catalog row names: leftovers of a crash mid-cut. */
  private async removeOrphans(blocks: readonly ProfileBlock[]): Promise<void> {
    const live = new Set(blocks.map((b) => b.key));
    const orphans = new Set<string>();
    for (const o of await this.bucket.list('')) {
      const dir = o.key.slice(0, o.key.lastIndexOf('/'));
      if (!live.has(dir)) orphans.add(dir);
    }
    for (const key of orphans) {
      this.logger?.info({ key }, 'profile store: removing an unregistered block');
      await removeBlockDir(this.bucket.pathOf(key));
    }
  }

  /**
   * Replays every WAL segment into the head, leaving out the profiles that blocks cut after the oldest
   * segment still on disk already hold (the crash came between a cut's catalog commit and the WAL's
   * truncation).
   */
  private async replay(blocks: readonly ProfileBlock[]): Promise<void> {
    const first = (await this.wal.segments())[0];
    const recent = first === undefined ? [] : blocks.filter((b) => b.walSegment >= first);
    const held = await new ProfileBlockReader(this.maintenance).seqs(recent);
    const inBlock = held.size > 0 ? (seq: number) => held.has(seq) : undefined;
    let frames = 0;
    let segment = -1;
    let frameInSegment = 0;
    await this.wal.replay(0, (frame) => {
      if (frame.segment !== segment) {
        segment = frame.segment;
        frameInSegment = 0;
      }
      const batch = decodeWalBatch(frame.payload);
      const firstSeq = batch.firstSeq ?? -(frame.segment * LEGACY_SEGMENT_STRIDE + frameInSegment * LEGACY_FRAME_STRIDE) - LEGACY_FRAME_STRIDE;
      if (batch.firstSeq !== undefined) this.nextSeq = Math.max(this.nextSeq, batch.firstSeq + batch.profiles.length);
      if (batch.profiles.length > 0) this.head.apply(batch.tenant, batch.profiles, frame.segment, Math.ceil(frame.payload.length / batch.profiles.length), firstSeq, inBlock);
      frames++;
      frameInSegment++;
    });
    // Sequence numbers never repeat, even when every frame that held the highest ones was truncated away.
    for (const b of blocks) this.nextSeq = Math.max(this.nextSeq, b.maxSeq + 1);
    if (frames > 0) this.logger?.info({ frames, headBytes: this.head.bytes, profilesInBlocks: held.size }, 'profile store: WAL replayed into the head');
  }
}

function blockRow(b: ProfileBlock): string {
  return (
    `(${b.seq}, ${quoteString(b.tenant)}, ${b.windowStartMs}, ${quoteString(b.key)}, ${b.walSegment}, ${b.profiles}, ${b.samples}, ` +
    `${b.sizeBytes}, ${b.minMs}, ${b.maxMs}, ${b.maxSeq})`
  );
}
