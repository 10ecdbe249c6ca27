// The node agent's metrics reach a real Heimdall over remote_write: host metrics (node_exporter's names, from a
// recorded procfs tree) under the default tenant, and a scraped target under its namespace's tenant with
// relabel_configs, metric_relabel_configs, honor_labels, the `up` and `scrape_*` series and a staleness marker
// once a series leaves the exposition.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
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
  const fast = { batch_max_wait: '50ms', min_backoff: '50ms', max_backoff: '500ms' };
  agent = await startAgent(dir, {
    data_dir: path.join(dir, 'agent-data'),
    node_name: 'node-1',
    forward: { metrics: [{ url: `${server.httpUrl}/api/v1/push`, ...fast }] },
    host_metrics: { interval: '1s', proc_root: proc, sys_root: path.join(dir, 'sys'), collectors: ['loadavg', 'meminfo'] },
    pod_logs: { enabled: false },
    system_logs: { paths: [] },
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
      { job_name: 'broken', static_configs: [{ targets: [`127.0.0.1:${down.port}`], labels: { namespace: 'shop' } }] },
    ],
  });
});

after(async () => {
  await agent.stop();
  await target.close();
  await down.close();
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
