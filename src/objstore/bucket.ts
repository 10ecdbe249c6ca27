import type { TenantId } from '../model/index.ts';

/** One stored object's key and size. */
export interface ObjectInfo {
  readonly key: string;
  readonly sizeBytes: number;
}

/**
 * A narrow object store, as Tempo's RawReader/RawWriter. Keys are `/`-separated and always start with the
 * tenant (`<tenant>/<signal>/...`), so one tenant's data can be listed, moved or deleted as a unit.
 *
 * Contract: `put` is atomic (a reader sees the old object or the whole new one, never a part) and durable
 * when it resolves. `get`/`getRange` reject with {@link ObjectNotFoundError} for a missing key.
 */
export interface Bucket {
  get(key: string): Promise<Buffer>;
  /** Reads `length` bytes at `offset` (fewer at the end of the object). */
  getRange(key: string, offset: number, length: number): Promise<Buffer>;
  put(key: string, data: Uint8Array): Promise<void>;
  /** Objects whose key starts with `prefix`, sorted by key. */
  list(prefix: string): Promise<ObjectInfo[]>;
  /** Deletes an object; deleting a missing key is not an error. */
  delete(key: string): Promise<void>;
}

/** A `get` of a key that does not exist. */
export class ObjectNotFoundError extends Error {
  readonly key: string;
  constructor(key: string) {
    super(`object not found: ${key}`);
    this.name = 'ObjectNotFoundError';
    this.key = key;
  }
}

/** Builds a key under a tenant: `tenantKey(t, 'metrics', 'blocks', 'x.parquet')` → `t/metrics/blocks/x.parquet`. */
export function tenantKey(tenant: TenantId, ...parts: string[]): string {
  return [tenant, ...parts].join('/');
}
