// The node agent's metrics reach a real Heimdall over remote_write: host metrics (node_exporter's names, from a
// recorded procfs tree) under the default tenant, and a scraped target under its namespace's tenant with
// relabel_configs, metric_relabel_configs, honor_labels, the `up` and `scrape_*` series and a staleness marker
// once a series leaves the exposition.
import assert from 'node:assert/strict';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { startAgent, waitUntil } from './agent-harness.ts';
import type { AgentProcess } from './agent-harness.ts';
import { startScrapeTarget } from './go-tools.ts';
import type { ScrapeTarget } from './go-tools.ts';
import { startHeimdall } from './harness.ts';
import type { HeimdallProcess } from './harness.ts';

let server: HeimdallProcess;
let agent: AgentProcess;
let target: ScrapeTarget;
let down: ScrapeTarget;
let dir: string;
let kubeApi: http.Server;
/** A kubelet-like HTTPS target: mutual TLS with the test CA and a bearer token (as `/metrics/cadvisor` wants). */
let kubelet: https.Server;
let kubeletToken = 'token-1';
const kubeletAuth: string[] = [];
const TLS_DIR = path.join(import.meta.dirname, 'testdata', 'tls');
/** The pods the recorded Kubernetes API answers with (a test empties it to make the target go away). */
let pods: unknown[] = [];
const apiQueries: string[] = [];
/** Scrapes from this one on no longer expose `demo_leaving`. */
let leaveAfter = Infinity;

async function instant(tenant: string, query: string): Promise<{ metric: Record<string, string>; value: [number, string] }[]> {
  const res = await fetch(`${server.httpUrl}/prometheus/api/v1/query?${new URLSearchParams({ query })}`, { headers: { 'X-Scope-OrgID': tenant } });
  assert.equal(res.status, 200, await res.clone().text());
  return ((await res.json()) as { data: { result: { metric: Record<string, string>; value: [number, string] }[] } }).data.result;
}

before(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'heimdall-agent-metrics-'));
  const proc = path.join(dir, 'proc');
  mkdirSync(path.join(proc, 'net'), { recursive: true });
  writeFileSync(path.join(proc, 'loadavg'), '0.21 0.37 0.39 1/719 19737\n');
  writeFileSync(path.join(proc, 'meminfo'), 'MemTotal:       15666184 kB\n');
  server = await startHeimdall({ args: ['--multitenancy'] });
  target = await startScrapeTarget((n) =>
    [
      '# TYPE demo_requests counter',
      '# HELP demo_requests Requests served.',
      `demo_requests_total{path="/a",job="from-target"} ${n}`,
      '# TYPE demo_debug gauge',
      'demo_debug 1',
      ...(n < leaveAfter ? ['# TYPE demo_leaving gauge', 'demo_leaving 7'] : []),
      '# EOF',
      '',
    ].join('\n'),
  );
  down = await startScrapeTarget(() => 'not exposition text {{{\n');
  // A Kubernetes API answering pod lists with a recorded response (no cluster here).
  kubeApi = http.createServer((req, res) => {
    apiQueries.push(req.url ?? '');
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ kind: 'PodList', apiVersion: 'v1', metadata: { resourceVersion: '1' }, items: pods }));
  });
  await new Promise<void>((resolve) => kubeApi.listen(0, '127.0.0.1', resolve));
  const pem = (name: string): Buffer => readFileSync(path.join(TLS_DIR, name));
  kubelet = https.createServer({ key: pem('server-key.pem'), cert: pem('server.pem'), ca: pem('ca.pem'), requestCert: true, rejectUnauthorized: true }, (req, res) => {
    kubeletAuth.push(req.headers.authorization ?? '');
    if (req.url !== '/metrics/cadvisor') return void res.writeHead(404).end();
    if (req.headers.authorization !== `Bearer ${kubeletToken}`) return void res.writeHead(401).end('Unauthorized');
    res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' });
    res.end('# TYPE container_cpu_usage_seconds_total counter\ncontainer_cpu_usage_seconds_total{container="coredns",namespace="kube-system",pod="coredns-1"} 12.5\n');
  });
  await new Promise<void>((resolve) => kubelet.listen(0, '127.0.0.1', resolve));
  writeFileSync(path.join(dir, 'token'), `${kubeletToken}\n`);
  pods = [
    {
      metadata: { name: 'pay-7d4b9c8f6d-x2x4z', namespace: 'payments', uid: 'u1', labels: { app: 'pay' }, annotations: { 'prometheus.io/scrape': 'true' } },
      spec: { nodeName: 'node-1', containers: [{ name: 'pay', image: 'pay:1', ports: [{ name: 'http', containerPort: target.port, protocol: 'TCP' }] }] },
      status: { phase: 'Running', podIP: '127.0.0.1', hostIP: '127.0.0.1', conditions: [{ type: 'Ready', status: 'True' }] },
    },
  ];
  const fast = { batch_max_wait: '50ms', min_backoff: '50ms', max_backoff: '500ms' };
  agent = await startAgent(dir, {
    data_dir: path.join(dir, 'agent-data'),
    node_name: 'node-1',
    forward: { metrics: [{ url: `${server.httpUrl}/api/v1/push`, ...fast }] },
    host_metrics: { interval: '1s', proc_root: proc, sys_root: path.join(dir, 'sys'), collectors: ['loadavg', 'meminfo'] },
    pod_logs: { enabled: false },
    system_logs: { paths: [] },
    self_metrics: { listen_address: '127.0.0.1:0' },
    global: { scrape_interval: '1s', scrape_timeout: '1s' },
    scrape_configs: [
      {
        job_name: 'demo',
        static_configs: [{ targets: [`127.0.0.1:${target.port}`], labels: { __meta_namespace: 'shop', team: 'a' } }],
        relabel_configs: [
          { source_labels: ['__meta_namespace'], target_label: 'namespace' },
          { source_labels: ['__address__'], regex: '127\\.0\\.0\\.1:(\\d+)', target_label: 'port', replacement: 'p$1' },
        ],
        metric_relabel_configs: [{ source_labels: ['__name__'], regex: 'demo_debug', action: 'drop' }],
      },
      {
        job_name: 'kubernetes-pods',
        kubernetes_sd_configs: [
          { role: 'pod', api_server: `http://127.0.0.1:${(kubeApi.address() as AddressInfo).port}`, refresh_interval: '1s', selectors: [{ role: 'pod', field: 'spec.nodeName=node-1' }] },
        ],
        relabel_configs: [
          { source_labels: ['__meta_kubernetes_pod_annotation_prometheus_io_scrape'], regex: 'true', action: 'keep' },
          { regex: '__meta_kubernetes_pod_label_(.+)', action: 'labelmap' },
          { source_labels: ['__meta_kubernetes_namespace'], target_label: 'namespace' },
          { source_labels: ['__meta_kubernetes_pod_name'], target_label: 'pod' },
        ],
      },
      {
        job_name: 'kubelet-cadvisor',
        scheme: 'https',
        metrics_path: '/metrics/cadvisor',
        bearer_token_file: path.join(dir, 'token'),
        // The certificate names kubelet.node-1.test (and 127.0.0.1); server_name makes the agent verify that name.
        tls_config: { ca_file: path.join(TLS_DIR, 'ca.pem'), cert_file: path.join(TLS_DIR, 'client.pem'), key_file: path.join(TLS_DIR, 'client-key.pem'), server_name: 'kubelet.node-1.test' },
        static_configs: [{ targets: [`127.0.0.1:${(kubelet.address() as AddressInfo).port}`] }],
      },
      { job_name: 'broken', static_configs: [{ targets: [`127.0.0.1:${down.port}`], labels: { namespace: 'shop' } }] },
    ],
  });
});

after(async () => {
  await agent.stop();
  await target.close();
  await down.close();
  await new Promise<void>((resolve) => kubeApi.close(() => resolve()));
  kubelet.closeAllConnections();
  await new Promise<void>((resolve) => kubelet.close(() => resolve()));
  await server.stop();
  rmSync(dir, { recursive: true, force: true });
});

test('host metrics arrive with node_exporter names under the default tenant', async () => {
  const r = await waitUntil('node_load1', () => instant('default', 'node_load1'), (v) => v.length === 1);
  assert.deepEqual(r[0]!.metric, { __name__: 'node_load1', job: 'node-exporter', instance: 'node-1' });
  assert.equal(r[0]!.value[1], '0.21');
  const mem = await instant('default', 'node_memory_MemTotal_bytes');
  assert.equal(mem[0]!.value[1], String(15666184 * 1024));
  const ok = await instant('default', 'node_scrape_collector_success');
  assert.deepEqual(ok.map((x) => [x.metric.collector, x.value[1]]).sort(), [['loadavg', '1'], ['meminfo', '1']]);
});

test('a scraped target: relabeled target labels, honor_labels off, metric relabeling, report series, staleness', async () => {
  const series = await waitUntil('demo_requests_total', () => instant('shop', 'demo_requests_total'), (v) => v.length === 1);
  assert.deepEqual(series[0]!.metric, {
    __name__: 'demo_requests_total',
    path: '/a',
    job: 'demo',
    exported_job: 'from-target',
    instance: `127.0.0.1:${target.port}`,
    namespace: 'shop',
    team: 'a',
    port: `p${target.port}`,
  });
  // The namespace is the tenant: nothing of it under another one.
  assert.deepEqual(await instant('default', 'demo_requests_total'), []);
  assert.deepEqual(await instant('shop', 'demo_debug'), []);
  const up = await waitUntil('up of both jobs', () => instant('shop', 'up'), (v) => v.length === 2);
  assert.deepEqual(up.map((x) => [x.metric.job, x.value[1]]).sort(), [['broken', '0'], ['demo', '1']]);
  const post = await instant('shop', 'scrape_samples_post_metric_relabeling{job="demo"}');
  assert.equal(post[0]!.value[1], '2');
  const scraped = await instant('shop', 'scrape_samples_scraped{job="demo"}');
  assert.equal(scraped[0]!.value[1], '3');
  assert.equal((await instant('shop', 'scrape_duration_seconds{job="demo"}')).length, 1);
  assert.equal((await instant('shop', 'scrape_series_added{job="demo"}')).length, 1);
  // A series that leaves the exposition is marked stale: an instant query stops returning it at once.
  assert.equal((await instant('shop', 'demo_leaving')).length, 1);
  leaveAfter = 0;
  await waitUntil('demo_leaving marked stale', () => instant('shop', 'demo_leaving'), (v) => v.length === 0);
  assert.equal((await instant('shop', 'demo_requests_total')).length, 1);
});

test('kubernetes_sd_configs (role pod, recorded API answers): the pod is scraped under its namespace, and goes stale when it leaves', async () => {
  const up = await waitUntil('up of the discovered pod', () => instant('payments', 'up{job="kubernetes-pods"}'), (v) => v.length === 1);
  assert.deepEqual(up[0]!.metric, { __name__: 'up', job: 'kubernetes-pods', instance: `127.0.0.1:${target.port}`, namespace: 'payments', pod: 'pay-7d4b9c8f6d-x2x4z', app: 'pay' });
  assert.equal(up[0]!.value[1], '1');
  assert.ok(apiQueries.some((q) => q.startsWith('/api/v1/pods') && decodeURIComponent(q).includes('fieldSelector=spec.nodeName=node-1')), apiQueries.join(' '));
  assert.equal((await instant('payments', 'demo_requests_total{job="kubernetes-pods"}')).length, 1);
  pods = [];
  await waitUntil('the removed pod marked stale', () => instant('payments', 'up{job="kubernetes-pods"}'), (v) => v.length === 0);
  assert.deepEqual(await instant('payments', 'demo_requests_total{job="kubernetes-pods"}'), []);
});

test('an HTTPS target with mutual TLS and a bearer token file (kubelet /metrics/cadvisor); a rotated token is read again', async () => {
  const cpu = await waitUntil('cadvisor series', () => instant('kube-system', 'container_cpu_usage_seconds_total'), (v) => v.length === 1);
  assert.equal(cpu[0]!.metric.job, 'kubelet-cadvisor');
  assert.equal(cpu[0]!.value[1], '12.5');
  // The token rotates (projected service account tokens do, hourly): the next scrapes send the new one.
  kubeletToken = 'token-2';
  writeFileSync(path.join(dir, 'token'), 'token-2\n');
  await waitUntil('the rotated token sent', async () => kubeletAuth.at(-1), (v) => v === 'Bearer token-2');
  const up = await waitUntil('up of the kubelet job after the rotation', () => instant('default', 'up{job="kubelet-cadvisor"}'), (v) => v.length === 1 && v[0]!.value[1] === '1');
  assert.equal(up[0]!.value[1], '1');
});

test("the agent's own /metrics: forwarding self-metrics on self_metrics.listen_address", async () => {
  const url = /"selfMetrics":"(http:[^"]+)"/.exec(agent.output())?.[1];
  assert.ok(url, agent.output());
  const text = await waitUntil('metrics sent counted', async () => (await fetch(url)).text(), (t) => /^heimdall_forward_sent_records_total\{signal="metrics",endpoint="[^"]+"\} [1-9]/m.test(t));
  assert.match(text, /^heimdall_forward_queue_bytes\{signal="metrics"/m);
  assert.match(text, /^process_cpu_seconds_total /m);
  assert.equal((await fetch(url.replace('/metrics', '/'))).status, 404);
});
