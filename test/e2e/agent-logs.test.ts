// The node agent tails pod logs (CRI with split lines, Docker json-file) and a node system log, and sends them
// through its forwarding queue to a real Heimdall over Loki push, each pod's lines under its namespace's tenant.
// Files rotate both ways (rename, copytruncate), and the agent is killed (-9) mid-stream and restarted after a
// rename rotation happened while it was down: every line arrives exactly once.
import assert from 'node:assert/strict';
import { appendFileSync, copyFileSync, mkdirSync, mkdtempSync, renameSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { startAgent, waitUntil } from './agent-harness.ts';
import type { AgentProcess } from './agent-harness.ts';
import { startHeimdall } from './harness.ts';
import type { HeimdallProcess } from './harness.ts';

let server: HeimdallProcess;
let dir: string;
let agent: AgentProcess | undefined;
const T0_MS = Date.now() - 60_000;
let seq = 0;

/** A CRI line stamped with a distinct nanosecond time. */
function cri(content: string, flag: 'F' | 'P' = 'F', stream = 'stdout'): string {
  const n = seq++;
  const ms = T0_MS + Math.floor(n / 1000);
  const iso = new Date(ms).toISOString().replace('Z', '');
  return `${iso}${String(n % 1000).padStart(6, '0')}Z ${stream} ${flag} ${content}\n`;
}

function docker(content: string): string {
  const n = seq++;
  const iso = new Date(T0_MS + Math.floor(n / 1000)).toISOString().replace('Z', '');
  return `${JSON.stringify({ log: `${content}\n`, stream: 'stderr', time: `${iso}${String(n % 1000).padStart(6, '0')}Z` })}\n`;
}

async function lines(tenant: string, query: string): Promise<string[]> {
  const params = new URLSearchParams({ query, limit: '5000', start: String(BigInt(T0_MS - 3_600_000) * 1_000_000n), end: String(BigInt(Date.now() + 3_600_000) * 1_000_000n) });
  const res = await fetch(`${server.httpUrl}/loki/api/v1/query_range?${params}`, { headers: { 'X-Scope-OrgID': tenant } });
  assert.equal(res.status, 200, await res.clone().text());
  const body = (await res.json()) as { data: { result: { stream: Record<string, string>; values: [string, string][] }[] } };
  return body.data.result.flatMap((r) => r.values.map((v) => v[1]));
}

function agentConfig(): Record<string, unknown> {
  const fast = { batch_max_wait: '50ms', min_backoff: '50ms', max_backoff: '500ms' };
  return {
    data_dir: path.join(dir, 'agent-data'),
    node_name: 'node-1',
    log_level: 'info',
    forward: { logs: [{ url: `${server.httpUrl}/loki/api/v1/push`, ...fast }] },
    host_metrics: { enabled: false },
    pod_logs: { pods_dir: path.join(dir, 'pods') },
    system_logs: { paths: [path.join(dir, 'syslog')] },
    tailing: { poll_interval: '100ms' },
  };
}

const webDir = (): string => path.join(dir, 'pods', 'shop_web-7d4b9c8f6d-x2x4z_0b1c', 'web');
const dbDir = (): string => path.join(dir, 'pods', 'billing_db-0_9f8e', 'db');

before(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'heimdall-agent-logs-'));
  mkdirSync(webDir(), { recursive: true });
  mkdirSync(dbDir(), { recursive: true });
  writeFileSync(path.join(dir, 'syslog'), 'Dec  6 01:00:00 node-1 old line before the agent started\n');
  server = await startHeimdall({ args: ['--multitenancy'] });
});

after(async () => {
  await agent?.stop('SIGKILL');
  await server.stop();
  rmSync(dir, { recursive: true, force: true });
});

test('pod logs and system logs arrive with their labels, tenants and metadata; rotations and a kill -9 lose and repeat nothing', async () => {
  const web = path.join(webDir(), '0.log');
  const db = path.join(dbDir(), '0.log');
  // Lines written before the agent's first start are read from the start of the file.
  writeFileSync(web, cri('web-000 plain') + cri('web-001 split ', 'P') + cri('across ', 'P') + cri('three pieces') + cri('{"level":"ERROR","trace_id":"abc123","msg":"web-002 json"}'));
  writeFileSync(db, docker('db-000 first'));
  agent = await startAgent(dir, agentConfig());
  const expectedWeb = ['web-000 plain', 'web-001 split across three pieces', '{"level":"ERROR","trace_id":"abc123","msg":"web-002 json"}'];
  await waitUntil('first web lines', () => lines('shop', '{namespace="shop"}'), (l) => l.length >= expectedWeb.length);

  // Labels and structured metadata.
  const labelled = await lines('shop', '{namespace="shop", pod="web-7d4b9c8f6d-x2x4z", container="web", node="node-1", app="web", log_source="cdt"}');
  assert.equal(labelled.length, 3);
  assert.deepEqual(await lines('shop', '{namespace="shop"} | level="error" | trace_id="abc123"'), [expectedWeb[2]]);
  // The tenant is the namespace: another tenant sees none of it.
  assert.deepEqual(await lines('billing', '{namespace="shop"}'), []);

  // The system log is read from its end (old lines are not sent), then followed.
  appendFileSync(path.join(dir, 'syslog'), 'Dec  6 01:00:01 node-1 kernel: syslog-000\n');
  await waitUntil('system log line', () => lines('default', '{job="node/syslog", node="node-1"}'), (l) => l.length === 1);
  assert.deepEqual(await lines('default', '{job="node/syslog"}'), ['Dec  6 01:00:01 node-1 kernel: syslog-000']);

  // Rotation by rename: the runtime writes the last lines to the renamed file, then the kubelet's new 0.log.
  appendFileSync(web, cri('web-003'));
  renameSync(web, `${web}.20261206-010000`);
  appendFileSync(`${web}.20261206-010000`, cri('web-004 after rename, old file'));
  writeFileSync(web, cri('web-005 new file'));
  expectedWeb.push('web-003', 'web-004 after rename, old file', 'web-005 new file');

  // Rotation by copytruncate: once the agent has the file's lines, it is copied away and truncated in place.
  const expectedDb = ['db-000 first'];
  appendFileSync(db, docker('db-001'));
  expectedDb.push('db-001');
  await waitUntil('db lines before copytruncate', () => lines('billing', '{namespace="billing"}'), (l) => l.length === expectedDb.length);
  copyFileSync(db, `${db}.1`);
  truncateSync(db, 0);
  appendFileSync(db, docker('db-002 after truncate'));
  expectedDb.push('db-002 after truncate');
  await waitUntil('every line so far', async () => [...(await lines('shop', '{namespace="shop"}')), ...(await lines('billing', '{namespace="billing"}'))], (l) => l.length === expectedWeb.length + expectedDb.length);

  // kill -9 mid-stream: lines keep coming while the agent dies, a rename rotation happens while it is down.
  for (let i = 0; i < 200; i++) {
    appendFileSync(web, cri(`web-1${String(i).padStart(3, '0')}`));
    expectedWeb.push(`web-1${String(i).padStart(3, '0')}`);
    if (i === 100) await agent.stop('SIGKILL');
  }
  renameSync(web, `${web}.20261206-020000`);
  writeFileSync(web, cri('web-2000 written while the agent was down'));
  expectedWeb.push('web-2000 written while the agent was down');
  agent = await startAgent(dir, agentConfig());
  appendFileSync(web, cri('web-2001 after restart'));
  expectedWeb.push('web-2001 after restart');

  const gotWeb = await waitUntil('every web line', () => lines('shop', '{namespace="shop"}'), (l) => l.length >= expectedWeb.length);
  await waitUntil('every db line', () => lines('billing', '{namespace="billing"}'), (l) => l.length >= expectedDb.length);
  // Once more after the agent has had time to send anything left over, to see duplicates too.
  await agent.stop('SIGTERM');
  agent = undefined;
  assert.deepEqual([...(await lines('shop', '{namespace="shop"}'))].sort(), [...expectedWeb].sort(), `web lines (got ${gotWeb.length})`);
  assert.deepEqual([...(await lines('billing', '{namespace="billing"}'))].sort(), [...expectedDb].sort());
});
