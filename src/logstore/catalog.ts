import type { TenantId } from '../model/index.ts';

/** A time partition of one tenant and retention class: the unit retention drops. */
export interface PartitionInfo {
  readonly pid: number;
  readonly tenant: TenantId;
  readonly cls: string;
  readonly windowStartMs: number;
  /** Exclusive. */
  readonly windowEndMs: number;
}

/** An immutable Parquet block holding part of one partition's entries, sorted by stream then time. */
export interface BlockInfo {
  readonly seq: number;
  readonly pid: number;
  /** Bucket key `<tenant>/logs/<windowStartMs>/<class>-<seq>.parquet`. */
  readonly key: string;
  readonly path: string;
  readonly rows: number;
  /** Sum of the UTF-8 lengths of the lines it holds. */
  readonly rawBytes: number;
  readonly sizeBytes: number;
  readonly minTs: bigint;
  readonly maxTs: bigint;
  /** 0 for a block cut from the head, n+1 for a merge of level-n blocks. */
  readonly level: number;
  /** The zstd level it was written with: fast for fresh blocks, higher once its window closed. */
  readonly zstdLevel: number;
  /** Block format (format.ts `BLOCK_FORMAT`): 2 and later carry each line's byte length in `nbytes`. */
  readonly format: number;
}

/**
 * A head generation: a table receiving writes (the newest) or waiting to be compacted. Each generation is
 * its own DuckDB database file, attached as `alias`, so dropping a compacted generation returns its space to
 * the filesystem (a DuckDB file never shrinks) and its rows are never checkpointed into the main database.
 */
export interface HeadInfo {
  readonly gen: number;
  /** The attached database's name, `head_<gen>`. */
  readonly alias: string;
  /** The table as SQL, `head_<gen>.rows` (safe to splice into statements). */
  readonly table: string;
  /** The database file, `<dir>/heads/head-<gen>.duckdb`. */
  readonly file: string;
}

/** A consistent view for one read: these heads and blocks stay readable until `release`. */
export interface Snapshot {
  readonly heads: readonly HeadInfo[];
  readonly blocks: readonly BlockInfo[];
  readonly partitions: ReadonlyMap<number, PartitionInfo>;
  release(): void;
}

/** What to do with a head table or block file nobody reads any more. */
export type Reclaim = { readonly kind: 'head'; readonly head: HeadInfo } | { readonly kind: 'block'; readonly block: BlockInfo };

/**
 * The engine's in-memory catalog: partitions, blocks and head generations, mirroring the durable tables, plus
 * reference counts so a head table or block file replaced while a query reads it is reclaimed only after.
 *
 * Contract: mutations happen after the matching durable transaction committed; `acquire` returns a view
 * that is unaffected by later mutations. Single-threaded (the event loop), no locking needed.
 */
export class Catalog {
  private readonly partitions = new Map<number, PartitionInfo>();
  private readonly byKey = new Map<string, number>();
  private blocks: BlockInfo[] = [];
  private heads: HeadInfo[] = [];
  private readonly refs = new Map<string, number>();
  private readonly dead = new Map<string, Reclaim>();
  private readonly unpersisted = new Set<number>();
  private nextPid = 1;
  private nextSeq = 1;
  private readonly onReclaim: (r: Reclaim) => void;

  constructor(onReclaim: (r: Reclaim) => void) {
    this.onReclaim = onReclaim;
  }

  /** Loads durable state at open. */
  load(partitions: readonly PartitionInfo[], blocks: readonly BlockInfo[], heads: readonly HeadInfo[]): void {
    for (const p of partitions) {
      this.partitions.set(p.pid, p);
      this.byKey.set(partKey(p.tenant, p.cls, p.windowStartMs), p.pid);
      this.nextPid = Math.max(this.nextPid, p.pid + 1);
    }
    this.blocks = [...blocks].sort((a, b) => a.seq - b.seq);
    for (const b of blocks) this.nextSeq = Math.max(this.nextSeq, b.seq + 1);
    this.heads = [...heads].sort((a, b) => a.gen - b.gen);
  }

  /** The partition id for a tenant, class and window, allocating one (not yet durable) if needed. */
  pidFor(tenant: TenantId, cls: string, windowStartMs: number, windowMs: number): number {
    const k = partKey(tenant, cls, windowStartMs);
    const existing = this.byKey.get(k);
    if (existing !== undefined) return existing;
    const pid = this.nextPid++;
    const p: PartitionInfo = { pid, tenant, cls, windowStartMs, windowEndMs: windowStartMs + windowMs };
    this.partitions.set(pid, p);
    this.byKey.set(k, pid);
    this.unpersisted.add(pid);
    return pid;
  }

  /** Partitions among `pids` that are not yet in the durable table. */
  unpersistedAmong(pids: Iterable<number>): PartitionInfo[] {
    const out: PartitionInfo[] = [];
    for (const pid of pids) {
      if (this.unpersisted.has(pid)) {
        const p = this.partitions.get(pid);
        if (p) out.push(p);
      }
    }
    return out;
  }

  markPersisted(pids: readonly number[]): void {
    for (const pid of pids) this.unpersisted.delete(pid);
  }

  partition(pid: number): PartitionInfo | undefined {
    return this.partitions.get(pid);
  }

  allPartitions(): PartitionInfo[] {
    return [...this.partitions.values()];
  }

  allBlocks(): readonly BlockInfo[] {
    return this.blocks;
  }

  allHeads(): readonly HeadInfo[] {
    return this.heads;
  }

  /** The head receiving writes (the newest generation). */
  activeHead(): HeadInfo | undefined {
    return this.heads[this.heads.length - 1];
  }

  /** Heads older than the active one, oldest first: waiting for compaction. */
  sealedHeads(): HeadInfo[] {
    return this.heads.slice(0, -1);
  }

  allocateSeq(): number {
    return this.nextSeq++;
  }

  /** Adds a new (empty) active head generation. */
  addHead(head: HeadInfo): void {
    this.heads = [...this.heads, head];
  }

  /** A sealed head was compacted into `blocks` (durably): publish them and retire the head. */
  replaceHead(head: HeadInfo, blocks: readonly BlockInfo[]): void {
    this.blocks = [...this.blocks, ...blocks];
    this.heads = this.heads.filter((h) => h.gen !== head.gen);
    this.retire(`h:${head.gen}`, { kind: 'head', head });
  }

  /** Blocks were merged into `merged` (durably). */
  replaceBlocks(old: readonly BlockInfo[], merged: BlockInfo): void {
    const gone = new Set(old.map((b) => b.seq));
    this.blocks = [...this.blocks.filter((b) => !gone.has(b.seq)), merged].sort((a, b) => a.seq - b.seq);
    for (const b of old) this.retire(`b:${b.seq}`, { kind: 'block', block: b });
  }

  /** Partitions were dropped by retention (durably), with their blocks. */
  dropPartitions(pids: readonly number[]): BlockInfo[] {
    const set = new Set(pids);
    const dropped = this.blocks.filter((b) => set.has(b.pid));
    this.blocks = this.blocks.filter((b) => !set.has(b.pid));
    for (const pid of pids) {
      const p = this.partitions.get(pid);
      if (p) this.byKey.delete(partKey(p.tenant, p.cls, p.windowStartMs));
      this.partitions.delete(pid);
      this.unpersisted.delete(pid);
    }
    for (const b of dropped) this.retire(`b:${b.seq}`, { kind: 'block', block: b });
    return dropped;
  }

  /** A consistent view; its heads and blocks are not reclaimed before `release`. */
  acquire(): Snapshot {
    const heads = this.heads;
    const blocks = this.blocks;
    const partitions = new Map(this.partitions);
    const keys = [...heads.map((h) => `h:${h.gen}`), ...blocks.map((b) => `b:${b.seq}`)];
    for (const k of keys) this.refs.set(k, (this.refs.get(k) ?? 0) + 1);
    let released = false;
    return {
      heads,
      blocks,
      partitions,
      release: () => {
        if (released) return;
        released = true;
        for (const k of keys) {
          const n = (this.refs.get(k) ?? 1) - 1;
          if (n > 0) {
            this.refs.set(k, n);
            continue;
          }
          this.refs.delete(k);
          const r = this.dead.get(k);
          if (r) {
            this.dead.delete(k);
            this.onReclaim(r);
          }
        }
      },
    };
  }

  private retire(key: string, r: Reclaim): void {
    if ((this.refs.get(key) ?? 0) > 0) this.dead.set(key, r);
    else this.onReclaim(r);
  }
}

function partKey(tenant: string, cls: string, windowStartMs: number): string {
  return `${tenant}\u0000${cls}\u0000${windowStartMs}`;
}
