import { promises as fs, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** The lock file's name inside the data directory. */
export const LOCK_FILE_NAME = 'heimdall.lock';

/** What a lock file records about its holder. */
interface LockHolder {
  readonly pid: number;
  readonly hostname: string;
  /** When the holder took the lock (ISO 8601). */
  readonly since: string;
  /** The holder's start time in clock ticks since boot (Linux `/proc/<pid>/stat`), to tell a reused PID apart. */
  readonly procStart?: string;
}

/** Another live process holds the data directory. Start-up stops with this message. */
export class DataDirLockedError extends Error {
  readonly holderPid: number;
  constructor(message: string, holderPid: number) {
    super(message);
    this.name = 'DataDirLockedError';
    this.holderPid = holderPid;
  }
}

/**
 * The data directory's lock: `<data_dir>/heimdall.lock`, created exclusively, holding the owner's PID, host
 * and process start time. A second Heimdall on the same directory refuses to start, naming the holder's
 * PID; a lock whose holder is gone (killed with SIGKILL, crashed) is stale and taken over, as is one
 * holding this process' own PID (a container restarting as PID 1). A PID reused by an unrelated process is
 * told apart by its start time (Linux).
 *
 * Contract: acquire before opening any engine; `release` after every engine closed. Two processes starting
 * at the same instant over a stale lock may both remove it; one of them then fails to create it and refuses.
 */
export class DataDirLock {
  private released = false;

  private constructor(
    readonly file: string,
    private readonly holder: LockHolder,
  ) {}

  /** Takes the lock of `dir` (created if missing), or throws {@link DataDirLockedError}. */
  static async acquire(dir: string, onStale?: (holder: { pid: number; since: string }) => void): Promise<DataDirLock> {
    await fs.mkdir(dir, { recursive: true });
    const file = path.join(dir, LOCK_FILE_NAME);
    const procStart = processStartTicks(process.pid);
    const me: LockHolder = {
      pid: process.pid,
      hostname: os.hostname(),
      since: new Date().toISOString(),
      ...(procStart === undefined ? {} : { procStart }),
    };
    for (let attempt = 0; ; attempt++) {
      try {
        const fh = await fs.open(file, 'wx');
        try {
          await fh.writeFile(`${JSON.stringify(me)}\n`);
          await fh.sync();
        } finally {
          await fh.close();
        }
        return new DataDirLock(file, me);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST' || attempt >= 3) throw err;
      }
      const holder = await readHolder(file);
      if (holder === undefined) continue; // removed meanwhile
      if (holder === 'unreadable') {
        throw new DataDirLockedError(
          `data directory ${dir} is locked by ${file}, which does not name its holder (another Heimdall may be starting); remove the file if no Heimdall uses this directory`,
          0,
        );
      }
      if (holderAlive(holder)) {
        const where = holder.hostname === me.hostname ? '' : ` on host ${holder.hostname}`;
        throw new DataDirLockedError(
          `data directory ${dir} is in use by another Heimdall process (PID ${holder.pid}${where}, since ${holder.since}); stop it or start with another --data-dir`,
          holder.pid,
        );
      }
      onStale?.({ pid: holder.pid, since: holder.since });
      await fs.rm(file, { force: true });
    }
  }

  /** The PID recorded in the lock (this process'). */
  get pid(): number {
    return this.holder.pid;
  }

  /** Removes the lock file if it is still this process' own. Safe to call more than once. */
  async release(): Promise<void> {
    if (this.released) return;
    this.released = true;
    const holder = await readHolder(this.file);
    if (typeof holder === 'object' && holder.pid === this.holder.pid && holder.since === this.holder.since) {
      await fs.rm(this.file, { force: true });
    }
  }
}

async function readHolder(file: string): Promise<LockHolder | 'unreadable' | undefined> {
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  try {
    const parsed = JSON.parse(text) as Partial<LockHolder>;
    if (typeof parsed.pid !== 'number' || !Number.isInteger(parsed.pid) || parsed.pid <= 0) return 'unreadable';
    return {
      pid: parsed.pid,
      hostname: typeof parsed.hostname === 'string' ? parsed.hostname : '',
      since: typeof parsed.since === 'string' ? parsed.since : 'an unknown time',
      ...(typeof parsed.procStart === 'string' ? { procStart: parsed.procStart } : {}),
    };
  } catch {
    // A process killed between creating the file and writing it leaves it empty.
    return text.trim() === '' ? staleEmptyHolder : 'unreadable';
  }
}

/** An empty lock file: its writer died before writing a word, so nobody holds it. */
const staleEmptyHolder: LockHolder = { pid: 0, hostname: '', since: 'an unknown time' };

/** Whether the process a lock names still runs. A holder on another host is assumed alive (shared volumes). */
function holderAlive(holder: LockHolder): boolean {
  if (holder.pid === 0) return false;
  if (holder.hostname !== '' && holder.hostname !== os.hostname()) return true;
  if (holder.pid === process.pid) return false;
  try {
    process.kill(holder.pid, 0);
  } catch (err) {
    // EPERM: the process exists but belongs to someone else.
    if ((err as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  const start = processStartTicks(holder.pid);
  return holder.procStart === undefined || start === undefined || start === holder.procStart;
}

/** A process' start time in clock ticks since boot (field 22 of `/proc/<pid>/stat`); undefined off Linux. */
function processStartTicks(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) is parenthesised and may hold spaces: count fields after its closing paren.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return fields[19];
  } catch {
    return undefined;
  }
}
