import assert from 'node:assert/strict';
import { test } from 'node:test';
import snappy from 'snappy';
import { makeSpan, record } from '../../test/support/trace-spans.ts';
import { decodeLokiPushProtobuf } from '../ingest/loki-push.ts';
import { decodeOtlpTracesProtobuf } from '../ingest/otlp-traces.ts';
import { decodePyroscopePush } from '../ingest/pyroscope-push.ts';
import { decodeRemoteWrite } from '../ingest/remote-write.ts';
import { STALE_NAN, isStaleNaN } from '../model/index.ts';
import { profileTypeLabels } from '../model/index.ts';
import type { LogRecord, MetricRecord, Profile } from '../model/index.ts';
import {
  logsQueueCodec,
  lokiPushWire,
  metricsQueueCodec,
  profilesQueueCodec,
  pyroscopePushWire,
  remoteWriteV1Wire,
  remoteWriteV2Wire,
  tracesQueueCodec,
} from './signal-codecs.ts';

// Every queued body goes back through the gateway's own decoders (the ones that passed the upstream clients'
// tests), so what a forwarding gateway sends is what a receiver reads; and two queued bodies laid end to end
// (a batch) read as the union of both.

const histogram = {
  schema: 1,
  zeroThreshold: 0.001,
  zeroCount: 2,
  count: 9,
  sum: 17.5,
  positiveSpans: [{ offset: -1, length: 2 }, { offset: 3, length: 1 }],
  positiveBuckets: [1, 3, 2],
  negativeSpans: [{ offset: 0, length: 1 }],
  negativeBuckets: [1],
  resetHint: 2,
};

const metrics: MetricRecord[] = [
  {
    labels: { __name__: 'http_requests_total', job: 'api', path: '/a"b' },
    samples: [{ timestampMs: 1_700_000_000_000, value: 1 }, { timestampMs: 1_700_000_015_000, value: STALE_NAN }],
    exemplars: [{ labels: { trace_id: 'abc' }, value: 1, timestampMs: 1_700_000_000_000 }],
    metadata: { type: 'counter', help: 'Requests.', unit: '' },
  },
  { labels: { __name__: 'latency_seconds', job: 'api' }, histograms: [{ timestampMs: 1_700_000_000_000, histogram }] },
];

function unsnappy(body: Uint8Array): Buffer {
  return snappy.uncompressSync(Buffer.from(body), { asBuffer: true }) as Buffer;
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  return Buffer.concat([a, b]);
}

test('metrics: remote_write 1.0 bodies decode to the records, stale markers exact, and concatenate', () => {
  const { body, weight, stats } = metricsQueueCodec.encode(metrics);
  assert.equal(weight, 3);
  assert.deepEqual(stats, { records: 2, histograms: 1, exemplars: 1 });
  const { body: wire, headers } = remoteWriteV1Wire.request(concat(body, body));
  assert.equal(headers['content-encoding'], 'snappy');
  const decoded = decodeRemoteWrite(unsnappy(wire), 1);
  assert.equal(decoded.malformed, undefined);
  assert.deepEqual(decoded.rejections, []);
  const series = decoded.records.filter((r) => r.samples || r.histograms);
  assert.equal(series.length, 4);
  assert.deepEqual(series[0]!.labels, metrics[0]!.labels);
  assert.equal(series[0]!.samples![0]!.value, 1);
  assert.ok(isStaleNaN(series[0]!.samples![1]!.value));
  assert.deepEqual(series[0]!.exemplars, metrics[0]!.exemplars);
  assert.deepEqual(series[1]!.histograms![0]!.histogram, histogram);
  const meta = decoded.records.find((r) => !r.samples && !r.histograms);
  assert.deepEqual(meta, { labels: { __name__: 'http_requests_total' }, metadata: { type: 'counter', help: 'Requests.', unit: '' } });
  // The stale marker goes out as Prometheus' exact bit pattern, not a quietened NaN.
  const raw = unsnappy(wire);
  assert.ok(raw.includes(Buffer.from([0x02, 0, 0, 0, 0, 0, 0xf0, 0x7f])));
});

test('metrics: remote_write 2.0 re-encodes a batch with one symbol table and per-series metadata', () => {
  const { body } = metricsQueueCodec.encode(metrics);
  const { body: wire, headers } = remoteWriteV2Wire.request(concat(body, body));
  assert.equal(headers['content-type'], 'application/x-protobuf;proto=io.prometheus.write.v2.Request');
  const decoded = decodeRemoteWrite(unsnappy(wire), 2);
  assert.equal(decoded.malformed, undefined);
  assert.deepEqual(decoded.rejections, []);
  const series = decoded.records.filter((r) => r.samples || r.histograms);
  assert.equal(series.length, 4);
  assert.deepEqual(series[0]!.labels, metrics[0]!.labels);
  assert.ok(isStaleNaN(series[0]!.samples![1]!.value));
  assert.deepEqual(series[1]!.histograms![0]!.histogram, histogram);
  // The family's metadata rode on its series (the decoder hands it back as one metadata record per family).
  const meta = decoded.records.filter((r) => !r.samples && !r.histograms);
  assert.deepEqual(meta, [{ labels: { __name__: 'http_requests_total' }, metadata: { type: 'counter', help: 'Requests.', unit: '' } }]);
});

test('logs: Loki push bodies decode to the streams with structured metadata and concatenate', () => {
  const logs: LogRecord[] = [
    {
      labels: { app: 'web', env: 'prod "x"' },
      entries: [
        { timestampNs: 1_700_000_000_123_456_789n, line: 'hello', structuredMetadata: { trace_id: 'abc', level: 'info' } },
        { timestampNs: 1_700_000_001_000_000_000n, line: 'ünïcode' },
      ],
    },
  ];
  const { body, weight } = logsQueueCodec.encode(logs);
  assert.equal(weight, 2);
  const decoded = decodeLokiPushProtobuf(unsnappy(lokiPushWire.request(concat(body, body)).body));
  assert.equal(decoded.malformed, undefined);
  assert.equal(decoded.records.length, 2);
  assert.deepEqual(decoded.records[1]!.labels, logs[0]!.labels);
  assert.deepEqual(
    decoded.records[0]!.entries.map((e) => [e.timestampNs, e.line, e.structuredMetadata]),
    [
      [1_700_000_000_123_456_789n, 'hello', { level: 'info', trace_id: 'abc' }],
      [1_700_000_001_000_000_000n, 'ünïcode', undefined],
    ],
  );
});

test('traces: OTLP bodies decode to the same spans and resources and concatenate', () => {
  const spans = [0, 1, 2].map((i) => makeSpan({ trace: 1, index: i, ...(i > 0 ? { parent: 0 } : {}), startNs: 1_700_000_000_000_000_000n + BigInt(i), error: i === 1 }));
  const records = [record('svc', spans)];
  const { body, weight } = tracesQueueCodec.encode(records);
  assert.equal(weight, 3);
  const decoded = decodeOtlpTracesProtobuf(concat(body, body));
  assert.equal(decoded.malformed, undefined);
  assert.equal(decoded.spans, 6);
  assert.deepEqual(decoded.records[0]!.resource, records[0]!.resource);
  assert.deepEqual(decoded.records[0]!.spans, spans);
});

test('profiles: Pyroscope PushRequest bodies decode to the records (symbols, stacks, spans, time) and concatenate', () => {
  const cpu = { name: 'process_cpu', sampleType: 'cpu', sampleUnit: 'nanoseconds', periodType: 'cpu', periodUnit: 'nanoseconds' };
  const profile = (service: string, spanId?: string): Profile => ({
    labels: { service_name: service, env: 'prod', ...profileTypeLabels(cpu) },
    timeMs: 1_700_000_000_123,
    durationNs: 10_000_000_000,
    functions: [{ name: 'leaf', filename: 'a.go' }, { name: 'main' }, { name: 'mid', filename: 'b.go' }],
    stacks: [[0, 1], [0, 2, 1]],
    samples: [{ stack: 0, value: 30 }, { stack: 1, value: 12, ...(spanId ? { spanId } : {}) }],
    profileId: `id-${service}`,
  });
  const a = profilesQueueCodec.encode([profile('api', '00112233aabbccdd')]);
  const b = profilesQueueCodec.encode([profile('db')]);
  assert.deepEqual([a.weight, a.stats], [1, { records: 1 }]);
  const request = pyroscopePushWire.request(concat(a.body, b.body));
  assert.equal(request.headers['content-type'], 'application/proto');
  const limits = { maxProfileBytes: 0, maxSamples: 0, maxStackDepth: 0, maxSymbolLength: 0 };
  const decoded = decodePyroscopePush(Buffer.from(request.body), false, limits, 0);
  assert.deepEqual(decoded.rejections, []);
  assert.equal(decoded.malformed, undefined);
  assert.deepEqual(decoded.records, [profile('api', '00112233aabbccdd'), profile('db')]);
});
