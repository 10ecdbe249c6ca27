// The data directory's lock file: a second Heimdall on the same --data-dir refuses to start, naming the
// holder's PID; after the holder is killed with SIGKILL its stale lock does not block a restart.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { runHeimdall, startHeimdall } from './harness.ts';

test('a second process on the same data directory refuses to start; a stale lock after kill -9 does not block', { timeout: 120_000 }, async () => {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'heimdall-lock-'));
  try {
    const first = await startHeimdall({ dataDir });
    const lockFile = path.join(dataDir, 'heimdall.lock');
    assert.equal((JSON.parse(readFileSync(lockFile, 'utf8')) as { pid: number }).pid, first.child.pid);

    const second = await runHeimdall(
      ['start', '--data-dir', dataDir, '--http-address', '127.0.0.1:0', '--otlp-http-address', '127.0.0.1:0', '--otlp-grpc-address', '127.0.0.1:0'],
      {},
      60_000,
    );
    assert.notEqual(second.code, 0);
    assert.match(second.stderr, new RegExp(`data directory .* is in use by another Heimdall process \\(PID ${first.child.pid}\\b`));
    // The refused process left the holder's lock and the holder alone.
    assert.equal((await fetch(`${first.httpUrl}/ready`)).status, 200);
    assert.equal((JSON.parse(readFileSync(lockFile, 'utf8')) as { pid: number }).pid, first.child.pid);

    await first.stop({ signal: 'SIGKILL', keepData: true });
    assert.ok(existsSync(lockFile), 'kill -9 leaves the lock file behind');
    const restarted = await startHeimdall({ dataDir });
    assert.match(restarted.output(), new RegExp(`taking over the stale data directory lock of PID ${first.child.pid}`));
    await restarted.stop({ keepData: true });
    assert.ok(!existsSync(lockFile), 'a clean stop removes the lock');
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
});
