/**
 * The Loki query API over a real socket: Fastify on 127.0.0.1:0 with the real log store in a temp dir,
 * queried with fetch and the `ws` client (tail). Data is written through the store's appender (the seam
 * the push path uses), so these tests do not depend on the ingest routes.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import Fastify from 'fastify';
import type { FastifyInstance } from 'fastify';
import { pino } from 'pino';
import WebSocket from 'ws';
import { registerLokiApi } from '../../src/api/loki/index.ts';
import { GENEROUS_MS } from '../support/bounds.ts';
import { configSchema } from '../../src/config/index.ts';
import { LogqlEngine } from '../../src/logql/index.ts';
import { InProcessLogQueryEngine } from '../../src/query/index.ts';
import { LogStore } from '../../src/logstore/index.ts';
import type { Labels, TenantId } from '../../src/model/index.ts';
import { TenantResolver } from '../../src/tenant/index.ts';
import { logStoreConfigOptions } from '../../src/app/engine-options.ts';

const NOW_NS = BigInt(Date.now()) * 1_000_000n;
const SEC = 1_000_000_000n;
/** Entries start 10 minutes ago, one every 10 s for 5 minutes. */
const BASE_NS = NOW_NS - 600n * SEC;

let dir: string;
let store: LogStore;
let app: FastifyInstance;
let url: string;

async function write(tenant: string, labels: Labels, entries: { ts: bigint; line: string; md?: Labels }[]): Promise<void> {
  const a = store.appender(tenant as TenantId);
  const out = a.append({ labels, entries: entries.map((e) => ({ timestampNs: e.ts, line: e.line, structuredMetadata: e.md })) });
  assert.equal(out.rejections.length, 0, JSON.stringify(out.rejections));
  await a.commit();
}

async function get(pathAndQuery: string, tenant = 'team-a'): Promise<{ status: number; body: string; json: () => unknown }> {
  const res = await fetch(`${url}${pathAndQuery}`, { headers: { 'X-Scope-OrgID': tenant } });
  const body = await res.text();
  return { status: res.status, body, json: () => JSON.parse(body) as unknown };
}

function qs(params: Record<string, string | bigint | number>): string {
  return new URLSearchParams(Object.entries(params).map(([k, v]): [string, string] => [k, String(v)])).toString();
}

before(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'heimdall-loki-api-'));
  const config = configSchema.parse({});
  store = await LogStore.open({ dir, ...logStoreConfigOptions(config.logs), background: false, threads: 1, memoryLimitBytes: 256 * 1024 * 1024 });
  const lines = (): { ts: bigint; line: string; md?: Labels }[] =>
    Array.from({ length: 30 }, (_, i) => ({
      ts: BASE_NS + BigInt(i) * 10n * SEC,
      line: i % 3 === 0 ? `level=error status=500 msg="boom ${i}" took=${i}ms` : `level=info status=200 msg="ok ${i}" took=${i}ms`,
      md: i % 2 === 0 ? { trace_id: `t${i}` } : undefined,
    }));
  await write('team-a', { app: 'api', env: 'prod' }, lines());
  await write('team-a', { app: 'web', env: 'prod' }, lines().map((e) => ({ ...e, line: JSON.stringify({ level: 'info', path: '/x', bytes: 10 }) })));
  await write('team-b', { app: 'api', env: 'dev' }, lines().slice(0, 5));
  app = Fastify({ logger: false });
  const tenants = new TenantResolver({ multitenancy: true, fromNamespace: false, defaultTenant: 'anonymous', namespaceMap: {} });
  await registerLokiApi(app, {
    queryable: store,
    engine: new InProcessLogQueryEngine(new LogqlEngine()),
    logqlEngine: new LogqlEngine(),
    tenants,
    config: config.logs,
    logger: pino({ level: 'silent' }),
    tailPollIntervalMs: 100,
  });
  url = await app.listen({ host: '127.0.0.1', port: 0 });
});

after(async () => {
  await app?.close();
  await store?.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('Loki query API', () => {
  test("Grafana's health probe vector(1)+vector(1) answers 2", async () => {
    const r = await get(`/loki/api/v1/query?${qs({ query: 'vector(1)+vector(1)', time: NOW_NS })}`);
    assert.equal(r.status, 200, r.body);
    const j = r.json() as { status: string; data: { resultType: string; result: { metric: object; value: [number, string] }[]; stats: { summary: object } } };
    assert.equal(j.status, 'success');
    assert.equal(j.data.resultType, 'vector');
    assert.deepEqual(j.data.result.map((s) => s.value[1]), ['2']);
    assert.ok(j.data.stats.summary, 'stats.summary present');
  });

  test('query_range log query: ns times, limit, direction, stats', async () => {
    const r = await get(`/loki/api/v1/query_range?${qs({ query: '{app="api"} |= "error"', start: BASE_NS, end: NOW_NS, limit: 4, direction: 'backward' })}`);
    assert.equal(r.status, 200, r.body);
    const j = r.json() as { data: { resultType: string; result: { stream: Labels; values: [string, string][] }[]; stats: { summary: { totalEntriesReturned: number } } } };
    assert.equal(j.data.resultType, 'streams');
    const values = j.data.result.flatMap((s) => s.values);
    assert.equal(values.length, 4);
    const ts = values.map((v) => BigInt(v[0]));
    for (let i = 1; i < ts.length; i++) assert.ok(ts[i - 1]! >= ts[i]! || j.data.result.length > 1);
    assert.ok(values.every((v) => v[1].includes('level=error')));
    assert.equal(j.data.stats.summary.totalEntriesReturned, 4);
    // Structured metadata shows up in the stream labels.
    assert.ok(j.data.result.some((s) => s.stream.trace_id !== undefined));
  });

  test('categorize-labels encoding splits stream labels, structured metadata and parsed labels', async () => {
    const res = await fetch(`${url}/loki/api/v1/query_range?${qs({ query: '{app="api"} | logfmt | level="error"', start: BASE_NS, end: NOW_NS, limit: 5 })}`, {
      headers: { 'X-Scope-OrgID': 'team-a', 'X-Loki-Response-Encoding-Flags': 'categorize-labels' },
    });
    assert.equal(res.status, 200);
    const j = (await res.json()) as {
      data: { encodingFlags: string[]; result: { stream: Labels; values: [string, string, { structuredMetadata?: Labels; parsed?: Labels }][] }[] };
    };
    assert.deepEqual(j.data.encodingFlags, ['categorize-labels']);
    assert.deepEqual(j.data.result.map((s) => s.stream), [{ app: 'api', env: 'prod' }]);
    const values = j.data.result[0]!.values;
    assert.ok(values.every((v) => v[2].parsed?.level === 'error' && v[2].parsed.status === '500'));
    assert.ok(values.some((v) => v[2].structuredMetadata?.trace_id !== undefined));
  });

  test('query_range accepts RFC3339 and float-second times, `since`, and forward direction', async () => {
    const start = new Date(Number(BASE_NS / 1_000_000n)).toISOString();
    const r = await get(`/loki/api/v1/query_range?${qs({ query: '{app="api"}', start, end: (Number(NOW_NS / 1_000_000n) / 1000).toFixed(3), limit: 2, direction: 'forward' })}`);
    assert.equal(r.status, 200, r.body);
    const j = r.json() as { data: { result: { values: [string, string][] }[] } };
    const first = j.data.result.flatMap((s) => s.values).map((v) => BigInt(v[0])).sort((a, b) => (a < b ? -1 : 1))[0];
    assert.equal(first, BASE_NS);
    const s = await get(`/loki/api/v1/query_range?${qs({ query: '{app="api"}', since: '1h', limit: 1 })}`);
    assert.equal(s.status, 200, s.body);
  });

  test('metric query_range with step "<n>ms" returns a matrix', async () => {
    const r = await get(
      `/loki/api/v1/query_range?${qs({ query: 'sum by (app) (count_over_time({env="prod"} | logfmt | level="error" [1m]))', start: BASE_NS, end: NOW_NS, step: '60000ms' })}`,
    );
    assert.equal(r.status, 200, r.body);
    const j = r.json() as { data: { resultType: string; result: { metric: Labels; values: [number, string][] }[] } };
    assert.equal(j.data.resultType, 'matrix');
    assert.deepEqual(j.data.result.map((s) => s.metric), [{ app: 'api' }]);
    const total = j.data.result[0]!.values.reduce((n, v) => n + Number(v[1]), 0);
    assert.ok(total >= 10, `counted ${total}`);
    assert.ok(j.data.result[0]!.values.every((v) => typeof v[0] === 'number'));
  });

  test('a parse error is a plain-text 400 with line and column', async () => {
    const r = await get(`/loki/api/v1/query_range?${qs({ query: '{app="api"} | json | x == "1"', start: BASE_NS, end: NOW_NS })}`);
    assert.equal(r.status, 400);
    assert.match(r.body, /^parse error at line 1, col \d+: syntax error/);
  });

  test('a log query as an instant query is refused as Loki does', async () => {
    const r = await get(`/loki/api/v1/query?${qs({ query: '{app="api"}', time: NOW_NS })}`);
    assert.equal(r.status, 400);
    assert.match(r.body, /log queries are not supported as an instant query type/);
  });

  test('limit above max_entries_limit_per_query is a 400', async () => {
    const r = await get(`/loki/api/v1/query_range?${qs({ query: '{app="api"}', start: BASE_NS, end: NOW_NS, limit: 100000 })}`);
    assert.equal(r.status, 400);
    assert.match(r.body, /max entries limit per query exceeded/);
  });

  test('labels, label values and series', async () => {
    const labels = await get(`/loki/api/v1/labels?${qs({ start: BASE_NS, end: NOW_NS })}`);
    assert.equal(labels.status, 200, labels.body);
    assert.deepEqual((labels.json() as { data: string[] }).data, ['app', 'env']);
    const values = await get(`/loki/api/v1/label/app/values?${qs({ start: BASE_NS, end: NOW_NS })}`);
    assert.deepEqual((values.json() as { data: string[] }).data, ['api', 'web']);
    const filtered = await get(`/loki/api/v1/label/app/values?${qs({ start: BASE_NS, end: NOW_NS, query: '{app="web"}' })}`);
    assert.deepEqual((filtered.json() as { data: string[] }).data, ['web']);
    const series = await get(`/loki/api/v1/series?${qs({ 'match[]': '{env="prod"}', start: BASE_NS, end: NOW_NS })}`);
    assert.equal(series.status, 200, series.body);
    const data = (series.json() as { data: Labels[] }).data;
    assert.deepEqual(
      data.map((l) => l.app).sort(),
      ['api', 'web'],
    );
    const post = await fetch(`${url}/loki/api/v1/series`, {
      method: 'POST',
      headers: { 'X-Scope-OrgID': 'team-a', 'Content-Type': 'application/x-www-form-urlencoded' },
      body: qs({ 'match[]': '{app="api"}', start: BASE_NS, end: NOW_NS }),
    });
    assert.equal(post.status, 200);
    assert.equal(((await post.json()) as { data: Labels[] }).data.length, 1);
  });

  test('federated a|b reads add __tenant_id__', async () => {
    const r = await get(`/loki/api/v1/query_range?${qs({ query: 'sum by (__tenant_id__) (count_over_time({app="api"}[11m]))', start: NOW_NS, end: NOW_NS, step: '60s' })}`, 'team-a|team-b');
    assert.equal(r.status, 200, r.body);
    const j = r.json() as { data: { result: { metric: Labels; values: [number, string][] }[] } };
    assert.deepEqual(j.data.result.map((s) => s.metric.__tenant_id__).sort(), ['team-a', 'team-b']);
    const byTenant = Object.fromEntries(j.data.result.map((s) => [s.metric.__tenant_id__, Number(s.values[0]![1])]));
    assert.equal(byTenant['team-b'], 5);
    const labels = await get(`/loki/api/v1/labels?${qs({ start: BASE_NS, end: NOW_NS })}`, 'team-a|team-b');
    assert.ok((labels.json() as { data: string[] }).data.includes('__tenant_id__'));
    const only = await get(`/loki/api/v1/query_range?${qs({ query: '{__tenant_id__="team-b", app="api"}', start: BASE_NS, end: NOW_NS, limit: 100 })}`, 'team-a|team-b');
    const streams = (only.json() as { data: { result: { stream: Labels; values: unknown[] }[] } }).data.result;
    assert.ok(streams.length > 0);
    assert.ok(streams.every((s) => s.stream.__tenant_id__ === 'team-b'));
  });

  test('a missing tenant is a 401 with multi-tenancy on', async () => {
    const res = await fetch(`${url}/loki/api/v1/labels`);
    assert.equal(res.status, 401);
  });

  test('index/stats, index/volume and index/volume_range', async () => {
    const stats = await get(`/loki/api/v1/index/stats?${qs({ query: '{env="prod"}', start: BASE_NS, end: NOW_NS })}`);
    assert.equal(stats.status, 200, stats.body);
    const s = stats.json() as { streams: number; entries: number; bytes: number; chunks: number };
    assert.equal(s.streams, 2);
    assert.equal(s.entries, 60);
    assert.ok(s.bytes > 0);
    const vol = await get(`/loki/api/v1/index/volume?${qs({ query: '{app=~".+"}', start: BASE_NS, end: NOW_NS })}`);
    assert.equal(vol.status, 200, vol.body);
    const v = vol.json() as { data: { resultType: string; result: { metric: Labels; value: [number, string] }[] } };
    assert.equal(v.data.resultType, 'vector');
    assert.deepEqual(v.data.result.map((x) => x.metric.app).sort(), ['api', 'web']);
    assert.ok(v.data.result.every((x) => Number(x.value[1]) > 0));
    const vr = await get(`/loki/api/v1/index/volume_range?${qs({ query: '{app=~".+"}', start: BASE_NS, end: NOW_NS, step: '60s' })}`);
    assert.equal(vr.status, 200, vr.body);
    assert.equal((vr.json() as { data: { resultType: string } }).data.resultType, 'matrix');
  });

  test('index/volume_range refuses unusable steps with query_range\'s errors', async () => {
    const day = 86_400n * SEC;
    const cases: [Record<string, string | bigint>, string][] = [
      [{ step: '0' }, 'zero or negative query resolution step widths are not accepted. Try a positive integer'],
      [{ step: '-5' }, 'zero or negative query resolution step widths are not accepted. Try a positive integer'],
      [{ step: '0.001', start: NOW_NS - day }, 'exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the query resolution (?step=XX)'],
      [{ step: '1ms' }, 'exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the query resolution (?step=XX)'],
      [{ step: 'soon' }, 'invalid step'],
    ];
    for (const [params, message] of cases) {
      const r = await get(`/loki/api/v1/index/volume_range?${qs({ query: '{app=~".+"}', start: BASE_NS, end: NOW_NS, ...params })}`);
      assert.equal(r.status, 400, `${JSON.stringify(params, (_k, v: unknown) => (typeof v === 'bigint' ? String(v) : v))}: ${r.body}`);
      assert.ok(r.body.includes(message), r.body);
    }
    const q = await get(`/loki/api/v1/query_range?${qs({ query: 'count_over_time({app="api"}[1m])', start: NOW_NS - day, end: NOW_NS, step: '0.001' })}`);
    assert.equal(q.status, 400, q.body);
    assert.match(q.body, /exceeded maximum resolution of 11,000 points per timeseries/);
  });

  test('metric query_range and volume_range align an unaligned range to the step as Loki does', async () => {
    // Loki's metricQuerySplitter.alignStartEnd (pkg/querier/queryrange/splitters.go): start rounded down and
    // end rounded up to multiples of step from the epoch, then evaluated at every step in between.
    const stepNs = 60n * SEC;
    const lokiAligned = (startNs: bigint, endNs: bigint): bigint[] => {
      const s = startNs - (startNs % stepNs);
      const e = endNs % stepNs === 0n ? endNs : endNs + stepNs - (endNs % stepNs);
      const out: bigint[] = [];
      for (let t = s; t <= e; t += stepNs) out.push(t);
      return out;
    };
    const startNs = BASE_NS + 7_500_000_000n;
    const endNs = startNs + 300n * SEC + 1_234_567n;
    assert.notEqual(startNs % stepNs, 0n);
    const r = await get(`/loki/api/v1/query_range?${qs({ query: 'sum(count_over_time({app="api", env="prod"}[10m]))', start: startNs, end: endNs, step: '60s' })}`);
    assert.equal(r.status, 200, r.body);
    const series = (r.json() as { data: { result: { values: [number, string][] }[] } }).data.result;
    assert.equal(series.length, 1);
    // Entries are at BASE + 10 s·i (i < 30); a point exists where (t - 10m, t] holds any.
    const entries = Array.from({ length: 30 }, (_, i) => BASE_NS + BigInt(i) * 10n * SEC);
    const expected = lokiAligned(startNs, endNs)
      .map((t) => [t, entries.filter((e) => e > t - 600n * SEC && e <= t).length] as const)
      .filter(([, n]) => n > 0)
      .map(([t, n]) => [Number(t / 1_000_000n) / 1000, String(n)]);
    console.log(`aligned points: first ${String(expected[0]?.[0])}, last ${String(expected.at(-1)?.[0])}, ${expected.length} points`);
    assert.deepEqual(series[0]!.values, expected);
    assert.ok(series[0]!.values.every(([t]) => (t * 1000) % 60_000 === 0), 'every point on a multiple of the step');

    const vr = await get(`/loki/api/v1/index/volume_range?${qs({ query: '{app="api", env="prod"}', start: startNs, end: endNs, step: '60s' })}`);
    assert.equal(vr.status, 200, vr.body);
    const vol = (vr.json() as { data: { result: { values: [number, string][] }[] } }).data.result;
    assert.equal(vol.length, 1);
    const steps = new Set(lokiAligned(startNs, endNs).map((t) => Number(t / 1_000_000n) / 1000));
    assert.ok(vol[0]!.values.length > 0);
    for (const [t] of vol[0]!.values) assert.ok(steps.has(t), `volume point ${t} is on Loki's aligned steps`);
  });

  test('detected_labels and detected_fields', async () => {
    const dl = await get(`/loki/api/v1/detected_labels?${qs({ query: '{env="prod"}', start: BASE_NS, end: NOW_NS })}`);
    assert.equal(dl.status, 200, dl.body);
    const labels = (dl.json() as { detectedLabels: { label: string; cardinality: number }[] }).detectedLabels;
    assert.deepEqual(labels.find((l) => l.label === 'app'), { label: 'app', cardinality: 2 });
    const df = await get(`/loki/api/v1/detected_fields?${qs({ query: '{app="api"}', start: BASE_NS, end: NOW_NS })}`);
    assert.equal(df.status, 200, df.body);
    const fields = (df.json() as { fields: { label: string; type: string; parsers: string[] | null; cardinality: number }[] }).fields;
    const byName = Object.fromEntries(fields.map((f) => [f.label, f]));
    assert.deepEqual(byName.level?.parsers, ['logfmt']);
    assert.equal(byName.level?.cardinality, 2);
    assert.equal(byName.status?.type, 'int');
    assert.equal(byName.took?.type, 'duration');
    assert.equal(byName.trace_id?.parsers, null);
    const dv = await get(`/loki/api/v1/detected_field/level/values?${qs({ query: '{app="api"}', start: BASE_NS, end: NOW_NS })}`);
    assert.deepEqual((dv.json() as { values: string[] }).values, ['error', 'info']);
  });

  test('status/buildinfo; patterns and format_query are not built and answer 404 as Loki does for a disabled feature', async () => {
    const b = await get('/loki/api/v1/status/buildinfo');
    assert.equal(b.status, 200);
    assert.match((b.json() as { version: string }).version, /^3\./);
    const f = await get(`/loki/api/v1/format_query?${qs({ query: '{app="api"}|="x"' })}`);
    assert.equal(f.status, 404, f.body);
    assert.match(f.body, /format_query is not available/);
    const p = await get(`/loki/api/v1/patterns?${qs({ query: '{app="api"}', start: BASE_NS, end: NOW_NS })}`);
    assert.equal(p.status, 404, p.body);
    assert.match(p.body, /no pattern ingester/);
  });

  test('tail streams entries written after the socket opened', async () => {
    const ws = new WebSocket(`${url.replace('http', 'ws')}/loki/api/v1/tail?${qs({ query: '{app="tailme"}', start: NOW_NS - 5n * SEC })}`, {
      headers: { 'X-Scope-OrgID': 'team-a' },
    });
    const frames: { streams: { stream: Labels; values: [string, string][] }[] }[] = [];
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    ws.on('message', (data: Buffer) => frames.push(JSON.parse(data.toString()) as (typeof frames)[number]));
    const t0 = BigInt(Date.now()) * 1_000_000n;
    await write('team-a', { app: 'tailme' }, [
      { ts: t0, line: 'first' },
      { ts: t0 + 1n, line: 'second' },
    ]);
    const deadline = Date.now() + GENEROUS_MS; // the loop ends when the frames arrive
    while (frames.flatMap((f) => f.streams.flatMap((s) => s.values)).length < 2 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 50));
    }
    await write('team-a', { app: 'tailme' }, [{ ts: t0 + 2n, line: 'third' }]);
    while (frames.flatMap((f) => f.streams.flatMap((s) => s.values)).length < 3 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 50));
    }
    ws.close();
    const lines = frames.flatMap((f) => f.streams.flatMap((s) => s.values.map((v) => v[1])));
    assert.deepEqual(lines, ['first', 'second', 'third']);
    assert.deepEqual(frames[0]?.streams[0]?.stream, { app: 'tailme' });
  });

  test('tail refuses a metric query and several tenants with a 400 before upgrading', async () => {
    for (const [query, tenant] of [
      ['count_over_time({app="x"}[1m])', 'team-a'],
      ['{app="x"}', 'team-a|team-b'],
    ] as const) {
      const ws = new WebSocket(`${url.replace('http', 'ws')}/loki/api/v1/tail?${qs({ query })}`, { headers: { 'X-Scope-OrgID': tenant } });
      const status = await new Promise<number>((resolve) => {
        ws.once('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
        ws.once('open', () => resolve(101));
        ws.once('error', () => resolve(-1));
      });
      ws.terminate();
      assert.equal(status, 400, `${query} as ${tenant}`);
    }
  });
});

describe('Loki tail under overload', () => {
  let small: FastifyInstance;
  let smallUrl: string;

  before(async () => {
    // One poll may read at most 10 entries (max_entries_limit_per_query): more at once is an overload.
    const config = configSchema.parse({ logs: { query: { max_entries_limit_per_query: 10 } } });
    small = Fastify({ logger: false });
    const tenants = new TenantResolver({ multitenancy: true, fromNamespace: false, defaultTenant: 'anonymous', namespaceMap: {} });
    const smallEngine = new LogqlEngine({ maxEntriesLimitPerQuery: 10 });
    await registerLokiApi(small, { queryable: store, engine: new InProcessLogQueryEngine(smallEngine), logqlEngine: smallEngine, tenants, config: config.logs, logger: pino({ level: 'silent' }), tailPollIntervalMs: 100 });
    smallUrl = await small.listen({ host: '127.0.0.1', port: 0 });
  });

  after(async () => {
    await small?.close();
  });

  test('entries a poll cannot deliver are reported in dropped_entries (labels, timestamp), as Loki does', async () => {
    const ws = new WebSocket(`${smallUrl.replace('http', 'ws')}/loki/api/v1/tail?${qs({ query: '{app="flood"}', limit: 5 })}`, { headers: { 'X-Scope-OrgID': 'team-a' } });
    const frames: { streams: { values: [string, string][] }[]; dropped_entries: { labels: string; timestamp: string }[] | null }[] = [];
    ws.on('message', (data: Buffer) => frames.push(JSON.parse(data.toString()) as (typeof frames)[number]));
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    // Let the first (empty) history read pass, then write 40 entries at once.
    await new Promise((r) => setTimeout(r, 300));
    const t0 = BigInt(Date.now()) * 1_000_000n;
    await write('team-a', { app: 'flood' }, Array.from({ length: 40 }, (_, i) => ({ ts: t0 + BigInt(i), line: `flood ${i}` })));
    const accounted = (): number =>
      frames.reduce((n, f) => n + f.streams.reduce((m, s) => m + s.values.length, 0) + (f.dropped_entries?.length ?? 0), 0);
    const deadline = Date.now() + 20_000;
    while (accounted() < 40 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    ws.close();
    const delivered = frames.flatMap((f) => f.streams.flatMap((s) => s.values.map((v) => v[1])));
    const dropped = frames.flatMap((f) => f.dropped_entries ?? []);
    assert.ok(dropped.length > 0, 'some entries were dropped');
    assert.equal(delivered.length + dropped.length, 40, `delivered ${delivered.length}, dropped ${dropped.length}`);
    assert.ok(dropped.every((d) => d.labels === '{app="flood"}' && BigInt(d.timestamp) >= t0), JSON.stringify(dropped.slice(0, 2)));
    // Delivered entries are in order and none twice.
    assert.deepEqual(delivered, [...new Set(delivered)]);
    assert.deepEqual(delivered, [...delivered].sort((a, b) => Number(a.split(' ')[1]) - Number(b.split(' ')[1])));
  });
});
