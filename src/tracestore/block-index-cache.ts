import type { BlockInfo } from './catalog.ts';
import { readTraceIdBloom } from './trace-id-bloom.ts';
import { TraceRecordsIndex } from './trace-records.ts';

/** Bytes the cache holds unless told otherwise: a week of a busy tenant's bloom filters and many records indexes. */
const DEFAULT_INDEX_CACHE_BYTES = 64 * 1024 * 1024;

/** The attribute keys a block's span and resource lists hold (keys kept in dedicated columns are absent unless a value missed its column). */
export interface ListKeys {
  readonly span: ReadonlySet<string>;
  readonly resource: ReadonlySet<string>;
}

/** SQL listing the keys of the span (`'s'`) and resource (`'r'`) lists of the Parquet `files` (a DuckDB list literal). */
export function listKeysSql(files: string): string {
  const from = `read_parquet(${files})`;
  return (
    `SELECT DISTINCT 's', unnest(list_transform(span_attrs, lambda x: x.k)) FROM ${from} UNION ALL ` +
    `SELECT DISTINCT 'r', unnest(list_transform(resource_attrs, lambda x: x.k)) FROM ${from}`
  );
}

/** The rows of {@link listKeysSql} as list keys. */
export function listKeysOfRows(rows: readonly (readonly unknown[])[]): ListKeys {
  const keys = { span: new Set<string>(), resource: new Set<string>() };
  for (const [scope, k] of rows) if (k !== null && k !== undefined) (scope === 's' ? keys.span : keys.resource).add(String(k));
  return keys;
}

/** The union of several blocks' list keys. */
export function unionListKeys(all: readonly ListKeys[]): ListKeys {
  const span = new Set<string>();
  const resource = new Set<string>();
  for (const k of all) {
    for (const x of k.span) span.add(x);
    for (const x of k.resource) resource.add(x);
  }
  return { span, resource };
}

/** List keys as the catalog's `list_keys` column holds them: `{"span": [...], "resource": [...]}`, sorted. */
export function listKeysJson(k: ListKeys): string {
  return JSON.stringify({ span: [...k.span].sort(), resource: [...k.resource].sort() });
}

/** The catalog's `list_keys` column back (null: a block written before format 5, whose keys are computed when needed). */
export function parseListKeys(json: string | null): ListKeys | undefined {
  if (json === null) return undefined;
  const v = JSON.parse(json) as { span: string[]; resource: string[] };
  return { span: new Set(v.span), resource: new Set(v.resource) };
}

type Value = Buffer | TraceRecordsIndex | ListKeys;
type Entry = { readonly bytes: number; readonly value: Value };

/**
 * The trace-id indexes of blocks (bloom filter, trace records index), read from their files once and kept in
 * memory, least recently used dropped first past `maxBytes`. Blocks are immutable, so an entry is valid until its
 * block leaves the catalog (a merge or retention), when the store calls `drop`.
 *
 * Contract: single-threaded (the event loop); concurrent misses of one entry share one read.
 */
export class BlockIndexCache {
  private readonly entries = new Map<string, Entry>();
  private readonly loading = new Map<string, Promise<Value>>();
  private held = 0;

  constructor(private readonly maxBytes: number = DEFAULT_INDEX_CACHE_BYTES) {}

  /** Bytes held now. */
  get bytes(): number {
    return this.held;
  }

  bloom(b: BlockInfo): Promise<Buffer> {
    return this.get<Buffer>(`${b.seq}:bloom`, () => readTraceIdBloom(b.bloomPath), (v) => v.length);
  }

  /** The records index of a block that has a records file (`recordsBytes > 0`). */
  records(b: BlockInfo): Promise<TraceRecordsIndex> {
    return this.get<TraceRecordsIndex>(`${b.seq}:records`, () => TraceRecordsIndex.read(b.recordsPath), (v) => v.bytes);
  }

  /** The keys of a block's attribute lists, computed by `load` on a miss (a scan of the lists, once per block written before format 5). */
  listKeys(b: BlockInfo, load: () => Promise<ListKeys>): Promise<ListKeys> {
    if (b.listKeys) return Promise.resolve(b.listKeys);
    const size = (v: ListKeys): number => 64 + [...v.span, ...v.resource].reduce((n, k) => n + 2 * k.length + 32, 0);
    return this.get<ListKeys>(`${b.seq}:keys`, load, size);
  }

  /** Forgets a block's entries (it left the catalog). */
  drop(seq: number): void {
    for (const kind of ['bloom', 'records', 'keys']) {
      const k = `${seq}:${kind}`;
      const e = this.entries.get(k);
      if (e) {
        this.entries.delete(k);
        this.held -= e.bytes;
      }
      this.loading.delete(k);
    }
  }

  private async get<T extends Value>(k: string, load: () => Promise<T>, size: (v: T) => number): Promise<T> {
    const hit = this.entries.get(k);
    if (hit) {
      // Re-inserting moves it to the end: the Map's order is least recently used first.
      this.entries.delete(k);
      this.entries.set(k, hit);
      return hit.value as T;
    }
    let pending = this.loading.get(k) as Promise<T> | undefined;
    if (!pending) {
      pending = load();
      this.loading.set(k, pending);
      pending.then(
        (value) => {
          // Dropped meanwhile (the block left the catalog): not kept.
          if (this.loading.get(k) !== pending) return;
          this.loading.delete(k);
          this.put(k, { bytes: size(value), value });
        },
        () => {
          if (this.loading.get(k) === pending) this.loading.delete(k);
        },
      );
    }
    return pending;
  }

  private put(k: string, e: Entry): void {
    if (e.bytes > this.maxBytes) return;
    this.entries.set(k, e);
    this.held += e.bytes;
    for (const [old, oe] of this.entries) {
      if (this.held <= this.maxBytes) break;
      this.entries.delete(old);
      this.held -= oe.bytes;
    }
  }
}
