import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { DataDirLock, DataDirLockedError, LOCK_FILE_NAME } from './lock.ts';

function withDir(fn: (dir: string, lockFile: string) => Promise<void>): () => Promise<void> {
  return async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'heimdall-lock-'));
    try {
      await fn(dir, path.join(dir, LOCK_FILE_NAME));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  };
}

/** The PID of a process that has exited (a finished child). */
function deadPid(): number {
  return spawnSync(process.execPath, ['-e', '0']).pid;
}

test('a live holder is refused by PID; release removes only our own lock', withDir(async (dir, lockFile) => {
  // The parent process (the test runner) is alive: a lock naming it is held.
  writeFileSync(lockFile, JSON.stringify({ pid: process.ppid, hostname: os.hostname(), since: '2026-01-01T00:00:00.000Z' }));
  await assert.rejects(DataDirLock.acquire(dir), (err: unknown) => {
    assert.ok(err instanceof DataDirLockedError);
    assert.equal(err.holderPid, process.ppid);
    assert.match(err.message, new RegExp(`in use by another Heimdall process \\(PID ${process.ppid}, since 2026-01-01`));
    return true;
  });
  rmSync(lockFile);
  const lock = await DataDirLock.acquire(dir);
  assert.equal((JSON.parse(readFileSync(lockFile, 'utf8')) as { pid: number }).pid, process.pid);
  await lock.release();
  assert.ok(!existsSync(lockFile));
}));

test('stale locks are taken over: a gone PID, our own PID, an empty file', withDir(async (dir, lockFile) => {
  const stale: number[] = [];
  for (const content of [
    JSON.stringify({ pid: deadPid(), hostname: os.hostname(), since: 'x' }),
    JSON.stringify({ pid: process.pid, hostname: os.hostname(), since: 'x' }),
    '',
  ]) {
    writeFileSync(lockFile, content);
    const lock = await DataDirLock.acquire(dir, (h) => stale.push(h.pid));
    assert.equal(lock.pid, process.pid);
    await lock.release();
  }
  assert.equal(stale.length, 3);
}));

test('a reused PID (same number, another start time) is stale; garbage is refused', withDir(async (dir, lockFile) => {
  writeFileSync(lockFile, JSON.stringify({ pid: process.ppid, hostname: os.hostname(), since: 'x', procStart: '1' }));
  const lock = await DataDirLock.acquire(dir);
  await lock.release();
  writeFileSync(lockFile, 'not json');
  await assert.rejects(DataDirLock.acquire(dir), /does not name its holder/);
}));
