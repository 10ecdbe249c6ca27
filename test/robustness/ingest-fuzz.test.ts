// Bounded fuzz of every ingest decoder against the real binary: mutated remote_write 1.0/2.0, Loki push
// (protobuf and JSON) and OTLP metrics/logs (protobuf and JSON) bodies always get a 2xx or 4xx answer, never
// a 5xx or a crash, and the process keeps serving /ready and valid writes. Also the tenancy-name probes:
// namespaces named after Object.prototype members are ordinary tenants.
import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import protobuf from 'protobufjs';
import snappy from 'snappy';
import { startHeimdall } from '../e2e/harness.ts';
import type { HeimdallProcess } from '../e2e/harness.ts';

const PROTO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../proto');
const WriteRequest = protobuf.loadSync(path.join(PROTO, 'prometheus/remote.proto')).lookupType('prometheus.WriteRequest');
const V2Request = protobuf.loadSync(path.join(PROTO, 'prometheus/io/prometheus/write/v2/types.proto')).lookupType('io.prometheus.write.v2.Request');
const PushRequest = protobuf.loadSync(path.join(PROTO, 'loki/push.proto')).lookupType('logproto.PushRequest');
const otlp = protobuf.loadSync([path.join(PROTO, 'otlp/metrics-service.proto'), path.join(PROTO, 'otlp/logs-service.proto')]);
const MetricsRequest = otlp.lookupType('opentelemetry.proto.collector.metrics.v1.ExportMetricsServiceRequest');
const LogsRequest = otlp.lookupType('opentelemetry.proto.collector.logs.v1.ExportLogsServiceRequest');

/** Mutations per decoder: bounded so the run stays short on a loaded machine. */
const MUTATIONS = 40;
const NOW = Date.now();
/** Valid writes after fuzzing use a later time, so they are not re-sends of the seed. */
const LATER = NOW + 1000;

let h: HeimdallProcess;
before(async () => {
  h = await startHeimdall({ config: { multitenancy: true, tenancy: { from_namespace: true } } });
});
after(async () => {
  await h.stop();
});

/** A deterministic generator (mulberry32), so a failure names a reproducible case. */
function rng(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function mutate(seed: Uint8Array, rand: () => number): Buffer {
  const b = Buffer.from(seed);
  switch (Math.floor(rand() * 4)) {
    case 0: // flip a few bytes
      for (let i = 0; i < 1 + rand() * 4; i++) b[Math.floor(rand() * b.length)] = Math.floor(rand() * 256);
      return b;
    case 1: // truncate
      return b.subarray(0, Math.floor(rand() * b.length));
    case 2: // insert random bytes
    {
      const at = Math.floor(rand() * b.length);
      const junk = Buffer.from(Array.from({ length: 1 + Math.floor(rand() * 16) }, () => Math.floor(rand() * 256)));
      return Buffer.concat([b.subarray(0, at), junk, b.subarray(at)]);
    }
    default: // duplicate a slice
    {
      const from = Math.floor(rand() * b.length);
      return Buffer.concat([b, b.subarray(from, from + Math.floor(rand() * 64))]);
    }
  }
}

interface Target {
  readonly name: string;
  readonly url: () => string;
  readonly headers: Record<string, string>;
  readonly seed: Uint8Array;
  /** Compress after mutating (the mutation hits the decoder, not only the decompressor). */
  readonly snappy?: boolean;
}

const ns = [{ key: 'k8s.namespace.name', value: { stringValue: 'fuzz' } }, { key: 'service.name', value: { stringValue: 'svc' } }];
const otlpMetricsAt = (NOW: number) => ({ resourceMetrics: [{ resource: { attributes: ns }, scopeMetrics: [{ metrics: [
  { name: 'fuzz.gauge', gauge: { dataPoints: [{ timeUnixNano: String(NOW * 1e6), asDouble: 1, attributes: [{ key: 'a', value: { stringValue: 'b' } }] }] } },
  { name: 'fuzz.hist', histogram: { aggregationTemporality: 2, dataPoints: [{ timeUnixNano: String(NOW * 1e6), count: 2, sum: 1, explicitBounds: [1], bucketCounts: [1, 1] }] } },
] }] }] });
const otlpLogsAt = (NOW: number) => ({ resourceLogs: [{ resource: { attributes: ns }, scopeLogs: [{ logRecords: [
  { timeUnixNano: String(NOW * 1e6), body: { kvlistValue: { values: [{ key: 'x', value: { stringValue: 'y' } }] } }, attributes: [{ key: 'k', value: { intValue: 3 } }] },
] }] }] });

function targets(NOW: number): Target[] {
  const rwHeaders = { 'content-type': 'application/x-protobuf', 'content-encoding': 'snappy', 'x-scope-orgid': 'fuzz' };
  return [
    {
      name: 'remote_write 1.0',
      url: () => `${h.httpUrl}/api/v1/push`,
      headers: rwHeaders,
      snappy: true,
      seed: WriteRequest.encode(WriteRequest.fromObject({
        timeseries: [{ labels: [{ name: '__name__', value: 'fuzz_rw1' }, { name: 'job', value: 'j' }], samples: [{ value: 1, timestamp: NOW }] }],
        metadata: [{ type: 1, metricFamilyName: 'fuzz_rw1', help: 'h', unit: '' }],
      })).finish(),
    },
    {
      name: 'remote_write 2.0',
      url: () => `${h.httpUrl}/api/v1/push`,
      headers: { ...rwHeaders, 'content-type': 'application/x-protobuf;proto=io.prometheus.write.v2.Request' },
      snappy: true,
      seed: V2Request.encode(V2Request.fromObject({
        symbols: ['', '__name__', 'fuzz_rw2', 'job', 'j'],
        timeseries: [{ labelsRefs: [1, 2, 3, 4], samples: [{ value: 1, timestamp: NOW }], histograms: [{ countInt: 1, sum: 1, schema: 0, zeroCountInt: 1, timestamp: NOW }] }],
      })).finish(),
    },
    {
      name: 'Loki push protobuf',
      url: () => `${h.httpUrl}/loki/api/v1/push`,
      headers: { 'content-type': 'application/x-protobuf', 'x-scope-orgid': 'fuzz' },
      snappy: true,
      seed: PushRequest.encode(PushRequest.fromObject({
        streams: [{ labels: '{app="fuzz", namespace="fuzz"}', entries: [{ timestamp: { seconds: Math.floor(NOW / 1000) }, line: 'l', structuredMetadata: [{ name: 'k', value: 'v' }] }] }],
      })).finish(),
    },
    {
      name: 'Loki push JSON',
      url: () => `${h.httpUrl}/loki/api/v1/push`,
      headers: { 'content-type': 'application/json', 'x-scope-orgid': 'fuzz' },
      seed: Buffer.from(JSON.stringify({ streams: [{ stream: { app: 'fuzz' }, values: [[String(NOW * 1e6), 'line', { k: 'v' }]] }] })),
    },
    { name: 'OTLP metrics protobuf', url: () => `${h.otlpHttpUrl}/v1/metrics`, headers: { 'content-type': 'application/x-protobuf', 'x-scope-orgid': 'fuzz' }, seed: MetricsRequest.encode(MetricsRequest.fromObject(otlpMetricsAt(NOW))).finish() },
    { name: 'OTLP metrics JSON', url: () => `${h.otlpHttpUrl}/v1/metrics`, headers: { 'content-type': 'application/json', 'x-scope-orgid': 'fuzz' }, seed: Buffer.from(JSON.stringify(otlpMetricsAt(NOW))) },
    { name: 'OTLP logs protobuf', url: () => `${h.otlpHttpUrl}/v1/logs`, headers: { 'content-type': 'application/x-protobuf', 'x-scope-orgid': 'fuzz' }, seed: LogsRequest.encode(LogsRequest.fromObject(otlpLogsAt(NOW))).finish() },
    { name: 'OTLP logs JSON', url: () => `${h.httpUrl}/otlp/v1/logs`, headers: { 'content-type': 'application/json', 'x-scope-orgid': 'fuzz' }, seed: Buffer.from(JSON.stringify(otlpLogsAt(NOW))) },
  ];
}

async function post(t: Target, body: Uint8Array): Promise<number> {
  const res = await fetch(t.url(), { method: 'POST', body: t.snappy ? snappy.compressSync(Buffer.from(body)) : body, headers: t.headers });
  await res.arrayBuffer();
  return res.status;
}

test('every decoder answers mutated bodies with 2xx/4xx and the process keeps serving', async () => {
  const later = targets(LATER);
  for (const [i, t] of targets(NOW).entries()) {
    const seedStatus = await post(t, t.seed);
    assert.ok(seedStatus >= 200 && seedStatus < 300, `${t.name}: the seed is valid (${seedStatus})`);
    const rand = rng(1000 + i);
    for (let m = 0; m < MUTATIONS; m++) {
      const body = mutate(t.seed, rand);
      const status = await post(t, body);
      assert.ok(status >= 200 && status < 500, `${t.name} mutation ${m} (seed ${1000 + i}): answered ${status}`);
    }
    assert.equal((await fetch(`${h.httpUrl}/ready`)).status, 200, `${t.name}: /ready after fuzzing`);
    const after = await post(later[i]!, later[i]!.seed);
    assert.ok(after >= 200 && after < 300, `${t.name}: a valid write after fuzzing (${after})`);
  }
});

test('namespaces named after Object.prototype members are ordinary tenants, and __proto__ is an ordinary label', async () => {
  const names = ['constructor', 'toString', 'valueOf', 'hasOwnProperty', '__proto__'];
  const ts = String(NOW * 1e6);
  const streams = names.map((n) => ({ stream: { app: 'probe', namespace: n, __proto__: 'p' }, values: [[ts, `line of ${n}`]] }));
  // JSON.stringify of an object literal with a `__proto__` key would drop it: build the text by hand.
  const body = `{"streams":[${streams.map((s) => `{"stream":{"app":"probe","namespace":${JSON.stringify(s.stream.namespace)},"__proto__":"p"},"values":${JSON.stringify(s.values)}}`).join(',')}]}`;
  const res = await fetch(`${h.httpUrl}/loki/api/v1/push`, { method: 'POST', body, headers: { 'content-type': 'application/json' } });
  // `__proto__` is not a valid tenant id (no), so that one stream is refused by name; the others are written.
  const text = await res.text();
  for (const n of names.filter((x) => x !== '__proto__')) {
    const q = await fetch(`${h.httpUrl}/loki/api/v1/query_range?${new URLSearchParams({ query: '{app="probe"}', start: String((NOW - 60_000) * 1e6), end: String((NOW + 60_000) * 1e6) })}`, { headers: { 'x-scope-orgid': n } });
    assert.equal(q.status, 200, await q.clone().text());
    const result = ((await q.json()) as { data: { result: { values: [string, string][] }[] } }).data.result;
    assert.deepEqual(result.flatMap((r) => r.values.map((v) => v[1])), [`line of ${n}`], `tenant ${n} (push answered ${res.status}: ${text})`);
  }
});
