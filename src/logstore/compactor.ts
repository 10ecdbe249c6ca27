import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { DuckDBConnection } from '@duckdb/node-api';
import type { Logger } from 'pino';
import { quoteString } from '../columnar/index.ts';
import type { LocalBucket } from '../objstore/index.ts';
import { publishFileDurably, tenantKey, writeFileDurably } from '../objstore/index.ts';
import type { BlockInfo, Catalog, HeadInfo, PartitionInfo, Reclaim } from './catalog.ts';
import type { RetentionPolicy } from './retention.ts';
import { blocksSql } from './sql.ts';
import { BLOCK_FORMAT, BLOOM_GROUP_ROWS, FORMAT_VERSION, ROW_GROUP_ROWS, bloomPath } from './format.ts';
import { TokenBloomBuilder } from './token-bloom.ts';

export interface CompactorOptions {
  /** Blocks of a partition are merged while their total line bytes stay under this. */
  readonly mergeTargetBytes: number;
  /** A partition's window is closed (its blocks merge) this long after its end. */
  readonly closeGraceMs: number;
  /** Merge an open window's blocks once it has this many. */
  readonly maxOpenBlocks: number;
  /** zstd level of blocks cut from heads and of merges in open windows (fast). */
  readonly zstdLevel: number;
  /** zstd level a closed window's blocks are rewritten with, once (smaller, and read-only from then on). */
  readonly finalZstdLevel: number;
  /**
   * Whether a checkpoint now is cheap: a checkpoint writes the active head's rows into the database file,
   * where they linger as free space once that head is dropped, so checkpoints wait for a near-empty head.
   */
  readonly checkpointCheap: () => boolean;
  readonly logger?: Logger;
}


/**
 * Turns sealed head generations into Parquet blocks (one per partition, rows sorted by stream then time,
 * zstd), merges a partition's small blocks, and applies retention by dropping whole partitions.
 *
 * Contract: all work runs serially on the compactor's own connection (`enqueue`). Every catalog change is
 * written in one DuckDB transaction after the files it names are durable (fsynced and renamed), so a crash
 * at any point leaves either the old or the new state; files no catalog row names are removed at open.
 */
export class Compactor {
  private readonly conn: DuckDBConnection;
  private readonly catalog: Catalog;
  private readonly bucket: LocalBucket;
  private readonly opts: CompactorOptions;
  private chain: Promise<unknown> = Promise.resolve();
  private kicked = false;
  private checkpointOwed = false;

  constructor(conn: DuckDBConnection, catalog: Catalog, bucket: LocalBucket, opts: CompactorOptions) {
    this.conn = conn;
    this.catalog = catalog;
    this.bucket = bucket;
    this.opts = opts;
  }

  /** Runs `job` after every queued compaction job. */
  enqueue<T>(job: () => Promise<T>): Promise<T> {
    const run = this.chain.then(job, job);
    // The job's own error reaches its caller through `run`; the chain only orders the jobs.
    this.chain = run.catch(() => undefined);
    return run;
  }

  /** Schedules a compaction pass (sealed heads, then merges), coalescing repeated kicks. */
  kick(): void {
    if (this.kicked) return;
    this.kicked = true;
    void this.compactNow(Date.now(), false, () => {
      this.kicked = false;
    }).catch((err: unknown) => this.opts.logger?.error({ err }, 'log compaction failed; it will be retried'));
  }

  /**
   * Compacts every sealed head and merges what is due (serially with other jobs), then checkpoints once the
   * retired heads were dropped, so the checkpoint has (almost) nothing to write.
   */
  async compactNow(nowMs: number, forceMerge = false, onStart?: () => void): Promise<void> {
    const did = await this.enqueue(async () => {
      onStart?.();
      let any = false;
      for (const head of this.catalog.sealedHeads()) {
        await this.compactHead(head);
        any = true;
      }
      return (await this.mergeDue(nowMs, forceMerge)) || any;
    });
    // Reclaim jobs for heads nobody reads were queued during the pass; this runs after them.
    if (did || this.checkpointOwed) {
      await this.enqueue(async () => {
        if (this.opts.checkpointCheap()) await this.checkpoint();
        else this.checkpointOwed = true;
      });
    }
  }

  /** Writes a sealed head's rows out as blocks and retires the head. */
  async compactHead(head: HeadInfo): Promise<void> {
    const table = head.table;
    const r = await this.conn.runAndReadAll(
      `SELECT pid, count(*), min(ts), max(ts), sum(strlen(line)) FROM ${table} GROUP BY pid ORDER BY pid`,
    );
    const blocks: BlockInfo[] = [];
    try {
      for (const [pidV, rowsV, minV, maxV, rawV] of r.getRows()) {
        const p = this.catalog.partition(Number(pidV));
        if (!p) continue; // dropped by retention meanwhile: its rows go with the head table
        const block = await this.writeBlock(
          p,
          `SELECT stream_id, ts, line, md, strlen(line)::INTEGER AS nbytes FROM ${table} WHERE pid = ${p.pid} ORDER BY stream_id, ts`,
          { rows: Number(rowsV), minTs: minV as bigint, maxTs: maxV as bigint, rawBytes: Number(rawV), level: 0 },
          this.opts.zstdLevel,
        );
        blocks.push(block);
      }
      await this.conn.run('BEGIN TRANSACTION');
      try {
        if (blocks.length > 0) await this.conn.run(`INSERT INTO log_blocks VALUES ${blocks.map(blockValues).join(', ')}`);
        await this.conn.run(`DELETE FROM log_heads WHERE gen = ${head.gen}`);
        await this.conn.run('COMMIT');
      } catch (err) {
        await this.conn.run('ROLLBACK');
        throw new Error(`log store: recording blocks of head ${head.gen}: ${(err as Error).message}`, { cause: err });
      }
    } catch (err) {
      await removeUnrecorded(blocks);
      throw err;
    }
    this.catalog.replaceHead(head, blocks);
  }

  /**
   * Merges each partition's blocks: a closed window's blocks (or its one block, if not yet final) are
   * rewritten into final blocks at the higher zstd level; an open window's small blocks are merged at the
   * fast level once there are too many of them.
   */
  private async mergeDue(nowMs: number, force: boolean): Promise<boolean> {
    const byPid = new Map<number, BlockInfo[]>();
    for (const b of this.catalog.allBlocks()) {
      let list = byPid.get(b.pid);
      if (!list) byPid.set(b.pid, (list = []));
      list.push(b);
    }
    let did = false;
    for (const [pid, all] of byPid) {
      const p = this.catalog.partition(pid);
      if (!p) continue;
      const closed = force || p.windowEndMs + this.opts.closeGraceMs <= nowMs;
      const final = this.opts.finalZstdLevel;
      let list: BlockInfo[];
      let level: number;
      if (closed) {
        list = all.filter((b) => b.rawBytes < this.opts.mergeTargetBytes || b.zstdLevel < final);
        if (list.length === 0 || (list.length === 1 && list[0]!.zstdLevel >= final)) continue;
        level = final;
      } else {
        list = all.filter((b) => b.rawBytes < this.opts.mergeTargetBytes);
        if (list.length < this.opts.maxOpenBlocks) continue;
        level = this.opts.zstdLevel;
      }
      let group: BlockInfo[] = [];
      let bytes = 0;
      const flush = async (): Promise<void> => {
        if (group.length >= 2 || (group.length === 1 && group[0]!.zstdLevel < level)) await this.merge(p, group, level);
        group = [];
        bytes = 0;
      };
      for (const b of list) {
        if (group.length > 0 && bytes + b.rawBytes > this.opts.mergeTargetBytes) await flush();
        group.push(b);
        bytes += b.rawBytes;
      }
      await flush();
      did = true;
    }
    return did;
  }

  private async merge(p: PartitionInfo, blocks: BlockInfo[], zstdLevel: number): Promise<void> {
    let rows = 0;
    let rawBytes = 0;
    let minTs = blocks[0]!.minTs;
    let maxTs = blocks[0]!.maxTs;
    let level = 0;
    for (const b of blocks) {
      rows += b.rows;
      rawBytes += b.rawBytes;
      if (b.minTs < minTs) minTs = b.minTs;
      if (b.maxTs > maxTs) maxTs = b.maxTs;
      level = Math.max(level, b.level + 1);
    }
    const merged = await this.writeBlock(
      p,
      `SELECT stream_id, ts, line, md, nbytes FROM (${blocksSql(blocks, 'stream_id, ts, line, md, nbytes')}) ORDER BY stream_id, ts`,
      { rows, minTs, maxTs, rawBytes, level },
      zstdLevel,
    );
    await this.conn.run('BEGIN TRANSACTION');
    try {
      await this.conn.run(`INSERT INTO log_blocks VALUES ${blockValues(merged)}`);
      await this.conn.run(`DELETE FROM log_blocks WHERE seq IN (${blocks.map((b) => b.seq).join(', ')})`);
      await this.conn.run('COMMIT');
    } catch (err) {
      await this.conn.run('ROLLBACK');
      await removeUnrecorded([merged]);
      throw new Error(`log store: recording merged block ${merged.key}: ${(err as Error).message}`, { cause: err });
    }
    this.catalog.replaceBlocks(blocks, merged);
  }

  /**
   * Drops every partition whose window ended more than its retention period before `nowMs` (whole
   * partitions: blocks and index rows, never single entries). Returns what was dropped.
   */
  applyRetention(nowMs: number, policy: RetentionPolicy): Promise<{ partitions: number; blocks: number; tenants: string[] }> {
    return this.enqueue(async () => {
      const expired: PartitionInfo[] = [];
      for (const p of this.catalog.allPartitions()) {
        const period = policy.periodMs(p.tenant, p.cls);
        if (period > 0 && p.windowEndMs <= nowMs - period) expired.push(p);
      }
      if (expired.length === 0) return { partitions: 0, blocks: 0, tenants: [] };
      const pids = expired.map((p) => p.pid);
      await this.conn.run('BEGIN TRANSACTION');
      try {
        for (let i = 0; i < pids.length; i += 1000) {
          const list = pids.slice(i, i + 1000).join(', ');
          await this.conn.run(`DELETE FROM log_blocks WHERE pid IN (${list})`);
          await this.conn.run(`DELETE FROM log_partitions WHERE pid IN (${list})`);
        }
        await this.conn.run('COMMIT');
      } catch (err) {
        await this.conn.run('ROLLBACK');
        throw new Error(`log store: applying retention: ${(err as Error).message}`, { cause: err });
      }
      const blocks = this.catalog.dropPartitions(pids);
      return { partitions: expired.length, blocks: blocks.length, tenants: [...new Set(expired.map((p) => p.tenant))] };
    });
  }

  /** Waits for queued jobs, then closes the compactor's connection. */
  async close(): Promise<void> {
    await this.enqueue(async () => {
      this.conn.closeSync();
    });
  }

  /** Drops a retired head table or deletes a retired block file (run through `enqueue`). */
  async reclaim(r: Reclaim): Promise<void> {
    if (r.kind === 'head') {
      // Emptied first, so detaching (which checkpoints the database) has nothing to write.
      await this.conn.run(`DROP TABLE IF EXISTS ${r.head.table}`);
      await this.conn.run(`DETACH DATABASE IF EXISTS ${r.head.alias}`);
      await fs.rm(r.head.file, { force: true });
      await fs.rm(`${r.head.file}.wal`, { force: true });
    } else {
      await this.bucket.delete(r.block.key);
      if (r.block.format >= 3) await this.bucket.delete(bloomPath(r.block.key));
    }
  }

  /**
   * Folds the WAL into the database file; the head tables dropped since make this cheap. A plain checkpoint
   * is refused while another connection holds a write transaction: it is then retried at the next pass
   * (DuckDB also checkpoints by itself once the WAL passes `checkpoint_threshold`). `force` waits for
   * running transactions instead.
   */
  async checkpoint(force = false): Promise<void> {
    try {
      await this.conn.run(force ? 'FORCE CHECKPOINT' : 'CHECKPOINT');
      this.checkpointOwed = false;
    } catch (err) {
      this.checkpointOwed = true;
      this.opts.logger?.debug({ err }, 'log store checkpoint deferred');
    }
  }

  /**
   * The token blooms of a written block file, from its lines read back in row order (tokenizing in JavaScript
   * costs a fraction of what splitting lines in SQL does).
   */
  private async buildBlooms(file: string): Promise<Uint8Array> {
    const builder = new TokenBloomBuilder(BLOOM_GROUP_ROWS);
    const result = await this.conn.stream(`SELECT file_row_number, line FROM read_parquet(${quoteString(file)}, file_row_number = true)`);
    for (;;) {
      const chunk = await result.fetchChunk();
      if (!chunk || chunk.rowCount === 0) break;
      const rows = chunk.getColumnVector(0);
      const lines = chunk.getColumnVector(1);
      const n = chunk.rowCount;
      // Each row says where it is: the builder needs no particular order.
      for (let i = 0; i < n; i++) builder.add(Number(rows.getItem(i)), lines.getItem(i) as string);
    }
    return builder.serialize();
  }

  private async writeBlock(
    p: PartitionInfo,
    select: string,
    stats: { rows: number; minTs: bigint; maxTs: bigint; rawBytes: number; level: number },
    zstdLevel: number,
  ): Promise<BlockInfo> {
    const seq = this.catalog.allocateSeq();
    const key = tenantKey(p.tenant, 'logs', String(p.windowStartMs), `${p.cls}-${seq}.parquet`);
    const target = this.bucket.pathOf(key);
    const dir = path.dirname(target);
    await fs.mkdir(dir, { recursive: true });
    await publishFileDurably(target, async (tmp) => {
      // Small row groups, so a query reads only the groups its blooms let through.
      await this.conn.run(
        `COPY (${select}) TO ${quoteString(tmp)} (FORMAT parquet, PARQUET_VERSION V2, COMPRESSION zstd, COMPRESSION_LEVEL ${zstdLevel}, ` +
          `ROW_GROUP_SIZE ${ROW_GROUP_ROWS}, KV_METADATA {heimdall_logs_format: '${FORMAT_VERSION}'})`,
      );
      // The sidecar is durable before the block is: a crash in between leaves files the orphan sweep removes.
      await writeFileDurably(bloomPath(target), await this.buildBlooms(tmp));
    });
    const sizeBytes = (await fs.stat(target)).size;
    return { seq, pid: p.pid, key, path: target, sizeBytes, zstdLevel, format: BLOCK_FORMAT, ...stats };
  }
}

function blockValues(b: BlockInfo): string {
  return `(${b.seq}, ${b.pid}, ${quoteString(b.key)}, ${b.rows}, ${b.rawBytes}, ${b.sizeBytes}, ${b.minTs}, ${b.maxTs}, ${b.level}, ${b.zstdLevel}, ${b.format})`;
}

/**
 * Deletes block files written by a compaction that failed before recording them (the disk may be full: a
 * retry needs their space; a crash instead leaves them to the orphan sweep at open).
 */
async function removeUnrecorded(blocks: readonly BlockInfo[]): Promise<void> {
  // Best effort after a failure already reported: a file left behind is removed by the orphan sweep at open.
  for (const b of blocks) {
    await fs.rm(b.path, { force: true }).catch(() => undefined);
    await fs.rm(bloomPath(b.path), { force: true }).catch(() => undefined);
  }
}
