// The opt-in rule pack (rules/pack/): `promtool check rules` accepts the PromQL file, and the real binary
// loads both files from rules.dir / rules.logs_dir, evaluates every rule without error, and a low-memory node
// written with remote_write makes NodeLowMemory pending.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { waitFor } from '../support/loopback-receiver.ts';
import { remoteWrite } from '../support/write-clients.ts';
import { findGoTool, skipUnlessFound } from './go-tools.ts';
import { REPO, startHeimdall } from './harness.ts';
import type { HeimdallProcess } from './harness.ts';

const PACK = path.join(REPO, 'rules', 'pack');
const PROMTOOL = findGoTool('promtool');

interface ApiRules {
  data: { groups: { name: string; rules: { name: string; health: string; lastError?: string; state?: string; type: string }[] }[] };
}

let heimdall: HeimdallProcess;

before(async () => {
  heimdall = await startHeimdall({ config: { rules: { dir: path.join(PACK, 'metrics'), logs_dir: path.join(PACK, 'logs'), evaluation_interval: '1s' } } });
});
after(async () => {
  await heimdall?.stop();
});

test('promtool check rules accepts the metrics pack', { skip: skipUnlessFound(PROMTOOL, 'promtool', 'Debian prometheus or go install .../cmd/promtool') }, () => {
  const r = spawnSync(PROMTOOL!, ['check', 'rules', path.join(PACK, 'metrics', 'recommended.yaml')], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /SUCCESS: 11 rules found/);
});

test('the pack loads and every rule evaluates cleanly; a low-memory node makes NodeLowMemory pending', async () => {
  const now = Date.now();
  assert.equal((await remoteWrite(heimdall.httpUrl, 'anonymous', 'node_memory_MemAvailable_bytes', { instance: 'node-1' }, [now], [5e8])).status, 204);
  assert.equal((await remoteWrite(heimdall.httpUrl, 'anonymous', 'node_memory_MemTotal_bytes', { instance: 'node-1' }, [now], [16e9])).status, 204);
  const rules = await waitFor('every rule evaluated and NodeLowMemory pending', async () => {
    const body = (await (await fetch(`${heimdall.httpUrl}/prometheus/api/v1/rules`)).json()) as ApiRules;
    const all = body.data.groups.flatMap((g) => g.rules);
    const low = all.find((r) => r.name === 'NodeLowMemory');
    return all.length === 12 && all.every((r) => r.health !== 'unknown') && low?.state === 'pending' ? all : undefined;
  });
  const unhealthy = rules.filter((r) => r.health !== 'ok').map((r) => `${r.name}: ${r.lastError}`);
  assert.deepEqual(unhealthy, []);
  assert.ok(rules.some((r) => r.name === 'ErrorLogSpike'));
});
