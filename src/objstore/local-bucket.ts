import { randomBytes } from 'node:crypto';
import { constants, promises as fs } from 'node:fs';
import type { Dirent } from 'node:fs';
import path from 'node:path';
import { isValidTenantId } from '../tenant/index.ts';
import { ObjectNotFoundError } from './bucket.ts';
import { writeFileDurably } from './durable-file.ts';
import type { Bucket, ObjectInfo } from './bucket.ts';

/**
 * A {@link Bucket} on the local filesystem under one root directory. Keys map to paths; every key's first
 * segment must be a valid tenant id and no segment may be empty, `.` or `..`, so a key can never escape the
 * root. Writes go to a temp file, are fsynced, then renamed into place (atomic and durable).
 */
export class LocalBucket implements Bucket {
  readonly root: string;

  constructor(root: string) {
    this.root = path.resolve(root);
  }

  /** The filesystem path of a key, for engines (DuckDB) that read local files directly. */
  pathOf(key: string): string {
    const segments = key.split('/');
    if (segments.length < 1 || !isValidTenantId(segments[0]!)) {
      throw new Error(`invalid object key "${key}": it must start with a valid tenant id`);
    }
    for (const s of segments) {
      if (s === '' || s === '.' || s === '..' || s.includes('\\') || s.includes('\0')) {
        throw new Error(`invalid object key "${key}": empty, "." or ".." segment`);
      }
    }
    return path.join(this.root, ...segments);
  }

  async get(key: string): Promise<Buffer> {
    try {
      return await fs.readFile(this.pathOf(key));
    } catch (err) {
      throw notFoundOr(err, key);
    }
  }

  async getRange(key: string, offset: number, length: number): Promise<Buffer> {
    let handle: fs.FileHandle;
    try {
      handle = await fs.open(this.pathOf(key), constants.O_RDONLY);
    } catch (err) {
      throw notFoundOr(err, key);
    }
    try {
      const buf = Buffer.alloc(length);
      const { bytesRead } = await handle.read(buf, 0, length, offset);
      return buf.subarray(0, bytesRead);
    } finally {
      await handle.close();
    }
  }

  async put(key: string, data: Uint8Array): Promise<void> {
    const target = this.pathOf(key);
    const dir = path.dirname(target);
    await fs.mkdir(dir, { recursive: true });
    await writeFileDurably(target, data, path.join(dir, `.tmp-${randomBytes(6).toString('hex')}`));
  }

  async list(prefix: string): Promise<ObjectInfo[]> {
    const out: ObjectInfo[] = [];
    const walk = async (dir: string, keyPrefix: string): Promise<void> => {
      let entries: Dirent[];
      try {
        entries = await fs.readdir(dir, { withFileTypes: true });
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
        throw err;
      }
      for (const e of entries) {
        if (e.name.startsWith('.tmp-')) continue;
        const key = keyPrefix ? `${keyPrefix}/${e.name}` : e.name;
        if (e.isDirectory()) {
          if (key.startsWith(prefix) || prefix.startsWith(`${key}/`)) await walk(path.join(dir, e.name), key);
        } else if (key.startsWith(prefix)) {
          const st = await fs.stat(path.join(dir, e.name));
          out.push({ key, sizeBytes: st.size });
        }
      }
    };
    await walk(this.root, '');
    return out.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }

  async delete(key: string): Promise<void> {
    try {
      await fs.unlink(this.pathOf(key));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
  }
}

function notFoundOr(err: unknown, key: string): Error {
  if ((err as NodeJS.ErrnoException).code === 'ENOENT') return new ObjectNotFoundError(key);
  return new Error(`reading object ${key}: ${(err as Error).message}`, { cause: err });
}

