import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import type { DuckDBConnection } from '@duckdb/node-api';
import { openFormatStamp } from './format-stamp.ts';

export interface ColumnarOptions {
  /** Directory holding the database file, its WAL, its format stamp and its spill directory. */
  readonly dir: string;
  /** Database name: the file is `<dir>/<name>.duckdb`. */
  readonly name: string;
  /** The on-disk format version the engine writes (stamped as `<name>.format.json`); newer data is refused. */
  readonly formatVersion: number;
  /** DuckDB's memory limit; beyond it operators spill to `<dir>/tmp`. Default 1 GiB. */
  readonly memoryLimitBytes?: number;
  /** DuckDB worker threads; 0 or undefined means one per core. */
  readonly threads?: number;
}

/**
 * One DuckDB database file shared by an engine's connections. DuckDB gives us a WAL (a committed
 * transaction survives `kill -9`), columnar compression, vectorised SQL, RE2 regexes and Parquet.
 *
 * Contract: open once per engine and data directory (DuckDB locks the file); `connect()` hands out
 * independent connections (one statement at a time each); `close()` after every connection is done.
 */
export class ColumnarDatabase {
  readonly instance: DuckDBInstance;
  readonly path: string;
  readonly dir: string;

  private constructor(instance: DuckDBInstance, file: string, dir: string) {
    this.instance = instance;
    this.path = file;
    this.dir = dir;
  }

  /** Opens or creates the database, checking the format stamp first. */
  static async open(opts: ColumnarOptions): Promise<ColumnarDatabase> {
    await fs.mkdir(opts.dir, { recursive: true });
    await openFormatStamp(opts.dir, { name: opts.name, version: opts.formatVersion });
    const file = path.join(opts.dir, `${opts.name}.duckdb`);
    const tmp = path.join(opts.dir, 'tmp');
    await fs.mkdir(tmp, { recursive: true });
    const memoryLimitBytes = opts.memoryLimitBytes ?? 1024 ** 3;
    const threads = opts.threads && opts.threads > 0 ? opts.threads : os.availableParallelism();
    let instance: DuckDBInstance;
    try {
      instance = await DuckDBInstance.create(file, {
        memory_limit: `${Math.max(64, Math.floor(memoryLimitBytes / 1024 ** 2))}MB`,
        threads: String(threads),
        temp_directory: tmp,
        // Our own queries order explicitly; letting DuckDB reorder saves memory on large scans.
        preserve_insertion_order: 'false',
      });
    } catch (err) {
      throw new Error(`opening ${file}: ${(err as Error).message}`, { cause: err });
    }
    return new ColumnarDatabase(instance, file, opts.dir);
  }

  /**
   * A separate in-memory DuckDB instance for background writing (staging, Parquet `COPY`, merges) with its own
   * thread pool and memory limit: a merge taking every thread of the database's pool would queue the reads behind
   * it, so writers get fewer threads and reads keep the rest. It spills to `<dir>/tmp/<name>`. Close it with
   * `closeSync()` before `close()`.
   */
  async scratch(name: string, opts: { readonly threads: number; readonly memoryLimitBytes: number }): Promise<DuckDBInstance> {
    const tmp = path.join(this.dir, 'tmp', name);
    await fs.mkdir(tmp, { recursive: true });
    return DuckDBInstance.create(':memory:', {
      memory_limit: `${Math.max(64, Math.floor(opts.memoryLimitBytes / 1024 ** 2))}MB`,
      threads: String(Math.max(1, opts.threads)),
      temp_directory: tmp,
      preserve_insertion_order: 'false',
    });
  }

  /** A new connection. Close it with `closeSync()` when done. */
  async connect(): Promise<DuckDBConnection> {
    return this.instance.connect();
  }

  /** Checkpoints the WAL into the database file and closes it. */
  async close(): Promise<void> {
    try {
      const conn = await this.instance.connect();
      try {
        await conn.run('CHECKPOINT');
      } finally {
        conn.closeSync();
      }
    } finally {
      this.instance.closeSync();
    }
  }
}
