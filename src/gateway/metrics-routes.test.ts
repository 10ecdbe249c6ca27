import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { Metadata, Server, ServerCredentials, credentials, makeGenericClientConstructor, status as GrpcStatus } from '@grpc/grpc-js';
import type { ServiceError } from '@grpc/grpc-js';
import Fastify from 'fastify';
import type { FastifyInstance } from 'fastify';
import { pino } from 'pino';
import protobuf from 'protobufjs';
import snappy from 'snappy';
import { configSchema } from '../config/index.ts';
import { decodeOtlpMetricsJson } from '../ingest/otlp-metrics.ts';
import { ExportMetricsServiceRequest, ExportMetricsServiceResponse, METRICS_EXPORT_GRPC_PATH } from '../ingest/otlp-metrics-proto.ts';
import type { LabelMatcher, TenantId } from '../model/index.ts';
import { SelfMetrics } from '../selfobs/index.ts';
import type { MetricsStorage, SeriesData } from '../storage/index.ts';
import { TenantResolver } from '../tenant/index.ts';
import { Tsdb } from '../tsdb/index.ts';
import { registerMetricsIngest } from './metrics-routes.ts';
import { UNSUPPORTED_OTLP_SIGNALS, registerUnsupportedOtlp } from './otlp-unsupported.ts';
import { InflightBudget } from './inflight-budget.ts';
import type { GatewayDeps } from './ingest-pipeline.ts';
import { groupRejections } from './rejection-report.ts';
import { tsdbConfigOptions } from '../app/engine-options.ts';

const protoDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../proto/prometheus');
const WriteRequest = protobuf.loadSync(path.join(protoDir, 'remote.proto')).lookupType('prometheus.WriteRequest');
const V2Request = protobuf.loadSync(path.join(protoDir, 'io/prometheus/write/v2/types.proto')).lookupType('io.prometheus.write.v2.Request');

const NOW = 1_700_000_000_000;
const T = (s: string) => s as TenantId;

interface Env {
  http: FastifyInstance;
  otlpHttp: FastifyInstance;
  grpc: Server;
  grpcAddress: string;
  db: Tsdb;
  selfMetrics: SelfMetrics;
  dir: string;
}

async function startEnv(opts: { multitenancy: boolean; fromNamespace?: boolean; maxBytes?: string; storage?: MetricsStorage }): Promise<Env> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'heimdall-metrics-routes-'));
  const config = configSchema.parse({
    multitenancy: opts.multitenancy,
    tenancy: { from_namespace: opts.fromNamespace ?? false, default_tenant: 'default' },
    metrics: { max_decompressed_bytes: opts.maxBytes ?? '1MiB' },
  });
  const db = await Tsdb.open({ dir, ...tsdbConfigOptions(config.metrics), now: () => NOW, maintenanceIntervalMs: 0 });
  const http = Fastify();
  const otlpHttp = Fastify();
  const grpc = new Server();
  const selfMetrics = new SelfMetrics();
  const tenants = new TenantResolver({
    multitenancy: config.multitenancy,
    fromNamespace: config.tenancy.from_namespace,
    defaultTenant: config.tenancy.default_tenant,
    namespaceMap: config.tenancy.namespace_map,
  });
  const deps: GatewayDeps = {
    http,
    otlpHttp,
    grpc,
    tenants,
    selfMetrics,
    logger: pino({ level: 'silent' }),
    inflight: new InflightBudget(config.server.max_inflight_push_bytes),
  };
  await registerMetricsIngest(deps, opts.storage ?? db, config.metrics.max_decompressed_bytes);
  for (const signal of UNSUPPORTED_OTLP_SIGNALS) await registerUnsupportedOtlp(deps, signal);
  await http.listen({ host: '127.0.0.1', port: 0 });
  await otlpHttp.listen({ host: '127.0.0.1', port: 0 });
  const port = await new Promise<number>((resolve, reject) =>
    grpc.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
  );
  return { http, otlpHttp, grpc, grpcAddress: `127.0.0.1:${port}`, db, selfMetrics, dir };
}

async function stopEnv(env: Env): Promise<void> {
  await env.http.close();
  await env.otlpHttp.close();
  env.grpc.forceShutdown();
  await env.db.close();
  fs.rmSync(env.dir, { recursive: true, force: true });
}

function url(app: FastifyInstance, p: string): string {
  const a = app.server.address();
  if (a === null || typeof a === 'string') throw new Error('not listening');
  return `http://127.0.0.1:${a.port}${p}`;
}

async function select(db: Tsdb, tenant: string, matchers: LabelMatcher[]): Promise<SeriesData[]> {
  const q = await db.querier([T(tenant)], { startMs: 0, endMs: NOW * 2 });
  const out: SeriesData[] = [];
  for await (const batch of q.select(matchers)) out.push(...batch);
  await q.close();
  return out;
}

const eq = (name: string, value: string): LabelMatcher => ({ op: '=', name, value });
const lbl = (name: string, value: string) => ({ name, value });

function rw1(timeseries: unknown[], metadata: unknown[] = []): Buffer {
  return snappy.compressSync(Buffer.from(WriteRequest.encode(WriteRequest.fromObject({ timeseries, metadata })).finish()));
}

function postRw(env: Env, body: Buffer, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(url(env.http, '/api/v1/push'), {
    method: 'POST',
    body,
    headers: {
      'content-type': 'application/x-protobuf',
      'content-encoding': 'snappy',
      'x-prometheus-remote-write-version': '0.1.0',
      ...headers,
    },
  });
}

async function discarded(env: Env, reason: string, tenant: string): Promise<number> {
  const m = await env.selfMetrics.discardedRecords.get();
  return m.values.find((v) => v.labels.reason === reason && v.labels.tenant === tenant)?.value ?? 0;
}

let single: Env;
before(async () => {
  single = await startEnv({ multitenancy: false });
});
after(async () => {
  await stopEnv(single);
});

test('remote_write 1.0: samples are stored, metadata kept, 204', async () => {
  const res = await postRw(single, rw1(
    [{ labels: [lbl('__name__', 'up'), lbl('job', 'node')], samples: [{ value: 1, timestamp: NOW - 1000 }, { value: 0, timestamp: NOW }] }],
    [{ type: 2, metricFamilyName: 'up', help: 'Target up.', unit: '' }],
  ));
  assert.equal(res.status, 204, await res.text());
  const s = await select(single.db, 'anonymous', [eq('__name__', 'up')]);
  assert.equal(s.length, 1);
  assert.deepEqual([...s[0]!.values], [1, 0]);
  const md = await single.db.metadata([T('anonymous')], 'up');
  assert.deepEqual(md.get('up'), [{ type: 'gauge', help: 'Target up.', unit: '' }]);
});

test('remote_write 1.0: partial rejection commits the good series and answers 400 with grouped reasons', async () => {
  const before = await discarded(single, 'missing_metric_name', 'anonymous');
  const res = await postRw(single, rw1([
    { labels: [lbl('job', 'x')], samples: [{ value: 1, timestamp: NOW }, { value: 2, timestamp: NOW + 1 }] },
    { labels: [lbl('job', 'y')], samples: [{ value: 1, timestamp: NOW }] },
    { labels: [lbl('__name__', 'good_total'), lbl('job', 'x')], samples: [{ value: 5, timestamp: NOW }] },
  ]));
  assert.equal(res.status, 400);
  const body = await res.text();
  assert.match(body, /^3× missing_metric_name: received series has no metric name/);
  assert.equal((await select(single.db, 'anonymous', [eq('__name__', 'good_total')])).length, 1);
  assert.equal((await discarded(single, 'missing_metric_name', 'anonymous')) - before, 3);
});

test('remote_write 2.0: written headers, 415 for an unknown proto, 400 for a malformed body', async () => {
  const body = snappy.compressSync(Buffer.from(V2Request.encode(V2Request.fromObject({
    symbols: ['', '__name__', 'rw2_metric', 'job', 'a', 'trace_id', 't1'],
    timeseries: [
      { labelsRefs: [1, 2, 3, 4], samples: [{ value: 1, timestamp: NOW }, { value: 2, timestamp: NOW + 15_000 }], exemplars: [{ labelsRefs: [5, 6], value: 2, timestamp: NOW }] },
      { labelsRefs: [1, 2, 3, 5], histograms: [{ countInt: 1, sum: 1, schema: 0, zeroCountInt: 1, timestamp: NOW }] },
    ],
  })).finish()));
  const ct = 'application/x-protobuf;proto=io.prometheus.write.v2.Request';
  const res = await postRw(single, body, { 'content-type': ct, 'x-prometheus-remote-write-version': '2.0.0' });
  assert.equal(res.status, 204, await res.text());
  assert.equal(res.headers.get('x-prometheus-remote-write-samples-written'), '2');
  assert.equal(res.headers.get('x-prometheus-remote-write-histograms-written'), '1');
  assert.equal(res.headers.get('x-prometheus-remote-write-exemplars-written'), '1');
  // A retried request (exact duplicates) is written in full, as Prometheus counts it; otherwise it would
  // count the samples as failed.
  const floats = snappy.compressSync(Buffer.from(V2Request.encode(V2Request.fromObject({
    symbols: ['', '__name__', 'rw2_retried', 'job', 'a', 'b'],
    timeseries: [
      { labelsRefs: [1, 2, 3, 4], samples: [{ value: 1, timestamp: NOW }] },
      { labelsRefs: [1, 2, 3, 5], samples: [{ value: 2, timestamp: NOW }] },
    ],
  })).finish()));
  for (let attempt = 0; attempt < 2; attempt++) {
    const r = await postRw(single, floats, { 'content-type': ct, 'x-prometheus-remote-write-version': '2.0.0' });
    assert.equal(r.status, 204, await r.text());
    assert.equal(r.headers.get('x-prometheus-remote-write-samples-written'), '2', `attempt ${attempt}`);
  }

  const bad = await postRw(single, body, { 'content-type': 'application/x-protobuf;proto=io.prometheus.write.v3.Request' });
  assert.equal(bad.status, 415);
  assert.match(await bad.text(), /io\.prometheus\.write\.v3\.Request/);

  const garbage = await postRw(single, snappy.compressSync(Buffer.from([0x0a, 0xff, 0xff, 0x0f])));
  assert.equal(garbage.status, 400);
  assert.match(await garbage.text(), /cannot decode prometheus\.WriteRequest/);
});

test('a decompression bomb is refused with 413 naming the setting', async () => {
  const bomb = gzipSync(Buffer.alloc(8 * 1024 * 1024));
  const res = await postRw(single, bomb, { 'content-encoding': 'gzip' });
  assert.equal(res.status, 413);
  assert.match(await res.text(), /metrics\.max_decompressed_bytes/);
  const otlp = await fetch(url(single.otlpHttp, '/v1/metrics'), {
    method: 'POST',
    body: bomb,
    headers: { 'content-type': 'application/x-protobuf', 'content-encoding': 'gzip' },
  });
  assert.equal(otlp.status, 413);
  const status = protobuf.Reader.create(new Uint8Array(await otlp.arrayBuffer()));
  assert.equal(status.uint32(), (1 << 3) | 0);
  assert.equal(status.int32(), 8, 'google.rpc.Status RESOURCE_EXHAUSTED');
});

function otlpBody(name: string, value: number, extraResource: { key: string; value: { stringValue: string } }[] = []): Uint8Array {
  return ExportMetricsServiceRequest.encode(ExportMetricsServiceRequest.fromObject({
    resourceMetrics: [{
      resource: { attributes: [{ key: 'service.name', value: { stringValue: 'svc' } }, ...extraResource] },
      scopeMetrics: [{
        metrics: [
          { name, unit: 'By', sum: { aggregationTemporality: 2, isMonotonic: true, dataPoints: [{ timeUnixNano: String(NOW * 1e6), asDouble: value }] } },
          { name: `${name}.delta`, sum: { aggregationTemporality: 1, isMonotonic: true, dataPoints: [{ timeUnixNano: String(NOW * 1e6), asDouble: 1 }] } },
        ],
      }],
    }],
  })).finish();
}

test('OTLP/HTTP protobuf and JSON on both listeners, partial_success for refused points', async () => {
  const proto = await fetch(url(single.otlpHttp, '/v1/metrics'), {
    method: 'POST',
    body: gzipSync(otlpBody('otlp.bytes', 42)),
    headers: { 'content-type': 'application/x-protobuf', 'content-encoding': 'gzip' },
  });
  assert.equal(proto.status, 200);
  assert.equal(proto.headers.get('content-type'), 'application/x-protobuf');
  const decoded = ExportMetricsServiceResponse.toObject(ExportMetricsServiceResponse.decode(new Uint8Array(await proto.arrayBuffer())), { longs: Number });
  assert.equal(decoded.partialSuccess.rejectedDataPoints, 1);
  assert.match(decoded.partialSuccess.errorMessage, /1× unsupported: invalid temporality/);
  const stored = await select(single.db, 'anonymous', [eq('__name__', 'otlp_bytes_total')]);
  assert.deepEqual(stored.map((s) => [s.labels['job'], [...s.values]]), [['svc', [42]]]);

  const json = await fetch(url(single.http, '/otlp/v1/metrics'), {
    method: 'POST',
    body: fs.readFileSync('/work/shared/fixtures/otlp/metrics.json'),
    headers: { 'content-type': 'application/json' },
  });
  assert.equal(json.status, 200);
  const fixtureRejections = decodeOtlpMetricsJson(fs.readFileSync('/work/shared/fixtures/otlp/metrics.json')).rejections;
  assert.deepEqual(await json.json(), {
    partialSuccess: { rejectedDataPoints: '3', errorMessage: groupRejections(fixtureRejections) },
  });

  const unsupported = await fetch(url(single.otlpHttp, '/v1/metrics'), { method: 'POST', body: 'x', headers: { 'content-type': 'text/plain' } });
  assert.equal(unsupported.status, 415);

  const malformed = await fetch(url(single.otlpHttp, '/v1/metrics'), { method: 'POST', body: '{"resourceMetrics":', headers: { 'content-type': 'application/json' } });
  assert.equal(malformed.status, 400);
  const status = (await malformed.json()) as { code: number; message: string };
  assert.equal(status.code, 3);
  assert.match(status.message, /cannot parse OTLP\/JSON/);
});

const MetricsServiceClient = makeGenericClientConstructor(
  {
    Export: {
      path: METRICS_EXPORT_GRPC_PATH,
      requestStream: false,
      responseStream: false,
      requestSerialize: (b: Uint8Array) => Buffer.from(b),
      requestDeserialize: (b: Buffer) => b,
      responseSerialize: (b: Uint8Array) => Buffer.from(b),
      responseDeserialize: (b: Buffer) => b,
    },
  },
  'MetricsService',
);

function grpcExport(address: string, body: Uint8Array, metadata = new Metadata()): Promise<{ err: ServiceError | null; res?: Buffer }> {
  const client = new MetricsServiceClient(address, credentials.createInsecure(), { 'grpc.default_compression_algorithm': 2 });
  return new Promise((resolve) => {
    (client as unknown as { Export: (req: Uint8Array, md: Metadata, cb: (err: ServiceError | null, res?: Buffer) => void) => void }).Export(
      body,
      metadata,
      (err, res) => {
        client.close();
        resolve({ err, res });
      },
    );
  });
}

test('OTLP partial_success counts data points, not series; no target_info for a resource whose points were all refused', async () => {
  const histogram = (ms: number) => ({
    resource: { attributes: [{ key: 'service.name', value: { stringValue: 'hist-svc' } }, { key: 'host.name', value: { stringValue: 'h1' } }] },
    scopeMetrics: [{ metrics: [{
      name: 'ooo.latency',
      histogram: { aggregationTemporality: 2, dataPoints: [{ timeUnixNano: String(ms * 1e6), count: 3, sum: 1, explicitBounds: [0.1, 1, 10], bucketCounts: [1, 1, 1, 0] }] },
    }] }],
  });
  const first = ExportMetricsServiceRequest.encode(ExportMetricsServiceRequest.fromObject({ resourceMetrics: [histogram(NOW)] })).finish();
  assert.equal((await fetch(url(single.otlpHttp, '/v1/metrics'), { method: 'POST', body: first, headers: { 'content-type': 'application/x-protobuf' } })).status, 200);
  // The same series again, older: every one of its six series refuses the sample as out of order.
  const body = ExportMetricsServiceRequest.encode(ExportMetricsServiceRequest.fromObject({
    resourceMetrics: [
      histogram(NOW - 60_000),
      {
        resource: { attributes: [{ key: 'service.name', value: { stringValue: 'delta-svc' } }, { key: 'host.name', value: { stringValue: 'h2' } }] },
        scopeMetrics: [{ metrics: [{ name: 'only.delta', sum: { aggregationTemporality: 1, isMonotonic: true, dataPoints: [{ timeUnixNano: String(NOW * 1e6), asDouble: 1 }] } }] }],
      },      {
        // Five good points, so the answer cannot be right by the cap at the request's point count.
        resource: { attributes: [{ key: 'service.name', value: { stringValue: 'good-svc' } }] },
        scopeMetrics: [{ metrics: [{ name: 'good.gauge', gauge: { dataPoints: [1, 2, 3, 4, 5].map((i) => ({ timeUnixNano: String((NOW + i) * 1e6), asDouble: i, attributes: [{ key: 'i', value: { stringValue: String(i) } }] })) } }] }],
      },
    ],
  })).finish();
  const res = await fetch(url(single.otlpHttp, '/v1/metrics'), { method: 'POST', body, headers: { 'content-type': 'application/x-protobuf' } });
  assert.equal(res.status, 200);
  const decoded = ExportMetricsServiceResponse.toObject(ExportMetricsServiceResponse.decode(new Uint8Array(await res.arrayBuffer())), { longs: Number });
  // One refused histogram point (six series: _sum, _count, four buckets) and one refused delta point.
  assert.equal(decoded.partialSuccess.rejectedDataPoints, 2, decoded.partialSuccess.errorMessage);
  assert.deepEqual(await select(single.db, 'anonymous', [eq('__name__', 'target_info'), eq('job', 'delta-svc')]), []);
});

test('OTLP/gRPC Export (gzip) writes and answers partial_success', async () => {
  const { err, res } = await grpcExport(single.grpcAddress, otlpBody('grpc.bytes', 7));
  assert.equal(err, null);
  const decoded = ExportMetricsServiceResponse.toObject(ExportMetricsServiceResponse.decode(res!), { longs: Number });
  assert.equal(decoded.partialSuccess.rejectedDataPoints, 1);
  const stored = await select(single.db, 'anonymous', [eq('__name__', 'grpc_bytes_total')]);
  assert.equal(stored.length, 1);
  const bad = await grpcExport(single.grpcAddress, new Uint8Array([0x0a, 0xff, 0xff, 0x0f]));
  assert.equal(bad.err?.code, GrpcStatus.INVALID_ARGUMENT);
});

test('multi-tenancy: 401 without a tenant; namespaces split one request across tenants', async () => {
  const env = await startEnv({ multitenancy: true, fromNamespace: true });
  try {
    const res = await postRw(env, rw1([
      { labels: [lbl('__name__', 'm'), lbl('namespace', 'team-a')], samples: [{ value: 1, timestamp: NOW }] },
      { labels: [lbl('__name__', 'm'), lbl('namespace', 'team-b')], samples: [{ value: 2, timestamp: NOW }] },
      { labels: [lbl('__name__', 'm')], samples: [{ value: 3, timestamp: NOW }] },
      { labels: [lbl('__name__', 'm'), lbl('namespace', 'bad/ns')], samples: [{ value: 4, timestamp: NOW }] },
    ], [{ type: 1, metricFamilyName: 'm', help: 'M.', unit: '' }]));
    assert.equal(res.status, 400);
    assert.match(await res.text(), /1× invalid_tenant: namespace "bad\/ns"/);
    for (const [tenant, value] of [['team-a', 1], ['team-b', 2], ['default', 3]] as const) {
      const s = await select(env.db, tenant, [eq('__name__', 'm')]);
      assert.deepEqual(s.map((x) => [...x.values]), [[value]], tenant);
      assert.equal((await env.db.metadata([T(tenant)], 'm')).get('m')?.[0]?.help, 'M.', `metadata for ${tenant}`);
    }
    const withHeader = await postRw(env, rw1([{ labels: [lbl('__name__', 'h'), lbl('namespace', 'team-a')], samples: [{ value: 1, timestamp: NOW }] }]), { 'x-scope-orgid': 'fixed' });
    assert.equal(withHeader.status, 204);
    assert.equal((await select(env.db, 'fixed', [eq('__name__', 'h')])).length, 1);

    const otlp = await fetch(url(env.otlpHttp, '/v1/metrics'), {
      method: 'POST',
      body: otlpBody('ns.bytes', 1, [{ key: 'k8s.namespace.name', value: { stringValue: 'team-c' } }]),
      headers: { 'content-type': 'application/x-protobuf' },
    });
    assert.equal(otlp.status, 200);
    assert.equal((await select(env.db, 'team-c', [eq('__name__', 'ns_bytes_total')])).length, 1);
    assert.equal((await select(env.db, 'team-c', [eq('__name__', 'target_info')])).length, 1);
  } finally {
    await stopEnv(env);
  }
  const strict = await startEnv({ multitenancy: true });
  try {
    const res = await postRw(strict, rw1([{ labels: [lbl('__name__', 'm')], samples: [{ value: 1, timestamp: NOW }] }]));
    assert.equal(res.status, 401);
    const otlp = await fetch(url(strict.otlpHttp, '/v1/metrics'), { method: 'POST', body: otlpBody('x', 1), headers: { 'content-type': 'application/json' } });
    assert.equal(otlp.status, 401);
    assert.equal(((await otlp.json()) as { code: number }).code, 16);
    const g = await grpcExport(strict.grpcAddress, otlpBody('x', 1));
    assert.equal(g.err?.code, GrpcStatus.UNAUTHENTICATED);
    const md = new Metadata();
    md.set('x-scope-orgid', 'a|b');
    assert.equal((await grpcExport(strict.grpcAddress, otlpBody('x', 1), md)).err?.code, GrpcStatus.INVALID_ARGUMENT);
    // The tenant is checked before the content type, as Mimir authenticates first.
    const neither = await postRw(strict, Buffer.from('x'), { 'content-type': 'text/plain' });
    assert.equal(neither.status, 401);
    const neitherOtlp = await fetch(url(strict.otlpHttp, '/v1/metrics'), { method: 'POST', body: 'x', headers: { 'content-type': 'text/plain' } });
    assert.equal(neitherOtlp.status, 401);
    const tenantOnly = await postRw(strict, Buffer.from('x'), { 'content-type': 'text/plain', 'x-scope-orgid': 't' });
    assert.equal(tenantOnly.status, 415);
  } finally {
    await stopEnv(strict);
  }
});

test('metadata-only remote_write records reach only the tenants whose series carry the family', async () => {
  const env = await startEnv({ multitenancy: true, fromNamespace: true });
  try {
    const series = await postRw(env, rw1([
      { labels: [lbl('__name__', 'x_requests_total'), lbl('namespace', 'tenant-x')], samples: [{ value: 1, timestamp: NOW }] },
      { labels: [lbl('__name__', 'y_bytes'), lbl('namespace', 'tenant-y')], samples: [{ value: 1, timestamp: NOW }] },
    ]));
    assert.equal(series.status, 204, await series.text());
    // Prometheus sends metadata in requests of their own; OpenMetrics families drop the _total suffix.
    const md = await postRw(env, rw1([], [
      { type: 1, metricFamilyName: 'x_requests', help: 'Secret X help.', unit: '' },
      { type: 2, metricFamilyName: 'y_bytes', help: 'Y help.', unit: '' },
      { type: 2, metricFamilyName: 'never_written', help: 'Nobody.', unit: '' },
    ]));
    assert.equal(md.status, 204, await md.text());
    assert.equal((await env.db.metadata([T('tenant-x')], 'x_requests')).get('x_requests')?.[0]?.help, 'Secret X help.');
    assert.equal((await env.db.metadata([T('tenant-y')], 'x_requests')).get('x_requests'), undefined);
    assert.equal((await env.db.metadata([T('tenant-y')], 'y_bytes')).get('y_bytes')?.[0]?.help, 'Y help.');
    assert.equal((await env.db.metadata([T('tenant-x')], 'y_bytes')).get('y_bytes'), undefined);
    for (const t of ['default', 'tenant-x', 'tenant-y']) {
      assert.equal((await env.db.metadata([T(t)], 'never_written')).get('never_written'), undefined, t);
    }
  } finally {
    await stopEnv(env);
  }
});

test('OTLP profiles answer 501 / UNIMPLEMENTED saying they are not supported yet', async () => {
  for (const [app, p] of [[single.http, '/otlp/v1development/profiles'], [single.otlpHttp, '/v1development/profiles']] as const) {
    const res = await fetch(url(app, p), { method: 'POST', body: '{}', headers: { 'content-type': 'application/json' } });
    assert.equal(res.status, 501, p);
    const body = (await res.json()) as { code: number; message: string };
    assert.equal(body.code, GrpcStatus.UNIMPLEMENTED);
    assert.match(body.message, /not supported yet/);
  }
  const client = new (makeGenericClientConstructor({
    Export: {
      path: '/opentelemetry.proto.collector.profiles.v1development.ProfilesService/Export',
      requestStream: false,
      responseStream: false,
      requestSerialize: (b: Buffer) => b,
      requestDeserialize: (b: Buffer) => b,
      responseSerialize: (b: Buffer) => b,
      responseDeserialize: (b: Buffer) => b,
    },
  }, 'ProfilesService'))(single.grpcAddress, credentials.createInsecure());
  const err = await new Promise<ServiceError | null>((resolve) => {
    client.makeUnaryRequest('/opentelemetry.proto.collector.profiles.v1development.ProfilesService/Export', (b: Buffer) => b, (b: Buffer) => b, Buffer.alloc(0), (e: ServiceError | null) => resolve(e));
  });
  client.close();
  assert.equal(err?.code, GrpcStatus.UNIMPLEMENTED);
  assert.match(err?.details ?? '', /profiles are not supported yet/);
});

test('storage shutting down: 503 with Retry-After, gRPC UNAVAILABLE, never 400', async () => {
  const closedDir = fs.mkdtempSync(path.join(os.tmpdir(), 'heimdall-closed-'));
  const closed = await Tsdb.open({ dir: closedDir, ...tsdbConfigOptions(configSchema.parse({}).metrics), now: () => NOW, maintenanceIntervalMs: 0 });
  await closed.close();
  const env = await startEnv({ multitenancy: false, storage: closed });
  try {
    const res = await postRw(env, rw1([{ labels: [lbl('__name__', 'm')], samples: [{ value: 1, timestamp: NOW }] }]));
    assert.equal(res.status, 503);
    assert.equal(res.headers.get('retry-after'), '1');
    const otlp = await fetch(url(env.otlpHttp, '/v1/metrics'), { method: 'POST', body: otlpBody('x', 1), headers: { 'content-type': 'application/x-protobuf' } });
    assert.equal(otlp.status, 503);
    assert.ok(otlp.headers.get('retry-after'));
    const g = await grpcExport(env.grpcAddress, otlpBody('x', 1));
    assert.equal(g.err?.code, GrpcStatus.UNAVAILABLE);
    assert.ok(g.err?.metadata.get('grpc-status-details-bin').length, 'RetryInfo is attached');
  } finally {
    await stopEnv(env);
    fs.rmSync(closedDir, { recursive: true, force: true });
  }
});
