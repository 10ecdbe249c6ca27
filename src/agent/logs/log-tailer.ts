import { open, readdir, stat } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from 'pino';
import type { Labels, LogEntry, LogRecord } from '../../model/index.ts';
import type { LineDecoder } from './line-decoders.ts';
import type { Positions } from './positions.ts';

/** A file to tail, as discovery names it each round. */
export interface TailTarget {
  readonly path: string;
  readonly labels: Labels;
  readonly decode: LineDecoder;
  /** A file seen for the first time (no saved position) is read from its end rather than its start (system logs). */
  readonly startAtEnd: boolean;
}

/** One open file and the offset up to which its messages were sent. */
interface OpenFile {
  readonly handle: FileHandle;
  readonly fileId: string;
  offset: number;
}

/** A tailed path: the file now at it and files rotated away from it that still hold unsent lines. */
interface TailState {
  target: TailTarget;
  current: OpenFile | undefined;
  /** Oldest first; each is read to its end, then closed. */
  readonly rotated: OpenFile[];
}

/** What one round read from one open file, applied only once its entries are durably queued. */
interface ReadResult {
  readonly state: TailState;
  readonly file: OpenFile;
  readonly newOffset: number;
  /** A rotated file read to its end: closed once its entries are sent. */
  readonly drained: boolean;
  readonly entries: LogEntry[];
}

export interface TailerOptions {
  /** Lists the files to tail now (called every round, so new pods and containers are picked up). */
  discover(): Promise<TailTarget[]>;
  /** Sends one round's records; resolves once they are durable (the forwarding queue). */
  send(records: LogRecord[]): Promise<void>;
  readonly positions: Positions;
  readonly pollIntervalMs: number;
  readonly maxReadBytesPerPoll: number;
  readonly logger: Logger;
}

function fileIdOf(st: { dev: number; ino: number }): string {
  return `${st.dev}:${st.ino}`;
}

async function statOrUndefined(p: string): Promise<{ dev: number; ino: number; size: number } | undefined> {
  try {
    return await stat(p);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

/**
 * Tails log files by polling: new lines, new files, rotation by rename (the old file, still open, is read to
 * its end before the new one) and by copytruncate (a file shorter than the offset is read again from 0).
 * A round's lines are sent in one batch, and offsets and the positions file advance only after it is durable,
 * so a crash at any point resumes at the last sent message boundary. After a restart, a path whose saved file
 * was renamed while the agent was down is found again among its siblings by inode and read to its end first.
 */
export class LogTailer {
  private readonly states = new Map<string, TailState>();
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = false;
  /** One read buffer for every file: a chunk is decoded into strings before the next read. */
  private readonly buf: Buffer;

  constructor(private readonly o: TailerOptions) {
    this.buf = Buffer.allocUnsafe(o.maxReadBytesPerPoll);
  }

  start(): void {
    const loop = (): void => {
      this.running = this.poll()
        .catch((err: unknown) => this.o.logger.warn({ err }, `log tailing round failed (retried next round): ${(err as Error).message}`))
        .finally(() => {
          if (!this.stopped) this.timer = setTimeout(loop, this.o.pollIntervalMs);
        });
    };
    loop();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
    for (const s of this.states.values()) {
      for (const f of [...s.rotated, ...(s.current ? [s.current] : [])]) await f.handle.close();
    }
    this.states.clear();
    await this.o.positions.save();
  }

  /** One round: discover, follow rotations, read, send, then advance offsets and save positions. */
  async poll(): Promise<void> {
    const targets = await this.o.discover();
    const seen = new Set<string>();
    for (const t of targets) {
      seen.add(t.path);
      const state = this.states.get(t.path);
      if (state === undefined) await this.track(t);
      else {
        state.target = t;
        await this.followRotation(state);
      }
    }
    for (const [p, state] of this.states) {
      if (seen.has(p) || state.current === undefined) continue;
      // The path is gone (rotated away with no successor yet, or the pod was deleted): read the open file to its end.
      state.rotated.push(state.current);
      state.current = undefined;
    }
    const results: ReadResult[] = [];
    for (const state of this.states.values()) {
      for (const f of state.rotated) results.push(await this.read(state, f, true));
      if (state.current) results.push(await this.read(state, state.current, false));
    }
    const records: LogRecord[] = [];
    for (const r of results) if (r.entries.length > 0) records.push({ labels: r.state.target.labels, entries: r.entries });
    if (records.length > 0) await this.o.send(records);
    for (const r of results) r.file.offset = r.newOffset;
    for (const r of results) {
      if (!r.drained) continue;
      const i = r.state.rotated.indexOf(r.file);
      if (i >= 0) r.state.rotated.splice(i, 1);
      await r.file.handle.close();
    }
    for (const [p, state] of this.states) {
      const head = state.rotated[0] ?? state.current;
      if (head === undefined) {
        this.states.delete(p);
        this.o.positions.delete(p);
      } else this.o.positions.set(p, { fileId: head.fileId, offset: head.offset });
    }
    await this.o.positions.save();
  }

  /** Starts tailing a path: at its saved position, after first finishing a file rotated away while we were down. */
  private async track(t: TailTarget): Promise<void> {
    const st = await statOrUndefined(t.path);
    if (st === undefined) return;
    const saved = this.o.positions.get(t.path);
    const state: TailState = { target: t, current: undefined, rotated: [] };
    const id = fileIdOf(st);
    if (saved !== undefined && saved.fileId !== id) {
      const old = await this.findSibling(t.path, saved.fileId);
      if (old !== undefined) state.rotated.push({ handle: await open(old, 'r'), fileId: saved.fileId, offset: saved.offset });
      else this.o.logger.warn({ path: t.path }, 'the file saved in the positions file is gone (rotated and removed while the agent was down): lines it still held are lost');
    }
    const offset = saved !== undefined && saved.fileId === id ? (saved.offset <= st.size ? saved.offset : 0) : saved === undefined && t.startAtEnd ? st.size : 0;
    state.current = { handle: await open(t.path, 'r'), fileId: id, offset };
    this.states.set(t.path, state);
  }

  /** A rotated-away file keeps its inode under a new name in the same directory (`0.log.20240101-...`). */
  private async findSibling(filePath: string, fileId: string): Promise<string | undefined> {
    const dir = path.dirname(filePath);
    for (const name of await readdir(dir).catch(() => [] as string[])) {
      const p = path.join(dir, name);
      const st = await statOrUndefined(p);
      if (st !== undefined && fileIdOf(st) === fileId) return p;
    }
    return undefined;
  }

  private async followRotation(state: TailState): Promise<void> {
    const st = await statOrUndefined(state.target.path);
    if (st === undefined) return;
    const id = fileIdOf(st);
    if (state.current === undefined || state.current.fileId !== id) {
      if (state.current) state.rotated.push(state.current);
      state.current = { handle: await open(state.target.path, 'r'), fileId: id, offset: 0 };
    } else if (st.size < state.current.offset) {
      // Truncated in place (copytruncate): what it holds now was written after the truncation.
      this.o.logger.debug({ path: state.target.path }, 'file truncated: reading it again from the start');
      state.current.offset = 0;
    }
  }

  private async read(state: TailState, file: OpenFile, rotated: boolean): Promise<ReadResult> {
    const max = this.o.maxReadBytesPerPoll;
    const { bytesRead } = await file.handle.read(this.buf, 0, max, file.offset);
    const chunk = this.buf.subarray(0, bytesRead);
    const atEnd = bytesRead < max;
    // A rotated file read to its end has no more lines coming; a full chunk without any boundary is one line
    // longer than the read limit, emitted as it is so tailing moves on.
    let decoded = state.target.decode(chunk, rotated && atEnd);
    if (decoded.consumed === 0 && bytesRead === max) decoded = state.target.decode(chunk, true);
    return { state, file, newOffset: file.offset + decoded.consumed, drained: rotated && atEnd, entries: decoded.entries };
  }
}
