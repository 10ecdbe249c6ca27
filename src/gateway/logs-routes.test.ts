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
import type { HeimdallConfigInput } from '../config/index.ts';
import { ExportLogsServiceRequest, ExportLogsServiceResponse, LOGS_EXPORT_GRPC_PATH } from '../ingest/otlp-logs-proto.ts';
import { LogStore } from '../logstore/index.ts';
import type { Labels, TenantId } from '../model/index.ts';
import { SelfMetrics } from '../selfobs/index.ts';
import { TenantResolver } from '../tenant/index.ts';
import { registerLogsIngest } from './logs-routes.ts';
import { InflightBudget } from './inflight-budget.ts';
import type { GatewayDeps } from './ingest-pipeline.ts';
import { logStoreConfigOptions } from '../app/engine-options.ts';

const PushRequest = protobuf
  .loadSync(path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../proto/loki/push.proto'))
  .lookupType('logproto.PushRequest');

const NOW_NS = BigInt(Date.now()) * 1_000_000n;
const SEC = 1_000_000_000n;

interface Env {
  http: FastifyInstance;
  otlpHttp: FastifyInstance;
  grpc: Server;
  grpcAddress: string;
  store: LogStore;
  selfMetrics: SelfMetrics;
  dir: string;
}

async function startEnv(cfg: HeimdallConfigInput): Promise<Env> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'heimdall-logs-routes-'));
  const config = configSchema.parse(cfg);
  const store = await LogStore.open({ dir, ...logStoreConfigOptions(config.logs), threads: 1, background: false });
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
  await registerLogsIngest(deps, store, config.logs);
  await http.listen({ host: '127.0.0.1', port: 0 });
  await otlpHttp.listen({ host: '127.0.0.1', port: 0 });
  const port = await new Promise<number>((resolve, reject) =>
    grpc.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
  );
  return { http, otlpHttp, grpc, grpcAddress: `127.0.0.1:${port}`, store, selfMetrics, dir };
}

async function stopEnv(env: Env): Promise<void> {
  await env.http.close();
  await env.otlpHttp.close();
  env.grpc.forceShutdown();
  await env.store.close();
  fs.rmSync(env.dir, { recursive: true, force: true });
}

function url(app: FastifyInstance, p: string): string {
  const a = app.server.address();
  if (a === null || typeof a === 'string') throw new Error('not listening');
  return `http://127.0.0.1:${a.port}${p}`;
}

/** Every entry of a tenant in the last hour: [labels, line, metadata] sorted by time. */
async function stored(env: Env, tenant: string): Promise<[Labels, string, Labels | undefined][]> {
  const q = await env.store.querier([tenant as TenantId]);
  const out: [bigint, Labels, string, Labels | undefined][] = [];
  for await (const slice of q.select({ matchers: [], startNs: NOW_NS - 3600n * SEC, endNs: NOW_NS + 600n * SEC, direction: 'forward' })) {
    for (const b of slice) for (let i = 0; i < b.lines.length; i++) out.push([b.timestampsNs[i]!, b.labels, b.lines[i]!, b.structuredMetadata?.[i]]);
  }
  await q.close();
  return out.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0)).map(([, l, line, md]) => [l, line, md]);
}

function pushProto(streams: unknown[]): Buffer {
  return snappy.compressSync(Buffer.from(PushRequest.encode(PushRequest.fromObject({ streams })).finish()));
}

const ts = (deltaSec: bigint) => ({ seconds: String((NOW_NS - deltaSec * SEC) / SEC), nanos: Number((NOW_NS - deltaSec * SEC) % SEC) });

async function discarded(env: Env, reason: string, tenant: string): Promise<number> {
  const m = await env.selfMetrics.discardedRecords.get();
  return m.values.find((v) => v.labels.reason === reason && v.labels.tenant === tenant)?.value ?? 0;
}

let single: Env;
before(async () => {
  single = await startEnv({ logs: { max_decompressed_bytes: '1MiB' } });
});
after(async () => {
  await stopEnv(single);
});

test('Loki protobuf push (snappy): 204, entries stored with metadata, service_name and detected_level added', async () => {
  const res = await fetch(url(single.http, '/loki/api/v1/push'), {
    method: 'POST',
    headers: { 'content-type': 'application/x-protobuf' },
    body: pushProto([
      {
        labels: '{app="api", env="prod"}',
        entries: [
          { timestamp: ts(20n), line: 'level=info msg="proto one"', structuredMetadata: [{ name: 'trace_id', value: 't1' }] },
          { timestamp: ts(19n), line: 'level=error msg="proto two"' },
        ],
      },
    ]),
  });
  assert.equal(res.status, 204, await res.text());
  const rows = (await stored(single, 'anonymous')).filter(([, line]) => line.includes('proto'));
  assert.deepEqual(rows, [
    [{ app: 'api', env: 'prod', service_name: 'api' }, 'level=info msg="proto one"', { trace_id: 't1', detected_level: 'info' }],
    [{ app: 'api', env: 'prod', service_name: 'api' }, 'level=error msg="proto two"', { detected_level: 'error' }],
  ]);
});

test('Loki JSON push (gzip) and the legacy /api/prom/push path', async () => {
  const body = gzipSync(JSON.stringify({ streams: [{ stream: { job: 'json' }, values: [[String(NOW_NS - 10n * SEC), 'json line', { user: 'u' }]] }] }));
  const res = await fetch(url(single.http, '/loki/api/v1/push'), {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' },
    body,
  });
  assert.equal(res.status, 204, await res.text());
  const legacy = await fetch(url(single.http, '/api/prom/push'), {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ streams: [{ labels: '{job="legacy"}', entries: [{ ts: new Date(Number((NOW_NS - 9n * SEC) / 1_000_000n)).toISOString(), line: 'legacy line' }] }] }),
  });
  assert.equal(legacy.status, 204, await legacy.text());
  const rows = await stored(single, 'anonymous');
  assert.ok(rows.some(([l, line, md]) => l.job === 'json' && l.service_name === 'json' && line === 'json line' && md?.user === 'u'));
  assert.ok(rows.some(([l, line]) => l.job === 'legacy' && line === 'legacy line'));
});

test('partial rejection: good entries kept, 400 with grouped Loki reasons, discards counted', async () => {
  const before = await discarded(single, 'entry_too_old', 'anonymous');
  const res = await fetch(url(single.http, '/loki/api/v1/push'), {
    method: 'POST',
    headers: { 'content-type': 'application/x-protobuf' },
    body: pushProto([
      { labels: '{app="partial"}', entries: [{ timestamp: ts(5n), line: 'kept' }, { timestamp: ts(30n * 24n * 3600n), line: 'old 1' }, { timestamp: ts(40n * 24n * 3600n), line: 'old 2' }] },
      { labels: '{app=partial}', entries: [{ timestamp: ts(5n), line: 'bad labels' }] },
    ]),
  });
  assert.equal(res.status, 400);
  const text = await res.text();
  assert.match(text, /^1× invalid_labels: Error parsing labels '\{app=partial\}' with error: /m);
  assert.match(text, /^2× entry_too_old: entry for stream '\{app="partial", service_name="partial"\}' has timestamp too old: /m);
  assert.ok((await stored(single, 'anonymous')).some(([, line]) => line === 'kept'));
  assert.equal((await discarded(single, 'entry_too_old', 'anonymous')) - before, 2);
});

test('malformed bodies are 400, oversize bodies 413 naming the setting', async () => {
  const garbage = await fetch(url(single.http, '/loki/api/v1/push'), { method: 'POST', headers: { 'content-type': 'application/x-protobuf' }, body: Buffer.from('not snappy at all') });
  assert.equal(garbage.status, 400);
  const badJson = await fetch(url(single.http, '/loki/api/v1/push'), { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"streams":[{"stream":{"a":"b"},"values":[[1,"x"]]}]}' });
  assert.equal(badJson.status, 400);
  assert.match(await badJson.text(), /timestamp as a string/);
  const big = await fetch(url(single.http, '/loki/api/v1/push'), {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' },
    body: gzipSync(Buffer.alloc(4 * 1024 * 1024, 32)),
  });
  assert.equal(big.status, 413);
  assert.match(await big.text(), /logs\.max_decompressed_bytes/);
});

function otlpRequest(body: string, extra: { key: string; value: { stringValue: string } }[] = []) {
  return ExportLogsServiceRequest.fromObject({
    resourceLogs: [
      {
        resource: { attributes: [{ key: 'service.name', value: { stringValue: 'otlp-svc' } }, ...extra] },
        scopeLogs: [{ scope: { name: 'test' }, logRecords: [{ timeUnixNano: String(NOW_NS - 3n * SEC), severityNumber: 13, severityText: 'WARN', body: { stringValue: body } }] }],
      },
    ],
  });
}

test('OTLP/HTTP logs: protobuf on /otlp/v1/logs and JSON on the OTLP listener', async () => {
  const res = await fetch(url(single.http, '/otlp/v1/logs'), {
    method: 'POST',
    headers: { 'content-type': 'application/x-protobuf' },
    body: ExportLogsServiceRequest.encode(otlpRequest('otlp proto body')).finish(),
  });
  const bytes = new Uint8Array(await res.arrayBuffer());
  assert.equal(res.status, 200, Buffer.from(bytes).toString());
  const decoded = ExportLogsServiceResponse.toObject(ExportLogsServiceResponse.decode(bytes));
  assert.equal(decoded.partialSuccess, undefined);
  const json = await fetch(url(single.otlpHttp, '/v1/logs'), {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(ExportLogsServiceRequest.toObject(otlpRequest('otlp json body'), { longs: String })),
  });
  const jsonText = await json.text();
  assert.equal(json.status, 200, jsonText);
  assert.equal(jsonText, '{}');
  const rows = await stored(single, 'anonymous');
  const proto = rows.find(([, line]) => line === 'otlp proto body')!;
  assert.deepEqual(proto[0], { service_name: 'otlp-svc' });
  assert.equal(proto[2]?.severity_text, 'WARN');
  assert.equal(proto[2]?.detected_level, 'warn');
  assert.equal(proto[2]?.scope_name, 'test');
  assert.ok(rows.some(([, line]) => line === 'otlp json body'));
  const unsupported = await fetch(url(single.otlpHttp, '/v1/logs'), { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'x' });
  assert.equal(unsupported.status, 415);
});

test('OTLP partial_success reports refused log records', async () => {
  const req = otlpRequest('x'.repeat(300 * 1024));
  const res = await fetch(url(single.otlpHttp, '/v1/logs'), { method: 'POST', headers: { 'content-type': 'application/x-protobuf' }, body: ExportLogsServiceRequest.encode(req).finish() });
  assert.equal(res.status, 200);
  const decoded = ExportLogsServiceResponse.toObject(ExportLogsServiceResponse.decode(new Uint8Array(await res.arrayBuffer())), { longs: Number }) as {
    partialSuccess: { rejectedLogRecords: number; errorMessage: string };
  };
  assert.equal(decoded.partialSuccess.rejectedLogRecords, 1);
  assert.match(decoded.partialSuccess.errorMessage, /line_too_long: Max entry size '262144' bytes exceeded/);
});

test('OTLP/gRPC LogsService/Export', async () => {
  const Client = makeGenericClientConstructor(
    {
      Export: {
        path: LOGS_EXPORT_GRPC_PATH,
        requestStream: false,
        responseStream: false,
        requestSerialize: (b: Uint8Array) => Buffer.from(b),
        requestDeserialize: (b: Buffer) => b,
        responseSerialize: (b: Buffer) => b,
        responseDeserialize: (b: Buffer) => b,
      },
    },
    'LogsService',
  );
  const client = new Client(single.grpcAddress, credentials.createInsecure()) as unknown as {
    Export(req: Uint8Array, md: Metadata, cb: (err: ServiceError | null, res?: Buffer) => void): void;
    close(): void;
  };
  try {
    const call = (req: Uint8Array) => new Promise<Buffer>((resolve, reject) => client.Export(req, new Metadata(), (err, res) => (err ? reject(err) : resolve(res!))));
    const res = await call(ExportLogsServiceRequest.encode(otlpRequest('via grpc')).finish());
    assert.equal(ExportLogsServiceResponse.toObject(ExportLogsServiceResponse.decode(res)).partialSuccess, undefined);
    assert.ok((await stored(single, 'anonymous')).some(([, line]) => line === 'via grpc'));
    await assert.rejects(call(Buffer.from([0x0a, 0xff])), (err: ServiceError) => err.code === GrpcStatus.INVALID_ARGUMENT);
  } finally {
    client.close();
  }
});

test('multi-tenancy: 401 without a tenant, tenants from namespaces, 503 + Retry-After after shutdown', async () => {
  const env = await startEnv({ multitenancy: true, tenancy: { from_namespace: true, default_tenant: 'fallback' } });
  try {
    const body = JSON.stringify({
      streams: [
        { stream: { app: 'a', namespace: 'team-a' }, values: [[String(NOW_NS - SEC), 'for a']] },
        { stream: { app: 'b', namespace: 'team-b' }, values: [[String(NOW_NS - SEC), 'for b']] },
        { stream: { app: 'c' }, values: [[String(NOW_NS - SEC), 'for fallback']] },
      ],
    });
    const res = await fetch(url(env.http, '/loki/api/v1/push'), { method: 'POST', headers: { 'content-type': 'application/json' }, body });
    assert.equal(res.status, 204, await res.text());
    assert.deepEqual((await stored(env, 'team-a')).map(([, l]) => l), ['for a']);
    assert.deepEqual((await stored(env, 'team-b')).map(([, l]) => l), ['for b']);
    assert.deepEqual((await stored(env, 'fallback')).map(([, l]) => l), ['for fallback']);
    const otlp = await fetch(url(env.otlpHttp, '/v1/logs'), {
      method: 'POST',
      headers: { 'content-type': 'application/x-protobuf' },
      body: ExportLogsServiceRequest.encode(otlpRequest('ns from resource', [{ key: 'k8s.namespace.name', value: { stringValue: 'team-c' } }])).finish(),
    });
    assert.equal(otlp.status, 200);
    assert.deepEqual((await stored(env, 'team-c')).map(([, l]) => l), ['ns from resource']);
    const fixed = await fetch(url(env.http, '/loki/api/v1/push'), { method: 'POST', headers: { 'content-type': 'application/json', 'x-scope-orgid': 'explicit' }, body });
    assert.equal(fixed.status, 204);
    assert.equal((await stored(env, 'explicit')).length, 3);
    const multi = await fetch(url(env.http, '/loki/api/v1/push'), { method: 'POST', headers: { 'content-type': 'application/json', 'x-scope-orgid': 'a|b' }, body });
    assert.equal(multi.status, 400);
  } finally {
    await env.store.close();
    const closed = await fetch(url(env.http, '/loki/api/v1/push'), {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-scope-orgid': 'explicit' },
      body: JSON.stringify({ streams: [{ stream: { app: 'late' }, values: [[String(NOW_NS), 'late']] }] }),
    });
    assert.equal(closed.status, 503);
    assert.ok(Number(closed.headers.get('retry-after')) >= 1);
    await env.http.close();
    await env.otlpHttp.close();
    env.grpc.forceShutdown();
    fs.rmSync(env.dir, { recursive: true, force: true });
  }
  const noTenant = await startEnv({ multitenancy: true });
  try {
    const res = await fetch(url(noTenant.http, '/loki/api/v1/push'), { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"streams":[]}' });
    assert.equal(res.status, 401);
  } finally {
    await stopEnv(noTenant);
  }
});
