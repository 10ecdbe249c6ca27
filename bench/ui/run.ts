// The web UI's figures in headless Chromium (Debian's, through playwright-core) against the real binary:
//   - first-page weight: the bytes (gzip, as served) of every script and stylesheet the home page loads;
//   - time to interactive of the home page, and of Node Exporter Full over 10k node_exporter series (all first-screen
//     panels drawn), median of N page loads each in a fresh browser context (cold cache);
//   - render time of a 100-series × 1,000-point graph in Explore: from the query's response to the graph painted.
// Timings are noisy on a shared machine: the load average is printed beside the table.
//
//   npm run bench:ui                 # 5 runs each
//   npm run bench:ui -- --runs 9
import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import type { Browser, Page } from 'playwright-core';
import snappy from 'snappy';
import { encodeRemoteWriteV1 } from '../../src/ingest/remote-write-encode.ts';
import type { MetricRecord } from '../../src/model/index.ts';
import { launchBrowser } from '../../test/support/browser.ts';
import { REPO, startHeimdall } from '../../test/e2e/harness.ts';
import type { HeimdallProcess } from '../../test/e2e/harness.ts';

const { values: args } = parseArgs({ options: { runs: { type: 'string', default: '5' } } });
const RUNS = Math.max(1, Number(args.runs));
/** Hosts × series per host (233) ≈ 10k series for Node Exporter Full; 61 samples each (30 minutes at 30 s). */
const HOSTS = 43;
const POINTS = 61;
const GRAPH_SERIES = 100;
const GRAPH_POINTS = 1000;

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
}

async function push(h: HeimdallProcess, records: MetricRecord[]): Promise<void> {
  const body = snappy.compressSync(Buffer.from(encodeRemoteWriteV1(records)));
  const res = await fetch(`${h.httpUrl}/api/v1/push`, {
    method: 'POST',
    body,
    headers: { 'content-type': 'application/x-protobuf', 'content-encoding': 'snappy', 'x-prometheus-remote-write-version': '0.1.0' },
  });
  if (res.status !== 204) throw new Error(`remote_write answered ${res.status}: ${await res.text()}`);
}

/** One host's node_exporter series (the names Node Exporter Full queries), 233 per host. */
function hostSeries(host: number, times: readonly number[]): MetricRecord[] {
  const base = { job: 'node', instance: `host-${host}:9100` };
  const out: MetricRecord[] = [];
  const add = (name: string, labels: Record<string, string>, value: (i: number) => number): void => {
    out.push({ labels: { __name__: name, ...base, ...labels }, samples: times.map((t, i) => ({ timestampMs: t, value: value(i) })) });
  };
  add('node_uname_info', { nodename: `host-${host}`, sysname: 'Linux', release: '6.1.0', machine: 'x86_64' }, () => 1);
  for (let cpu = 0; cpu < 16; cpu++) {
    for (const [mode, perS] of [['idle', 0.6], ['user', 0.2], ['system', 0.1], ['iowait', 0.04], ['irq', 0.02], ['softirq', 0.02], ['steal', 0.01], ['nice', 0.01]] as const) {
      add('node_cpu_seconds_total', { cpu: String(cpu), mode }, (i) => 1000 + i * 30 * perS);
    }
  }
  const gib = 1024 ** 3;
  for (const [name, v] of [['MemTotal', 64], ['MemAvailable', 32], ['MemFree', 16], ['Cached', 8], ['Buffers', 2], ['SReclaimable', 1], ['SwapTotal', 4], ['SwapFree', 2], ['Active', 20], ['Inactive', 10], ['Dirty', 0.01], ['Writeback', 0], ['Mapped', 1], ['Shmem', 0.5], ['Slab', 1.5], ['PageTables', 0.2], ['Committed_AS', 40], ['CommitLimit', 36], ['HugePages_Total', 0], ['Hugepagesize', 0.002]] as const) {
    add(`node_memory_${name}_bytes`, {}, () => v * gib);
  }
  for (const n of ['1', '5', '15']) add(`node_load${n}`, {}, () => 1.5);
  add('node_boot_time_seconds', {}, () => times[0]! / 1000 - 86_400);
  add('node_time_seconds', {}, (i) => times[i]! / 1000);
  for (let m = 0; m < 5; m++) {
    const fs = { mountpoint: m === 0 ? '/' : `/data${m}`, device: `/dev/sd${String.fromCharCode(97 + m)}1`, fstype: 'ext4' };
    add('node_filesystem_size_bytes', fs, () => 500 * gib);
    add('node_filesystem_avail_bytes', fs, () => 200 * gib);
    add('node_filesystem_free_bytes', fs, () => 210 * gib);
  }
  for (let d = 0; d < 10; d++) {
    const dev = { device: `eth${d}` };
    for (const n of ['receive_bytes', 'transmit_bytes', 'receive_packets', 'transmit_packets']) add(`node_network_${n}_total`, dev, (i) => i * 30 * 1000 * (d + 1));
  }
  for (let d = 0; d < 4; d++) {
    const dev = { device: `nvme${d}n1` };
    for (const n of ['reads_completed', 'writes_completed', 'read_bytes', 'written_bytes', 'io_time_seconds', 'io_time_weighted_seconds']) add(`node_disk_${n}_total`, dev, (i) => i * 30 * (d + 1));
  }
  return out;
}

async function seed(h: HeimdallProcess): Promise<{ series: number; graphFromMs: number; graphToMs: number }> {
  const endMs = Math.floor(Date.now() / 1000) * 1000 - 5_000;
  const times = Array.from({ length: POINTS }, (_, i) => endMs - (POINTS - 1 - i) * 30_000);
  let series = 0;
  for (let host = 1; host <= HOSTS; host++) {
    const records = hostSeries(host, times);
    series += records.length;
    await push(h, records);
  }
  // The graph: 100 series of 1,000 points one second apart, read back at a 1 s step.
  const graphToMs = endMs;
  const graphFromMs = endMs - (GRAPH_POINTS - 1) * 1000;
  const gTimes = Array.from({ length: GRAPH_POINTS }, (_, i) => graphFromMs + i * 1000);
  const graph: MetricRecord[] = Array.from({ length: GRAPH_SERIES }, (_, s) => ({
    labels: { __name__: 'bench_graph', series: String(s) },
    samples: gTimes.map((t, i) => ({ timestampMs: t, value: s + Math.sin(i / 50) })),
  }));
  await push(h, graph);
  return { series: series + GRAPH_SERIES, graphFromMs, graphToMs };
}

/** Bytes (as transferred: gzip) of the scripts and stylesheets the home page loaded. */
async function firstPageBytes(browser: Browser, url: string): Promise<{ bytes: number; files: number }> {
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(url, { waitUntil: 'networkidle' });
  const sizes = await page.evaluate<number[]>(`performance.getEntriesByType('resource').filter((e) => /\\.(js|css)$/.test(new URL(e.name).pathname)).map((e) => e.encodedBodySize)`);
  const navigation = await page.evaluate<number>(`performance.getEntriesByType('navigation')[0].encodedBodySize`);
  await context.close();
  return { bytes: sizes.reduce((a, b) => a + b, 0) + navigation, files: sizes.length + 1 };
}

/** Milliseconds from navigation start until `ready` holds in a fresh context (cold cache). */
async function timeToInteractive(browser: Browser, url: string, ready: (page: Page) => Promise<void>): Promise<number> {
  const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
  const page = await context.newPage();
  page.setDefaultTimeout(120_000);
  const t0 = Date.now();
  await page.goto(url);
  await ready(page);
  const ms = Date.now() - t0;
  await context.close();
  return ms;
}

/** Response of the graph's query_range → the graph painted (the frame after the canvas appeared). */
async function graphRenderMs(browser: Browser, url: string): Promise<number> {
  const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
  const page = await context.newPage();
  page.setDefaultTimeout(120_000);
  await page.addInitScript(`new MutationObserver((_, obs) => {
    if (!document.querySelector('[data-testid=time-series-graph] canvas')) return;
    obs.disconnect();
    requestAnimationFrame(() => { window.__painted = performance.now(); });
  }).observe(document, { childList: true, subtree: true });`);
  await page.goto(url);
  await page.waitForFunction('window.__painted !== undefined');
  const ms = await page.evaluate<number>(`window.__painted - performance.getEntriesByType('resource').filter((e) => e.name.includes('query_range')).at(-1).responseEnd`);
  const series = await page.locator('[data-testid=time-series-graph] .u-legend .u-series').count();
  if (series !== GRAPH_SERIES + 1) throw new Error(`the graph drew ${series - 1} series, expected ${GRAPH_SERIES}`);
  await context.close();
  return ms;
}

const heimdall = await startHeimdall({ config: { metrics: { self_scrape: { enabled: false } } } });
const test = await launchBrowser();
try {
  const seeded = await seed(heimdall);
  const nef = JSON.parse(readFileSync(path.join(REPO, 'test', 'fixtures', 'dashboards', 'node-exporter-full.json'), 'utf8')) as Record<string, unknown>;
  const saved = await fetch(`${heimdall.httpUrl}/api/dashboards/db`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ dashboard: { ...nef, uid: 'nef', id: null }, overwrite: true }) });
  if (!saved.ok) throw new Error(`saving Node Exporter Full answered ${saved.status}: ${await saved.text()}`);

  const weight = await firstPageBytes(test.browser, `${heimdall.httpUrl}/`);
  const home: number[] = [];
  const dash: number[] = [];
  const render: number[] = [];
  const nefUrl = `${heimdall.httpUrl}/d/nef?org=default&from=now-30m&to=now&var-job=node&var-nodename=host-7&var-node=host-7:9100`;
  const graphUrl = `${heimdall.httpUrl}/explore?org=default&expr=bench_graph&step=1s&from=${seeded.graphFromMs}&to=${seeded.graphToMs}`;
  for (let i = 0; i < RUNS; i++) {
    home.push(await timeToInteractive(test.browser, `${heimdall.httpUrl}/`, async (p) => p.locator('.datasource-list li').first().waitFor()));
    dash.push(
      await timeToInteractive(test.browser, nefUrl, async (p) => {
        await p.getByTestId('dashboard-panel').first().waitFor();
        // Panels query when on screen: interactive once every panel that asked for data has drawn (or failed).
        await p.waitForFunction(`(() => { const ps = [...document.querySelectorAll('[data-testid=dashboard-panel]')]; return ps.some((x) => x.dataset.state === 'done') && ps.every((x) => x.dataset.state !== 'loading'); })()`, undefined, { polling: 50 });
      }),
    );
    render.push(await graphRenderMs(test.browser, graphUrl));
  }
  const load = os.loadavg().map((l) => l.toFixed(2)).join(' ');
  console.log(`web UI in headless ${test.browser.version()}; ${RUNS} runs each; ${seeded.series} series stored; load average ${load} on ${os.cpus().length} cores (shared machine: timings are noisy)`);
  console.table([
    { figure: 'first page (scripts + styles + HTML, gzip)', value: `${(weight.bytes / 1024).toFixed(1)} KB in ${weight.files} files`, target: '≤ 400 KB' },
    { figure: 'home page: time to interactive (median)', value: `${median(home).toFixed(0)} ms`, target: '' },
    { figure: `Node Exporter Full over ${seeded.series} series: time to interactive (median)`, value: `${median(dash).toFixed(0)} ms`, target: '' },
    { figure: `graph ${GRAPH_SERIES} series × ${GRAPH_POINTS} points: response → painted (median)`, value: `${median(render).toFixed(0)} ms`, target: '' },
  ]);
} finally {
  await test.close();
  await heimdall.stop();
}
