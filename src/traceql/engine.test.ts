// The TraceQL engine over the real trace store (a temporary directory): searches and metrics queries end to end
// through the TraceQueryable seam, checked against hand-computed answers for a small corpus.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { traceStoreConfigOptions } from '../app/engine-options.ts';
import { configSchema } from '../config/index.ts';
import { HeimdallError } from '../model/index.ts';
import type { Attribute, Span, SpanRecord, TenantId } from '../model/index.ts';
import { TraceStore } from '../tracestore/index.ts';
import { TraceqlEngine } from './engine.ts';
import { TraceqlError } from './errors.ts';
import { jsonText } from '../storage/index.ts';

const T = 'tq-tenant' as TenantId;
const SEC = 1_000_000_000n;
const MS = 1_000_000n;
/** About a quarter hour ago, on a multiple of 4 minutes (so 60 s and 240 s steps align on it): the corpus's origin. */
const T0 = ((BigInt(Date.now()) * MS) / (240n * SEC) - 4n) * 240n * SEC;
const RANGE = { startNs: T0 - 60n * SEC, endNs: T0 + 600n * SEC };

let dir: string;
let store: TraceStore;
const engine = new TraceqlEngine();

function tid(n: number): string {
  return `00000000000000000000000000${n.toString(16).padStart(6, '0')}`;
}
function sid(n: number, i: number): string {
  return `${n.toString(16).padStart(8, '0')}${i.toString(16).padStart(8, '0')}`;
}

interface Spec {
  readonly i: number;
  readonly parent?: number;
  readonly svc: string;
  readonly name: string;
  readonly startMs: number;
  readonly durMs: number;
  readonly error?: boolean;
  readonly kind?: Span['kind'];
  readonly attrs?: Attribute[];
  readonly events?: Span['events'];
}

/** Writes trace n (spans as specified, relative to T0 + offsetSec) and returns its id. */
async function writeTrace(n: number, offsetSec: number, specs: Spec[]): Promise<string> {
  const base = T0 + BigInt(offsetSec) * SEC;
  const byService = new Map<string, Span[]>();
  for (const s of specs) {
    const start = base + BigInt(s.startMs) * MS;
    const span: Span = {
      traceId: tid(n),
      spanId: sid(n, s.i),
      ...(s.parent === undefined ? {} : { parentSpanId: sid(n, s.parent) }),
      name: s.name,
      kind: s.kind ?? 2,
      startTimeUnixNs: start,
      endTimeUnixNs: start + BigInt(s.durMs) * MS,
      attributes: s.attrs ?? [],
      statusCode: s.error ? 2 : 0,
      ...(s.error ? { statusMessage: 'boom' } : {}),
      ...(s.events ? { events: s.events } : {}),
      scope: { name: 'lib', version: '1.2.3' },
    };
    const list = byService.get(s.svc) ?? [];
    list.push(span);
    byService.set(s.svc, list);
  }
  const app = store.appender(T);
  for (const [svc, spans] of byService) {
    const rec: SpanRecord = { resource: [{ key: 'service.name', value: svc }], spans };
    const out = app.append(rec);
    assert.equal(out.rejections.length, 0);
  }
  await app.commit();
  return tid(n);
}

before(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'heimdall-traceql-'));
  store = await TraceStore.open({ dir, ...traceStoreConfigOptions(configSchema.parse({}).traces), threads: 1, memoryLimitBytes: 256 * 1024 ** 2, background: false });
  // Trace 1 (t=1s): frontend GET / → auth → db (error), frontend → cache.
  await writeTrace(1, 1, [
    { i: 1, svc: 'frontend', name: 'GET /', startMs: 0, durMs: 300, attrs: [{ key: 'http.status_code', value: 200 }, { key: 'tags', value: ['x', 'y'] }] },
    { i: 2, parent: 1, svc: 'auth', name: 'check', startMs: 10, durMs: 100, kind: 3 },
    { i: 3, parent: 2, svc: 'db', name: 'SELECT', startMs: 20, durMs: 50, error: true, attrs: [{ key: 'db.system', value: 'postgresql' }], events: [{ timeUnixNs: T0 + SEC + 30n * MS, name: 'exception', attributes: [{ key: 'exception.message', value: 'deadlock found' }] }] },
    { i: 4, parent: 1, svc: 'cache', name: 'GET key', startMs: 150, durMs: 5 },
  ]);
  // Trace 2 (t=61s): frontend POST /orders → db; both ok.
  await writeTrace(2, 61, [
    { i: 1, svc: 'frontend', name: 'POST /orders', startMs: 0, durMs: 2_000, attrs: [{ key: 'http.status_code', value: 201 }] },
    { i: 2, parent: 1, svc: 'db', name: 'INSERT', startMs: 100, durMs: 1_500, attrs: [{ key: 'db.system', value: 'postgresql' }] },
  ]);
  // Trace 3 (t=121s): a lone api span with a 500.
  await writeTrace(3, 121, [{ i: 1, svc: 'api', name: 'GET /health', startMs: 0, durMs: 1, error: true, attrs: [{ key: 'http.status_code', value: 500 }] }]);
  // Trace 4 (t=181s): worker spans whose root has not arrived.
  await writeTrace(4, 181, [
    { i: 2, parent: 1, svc: 'worker', name: 'job', startMs: 0, durMs: 10 },
    { i: 3, parent: 2, svc: 'worker', name: 'step', startMs: 1, durMs: 2 },
  ]);
  // engine-blocks.test.ts runs this file again with every trace cut into Parquet blocks first.
  if (process.env.HEIMDALL_TEST_TRACES_IN_BLOCKS === '1') {
    await store.flush();
    assert.equal(store.headBytes, 0);
  }
});

after(async () => {
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

interface SearchTrace {
  traceID: string;
  rootServiceName: string;
  rootTraceName?: string;
  startTimeUnixNano: string;
  durationMs: number;
  spanSets: { spans: { spanID: string; name: string; attributes?: { key: string; value: Record<string, unknown> }[] }[]; matched: number; attributes?: { key: string; value: Record<string, unknown> }[] }[];
  spanSet: unknown;
  serviceStats: Record<string, { spanCount: number; errorCount?: number }>;
}

async function search(query: string, opts: { limit?: number; spss?: number } = {}): Promise<{ traces: SearchTrace[]; metrics: Record<string, unknown> }> {
  const res = await engine.search(store, [T], { query, ...RANGE, limit: opts.limit ?? 20, spansPerSpanSet: opts.spss ?? 3 });
  return JSON.parse(jsonText(res.dataJson)) as { traces: SearchTrace[]; metrics: Record<string, unknown> };
}

async function ids(query: string): Promise<string[]> {
  return (await search(query)).traces.map((t) => t.traceID);
}

/** The span ids of the first spanset of each matching trace. */
async function spanIds(query: string): Promise<string[]> {
  return (await search(query, { spss: 0 })).traces.flatMap((t) => t.spanSets.flatMap((s) => s.spans.map((x) => x.spanID))).sort();
}

const id = (n: number): string => tid(n).replace(/^0+/, '');

test('search: every trace, newest first, Tempo JSON shape', async () => {
  const r = await search('{}');
  assert.deepEqual(r.traces.map((t) => t.traceID), [id(4), id(3), id(2), id(1)]);
  const t1 = r.traces[3]!;
  assert.equal(t1.rootServiceName, 'frontend');
  assert.equal(t1.rootTraceName, 'GET /');
  assert.equal(t1.startTimeUnixNano, String(T0 + SEC));
  assert.equal(t1.durationMs, 300);
  assert.deepEqual(t1.serviceStats, { frontend: { spanCount: 1 }, auth: { spanCount: 1 }, db: { spanCount: 1, errorCount: 1 }, cache: { spanCount: 1 } });
  assert.equal(t1.spanSets[0]!.matched, 4);
  assert.equal(t1.spanSets[0]!.spans.length, 3, 'spss caps the spans shown');
  assert.deepEqual(t1.spanSet, t1.spanSets[0]);
  assert.equal(r.traces[0]!.rootServiceName, '<root span not yet received>');
  assert.equal(r.metrics.inspectedTraces, 4);
  assert.deepEqual((await search('{}', { limit: 2 })).traces.map((t) => t.traceID), [id(4), id(3)]);
});

test('search: attribute and intrinsic filters, regex fully anchored, arrays, nil', async () => {
  assert.deepEqual(await ids('{ resource.service.name = "db" }'), [id(2), id(1)]);
  assert.deepEqual(await ids('{ span.http.status_code >= 200 && span.http.status_code < 300 }'), [id(2), id(1)]);
  assert.deepEqual(await ids('{ status = error }'), [id(3), id(1)]);
  assert.deepEqual(await ids('{ name =~ "GET" }'), [], 'anchored: GET alone matches no name');
  assert.deepEqual(await ids('{ name =~ "GET.*" }'), [id(3), id(1)]);
  assert.deepEqual(await ids('{ .tags = "y" }'), [id(1)], 'array: any element');
  assert.deepEqual(await ids('{ .tags != "y" }'), [], 'array: no element');
  assert.deepEqual(await ids('{ span.db.system != nil }'), [id(2), id(1)]);
  assert.deepEqual(await ids('{ kind = client }'), [id(1)]);
  assert.deepEqual(await ids('{ duration > 1s }'), [id(2)]);
  assert.deepEqual(await ids('{ trace:duration > 1s }'), [id(2)]);
  assert.deepEqual(await ids('{ trace:rootService = "frontend" && name = "INSERT" }'), [id(2)]);
  assert.deepEqual(await ids(`{ trace:id = "${tid(3)}" }`), [id(3)]);
  assert.deepEqual(await ids('{ statusMessage = "boom" && span.http.status_code = 500 }'), [id(3)]);
  assert.deepEqual(await ids('{ event.exception.message =~ ".*deadlock.*" && event:name = "exception" }'), [id(1)]);
  assert.deepEqual(await ids('{ instrumentation:name = "lib" && instrumentation:version = "1.2.3" }'), [id(4), id(3), id(2), id(1)]);
  assert.deepEqual(await ids('{ span:childCount = 2 }'), [id(1)]);
  assert.deepEqual(await ids('{ nestedSetParent = -1 && resource.service.name = "worker" }'), [id(4)], 'an orphan is a root of the nested set');
  assert.deepEqual(await ids('{ span.http.status_code > 10 * 20 }'), [id(3), id(2)], 'arithmetic');
});

test('search: spansets within a trace (&&, ||) and structural operators', async () => {
  assert.deepEqual(await ids('{ resource.service.name = "auth" } && { resource.service.name = "cache" }'), [id(1)]);
  assert.deepEqual(await ids('{ resource.service.name = "api" } || { resource.service.name = "cache" }'), [id(3), id(1)]);
  assert.deepEqual(await ids('{ resource.service.name = "frontend" && resource.service.name = "db" }'), []);
  // Trace 1: 1 frontend → 2 auth → 3 db(error); 1 → 4 cache.
  assert.deepEqual(await spanIds('{ resource.service.name = "frontend" } >> { status = error }'), [sid(1, 3)]);
  assert.deepEqual(await spanIds('{ resource.service.name = "frontend" } > { status = error }'), []);
  assert.deepEqual(await spanIds('{ resource.service.name = "auth" } > { }'), [sid(1, 3)]);
  assert.deepEqual(await spanIds('{ status = error } < { }'), [sid(1, 2)]);
  assert.deepEqual(await spanIds('{ status = error } << { }'), [sid(1, 1), sid(1, 2)]);
  assert.deepEqual(await spanIds('{ resource.service.name = "cache" } ~ { }'), [sid(1, 2)]);
  // Leaves without a parent among the left spans: none in traces 1 and 2 (every span is on the left there).
  assert.deepEqual(await spanIds('{ trace:rootService = "frontend" } !> { span:childCount = 0 }'), [sid(3, 1), sid(4, 3)]);
  assert.deepEqual(await spanIds('{ name = "GET /" } &>> { status = error }'), [sid(1, 1), sid(1, 3)]);
  assert.deepEqual(await spanIds('{ } !< { resource.service.name = "db" }'), [sid(1, 3), sid(2, 2)].sort(), 'leaf db spans');
});

test('search: pipelines with aggregates, by(), select(), coalesce()', async () => {
  assert.deepEqual(await ids('{ } | count() > 3'), [id(1)]);
  assert.deepEqual(await ids('{ } | avg(duration) > 1s'), [id(2)]);
  assert.deepEqual(await ids('{ } | max(span.http.status_code) = 500'), [id(3)]);
  assert.deepEqual(await ids('{ } | sum(duration) >= 3.5s'), [id(2)]);
  const grouped = await search('{ trace:rootService = "frontend" } | by(resource.service.name) | count() > 0');
  const t1 = grouped.traces.find((t) => t.traceID === id(1))!;
  assert.equal(t1.spanSets.length, 4);
  const keys = t1.spanSets.map((s) => s.attributes!.find((a) => a.key === 'by(resource.service.name)')!.value.stringValue).sort();
  assert.deepEqual(keys, ['auth', 'cache', 'db', 'frontend']);
  assert.deepEqual(await ids('{ } | by(resource.service.name) | count() > 1 | coalesce()'), [id(4)]);
  const sel = await search('{ status = error } | select(span.http.status_code, resource.service.name)');
  const t3 = sel.traces.find((t) => t.traceID === id(3))!;
  const attrs = Object.fromEntries(t3.spanSets[0]!.spans[0]!.attributes!.map((a) => [a.key, a.value]));
  assert.deepEqual(attrs, { status: { stringValue: 'error' }, 'http.status_code': { intValue: '500' }, 'service.name': { stringValue: 'api' } });
});

test('search: errors are bad_data with Tempo wording; metrics queries are refused', async () => {
  await assert.rejects(search('{ .a = '), (e: unknown) => e instanceof TraceqlError && e.kind === 'bad_data' && /^parse error at line 1, col 8/.test(e.message));
  await assert.rejects(search('{ .a =~ "(" }'), (e: unknown) => e instanceof TraceqlError && /invalid regex/.test(e.message));
  await assert.rejects(search('{} | rate()'), (e: unknown) => e instanceof HeimdallError && e.kind === 'bad_data');
});

test('search: a cancelled query rejects with canceled', async () => {
  const ac = new AbortController();
  ac.abort();
  await assert.rejects(
    engine.search(store, [T], { query: '{}', ...RANGE, limit: 20, spansPerSpanSet: 3 }, { signal: ac.signal }),
    (e: unknown) => e instanceof HeimdallError && e.kind === 'canceled',
  );
});

interface RangeSeries {
  labels: { key: string; value: Record<string, unknown> }[];
  samples: { timestampMs: string; value: number | string }[];
  exemplars?: { labels: { key: string; value: Record<string, unknown> }[]; value: number | string; timestampMs: string }[];
}

async function range(query: string, stepSec = 60, exemplars = 0): Promise<RangeSeries[]> {
  const res = await engine.range(store, [T], { query, startNs: T0, endNs: T0 + 240n * SEC, stepNs: BigInt(stepSec) * SEC, exemplars });
  return (JSON.parse(jsonText(res.dataJson)) as { series: RangeSeries[] }).series;
}

function label(s: RangeSeries, key: string): unknown {
  const v = s.labels.find((l) => l.key === key)?.value;
  return v === undefined ? undefined : Object.values(v)[0];
}

/** Samples as [seconds after T0, value]. */
function points(s: RangeSeries): [number, number | string][] {
  return s.samples.map((p) => [Number((BigInt(p.timestampMs) * MS - T0) / SEC), p.value]);
}

test('metrics: count_over_time and rate per interval, by() labels', async () => {
  // Intervals are (T0+k*60s, T0+(k+1)*60s], stamped at their end.
  const [all] = await range('{ } | count_over_time()');
  assert.equal(label(all!, '__name__'), 'count_over_time');
  assert.deepEqual(points(all!), [[60, 4], [120, 2], [180, 1], [240, 2]]);
  const rate = await range('{ status = error } | rate() by (resource.service.name)');
  assert.deepEqual(rate.map((s) => [label(s, 'resource.service.name'), points(s).filter(([, v]) => v !== 0)]), [
    ['api', [[180, 1 / 60]]],
    ['db', [[60, 1 / 60]]],
  ]);
});

test('metrics: a filtered span count storage computes answers as the engine evaluating traces does', async () => {
  // `&& true` keeps a query out of storage's count (it is not a plain condition): the engine assembles traces.
  const queries = [
    '{ span.http.status_code >= 500 } | rate() by (resource.service.name)',
    '{ resource.service.name = "db" && status = error } | count_over_time()',
    '{ name =~ "GET.*" } | count_over_time() by (resource.service.name)',
    '{ kind = client } | rate()',
    '{ span.db.system != nil } | count_over_time() by (span.db.system)',
    '{ span.tags = "x" } | count_over_time()',
  ];
  const strip = (series: RangeSeries[]): unknown => series.map((x) => ({ labels: x.labels, samples: x.samples }));
  const run = async (query: string): Promise<{ series: RangeSeries[]; metrics: { inspectedTraces: number } }> =>
    JSON.parse(jsonText((await engine.range(store, [T], { query, startNs: T0, endNs: T0 + 240n * SEC, stepNs: 60n * SEC, exemplars: 2 })).dataJson)) as {
      series: RangeSeries[];
      metrics: { inspectedTraces: number };
    };
  for (const q of queries) {
    const counted = await run(q);
    const assembled = await run(q.replace(' } |', ' && true } |'));
    assert.ok(counted.series.length > 0, q);
    assert.ok(assembled.metrics.inspectedTraces > 0, `${q}: the engine assembled traces`);
    // Storage counted (no trace assembled), except where an array attribute in blocks makes it read traces.
    if (!q.includes('tags')) assert.equal(counted.metrics.inspectedTraces, 0, `${q}: storage counted`);
    assert.deepEqual(strip(counted.series), strip(assembled.series), q);
  }
});

test('metrics: *_over_time of durations in seconds, quantiles, histograms', async () => {
  const [mx] = await range('{ resource.service.name = "db" } | max_over_time(duration)');
  assert.deepEqual(points(mx!), [[60, 0.05], [120, 1.5]]);
  const [avg] = await range('{ resource.service.name = "frontend" } | avg_over_time(duration)', 240);
  assert.deepEqual(points(avg!), [[240, 1.15]]);
  const q = await range('{ } | quantile_over_time(duration, 0.5, 1)', 240);
  assert.deepEqual(q.map((s) => label(s, 'p')), [0.5, 1]);
  // Durations in power-of-two ns buckets: p100 is the bucket bound over 2 s, 2^31 ns.
  assert.equal(points(q[1]!)[0]![1], 2 ** 31 / 1e9);
  const h = await range('{ resource.service.name = "db" } | histogram_over_time(duration)', 240);
  assert.deepEqual(h.map((s) => [label(s, '__bucket'), points(s)[0]![1]]), [[2 ** 26 / 1e9, 1], [2 ** 31 / 1e9, 1]]);
});

test('metrics: second stages, arithmetic between queries, exemplars, instant', async () => {
  const top = await range('{ } | count_over_time() by (resource.service.name) | topk(1)', 240);
  assert.equal(top.length, 1, 'one interval: topk(1) keeps one series');
  assert.ok(['frontend', 'db', 'worker'].includes(label(top[0]!, 'resource.service.name') as string), 'one of the three with 2 spans');
  const filtered = await range('{ } | count_over_time() by (resource.service.name) > 1', 240);
  assert.deepEqual(filtered.map((s) => label(s, 'resource.service.name')).sort(), ['db', 'frontend', 'worker']);
  const ratio = await range('({ status = error } | count_over_time()) / ({ } | count_over_time())', 240);
  assert.deepEqual(points(ratio[0]!), [[240, 2 / 9]]);
  const scaled = await range('({ status = error } | count_over_time()) * 100', 240);
  assert.deepEqual(points(scaled[0]!), [[240, 200]]);
  const ex = await range('{ resource.service.name = "db" } | max_over_time(duration)', 60, 5);
  const e = ex[0]!.exemplars!;
  assert.equal(e.length, 2);
  assert.deepEqual(e.map((x) => x.labels.find((l) => l.key === 'trace:id')!.value.stringValue), [tid(1), tid(2)]);
  assert.deepEqual(e.map((x) => x.value), [0.05, 1.5]);
  const inst = await engine.instant(store, [T], { query: '{ } | count_over_time() by (resource.service.name)', startNs: T0, endNs: T0 + 240n * SEC });
  const series = (JSON.parse(jsonText(inst.dataJson)) as { series: { labels: RangeSeries['labels']; value: number }[] }).series;
  assert.deepEqual(series.map((s) => [Object.values(s.labels[0]!.value)[0], s.value]), [['api', 1], ['auth', 1], ['cache', 1], ['db', 2], ['frontend', 2], ['worker', 2]]);
});

test('metrics: compare() splits selection and baseline per attribute value', async () => {
  const res = await range('{ } | compare({ status = error })', 240);
  const find = (type: string, key: string, value: string): RangeSeries | undefined =>
    res.find((s) => label(s, '__meta_type') === type && label(s, key) === value);
  assert.equal(points(find('selection', 'resource.service.name', 'db')!)[0]![1], 1);
  assert.equal(points(find('baseline', 'resource.service.name', 'db')!)[0]![1], 1);
  assert.equal(find('selection', 'resource.service.name', 'frontend'), undefined);
});
