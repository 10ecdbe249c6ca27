// A real Prometheus (Debian's `prometheus`) scrapes a local target and itself and remote_writes to
// Heimdall's /api/v1/push; the same queries through Heimdall's /prometheus/api/v1 and Prometheus' own
// /api/v1 must agree. Needs the binary: skipped with a reason when it is absent outside CI, a failure in CI.
import assert from 'node:assert/strict';
import { accessSync, constants } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { GENEROUS_MS } from '../support/bounds.ts';
import { startPrometheus, startScrapeTarget } from './go-tools.ts';
import type { PrometheusProcess, ScrapeTarget } from './go-tools.ts';
import { startHeimdall } from './harness.ts';
import type { HeimdallProcess } from './harness.ts';

function findPrometheus(): string | undefined {
  const dirs = [...(process.env.PATH ?? '').split(path.delimiter), '/usr/bin', '/usr/local/bin'];
  for (const dir of dirs) {
    const file = path.join(dir, 'prometheus');
    try {
      accessSync(file, constants.X_OK);
      return file;
    } catch {
      /* not here */
    }
  }
  return undefined;
}

const PROMETHEUS = findPrometheus();
const SKIP =
  PROMETHEUS === undefined && !process.env.CI
    ? 'the prometheus binary is not installed (apt-get install prometheus); CI installs it'
    : false;

/**
 * The scrape target: OpenMetrics text with a counter (with exemplars), a gauge and a classic histogram,
 * values changing on every scrape.
 */
function renderTarget(n: number): string {
  return [
    '# HELP target_requests Requests the test target handled.',
    '# TYPE target_requests counter',
    `target_requests_total{code="200",path="/a"} ${n * 7} # {trace_id="${traceId(n)}"} ${n % 5}`,
    `target_requests_total{code="500",path="/a"} ${Math.floor(n / 3)}`,
    `target_requests_total{code="200",path="/b"} ${n * 2.5}`,
    '# HELP target_temperature_celsius A gauge that moves.',
    '# TYPE target_temperature_celsius gauge',
    `target_temperature_celsius{room="lab"} ${20 + Math.sin(n / 3)}`,
    `target_temperature_celsius{room="hall"} ${-3.25 * (n % 4)}`,
    '# HELP target_latency_seconds Request latency.',
    '# TYPE target_latency_seconds histogram',
    `target_latency_seconds_bucket{le="0.05"} ${n}`,
    `target_latency_seconds_bucket{le="0.1"} ${n * 3}`,
    `target_latency_seconds_bucket{le="0.5"} ${n * 4}`,
    `target_latency_seconds_bucket{le="+Inf"} ${n * 5}`,
    `target_latency_seconds_sum ${n * 0.75}`,
    `target_latency_seconds_count ${n * 5}`,
    '# EOF',
    '',
  ].join('\n');
}

function traceId(n: number): string {
  return n.toString(16).padStart(32, '0');
}

/** Prometheus scraping the target and itself, remote-writing samples, exemplars and metadata to Heimdall. */
function prometheusConfig(heimdallUrl: string, targetPort: number, port: number): Record<string, unknown> {
  return {
    global: { scrape_interval: '1s', scrape_timeout: '900ms', evaluation_interval: '1m' },
    scrape_configs: [
      { job_name: 'target', static_configs: [{ targets: [`127.0.0.1:${targetPort}`] }] },
      { job_name: 'prometheus', static_configs: [{ targets: [`127.0.0.1:${port}`] }] },
    ],
    remote_write: [
      {
        url: `${heimdallUrl}/api/v1/push`,
        send_exemplars: true,
        queue_config: { batch_send_deadline: '500ms', max_samples_per_send: 5000, min_backoff: '100ms', max_backoff: '1s' },
        metadata_config: { send: true, send_interval: '1s' },
      },
    ],
  };
}

interface Envelope<T = unknown> {
  status: string;
  data: T;
  error?: string;
}

async function api<T>(base: string, endpoint: string, params: Record<string, string | string[]>): Promise<T> {
  const u = new URL(`${base}/api/v1/${endpoint}`);
  for (const [k, v] of Object.entries(params)) for (const x of [v].flat()) u.searchParams.append(k, x);
  const res = await fetch(u);
  const body = (await res.json()) as Envelope<T>;
  assert.equal(body.status, 'success', `${u}: ${res.status} ${body.error ?? ''}`);
  return body.data;
}

type Sample = [number, string];
interface QueryData {
  resultType: string;
  result: { metric: Record<string, string>; value?: Sample; values?: Sample[] }[] | Sample;
}

/** Query results in a comparable form: sorted by series, values as numbers. */
function normalize(d: QueryData): unknown {
  if (!Array.isArray(d.result) || typeof d.result[0] === 'number') return d;
  const rows = (d.result as { metric: Record<string, string>; value?: Sample; values?: Sample[] }[]).map((r) => ({
    metric: JSON.stringify(Object.entries(r.metric).sort(([a], [b]) => (a < b ? -1 : 1))),
    points: (r.values ?? (r.value ? [r.value] : [])).map(([t, v]) => [t, Number(v)] as [number, number]),
  }));
  rows.sort((a, b) => (a.metric < b.metric ? -1 : a.metric > b.metric ? 1 : 0));
  return { resultType: d.resultType, rows };
}

/** Equal series and timestamps; values equal up to float rounding (evaluation order may differ). */
function sameResult(a: unknown, b: unknown): boolean {
  if (typeof a === 'number' && typeof b === 'number') {
    if (Number.isNaN(a) || Number.isNaN(b)) return Number.isNaN(a) && Number.isNaN(b);
    return a === b || Math.abs(a - b) <= 1e-9 * Math.max(Math.abs(a), Math.abs(b));
  }
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((x, i) => sameResult(x, b[i]));
  if (a && b && typeof a === 'object' && typeof b === 'object') {
    const ka = Object.keys(a).sort();
    const kb = Object.keys(b).sort();
    return sameResult(ka, kb) && ka.every((k) => sameResult((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]));
  }
  return a === b;
}

const QUERIES = [
  'target_requests_total{code="200"}[20s]',
  'up',
  'target_requests_total',
  'rate(target_requests_total[5s])',
  'sum by (code) (increase(target_requests_total[10s]))',
  'target_temperature_celsius',
  'histogram_quantile(0.9, sum by (le) (rate(target_latency_seconds_bucket[5s])))',
  'scrape_samples_scraped',
  'count by (job) ({__name__=~".+"})',
  'sum by (handler) (prometheus_http_requests_total)',
  'max_over_time(target_temperature_celsius[10s])',
];

describe('Prometheus remote_write into Heimdall', { skip: SKIP }, () => {
  let heimdall: HeimdallProcess;
  let target: ScrapeTarget;
  let prom: PrometheusProcess;
  /** The instant every comparison evaluates at: both sides have all samples up to it. */
  let evalSec = 0;

  before(async () => {
    assert.ok(PROMETHEUS, 'CI must install Debian\'s prometheus package (see .ci/run)');
    // Heimdall's scrape of itself would add job="heimdall" series Prometheus does not have.
    heimdall = await startHeimdall({ config: { metrics: { self_scrape: { enabled: false } } } });
    target = await startScrapeTarget(renderTarget);
    prom = await startPrometheus(PROMETHEUS, (port) => prometheusConfig(heimdall.httpUrl, target.port, port), ['--enable-feature=exemplar-storage']);
    // Wait (bounded) until Heimdall holds 22 s of target scrapes, then leave the senders time to flush
    // every sample up to the evaluation instant. Comparisons look back at most 18 s from it, so no window
    // reaches the start of the series: samples scraped while Prometheus replayed its WAL are never sent,
    // and Prometheus 2.x (Debian's) extrapolates rate() at a series' start differently from 3.x.
    const deadline = Date.now() + 60_000;
    let firstSec: number | undefined;
    for (;;) {
      assert.ok(Date.now() < deadline, `no 22 s of data reached Heimdall within 60 s:\n${prom.output()}\n${heimdall.output()}`);
      const res = await fetch(`${heimdall.httpUrl}/prometheus/api/v1/query?query=${encodeURIComponent('min(timestamp(up{job="target"}))')}`);
      if (res.status === 200) {
        const body = (await res.json()) as Envelope<QueryData>;
        const row = (body.data.result as { value: Sample }[])[0];
        if (row) {
          const t = Number(row.value[1]);
          firstSec ??= t;
          if (t - firstSec >= 22) {
            evalSec = Math.floor(t - 2);
            break;
          }
        }
      }
      await sleep(500);
    }
    await sleep(2_000);
  });

  after(async () => {
    if (prom) await prom.stop();
    if (target) await target.close();
    if (heimdall) await heimdall.stop();
  });

  /** Runs the same request against both; retried (bounded) while the remote side may still be catching up. */
  async function compare(endpoint: string, params: Record<string, string | string[]>, norm: (d: never) => unknown): Promise<void> {
    let ours: unknown;
    let theirs: unknown;
    // Prometheus sends in batches; on a loaded machine the last ones may take a while (the loop ends when equal).
    for (let attempt = 0; attempt < 30; attempt++) {
      theirs = norm(await api<never>(prom.url, endpoint, params));
      ours = norm(await api<never>(`${heimdall.httpUrl}/prometheus`, endpoint, params));
      if (sameResult(ours, theirs)) return;
      await sleep(1_000);
    }
    assert.deepEqual(ours, theirs, `${endpoint} ${JSON.stringify(params)}`);
  }

  test("Grafana's probes against the binary: form POST 1+1 and buildinfo", async () => {
    const res = await fetch(`${heimdall.httpUrl}/prometheus/api/v1/query`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ query: '1+1', time: String(evalSec) }),
    });
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), { status: 'success', data: { resultType: 'scalar', result: [evalSec, '2'] } });
    const info = await api<{ version: string; features?: Record<string, string> }>(`${heimdall.httpUrl}/prometheus`, 'status/buildinfo', {});
    assert.equal(typeof info.version, 'string');
    // Only the Mimir API that is served (the ruler config API; no Alertmanager) is advertised.
    assert.deepEqual(info.features, { ruler_config_api: 'true' });
  });

  for (const query of QUERIES) {
    test(`instant and range query agree: ${query}`, async () => {
      await compare('query', { query, time: String(evalSec) }, normalize);
      // A bare range selector is an instant query only.
      if (query.endsWith(']')) return;
      await compare('query_range', { query, start: String(evalSec - 8), end: String(evalSec), step: '1' }, normalize);
    });
  }

  test('series, label names and metric names agree', async () => {
    const range = { start: String(evalSec - 8), end: String(evalSec) };
    const sortSeries = (d: Record<string, string>[]) => d.map((s) => JSON.stringify(Object.entries(s).sort())).sort();
    await compare('series', { 'match[]': ['up', 'target_requests_total'], ...range }, sortSeries);
    await compare('labels', { 'match[]': '{job="target"}', ...range }, (d: string[]) => d);
    await compare('label/__name__/values', { 'match[]': '{job="target"}', ...range }, (d: string[]) => d);
  });

  test('metadata of the target\'s metrics agrees', async () => {
    for (const metric of ['target_requests', 'target_temperature_celsius', 'target_latency_seconds']) {
      await compare('metadata', { metric }, (d: Record<string, { type: string; help: string }[]>) =>
        Object.fromEntries(Object.entries(d).map(([k, v]) => [k, v.map((m) => ({ type: m.type, help: m.help }))])),
      );
    }
  });

  test('exemplars agree', async () => {
    const params = { query: 'target_requests_total{code="200",path="/a"}', start: String(evalSec - 8), end: String(evalSec) };
    await compare('query_exemplars', params, (d: { seriesLabels: Record<string, string>; exemplars: unknown[] }[]) =>
      d.map((s) => ({ labels: JSON.stringify(Object.entries(s.seriesLabels).sort()), exemplars: s.exemplars })),
    );
    const ours = await api<unknown[]>(`${heimdall.httpUrl}/prometheus`, 'query_exemplars', params);
    assert.ok(ours.length > 0, 'exemplars arrived');
  });

  test('stale markers after the target goes away are stored and honoured', async () => {
    const stoppedSec = Date.now() / 1000;
    await target.close();
    // Prometheus marks the target's series stale on the first failed scrape; wait (bounded) until that
    // reached Heimdall: up{job="target"} is 0 at a scrape after the stop.
    const deadline = Date.now() + GENEROUS_MS;
    let staleSec = 0;
    for (;;) {
      assert.ok(Date.now() < deadline, `the failed scrapes did not reach Heimdall within ${GENEROUS_MS / 1000} s`);
      const d = await api<QueryData>(`${heimdall.httpUrl}/prometheus`, 'query', { query: 'timestamp(up{job="target"} == 0)' });
      const row = (d.result as { value: Sample }[])[0];
      if (row && Number(row.value[1]) > stoppedSec + 1) {
        staleSec = Math.ceil(Number(row.value[1]));
        break;
      }
      await sleep(500);
    }
    await sleep(2_000);
    const theirs = await api<QueryData>(prom.url, 'query', { query: 'target_temperature_celsius', time: String(staleSec) });
    assert.deepEqual(theirs.result, [], 'Prometheus itself no longer returns the stale series');
    for (const query of ['target_temperature_celsius', 'up{job="target"}', 'rate(target_requests_total[5s])']) {
      await compare('query', { query, time: String(staleSec) }, normalize);
      await compare('query_range', { query, start: String(Math.floor(stoppedSec) - 5), end: String(staleSec), step: '1' }, normalize);
    }
  });
});
