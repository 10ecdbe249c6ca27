import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { DuckDBAppender, DuckDBConnection } from '@duckdb/node-api';
import type { Logger } from 'pino';
import { quoteString } from '../columnar/index.ts';
import type { Labels, TenantId } from '../model/index.ts';
import { RetryableStorageError, StorageUnavailableError, diagnoseWriteFailure } from '../storage/index.ts';
import type { CommitStats, StorageHealth } from '../storage/index.ts';
import type { Catalog, HeadInfo } from './catalog.ts';
import { DuplicateEntryFilter } from './duplicate-entries.ts';
import type { DropMask } from './duplicate-entries.ts';

/** Entries of one appender's transaction, columnar, ready to append to the head table. */
export interface WriteBatch {
  readonly tenant: TenantId;
  /** Every stream the entries reference (id → labels). */
  readonly streams: ReadonlyMap<bigint, Labels>;
  readonly pids: readonly number[];
  readonly streamIds: readonly bigint[];
  readonly timestampsNs: readonly bigint[];
  readonly lines: readonly string[];
  /** Structured metadata as a JSON object text, or null. */
  readonly metadata: readonly (string | null)[];
  readonly rawBytes: number;
}

export interface HeadWriterOptions {
  readonly headMaxBytes: number;
  readonly headMaxAgeMs: number;
  /** Bytes waiting to be committed beyond which `submit` refuses with a retryable error (429). */
  readonly maxPendingBytes: number;
  /** Sealed heads waiting for compaction beyond which `submit` refuses (compaction is behind). */
  readonly maxSealedHeads: number;
  /** Called after a head was sealed, to start its compaction. */
  readonly onSealed: () => void;
  /** Where head generation databases live. */
  readonly headsDir: string;
  readonly logger?: Logger;
  /** The data directory's monitor: refuses writes while the directory is lost and classifies write failures. */
  readonly health?: StorageHealth;
}

async function fileExists(file: string): Promise<boolean> {
  try {
    await fs.stat(file);
    return true;
  } catch {
    return false;
  }
}

/** The head generation `gen` whose database file lives in `headsDir`. */
export function headInfo(headsDir: string, gen: number): HeadInfo {
  const alias = `head_${gen}`;
  return { gen, alias, table: `${alias}.rows`, file: path.join(headsDir, `head-${gen}.duckdb`) };
}

/** Attaches a head generation's database (creating it and its table if new). */
export async function attachHead(conn: DuckDBConnection, head: HeadInfo): Promise<void> {
  await conn.run(`ATTACH IF NOT EXISTS ${quoteString(head.file)} AS ${head.alias}`);
  await conn.run(
    `CREATE TABLE IF NOT EXISTS ${head.table} (pid INTEGER NOT NULL, stream_id BIGINT NOT NULL, ts BIGINT NOT NULL, line VARCHAR NOT NULL, md VARCHAR)`,
  );
}

interface Pending {
  readonly batch: WriteBatch;
  readonly resolve: (s: CommitStats) => void;
  readonly reject: (e: unknown) => void;
}

const MAX_KNOWN_STREAMS = 1_000_000;
/** Pause between attempts to start a new head after one failed. */
const ROTATE_RETRY_MS = 5_000;

/** A connection appending head rows, with the commit it has in flight. */
interface Lane {
  readonly conn: DuckDBConnection;
  appender: DuckDBAppender | undefined;
  inflight: Promise<void> | undefined;
}

/**
 * The write path: batches from appenders are group-committed into the active head table (one DuckDB
 * transaction, so one WAL fsync, for all batches that queued up while the previous commit ran), then become
 * queryable at once. Head rows are appended on two connections in turn, so one group's `COMMIT` (the WAL
 * write and fsync, on a DuckDB thread) overlaps the next group's appends. The head rotates to a new
 * generation by size or age; sealed generations are compacted into Parquet blocks by the compactor.
 *
 * Contract: `submit` resolves only after the batch's transaction committed (durable: DuckDB's WAL is synced
 * on commit), rejects with {@link RetryableStorageError} on overload or shutdown and with
 * `StorageUnavailableError` when the disk is full or the data directory is lost (nothing of the batch kept
 * either way: DuckDB cuts a failed commit off its WAL, and writing goes on once space is freed), and with a
 * plain `Error` on another I/O failure. Index writes, rotation and jobs run serially on the writer's main
 * connection.
 */
export class HeadWriter {
  private readonly conn: DuckDBConnection;
  private readonly lanes: Lane[];
  private nextLane = 0;
  private readonly catalog: Catalog;
  private readonly opts: HeadWriterOptions;
  private readonly queue: Pending[] = [];
  private pendingBytes = 0;
  private flushScheduled = false;
  private chain: Promise<unknown> = Promise.resolve();
  private stageAppender: DuckDBAppender | undefined;
  private readonly known = new Set<string>();
  /** Bumped after every committed change of `log_streams` (`streamsVersion`). */
  private streamsChanged = 0;
  private readonly duplicates = new DuplicateEntryFilter();
  private closing = false;
  /** Rows, line bytes and first write time of the active head. */
  private headRows = 0;
  private headBytes = 0;
  private headFirstWriteMs = 0;
  /** After a failed rotation (disk full), the next one is not tried before this time. */
  private rotateRetryAtMs = 0;

  private constructor(conn: DuckDBConnection, laneConns: readonly DuckDBConnection[], catalog: Catalog, opts: HeadWriterOptions) {
    this.conn = conn;
    this.lanes = laneConns.map((c) => ({ conn: c, appender: undefined, inflight: undefined }));
    this.catalog = catalog;
    this.opts = opts;
  }

  /**
   * Opens the writer on its own connections (`conn` for the index and jobs, `laneConns` for head rows),
   * creating the first head generation if there is none.
   */
  static async open(
    conn: DuckDBConnection,
    laneConns: readonly DuckDBConnection[],
    catalog: Catalog,
    opts: HeadWriterOptions,
  ): Promise<HeadWriter> {
    const w = new HeadWriter(conn, laneConns, catalog, opts);
    await conn.run('CREATE TABLE IF NOT EXISTS log_stream_stage (tenant VARCHAR, stream_id BIGINT, labels_json VARCHAR)');
    await conn.run('DELETE FROM log_stream_stage');
    const active = catalog.activeHead();
    if (!active) {
      await w.createHead(1);
    } else {
      const r = await conn.runAndReadAll(
        `SELECT count(*), coalesce(sum(strlen(line)), 0) FROM ${active.table}`,
      );
      const [rows, bytes] = r.getRows()[0]!;
      w.headRows = Number(rows);
      w.headBytes = Number(bytes);
      w.headFirstWriteMs = Date.now();
    }
    for (const lane of w.lanes) lane.appender = await lane.conn.createAppender('rows', 'main', catalog.activeHead()!.alias);
    w.stageAppender = await conn.createAppender('log_stream_stage');
    return w;
  }

  /** Queues a batch for the next group commit. */
  submit(batch: WriteBatch): Promise<CommitStats> {
    if (this.closing) {
      return Promise.reject(new RetryableStorageError('shutting_down', 'the log store is shutting down; retry against the restarted server', 5));
    }
    const refusal = this.opts.health?.writeRefusal();
    if (refusal) return Promise.reject(refusal);
    if (this.pendingBytes > 0 && this.pendingBytes + batch.rawBytes > this.opts.maxPendingBytes) {
      return Promise.reject(
        new RetryableStorageError('overloaded', `log ingestion is behind: ${this.pendingBytes} bytes are waiting to be written`, 1),
      );
    }
    if (this.catalog.sealedHeads().length > this.opts.maxSealedHeads) {
      return Promise.reject(
        new RetryableStorageError('overloaded', 'log compaction is behind ingestion; slow down and retry', 2),
      );
    }
    this.pendingBytes += batch.rawBytes;
    return new Promise<CommitStats>((resolve, reject) => {
      this.queue.push({ batch, resolve, reject });
      if (!this.flushScheduled) {
        this.flushScheduled = true;
        void this.enqueue(async () => {
          this.flushScheduled = false;
          const group = this.queue.splice(0, this.queue.length);
          if (group.length > 0) await this.commitGroup(group);
          await this.maybeRotate(false);
          // commitGroup logs and rejects each waiting push, maybeRotate logs its own failure: nothing is lost here.
        }).catch(() => undefined);
      }
    });
  }

  /** Seals the active head if it is old or large enough (or non-empty, with `force`). */
  rotate(force: boolean): Promise<void> {
    return this.enqueue(() => this.maybeRotate(force));
  }

  /** Runs `job` after every queued write and job; it may use the writer's connection meanwhile. */
  enqueue<T>(job: (conn: DuckDBConnection) => Promise<T>): Promise<T> {
    const run0 = (): Promise<T> => job(this.conn);
    const run = this.chain.then(run0, run0);
    // The job's own error reaches its caller through `run`; the chain only orders the jobs.
    this.chain = run.catch(() => undefined);
    return run;
  }

  /**
   * Runs `job` on the writer's main connection once every queued write is committed (lanes settled), so it
   * sees all acknowledged entries and no write runs meanwhile.
   */
  exclusive<T>(job: (conn: DuckDBConnection) => Promise<T>): Promise<T> {
    return this.enqueue(async (conn) => {
      await this.settleLanes();
      return job(conn);
    });
  }

  /** Line bytes in the active head (committed, not yet compacted). */
  get activeHeadBytes(): number {
    return this.headBytes;
  }

  /** Forgets which streams are known to be in the index (after retention removed some). */
  forgetKnownStreams(): void {
    this.known.clear();
    this.streamsChanged++;
  }

  /** Changes after every committed change of `log_streams` (see stream-labels.ts). */
  get streamsVersion(): number {
    return this.streamsChanged;
  }

  /** Refuses new batches, waits for queued ones and commits in flight, and closes the connections. */
  async close(): Promise<void> {
    this.closing = true;
    await this.enqueue(async () => {
      await this.settleLanes();
      for (const lane of this.lanes) {
        lane.appender?.closeSync();
        lane.appender = undefined;
        lane.conn.closeSync();
      }
      this.stageAppender?.closeSync();
      this.stageAppender = undefined;
      this.conn.closeSync();
    });
  }

  /** Waits for every lane's commit in flight (their outcome is reported to the batches, not here). */
  private async settleLanes(): Promise<void> {
    await Promise.all(this.lanes.map((l) => l.inflight));
  }

  private async commitGroup(group: Pending[]): Promise<void> {
    const conn = this.conn;
    let bytes = 0;
    let rows = 0;
    const pids = new Set<number>();
    const newStreams: { tenant: TenantId; id: bigint; labels: Labels; key: string }[] = [];
    const seen = new Set<string>();
    for (const { batch } of group) {
      bytes += batch.rawBytes;
      rows += batch.lines.length;
      for (const pid of batch.pids) pids.add(pid);
      for (const [id, labels] of batch.streams) {
        const key = `${batch.tenant}\u0000${id}`;
        if (this.known.has(key) || seen.has(key)) continue;
        seen.add(key);
        newStreams.push({ tenant: batch.tenant, id, labels, key });
      }
    }
    const fail = (err: unknown, stage: string): void => {
      this.pendingBytes -= bytes;
      const wrapped = new Error(`log store: writing ${rows} entries failed (${stage}): ${(err as Error).message}`, { cause: err });
      void diagnoseWriteFailure(wrapped, bytes, this.opts.health, this.opts.headsDir).then((answer) => {
        // A full disk or a lost directory is logged once by the data directory's monitor, not per batch.
        if (answer instanceof StorageUnavailableError) this.opts.logger?.debug({ err: wrapped }, 'log store write refused');
        else this.opts.logger?.error({ err: wrapped }, 'log store write failed');
        for (const p of group) p.reject(answer);
      });
    };
    // Entries identical to stored ones (a retried push) are left out; the push still succeeds, as in Loki.
    let drops: DropMask[];
    try {
      drops = await this.duplicates.find(
        group.map((p) => p.batch),
        () => this.catalog.acquire(),
        async (sql) => {
          // The lookup must see every earlier group's rows: wait for the lanes' commits in flight.
          await this.settleLanes();
          return (await conn.runAndReadAll(sql)).getRows();
        },
      );
    } catch (err) {
      fail(err, 'duplicate check');
      return;
    }
    const newParts = this.catalog.unpersistedAmong(pids);
    // DuckDB writes one attached database per transaction: index rows (partitions, streams) commit first
    // in the main database, then the entries in the head's. A crash between leaves index rows without
    // entries, which no read shows; the batch itself was not acknowledged.
    if (newParts.length > 0 || newStreams.length > 0) {
      try {
        await conn.run('BEGIN TRANSACTION');
        if (newParts.length > 0) {
          const values = newParts
            .map((p) => `(${p.pid}, ${quoteString(p.tenant)}, ${quoteString(p.cls)}, ${p.windowStartMs}, ${p.windowEndMs})`)
            .join(', ');
          await conn.run(`INSERT INTO log_partitions VALUES ${values} ON CONFLICT DO NOTHING`);
        }
        if (newStreams.length > 0) {
          const st = this.stageAppender!;
          for (const s of newStreams) {
            st.appendVarchar(s.tenant);
            st.appendBigInt(s.id);
            st.appendVarchar(JSON.stringify(s.labels));
            st.endRow();
          }
          st.flushSync();
          // The anti-join makes re-inserting a stream harmless, so the in-memory `known` set is only a cache.
          await conn.run(`INSERT INTO log_streams
            SELECT DISTINCT s.tenant, s.stream_id, CAST(s.labels_json::JSON AS MAP(VARCHAR, VARCHAR))
            FROM log_stream_stage s
            WHERE NOT EXISTS (SELECT 1 FROM log_streams x WHERE x.tenant = s.tenant AND x.stream_id = s.stream_id)`);
          await conn.run('DELETE FROM log_stream_stage');
        }
        await conn.run('COMMIT');
        if (newStreams.length > 0) this.streamsChanged++;
      } catch (err) {
        try {
          await conn.run('ROLLBACK');
        } catch {
          // No transaction was open (BEGIN itself failed).
        }
        try {
          this.stageAppender?.clear();
          this.stageAppender?.closeSync();
        } catch {
          // A failed appender may refuse to close; a new one replaces it.
        }
        this.stageAppender = await conn.createAppender('log_stream_stage');
        fail(err, 'index');
        return;
      }
      this.catalog.markPersisted(newParts.map((p) => p.pid));
      if (this.known.size + newStreams.length > MAX_KNOWN_STREAMS) this.known.clear();
      for (const s of newStreams) this.known.add(s.key);
    }

    const lane = this.lanes[this.nextLane]!;
    this.nextLane = (this.nextLane + 1) % this.lanes.length;
    // A connection runs one transaction at a time: wait for this lane's previous commit.
    await lane.inflight;
    try {
      await lane.conn.run('BEGIN TRANSACTION');
      const app = lane.appender!;
      for (let g = 0; g < group.length; g++) {
        const { pids: bp, streamIds, timestampsNs, lines, metadata } = group[g]!.batch;
        const drop = drops[g];
        for (let i = 0; i < lines.length; i++) {
          if (drop !== undefined && drop[i] === 1) continue;
          app.appendInteger(bp[i]!);
          app.appendBigInt(streamIds[i]!);
          app.appendBigInt(timestampsNs[i]!);
          app.appendVarchar(lines[i]!);
          const md = metadata[i];
          if (md === null || md === undefined) app.appendNull();
          else app.appendVarchar(md);
          app.endRow();
        }
      }
      app.flushSync();
    } catch (err) {
      await this.resetLane(lane);
      fail(err, 'append');
      return;
    }
    if (this.headRows === 0) this.headFirstWriteMs = Date.now();
    this.headRows += rows;
    this.headBytes += bytes;
    // The commit runs on a DuckDB thread while the next group is appended on the other lane.
    const headFile = this.catalog.activeHead()!.file;
    lane.inflight = lane.conn.run('COMMIT').then(
      async () => {
        // A head file deleted under us (its directory removed) takes commits that no restart will see.
        if (!(await fileExists(headFile))) {
          fail(new Error(`head database ${headFile} was deleted`), 'commit');
          return;
        }
        this.pendingBytes -= bytes;
        for (const p of group) p.resolve({ records: p.batch.lines.length });
      },
      async (err: unknown) => {
        fail(err, 'commit');
        try {
          await this.resetLane(lane);
        } catch (resetErr) {
          this.opts.logger?.error({ err: resetErr }, 'log store: resetting a write connection failed');
        }
      },
    );
  }

  private async maybeRotate(force: boolean): Promise<void> {
    if (this.headRows === 0 || (!force && Date.now() < this.rotateRetryAtMs)) return;
    const due =
      force || this.headBytes >= this.opts.headMaxBytes || Date.now() - this.headFirstWriteMs >= this.opts.headMaxAgeMs;
    if (!due) return;
    // Every row of the sealed head must be committed before the compactor reads it.
    await this.settleLanes();
    const current = this.catalog.activeHead()!;
    for (const lane of this.lanes) {
      lane.appender?.closeSync();
      lane.appender = undefined;
    }
    let sealed = true;
    try {
      await this.createHead(current.gen + 1);
    } catch (err) {
      // The disk may be full: keep appending to the current head and try again a little later.
      sealed = false;
      this.rotateRetryAtMs = Date.now() + ROTATE_RETRY_MS;
      this.opts.logger?.warn({ err }, `log store: starting a new head failed; the current head stays active, retrying in ${ROTATE_RETRY_MS / 1000} s`);
    }
    for (const lane of this.lanes) lane.appender = await lane.conn.createAppender('rows', 'main', this.catalog.activeHead()!.alias);
    if (!sealed) return;
    this.headRows = 0;
    this.headBytes = 0;
    this.opts.onSealed();
  }

  /**
   * Starts head generation `gen`: its database file and table first, then its `log_heads` row (a crash in
   * between leaves a file no row names, removed at open).
   */
  private async createHead(gen: number): Promise<void> {
    const head = headInfo(this.opts.headsDir, gen);
    try {
      await attachHead(this.conn, head);
      await this.conn.run(`INSERT INTO log_heads VALUES (${gen}, ${Date.now()})`);
    } catch (err) {
      // A half-written file (the disk filled) would make every later attempt fail as "not a valid DuckDB
      // database file": detach it and remove it, so the next rotation starts clean.
      await this.conn.run(`DETACH DATABASE IF EXISTS ${head.alias}`).catch(() => undefined);
      await fs.rm(head.file, { force: true }).catch(() => undefined);
      await fs.rm(`${head.file}.wal`, { force: true }).catch(() => undefined);
      throw new Error(`log store: creating head ${head.file}: ${(err as Error).message}`, { cause: err });
    }
    this.catalog.addHead(head);
  }

  /** Rolls back a lane's transaction (if any) and gives it a fresh appender on the active head. */
  private async resetLane(lane: Lane): Promise<void> {
    try {
      await lane.conn.run('ROLLBACK');
    } catch {
      // No transaction was open.
    }
    try {
      lane.appender?.clear();
      lane.appender?.closeSync();
    } catch {
      // A failed appender may refuse to close; a new one replaces it either way.
    }
    lane.appender = await lane.conn.createAppender('rows', 'main', this.catalog.activeHead()!.alias);
  }
}
