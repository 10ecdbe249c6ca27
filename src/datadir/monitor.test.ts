import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, renameSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { StorageUnavailableError } from '../storage/index.ts';
import { DataDirMonitor } from './monitor.ts';

function errno(code: string): Error {
  return Object.assign(new Error(`${code}: simulated`), { code });
}

test('an unwritable data directory refuses writes and turns not-ready until a check finds it writable again', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'heimdall-datadir-'));
  const refused: string[] = [];
  const m = await DataDirMonitor.start({ dir, intervalMs: 3_600_000, onRefusal: (c) => refused.push(c) });
  try {
    assert.equal((await m.check()).state, 'ok');
    assert.equal(m.writeRefusal(), undefined);
    // The probe cannot be written while a directory sits where the probe file goes (EISDIR, like EACCES).
    mkdirSync(path.join(dir, '.heimdall-write-probe'));
    assert.equal((await m.check()).state, 'unwritable');
    assert.match(m.notReadyReason() ?? '', /is not writable/);
    const refusal = m.writeRefusal();
    assert.ok(refusal instanceof StorageUnavailableError);
    assert.equal(refusal.code, 'data_dir_unavailable');
    assert.equal(refusal.httpStatus, 503);
    assert.ok(refusal.message.includes(dir));
    rmSync(path.join(dir, '.heimdall-write-probe'), { recursive: true });
    assert.equal((await m.check()).state, 'ok');
    assert.equal(m.notReadyReason(), undefined);
    assert.equal(m.writeRefusal(), undefined);
    assert.deepEqual(refused, ['data_dir_unavailable']);
  } finally {
    m.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a removed or replaced directory is lost until restart, even when one of that name comes back', async () => {
  const root = mkdtempSync(path.join(os.tmpdir(), 'heimdall-datadir-'));
  const dir = path.join(root, 'data');
  const engine = path.join(dir, 'metrics');
  mkdirSync(engine, { recursive: true });
  const m = await DataDirMonitor.start({ dir, intervalMs: 3_600_000 });
  await m.watch(engine);
  try {
    // Replaced: renamed away and a new directory made under the same name.
    renameSync(engine, path.join(root, 'moved'));
    mkdirSync(engine);
    const status = await m.check();
    assert.equal(status.state, 'lost');
    assert.match(status.reason ?? '', /was replaced by another directory/);
    rmSync(engine, { recursive: true });
    renameSync(path.join(root, 'moved'), engine);
    assert.equal((await m.check()).state, 'lost', 'lost stays lost');
    assert.equal(m.writeRefusal()?.code, 'data_dir_unavailable');
  } finally {
    m.stop();
    rmSync(root, { recursive: true, force: true });
  }
});

test('diagnose: ENOSPC is disk_full (ready stays), an error without errno is disk_full only when space is short', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'heimdall-datadir-'));
  const m = await DataDirMonitor.start({ dir, intervalMs: 3_600_000 });
  try {
    const full = await m.diagnose(new Error('writing failed', { cause: errno('ENOSPC') }), 100);
    assert.ok(full instanceof StorageUnavailableError);
    assert.equal(full.code, 'disk_full');
    assert.match(full.message, /no space left/);
    assert.ok(full.message.includes(dir));
    assert.equal(m.current.state, 'disk_full');
    assert.equal(m.notReadyReason(), undefined, 'a full disk keeps /ready');
    assert.equal(m.writeRefusal(), undefined, 'writes are still tried: space may come back');
    // The temp dir's filesystem has space: the next check clears the state, and an errno-less failure
    // (DuckDB's) of a small write is not about the directory.
    assert.equal((await m.check()).state, 'ok');
    assert.equal(await m.diagnose(new Error('some DuckDB failure'), 100), undefined);
  } finally {
    m.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});
