import { execFileSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** A small tmpfs mounted for a test; `unmount` it in cleanup. */
export interface Tmpfs {
  readonly dir: string;
  unmount(): void;
}

/**
 * Mounts a tmpfs of `sizeBytes` on a fresh temp directory, or returns the reason it cannot (not root, no
 * CAP_SYS_ADMIN in this sandbox), for the test to skip with.
 */
export function mountTmpfs(sizeBytes: number): Tmpfs | string {
  if (process.platform !== 'linux') return 'tmpfs mounts need Linux';
  const dir = mkdtempSync(path.join(os.tmpdir(), 'heimdall-tmpfs-'));
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${sizeBytes}`, 'tmpfs', dir], { stdio: 'pipe' });
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    return `cannot mount a tmpfs here (needs root with CAP_SYS_ADMIN): ${String((err as { stderr?: Buffer }).stderr ?? err).trim()}`;
  }
  return {
    dir,
    unmount() {
      try {
        execFileSync('umount', ['-l', dir], { stdio: 'pipe' });
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}

/** Remounts a tmpfs read-only (`ro`) or read-write. */
export function remountTmpfs(dir: string, mode: 'ro' | 'rw'): void {
  execFileSync('mount', ['-o', `remount,${mode}`, dir], { stdio: 'pipe' });
}

/** Fills the filesystem holding `dir` with one file, `<dir>/filler`, until ENOSPC; returns the file (remove it to free the space). */
export function fillFilesystem(dir: string): string {
  const file = path.join(dir, 'filler');
  const fd = openSync(file, 'w');
  try {
    // Big chunks first, then small ones down to the last free block.
    for (const size of [1024 * 1024, 4096, 512]) {
      const chunk = Buffer.alloc(size, 1);
      for (let i = 0; i < 1_000_000; i++) {
        try {
          writeSync(fd, chunk);
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== 'ENOSPC') throw err;
          break;
        }
      }
    }
  } finally {
    closeSync(fd);
  }
  return file;
}
