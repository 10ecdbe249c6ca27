// The agent's Kubernetes API-fed log parts. Events as logs (the eventrouter role): the agent lists the events of a
// Kubernetes API, then watches from the list's resource version, and each event reaches a real Heimdall over Loki
// push under its namespace's tenant. Pod labels: a pod's log lines carry `app` and `log_source` from its labels.
// No cluster here: the API is recorded answers (an EventList, then a watch stream of JSON lines) served
// over HTTP on loopback, through the agent's real @kubernetes/client-node.
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { startAgent, waitUntil } from './agent-harness.ts';
import type { AgentProcess } from './agent-harness.ts';
import { startHeimdall } from './harness.ts';
import type { HeimdallProcess } from './harness.ts';

let server: HeimdallProcess;
let agent: AgentProcess;
let api: http.Server;
let dir: string;
const requests: string[] = [];
const NOW = Date.now() - 60_000;

function event(name: string, namespace: string, kind: string, object: string, reason: string, type: string, message: string, count: number, rv: string): Record<string, unknown> {
  const at = new Date(NOW + Number(rv)).toISOString();
  return {
    metadata: { name, namespace, resourceVersion: rv, creationTimestamp: at },
    involvedObject: { kind, namespace, name: object, apiVersion: 'v1' },
    reason,
    message,
    type,
    count,
    firstTimestamp: at,
    lastTimestamp: at,
    source: { component: 'kubelet', host: 'node-1' },
  };
}

before(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'heimdall-agent-events-'));
  server = await startHeimdall({ args: ['--multitenancy'] });
  api = http.createServer((req, res) => {
    requests.push(req.url ?? '');
    const url = new URL(req.url ?? '/', 'http://x');
    if (url.pathname === '/api/v1/pods') {
      res.writeHead(200, { 'content-type': 'application/json' });
      const pod = { metadata: { name: 'checkout-5f6d7c8b9-abcde', namespace: 'payments', uid: 'uid-pay', labels: { 'app.kubernetes.io/name': 'checkout-svc', log_source: 'audit' } }, spec: { nodeName: 'node-1' } };
      return void res.end(JSON.stringify({ kind: 'PodList', apiVersion: 'v1', metadata: { resourceVersion: '7' }, items: [pod] }));
    }
    if (url.pathname !== '/api/v1/events') return void res.writeHead(404).end();
    if (url.searchParams.get('watch') === 'true') {
      // A watch stream: one event now, the stream left open (the API closes it after minutes).
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write(`${JSON.stringify({ type: 'ADDED', object: event('pay-1.3', 'payments', 'Pod', 'pay-1', 'Pulled', 'Normal', 'Container image "pay:1" already present on machine', 1, '102') })}\n`);
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(
      JSON.stringify({
        kind: 'EventList',
        apiVersion: 'v1',
        metadata: { resourceVersion: '101' },
        items: [
          event('pay-1.1', 'payments', 'Pod', 'pay-1', 'Scheduled', 'Normal', 'Successfully assigned payments/pay-1 to node-1', 1, '100'),
          event('dns.2', 'kube-system', 'Pod', 'coredns-1', 'BackOff', 'Warning', 'Back-off restarting failed container', 5, '101'),
        ],
      }),
    );
  });
  await new Promise<void>((resolve) => api.listen(0, '127.0.0.1', resolve));
  const apiServer = `http://127.0.0.1:${(api.address() as AddressInfo).port}`;
  // Two pods' logs: one the API knows (its labels name app and log_source), one it does not (path-derived labels).
  const criLine = (text: string): string => `${new Date().toISOString()} stdout F ${text}\n`;
  for (const [podDir, text] of [['payments_checkout-5f6d7c8b9-abcde_uid-pay', 'checkout line'], ['payments_other-0_uid-other', 'other line']] as const) {
    mkdirSync(path.join(dir, 'pods', podDir, 'web'), { recursive: true });
    writeFileSync(path.join(dir, 'pods', podDir, 'web', '0.log'), criLine(text));
  }
  agent = await startAgent(dir, {
    data_dir: path.join(dir, 'agent-data'),
    node_name: 'node-1',
    forward: { logs: [{ url: `${server.httpUrl}/loki/api/v1/push`, batch_max_wait: '50ms' }] },
    host_metrics: { enabled: false },
    pod_logs: { pods_dir: path.join(dir, 'pods'), kubernetes_api: { enabled: true, api_server: apiServer } },
    system_logs: { paths: [] },
    kubernetes_events: { enabled: true, api_server: apiServer },
  });
});

after(async () => {
  await agent.stop();
  api.closeAllConnections();
  await new Promise<void>((resolve) => api.close(() => resolve()));
  await server.stop();
  rmSync(dir, { recursive: true, force: true });
});

async function eventLines(tenant: string): Promise<{ labels: Record<string, string>; line: string }[]> {
  const params = new URLSearchParams({ query: '{job="integrations/kubernetes/eventhandler"}', direction: 'forward', start: String(BigInt(NOW - 3_600_000) * 1_000_000n) });
  const res = await fetch(`${server.httpUrl}/loki/api/v1/query_range?${params}`, { headers: { 'X-Scope-OrgID': tenant } });
  assert.equal(res.status, 200, await res.clone().text());
  const body = (await res.json()) as { data: { result: { stream: Record<string, string>; values: [string, string][] }[] } };
  return body.data.result.flatMap((r) => r.values.map((v) => ({ labels: r.stream, line: v[1] })));
}

test('listed and watched events arrive as logfmt lines, each in its namespace tenant', async () => {
  const payments = await waitUntil('the payments events (listed and watched)', () => eventLines('payments'), (v) => v.length === 2);
  assert.deepEqual(
    payments.map((e) => e.line),
    [
      'name=pay-1 kind=Pod objectAPIversion=v1 eventRV=100 sourcecomponent=kubelet sourcehost=node-1 reason=Scheduled type=Normal count=1 msg="Successfully assigned payments/pay-1 to node-1"',
      'name=pay-1 kind=Pod objectAPIversion=v1 eventRV=102 sourcecomponent=kubelet sourcehost=node-1 reason=Pulled type=Normal count=1 msg="Container image \\"pay:1\\" already present on machine"',
    ],
  );
  assert.equal(payments[0]!.labels.namespace, 'payments');
  const system = await waitUntil('the kube-system event', () => eventLines('kube-system'), (v) => v.length === 1);
  assert.match(system[0]!.line, /reason=BackOff type=Warning count=5 msg="Back-off restarting failed container"$/);
  // The watch started where the list ended.
  assert.ok(requests.some((r) => r.includes('watch=true') && r.includes('resourceVersion=101')), requests.join(' '));
});

test("pod log lines carry app and log_source from the pod's labels in the API, path-derived ones otherwise", async () => {
  const params = new URLSearchParams({ query: '{namespace="payments", container="web"}', start: String(BigInt(NOW - 3_600_000) * 1_000_000n) });
  const streams = await waitUntil(
    'both pods\' lines',
    async () => {
      const res = await fetch(`${server.httpUrl}/loki/api/v1/query_range?${params}`, { headers: { 'X-Scope-OrgID': 'payments' } });
      const body = (await res.json()) as { data: { result: { stream: Record<string, string>; values: [string, string][] }[] } };
      return body.data.result;
    },
    (r) => r.length === 2,
  );
  const byPod = Object.fromEntries(streams.map((r) => [r.stream.pod, { app: r.stream.app, log_source: r.stream.log_source, line: r.values[0]![1] }]));
  assert.deepEqual(byPod['checkout-5f6d7c8b9-abcde'], { app: 'checkout-svc', log_source: 'audit', line: 'checkout line' });
  assert.deepEqual(byPod['other-0'], { app: 'other', log_source: 'cdt', line: 'other line' });
  assert.ok(requests.some((r) => r.startsWith('/api/v1/pods') && decodeURIComponent(r).includes('fieldSelector=spec.nodeName=node-1')), requests.join(' '));
});
