import fsp from 'node:fs/promises';
import path from 'node:path';
import { crc32 } from 'node:zlib';
import { RetryableStorageError, StorageUnavailableError } from '../storage/index.ts';
import { syncDir } from './durable-file.ts';
import { ByteWriter } from './byte-buffer.ts';

/** Segments roll over at this size so truncation after a checkpoint can delete whole files. */
const DEFAULT_SEGMENT_BYTES = 64 * 1024 * 1024;
const FRAME_HEADER_BYTES = 8;
/** Largest single frame; a bigger length in a header means a torn or corrupt tail. */
const MAX_FRAME_BYTES = 1024 * 1024 * 1024;

interface PendingWrite {
  readonly onDurable: () => void;
  readonly onFailed: (() => void) | undefined;
  readonly resolve: () => void;
  readonly reject: (err: Error) => void;
}

interface RotateWaiter {
  readonly resolve: (segment: number) => void;
  readonly reject: (err: Error) => void;
}

/** One replayed frame, with the segment it came from. */
export interface WalFrame {
  readonly segment: number;
  readonly payload: Buffer;
}

/** Bad bytes that {@link Wal.replay} skipped: `kept` when they stay in the file (a good frame follows them). */
export interface WalCorruption {
  readonly segment: number;
  readonly offset: number;
  readonly bytes: number;
  readonly kept: boolean;
}

/** Checksum work a resynchronisation may spend looking for the next good frame before it gives up the rest. */
const RESYNC_CRC_BUDGET_BYTES = 64 * 1024 * 1024;

/** The payload length of the whole frame with a matching checksum at `pos` of `buf` (bytes before `end`), or undefined. */
export function frameAt(buf: Buffer, pos: number, end = buf.length): number | undefined {
  if (pos + FRAME_HEADER_BYTES > end) return undefined;
  const len = buf.readUInt32LE(pos);
  if (len > MAX_FRAME_BYTES || pos + FRAME_HEADER_BYTES + len > end) return undefined;
  return crc32(buf.subarray(pos + FRAME_HEADER_BYTES, pos + FRAME_HEADER_BYTES + len)) === buf.readUInt32LE(pos + 4) ? len : undefined;
}

/**
 * Where reading can go on after the bad frame at `pos` (a garbled length or checksum): right after it when its
 * length is believable (it ends exactly at `end`, or a good frame follows), otherwise at the next position where
 * a good frame starts (a CRC-32 match by chance is one in four billion), or `end` when none is found within
 * a bounded amount of checksum work.
 */
export function resumeAfterBadFrame(buf: Buffer, pos: number, end = buf.length): number {
  if (pos + FRAME_HEADER_BYTES <= end) {
    const next = pos + FRAME_HEADER_BYTES + buf.readUInt32LE(pos);
    if (next === end || (next < end && frameAt(buf, next, end) !== undefined)) return next;
  }
  let budget = RESYNC_CRC_BUDGET_BYTES;
  for (let p = pos + 1; p + FRAME_HEADER_BYTES <= end && budget > 0; p++) {
    const len = buf.readUInt32LE(p);
    if (len > MAX_FRAME_BYTES || p + FRAME_HEADER_BYTES + len > end) continue;
    budget -= len + 1;
    if (frameAt(buf, p, end) !== undefined) return p;
  }
  return end;
}

/**
 * A segmented write-ahead log with group commit.
 *
 * Layout: `<dir>/<8-digit segment number>`; each segment is a sequence of frames
 * `[u32 payload length][u32 crc32(payload)][payload]` (little endian). A frame is durable once `append`
 * resolves: all frames queued while a write is in flight are written with one write and made durable with
 * one `fdatasync`, then their `onDurable` callbacks run in order, then their promises resolve.
 *
 * A failed write or sync (disk full, I/O error) is cut back off the segment (truncated to the last good
 * frame) before anything else is written, so a full disk never leaves a torn frame in the middle of the log;
 * while the truncation itself fails, every append is refused. The failed frames and every frame queued
 * behind them are refused together (their `onFailed` hooks run synchronously first), because a later frame
 * may rely on records of an earlier one (series definitions). A write into a segment file that was
 * unlinked (the data directory deleted under the process) is refused with `data_dir_unavailable`.
 *
 * Contract: `open` replays nothing by itself; call {@link Wal.replay} before the first `append`. A torn frame
 * at the tail of a segment (a crash or a failed write mid-frame) is cut off on replay; a bad frame anywhere
 * else is reported to the replay callback's caller as an error.
 */
export class Wal {
  private fh: fsp.FileHandle | undefined;
  private segment = 0;
  /** Bytes of the current segment that hold whole, durable frames. */
  private goodBytes = 0;
  /** The current segment may hold bytes past `goodBytes` from a failed write; cut them before writing. */
  private repairPending = false;
  private queue: PendingWrite[] = [];
  /**
   * Frames (header + payload) queued since the last write started, copied in at `append` time so callers
   * can reuse their buffers; swapped with `spare` when a write starts (double buffering, no per-batch
   * allocation).
   */
  private fill = new ByteWriter(1 << 20);
  private spare = new ByteWriter(1 << 20);
  private writing = false;
  private closed = false;
  private idleWaiters: (() => void)[] = [];
  /** Segment rotation requested by a checkpoint; performed between group writes. */
  private rotateWaiters: RotateWaiter[] = [];

  private constructor(
    readonly dir: string,
    private readonly maxSegmentBytes: number,
    private readonly owner: string,
  ) {}

  /**
   * Opens the log in `dir` (created if missing). `owner` names the engine in error messages ("the traces
   * WAL segment ... failed").
   */
  static async open(dir: string, maxSegmentBytes = DEFAULT_SEGMENT_BYTES, owner = 'metrics'): Promise<Wal> {
    await fsp.mkdir(dir, { recursive: true });
    return new Wal(dir, maxSegmentBytes, owner);
  }

  /** Segment numbers present on disk, ascending. */
  async segments(): Promise<number[]> {
    const names = await fsp.readdir(this.dir);
    return names.filter((n) => /^\d{8}$/.test(n)).map(Number).sort((a, b) => a - b);
  }

  /**
   * Reads every frame of segments ≥ `fromSegment` in order, calling `onFrame` for each, then opens a fresh
   * segment for appending. Cuts a torn tail off any segment (a frame that runs past the end of its file was
   * never acknowledged: a crash or a failed write of an older version left it); a frame that is complete
   * but fails its checksum is corruption, refused unless it is in the last segment.
   *
   * With `onCorrupt` (a log whose frames stand alone, like a forwarding queue), corruption anywhere is skipped
   * instead: the bad bytes are reported and left in the file (readers skip them again with
   * {@link resumeAfterBadFrame}), and reading goes on at the next good frame; bad bytes that no good frame
   * follows are cut off (after being reported, unless they are the last segment's torn tail).
   */
  async replay(fromSegment: number, onFrame: (frame: WalFrame) => void, onCorrupt?: (bad: WalCorruption) => void): Promise<void> {
    const segs = (await this.segments()).filter((s) => s >= fromSegment);
    for (let i = 0; i < segs.length; i++) {
      const seg = segs[i]!;
      const file = this.segmentPath(seg);
      const buf = await fsp.readFile(file);
      let pos = 0;
      let tornTail = false;
      while (pos < buf.length) {
        const len = frameAt(buf, pos);
        if (len !== undefined) {
          onFrame({ segment: seg, payload: buf.subarray(pos + FRAME_HEADER_BYTES, pos + FRAME_HEADER_BYTES + len) });
          pos += FRAME_HEADER_BYTES + len;
          continue;
        }
        const badLen = pos + FRAME_HEADER_BYTES > buf.length ? undefined : buf.readUInt32LE(pos);
        tornTail = badLen === undefined || (badLen <= MAX_FRAME_BYTES && pos + FRAME_HEADER_BYTES + badLen > buf.length);
        if (onCorrupt === undefined) break;
        const resume = resumeAfterBadFrame(buf, pos);
        if (resume === buf.length && tornTail && i === segs.length - 1) break;
        onCorrupt({ segment: seg, offset: pos, bytes: resume - pos, kept: resume < buf.length });
        if (resume === buf.length) break;
        pos = resume;
      }
      if (pos < buf.length) {
        if (onCorrupt === undefined && !tornTail && i !== segs.length - 1) {
          throw new Error(`WAL segment ${file} is corrupt at byte ${pos} and is not the last segment`);
        }
        // A partial frame was never acknowledged (or, with onCorrupt, nothing good follows the bad bytes): drop it.
        await fsp.truncate(file, pos);
      }
    }
    const last = segs.length > 0 ? segs[segs.length - 1]! : fromSegment - 1;
    await this.openSegment(Math.max(last + 1, fromSegment, 1));
  }

  /** The segment new frames go to. */
  get currentSegment(): number {
    return this.segment;
  }

  /**
   * Queues a frame. `onDurable` runs synchronously right after the frame is on disk (before any later
   * frame's), which is where callers make the data visible. If the frame is refused after it was queued
   * (its write failed), `onFailed` runs synchronously before any promise settles, so a caller can undo
   * bookkeeping that later frames would otherwise rely on. Rejects with a retryable error after `close`.
   */
  append(payload: Uint8Array, onDurable: () => void, onFailed?: () => void): Promise<void> {
    if (this.closed) {
      onFailed?.();
      return Promise.reject(new RetryableStorageError('shutting_down', `${this.owner} storage is shutting down`));
    }
    this.fill.u32(payload.length);
    this.fill.u32(crc32(payload));
    this.fill.bytes(payload);
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ onDurable, onFailed, resolve, reject });
      if (!this.writing) void this.drain();
    });
  }

  /**
   * Starts a new segment once every frame queued so far is durable and applied, and resolves with the number
   * of the new segment: every frame in lower segments has had its `onDurable` run. Rejects if the new
   * segment cannot be created (appends continue in the current one).
   */
  rotate(): Promise<number> {
    return new Promise((resolve, reject) => {
      this.rotateWaiters.push({ resolve, reject });
      if (!this.writing) void this.drain();
    });
  }

  /** Deletes segments numbered below `segment` (their content is covered by a checkpoint). */
  async truncateBefore(segment: number): Promise<void> {
    for (const s of await this.segments()) {
      if (s < segment) await fsp.rm(this.segmentPath(s), { force: true });
    }
  }

  /** Waits for queued frames, then closes the file. Later appends are refused. */
  async close(): Promise<void> {
    this.closed = true;
    if (this.writing) await new Promise<void>((r) => this.idleWaiters.push(r));
    await this.fh?.close();
    this.fh = undefined;
  }

  private segmentPath(seg: number): string {
    return path.join(this.dir, String(seg).padStart(8, '0'));
  }

  /** Opens segment `seg` for appending; the current one stays open if that fails. */
  private async openSegment(seg: number): Promise<void> {
    const fh = await fsp.open(this.segmentPath(seg), 'a');
    let size: number;
    try {
      size = (await fh.stat()).size;
      await syncDir(this.dir);
    } catch (err) {
      await fh.close();
      throw err;
    }
    const old = this.fh;
    this.fh = fh;
    this.segment = seg;
    this.goodBytes = size;
    this.repairPending = false;
    await old?.close();
  }

  /** Refuses every frame queued so far with `err`, running their `onFailed` hooks before any promise settles. */
  private failQueued(batch: readonly PendingWrite[], err: Error): void {
    const all = batch.concat(this.queue);
    this.queue = [];
    this.fill.reset();
    for (const p of all) p.onFailed?.();
    for (const p of all) p.reject(err);
  }

  /** Cuts a failed write's bytes off the segment; on failure the next write tries again first. */
  private async repair(): Promise<void> {
    this.repairPending = true;
    await this.fh!.truncate(this.goodBytes);
    this.repairPending = false;
  }

  private async drain(): Promise<void> {
    this.writing = true;
    try {
      for (;;) {
        if (this.repairPending) {
          try {
            await this.repair();
          } catch (err) {
            // Nothing may be written after the torn bytes: refuse everything waiting; the next append retries.
            const e = walWriteError(this.owner, this.segmentPath(this.segment), 'cutting a failed write off', err);
            this.failQueued([], e);
            const waiters = this.rotateWaiters;
            this.rotateWaiters = [];
            for (const w of waiters) w.reject(e);
            break;
          }
        }
        if (this.rotateWaiters.length > 0 || this.goodBytes >= this.maxSegmentBytes) {
          const waiters = this.rotateWaiters;
          this.rotateWaiters = [];
          let rotated = true;
          try {
            await this.openSegment(this.segment + 1);
          } catch (err) {
            // Keep appending to the current segment; a checkpoint waiting for the rotation fails and retries later.
            rotated = false;
            const e = walWriteError(this.owner, this.segmentPath(this.segment + 1), 'starting', err);
            for (const w of waiters) w.reject(e);
          }
          if (rotated) for (const w of waiters) w.resolve(this.segment);
        }
        if (this.queue.length === 0) break;
        const batch = this.queue;
        this.queue = [];
        const frames = this.fill;
        this.fill = this.spare;
        this.spare = frames;
        const fh = this.fh!;
        try {
          await writeAll(fh, frames.view_());
          await fh.datasync();
        } catch (err) {
          frames.reset();
          // Nothing may follow the torn bytes: refuse everything queued, cut them off, then go on.
          this.failQueued(batch, walWriteError(this.owner, this.segmentPath(this.segment), 'writing', err));
          // The queued writes were refused above; a failed cut leaves repairPending set and the next write retries it first.
          await this.repair().catch(() => undefined);
          continue;
        }
        // A segment file unlinked under us (its directory deleted) takes writes that no restart will see.
        if ((await fh.stat().catch(() => undefined))?.nlink === 0) {
          frames.reset();
          this.failQueued(
            batch,
            new StorageUnavailableError('data_dir_unavailable', `the ${this.owner} WAL segment ${this.segmentPath(this.segment)} was deleted; the data directory is gone`),
          );
          continue;
        }
        this.goodBytes += frames.length;
        // Keep the spare buffer, unless one huge batch made it big.
        if (frames.capacity > 64 << 20) this.spare = new ByteWriter(1 << 20);
        else frames.reset();
        for (const p of batch) {
          try {
            p.onDurable();
          } catch (err) {
            p.reject(err as Error);
            continue;
          }
          p.resolve();
        }
      }
    } finally {
      this.writing = false;
      const waiters = this.idleWaiters;
      this.idleWaiters = [];
      for (const w of waiters) w();
    }
  }
}

/** A WAL write failure with its I/O error as `cause` (the engine classifies it: disk full, lost directory). */
function walWriteError(owner: string, file: string, what: string, err: unknown): Error {
  return new Error(`${what} the ${owner} WAL segment ${file} failed: ${(err as Error).message}`, { cause: err });
}

async function writeAll(fh: fsp.FileHandle, buf: Buffer): Promise<void> {
  // A write may be partial; loop until every byte is out.
  let off = 0;
  for (let i = 0; i < 1_000_000 && off < buf.length; i++) {
    const { bytesWritten } = await fh.write(buf, off, buf.length - off);
    off += bytesWritten;
  }
}
