import type { WebSocket } from 'ws';
import type { LogqlEngine } from '../../logql/index.ts';
import { labelsKey } from '../../model/index.ts';
import type { Labels, TenantId } from '../../model/index.ts';
import type { LogQueryable } from '../../storage/index.ts';
import { nowNs } from './params.ts';

/** What a tail session streams (validated by the route before the upgrade). */
export interface TailPlan {
  readonly tenants: TenantId[];
  readonly query: string;
  /** Entries of the first frame: the newest ones since `startNs`, as Loki's historic tail query. */
  readonly limit: number;
  /** Loki's `delay_for`: entries are read only once they are this old. */
  readonly delayNs: bigint;
  readonly startNs: bigint;
}

/** How the session polls and bounds its work; the defaults suit Grafana's live tail. */
export interface TailOptions {
  /** Time between polls for new entries. Latency is about this plus one query. */
  readonly pollMs: number;
  /**
   * How late (by timestamp) an entry may become readable and still be sent: each poll re-reads this much
   * before its cursor and skips what was sent already (entries are stored by their own timestamps, which
   * clients set a little before the push arrives).
   */
  readonly lateToleranceNs?: bigint;
  /**
   * Entries one poll reads at most (the engine's `max_entries_limit_per_query` bounds it); beyond it the rest
   * of the poll window is dropped and reported.
   */
  readonly maxEntriesPerPoll?: number;
  /** A client with this many bytes still unsent is too slow: new entries are dropped and reported. */
  readonly maxBufferedBytes?: number;
}

/** Loki's `dropped_entries` item: the stream labels (Prometheus text form) and the entry's timestamp. */
interface DroppedEntry {
  readonly labels: string;
  readonly timestamp: string;
}

/** Loki caps the dropped entries reported in one tail response (`maxDroppedEntriesPerTailResponse`). */
const MAX_DROPPED_PER_FRAME = 1000;
const DEFAULT_LATE_TOLERANCE_NS = 2n * 1_000_000_000n;
const DEFAULT_MAX_ENTRIES_PER_POLL = 5000;
const DEFAULT_MAX_BUFFERED_BYTES = 16 * 1024 * 1024;

interface Entry {
  readonly labels: Labels;
  readonly key: string;
  readonly ts: bigint;
  readonly line: string;
}

/**
 * Loki's live tail over a WebSocket, by polling the store: the first frame holds the newest `limit` entries
 * since `start` (oldest first), sent once; after that every poll sends only entries not sent before, in
 * timestamp order, so a busy stream never replays a backlog and latency stays about one poll interval.
 * Frames are Loki's `{"streams":[{stream, values}], "dropped_entries": [...]|null}`; entries the session
 * cannot deliver (over `maxEntriesPerPoll` in one poll, or a client too slow to read) are dropped and
 * reported, up to 1000 per frame, as Loki's tailer does. Stops when the socket closes; a failure closes
 * the socket with 1011 after `onError`.
 */
export function runTail(engine: LogqlEngine, queryable: LogQueryable, plan: TailPlan, socket: WebSocket, opts: TailOptions, onError: (err: unknown) => void): void {
  const lateNs = opts.lateToleranceNs ?? DEFAULT_LATE_TOLERANCE_NS;
  const maxPerPoll = opts.maxEntriesPerPoll ?? DEFAULT_MAX_ENTRIES_PER_POLL;
  const maxBuffered = opts.maxBufferedBytes ?? DEFAULT_MAX_BUFFERED_BYTES;
  const controller = new AbortController();
  let closed = false;
  let timer: NodeJS.Timeout | undefined;
  /** Entries were sent up to here (by timestamp); a poll reads from `cursor - lateNs`. */
  let cursor = plan.startNs;
  /** Keys of sent entries newer than `cursor - lateNs`, so a re-read window sends nothing twice. */
  let sent = new Map<string, bigint>();
  let dropped: DroppedEntry[] = [];
  socket.on('close', () => {
    closed = true;
    controller.abort();
    if (timer) clearTimeout(timer);
  });

  const read = async (startNs: bigint, endNs: bigint, direction: 'forward' | 'backward', limit: number): Promise<Entry[]> => {
    if (endNs <= startNs) return [];
    const res = await engine.query(queryable, plan.tenants, { query: plan.query, startNs, endNs, direction, limit, signal: controller.signal });
    if (res.data.resultType !== 'streams') return [];
    const out: Entry[] = [];
    for (const s of res.data.streams) {
      const labelText = labelsKey(s.labels);
      for (const e of s.entries) out.push({ labels: s.labels, key: `${labelText}\u0000${e.timestampNs}\u0000${e.line}`, ts: e.timestampNs, line: e.line });
    }
    return out.sort((a, b) => (a.ts < b.ts ? -1 : a.ts > b.ts ? 1 : 0));
  };

  const drop = (entries: readonly Entry[]): void => {
    for (const e of entries) {
      if (dropped.length >= MAX_DROPPED_PER_FRAME) break;
      dropped.push({ labels: labelsKey(e.labels), timestamp: e.ts.toString() });
    }
  };

  const send = (entries: readonly Entry[]): void => {
    for (const e of entries) sent.set(e.key, e.ts);
    if (closed) return;
    if (socket.bufferedAmount > maxBuffered) {
      drop(entries);
      return;
    }
    if (entries.length === 0 && dropped.length === 0) return;
    const streams = new Map<string, { stream: Labels; values: [string, string][] }>();
    for (const e of entries) {
      const k = labelsKey(e.labels);
      let s = streams.get(k);
      if (!s) streams.set(k, (s = { stream: { ...e.labels }, values: [] }));
      s.values.push([e.ts.toString(), e.line]);
    }
    socket.send(JSON.stringify({ streams: [...streams.values()], dropped_entries: dropped.length > 0 ? dropped : null }));
    dropped = [];
  };

  const advance = (to: bigint): void => {
    cursor = to;
    const floor = cursor - lateNs;
    const kept = new Map<string, bigint>();
    // The next poll reads from `floor` inclusive: an entry exactly at it must stay known or it is sent again
    // (a CI run saw it: millisecond clocks make `ts === floor` a few-percent event per tail).
    for (const [k, ts] of sent) if (ts >= floor) kept.set(k, ts);
    sent = kept;
  };

  const first = async (): Promise<void> => {
    const endNs = nowNs() - plan.delayNs + 1n;
    // What the late window of the first poll will re-read counts as answered by this frame (older entries
    // beyond `limit` are history, not new); read before the frame so an entry arriving in between is sent.
    const windowStart = endNs - lateNs > plan.startNs ? endNs - lateNs : plan.startNs;
    for (const e of await read(windowStart, endNs, 'forward', maxPerPoll)) sent.set(e.key, e.ts);
    // The newest `limit` entries since `start`, sent once, oldest first (Loki's historic tail query).
    send(await read(plan.startNs, endNs, 'backward', plan.limit));
    advance(endNs);
  };

  const poll = async (): Promise<void> => {
    const endNs = nowNs() - plan.delayNs + 1n;
    if (endNs <= cursor) return;
    const from = cursor - lateNs > plan.startNs ? cursor - lateNs : plan.startNs;
    const got = await read(from, endNs, 'forward', maxPerPoll);
    const fresh = got.filter((e) => !sent.has(e.key));
    for (const e of fresh) sent.set(e.key, e.ts);
    if (got.length >= maxPerPoll) {
      // More than one read may hold: what lies after the last entry read is dropped and reported (read in
      // chunks the engine allows, up to Loki's 1000 per frame).
      let fromNs = got[got.length - 1]!.ts;
      while (dropped.length < MAX_DROPPED_PER_FRAME) {
        const chunk = await read(fromNs, endNs, 'forward', maxPerPoll);
        const over = chunk.filter((e) => !sent.has(e.key));
        drop(over);
        for (const e of over) sent.set(e.key, e.ts);
        const lastNs = chunk.length > 0 ? chunk[chunk.length - 1]!.ts : fromNs;
        if (chunk.length < maxPerPoll || lastNs === fromNs) break;
        fromNs = lastNs;
      }
    }
    send(fresh);
    advance(endNs);
  };

  const loop = (step: () => Promise<void>): void => {
    if (closed) return;
    step()
      .catch((err: unknown) => {
        if (closed) return;
        onError(err);
        closed = true;
        socket.close(1011, err instanceof Error ? err.message.slice(0, 120) : 'tail failed');
      })
      .finally(() => {
        if (closed) return;
        timer = setTimeout(() => loop(poll), opts.pollMs);
        timer.unref();
      });
  };
  loop(first);
}
