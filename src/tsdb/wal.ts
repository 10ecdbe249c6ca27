import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { crc32 } from 'node:zlib';
import { RetryableStorageError } from '../storage/index.ts';
import { ByteWriter } from './byte-buffer.ts';

/** Segments roll over at this size so truncation after a checkpoint can delete whole files. */
const DEFAULT_SEGMENT_BYTES = 64 * 1024 * 1024;
const FRAME_HEADER_BYTES = 8;
/** Largest single frame; a bigger length in a header means a torn or corrupt tail. */
const MAX_FRAME_BYTES = 1024 * 1024 * 1024;

interface PendingWrite {
  readonly onDurable: () => void;
  readonly resolve: () => void;
  readonly reject: (err: Error) => void;
}

/** One replayed frame, with the segment it came from. */
export interface WalFrame {
  readonly segment: number;
  readonly payload: Buffer;
}

/**
 * A segmented write-ahead log with group commit.
 *
 * Layout: `<dir>/<8-digit segment number>`; each segment is a sequence of frames
 * `[u32 payload length][u32 crc32(payload)][payload]` (little endian). A frame is durable once `append`
 * resolves: all frames queued while a write is in flight are written with one write and made durable with
 * one `fdatasync`, then their `onDurable` callbacks run in order, then their promises resolve.
 *
 * Contract: `open` replays nothing by itself; call {@link Wal.replay} before the first `append`. A torn frame
 * at the tail of the last segment (a crash mid-write) is cut off on open; a bad frame anywhere else is
 * reported to the replay callback's caller as an error.
 */
export class Wal {
  private fh: fsp.FileHandle | undefined;
  private segment = 0;
  private segmentBytes = 0;
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
  private rotateWaiters: ((segment: number) => void)[] = [];

  private constructor(
    readonly dir: string,
    private readonly maxSegmentBytes: number,
  ) {}

  static async open(dir: string, maxSegmentBytes = DEFAULT_SEGMENT_BYTES): Promise<Wal> {
    await fsp.mkdir(dir, { recursive: true });
    return new Wal(dir, maxSegmentBytes);
  }

  /** Segment numbers present on disk, ascending. */
  async segments(): Promise<number[]> {
    const names = await fsp.readdir(this.dir);
    return names.filter((n) => /^\d{8}$/.test(n)).map(Number).sort((a, b) => a - b);
  }

  /**
   * Reads every frame of segments ≥ `fromSegment` in order, calling `onFrame` for each, then opens a fresh
   * segment for appending. Cuts a torn tail off the last segment.
   */
  async replay(fromSegment: number, onFrame: (frame: WalFrame) => void): Promise<void> {
    const segs = (await this.segments()).filter((s) => s >= fromSegment);
    for (let i = 0; i < segs.length; i++) {
      const seg = segs[i]!;
      const file = this.segmentPath(seg);
      const buf = await fsp.readFile(file);
      let pos = 0;
      while (pos < buf.length) {
        if (pos + FRAME_HEADER_BYTES > buf.length) break;
        const len = buf.readUInt32LE(pos);
        const sum = buf.readUInt32LE(pos + 4);
        if (len > MAX_FRAME_BYTES || pos + FRAME_HEADER_BYTES + len > buf.length) break;
        const payload = buf.subarray(pos + FRAME_HEADER_BYTES, pos + FRAME_HEADER_BYTES + len);
        if (crc32(payload) !== sum) break;
        onFrame({ segment: seg, payload });
        pos += FRAME_HEADER_BYTES + len;
      }
      if (pos < buf.length) {
        if (i !== segs.length - 1) {
          throw new Error(`WAL segment ${file} is corrupt at byte ${pos} and is not the last segment`);
        }
        // A crash during a write leaves a partial frame that was never acknowledged: drop it.
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
   * frame's), which is where callers make the data visible. Rejects with a retryable error after `close`.
   */
  append(payload: Uint8Array, onDurable: () => void): Promise<void> {
    if (this.closed) return Promise.reject(new RetryableStorageError('shutting_down', 'metrics storage is shutting down'));
    this.fill.u32(payload.length);
    this.fill.u32(crc32(payload));
    this.fill.bytes(payload);
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ onDurable, resolve, reject });
      if (!this.writing) void this.drain();
    });
  }

  /**
   * Starts a new segment once every frame queued so far is durable and applied, and resolves with the number
   * of the new segment: every frame in lower segments has had its `onDurable` run.
   */
  rotate(): Promise<number> {
    return new Promise((resolve) => {
      this.rotateWaiters.push(resolve);
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

  private async openSegment(seg: number): Promise<void> {
    await this.fh?.close();
    this.fh = await fsp.open(this.segmentPath(seg), 'a');
    this.segment = seg;
    this.segmentBytes = (await this.fh.stat()).size;
    await syncDir(this.dir);
  }

  private async drain(): Promise<void> {
    this.writing = true;
    try {
      for (let round = 0; ; round++) {
        if (this.rotateWaiters.length > 0 || this.segmentBytes >= this.maxSegmentBytes) {
          await this.openSegment(this.segment + 1);
          const waiters = this.rotateWaiters;
          this.rotateWaiters = [];
          for (const w of waiters) w(this.segment);
        }
        if (this.queue.length === 0) break;
        const batch = this.queue;
        this.queue = [];
        const frames = this.fill;
        this.fill = this.spare;
        this.spare = frames;
        try {
          this.segmentBytes += frames.length;
          await writeAll(this.fh!, frames.view_());
          await this.fh!.datasync();
        } catch (err) {
          const e = new RetryableStorageError('overloaded', `writing the metrics WAL failed: ${(err as Error).message}`, 5, { cause: err });
          for (const p of batch) p.reject(e);
          frames.reset();
          // The file may now hold a partial frame; continue in a fresh segment so later frames stay readable.
          await this.openSegment(this.segment + 1).catch(() => undefined);
          continue;
        }
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

async function writeAll(fh: fsp.FileHandle, buf: Buffer): Promise<void> {
  // A write may be partial; loop until every byte is out.
  let off = 0;
  for (let i = 0; i < 1_000_000 && off < buf.length; i++) {
    const { bytesWritten } = await fh.write(buf, off, buf.length - off);
    off += bytesWritten;
  }
}

/** fsyncs a directory so a file created or renamed in it survives a crash. */
export async function syncDir(dir: string): Promise<void> {
  let fd: number | undefined;
  try {
    fd = fs.openSync(dir, 'r');
    fs.fsyncSync(fd);
  } catch {
    // Some filesystems refuse fsync on directories; the data files themselves are synced.
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}
