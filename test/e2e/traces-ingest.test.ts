// Real trace senders against the real binary: the OpenTelemetry JS trace SDK (OTLP/HTTP protobuf on the OTLP
// listener, OTLP/HTTP JSON on /otlp/v1/traces, OTLP/gRPC), telemetrygen traces (gRPC and HTTP) and a plain
// HTTP client speaking Zipkin v2 JSON. Spans are read back through Heimdall's own reads: the
// trace store (opened on the data directory after a clean shutdown) and the metrics-generator's span metrics
// and service graphs through the Prometheus API.
// A second process with multi-tenancy on checks Tempo's per-tenant limits end to end.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ROOT_CONTEXT, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { OTLPTraceExporter as OtlpGrpcTraceExporter } from '@opentelemetry/exporter-trace-otlp-grpc';
import { OTLPTraceExporter as OtlpJsonTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { OTLPTraceExporter as OtlpProtoTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import type { SpanExporter } from '@opentelemetry/sdk-trace-base';
import { traceStoreConfigOptions } from '../../src/app/engine-options.ts';
import { configSchema } from '../../src/config/index.ts';
import type { TenantId } from '../../src/model/index.ts';
import type { StoredTrace } from '../../src/storage/index.ts';
import { TraceStore } from '../../src/tracestore/index.ts';
import { GENEROUS_MS } from '../support/bounds.ts';
import { findGoTool } from './go-tools.ts';
import { startHeimdall } from './harness.ts';
import type { HeimdallProcess } from './harness.ts';

let heimdall: HeimdallProcess;

before(async () => {
  heimdall = await startHeimdall({ config: { traces: { metrics_generator: { collection_interval: '1s' } } } });
});

after(async () => {
  if (heimdall.child.exitCode === null && heimdall.child.signalCode === null) await heimdall.stop();
});

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Polls a PromQL instant query until `done` holds for its vector (bounded by GENEROUS_MS). */
async function waitForQuery(url: string, query: string, done: (v: { metric: Record<string, string>; value: [number, string] }[]) => boolean, headers: Record<string, string> = {}): Promise<void> {
  let last = '';
  for (let i = 0; i < GENEROUS_MS / 250; i++) {
    const res = await fetch(`${url}/prometheus/api/v1/query?query=${encodeURIComponent(query)}`, { headers });
    last = await res.text();
    if (res.ok) {
      const body = JSON.parse(last) as { data: { result: { metric: Record<string, string>; value: [number, string] }[] } };
      if (done(body.data.result)) return;
    }
    await sleep(250);
  }
  assert.fail(`${query} never held: ${last.slice(0, 800)}`);
}

/** Trace ids sent to the first process, with the span names each must hold; checked in its store at the end. */
const sent = new Map<string, string[]>();

/** Every span name of a trace as stored, sorted. */
function spanNames(trace: StoredTrace | undefined): string[] {
  return (trace?.spans ?? []).map((s) => s.span.name).sort();
}

async function emit(service: string, exporter: SpanExporter): Promise<string> {
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({ 'service.name': service }),
    spanProcessors: [new SimpleSpanProcessor(exporter)],
  });
  const tracer = provider.getTracer('e2e-tracer', '1.0.0');
  // No context manager is registered, so children name their parent's context explicitly.
  const root = tracer.startSpan('GET /checkout', { kind: SpanKind.SERVER, attributes: { 'http.method': 'GET' } });
  const parent = trace.setSpan(ROOT_CONTEXT, root);
  const traceId = root.spanContext().traceId;
  const child = tracer.startSpan('SELECT orders', { kind: SpanKind.CLIENT, attributes: { 'db.name': 'orders', 'db.system': 'postgresql' } }, parent);
  child.addEvent('rows fetched', { rows: 3 });
  child.end();
  const failing = tracer.startSpan('charge card', { kind: SpanKind.INTERNAL }, parent);
  failing.setStatus({ code: SpanStatusCode.ERROR, message: 'declined' });
  failing.end();
  root.end();
  await provider.forceFlush();
  await provider.shutdown();
  return traceId;
}

describe('the OpenTelemetry JS trace SDK', () => {
  const senders: [string, () => SpanExporter][] = [
    ['proto', () => new OtlpProtoTraceExporter({ url: `${heimdall.otlpHttpUrl}/v1/traces` })],
    ['json', () => new OtlpJsonTraceExporter({ url: `${heimdall.httpUrl}/otlp/v1/traces` })],
    ['grpc', () => new OtlpGrpcTraceExporter({ url: `http://${heimdall.otlpGrpcAddress}` })],
  ];
  for (const [kind, exporter] of senders) {
    test(`OTLP ${kind}: span metrics and service graphs appear`, async () => {
      const service = `sdk-${kind}`;
      const traceId = await emit(service, exporter());
      assert.match(traceId, /^[0-9a-f]{32}$/);
      sent.set(traceId, ['GET /checkout', 'SELECT orders', 'charge card']);
      await waitForQuery(heimdall.httpUrl, `sum by (span_name, span_kind, status_code) (traces_spanmetrics_calls_total{service="${service}"})`, (v) => v.length === 3
        && v.some((s) => s.metric.span_name === 'charge card' && s.metric.status_code === 'STATUS_CODE_ERROR')
        && v.some((s) => s.metric.span_name === 'GET /checkout' && s.metric.span_kind === 'SPAN_KIND_SERVER'));
      await waitForQuery(heimdall.httpUrl, `traces_service_graph_request_total{client="${service}", server="orders", connection_type="database"}`, (v) => v.length === 1 && v[0]!.value[1] === '1');
      await waitForQuery(heimdall.httpUrl, `traces_service_graph_request_total{client="user", server="${service}"}`, (v) => v.length === 1);
      await waitForQuery(heimdall.httpUrl, `sum(traces_spanmetrics_latency_count{service="${service}"})`, (v) => v[0]?.value[1] === '3');
    });
  }
});

describe('Zipkin v2 JSON from a plain HTTP client', () => {
  test('client and server spans on both paths: 202 (400 naming a bad span, the rest kept) and a service graph edge', async () => {
    const traceId = randomBytes(16).toString('hex');
    const clientId = randomBytes(8).toString('hex');
    const nowUs = Date.now() * 1000;
    const client = { traceId, id: clientId, name: 'get /api', kind: 'CLIENT', timestamp: nowUs, duration: 20_000, localEndpoint: { serviceName: 'zk-front' }, tags: { 'http.method': 'GET' } };
    const server = { traceId, id: randomBytes(8).toString('hex'), parentId: clientId, name: 'get /api', kind: 'SERVER', timestamp: nowUs + 1000, duration: 15_000, localEndpoint: { serviceName: 'zk-back' }, tags: { error: 'boom' } };
    const post = (url: string, body: unknown): Promise<Response> => fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    const r1 = await post(`${heimdall.otlpHttpUrl}/api/v2/spans`, [client]);
    assert.equal(r1.status, 202, await r1.text());
    const r2 = await post(`${heimdall.httpUrl}/tempo/api/v2/spans`, [server, { ...server, id: 'nothex!' }]);
    assert.equal(r2.status, 400);
    assert.match(await r2.text(), /1× invalid_record: .*invalid id "nothex!"/);
    sent.set(traceId, ['get /api', 'get /api']);
    await waitForQuery(heimdall.httpUrl, 'traces_service_graph_request_failed_total{client="zk-front", server="zk-back"}', (v) => v.length === 1 && v[0]!.value[1] === '1');
    const r3 = await fetch(`${heimdall.otlpHttpUrl}/api/v2/spans`, { method: 'POST', headers: { 'content-type': 'application/x-protobuf' }, body: Buffer.from([1]) });
    assert.equal(r3.status, 415);
  });
});

const TELEMETRYGEN = findGoTool('telemetrygen');

function run(bin: string, args: readonly string[]): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (out += c.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('error', reject);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, out });
    });
  });
}

describe('telemetrygen traces', { skip: TELEMETRYGEN ? false : 'telemetrygen not installed (go install github.com/open-telemetry/opentelemetry-collector-contrib/cmd/telemetrygen@v0.161.0)' }, () => {
  for (const transport of ['grpc', 'http'] as const) {
    test(`over OTLP ${transport}: exit 0 (no partial success) and its spans counted by the metrics-generator`, async () => {
      const endpoint = transport === 'grpc' ? heimdall.otlpGrpcAddress : new URL(heimdall.otlpHttpUrl).host;
      const service = `tg-${transport}`;
      const { code, out } = await run(TELEMETRYGEN!, [
        'traces', '--otlp-endpoint', endpoint, '--otlp-insecure', ...(transport === 'http' ? ['--otlp-http'] : []),
        '--traces', '5', '--rate', '0', '--service', service,
      ]);
      assert.equal(code, 0, out);
      // telemetrygen sends a client span and a server child per trace: 5 edges service → service.
      await waitForQuery(heimdall.httpUrl, `sum(traces_spanmetrics_calls_total{service="${service}"})`, (v) => v[0]?.value[1] === '10');
      await waitForQuery(heimdall.httpUrl, `traces_service_graph_request_total{client="${service}", server="${service}"}`, (v) => v[0]?.value[1] === '5');
    });
  }
});

describe('per-tenant limits with Tempo names', () => {
  let tenanted: HeimdallProcess;
  before(async () => {
    tenanted = await startHeimdall({
      args: ['--multitenancy'],
      config: {
        traces: {
          overrides: {
            few: { max_traces_per_user: 1, max_attribute_bytes: 8 },
            slow: { ingestion_rate_limit_bytes: 100, ingestion_burst_size_bytes: 300 },
          },
        },
      },
    });
  });
  after(async () => {
    await tenanted?.stop();
  });

  const body = (traces: number): string => JSON.stringify({
    resourceSpans: [{
      resource: { attributes: [{ key: 'service.name', value: { stringValue: 'limited' } }] },
      scopeSpans: [{
        spans: Array.from({ length: traces }, (_, i) => ({
          traceId: randomBytes(16).toString('hex'),
          spanId: randomBytes(8).toString('hex'),
          name: `op-${i}`,
          startTimeUnixNano: String(BigInt(Date.now()) * 1_000_000n),
          endTimeUnixNano: String(BigInt(Date.now()) * 1_000_000n + 1000n),
          attributes: [{ key: 'long', value: { stringValue: 'x'.repeat(100) } }],
        })),
      }],
    }],
  });
  const send = (tenant: string, traces: number): Promise<Response> =>
    fetch(`${tenanted.httpUrl}/otlp/v1/traces`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-scope-orgid': tenant }, body: body(traces) });

  test('max_traces_per_user: partial_success with rejected_spans, counted as live_traces_exceeded; attributes truncated', async () => {
    const res = await send('few', 3);
    assert.equal(res.status, 200);
    const answer = (await res.json()) as { partialSuccess?: { rejectedSpans: string; errorMessage: string } };
    assert.equal(answer.partialSuccess?.rejectedSpans, '2');
    assert.match(answer.partialSuccess.errorMessage, /2× live_traces_exceeded: LIVE_TRACES_EXCEEDED.*max_traces_per_user/);
    const metrics = await (await fetch(`${tenanted.httpUrl}/metrics`)).text();
    assert.match(metrics, /heimdall_discarded_records_total\{signal="traces",reason="live_traces_exceeded",tenant="few"\} 2/);
    assert.match(metrics, /heimdall_traces_truncated_attributes_total\{tenant="few"\} [1-9]/);
    assert.match(metrics, /heimdall_received_records_total\{signal="traces",tenant="few"\} 1/);
  });

  test('ingestion rate: a batch over the burst is refused whole with 429 and Retry-After; other tenants unaffected', async () => {
    const res = await send('slow', 5);
    assert.equal(res.status, 429);
    assert.ok(Number(res.headers.get('retry-after')) >= 1);
    assert.match(((await res.json()) as { message: string }).message, /ingestion_burst_size_bytes/);
    assert.equal((await send('other', 5)).status, 200);
    const metrics = await (await fetch(`${tenanted.httpUrl}/metrics`)).text();
    assert.match(metrics, /heimdall_discarded_records_total\{signal="traces",reason="rate_limited",tenant="slow"\} 5/);
  });

  test('no tenant with multi-tenancy on: 401', async () => {
    const res = await fetch(`${tenanted.httpUrl}/otlp/v1/traces`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: body(1) });
    assert.equal(res.status, 401);
  });
});

test('after a clean shutdown every trace sent is in the trace store, whole', async () => {
  assert.ok(sent.size >= 4, `${sent.size} traces recorded`);
  await heimdall.stop({ keepData: true });
  const config = configSchema.parse({}).traces;
  const store = await TraceStore.open({ dir: path.join(heimdall.dataDir, 'traces'), ...traceStoreConfigOptions(config), threads: 1, background: false });
  try {
    const q = await store.querier(['anonymous' as TenantId]);
    for (const [traceId, names] of sent) assert.deepEqual(spanNames(await q.traceById(traceId)), names, traceId);
    await q.close();
  } finally {
    await store.close();
    rmSync(heimdall.dataDir, { recursive: true, force: true });
  }
});
