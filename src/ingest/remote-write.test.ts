import assert from 'node:assert/strict';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import protobuf from 'protobufjs';
import { STALE_NAN, isStaleNaN } from '../model/index.ts';
import type { MetricRecord } from '../model/index.ts';
import { decodeRemoteWrite, remoteWriteVersion } from './remote-write.ts';

const protoDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../proto/prometheus');
const v1Root = protobuf.loadSync(path.join(protoDir, 'remote.proto'));
const v2Root = protobuf.loadSync(path.join(protoDir, 'io/prometheus/write/v2/types.proto'));
const WriteRequest = v1Root.lookupType('prometheus.WriteRequest');
const V2Request = v2Root.lookupType('io.prometheus.write.v2.Request');

function v1(obj: Record<string, unknown>): Uint8Array {
  const err = WriteRequest.verify(obj);
  assert.equal(err, null);
  return WriteRequest.encode(WriteRequest.fromObject(obj)).finish();
}

function v2(obj: Record<string, unknown>): Uint8Array {
  const err = V2Request.verify(obj);
  assert.equal(err, null);
  return V2Request.encode(V2Request.fromObject(obj)).finish();
}

const lbl = (name: string, value: string) => ({ name, value });

test('remote_write 1.0: samples, exemplars, integer and float native histograms, metadata', () => {
  const body = v1({
    timeseries: [
      {
        labels: [lbl('__name__', 'http_requests_total'), lbl('job', 'api'), lbl('path', '/x')],
        samples: [
          { value: 1, timestamp: 1_700_000_000_000 },
          { value: 2.5, timestamp: 1_700_000_015_000 },
        ],
        exemplars: [{ labels: [lbl('trace_id', 'abc')], value: 2, timestamp: 1_700_000_010_000 }],
      },
      {
        labels: [lbl('__name__', 'latency_seconds'), lbl('job', 'api')],
        histograms: [
          {
            countInt: 10,
            sum: 12.5,
            schema: 3,
            zeroThreshold: 1e-128,
            zeroCountInt: 1,
            positiveSpans: [{ offset: -2, length: 2 }, { offset: 1, length: 2 }],
            positiveDeltas: [2, 1, -2, 0],
            negativeSpans: [{ offset: 0, length: 1 }],
            negativeDeltas: [1],
            resetHint: 2,
            timestamp: 1_700_000_000_000,
          },
          {
            countFloat: 3.5,
            sum: 1,
            schema: -53,
            positiveSpans: [{ offset: 0, length: 3 }],
            positiveCounts: [1, 0.5, 2],
            customValues: [0.1, 1],
            timestamp: 1_700_000_015_000,
          },
        ],
      },
    ],
    metadata: [{ type: 1, metricFamilyName: 'http_requests_total', help: 'Requests.', unit: '' }],
  });
  const out = decodeRemoteWrite(body, 1);
  assert.equal(out.malformed, undefined);
  assert.deepEqual(out.rejections, []);
  assert.equal(out.records.length, 3);
  const [a, b, meta] = out.records as [MetricRecord, MetricRecord, MetricRecord];
  assert.deepEqual({ ...a.labels }, { __name__: 'http_requests_total', job: 'api', path: '/x' });
  assert.deepEqual(a.samples, [
    { timestampMs: 1_700_000_000_000, value: 1 },
    { timestampMs: 1_700_000_015_000, value: 2.5 },
  ]);
  assert.deepEqual(a.exemplars, [{ labels: { trace_id: 'abc' }, value: 2, timestampMs: 1_700_000_010_000 }]);
  assert.equal(b.samples, undefined);
  assert.equal(b.histograms?.length, 2);
  const h0 = b.histograms[0]!;
  assert.equal(h0.timestampMs, 1_700_000_000_000);
  assert.deepEqual(h0.histogram, {
    schema: 3,
    zeroThreshold: 1e-128,
    zeroCount: 1,
    count: 10,
    sum: 12.5,
    positiveSpans: [{ offset: -2, length: 2 }, { offset: 1, length: 2 }],
    positiveBuckets: [2, 3, 1, 1],
    negativeSpans: [{ offset: 0, length: 1 }],
    negativeBuckets: [1],
    resetHint: 2,
  });
  const h1 = b.histograms[1]!.histogram;
  assert.equal(h1.schema, -53);
  assert.equal(h1.count, 3.5);
  assert.deepEqual(h1.positiveBuckets, [1, 0.5, 2]);
  assert.deepEqual(h1.customValues, [0.1, 1]);
  assert.deepEqual(meta, { labels: { __name__: 'http_requests_total' }, metadata: { type: 'counter', help: 'Requests.', unit: '' } });
});

test('remote_write 1.0: stale markers survive decoding bit for bit', () => {
  const body = v1({ timeseries: [{ labels: [lbl('__name__', 'up')], samples: [{ value: STALE_NAN, timestamp: 5 }] }] });
  const out = decodeRemoteWrite(body, 1);
  assert.ok(isStaleNaN(out.records[0]!.samples![0]!.value));
  const nan = decodeRemoteWrite(v1({ timeseries: [{ labels: [lbl('__name__', 'up')], samples: [{ value: NaN, timestamp: 5 }] }] }), 1);
  const v = nan.records[0]!.samples![0]!.value;
  assert.ok(Number.isNaN(v) && !isStaleNaN(v), 'an ordinary NaN is not a stale marker');
});

test('remote_write 1.0: negative and large timestamps, unknown fields skipped', () => {
  const body = v1({
    timeseries: [{ labels: [lbl('__name__', 'x')], samples: [{ value: 1, timestamp: -1500 }, { value: 2, timestamp: 2 ** 50 }] }],
  });
  // Append an unknown field (number 15, varint) to the request: receivers must skip it.
  const withUnknown = new Uint8Array([...body, (15 << 3) | 0, 0x96, 0x01]);
  const out = decodeRemoteWrite(withUnknown, 1);
  assert.deepEqual(out.records[0]!.samples, [
    { timestampMs: -1500, value: 1 },
    { timestampMs: 2 ** 50, value: 2 },
  ]);
});

test('remote_write 1.0: invalid series are rejected one by one, the rest kept', () => {
  const body = v1({
    timeseries: [
      { labels: [lbl('job', 'a')], samples: [{ value: 1, timestamp: 1 }, { value: 2, timestamp: 2 }] },
      { labels: [lbl('__name__', 'dup'), lbl('b', '1'), lbl('a', '2'), lbl('b', '3')], samples: [{ value: 1, timestamp: 1 }] },
      { labels: [lbl('__name__', 'ok'), lbl('empty', ''), lbl('job', 'a')], samples: [{ value: 7, timestamp: 1 }] },
      { labels: [lbl('__name__', 'noname'), lbl('', 'v')], samples: [{ value: 1, timestamp: 1 }] },
      { labels: [lbl('__name__', ''), lbl('job', 'x')], samples: [{ value: 1, timestamp: 1 }] },
      { labels: [lbl('__name__', 'utf8.ok'), lbl('nöme', 'välue')], samples: [{ value: 3, timestamp: 1 }] },
    ],
  });
  const out = decodeRemoteWrite(body, 1);
  assert.deepEqual(
    out.records.map((r) => ({ ...r.labels })),
    [{ __name__: 'ok', job: 'a' }, { __name__: 'utf8.ok', nöme: 'välue' }],
    'empty label values are dropped; UTF-8 names are allowed',
  );
  assert.deepEqual(
    out.rejections.map((r) => [r.reason, r.count]),
    [
      ['missing_metric_name', 2],
      ['duplicate_label_names', 1],
      ['invalid_label_name', 1],
      ['missing_metric_name', 1],
    ],
  );
  assert.match(out.rejections[1]!.message, /duplicate label name, label: 'b'/);
  assert.equal(out.rejections[0]!.signal, 'metrics');
});

test('remote_write 1.0: labels that collide with Object.prototype keys are kept as labels', () => {
  const body = v1({
    timeseries: [{ labels: [lbl('__name__', 'x'), lbl('__proto__', 'p'), lbl('constructor', 'c')], samples: [{ value: 1, timestamp: 1 }] }],
  });
  const out = decodeRemoteWrite(body, 1);
  assert.deepEqual(out.rejections, []);
  const labels = out.records[0]!.labels;
  assert.equal(Object.getOwnPropertyDescriptor(labels, '__proto__')?.value, 'p');
  assert.equal(labels['constructor'], 'c');
  assert.deepEqual(Object.keys(labels).sort(), ['__name__', '__proto__', 'constructor']);
});

test('remote_write 1.0: invalid UTF-8 in label names and values is refused', () => {
  const raw = protobuf.parse(`syntax = "proto3";
    message L { bytes name = 1; bytes value = 2; }
    message S { double value = 1; int64 timestamp = 2; }
    message T { repeated L labels = 1; repeated S samples = 2; }
    message W { repeated T timeseries = 1; }`).root;
  const W = raw.lookupType('W');
  const bad = Buffer.from([0x66, 0xff, 0x6f]);
  const body = W.encode(
    W.fromObject({
      timeseries: [
        { labels: [{ name: Buffer.from('__name__'), value: Buffer.from('x') }, { name: bad, value: Buffer.from('v') }], samples: [{ value: 1, timestamp: 1 }] },
        { labels: [{ name: Buffer.from('__name__'), value: Buffer.from('x') }, { name: Buffer.from('a'), value: bad }], samples: [{ value: 1, timestamp: 1 }] },
        { labels: [{ name: Buffer.from('__name__'), value: bad }], samples: [{ value: 1, timestamp: 1 }] },
        { labels: [{ name: Buffer.from('__name__'), value: Buffer.from('fine') }], samples: [{ value: 1, timestamp: 1 }] },
      ],
    }),
  ).finish();
  const out = decodeRemoteWrite(body, 1);
  assert.deepEqual(out.rejections.map((r) => r.reason), ['invalid_label_name', 'invalid_label_value', 'invalid_metric_name']);
  assert.deepEqual(out.records.map((r) => r.labels['__name__']), ['fine']);
});

test('remote_write 1.0: bad exemplars and histograms are rejected alone', () => {
  const body = v1({
    timeseries: [
      {
        labels: [lbl('__name__', 'h'), lbl('job', 'j')],
        samples: [{ value: 1, timestamp: 1 }],
        exemplars: [
          { labels: [lbl('trace_id', 'x'.repeat(200))], value: 1, timestamp: 1 },
          { labels: [lbl('trace_id', 'ok')], value: 1, timestamp: 1 },
        ],
        histograms: [
          { countInt: 1, schema: 0, positiveSpans: [{ offset: 0, length: 2 }], positiveDeltas: [1], timestamp: 1 },
          { countInt: 1, schema: 12, timestamp: 2 },
          { countInt: 1, schema: 0, positiveSpans: [{ offset: 0, length: 2 }], positiveDeltas: [1, -2], timestamp: 3 },
          { countInt: 1, schema: 0, positiveSpans: [{ offset: 0, length: 1 }], positiveDeltas: [3], timestamp: 4 },
          { countInt: 3, schema: 0, positiveSpans: [{ offset: 0, length: 1 }], positiveDeltas: [3], timestamp: 5 },
        ],
      },
    ],
  });
  const out = decodeRemoteWrite(body, 1);
  assert.equal(out.records.length, 1);
  const rec = out.records[0]!;
  assert.equal(rec.exemplars?.length, 1);
  assert.deepEqual(rec.histograms?.map((h) => h.timestampMs), [5]);
  assert.deepEqual(out.rejections.map((r) => r.reason), ['exemplar_invalid', 'invalid_record', 'invalid_record', 'invalid_record', 'invalid_record']);
  assert.match(out.rejections[1]!.message, /spans cover 2 buckets but 1/);
  assert.match(out.rejections[2]!.message, /schema 12/);
  assert.match(out.rejections[3]!.message, /negative/);
  assert.match(out.rejections[4]!.message, /count 1 is smaller/);
  assert.match(out.rejections[0]!.message, /series: 'h\{job="j"\}'/);
});

test('remote_write: malformed bodies are reported, never thrown', () => {
  const good = v1({ timeseries: [{ labels: [lbl('__name__', 'x')], samples: [{ value: 1, timestamp: 1 }] }] });
  const cases: Uint8Array[] = [
    good.subarray(0, good.length - 3), // truncated
    new Uint8Array([0x0a, 0xff, 0xff, 0xff, 0xff, 0x07]), // a 2 GiB length prefix on a 6-byte body
    new Uint8Array([0x0f]), // wire type 7
    new Uint8Array([0x2a, 0x02, 0x0a, 0x05, 0x0a, 0x02, 0x0a, 0x05]), // nested length past the parent (v2, v1)
    new Uint8Array([0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]), // endless varint
    Buffer.from('{"json": "not protobuf"}'),
  ];
  for (const body of cases) {
    for (const version of [1, 2] as const) {
      const out = decodeRemoteWrite(body, version);
      assert.ok(out.malformed, `expected malformed for ${Buffer.from(body).toString('hex')} v${version}`);
      assert.deepEqual(out.records, []);
    }
  }
  assert.deepEqual(decodeRemoteWrite(new Uint8Array(0), 1), { records: [], rejections: [] });
});

test('remote_write 1.0: a body of a million tiny series decodes in bounded memory', () => {
  // Shaped like a decompression bomb that got past the size cap: many empty series. Each is rejected
  // (no metric name) with one rejection; nothing is kept.
  const n = 200_000;
  const body = new Uint8Array(n * 2);
  for (let i = 0; i < n; i++) {
    body[i * 2] = 0x0a;
    body[i * 2 + 1] = 0x00;
  }
  const out = decodeRemoteWrite(body, 1);
  assert.equal(out.records.length, 0);
  assert.equal(out.rejections.length, n);
});

test('remote_write 2.0: symbols, samples, histograms, exemplars, metadata, created timestamps', () => {
  const symbols = ['', '__name__', 'http_requests_total', 'job', 'api', 'trace_id', 'abc', 'Requests.', 'latency_seconds_bucket', 'le', '0.5', 'seconds', 'h_native'];
  const body = v2({
    symbols,
    timeseries: [
      {
        labelsRefs: [1, 2, 3, 4],
        samples: [{ value: 3, timestamp: 1000, startTimestamp: 500 }],
        exemplars: [{ labelsRefs: [5, 6], value: 3, timestamp: 900 }],
        metadata: { type: 1, helpRef: 7, unitRef: 0 },
      },
      {
        labelsRefs: [1, 8, 3, 4, 9, 10],
        samples: [{ value: 1, timestamp: 1000 }],
        metadata: { type: 3, helpRef: 0, unitRef: 11 },
        createdTimestamp: 400,
      },
      {
        labelsRefs: [1, 12],
        histograms: [{ countInt: 2, sum: 1, schema: 0, zeroCountInt: 0, positiveSpans: [{ offset: 1, length: 1 }], positiveDeltas: [2], timestamp: 1000, startTimestamp: 300 }],
      },
    ],
  });
  const out = decodeRemoteWrite(body, 2);
  assert.equal(out.malformed, undefined);
  assert.deepEqual(out.rejections, []);
  const series = out.records.filter((r) => r.samples || r.histograms);
  const meta = out.records.filter((r) => r.metadata);
  assert.deepEqual(series[0], {
    labels: { __name__: 'http_requests_total', job: 'api' },
    samples: [{ timestampMs: 1000, value: 3 }],
    exemplars: [{ labels: { trace_id: 'abc' }, value: 3, timestampMs: 900 }],
    createdTimestampMs: 500,
  });
  assert.equal(series[1]!.createdTimestampMs, 400);
  assert.equal(series[2]!.createdTimestampMs, 300);
  assert.deepEqual(series[2]!.histograms![0]!.histogram.positiveBuckets, [2]);
  assert.deepEqual(meta, [
    { labels: { __name__: 'http_requests_total' }, metadata: { type: 'counter', help: 'Requests.', unit: '' } },
    { labels: { __name__: 'latency_seconds' }, metadata: { type: 'histogram', help: '', unit: 'seconds' } },
  ]);
});

test('remote_write 2.0: bad references and odd label lists are per-series rejections', () => {
  const body = v2({
    symbols: ['', '__name__', 'a'],
    timeseries: [
      { labelsRefs: [1, 2, 7, 2], samples: [{ value: 1, timestamp: 1 }] },
      { labelsRefs: [1, 2, 1], samples: [{ value: 1, timestamp: 1 }, { value: 1, timestamp: 2 }] },
      { labelsRefs: [1, 2], samples: [{ value: 1, timestamp: 1 }], exemplars: [{ labelsRefs: [9, 9], value: 1 }] },
    ],
  });
  const out = decodeRemoteWrite(body, 2);
  assert.deepEqual(out.rejections.map((r) => [r.reason, r.count]), [
    ['invalid_record', 1],
    ['invalid_record', 2],
    ['exemplar_invalid', 1],
  ]);
  assert.deepEqual(out.records.map((r) => ({ ...r.labels })), [{ __name__: 'a' }]);
});

test('remote_write 2.0: a 1.0 body decodes as an empty 2.0 request (reserved fields)', () => {
  const body = v1({ timeseries: [{ labels: [lbl('__name__', 'x')], samples: [{ value: 1, timestamp: 1 }] }] });
  assert.deepEqual(decodeRemoteWrite(body, 2), { records: [], rejections: [] });
});

test('remoteWriteVersion reads the proto parameter', () => {
  assert.deepEqual(remoteWriteVersion(undefined), { version: 1 });
  assert.deepEqual(remoteWriteVersion('application/x-protobuf'), { version: 1 });
  assert.deepEqual(remoteWriteVersion('application/x-protobuf;proto=prometheus.WriteRequest'), { version: 1 });
  assert.deepEqual(remoteWriteVersion('application/x-protobuf; proto=io.prometheus.write.v2.Request'), { version: 2 });
  assert.deepEqual(remoteWriteVersion('Application/X-Protobuf;proto="io.prometheus.write.v2.Request"'), { version: 2 });
  const bad = remoteWriteVersion('application/x-protobuf;proto=io.prometheus.write.v3.Request');
  assert.ok('unsupported' in bad && /io\.prometheus\.write\.v3\.Request/.test(bad.unsupported));
  assert.ok('unsupported' in remoteWriteVersion('application/json'));
});

test('remote_write 1.0: the series label cache returns the same labels for the same bytes only', () => {
  const body = (job: string) => v1({ timeseries: [{ labels: [lbl('__name__', 'cached'), lbl('job', job)], samples: [{ value: 1, timestamp: 1 }] }] });
  const a = [1, 2, 3].map(() => decodeRemoteWrite(body('a'), 1).records[0]!.labels);
  assert.equal(a[1], a[2], 'a series seen before reuses its validated labels');
  const b = decodeRemoteWrite(body('b'), 1).records[0]!.labels;
  assert.deepEqual({ ...b }, { __name__: 'cached', job: 'b' });
  assert.deepEqual({ ...a[2] }, { __name__: 'cached', job: 'a' });
});

test('remote_write 1.0: labels interleaved with samples are all read (cache hit or not)', () => {
  const Label = v1Root.lookupType('prometheus.Label');
  const Sample = v1Root.lookupType('prometheus.Sample');
  const field = (n: number, bytes: Uint8Array) => {
    const w = protobuf.Writer.create();
    w.uint32((n << 3) | 2).bytes(bytes);
    return w.finish();
  };
  const ts = Buffer.concat([
    field(1, Label.encode({ name: '__name__', value: 'interleaved' }).finish()),
    field(2, Sample.encode({ value: 3, timestamp: 9 }).finish()),
    field(1, Label.encode({ name: 'job', value: 'late' }).finish()),
  ]);
  const body = field(1, ts);
  // The first label block alone is a series the cache may know: make sure it does.
  for (let i = 0; i < 3; i++) decodeRemoteWrite(v1({ timeseries: [{ labels: [lbl('__name__', 'interleaved')], samples: [{ value: 1, timestamp: 1 }] }] }), 1);
  for (let i = 0; i < 3; i++) {
    const out = decodeRemoteWrite(body, 1);
    assert.deepEqual(out.rejections, []);
    assert.deepEqual({ ...out.records[0]!.labels }, { __name__: 'interleaved', job: 'late' });
    assert.deepEqual(out.records[0]!.samples, [{ timestampMs: 9, value: 3 }]);
  }
});
