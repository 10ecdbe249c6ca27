// Dashboards in a real browser against the real binary: the community Node Exporter Full (current and the old
// schemaVersion 14 model) imported through the UI with node_exporter-named series written with remote_write,
// every panel drawn without an error and the main ones showing the seeded values; a variable change followed
// through the chained variables, the URL and the panels; save, reload and export; the built-in logs overview
// over lines pushed to Loki; the built-in self-monitoring dashboard over Heimdall's scrape of its own /metrics. Code that runs in the page is written as strings: this file is type-checked
// against Node's types, not the DOM's.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import type { Page } from 'playwright-core';
import { SCREENSHOT_DIR, launchBrowser } from '../support/browser.ts';
import type { TestBrowser } from '../support/browser.ts';
import { lokiPush, remoteWrite } from '../support/write-clients.ts';
import { REPO, startHeimdall } from './harness.ts';
import { waitFor } from '../support/bounds.ts';
import type { HeimdallProcess } from './harness.ts';

let heimdall: HeimdallProcess;
let browser: TestBrowser;

const FIXTURES = path.join(REPO, 'test', 'fixtures', 'dashboards');
const GiB = 1024 ** 3;
/** Two hosts of job "node", told apart by their memory. */
const HOSTS = [
  { nodename: 'host-1', instance: 'host-1:9100', memTotal: 8 * GiB },
  { nodename: 'host-2', instance: 'host-2:9100', memTotal: 16 * GiB },
] as const;
const POINTS = 61;

before(async () => {
  // Scraping itself every second, the self-monitoring dashboard has rates to draw within seconds.
  heimdall = await startHeimdall({ config: { metrics: { self_scrape: { interval: '1s' } } } });
  const endMs = Math.floor(Date.now() / 1000) * 1000 - 5_000;
  const times = Array.from({ length: POINTS }, (_, i) => endMs - (POINTS - 1 - i) * 30_000);
  const write = async (name: string, labels: Record<string, string>, value: (i: number) => number): Promise<void> => {
    const w = await remoteWrite(heimdall.httpUrl, 'anonymous', name, labels, times, times.map((_, i) => value(i)));
    assert.equal(w.status, 204, w.body);
  };
  for (const h of HOSTS) {
    const base = { job: 'node', instance: h.instance };
    await write('node_uname_info', { ...base, nodename: h.nodename, sysname: 'Linux', release: '6.1.0', machine: 'x86_64' }, () => 1);
    for (const cpu of ['0', '1']) {
      for (const [mode, perS] of [['idle', 0.7], ['user', 0.2], ['system', 0.08], ['iowait', 0.02]] as const) {
        await write('node_cpu_seconds_total', { ...base, cpu, mode }, (i) => 1000 + i * 30 * perS);
      }
    }
    await write('node_memory_MemTotal_bytes', base, () => h.memTotal);
    await write('node_memory_MemAvailable_bytes', base, () => h.memTotal / 2);
    await write('node_memory_MemFree_bytes', base, () => h.memTotal / 4);
    await write('node_memory_Cached_bytes', base, () => h.memTotal / 8);
    await write('node_memory_Buffers_bytes', base, () => h.memTotal / 16);
    await write('node_memory_SReclaimable_bytes', base, () => h.memTotal / 32);
    await write('node_memory_SwapTotal_bytes', base, () => 2 * GiB);
    await write('node_memory_SwapFree_bytes', base, () => GiB);
    await write('node_load1', base, () => 0.5);
    await write('node_load5', base, () => 0.4);
    await write('node_load15', base, () => 0.3);
    await write('node_boot_time_seconds', base, () => endMs / 1000 - 86_400);
    await write('node_time_seconds', base, (i) => times[i]! / 1000);
    for (const [mountpoint, device] of [['/', '/dev/sda1']] as const) {
      const fs = { ...base, mountpoint, device, fstype: 'ext4' };
      await write('node_filesystem_size_bytes', fs, () => 100 * GiB);
      await write('node_filesystem_avail_bytes', fs, () => 60 * GiB);
      await write('node_filesystem_free_bytes', fs, () => 65 * GiB);
    }
    await write('node_network_receive_bytes_total', { ...base, device: 'eth0' }, (i) => i * 30 * 125_000);
    await write('node_network_transmit_bytes_total', { ...base, device: 'eth0' }, (i) => i * 30 * 50_000);
  }
  const startNs = BigInt(Date.now() - 10 * 60_000) * 1_000_000n;
  const lines = ['level=info msg="started"', 'level=error msg="disk full"', 'level=info msg="served"'];
  const w = await lokiPush(heimdall.httpUrl, 'anonymous', { service_name: 'checkout', env: 'test' }, startNs, lines, { stepNs: 60_000_000_000n });
  assert.equal(w.status, 204, w.body);
  await seedCommunityData(times);
  browser = await launchBrowser();
});

/**
 * Series and lines the two smaller community dashboards query: alloy-scenarios' "Metrics derived from logs"
 * (counters and a latency histogram derived from logs, and the source lines in Loki) and docker-otel-lgtm's
 * "RED Metrics (classic histogram)" (OpenTelemetry HTTP server duration histogram of one job and instance).
 */
async function seedCommunityData(times: readonly number[]): Promise<void> {
  const write = async (name: string, labels: Record<string, string>, value: (i: number) => number): Promise<void> => {
    const w = await remoteWrite(heimdall.httpUrl, 'anonymous', name, labels, times, times.map((_, i) => value(i)));
    assert.equal(w.status, 204, w.body);
  };
  const buckets = [['0.1', 0.6], ['0.5', 0.9], ['1', 0.97], ['+Inf', 1]] as const;
  await write('log_derived_requests_total', { job: 'log-to-metrics' }, (i) => i * 30 * 4);
  for (const [le, share] of buckets) await write('log_derived_request_duration_seconds_bucket', { job: 'log-to-metrics', le }, (i) => Math.round(i * 30 * 4 * share));
  const red = { job: 'greeting-service', instance: 'greeting-1' };
  for (const code of ['200', '500']) {
    const perS = code === '200' ? 10 : 0.5;
    await write('http_server_request_duration_seconds_count', { ...red, http_response_status_code: code }, (i) => i * 30 * perS);
    for (const [le, share] of buckets) await write('http_server_request_duration_seconds_bucket', { ...red, http_response_status_code: code, le }, (i) => Math.round(i * 30 * perS * share));
  }
  // Two deploys 20 minutes apart (a Prometheus annotation) and one announced in Loki (a Loki annotation).
  const deploys = await remoteWrite(heimdall.httpUrl, 'anonymous', 'deploy_marker', { version: 'v2' }, [times[10]!, times[50]!], [1, 1]);
  assert.equal(deploys.status, 204, deploys.body);
  const announced = await lokiPush(heimdall.httpUrl, 'anonymous', { app: 'deploys' }, BigInt(times[30]!) * 1_000_000n, ['deployed v2 to canary']);
  assert.equal(announced.status, 204, announced.body);
  const startNs = BigInt(Date.now() - 5 * 60_000) * 1_000_000n;
  const lines = ['method=GET path=/api/orders status=200 duration_ms=42', 'method=POST path=/api/orders status=500 duration_ms=950'];
  const w = await lokiPush(heimdall.httpUrl, 'anonymous', { job: 'log-to-metrics' }, startNs, lines, { stepNs: 30_000_000_000n });
  assert.equal(w.status, 204, w.body);
}

after(async () => {
  await browser?.close();
  await heimdall?.stop();
});

/** Imports `file` through the UI's import form (pasting its JSON) and waits for the dashboard page. */
async function importThroughUi(page: Page, file: string, uid: string): Promise<void> {
  await page.goto(`${heimdall.httpUrl}/dashboards?org=default`);
  await page.getByTestId('import-button').click();
  // Set as a paste would (one input event): typing half a megabyte key by key is not what a user does.
  const json = JSON.stringify(readFileSync(path.join(FIXTURES, file), 'utf8'));
  await page.evaluate(`(() => {
    const el = document.querySelector('[data-testid=import-json]');
    Object.getOwnPropertyDescriptor(HTMLTextAreaElement.prototype, 'value').set.call(el, ${json});
    el.dispatchEvent(new Event('input', { bubbles: true }));
  })()`);
  await page.getByLabel('Import uid').fill(uid);
  await page.getByTestId('import-confirm').click();
  await page.getByTestId('dashboard-page').waitFor();
  await page.waitForURL(new RegExp(`/d/${uid}`));
}

/**
 * Opens every collapsed row, brings every panel on screen (panels query only when visible) and waits until
 * each has drawn or failed. Returns the states and errors by panel title.
 */
async function settleAllPanels(page: Page, range: string): Promise<{ title: string; type: string; state: string; error: string }[]> {
  await page.getByTestId('dashboard-panel').first().waitFor();
  for (;;) {
    const folded = page.locator('[data-testid=dashboard-row]', { hasText: '▸' });
    if ((await folded.count()) === 0) break;
    await folded.first().click();
  }
  const panels = page.getByTestId('dashboard-panel');
  const n = await panels.count();
  for (let i = 0; i < n; i++) await panels.nth(i).scrollIntoViewIfNeeded();
  try {
    await page.waitForFunction(`[...document.querySelectorAll('[data-testid=dashboard-panel]')].every((p) => p.dataset.state !== 'loading')`, undefined, { polling: 250 });
  } catch (err) {
    const stuck = await page.evaluate(`[...document.querySelectorAll('[data-testid=dashboard-panel]')].filter((p) => p.dataset.state === 'loading').map((p) => p.dataset.panelType + ' ' + p.querySelector('.dash-panel-title').textContent)`);
    throw new Error(`panels still loading: ${JSON.stringify(stuck)}`, { cause: err });
  }
  // The first screen only: a full-page capture of 125 panels takes minutes on a loaded machine.
  await page.screenshot({ path: path.join(SCREENSHOT_DIR, `dashboard-${range}.png`) });
  return panels.evaluateAll((els) =>
    els.map((el) => ({
      title: el.querySelector('.dash-panel-title')?.textContent ?? '',
      type: el.getAttribute('data-panel-type') ?? '',
      state: el.getAttribute('data-state') ?? '',
      error: el.querySelector('[data-testid=panel-error]')?.textContent ?? '',
    })),
  );
}

/** The text of the first panel titled `title`. */
async function panelText(page: Page, title: string): Promise<string> {
  const panel = page.getByTestId('dashboard-panel').filter({ has: page.locator('.dash-panel-title', { hasText: new RegExp(`^${title}$`) }) }).first();
  return (await panel.locator('.dash-panel-body').textContent()) ?? '';
}

test('Node Exporter Full imported through the UI: every panel draws without an error, the main ones show the seeded host', async () => {
  const { page } = browser;
  await importThroughUi(page, 'node-exporter-full.json', 'nef');
  const states = await settleAllPanels(page, 'node-exporter-full');
  const failed = states.filter((s) => s.state !== 'done');
  assert.deepEqual(failed, [], 'panels that did not draw');
  assert.equal(states.length, 125, "every panel of every row is on the page");
  // The chained variables picked the first job, node name and instance.
  assert.match(page.url(), /var-job=node/);
  assert.match(page.url(), /var-nodename=host-1/);
  assert.match(page.url(), /var-node=host-1%3A9100/);
  assert.equal(await panelText(page, 'RAM Total'), '8 GiB');
  assert.equal(await panelText(page, 'CPU Cores'), '2');
  assert.equal(await panelText(page, 'RootFS Total'), '100 GiB');
  assert.match(await panelText(page, 'RAM Used'), /^50(\.0)?%$/);
  assert.match(await panelText(page, 'Uptime'), /^1(\.0)? day$/);
  // The time series panels plot lines with the legend's names.
  const cpu = page.getByTestId('dashboard-panel').filter({ has: page.locator('.dash-panel-title', { hasText: /^CPU Basic$/ }) });
  assert.equal(await cpu.locator('canvas').count(), 1);
  const legend = await cpu.locator('.u-legend .u-label').allTextContents();
  assert.ok(legend.includes('Busy User') && legend.includes('Idle'), legend.join(','));
  await page.evaluate('window.scrollTo(0, 0)');
  await page.screenshot({ path: path.join(SCREENSHOT_DIR, 'node-exporter-full-top.png') });
});

test('a variable change follows the chain: nodename → instance, the URL and the panels', async () => {
  const { page } = browser;
  await page.goto(`${heimdall.httpUrl}/d/nef?org=default`);
  await page.getByTestId('var-nodename').waitFor();
  await page.waitForURL(/var-node=host-1/);
  await page.getByTestId('var-nodename').selectOption('host-2');
  await page.waitForURL(/var-node=host-2%3A9100/);
  assert.equal(await page.getByTestId('var-node').inputValue(), 'host-2:9100');
  const ram = page.getByTestId('dashboard-panel').filter({ has: page.locator('.dash-panel-title', { hasText: /^RAM Total$/ }) });
  await ram.locator('.dash-panel-body', { hasText: '16 GiB' }).waitFor();
  // A link with the variables reproduces the view.
  await page.goto(`${heimdall.httpUrl}/d/nef?org=default&var-job=node&var-nodename=host-1&var-node=host-1:9100`);
  await ram.locator('.dash-panel-body', { hasText: '8 GiB' }).waitFor();
});

test('the old Node Exporter Full (schemaVersion 14: rows, graph, singlestat, __inputs) is migrated and draws', async () => {
  const { page } = browser;
  await importThroughUi(page, 'node-exporter-full-old.json', 'nef-old');
  const states = await settleAllPanels(page, 'node-exporter-full-old');
  assert.deepEqual(states.filter((s) => s.state !== 'done'), [], 'panels that did not draw');
  assert.ok(states.some((s) => s.type === 'timeseries') && states.some((s) => s.type === 'stat' || s.type === 'gauge'));
  assert.ok(!states.some((s) => s.type === 'graph' || s.type === 'singlestat'));
});

test('edit a panel, save, reload and export', async () => {
  const { page } = browser;
  await page.goto(`${heimdall.httpUrl}/d/nef?org=default`);
  const ram = page.getByTestId('dashboard-panel').filter({ has: page.locator('.dash-panel-title', { hasText: /^RAM Total$/ }) });
  await ram.hover();
  await ram.getByRole('button', { name: /Edit/ }).click();
  await page.getByLabel('Panel title').fill('Memory installed');
  await page.getByLabel('Unit').fill('decbytes');
  await page.getByTestId('panel-editor-apply').click();
  const renamed = page.getByTestId('dashboard-panel').filter({ has: page.locator('.dash-panel-title', { hasText: /^Memory installed$/ }) });
  await renamed.locator('.dash-panel-body', { hasText: '9 GB' }).waitFor();
  await page.getByTestId('save-button').click();
  await page.getByTestId('save-confirm').click();
  await page.locator('.badge', { hasText: 'unsaved' }).waitFor({ state: 'detached' });
  // A second save from the same (now stale) version would be refused; the page took the new version.
  await page.reload();
  await renamed.locator('.dash-panel-body', { hasText: '9 GB' }).waitFor();
  const [download] = await Promise.all([page.waitForEvent('download'), page.getByTestId('export-button').click()]);
  const exported = JSON.parse(readFileSync(await download.path(), 'utf8')) as { uid: string; version: number; panels: { title?: string }[] };
  assert.equal(exported.uid, 'nef');
  assert.equal(exported.version, 2);
  assert.ok(exported.panels.some((p) => p.title === 'Memory installed'));
  // The API agrees.
  const stored = (await (await fetch(`${heimdall.httpUrl}/api/dashboards/uid/nef`)).json()) as { meta: { version: number } };
  assert.equal(stored.meta.version, 2);
});

test('built-in logs overview: the log volume and the lines pushed to Loki', async () => {
  const { page } = browser;
  await page.goto(`${heimdall.httpUrl}/d/heimdall-logs-overview?org=default&from=now-1h&to=now`);
  const logs = page.getByTestId('panel-logs');
  await logs.locator('.log-line', { hasText: 'disk full' }).waitFor();
  // Other tests' services log too: the three lines of checkout are there.
  for (const text of ['started', 'disk full', 'served']) assert.equal(await logs.locator('.log-line', { hasText: text }).count(), 1, text);
  const states = await settleAllPanels(page, 'logs-overview');
  assert.deepEqual(states.filter((s) => s.state !== 'done'), []);
  // Typing in the text box variable narrows the lines.
  await page.getByTestId('var-search').fill('disk');
  await page.getByTestId('var-search').press('Enter');
  await page.waitForURL(/var-search=disk/);
  await logs.locator('.log-line').nth(1).waitFor({ state: 'detached' });
  assert.equal(await logs.locator('.log-line').count(), 1);
});

test('built-in self-monitoring: Heimdall scrapes its own /metrics, every panel draws', async () => {
  // The scrape writes `up` and the registry's series with job and instance, as Prometheus would.
  const instance = heimdall.httpUrl.replace('http://', '');
  const upQuery = `${heimdall.httpUrl}/prometheus/api/v1/query?query=${encodeURIComponent('count_over_time(up{job="heimdall"}[1m])')}`;
  await waitFor('three self-scrapes', async () => {
    const r = (await (await fetch(upQuery)).json()) as { data: { result: { metric: Record<string, string>; value: [number, string] }[] } };
    const up = r.data.result[0];
    return r.data.result.length === 1 && up?.metric.instance === instance && Number(up.value[1]) >= 3 ? true : undefined;
  });
  const { page } = browser;
  await page.goto(`${heimdall.httpUrl}/d/heimdall-self?org=default&from=now-5m&to=now`);
  const states = await settleAllPanels(page, 'self-monitoring');
  assert.deepEqual(states.filter((s) => s.state !== 'done'), [], 'panels that did not draw');
  assert.match(await panelText(page, 'Resident memory'), /^\d+(\.\d+)? MiB$/);
  assert.match(await panelText(page, 'Requests / s'), /\d/);
  for (const title of ['HTTP requests by route', 'Memory', 'Heap used']) {
    const panel = page.getByTestId('dashboard-panel').filter({ has: page.locator('.dash-panel-title', { hasText: new RegExp(`^${title}$`) }) });
    assert.ok((await panel.locator('.u-legend .u-series').count()) >= 2, `${title} draws a series`);
  }
  await page.screenshot({ path: path.join(SCREENSHOT_DIR, 'self-monitoring.png') });
});

test('community dashboards: alloy-scenarios "Metrics derived from logs" (Loki logs + Prometheus) and docker-otel-lgtm RED metrics draw every panel', async () => {
  const { page } = browser;
  await importThroughUi(page, 'alloy-log-to-metrics.json', 'l2m');
  const l2m = await settleAllPanels(page, 'alloy-log-to-metrics');
  assert.deepEqual(l2m.filter((s) => s.state !== 'done'), [], 'panels that did not draw');
  assert.equal(l2m.length, 3);
  await page.getByTestId('panel-logs').locator('.log-line', { hasText: 'status=500' }).waitFor();
  for (const title of ['Request rate from logs', 'Request latency p95 from logs']) {
    const panel = page.getByTestId('dashboard-panel').filter({ has: page.locator('.dash-panel-title', { hasText: title }) });
    assert.equal(await panel.locator('canvas').count(), 1, title);
  }
  await page.screenshot({ path: path.join(SCREENSHOT_DIR, 'alloy-log-to-metrics.png') });

  await importThroughUi(page, 'otel-lgtm-red-metrics-classic.json', 'red');
  const red = await settleAllPanels(page, 'otel-lgtm-red-metrics');
  assert.deepEqual(red.filter((s) => s.state !== 'done'), [], 'panels that did not draw');
  assert.deepEqual(red.map((s) => s.type).sort(), ['bargauge', 'heatmap', 'text', 'timeseries', 'timeseries', 'timeseries']);
  // Both variables start at "All" (allValue `.+`), as the dashboard was saved.
  assert.match(page.url(), /var-job=All&var-instance=All/);
  assert.equal(await page.getByTestId('var-instance').textContent().then((t) => t ?? ''), 'All');
  const errorRate = page.getByTestId('dashboard-panel').filter({ has: page.locator('.dash-panel-title', { hasText: /^Error Rate$/ }) });
  assert.equal(await errorRate.locator('canvas').count(), 1);
  assert.equal(await errorRate.getByText('No data').count(), 0);
});

test('annotations: a Prometheus and a Loki annotation query draw their events on the time series panels', async () => {
  const dashboard = {
    uid: 'annotated',
    title: 'Annotated',
    schemaVersion: 39,
    time: { from: 'now-30m', to: 'now' },
    annotations: {
      list: [
        { builtIn: 1, datasource: { type: 'grafana', uid: '-- Grafana --' }, enable: true, hide: true, name: 'Annotations & Alerts', type: 'dashboard' },
        { name: 'Deploys', enable: true, iconColor: 'red', datasource: { type: 'prometheus', uid: 'any' }, expr: 'deploy_marker', step: '60s', titleFormat: 'deploy {{version}}' },
        { name: 'Announcements', enable: true, iconColor: 'blue', datasource: { type: 'loki', uid: 'any' }, expr: '{app="deploys"}' },
        { name: 'Disabled', enable: false, datasource: { type: 'prometheus', uid: 'any' }, expr: 'node_load1' },
      ],
    },
    panels: [{ id: 1, type: 'timeseries', title: 'Load', gridPos: { x: 0, y: 0, w: 24, h: 8 }, datasource: { type: 'prometheus', uid: 'any' }, targets: [{ refId: 'A', expr: 'node_load1' }] }],
  };
  const saved = await fetch(`${heimdall.httpUrl}/api/dashboards/db`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ dashboard, overwrite: true }) });
  assert.equal(saved.status, 200, await saved.text());
  const { page } = browser;
  await page.goto(`${heimdall.httpUrl}/d/annotated?org=default`);
  // Two deploys (each a run of non-zero points merged into one event) and one Loki line.
  await page.locator('[data-testid=dashboard-panel] [data-testid=time-series-graph][data-events="3"]').waitFor();
  await page.screenshot({ path: path.join(SCREENSHOT_DIR, 'annotations.png') });
});
