// Grafana's Tempo data source flows against the real binary (`/tempo` is the data source URL): traces sent by the
// OpenTelemetry JS SDK (two services, parent/child across them, attributes, an event, an error status) are read
// back exactly as Grafana reads them: the health check (`GET /api/echo`, what "Save & test" calls), trace by id
// v1 and v2 in JSON and protobuf (decoded with the repo's Tempo protos), TraceQL and legacy tag search, v2 tag
// names and values (with `q`), and TraceQL metrics. Multi-tenancy is on: a tenant never sees another's traces and
// `a|b` reads both. A trace whose spans arrive in separate requests minutes apart (explicit timestamps) is whole.
// Also: `--target` subsets that include the traces role serve the API and answer `/ready`.
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import { ROOT_CONTEXT, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import type { Context, Tracer } from '@opentelemetry/api';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import protobuf from 'protobufjs';
import { startHeimdall } from './harness.ts';
import type { HeimdallProcess } from './harness.ts';

const TEMPO_PROTO = fileURLToPath(new URL('../../proto/tempo/tempo.proto', import.meta.url));
const protoRoot = protobuf.loadSync(TEMPO_PROTO);

let heimdall: HeimdallProcess;
let tempo: string;

before(async () => {
  heimdall = await startHeimdall({ args: ['--multitenancy'] });
  tempo = `${heimdall.httpUrl}/tempo`;
});

after(async () => {
  await heimdall?.stop();
});

/** A tracer provider for one service sending OTLP/HTTP protobuf as `tenant`. */
function provider(service: string, tenant: string): BasicTracerProvider {
  return new BasicTracerProvider({
    resource: resourceFromAttributes({ 'service.name': service, 'deployment.environment': 'e2e' }),
    spanProcessors: [new SimpleSpanProcessor(new OTLPTraceExporter({ url: `${heimdall.otlpHttpUrl}/v1/traces`, headers: { 'X-Scope-OrgID': tenant } }))],
  });
}

async function flush(...providers: BasicTracerProvider[]): Promise<void> {
  for (const p of providers) {
    await p.forceFlush();
    await p.shutdown();
  }
}

/**
 * frontend `GET /checkout` (server) → frontend `POST /pay` (client) → payment `POST /pay` (server, error,
 * with an event) → payment `SELECT cards` (client). Returns the trace id.
 */
async function sendCheckout(tenant: string): Promise<string> {
  const front = provider('frontend', tenant);
  const pay = provider('payment', tenant);
  const ft = front.getTracer('shop-frontend', '1.2.0');
  const pt = pay.getTracer('shop-payment', '3.4.0');
  const child = (t: Tracer, name: string, kind: SpanKind, parent: Context, attributes: Record<string, string | number>) =>
    t.startSpan(name, { kind, attributes }, parent);
  const root = ft.startSpan('GET /checkout', { kind: SpanKind.SERVER, attributes: { 'http.request.method': 'GET', 'http.response.status_code': 500 } });
  const call = child(ft, 'POST /pay', SpanKind.CLIENT, trace.setSpan(ROOT_CONTEXT, root), { 'peer.service': 'payment' });
  const server = child(pt, 'POST /pay', SpanKind.SERVER, trace.setSpan(ROOT_CONTEXT, call), { 'card.brand': 'visa', amount: 42 });
  server.addEvent('card declined', { reason: 'insufficient funds' });
  const db = child(pt, 'SELECT cards', SpanKind.CLIENT, trace.setSpan(ROOT_CONTEXT, server), { 'db.system': 'postgresql' });
  db.end();
  server.setStatus({ code: SpanStatusCode.ERROR, message: 'card declined' });
  server.end();
  call.setStatus({ code: SpanStatusCode.ERROR });
  call.end();
  root.end();
  await flush(front, pay);
  return root.spanContext().traceId;
}

interface Fetched {
  status: number;
  type: string;
  body: Buffer;
}

async function get(path: string, tenant?: string, accept?: string): Promise<Fetched> {
  const headers: Record<string, string> = {};
  if (tenant !== undefined) headers['X-Scope-OrgID'] = tenant;
  if (accept !== undefined) headers.Accept = accept;
  const res = await fetch(`${tempo}${path}`, { headers });
  return { status: res.status, type: res.headers.get('content-type') ?? '', body: Buffer.from(await res.arrayBuffer()) };
}

async function getJson<T>(path: string, tenant: string): Promise<T> {
  const r = await get(path, tenant);
  assert.equal(r.status, 200, `${path}: ${r.body.toString()}`);
  return JSON.parse(r.body.toString()) as T;
}

interface SearchAnswer {
  traces: { traceID: string; rootServiceName: string; rootTraceName: string; spanSets: { spans: { spanID: string; name: string }[]; matched: number }[] }[];
}

/** Search answers name traces as Tempo does (`util.TraceIDToHexString`: hex without leading zeros); this restores 32 digits. */
async function search(q: string, tenant: string, extra = ''): Promise<SearchAnswer> {
  const answer = await getJson<SearchAnswer>(`/api/search?q=${encodeURIComponent(q)}${extra}`, tenant);
  for (const t of answer.traces) t.traceID = t.traceID.padStart(32, '0');
  return answer;
}

interface OtlpJsonSpan {
  name: string;
  kind: string | number;
  parentSpanId?: string;
  status?: { code?: string | number; message?: string };
  events?: { name: string }[];
  attributes?: { key: string }[];
}
interface OtlpJsonResourceSpans {
  resource: { attributes: { key: string; value: { stringValue?: string } }[] };
  scopeSpans: { scope?: { name: string; version?: string }; spans: OtlpJsonSpan[] }[];
}

/** Span names per service of an OTLP (JSON or decoded protobuf) resourceSpans list, sorted. */
function namesByService(resourceSpans: readonly OtlpJsonResourceSpans[]): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const rs of resourceSpans) {
    const service = rs.resource.attributes.find((a) => a.key === 'service.name')?.value.stringValue ?? '?';
    const names = rs.scopeSpans.flatMap((ss) => ss.spans.map((s) => s.name));
    out[service] = [...(out[service] ?? []), ...names].sort();
  }
  return out;
}

const EXPECTED_SPANS = { frontend: ['GET /checkout', 'POST /pay'], payment: ['POST /pay', 'SELECT cards'] };

describe('the Tempo API as Grafana calls it', () => {
  let traceA: string;
  let traceB: string;

  before(async () => {
    traceA = await sendCheckout('team-a');
    traceB = await sendCheckout('team-b');
  });

  test('health check: GET /api/echo answers 200 echo without a tenant (Grafana "Save & test"); buildinfo names a Tempo 2 version', async () => {
    const echo = await get('/api/echo');
    assert.equal(echo.status, 200);
    assert.equal(echo.body.toString().trim(), 'echo');
    const info = JSON.parse((await get('/api/status/buildinfo')).body.toString()) as { version: string };
    assert.match(info.version, /^2\.\d+\.\d+$/);
    // Without a tenant, with multi-tenancy on, reads are refused as Tempo refuses them.
    assert.equal((await get(`/api/traces/${traceA}`)).status, 401);
  });

  test('trace by id v1: JSON batches and tempopb.Trace protobuf hold both services, the event and the error', async () => {
    const json = await getJson<{ batches: OtlpJsonResourceSpans[] }>(`/api/traces/${traceA}`, 'team-a');
    assert.deepEqual(namesByService(json.batches), EXPECTED_SPANS);
    const payment = json.batches.find((b) => b.resource.attributes.some((a) => a.value.stringValue === 'payment'))!;
    const scope = payment.scopeSpans[0]!;
    assert.deepEqual(scope.scope, { name: 'shop-payment', version: '3.4.0' });
    const failed = scope.spans.find((s) => s.name === 'POST /pay')!;
    assert.equal(failed.status?.message, 'card declined');
    assert.deepEqual(failed.events?.map((e) => e.name), ['card declined']);
    assert.ok(failed.attributes?.some((a) => a.key === 'card.brand'));

    const proto = await get(`/api/traces/${traceA}`, 'team-a', 'application/protobuf');
    assert.equal(proto.status, 200);
    assert.match(proto.type, /^application\/protobuf/);
    const decoded = protoRoot.lookupType('tempopb.Trace').toObject(protoRoot.lookupType('tempopb.Trace').decode(proto.body), { enums: String, longs: String, bytes: String }) as {
      resourceSpans: OtlpJsonResourceSpans[];
    };
    assert.deepEqual(namesByService(decoded.resourceSpans), EXPECTED_SPANS);
    const spans = decoded.resourceSpans.flatMap((rs) => rs.scopeSpans.flatMap((ss) => ss.spans));
    assert.equal(spans.filter((s) => s.status?.code === 'STATUS_CODE_ERROR').length, 2);
    assert.equal(spans.filter((s) => s.parentSpanId === undefined || s.parentSpanId === '').length, 1, 'one root');
  });

  test('trace by id v2: JSON and tempopb.TraceByIDResponse protobuf, status COMPLETE; unknown and other-tenant ids 404', async () => {
    const json = await getJson<{ trace: { resourceSpans: OtlpJsonResourceSpans[] }; status?: string }>(`/api/v2/traces/${traceA}`, 'team-a');
    assert.deepEqual(namesByService(json.trace.resourceSpans), EXPECTED_SPANS);
    assert.ok(json.status === undefined || json.status === 'COMPLETE', json.status);
    const proto = await get(`/api/v2/traces/${traceA}?start=${Math.floor(Date.now() / 1000) - 3600}&end=${Math.floor(Date.now() / 1000) + 60}`, 'team-a', 'application/protobuf');
    assert.equal(proto.status, 200);
    const T = protoRoot.lookupType('tempopb.TraceByIDResponse');
    const decoded = T.toObject(T.decode(proto.body), { enums: String, defaults: true }) as { trace: { resourceSpans: OtlpJsonResourceSpans[] }; status: string };
    assert.deepEqual(namesByService(decoded.trace.resourceSpans), EXPECTED_SPANS);
    assert.equal(decoded.status, 'COMPLETE');
    assert.equal((await get(`/api/v2/traces/${traceB}`, 'team-a')).status, 404, 'team-b trace is not team-a');
    assert.equal((await get(`/api/traces/${'0'.repeat(31)}1`, 'team-a')).status, 404);
    assert.equal((await get('/api/traces/not-hex', 'team-a')).status, 400);
  });

  test('TraceQL search: attribute with status, structural queries (child, descendant, none); bad TraceQL is a 400 naming the problem', async () => {
    const errors = await search('{ resource.service.name = "payment" && status = error }', 'team-a');
    assert.deepEqual(errors.traces.map((t) => t.traceID), [traceA]);
    const hit = errors.traces[0]!;
    assert.equal(hit.rootServiceName, 'frontend');
    assert.equal(hit.rootTraceName, 'GET /checkout');
    assert.deepEqual(hit.spanSets[0]!.spans.map((s) => s.name), ['POST /pay']);
    const structural = await search('{ resource.service.name = "frontend" && kind = client } > { resource.service.name = "payment" && span.card.brand = "visa" }', 'team-a');
    assert.deepEqual(structural.traces.map((t) => t.traceID), [traceA]);
    assert.deepEqual(structural.traces[0]!.spanSets[0]!.spans.map((s) => s.name), ['POST /pay']);
    const none = await search('{ resource.service.name = "frontend" } < { resource.service.name = "payment" }', 'team-a');
    assert.deepEqual(none.traces, []);
    const descendant = await search('{ name = "GET /checkout" } >> { span.db.system = "postgresql" }', 'team-a');
    assert.deepEqual(descendant.traces.map((t) => t.traceID), [traceA]);
    const bad = await get(`/api/search?q=${encodeURIComponent('{ span.x = }')}`, 'team-a');
    assert.equal(bad.status, 400);
    assert.match(bad.body.toString(), /parse error|syntax error/i);
  });

  test('legacy tag search (tags=logfmt, minDuration) as Grafana sends it without TraceQL', async () => {
    const byTag = await getJson<SearchAnswer>(`/api/search?tags=${encodeURIComponent('service.name=payment card.brand=visa')}&limit=20`, 'team-a');
    assert.deepEqual(byTag.traces.map((t) => t.traceID.padStart(32, '0')), [traceA]);
    const tooLong = await getJson<SearchAnswer>(`/api/search?tags=${encodeURIComponent('service.name=payment')}&minDuration=1h`, 'team-a');
    assert.deepEqual(tooLong.traces, []);
  });

  test('v2 tag names by scope and tag values with a TraceQL q filter (autocomplete)', async () => {
    const tags = await getJson<{ scopes: { name: string; tags: string[] }[] }>('/api/v2/search/tags?scope=resource', 'team-a');
    const resource = tags.scopes.find((s) => s.name === 'resource');
    assert.ok(resource?.tags.includes('service.name') && resource.tags.includes('deployment.environment'), JSON.stringify(tags));
    const all = await getJson<{ scopes: { name: string; tags: string[] }[] }>('/api/v2/search/tags', 'team-a');
    assert.ok(all.scopes.find((s) => s.name === 'span')?.tags.includes('card.brand'));
    assert.ok(all.scopes.find((s) => s.name === 'intrinsic')?.tags.includes('status'));

    const values = await getJson<{ tagValues: { type: string; value: string }[] }>(`/api/v2/search/tag/${encodeURIComponent('resource.service.name')}/values`, 'team-a');
    assert.deepEqual(values.tagValues.map((v) => v.value).sort(), ['frontend', 'payment']);
    assert.ok(values.tagValues.every((v) => v.type === 'string'));
    const q = encodeURIComponent('{ span.db.system = "postgresql" }');
    const filtered = await getJson<{ tagValues: { value: string }[] }>(`/api/v2/search/tag/resource.service.name/values?q=${q}`, 'team-a');
    assert.deepEqual(filtered.tagValues.map((v) => v.value), ['payment']);
    const names = await getJson<{ tagValues: { value: string }[] }>(`/api/v2/search/tag/name/values`, 'team-a');
    assert.deepEqual(names.tagValues.map((v) => v.value).sort(), ['GET /checkout', 'POST /pay', 'SELECT cards']);
    const v1 = await getJson<{ tagValues: string[] }>('/api/search/tag/service.name/values', 'team-a');
    assert.deepEqual([...v1.tagValues].sort(), ['frontend', 'payment']);
  });

  test('TraceQL metrics: { } | rate() by (resource.service.name) over the last 10 minutes', async () => {
    const end = Math.ceil(Date.now() / 1000) + 30;
    const q = encodeURIComponent('{ } | rate() by (resource.service.name)');
    const res = await getJson<{ series: { labels: { key: string; value: { stringValue: string } }[]; samples: { timestampMs: string; value?: number }[] }[] }>(
      `/api/metrics/query_range?q=${q}&start=${end - 600}&end=${end}&step=60s`,
      'team-a',
    );
    const byService = new Map(res.series.map((s) => [s.labels.find((l) => l.key === 'resource.service.name')?.value.stringValue, s]));
    assert.deepEqual([...byService.keys()].sort(), ['frontend', 'payment']);
    for (const s of byService.values()) {
      // Two spans per service, each counted once: the per-second rates over 60 s steps sum to 2/60.
      const total = s.samples.reduce((sum, p) => sum + (p.value ?? 0), 0);
      assert.ok(Math.abs(total - 2 / 60) < 1e-9, JSON.stringify(s.samples));
    }
  });

  test('tenancy: team-b sees only its own trace; team-a|team-b reads both', async () => {
    const q = '{ resource.service.name = "payment" }';
    assert.deepEqual((await search(q, 'team-b')).traces.map((t) => t.traceID), [traceB]);
    assert.deepEqual((await search(q, 'team-c')).traces, []);
    const both = await search(q, 'team-a|team-b');
    assert.deepEqual(both.traces.map((t) => t.traceID).sort(), [traceA, traceB].sort());
    const byId = await getJson<{ batches: OtlpJsonResourceSpans[] }>(`/api/traces/${traceB}`, 'team-a|team-b');
    assert.deepEqual(namesByService(byId.batches), EXPECTED_SPANS);
  });
});

describe('a trace whose spans arrive in separate requests minutes apart', () => {
  test('is assembled whole for trace by id, search (structural across requests) and its duration', async () => {
    const t0 = Date.now() - 20 * 60_000;
    // First request: the root (20 minutes ago, lasting 6 minutes).
    const first = provider('batch-job', 'team-late');
    const root = first.getTracer('late').startSpan('nightly import', { kind: SpanKind.SERVER, startTime: t0 });
    const rootContext = trace.setSpan(ROOT_CONTEXT, root);
    root.end(t0 + 6 * 60_000);
    await flush(first);
    // Second request, with spans timed five minutes later: a child from another service.
    const second = provider('loader', 'team-late');
    const late = second.getTracer('late').startSpan('load rows', { kind: SpanKind.INTERNAL, startTime: t0 + 5 * 60_000, attributes: { rows: 1000 } }, rootContext);
    late.end(t0 + 5 * 60_000 + 30_000);
    await flush(second);
    const traceId = root.spanContext().traceId;

    const whole = await getJson<{ batches: OtlpJsonResourceSpans[] }>(`/api/traces/${traceId}`, 'team-late');
    assert.deepEqual(namesByService(whole.batches), { 'batch-job': ['nightly import'], loader: ['load rows'] });
    const found = await search('{ resource.service.name = "batch-job" } > { resource.service.name = "loader" && span.rows = 1000 }', 'team-late', `&start=${Math.floor(t0 / 1000) - 60}&end=${Math.ceil(Date.now() / 1000)}`);
    assert.deepEqual(found.traces.map((t) => t.traceID), [traceId]);
    const long = await search('{ trace:duration >= 6m && trace:rootName = "nightly import" }', 'team-late', `&start=${Math.floor(t0 / 1000) - 60}&end=${Math.ceil(Date.now() / 1000)}`);
    assert.deepEqual(long.traces.map((t) => t.traceID), [traceId]);
  });
});

describe('--target subsets with the traces role', () => {
  for (const target of ['traces', 'gateway,traces']) {
    test(`--target ${target}: /ready, the Tempo API, and only the roles asked for (with dependencies)`, async () => {
      const h = await startHeimdall({ args: ['--target', target] });
      try {
        const line = h.output().split('\n').find((l) => l.includes('Heimdall ready'))!;
        const ready = JSON.parse(line) as { roles: string[]; apis: string[] };
        assert.ok(ready.roles.includes('traces'));
        assert.ok(ready.apis.includes('Tempo API /tempo'));
        assert.equal((await fetch(`${h.httpUrl}/ready`)).status, 200);
        assert.equal((await fetch(`${h.httpUrl}/tempo/api/echo`)).status, 200);
        const empty = await fetch(`${h.httpUrl}/tempo/api/search?q=${encodeURIComponent('{ }')}`);
        assert.equal(empty.status, 200);
        assert.deepEqual(((await empty.json()) as { traces: unknown[] }).traces, []);
        if (target === 'traces') {
          assert.deepEqual(ready.roles, ['traces']);
          assert.equal((await fetch(`${h.httpUrl}/prometheus/api/v1/labels`)).status, 404, 'metrics role not running');
        } else {
          // The gateway writes every signal not in gateway.forward locally, so it brings the metrics, logs and profiles roles along.
          assert.deepEqual([...ready.roles].sort(), ['gateway', 'logs', 'metrics', 'profiles', 'traces']);
        }
      } finally {
        await h.stop();
      }
    });
  }
});
