// The data directory becomes unwritable under a running Heimdall (its permissions are taken away; the
// process runs as an unprivileged user, since root writes anyway): /ready turns 503 naming the reason, writes
// are refused with a retryable 503 naming the directory, it is logged; once the directory is writable again
// Heimdall turns ready by itself and accepts writes, and a restart finds every acknowledged record.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, chownSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { HEIMDALL_BIN, startHeimdall } from '../e2e/harness.ts';
import type { HeimdallProcess } from '../e2e/harness.ts';
import { lokiPush, remoteWrite } from '../support/write-clients.ts';

/** `nobody` on Debian. */
const USER = { uid: 65534, gid: 65534 };
const TENANT = 'unwritable';

function skipReason(): string | false {
  if (process.platform !== 'linux' || process.getuid?.() !== 0) return 'needs root, to run Heimdall as another user whose directory can be made unwritable';
  const probe = spawnSync(process.execPath, ['-e', `require('fs').accessSync(${JSON.stringify(HEIMDALL_BIN)}, require('fs').constants.R_OK)`], {
    ...USER,
    stdio: 'pipe',
  });
  if (probe.status !== 0) return `the user nobody cannot read ${HEIMDALL_BIN} (clone the repository under world-readable directories)`;
  return false;
}
const SKIP = skipReason();

let heimdall: HeimdallProcess | undefined;
const dataDir = mkdtempSync(path.join(os.tmpdir(), 'heimdall-unwritable-'));
after(async () => {
  await heimdall?.stop({ signal: 'SIGKILL', keepData: true });
  rmSync(dataDir, { recursive: true, force: true });
});

async function waitForReady(h: HeimdallProcess, status: number): Promise<{ status: number; body: string }> {
  let answer = { status: 0, body: '' };
  // The check runs every 2 s; 600 polls of 100 ms is a bound for a loaded machine, not a timing assertion.
  for (let i = 0; i < 600; i++) {
    const res = await fetch(`${h.httpUrl}/ready`);
    answer = { status: res.status, body: await res.text() };
    if (answer.status === status) break;
    await sleep(100);
  }
  return answer;
}

test('an unwritable data directory: /ready 503 and writes refused, then ready again by itself; nothing acked is lost', { skip: SKIP, timeout: 300_000 }, async () => {
  chmodSync(dataDir, 0o755);
  chownSync(dataDir, USER.uid, USER.gid);
  const nowMs = Date.now();
  const nowNs = BigInt(nowMs) * 1_000_000n;
  const acked: string[] = [];
  const ackedLines: string[] = [];
  let h = (heimdall = await startHeimdall({ dataDir, user: USER, env: { HOME: dataDir } }));
  const write = async (id: string): Promise<void> => {
    const m = await remoteWrite(h.httpUrl, TENANT, 'unwritable_samples', { batch: id }, [nowMs - 1000]);
    if (m.status === 204) acked.push(id);
    const l = await lokiPush(h.httpUrl, TENANT, { app: 'unwritable' }, nowNs + BigInt(ackedLines.length + acked.length), [`line ${id}`]);
    if (l.status === 204) ackedLines.push(id);
  };
  await write('before');
  assert.deepEqual([acked, ackedLines], [['before'], ['before']]);

  chmodSync(dataDir, 0o555);
  const notReady = await waitForReady(h, 503);
  assert.equal(notReady.status, 503, notReady.body);
  assert.match(notReady.body, /not writable/);
  assert.ok(notReady.body.includes(dataDir), notReady.body);
  const m = await remoteWrite(h.httpUrl, TENANT, 'unwritable_samples', { batch: 'refused' }, [nowMs]);
  assert.equal(m.status, 503, m.body);
  assert.ok(m.retryAfter !== null, 'a refused write says when to retry');
  assert.ok(m.body.includes(dataDir), m.body);
  const l = await lokiPush(h.httpUrl, TENANT, { app: 'unwritable' }, nowNs + 1_000_000n, ['refused']);
  assert.equal(l.status, 503, l.body);
  assert.ok(l.retryAfter !== null);
  await h.waitForOutput(/not writable/);
  // Reads keep serving meanwhile.
  const prom = await fetch(`${h.httpUrl}/prometheus/api/v1/query?query=unwritable_samples`, { headers: { 'x-scope-orgid': TENANT } });
  assert.equal(prom.status, 200, await prom.text());

  chmodSync(dataDir, 0o755);
  const readyAgain = await waitForReady(h, 200);
  assert.equal(readyAgain.status, 200, readyAgain.body);
  await write('after');
  assert.deepEqual([acked, ackedLines], [['before', 'after'], ['before', 'after']]);
  const metrics = await (await fetch(`${h.httpUrl}/metrics`)).text();
  assert.match(metrics, /heimdall_storage_unavailable_writes_total\{reason="data_dir_unavailable"\} [1-9]/);

  // kill -9 and restart: every acknowledged sample and line is there, nothing refused is.
  await h.stop({ signal: 'SIGKILL', keepData: true });
  h = heimdall = await startHeimdall({ dataDir, user: USER, env: { HOME: dataDir } });
  const series = (await (
    await fetch(`${h.httpUrl}/prometheus/api/v1/query?query=${encodeURIComponent('unwritable_samples')}&time=${nowMs / 1000}`, {
      headers: { 'x-scope-orgid': TENANT },
    })
  ).json()) as { data: { result: { metric: { batch: string } }[] } };
  assert.deepEqual(series.data.result.map((r) => r.metric.batch).sort(), ['after', 'before']);
  const logs = (await (
    await fetch(
      `${h.httpUrl}/loki/api/v1/query_range?query=${encodeURIComponent('{app="unwritable"}')}&start=${nowNs - 60_000_000_000n}&end=${nowNs + 60_000_000_000n}`,
      { headers: { 'x-scope-orgid': TENANT } },
    )
  ).json()) as { data: { result: { values: [string, string][] }[] } };
  const lines = logs.data.result.flatMap((s) => s.values.map((v) => v[1])).sort();
  assert.deepEqual(lines, ['line after', 'line before']);
});
