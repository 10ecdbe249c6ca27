// The Prometheus/Mimir query API over real storage and a real HTTP server on loopback: every endpoint,
// the envelope, Prometheus' parameter errors, form POST, tenancy and federated (`a|b`) reads.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import Fastify from 'fastify';
import type { FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { registerPrometheusApi } from '../../src/api/prometheus/index.ts';
import { configSchema } from '../../src/config/index.ts';
import { PooledMetricQueryEngine, QueryWorkerPool } from '../../src/query/index.ts';
import type { MetricRecord, TenantId } from '../../src/model/index.ts';
import type { MetricsStorage } from '../../src/storage/index.ts';
import { TenantResolver } from '../../src/tenant/index.ts';
import { Tsdb } from '../../src/tsdb/index.ts';
import { tsdbConfigOptions } from '../../src/app/engine-options.ts';

const STEP_MS = 15_000;
/** Sample times: 40 points at 15 s ending a minute ago, aligned to the step. */
const END_MS = Math.floor((Date.now() - 60_000) / STEP_MS) * STEP_MS;
const START_MS = END_MS - 39 * STEP_MS;
const sec = (ms: number): string => String(ms / 1000);

interface Env {
  url: string;
  storage: Tsdb;
  app: FastifyInstance;
  dir: string;
  pool: QueryWorkerPool;
}

async function startApi(multitenancy: boolean): Promise<Env> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'heimdall-promapi-'));
  const config = configSchema.parse({ data_dir: dir, multitenancy });
  const storage = await Tsdb.open({ dir: path.join(dir, 'metrics'), ...tsdbConfigOptions(config.metrics )});
  const app = Fastify();
  // The real query path: PromQL evaluated on worker threads reading this thread's TSDB.
  const pool = new QueryWorkerPool({ workers: 2, workerHeapBytes: 512 * 1024 * 1024, maxConcurrentPerTenant: 4, maxQueuedPerTenant: 100, queueTimeoutMs: 60_000, cancelGraceMs: 5_000 });
  await registerPrometheusApi(app, {
    queryable: storage,
    engine: new PooledMetricQueryEngine(pool, {
      lookbackDeltaMs: config.metrics.query.lookback_delta,
      maxSamples: config.metrics.query.max_samples,
      timeoutMs: config.metrics.query.timeout,
    }),
    tenants: new TenantResolver({ multitenancy, fromNamespace: false, defaultTenant: 'default', namespaceMap: {} }),
    config: config.metrics,
    logger: pino({ level: 'silent' }),
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const addr = app.server.address();
  const port = typeof addr === 'object' && addr ? addr.port : 0;
  return { url: `http://127.0.0.1:${port}/prometheus/api/v1`, storage, app, dir, pool };
}

async function stopApi(env: Env): Promise<void> {
  await env.app.close();
  await env.pool.close();
  await env.storage.close();
  rmSync(env.dir, { recursive: true, force: true });
}

function series(labels: Record<string, string>, value: (i: number) => number, extra: Partial<MetricRecord> = {}): MetricRecord {
  const samples = [];
  for (let t = START_MS, i = 0; t <= END_MS; t += STEP_MS, i++) samples.push({ timestampMs: t, value: value(i) });
  return { labels, samples, ...extra };
}

async function write(storage: MetricsStorage, tenant: string, records: MetricRecord[]): Promise<void> {
  const app = storage.appender(tenant as TenantId);
  for (const r of records) {
    const out = app.append(r);
    assert.deepEqual(out.rejections, [], `append ${JSON.stringify(r.labels)}`);
  }
  await app.commit();
}

interface Envelope<T = unknown> {
  status: string;
  data: T;
  errorType?: string;
  error?: string;
  warnings?: string[];
  infos?: string[];
}

async function get(url: string, params: Record<string, string | string[]> = {}, headers: Record<string, string> = {}) {
  const u = new URL(url);
  for (const [k, v] of Object.entries(params)) for (const x of [v].flat()) u.searchParams.append(k, x);
  const res = await fetch(u, { headers });
  return { status: res.status, body: (await res.json()) as Envelope, contentType: res.headers.get('content-type') };
}

async function post(url: string, params: Record<string, string | string[]>, headers: Record<string, string> = {}) {
  const body = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) for (const x of [v].flat()) body.append(k, x);
  const res = await fetch(url, { method: 'POST', body, headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers } });
  return { status: res.status, body: (await res.json()) as Envelope };
}

const UP_A = { __name__: 'up', job: 'api', instance: 'a:9090' };
const UP_B = { __name__: 'up', job: 'api', instance: 'b:9090' };
const UP_DB = { __name__: 'up', job: 'db', instance: 'c:5432' };
const REQS = { __name__: 'http_requests_total', job: 'api', instance: 'a:9090', code: '200' };
const DOTTED = { __name__: 'otel_metric', 'http.route': '/x', job: 'otel' };

describe('single tenant', () => {
  let env: Env;
  before(async () => {
    env = await startApi(false);
    await write(env.storage, 'anonymous', [
      series(UP_A, () => 1),
      series(UP_B, () => 1),
      series(UP_DB, (i) => (i % 2 === 0 ? 1 : 0)),
      series(REQS, (i) => i * 10, {
        exemplars: [{ labels: { trace_id: 'abc123' }, value: 6, timestampMs: END_MS - STEP_MS }],
        metadata: { type: 'counter', help: 'Requests served.', unit: '' },
      }),
      series(DOTTED, () => 2, { metadata: { type: 'gauge', help: 'An OTel gauge.', unit: 'seconds' } }),
    ]);
  });
  after(() => stopApi(env));

  test('Grafana health probe: instant 1+1 answers scalar 2', async () => {
    const r = await get(`${env.url}/query`, { query: '1+1', time: '1700000000.5' });
    assert.equal(r.status, 200);
    assert.deepEqual(r.body, { status: 'success', data: { resultType: 'scalar', result: [1700000000.5, '2'] } });
    const p = await post(`${env.url}/query`, { query: '1+1' });
    assert.equal((p.body.data as { result: [number, string] }).result[1], '2');
  });

  test('instant query: vector of the latest samples, GET and POST, RFC 3339 time', async () => {
    const r = await get(`${env.url}/query`, { query: 'up{job="api"}', time: sec(END_MS) });
    assert.equal(r.status, 200);
    assert.deepEqual(r.body.data, {
      resultType: 'vector',
      result: [
        { metric: UP_A, value: [END_MS / 1000, '1'] },
        { metric: UP_B, value: [END_MS / 1000, '1'] },
      ],
    });
    const p = await post(`${env.url}/query`, { query: 'sum(http_requests_total)', time: new Date(END_MS).toISOString() });
    assert.deepEqual(p.body.data, { resultType: 'vector', result: [{ metric: {}, value: [END_MS / 1000, '390'] }] });
    const limited = await get(`${env.url}/query`, { query: 'up', time: sec(END_MS), limit: '1' });
    assert.equal((limited.body.data as { result: unknown[] }).result.length, 1);
    assert.deepEqual(limited.body.warnings, ['results truncated due to limit']);
  });

  test('range query: matrix over GET and form POST, float and duration steps', async () => {
    const params = { query: 'http_requests_total', start: sec(END_MS - 60_000), end: sec(END_MS) };
    const r = await get(`${env.url}/query_range`, { ...params, step: '30' });
    assert.equal(r.status, 200);
    const expected = {
      resultType: 'matrix',
      result: [
        {
          metric: REQS,
          values: [
            [(END_MS - 60_000) / 1000, '350'],
            [(END_MS - 30_000) / 1000, '370'],
            [END_MS / 1000, '390'],
          ],
        },
      ],
    };
    assert.deepEqual(r.body.data, expected);
    const p = await post(`${env.url}/query_range`, { ...params, step: '30s' });
    assert.deepEqual(p.body.data, expected);
    const rate = await post(`${env.url}/query_range`, { query: 'rate(http_requests_total[1m])', start: sec(END_MS), end: sec(END_MS), step: '15' });
    const row = (rate.body.data as { result: { values: [number, string][] }[] }).result[0]!;
    assert.equal(Number(row.values[0]![1]), 10 / 15);
  });

  test('range query: Prometheus parameter errors', async () => {
    const base = { query: 'up', start: sec(START_MS), end: sec(END_MS), step: '15' };
    const cases: [Record<string, string>, string][] = [
      [{ ...base, start: 'x' }, 'invalid parameter "start": cannot parse "x" to a valid timestamp'],
      [{ ...base, end: 'y' }, 'invalid parameter "end": cannot parse "y" to a valid timestamp'],
      [{ ...base, end: sec(START_MS - 1000) }, 'invalid parameter "end": end timestamp must not be before start time'],
      [{ query: 'up', start: sec(START_MS), end: sec(END_MS) }, 'invalid parameter "step": cannot parse "" to a valid duration'],
      [{ ...base, step: '0' }, 'invalid parameter "step": zero or negative query resolution step widths are not accepted. Try a positive integer'],
      [{ ...base, step: '-15' }, 'invalid parameter "step": zero or negative query resolution step widths are not accepted. Try a positive integer'],
      [{ ...base, start: '0', end: '11001', step: '1' }, 'exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the query resolution (?step=XX)'],
      [{ ...base, timeout: 'soon' }, 'invalid parameter "timeout": cannot parse "soon" to a valid duration'],
      [{ ...base, limit: 'many' }, 'invalid parameter "limit": strconv.Atoi: parsing "many": invalid syntax'],
      [{ ...base, query: 'up[5m]' }, 'invalid parameter "query": invalid expression type "range vector" for range query, must be Scalar or instant Vector'],
    ];
    for (const [params, message] of cases) {
      const r = await get(`${env.url}/query_range`, params);
      assert.equal(r.status, 400, message);
      assert.deepEqual(r.body, { status: 'error', errorType: 'bad_data', error: message });
    }
    const ok = await get(`${env.url}/query_range`, { ...base, start: '0', end: '11000', step: '1', query: '1' });
    assert.equal(ok.status, 200);
  });

  test('instant query: parse errors are bad_data with a position, evaluation errors are 422 execution', async () => {
    const parse = await get(`${env.url}/query`, { query: 'sum(up' });
    assert.equal(parse.status, 400);
    assert.equal(parse.body.errorType, 'bad_data');
    assert.match(parse.body.error!, /^invalid parameter "query": 1:\d+: parse error: /);
    const empty = await post(`${env.url}/query`, {});
    assert.equal(empty.status, 400);
    assert.match(empty.body.error!, /^invalid parameter "query": 1:1: parse error: no expression found in input/);
    const badTime = await get(`${env.url}/query`, { query: 'up', time: 'noon' });
    assert.equal(badTime.body.error, `invalid parameter "time": invalid time value for 'time': cannot parse "noon" to a valid timestamp`);
    const exec = await get(`${env.url}/query`, { query: 'up * on(job) up', time: sec(END_MS) });
    assert.equal(exec.status, 422);
    assert.equal(exec.body.errorType, 'execution');
    assert.match(exec.body.error!, /many-to-many matching not allowed/);
  });

  test('queries report PromQL annotations as infos and warnings', async () => {
    const info = await get(`${env.url}/query`, { query: 'rate(up[5m])', time: sec(END_MS) });
    assert.equal(info.status, 200);
    assert.ok(info.body.infos?.some((s) => s.startsWith('PromQL info: metric might not be a counter')), JSON.stringify(info.body));
    const warn = await get(`${env.url}/query`, { query: 'histogram_quantile(0.9, up)', time: sec(END_MS) });
    assert.ok(warn.body.warnings?.some((s) => s.startsWith('PromQL warning:')), JSON.stringify(warn.body));
  });

  test('a POST body of an unknown type is refused in the envelope', async () => {
    const res = await fetch(`${env.url}/query`, { method: 'POST', body: 'query=1', headers: { 'content-type': 'application/x-unknown' } });
    assert.equal(res.status, 415);
    const body = (await res.json()) as Envelope;
    assert.equal(body.status, 'error');
    assert.equal(body.errorType, 'bad_data');
  });

  test('status/buildinfo reports the version and advertises no Mimir feature it does not serve', async () => {
    const { status, body, contentType } = await get(`${env.url}/status/buildinfo`);
    assert.equal(status, 200);
    assert.match(contentType ?? '', /application\/json/);
    const data = body.data as Record<string, unknown>;
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
    assert.equal(body.status, 'success');
    assert.equal(data.version, pkg.version);
    // A `features` object makes Grafana treat the source as Mimir and look for its ruler API (404 here).
    assert.equal(data.features, undefined);
    for (const k of ['revision', 'branch', 'buildUser', 'buildDate', 'goVersion']) assert.equal(typeof data[k], 'string', k);
  });

  test('labels: all names, with match[], GET and POST, limit with a warning', async () => {
    const all = await get(`${env.url}/labels`);
    assert.equal(all.status, 200);
    assert.deepEqual(all.body.data, ['__name__', 'code', 'http.route', 'instance', 'job']);
    assert.equal(all.body.warnings, undefined);

    const matched = await get(`${env.url}/labels`, { 'match[]': 'up', start: sec(START_MS), end: sec(END_MS) });
    assert.deepEqual(matched.body.data, ['__name__', 'instance', 'job']);

    const union = await post(`${env.url}/labels`, { 'match[]': ['up{job="db"}', 'http_requests_total'] });
    assert.equal(union.status, 200);
    assert.deepEqual(union.body.data, ['__name__', 'code', 'instance', 'job']);

    const limited = await get(`${env.url}/labels`, { limit: '2' });
    assert.deepEqual(limited.body.data, ['__name__', 'code']);
    assert.deepEqual(limited.body.warnings, ['results truncated due to limit']);
  });

  test('labels: outside the stored time range there is nothing', async () => {
    const r = await get(`${env.url}/labels`, { start: sec(END_MS + 3_600_000), end: sec(END_MS + 7_200_000) });
    assert.deepEqual(r.body.data, []);
  });

  test('label values: metric names, a label with match[], escaped names, limit', async () => {
    const names = await get(`${env.url}/label/__name__/values`);
    assert.deepEqual(names.body.data, ['http_requests_total', 'otel_metric', 'up']);

    const jobs = await get(`${env.url}/label/job/values`, { 'match[]': 'up' });
    assert.deepEqual(jobs.body.data, ['api', 'db']);

    const instances = await get(`${env.url}/label/instance/values`, { 'match[]': ['up{job="db"}', 'http_requests_total'] });
    assert.deepEqual(instances.body.data, ['a:9090', 'c:5432']);

    const dotted = await get(`${env.url}/label/U__http_2e_route/values`);
    assert.deepEqual(dotted.body.data, ['/x']);

    const none = await get(`${env.url}/label/nosuchlabel/values`);
    assert.deepEqual(none.body, { status: 'success', data: [] });

    const limited = await get(`${env.url}/label/instance/values`, { limit: '1' });
    assert.deepEqual(limited.body.data, ['a:9090']);
    assert.deepEqual(limited.body.warnings, ['results truncated due to limit']);
  });

  test('series: union of match[] sets, sorted, GET and POST, limit', async () => {
    const r = await get(`${env.url}/series`, { 'match[]': ['up{job="api"}', 'http_requests_total'], start: sec(START_MS), end: sec(END_MS) });
    assert.equal(r.status, 200);
    assert.deepEqual(r.body.data, [REQS, UP_A, UP_B]);

    const p = await post(`${env.url}/series`, { 'match[]': ['{job=~"d.*"}'] });
    assert.deepEqual(p.body.data, [UP_DB]);

    const overlap = await get(`${env.url}/series`, { 'match[]': ['up', '{instance="a:9090"}'] });
    assert.deepEqual(overlap.body.data, [REQS, UP_A, UP_B, UP_DB]);

    const limited = await get(`${env.url}/series`, { 'match[]': 'up', limit: '2' });
    assert.deepEqual(limited.body.data, [UP_A, UP_B]);
    assert.deepEqual(limited.body.warnings, ['results truncated due to limit']);
  });

  test('series: Prometheus parameter errors', async () => {
    const missing = await get(`${env.url}/series`);
    assert.equal(missing.status, 400);
    assert.deepEqual(missing.body, { status: 'error', errorType: 'bad_data', error: 'no match[] parameter provided' });

    const bad = await get(`${env.url}/series`, { 'match[]': 'up{' });
    assert.equal(bad.status, 400);
    assert.equal(bad.body.errorType, 'bad_data');
    assert.match(bad.body.error!, /^invalid parameter "match\[\]": 1:\d+: parse error: /);

    const empty = await get(`${env.url}/series`, { 'match[]': '{job=~".*"}' });
    assert.equal(empty.status, 400);
    assert.equal(empty.body.error, 'invalid parameter "match[]": 1:1: parse error: vector selector must contain at least one non-empty matcher');

    const badTime = await get(`${env.url}/series`, { 'match[]': 'up', start: 'yesterday' });
    assert.equal(badTime.status, 400);
    assert.equal(badTime.body.error, `invalid parameter "start": invalid time value for 'start': cannot parse "yesterday" to a valid timestamp`);

    const badLimit = await get(`${env.url}/series`, { 'match[]': 'up', limit: '-3' });
    assert.equal(badLimit.body.error, 'invalid parameter "limit": limit must be non-negative');

    const rfc = await get(`${env.url}/series`, {
      'match[]': 'up{job="db"}',
      start: new Date(START_MS).toISOString(),
      end: new Date(END_MS).toISOString(),
    });
    assert.deepEqual(rfc.body.data, [UP_DB]);
  });

  test('labels: a bad match[] is bad_data without the parameter prefix, as in Prometheus', async () => {
    const r = await get(`${env.url}/labels`, { 'match[]': '{job=~".*"}' });
    assert.equal(r.status, 400);
    assert.deepEqual(r.body, {
      status: 'error',
      errorType: 'bad_data',
      error: '1:1: parse error: vector selector must contain at least one non-empty matcher',
    });
  });

  test('metadata: all, one metric, limit, limit_per_metric, errors', async () => {
    const all = await get(`${env.url}/metadata`);
    assert.deepEqual(all.body.data, {
      http_requests_total: [{ type: 'counter', help: 'Requests served.', unit: '' }],
      otel_metric: [{ type: 'gauge', help: 'An OTel gauge.', unit: 'seconds' }],
    });
    const one = await get(`${env.url}/metadata`, { metric: 'otel_metric' });
    assert.deepEqual(Object.keys(one.body.data as object), ['otel_metric']);
    const limited = await get(`${env.url}/metadata`, { limit: '1' });
    assert.equal(Object.keys(limited.body.data as object).length, 1);
    const zero = await get(`${env.url}/metadata`, { limit: '0' });
    assert.deepEqual(zero.body.data, {});
    const perMetric = await get(`${env.url}/metadata`, { limit_per_metric: '1' });
    assert.equal(Object.keys(perMetric.body.data as object).length, 2);
    const bad = await get(`${env.url}/metadata`, { limit: 'x' });
    assert.equal(bad.status, 400);
    assert.deepEqual(bad.body, { status: 'error', errorType: 'bad_data', error: 'limit must be a number' });
    const badPer = await get(`${env.url}/metadata`, { limit_per_metric: 'x' });
    assert.equal(badPer.body.error, 'limit_per_metric must be a number');
  });

  test('query_exemplars: selectors of the query, values as strings, seconds timestamps', async () => {
    const r = await get(`${env.url}/query_exemplars`, {
      query: 'sum(rate(http_requests_total{job="api"}[5m]))',
      start: sec(START_MS),
      end: sec(END_MS),
    });
    assert.equal(r.status, 200);
    assert.deepEqual(r.body.data, [
      { seriesLabels: REQS, exemplars: [{ labels: { trace_id: 'abc123' }, value: '6', timestamp: (END_MS - STEP_MS) / 1000 }] },
    ]);
    const p = await post(`${env.url}/query_exemplars`, { query: 'up' });
    assert.deepEqual(p.body.data, []);
    const outside = await get(`${env.url}/query_exemplars`, { query: 'http_requests_total', start: sec(END_MS), end: sec(END_MS + 1000) });
    assert.deepEqual(outside.body.data, []);
    const bad = await get(`${env.url}/query_exemplars`, { query: 'sum(' });
    assert.equal(bad.status, 400);
    assert.equal(bad.body.errorType, 'bad_data');
    const order = await get(`${env.url}/query_exemplars`, { query: 'up', start: '10', end: '5' });
    assert.equal(order.body.error, 'end timestamp must not be before start timestamp');
  });
});

describe('multi-tenant and federated reads', () => {
  let env: Env;
  const A = { __name__: 'up', job: 'shop', instance: 'a' };
  const B = { __name__: 'up', job: 'bank', instance: 'b' };
  before(async () => {
    env = await startApi(true);
    await write(env.storage, 'team-a', [series(A, () => 1, { exemplars: [{ labels: { trace_id: 'aa' }, value: 1, timestampMs: END_MS }] })]);
    await write(env.storage, 'team-b', [series(B, () => 0, { exemplars: [{ labels: { trace_id: 'bb' }, value: 2, timestampMs: END_MS }] })]);
  });
  after(() => stopApi(env));

  test('a read without X-Scope-OrgID is a 401 in the envelope with an authentication error type', async () => {
    const r = await get(`${env.url}/labels`);
    assert.equal(r.status, 401);
    assert.deepEqual(r.body, { status: 'error', errorType: 'unauthenticated', error: 'no org id' });
    const bad = await get(`${env.url}/labels`, {}, { 'X-Scope-OrgID': 'bad/tenant' });
    assert.equal(bad.status, 400);
  });

  test('buildinfo needs no tenant', async () => {
    const r = await get(`${env.url}/status/buildinfo`);
    assert.equal(r.status, 200);
  });

  test('one tenant sees only its series, without __tenant_id__', async () => {
    const r = await get(`${env.url}/series`, { 'match[]': 'up' }, { 'X-Scope-OrgID': 'team-a' });
    assert.deepEqual(r.body.data, [A]);
    const names = await get(`${env.url}/labels`, {}, { 'X-Scope-OrgID': 'team-b' });
    assert.deepEqual(names.body.data, ['__name__', 'instance', 'job']);
  });

  test('federated series, labels and label values carry __tenant_id__', async () => {
    const h = { 'X-Scope-OrgID': 'team-a|team-b' };
    const s = await get(`${env.url}/series`, { 'match[]': 'up' }, h);
    assert.deepEqual(s.body.data, [
      { ...A, __tenant_id__: 'team-a' },
      { ...B, __tenant_id__: 'team-b' },
    ]);
    const names = await get(`${env.url}/labels`, {}, h);
    assert.deepEqual(names.body.data, ['__name__', '__tenant_id__', 'instance', 'job']);
    const tenants = await get(`${env.url}/label/__tenant_id__/values`, {}, h);
    assert.deepEqual(tenants.body.data, ['team-a', 'team-b']);
    const jobs = await get(`${env.url}/label/job/values`, {}, h);
    assert.deepEqual(jobs.body.data, ['bank', 'shop']);
  });

  test('a __tenant_id__ matcher picks tenants in federated reads', async () => {
    const h = { 'X-Scope-OrgID': 'team-a|team-b' };
    const s = await post(`${env.url}/series`, { 'match[]': 'up{__tenant_id__="team-b"}' }, h);
    assert.deepEqual(s.body.data, [{ ...B, __tenant_id__: 'team-b' }]);
    const only = await get(`${env.url}/series`, { 'match[]': '{__tenant_id__=~"team-a"}' }, h);
    assert.deepEqual(only.body.data, [{ ...A, __tenant_id__: 'team-a' }]);
    const jobs = await get(`${env.url}/label/job/values`, { 'match[]': '{__tenant_id__!="team-a", job=~".+"}' }, h);
    assert.deepEqual(jobs.body.data, ['bank']);
    const tenants = await get(`${env.url}/label/__tenant_id__/values`, { 'match[]': 'up{job="shop"}' }, h);
    assert.deepEqual(tenants.body.data, ['team-a']);
  });

  test('federated queries see every tenant, labelled, and can pick tenants', async () => {
    const h = { 'X-Scope-OrgID': 'team-a|team-b' };
    const r = await get(`${env.url}/query`, { query: 'sum by (__tenant_id__) (up)', time: sec(END_MS) }, h);
    assert.equal(r.status, 200);
    assert.deepEqual(r.body.data, {
      resultType: 'vector',
      result: [
        { metric: { __tenant_id__: 'team-a' }, value: [END_MS / 1000, '1'] },
        { metric: { __tenant_id__: 'team-b' }, value: [END_MS / 1000, '0'] },
      ],
    });
    const one = await post(`${env.url}/query`, { query: 'up{__tenant_id__="team-b"}', time: sec(END_MS) }, h);
    assert.deepEqual((one.body.data as { result: { metric: unknown }[] }).result.map((x) => x.metric), [{ ...B, __tenant_id__: 'team-b' }]);
    const single = await get(`${env.url}/query`, { query: 'up', time: sec(END_MS) }, { 'X-Scope-OrgID': 'team-a' });
    assert.deepEqual((single.body.data as { result: { metric: unknown }[] }).result.map((x) => x.metric), [A]);
    const health = await get(`${env.url}/query`, { query: '1+1' }, h);
    assert.equal((health.body.data as { result: [number, string] }).result[1], '2');
  });

  test('large answers are gzip-compressed when the client accepts it', async () => {
    const records = Array.from({ length: 400 }, (_, i) => series({ __name__: 'wide_metric', shard: `shard-${String(i).padStart(4, '0')}` }, () => i));
    await write(env.storage, 'team-c', records);
    const u = `${env.url}/series?match[]=wide_metric`;
    const zipped = await fetch(u, { headers: { 'X-Scope-OrgID': 'team-c', 'Accept-Encoding': 'gzip' } });
    assert.equal(zipped.headers.get('content-encoding'), 'gzip');
    assert.equal(((await zipped.json()) as Envelope<unknown[]>).data.length, 400);
    const plain = await fetch(u, { headers: { 'X-Scope-OrgID': 'team-c', 'Accept-Encoding': 'identity' } });
    assert.equal(plain.headers.get('content-encoding'), null);
    assert.equal(((await plain.json()) as Envelope<unknown[]>).data.length, 400);
    // A range query's matrix travels as bytes from the query worker to the socket: the same answer both ways.
    const range = `${env.url}/query_range?${new URLSearchParams({ query: 'wide_metric', start: sec(START_MS), end: sec(END_MS), step: '15' })}`;
    const rangeZipped = await fetch(range, { headers: { 'X-Scope-OrgID': 'team-c', 'Accept-Encoding': 'gzip' } });
    assert.equal(rangeZipped.headers.get('content-encoding'), 'gzip');
    const rangePlain = await fetch(range, { headers: { 'X-Scope-OrgID': 'team-c', 'Accept-Encoding': 'identity' } });
    assert.equal(rangePlain.headers.get('content-encoding'), null);
    const [a, b] = [(await rangeZipped.json()) as Envelope<{ result: { values: unknown[] }[] }>, (await rangePlain.json()) as Envelope<{ result: { values: unknown[] }[] }>];
    assert.deepEqual(a, b);
    assert.equal(a.data.result.length, 400);
    assert.equal(a.data.result[7]!.values.length, 40);
  });

  test('federated exemplars carry __tenant_id__', async () => {
    const r = await get(`${env.url}/query_exemplars`, { query: 'up' }, { 'X-Scope-OrgID': 'team-b|team-a' });
    assert.deepEqual(
      (r.body.data as { seriesLabels: Record<string, string> }[]).map((s) => s.seriesLabels.__tenant_id__),
      ['team-a', 'team-b'],
    );
  });
});
