import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { DuckDBConnection } from '@duckdb/node-api';
import type { TenantId, TimeRange } from '../model/index.ts';
import type { LocalBucket } from '../objstore/index.ts';
import { tenantKey } from '../objstore/index.ts';
import type { ColumnarDatabase } from './database.ts';
import { quoteIdent, quoteString, tenantToken } from './sql.ts';

/** A mutable (head) partition: a DuckDB table holding one tenant's rows for one time window. */
export interface PartitionRef {
  readonly tenant: TenantId;
  readonly startMs: number;
  /** Exclusive end of the window. */
  readonly endMs: number;
  readonly table: string;
}

/** An immutable block: one exported partition as a Parquet file in the bucket. */
export interface BlockRef {
  readonly tenant: TenantId;
  readonly startMs: number;
  readonly endMs: number;
  /** Bucket key, `<tenant>/<kind>/blocks/<start>-<end>.parquet`. */
  readonly key: string;
  /** Local path DuckDB reads (`read_parquet`). */
  readonly path: string;
  readonly rows: number;
  readonly sizeBytes: number;
}

export interface PartitionCatalogOptions {
  /** The engine's data kind, e.g. `samples` or `logs`: table prefix and bucket key segment. */
  readonly kind: string;
  /** Width of a partition's time window, e.g. 2 h. */
  readonly windowMs: number;
  /** The CREATE TABLE statement for a new partition table (the argument is the quoted table name). */
  readonly createTable: (quotedTable: string) => string;
}

/**
 * Tenant- and time-partitioned tables with a durable catalog, plus export of closed partitions to
 * Parquet blocks. Retention drops whole partitions and blocks, never rows.
 *
 * Contract: one catalog per kind per database; its methods serialise on the catalog's own connection, so
 * they are safe to call concurrently from one process. Tables it creates can be written through any
 * connection of the same database.
 */
export class PartitionCatalog {
  private readonly conn: DuckDBConnection;
  private readonly bucket: LocalBucket;
  private readonly opts: PartitionCatalogOptions;
  private readonly partitions = new Map<string, PartitionRef>();
  private readonly blockList: BlockRef[] = [];
  private queue: Promise<unknown> = Promise.resolve();

  private constructor(conn: DuckDBConnection, bucket: LocalBucket, opts: PartitionCatalogOptions) {
    this.conn = conn;
    this.bucket = bucket;
    this.opts = opts;
  }

  /** Opens the catalog, creating its tables on first use, and loads it into memory. */
  static async open(db: ColumnarDatabase, bucket: LocalBucket, opts: PartitionCatalogOptions): Promise<PartitionCatalog> {
    const conn = await db.connect();
    const cat = new PartitionCatalog(conn, bucket, opts);
    await conn.run(`CREATE TABLE IF NOT EXISTS _partitions (
      kind VARCHAR, tenant VARCHAR, start_ms BIGINT, end_ms BIGINT, table_name VARCHAR,
      PRIMARY KEY (kind, tenant, start_ms))`);
    await conn.run(`CREATE TABLE IF NOT EXISTS _blocks (
      kind VARCHAR, tenant VARCHAR, start_ms BIGINT, end_ms BIGINT, key VARCHAR, row_count BIGINT, size_bytes BIGINT,
      PRIMARY KEY (kind, key))`);
    const parts = await conn.runAndReadAll(
      `SELECT tenant, start_ms, end_ms, table_name FROM _partitions WHERE kind = ${quoteString(opts.kind)}`,
    );
    for (const [tenant, start, end, table] of parts.getRows()) {
      const ref: PartitionRef = { tenant: tenant as TenantId, startMs: Number(start), endMs: Number(end), table: String(table) };
      cat.partitions.set(partKey(ref.tenant, ref.startMs), ref);
    }
    const blocks = await conn.runAndReadAll(
      `SELECT tenant, start_ms, end_ms, key, row_count, size_bytes FROM _blocks WHERE kind = ${quoteString(opts.kind)} ORDER BY tenant, start_ms`,
    );
    for (const [tenant, start, end, key, rows, size] of blocks.getRows()) {
      cat.blockList.push({
        tenant: tenant as TenantId,
        startMs: Number(start),
        endMs: Number(end),
        key: String(key),
        path: bucket.pathOf(String(key)),
        rows: Number(rows),
        sizeBytes: Number(size),
      });
    }
    return cat;
  }

  /** The start of the window holding `timestampMs`. */
  windowStart(timestampMs: number): number {
    return Math.floor(timestampMs / this.opts.windowMs) * this.opts.windowMs;
  }

  /** The head partition for a tenant and timestamp, created (table and catalog row) if it does not exist. */
  async ensure(tenant: TenantId, timestampMs: number): Promise<PartitionRef> {
    const startMs = this.windowStart(timestampMs);
    const existing = this.partitions.get(partKey(tenant, startMs));
    if (existing) return existing;
    return this.serial(async () => {
      const again = this.partitions.get(partKey(tenant, startMs));
      if (again) return again;
      const table = `${this.opts.kind}_${tenantToken(tenant)}_${startMs < 0 ? `m${-startMs}` : startMs}`;
      const ref: PartitionRef = { tenant, startMs, endMs: startMs + this.opts.windowMs, table };
      await this.conn.run('BEGIN TRANSACTION');
      try {
        await this.conn.run(this.opts.createTable(quoteIdent(table)));
        await this.conn.run(
          `INSERT INTO _partitions VALUES (${quoteString(this.opts.kind)}, ${quoteString(tenant)}, ${startMs}, ${ref.endMs}, ${quoteString(table)})`,
        );
        await this.conn.run('COMMIT');
      } catch (err) {
        await this.conn.run('ROLLBACK');
        throw new Error(`creating partition ${table}: ${(err as Error).message}`, { cause: err });
      }
      this.partitions.set(partKey(tenant, startMs), ref);
      return ref;
    });
  }

  /** Head partitions, optionally of one tenant and overlapping a range, ordered by tenant then time. */
  list(tenant?: TenantId, range?: TimeRange): PartitionRef[] {
    return [...this.partitions.values()]
      .filter((p) => (tenant === undefined || p.tenant === tenant) && (!range || (p.startMs <= range.endMs && range.startMs < p.endMs)))
      .sort((a, b) => (a.tenant === b.tenant ? a.startMs - b.startMs : a.tenant < b.tenant ? -1 : 1));
  }

  /** Blocks, optionally of one tenant and overlapping a range, ordered by tenant then time. */
  blocks(tenant?: TenantId, range?: TimeRange): BlockRef[] {
    return this.blockList.filter(
      (b) => (tenant === undefined || b.tenant === tenant) && (!range || (b.startMs <= range.endMs && range.startMs < b.endMs)),
    );
  }

  /** Every tenant that has a partition or a block. */
  tenants(): TenantId[] {
    const set = new Set<TenantId>();
    for (const p of this.partitions.values()) set.add(p.tenant);
    for (const b of this.blockList) set.add(b.tenant);
    return [...set].sort();
  }

  /**
   * Writes a head partition out as a Parquet block (rows ordered by `orderBy`, zstd-compressed), then in
   * one transaction records the block and drops the table. A crash before that transaction leaves the
   * partition as it was (the stray file is overwritten by the next export).
   */
  async exportToBlock(ref: PartitionRef, orderBy: string): Promise<BlockRef> {
    return this.serial(async () => {
      const key = tenantKey(ref.tenant, this.opts.kind, 'blocks', `${ref.startMs}-${ref.endMs}.parquet`);
      const target = this.bucket.pathOf(key);
      await fs.mkdir(path.dirname(target), { recursive: true });
      const tmp = `${target}.tmp`;
      await this.conn.run(
        `COPY (SELECT * FROM ${quoteIdent(ref.table)} ORDER BY ${orderBy}) TO ${quoteString(tmp)} (FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE 122880)`,
      );
      const handle = await fs.open(tmp, 'r+');
      try {
        await handle.sync();
      } finally {
        await handle.close();
      }
      await fs.rename(tmp, target);
      const rows = Number((await this.conn.runAndReadAll(`SELECT count(*) FROM ${quoteIdent(ref.table)}`)).getRows()[0]![0]);
      const sizeBytes = (await fs.stat(target)).size;
      const block: BlockRef = { tenant: ref.tenant, startMs: ref.startMs, endMs: ref.endMs, key, path: target, rows, sizeBytes };
      await this.conn.run('BEGIN TRANSACTION');
      try {
        await this.conn.run(
          `INSERT OR REPLACE INTO _blocks VALUES (${quoteString(this.opts.kind)}, ${quoteString(ref.tenant)}, ${ref.startMs}, ${ref.endMs}, ${quoteString(key)}, ${rows}, ${sizeBytes})`,
        );
        await this.conn.run(`DELETE FROM _partitions WHERE kind = ${quoteString(this.opts.kind)} AND tenant = ${quoteString(ref.tenant)} AND start_ms = ${ref.startMs}`);
        await this.conn.run(`DROP TABLE ${quoteIdent(ref.table)}`);
        await this.conn.run('COMMIT');
      } catch (err) {
        await this.conn.run('ROLLBACK');
        throw new Error(`recording block ${key}: ${(err as Error).message}`, { cause: err });
      }
      this.partitions.delete(partKey(ref.tenant, ref.startMs));
      const i = this.blockList.findIndex((b) => b.key === key);
      if (i >= 0) this.blockList.splice(i, 1, block);
      else this.blockList.push(block);
      return block;
    });
  }

  /**
   * Drops a tenant's partitions and blocks whose window ended at or before `cutoffMs` (retention).
   * Returns how many of each were dropped.
   */
  async dropBefore(tenant: TenantId, cutoffMs: number): Promise<{ partitions: number; blocks: number }> {
    return this.serial(async () => {
      const parts = [...this.partitions.values()].filter((p) => p.tenant === tenant && p.endMs <= cutoffMs);
      const blocks = this.blockList.filter((b) => b.tenant === tenant && b.endMs <= cutoffMs);
      if (parts.length === 0 && blocks.length === 0) return { partitions: 0, blocks: 0 };
      const kind = quoteString(this.opts.kind);
      await this.conn.run('BEGIN TRANSACTION');
      try {
        for (const p of parts) {
          await this.conn.run(`DROP TABLE IF EXISTS ${quoteIdent(p.table)}`);
          await this.conn.run(`DELETE FROM _partitions WHERE kind = ${kind} AND tenant = ${quoteString(tenant)} AND start_ms = ${p.startMs}`);
        }
        for (const b of blocks) await this.conn.run(`DELETE FROM _blocks WHERE kind = ${kind} AND key = ${quoteString(b.key)}`);
        await this.conn.run('COMMIT');
      } catch (err) {
        await this.conn.run('ROLLBACK');
        throw new Error(`dropping partitions of ${tenant}: ${(err as Error).message}`, { cause: err });
      }
      for (const p of parts) this.partitions.delete(partKey(p.tenant, p.startMs));
      for (const b of blocks) {
        this.blockList.splice(this.blockList.indexOf(b), 1);
        await this.bucket.delete(b.key);
      }
      return { partitions: parts.length, blocks: blocks.length };
    });
  }

  /** Closes the catalog's connection. */
  close(): void {
    this.conn.closeSync();
  }

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.queue.then(fn, fn);
    this.queue = run.catch(() => undefined);
    return run;
  }
}

function partKey(tenant: string, startMs: number): string {
  return `${tenant}\u0000${startMs}`;
}
