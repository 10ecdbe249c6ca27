import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { tsdbConfigOptions } from '../app/engine-options.ts';
import { configSchema } from '../config/index.ts';
import type { Span, SpanRecord, TenantId } from '../model/index.ts';
import { PromqlEngine } from '../promql/index.ts';
import { Tsdb } from '../tsdb/index.ts';
import { MetricsGenerator } from './generator.ts';
import { DEFAULT_PEER_ATTRIBUTES, DEFAULT_SERVICE_GRAPH_BUCKETS, DEFAULT_SPAN_METRICS_BUCKETS } from './settings.ts';
import type { GeneratorSettings, TenantGeneratorSettings } from './settings.ts';
import { teeCommittedSpans } from './tee.ts';

const A = 'gen-a' as TenantId;
const B = 'gen-b' as TenantId;
const T0 = 1_700_000_000_000;
let now = T0;
let dir: string;
let db: Tsdb;
const engine = new PromqlEngine({ maxSamples: 1_000_000 });

const tenantSettings: TenantGeneratorSettings = {
  processors: ['span-metrics', 'service-graphs'],
  spanMetricsDimensions: ['http.method'],
  spanMetricsBuckets: DEFAULT_SPAN_METRICS_BUCKETS,
  serviceGraphDimensions: [],
  serviceGraphBuckets: DEFAULT_SERVICE_GRAPH_BUCKETS,
  peerAttributes: DEFAULT_PEER_ATTRIBUTES,
};
const settings: GeneratorSettings = {
  collectionIntervalMs: 15_000,
  staleMs: 15 * 60_000,
  edgeWaitMs: 10_000,
  maxEdges: 3,
  tenant: (t) => (t === B ? { ...tenantSettings, processors: [] } : tenantSettings),
};

before(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'heimdall-metricsgen-'));
  const config = configSchema.parse({ metrics: { limits: { creation_grace_period: '10000d', retention_period: 0 } } }).metrics;
  db = await Tsdb.open({ dir, ...tsdbConfigOptions(config), memoryLimitBytes: 64 * 1024 * 1024, threads: 1, now: () => now, maintenanceIntervalMs: 0 });
});

after(async () => {
  await db.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

const TRACE = 'ab'.repeat(16);
function span(id: number, over: Partial<Span>): Span {
  return {
    traceId: TRACE,
    spanId: id.toString(16).padStart(16, '0'),
    name: 'op',
    kind: 1,
    startTimeUnixNs: 0n,
    endTimeUnixNs: 50_000_000n,
    attributes: [],
    statusCode: 0,
    scope: { name: 's' },
    ...over,
  };
}
const svc = (service: string, ...spans: Span[]): SpanRecord => ({ resource: [{ key: 'service.name', value: service }], spans });

async function value(tenant: TenantId, expr: string): Promise<Record<string, number>> {
  const r = await engine.instant(db, [tenant], expr, now);
  assert.equal(r.value.type, 'vector');
  const out: Record<string, number> = {};
  if (r.value.type === 'vector') for (const s of r.value.samples) out[JSON.stringify(s.labels)] = s.value!;
  return out;
}

test('span metrics and service graphs from committed spans land in the tenant metrics store with trace_id exemplars', async () => {
  const gen = new MetricsGenerator(settings, db, (t, err) => assert.fail(`${t}: ${String(err)}`), () => now);
  // the traces "store" here is a sink that commits: the tee hands over only after a commit resolves
  const sink = { appender: () => ({ append: (r: SpanRecord) => ({ accepted: r.spans.length, rejections: [] }), commit: async () => ({ records: 1 }), rollback: () => {} }) };
  const traces = teeCommittedSpans(sink, (t, recs) => gen.consume(t, recs));
  const write = async (tenant: TenantId, recs: SpanRecord[], commit = true): Promise<void> => {
    const app = traces.appender(tenant);
    for (const r of recs) app.append(r);
    if (commit) await app.commit();
    else app.rollback();
  };
  await write(A, [
    svc('frontend',
      span(1, { kind: 2, name: 'GET /', attributes: [{ key: 'http.method', value: 'GET' }] }), // root server: user → frontend
      span(2, { kind: 3, name: 'call backend', parentSpanId: '0000000000000001', endTimeUnixNs: 300_000_000n }),
      span(3, { kind: 3, name: 'query', parentSpanId: '0000000000000001', attributes: [{ key: 'db.name', value: 'orders' }] }),
      span(4, { kind: 3, name: 'call nobody', parentSpanId: '0000000000000001' }),
      span(5, { kind: 3, name: 'call cache', parentSpanId: '0000000000000001', attributes: [{ key: 'peer.service', value: 'redis' }] })),
  ]);
  await write(A, [svc('backend', span(6, { kind: 2, name: 'handle', parentSpanId: '0000000000000002', statusCode: 2, endTimeUnixNs: 250_000_000n }))]);
  await write(A, [svc('ghost', span(7, { kind: 2, parentSpanId: '0000000000000099' }))], false);
  await write(B, [svc('other', span(8, { kind: 2 }))]);
  now += 11_000;
  await gen.collect();

  const calls = await value(A, 'sum by (service, span_name, span_kind, status_code) (traces_spanmetrics_calls_total)');
  assert.equal(calls[JSON.stringify({ service: 'frontend', span_kind: 'SPAN_KIND_SERVER', span_name: 'GET /', status_code: 'STATUS_CODE_UNSET' })], 1);
  assert.equal(calls[JSON.stringify({ service: 'backend', span_kind: 'SPAN_KIND_SERVER', span_name: 'handle', status_code: 'STATUS_CODE_ERROR' })], 1);
  assert.equal(Object.keys(calls).length, 6, 'the rolled-back span is not counted');
  assert.deepEqual(await value(A, 'count(traces_spanmetrics_calls_total{http_method="GET"})'), { '{}': 1 });
  assert.deepEqual(await value(A, 'sum(traces_spanmetrics_latency_bucket{le="0.064"})'), { '{}': 4 });
  assert.deepEqual(await value(A, 'sum(traces_spanmetrics_latency_count)'), { '{}': 6 });

  const edges = await value(A, 'sum by (client, server, connection_type) (traces_service_graph_request_total)');
  assert.deepEqual(edges, {
    [JSON.stringify({ client: 'frontend', server: 'backend' })]: 1, // an empty connection_type is no label
    [JSON.stringify({ client: 'user', connection_type: 'virtual_node', server: 'frontend' })]: 1,
    [JSON.stringify({ client: 'frontend', connection_type: 'database', server: 'orders' })]: 1,
    [JSON.stringify({ client: 'frontend', connection_type: 'virtual_node', server: 'redis' })]: 1,
  });
  assert.deepEqual(await value(A, 'sum by (client, server) (traces_service_graph_request_failed_total)'), {
    [JSON.stringify({ client: 'frontend', server: 'backend' })]: 1,
  });
  assert.deepEqual(await value(A, 'sum(traces_service_graph_request_server_seconds_bucket{client="frontend",server="backend",le="0.4"})'), { '{}': 1 });
  assert.deepEqual(await value(A, 'sum(traces_service_graph_request_client_seconds_sum{client="frontend",server="backend"})'), { '{}': 0.3 });
  assert.deepEqual(await value(B, 'count(traces_spanmetrics_calls_total)'), {}, 'a tenant with the processors off gets nothing');

  const stats = gen.stats().get(A)!;
  assert.equal(stats.edges.expired, 1, 'the client span nobody answered and without a peer');
  assert.equal(stats.pendingEdges, 0);

  const ex = await db.exemplars([A], { startMs: now - 60_000, endMs: now + 60_000 }, [[{ name: '__name__', op: '=', value: 'traces_spanmetrics_calls_total' }]]);
  assert.ok(ex.length > 0 && ex.every((s) => s.exemplars.every((e) => e.labels.trace_id === TRACE)), JSON.stringify(ex));

  // A series' first collection writes a 0 before its value (as Tempo's generator does), so an edge seen once has a rate.
  const once = 'traces_service_graph_request_total{client="frontend",server="backend"}';
  assert.deepEqual(await value(A, `sum(count_over_time(${once}[2m]))`), { '{}': 2 });
  assert.deepEqual(await value(A, `sum(increase(${once}[2m])) > bool 0`), { '{}': 1 });
  assert.deepEqual(await value(A, 'sum(count_over_time(traces_spanmetrics_latency_count{service="backend"}[2m]))'), { '{}': 2 });
  now += 15_000;
  await gen.collect();
  assert.deepEqual(await value(A, `sum(count_over_time(${once}[2m]))`), { '{}': 3 }, 'later collections write no 0');
  await gen.stop();
});

test('unpaired edges past max_items are dropped and counted', () => {
  const gen = new MetricsGenerator(settings, db, () => {}, () => now);
  gen.consume(A, [svc('c', ...[10, 11, 12, 13, 14].map((i) => span(i, { kind: 3, parentSpanId: '0000000000000001' })))]);
  const s = gen.stats().get(A)!;
  assert.equal(s.pendingEdges, 3);
  assert.equal(s.edges.dropped, 2);
});
