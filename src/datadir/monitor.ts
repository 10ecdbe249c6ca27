import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { Logger } from 'pino';
import { StorageUnavailableError, storageUnavailableCodeOf } from '../storage/index.ts';
import type { StorageHealth, StorageUnavailableCode } from '../storage/index.ts';

/** The probe file written and removed by every check. */
const PROBE_FILE = '.heimdall-write-probe';
/** Free space below which a write failure without an errno (DuckDB's) counts as a full disk: this plus twice the write. */
const MIN_FREE_BYTES = 1024 * 1024;

export interface DataDirMonitorOptions {
  /** The data directory (`--data-dir`). */
  readonly dir: string;
  /** How often the directory's identity and writability are checked; default 2 s. */
  readonly intervalMs?: number;
  readonly logger?: Logger;
  /** Called for every write refused or failed because of the directory (self-metrics count it). */
  readonly onRefusal?: (code: StorageUnavailableCode) => void;
}

/** What the monitor knows about the data directory. */
export interface DataDirStatus {
  /** `ok`; `disk_full` (writes fail until space is freed; reads and `/ready` keep serving); `unwritable` (turns back to ok by itself); `lost` (until restart). */
  readonly state: 'ok' | 'disk_full' | 'unwritable' | 'lost';
  /** Why, when not ok (names the directory). */
  readonly reason?: string;
}

interface Identity {
  readonly dev: number;
  readonly ino: number;
}

/**
 * Watches the data directory under a running server: its identity (device and inode of the directory and
 * of the engine directories in it, so deleting or replacing any of them is noticed even though open files
 * keep working) and its writability (a probe file written and removed), every `intervalMs` and after every
 * failed write. Implements {@link StorageHealth} for the engines.
 *
 * What each state does: `lost` (a directory removed or replaced) refuses every write with
 * `data_dir_unavailable` and turns `/ready` to 503 until Heimdall is restarted, even if a directory of that
 * name comes back: the engines' open files belong to the removed one, so nothing written now would be found
 * by a restart. `unwritable` (read-only, permissions, I/O errors on the probe) refuses writes and turns
 * `/ready` to 503 until a check finds it writable again, then writing resumes in the same files. `disk_full`
 * only answers the failing writes (each is cut back off the logs, and retried writes succeed once space is
 * freed); reads and `/ready` keep serving. Every transition is logged.
 */
export class DataDirMonitor implements StorageHealth {
  readonly dir: string;
  private readonly logger: Logger | undefined;
  private readonly onRefusal: ((code: StorageUnavailableCode) => void) | undefined;
  private readonly watched = new Map<string, Identity>();
  private status: DataDirStatus = { state: 'ok' };
  private refusal: StorageUnavailableError | undefined;
  private timer: NodeJS.Timeout | undefined;
  private checking: Promise<DataDirStatus> | undefined;
  /** Free bytes a later check must see before a full disk is reported as freed. */
  private neededFreeBytes = MIN_FREE_BYTES;

  private constructor(opts: DataDirMonitorOptions) {
    this.dir = opts.dir;
    this.logger = opts.logger;
    this.onRefusal = opts.onRefusal;
  }

  /** Records the directory's identity and starts the periodic check (the timer does not keep the process alive). */
  static async start(opts: DataDirMonitorOptions): Promise<DataDirMonitor> {
    const m = new DataDirMonitor(opts);
    await m.watch(opts.dir);
    m.timer = setInterval(() => void m.check(), opts.intervalMs ?? 2_000);
    m.timer.unref();
    return m;
  }

  /** Adds a directory inside the data directory (an engine's) whose removal or replacement counts as lost. */
  async watch(dir: string): Promise<void> {
    const st = await fs.stat(dir);
    this.watched.set(dir, { dev: st.dev, ino: st.ino });
  }

  /** The current state. */
  get current(): DataDirStatus {
    return this.status;
  }

  /** Why `/ready` must answer 503, or undefined while writes can go on (a full disk does not stop reads). */
  notReadyReason(): string | undefined {
    return this.status.state === 'lost' || this.status.state === 'unwritable' ? this.status.reason : undefined;
  }

  writeRefusal(): StorageUnavailableError | undefined {
    if (this.refusal) this.onRefusal?.(this.refusal.code);
    return this.refusal;
  }

  async diagnose(err: unknown, bytes: number): Promise<StorageUnavailableError | undefined> {
    try {
      const status = await this.check();
      if (status.state === 'lost' || status.state === 'unwritable') return this.refused(err);
      const code = storageUnavailableCodeOf(err) ?? (status.state === 'disk_full' ? 'disk_full' : await this.lowSpace(bytes));
      if (code === undefined) return undefined;
      if (code === 'disk_full') {
        this.neededFreeBytes = Math.max(this.neededFreeBytes, MIN_FREE_BYTES + 2 * bytes);
        this.transition({ state: 'disk_full', reason: `no space left on the device of data directory ${this.dir}` });
        this.onRefusal?.('disk_full');
        return new StorageUnavailableError(
          'disk_full',
          `no space left on the device of data directory ${this.dir}; nothing of this batch was kept, retry after space is freed`,
          { cause: err },
        );
      }
      this.transition({ state: 'unwritable', reason: `data directory ${this.dir} is not writable` });
      return this.refused(err);
    } catch (checkErr) {
      this.logger?.error({ err: checkErr }, 'checking the data directory failed');
      return undefined;
    }
  }

  /**
   * Checks identity and writability now (also run by the timer; concurrent calls share one check) and
   * updates the state.
   */
  check(): Promise<DataDirStatus> {
    this.checking ??= this.runCheck().finally(() => (this.checking = undefined));
    return this.checking;
  }

  /** Stops the periodic check. */
  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  private async runCheck(): Promise<DataDirStatus> {
    if (this.status.state === 'lost') return this.status;
    for (const [dir, id] of this.watched) {
      let st;
      try {
        st = await fs.stat(dir);
      } catch (err) {
        return this.transition({ state: 'lost', reason: `data directory ${dir} was removed (${(err as NodeJS.ErrnoException).code ?? 'stat failed'}) while Heimdall was running; restart Heimdall` });
      }
      if (st.dev !== id.dev || st.ino !== id.ino) {
        return this.transition({ state: 'lost', reason: `data directory ${dir} was replaced by another directory while Heimdall was running; restart Heimdall` });
      }
    }
    const probe = path.join(this.dir, PROBE_FILE);
    try {
      await fs.writeFile(probe, 'heimdall write probe\n');
      await fs.rm(probe, { force: true });
    } catch (err) {
      // The write's failure is what we diagnose; the probe may not even exist, so its removal is best effort.
      await fs.rm(probe, { force: true }).catch(() => undefined);
      const code = (err as NodeJS.ErrnoException).code ?? 'error';
      if (storageUnavailableCodeOf(err) === 'disk_full') {
        return this.transition({ state: 'disk_full', reason: `no space left on the device of data directory ${this.dir}` });
      }
      return this.transition({ state: 'unwritable', reason: `data directory ${this.dir} is not writable (${code})` });
    }
    if (this.status.state === 'disk_full' && (await this.freeBytes()) < this.neededFreeBytes) return this.status;
    this.neededFreeBytes = MIN_FREE_BYTES;
    return this.transition({ state: 'ok' });
  }

  private async lowSpace(bytes: number): Promise<'disk_full' | undefined> {
    return (await this.freeBytes()) < MIN_FREE_BYTES + 2 * bytes ? 'disk_full' : undefined;
  }

  private async freeBytes(): Promise<number> {
    const st = await fs.statfs(this.dir);
    return st.bavail * st.bsize;
  }

  private refused(cause: unknown): StorageUnavailableError {
    const e = this.refusal ?? new StorageUnavailableError('data_dir_unavailable', this.status.reason ?? `data directory ${this.dir} is unavailable`);
    this.onRefusal?.(e.code);
    return cause === undefined ? e : new StorageUnavailableError(e.code, e.message, { cause });
  }

  private transition(next: DataDirStatus): DataDirStatus {
    const prev = this.status;
    if (prev.state === next.state && prev.reason === next.reason) return prev;
    this.status = next;
    this.refusal =
      next.state === 'lost' || next.state === 'unwritable'
        ? new StorageUnavailableError('data_dir_unavailable', `${next.reason}; writes are refused`)
        : undefined;
    if (next.state === 'ok') this.logger?.info({ dataDir: this.dir, previous: prev.state }, `data directory ${this.dir} is writable again`);
    else if (next.state === 'disk_full') this.logger?.warn({ dataDir: this.dir }, `${next.reason}: writes answer 503 until space is freed`);
    else this.logger?.error({ dataDir: this.dir, state: next.state }, `${next.reason}: writes are refused and /ready answers 503`);
    return next;
  }
}
