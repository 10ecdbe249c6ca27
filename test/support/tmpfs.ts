import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
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
