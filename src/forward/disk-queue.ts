import fsp from 'node:fs/promises';
import path from 'node:path';
import { crc32 } from 'node:zlib';
import { Wal, resumeAfterBadFrame } from '../objstore/index.ts';
import { RetryableStorageError } from '../storage/index.ts';

/** The WAL's frame header: `[u32 payload length][u32 crc32]`. */
const FRAME_HEADER_BYTES = 8;
/** Each queued payload starts with its weight (records it stands for), for the queue-records gauge. */
const WEIGHT_BYTES = 4;

/**
 * Where a queued payload is and what it stands for, without the payload itself: what a sender keeps of items it
 * cannot send yet (their payloads are read again with {@link DiskQueue.read}), and what {@link DiskQueue.ack} takes.
 */
export interface QueueRef {
  readonly segment: number;
  /** Byte offset of the item's frame in its segment. */
  readonly offset: number;
  /** Records this payload stands for (what `push` was given). */
  readonly weight: number;
  /** Bytes the item occupies on disk. */
  readonly diskBytes: number;
  /** Read order, for the acknowledged-prefix bookkeeping. */
  readonly seq: number;
}

/** One queued payload as the reader hands it out; pass it back to {@link DiskQueue.ack} once it is done with. */
export interface QueueItem extends QueueRef {
  readonly payload: Buffer;
}

/** Bytes of a queue segment that failed their length or checksum and were skipped. */
export interface QueueCorruption {
  readonly segment: number;
  readonly offset: number;
  readonly bytes: number;
}

/** Where the acknowledged prefix ends: every item before this position was acknowledged. */
interface AckPosition {
  readonly segment: number;
  readonly offset: number;
}

/** The file that remembers the acknowledged prefix across restarts. */
const ACKED_FILE = 'acked.json';
/** How long an advanced prefix may wait before it is written (it is an optimisation, not a durability promise). */
const ACK_SAVE_DELAY_MS = 100;

interface SegmentState {
  /** Bytes of whole, durable frames; the reader never reads past it. */
  durableEnd: number;
  /** Items handed out by the reader and not yet acknowledged. */
  outstanding: number;
  /** Weight of this segment's items not yet acknowledged (read or not). */
  weight: number;
  /** The reader has read every frame of the segment and the WAL has moved past it. */
  fullyRead: boolean;
}

export interface DiskQueueOptions {
  readonly dir: string;
  /** Bytes the queue may hold on disk; a push past it is refused as retryable (429 with `Retry-After`). */
  readonly maxBytes: number;
  /** Segment files roll over at this size; whole segments are deleted once every item in them is acknowledged. */
  readonly segmentBytes: number;
  /** Names the queue in error messages (`metrics → http://mimir/api/v1/push`). */
  readonly name: string;
  /** The config setting that bounds it, named in the 429's message. */
  readonly setting: string;
  /**
   * Called when bytes on disk fail their frame length or checksum (at open or while reading) and are skipped, so
   * one bad frame never stops the reader; the records they held are reported to `onLost` when their segment goes.
   */
  readonly onCorrupt?: (bad: QueueCorruption) => void;
  /** Records pushed by this process that were never handed out (their frames were skipped as corrupt). */
  readonly onLost?: (records: number) => void;
}

/**
 * A durable FIFO queue on disk, built on the shared segmented {@link Wal}: `push` resolves once the payload is
 * fsynced (group commit with other pushes), a single reader takes items in order with `next`, and `ack` marks one
 * done (sent, or dropped for good). A segment file is deleted once the reader has passed it and every item read
 * from it is acknowledged; when everything read is acknowledged the queue rolls to a fresh segment, so an idle
 * queue keeps nothing on disk.
 *
 * Delivery is at least once: the end of the acknowledged prefix (every item before it acknowledged) is saved
 * (`acked.json`, replaced by rename, shortly after it moves) and a restart resumes reading there; items acknowledged
 * out of order past it, and any acknowledged after the last save, are read again.
 *
 * Memory is bounded: the reader keeps only per-segment counters, and payloads are read back from the files
 * (the page cache, normally) when handed out. Not safe for several readers.
 */
export class DiskQueue {
  private readonly segs = new Map<number, SegmentState>();
  private cursorSeg = 0;
  private cursorOff = 0;
  private readFh: { seg: number; fh: fsp.FileHandle } | undefined;
  /** Bytes of durable frames in live segments. */
  private diskBytes = 0;
  /** Bytes of pushes waiting for their fsync, counted against the bound so concurrent pushes cannot overshoot it. */
  private pendingBytes = 0;
  private weight = 0;
  private waiters: (() => void)[] = [];
  private rotating = false;
  private closed = false;
  /** Items read, in read order, from the first one not yet acknowledged: their end position and whether acked. */
  private readLog: { segment: number; end: number; acked: boolean }[] = [];
  private readLogFirstSeq = 0;
  private nextSeq = 0;
  private ackedPrefix: AckPosition | undefined;
  private saveTimer: NodeJS.Timeout | undefined;
  private saving: Promise<void> = Promise.resolve();
  /** Bad bytes found at open and left in place (`segment:offset`): reported then, skipped silently when read. */
  private readonly reportedCorrupt = new Set<string>();

  private constructor(
    private readonly wal: Wal,
    private readonly opts: DiskQueueOptions,
  ) {}

  /**
   * Opens the queue in `dir` (created if missing) and takes over what a previous process left: every segment on
   * disk, its torn tail (a push that never resolved) cut off.
   */
  static async open(opts: DiskQueueOptions): Promise<DiskQueue> {
    const wal = await Wal.open(opts.dir, opts.segmentBytes, `forward queue ${opts.name}`);
    const q = new DiskQueue(wal, opts);
    const acked = await readAckPosition(opts.dir);
    // Segments wholly before the acknowledged prefix were sent; the crash came before they were deleted.
    if (acked !== undefined) await wal.truncateBefore(acked.segment);
    await wal.replay(
      0,
      (frame) => {
        const st = q.segment(frame.segment);
        const bytes = FRAME_HEADER_BYTES + frame.payload.length;
        st.durableEnd += bytes;
        q.diskBytes += bytes;
        if (acked !== undefined && frame.segment === acked.segment && st.durableEnd <= acked.offset) return;
        const w = frame.payload.length >= WEIGHT_BYTES ? frame.payload.readUInt32LE(0) : 0;
        st.weight += w;
        q.weight += w;
      },
      (bad) => {
        // Bad bytes with good frames after them stay in the file (the reader skips them again); their records are unknown.
        if (bad.kept) {
          q.segment(bad.segment).durableEnd += bad.bytes;
          q.diskBytes += bad.bytes;
          q.reportedCorrupt.add(`${bad.segment}:${bad.offset}`);
        }
        opts.onCorrupt?.({ segment: bad.segment, offset: bad.offset, bytes: bad.bytes });
      },
    );
    q.cursorSeg = Math.min(...q.segs.keys(), wal.currentSegment);
    // Resume after the acknowledged prefix, so what was sent before a crash is not sent again.
    const st = acked === undefined ? undefined : q.segs.get(acked.segment);
    if (acked !== undefined && st !== undefined && acked.offset <= st.durableEnd) {
      q.cursorSeg = acked.segment;
      q.cursorOff = acked.offset;
    }
    return q;
  }

  /** Bytes on disk (including pushes being written). */
  get bytes(): number {
    return this.diskBytes + this.pendingBytes;
  }

  /** Records queued and not yet acknowledged. */
  get records(): number {
    return this.weight;
  }

  /** Whether nothing is queued: every pushed item was acknowledged. */
  get empty(): boolean {
    return this.weight === 0 && this.diskBytes === 0 && this.pendingBytes === 0;
  }

  /**
   * Throws the retryable "queue full" error if `payloadBytes` more would pass the bound. Synchronous, so a caller
   * that checks several queues and then pushes to all of them (with no await between) sees a consistent answer.
   */
  checkRoom(payloadBytes: number): void {
    if (this.closed) throw new RetryableStorageError('shutting_down', `the forward queue ${this.opts.name} is closing`);
    const need = FRAME_HEADER_BYTES + WEIGHT_BYTES + payloadBytes;
    // An empty queue takes any one item, so a batch larger than the bound is not refused forever.
    if (this.bytes > 0 && this.bytes + need > this.opts.maxBytes) {
      throw new RetryableStorageError(
        'overloaded',
        `the forward queue ${this.opts.name} is full (${this.bytes} bytes queued, ${this.opts.setting} is ${this.opts.maxBytes}): the remote is not keeping up; retry later`,
        5,
      );
    }
  }

  /**
   * Appends `payload` standing for `weight` records; resolves once it is durable. Rejects with a retryable error
   * when the queue is full ({@link checkRoom}) or closing, or when the write fails (nothing of it is kept then).
   */
  async push(payload: Uint8Array, weight: number): Promise<void> {
    this.checkRoom(payload.length);
    const frame = Buffer.allocUnsafe(WEIGHT_BYTES + payload.length);
    frame.writeUInt32LE(weight, 0);
    frame.set(payload, WEIGHT_BYTES);
    const bytes = FRAME_HEADER_BYTES + frame.length;
    this.pendingBytes += bytes;
    await this.wal.append(
      frame,
      () => {
        this.pendingBytes -= bytes;
        const st = this.segment(this.wal.currentSegment);
        st.durableEnd += bytes;
        st.weight += weight;
        this.diskBytes += bytes;
        this.weight += weight;
        this.wake();
      },
      () => {
        this.pendingBytes -= bytes;
      },
    );
  }

  /**
   * The next item in push order, or undefined when the reader has caught up. Each item is handed out once per
   * process; {@link ack} it when done.
   */
  async next(): Promise<QueueItem | undefined> {
    for (;;) {
      if (this.closed) return undefined;
      const st = this.segs.get(this.cursorSeg);
      if (st === undefined) {
        const later = [...this.segs.keys()].filter((s) => s > this.cursorSeg);
        if (later.length === 0) return undefined;
        this.moveCursor(Math.min(...later));
        continue;
      }
      if (this.cursorOff < st.durableEnd) {
        const item = await this.readFrame(st);
        if (item !== undefined) return item;
        continue; // a corrupt frame was skipped
      }
      if (this.cursorSeg >= this.wal.currentSegment) return undefined;
      // The WAL moved past this segment and every frame of it was read.
      st.fullyRead = true;
      const done = this.cursorSeg;
      this.moveCursor(done + 1);
      await this.maybeDelete(done);
    }
  }

  /** Resolves when a new item becomes durable, the queue closes, or `signal` aborts. */
  waitForData(signal?: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      if (this.closed || signal?.aborted || this.unread()) return resolve();
      const done = (): void => {
        signal?.removeEventListener('abort', done);
        resolve();
      };
      this.waiters.push(done);
      signal?.addEventListener('abort', done, { once: true });
    });
  }

  /**
   * Reads the payload of an item handed out earlier (its segment stays until the item is acknowledged). Rejects
   * when the bytes no longer check out.
   */
  async read(ref: QueueRef): Promise<Buffer> {
    const fh = await fsp.open(this.segmentPath(ref.segment), 'r');
    try {
      const frame = Buffer.allocUnsafe(ref.diskBytes);
      await readExactly(fh, frame, ref.offset);
      const len = frame.readUInt32LE(0);
      if (len !== ref.diskBytes - FRAME_HEADER_BYTES || crc32(frame.subarray(FRAME_HEADER_BYTES)) !== frame.readUInt32LE(4)) {
        throw new Error(`forward queue ${this.opts.name}: segment ${ref.segment} no longer checks out at byte ${ref.offset}`);
      }
      return frame.subarray(FRAME_HEADER_BYTES + WEIGHT_BYTES);
    } finally {
      await fh.close();
    }
  }

  /** Marks `item` done. Deletes its segment once nothing of it is left; rolls the queue over when it drained. */
  async ack(item: QueueRef): Promise<void> {
    this.advanceAckedPrefix(item.seq);
    const st = this.segs.get(item.segment);
    if (st === undefined) return;
    st.outstanding--;
    st.weight -= item.weight;
    this.weight -= item.weight;
    await this.maybeDelete(item.segment);
    await this.rollIfDrained();
  }

  /** Stops reading and closes the WAL (queued pushes finish first). Items not acknowledged stay on disk. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.wake();
    clearTimeout(this.saveTimer);
    await this.saving;
    await this.saveAckPosition();
    await this.wal.close();
    await this.readFh?.fh.close();
    this.readFh = undefined;
  }

  /** Whether `next` has something to do (an unread frame, or a segment to move past). */
  private unread(): boolean {
    const st = this.segs.get(this.cursorSeg);
    if (st !== undefined && (this.cursorOff < st.durableEnd || this.cursorSeg < this.wal.currentSegment)) return true;
    for (const s of this.segs.keys()) if (s > this.cursorSeg) return true;
    return false;
  }

  private segment(seg: number): SegmentState {
    let st = this.segs.get(seg);
    if (st === undefined) {
      st = { durableEnd: 0, outstanding: 0, weight: 0, fullyRead: false };
      this.segs.set(seg, st);
    }
    return st;
  }

  private moveCursor(seg: number): void {
    this.cursorSeg = seg;
    this.cursorOff = 0;
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }

  /** Reads the frame at the cursor; undefined when it was corrupt and skipped (the cursor moved past it). */
  private async readFrame(st: SegmentState): Promise<QueueItem | undefined> {
    const seg = this.cursorSeg;
    if (this.readFh?.seg !== seg) {
      await this.readFh?.fh.close();
      this.readFh = undefined;
      this.readFh = { seg, fh: await fsp.open(this.segmentPath(seg), 'r') };
    }
    const fh = this.readFh.fh;
    const offset = this.cursorOff;
    if (offset + FRAME_HEADER_BYTES > st.durableEnd) return this.skipCorrupt(st, fh);
    const header = Buffer.allocUnsafe(FRAME_HEADER_BYTES);
    await readExactly(fh, header, offset);
    const len = header.readUInt32LE(0);
    const frameBytes = FRAME_HEADER_BYTES + len;
    if (len < WEIGHT_BYTES || offset + frameBytes > st.durableEnd) return this.skipCorrupt(st, fh);
    const frame = Buffer.allocUnsafe(len);
    await readExactly(fh, frame, offset + FRAME_HEADER_BYTES);
    if (crc32(frame) !== header.readUInt32LE(4)) return this.skipCorrupt(st, fh);
    this.cursorOff += frameBytes;
    st.outstanding++;
    const seq = this.nextSeq++;
    this.readLog.push({ segment: seg, end: this.cursorOff, acked: false });
    return { segment: seg, offset, weight: frame.readUInt32LE(0), payload: frame.subarray(WEIGHT_BYTES), diskBytes: frameBytes, seq };
  }

  /**
   * Moves the cursor past the bad frame at it, to the next good frame of the segment (or its end), and reports
   * the skipped bytes: bytes garbled on disk lose what they held, not the queue.
   */
  private async skipCorrupt(st: SegmentState, fh: fsp.FileHandle): Promise<undefined> {
    const rest = Buffer.allocUnsafe(st.durableEnd - this.cursorOff);
    await readExactly(fh, rest, this.cursorOff);
    const bytes = resumeAfterBadFrame(rest, 0);
    if (!this.reportedCorrupt.delete(`${this.cursorSeg}:${this.cursorOff}`)) this.opts.onCorrupt?.({ segment: this.cursorSeg, offset: this.cursorOff, bytes });
    this.cursorOff += bytes;
    return undefined;
  }

  /** Marks item `seq` acknowledged and moves the acknowledged prefix past every leading acknowledged item. */
  private advanceAckedPrefix(seq: number): void {
    const entry = this.readLog[seq - this.readLogFirstSeq];
    if (entry === undefined) return;
    entry.acked = true;
    let n = 0;
    while (n < this.readLog.length && this.readLog[n]!.acked) n++;
    if (n === 0) return;
    const last = this.readLog[n - 1]!;
    this.readLog = this.readLog.slice(n);
    this.readLogFirstSeq += n;
    this.ackedPrefix = { segment: last.segment, offset: last.end };
    this.saveTimer ??= setTimeout(() => {
      this.saveTimer = undefined;
      this.saving = this.saving.then(() => this.saveAckPosition());
    }, ACK_SAVE_DELAY_MS);
  }

  /**
   * Writes the acknowledged prefix (replacing the file by rename, so a crash leaves the old or the new one). Not
   * fsynced: after a process crash the page cache keeps it; after a power loss an older prefix only means more
   * items are sent again. A failure is ignored for the same reason.
   */
  private async saveAckPosition(): Promise<void> {
    const pos = this.ackedPrefix;
    if (pos === undefined) return;
    const file = path.join(this.opts.dir, ACKED_FILE);
    try {
      await fsp.writeFile(`${file}.tmp`, JSON.stringify(pos));
      await fsp.rename(`${file}.tmp`, file);
    } catch {
      // Best effort: see above.
    }
  }

  private async maybeDelete(seg: number): Promise<void> {
    const st = this.segs.get(seg);
    if (st === undefined || !st.fullyRead || st.outstanding > 0) return;
    this.segs.delete(seg);
    this.diskBytes -= st.durableEnd;
    this.weight -= st.weight;
    // Every item handed out was acknowledged, so what is left was in frames skipped as corrupt.
    if (st.weight > 0) this.opts.onLost?.(st.weight);
    if (this.readFh?.seg === seg) {
      await this.readFh.fh.close();
      this.readFh = undefined;
    }
    await fsp.rm(this.segmentPath(seg), { force: true });
  }

  /**
   * When every item read so far is acknowledged and the reader has caught up, starts a new segment so the old
   * one can go: an idle queue holds no file that a restart would send again.
   */
  private async rollIfDrained(): Promise<void> {
    if (this.rotating || this.closed) return;
    const seg = this.cursorSeg;
    const st = this.segs.get(seg);
    if (st === undefined || st.outstanding > 0 || this.cursorOff < st.durableEnd || st.durableEnd === 0) return;
    if (this.pendingBytes > 0) return;
    this.rotating = true;
    try {
      await this.wal.rotate();
    } catch {
      return; // The segment stays; the next drain tries again.
    } finally {
      this.rotating = false;
    }
    // Frames pushed during the rotation may have landed in the old segment; `next` reads them and moves on.
    if (this.cursorSeg === seg && this.cursorOff >= st.durableEnd && this.segs.get(seg) === st) {
      st.fullyRead = true;
      this.moveCursor(seg + 1);
      await this.maybeDelete(seg);
    }
  }

  private segmentPath(seg: number): string {
    return path.join(this.opts.dir, String(seg).padStart(8, '0'));
  }
}

/** The saved acknowledged prefix, or undefined (none yet, or unreadable: then everything on disk is sent again). */
async function readAckPosition(dir: string): Promise<AckPosition | undefined> {
  try {
    const v = JSON.parse(await fsp.readFile(path.join(dir, ACKED_FILE), 'utf8')) as Partial<AckPosition>;
    if (Number.isSafeInteger(v.segment) && Number.isSafeInteger(v.offset) && v.offset! >= 0) return { segment: v.segment!, offset: v.offset! };
  } catch {
    // No file yet, or a torn one from an old crash.
  }
  return undefined;
}

async function readExactly(fh: fsp.FileHandle, buf: Buffer, position: number): Promise<void> {
  let off = 0;
  while (off < buf.length) {
    const { bytesRead } = await fh.read(buf, off, buf.length - off, position + off);
    if (bytesRead === 0) throw new Error(`unexpected end of queue segment at byte ${position + off}`);
    off += bytesRead;
  }
}
