import type { TenantId } from '../model/index.ts';
import type { Snapshot } from './catalog.ts';
import type { WriteBatch } from './head-writer.ts';
import { stringList } from './sql.ts';

/** Streams whose newest timestamp is remembered before the memory starts over (bounded). */
const MAX_REMEMBERED_STREAMS = 1_000_000;

/** Marks entries to leave out of a batch: index → true. Undefined when every entry is kept. */
export type DropMask = Uint8Array | undefined;

/** Reads stored rows for the duplicate check; runs with every earlier write committed. */
export type StoredRowsReader = (sql: string) => Promise<readonly (readonly unknown[])[]>;

/**
 * Drops log entries identical to one already stored in the same stream (same timestamp, line and
 * structured metadata), as Loki's ingester does, so a retried push is idempotent: a retry stores nothing
 * twice, and a batch repeating one entry stores it once.
 *
 * Cheap on the common path: it remembers each stream's newest timestamp, and an entry newer than that
 * cannot be a duplicate. Only entries at or before it (retries and out-of-order writes) are looked up, in
 * the rows of this write group and, with one query, in the stored rows of their partitions (head tables and
 * Parquet blocks). After a restart, or for a stream forgotten when the memory was full, the first entries
 * are taken as new; a retry spanning a restart can therefore be stored twice. Used by one head writer on
 * its serial write path; not safe for concurrent use.
 */
export class DuplicateEntryFilter {
  private readonly newestTs = new Map<TenantId, Map<bigint, bigint>>();
  private remembered = 0;

  /**
   * Returns one mask per batch (in group order) of the entries to leave out. `read` runs the lookup of
   * stored rows; `snapshot` pins the head tables and blocks it reads. Neither is called when no entry is
   * suspect.
   */
  async find(batches: readonly WriteBatch[], snapshot: () => Snapshot, read: StoredRowsReader): Promise<DropMask[]> {
    const suspects = this.suspects(batches);
    if (suspects.size === 0) return batches.map(() => undefined);
    const seen = new Set<string>();
    const snap = snapshot();
    try {
      const sql = storedRowsSql(snap, suspects);
      if (sql !== undefined) {
        for (const [pid, sid, ts, line, md] of await read(sql)) {
          const shortKey = `${String(pid)}:${String(sid)}:${String(ts)}`;
          if (suspects.has(shortKey)) seen.add(fullKey(shortKey, line as string, md as string | null));
        }
      }
    } finally {
      snap.release();
    }
    const masks: DropMask[] = [];
    for (const b of batches) {
      let mask: DropMask;
      for (let i = 0; i < b.lines.length; i++) {
        const shortKey = `${b.pids[i]!}:${b.streamIds[i]!}:${b.timestampsNs[i]!}`;
        if (!suspects.has(shortKey)) continue;
        const key = fullKey(shortKey, b.lines[i]!, b.metadata[i] ?? null);
        if (!seen.has(key)) {
          seen.add(key);
          continue;
        }
        mask ??= new Uint8Array(b.lines.length);
        mask[i] = 1;
      }
      masks.push(mask);
    }
    return masks;
  }

  /**
   * Advances each stream's newest timestamp over the group and returns, per partition, the keys
   * (`pid:stream:ts`) of entries not newer than their stream's newest: the only possible duplicates.
   */
  private suspects(batches: readonly WriteBatch[]): Map<string, { pid: number; sid: bigint; ts: bigint }> {
    const out = new Map<string, { pid: number; sid: bigint; ts: bigint }>();
    for (const b of batches) {
      let streams = this.newestTs.get(b.tenant);
      if (streams === undefined) this.newestTs.set(b.tenant, (streams = new Map()));
      for (let i = 0; i < b.lines.length; i++) {
        const sid = b.streamIds[i]!;
        const ts = b.timestampsNs[i]!;
        const newest = streams.get(sid);
        if (newest === undefined || ts > newest) {
          if (newest === undefined && ++this.remembered > MAX_REMEMBERED_STREAMS) {
            this.newestTs.clear();
            this.remembered = 1;
            this.newestTs.set(b.tenant, (streams = new Map()));
          }
          streams.set(sid, ts);
          continue;
        }
        const pid = b.pids[i]!;
        out.set(`${pid}:${sid}:${ts}`, { pid, sid, ts });
      }
    }
    return out;
  }
}

function fullKey(shortKey: string, line: string, md: string | null): string {
  return `${shortKey}\u0000${md === null ? '\u0001' : md}\u0000${line}`;
}

/** One query for the stored rows that may equal a suspect: its partitions, streams and time span. */
function storedRowsSql(snap: Snapshot, suspects: ReadonlyMap<string, { pid: number; sid: bigint; ts: bigint }>): string | undefined {
  const pids = new Set<number>();
  const sids = new Set<bigint>();
  let minTs: bigint | undefined;
  let maxTs: bigint | undefined;
  for (const s of suspects.values()) {
    pids.add(s.pid);
    sids.add(s.sid);
    if (minTs === undefined || s.ts < minTs) minTs = s.ts;
    if (maxTs === undefined || s.ts > maxTs) maxTs = s.ts;
  }
  const where = `stream_id IN (${[...sids].join(', ')}) AND ts >= ${minTs} AND ts <= ${maxTs}`;
  const branches: string[] = [];
  for (const h of snap.heads) {
    branches.push(`SELECT pid, stream_id, ts, line, md FROM ${h.table} WHERE pid IN (${[...pids].join(', ')}) AND ${where}`);
  }
  for (const b of snap.blocks) {
    if (!pids.has(b.pid) || b.maxTs < minTs! || b.minTs > maxTs!) continue;
    branches.push(`SELECT ${b.pid} AS pid, stream_id, ts, line, md FROM read_parquet(${stringList([b.path])}) WHERE ${where}`);
  }
  return branches.length === 0 ? undefined : branches.join(' UNION ALL ');
}
