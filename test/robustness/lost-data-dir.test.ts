// The data directory is deleted under a running Heimdall: writes are refused at once with a retryable 503
// naming the directory (no more acknowledgements into deleted files), /ready turns 503 naming the reason,
// it is logged, and a directory recreated under the same name does not bring writes back (the engines' files
// are gone: a restart is needed). Reads and the process keep running.
import assert from 'node:assert/strict';
import { mkdirSync, rmSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, test } from 'node:test';
import { startHeimdall } from '../e2e/harness.ts';
import type { HeimdallProcess } from '../e2e/harness.ts';
import { lokiPush, remoteWrite } from '../support/write-clients.ts';

const TENANT = 'lost-dir';

let heimdall: HeimdallProcess | undefined;
after(async () => {
  await heimdall?.stop();
});

async function readyAnswer(h: HeimdallProcess): Promise<{ status: number; body: string }> {
  const res = await fetch(`${h.httpUrl}/ready`);
  return { status: res.status, body: await res.text() };
}

test('a data directory deleted under the server: writes refused, /ready 503, logged', { timeout: 120_000 }, async () => {
  const h = (heimdall = await startHeimdall());
  const nowMs = Date.now();
  const nowNs = BigInt(nowMs) * 1_000_000n;
  assert.equal((await remoteWrite(h.httpUrl, TENANT, 'lost_dir_samples', { n: '0' }, [nowMs - 1000])).status, 204);
  assert.equal((await lokiPush(h.httpUrl, TENANT, { app: 'lost-dir' }, nowNs, ['before'])).status, 204);

  rmSync(h.dataDir, { recursive: true, force: true });

  // At once, before any periodic check: the next writes would land in deleted files.
  const m = await remoteWrite(h.httpUrl, TENANT, 'lost_dir_samples', { n: '1' }, [nowMs]);
  assert.equal(m.status, 503, m.body);
  assert.ok(m.retryAfter !== null);
  assert.ok(m.body.includes(h.dataDir), m.body);
  const l = await lokiPush(h.httpUrl, TENANT, { app: 'lost-dir' }, nowNs + 1n, ['after']);
  assert.equal(l.status, 503, l.body);
  assert.ok(l.retryAfter !== null);
  assert.ok(l.body.includes(h.dataDir), l.body);

  let ready = await readyAnswer(h);
  for (let i = 0; i < 200 && ready.status === 200; i++) {
    await sleep(100);
    ready = await readyAnswer(h);
  }
  assert.equal(ready.status, 503);
  assert.match(ready.body, /data directory .* was removed/);
  assert.ok(ready.body.includes(h.dataDir), ready.body);
  // The log line may arrive after the 503 it explains: wait for it (bounded) rather than read the output at once.
  await h.waitForOutput(/was removed .*writes are refused and \/ready answers 503/);

  // A directory recreated under the same name is not the one the engines' files were in: still refused.
  mkdirSync(h.dataDir, { recursive: true });
  await sleep(2500);
  assert.equal((await readyAnswer(h)).status, 503);
  const again = await remoteWrite(h.httpUrl, TENANT, 'lost_dir_samples', { n: '2' }, [nowMs + 1000]);
  assert.equal(again.status, 503, again.body);
  assert.match(again.body, /restart Heimdall/);

  // Reads and the process keep running.
  const prom = await fetch(`${h.httpUrl}/prometheus/api/v1/query?query=lost_dir_samples`, { headers: { 'x-scope-orgid': TENANT } });
  assert.equal(prom.status, 200, await prom.text());
  const metrics = await (await fetch(`${h.httpUrl}/metrics`)).text();
  assert.match(metrics, /heimdall_storage_unavailable_writes_total\{reason="data_dir_unavailable"\} [1-9]/);
});
