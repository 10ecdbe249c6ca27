import assert from 'node:assert/strict';
import fs from 'node:fs';
import { test } from 'node:test';
import Long from 'long';
import { isStaleNaN } from '../model/index.ts';
import type { MetricRecord } from '../model/index.ts';
import { convertExponentialBuckets } from './otlp-metrics-exponential.ts';
import { buildLabelName, buildMetricName } from './otlp-metrics-naming.ts';
import { ExportMetricsServiceRequest, ExportMetricsServiceResponse, encodeExportMetricsResponse, exportMetricsResponseJson } from './otlp-metrics-proto.ts';
import { decodeOtlpMetricsJson, decodeOtlpMetricsProtobuf, nanosToMs } from './otlp-metrics.ts';

const FIXTURE = '/work/shared/fixtures/otlp/metrics.json';

const series = (records: readonly MetricRecord[]) => records.filter((r) => r.samples || r.histograms);
const byName = (records: readonly MetricRecord[], name: string) => series(records).filter((r) => r.labels['__name__'] === name);
const str = (key: string, value: string) => ({ key, value: { stringValue: value } });

test('OTLP/JSON fixture: delta temporality is refused by default, as Prometheus does', () => {
  const out = decodeOtlpMetricsJson(fs.readFileSync(FIXTURE));
  assert.equal(out.malformed, undefined);
  assert.equal(out.dataPoints, 4);
  assert.deepEqual(series(out.records).map((r) => ({ ...r.labels })), [
    { __name__: 'my_gauge_ratio', job: 'my.service', my_gauge_attr: 'some value' },
  ]);
  assert.deepEqual(out.rejections.map((r) => [r.reason, r.count]), [
    ['unsupported', 1],
    ['unsupported', 1],
    ['unsupported', 1],
  ]);
  assert.match(out.rejections[0]!.message, /invalid temporality and type combination for metric "my\.counter"/);
});

test('OTLP/JSON fixture with delta ingestion: counter, gauge, classic and exponential histogram', () => {
  const out = decodeOtlpMetricsJson(fs.readFileSync(FIXTURE), { allowDeltaTemporality: true });
  assert.deepEqual(out.rejections, []);
  const ts = 1544712660300;
  const s = series(out.records);
  assert.deepEqual(
    s.map((r) => [{ ...r.labels }, r.samples?.map((x) => x.value)]),
    [
      [{ __name__: 'my_counter_total', job: 'my.service', my_counter_attr: 'some value' }, [5]],
      [{ __name__: 'my_gauge_ratio', job: 'my.service', my_gauge_attr: 'some value' }, [10]],
      [{ __name__: 'my_histogram_sum', job: 'my.service', my_histogram_attr: 'some value' }, [2]],
      [{ __name__: 'my_histogram_count', job: 'my.service', my_histogram_attr: 'some value' }, [2]],
      [{ __name__: 'my_histogram_bucket', job: 'my.service', my_histogram_attr: 'some value', le: '1' }, [1]],
      [{ __name__: 'my_histogram_bucket', job: 'my.service', my_histogram_attr: 'some value', le: '+Inf' }, [2]],
      [{ __name__: 'my_exponential_histogram', job: 'my.service', my_exponential_histogram_attr: 'some value' }, undefined],
    ],
  );
  for (const r of s) assert.equal((r.samples ?? r.histograms)![0]!.timestampMs, ts);
  const exp = byName(out.records, 'my_exponential_histogram')[0]!.histograms![0]!.histogram;
  assert.deepEqual(exp, {
    schema: 0,
    zeroThreshold: 1e-128,
    zeroCount: 1,
    count: 3,
    sum: 10,
    // OTLP buckets 1 and 2 ((2,4] and (4,8]) are native buckets 2 and 3.
    positiveSpans: [{ offset: 2, length: 2 }],
    positiveBuckets: [0, 2],
    negativeSpans: [],
    negativeBuckets: [],
    resetHint: 3,
  });
  const meta = out.records.filter((r) => r.metadata).map((r) => [r.labels['__name__'], r.metadata!.type, r.metadata!.help]);
  assert.deepEqual(meta, [
    ['my_counter_total', 'counter', 'I am a Counter'],
    ['my_gauge_ratio', 'gauge', 'I am a Gauge'],
    ['my_histogram', 'histogram', 'I am a Histogram'],
    ['my_exponential_histogram', 'histogram', 'I am an Exponential Histogram'],
  ]);
  // Only service.name on the resource: no target_info.
  assert.equal(byName(out.records, 'target_info').length, 0);
});

function protoRequest(): Uint8Array {
  const t = Long.fromString('1700000000123456789', true);
  const start = Long.fromString('1699999000000000000', true);
  const traceId = Buffer.from('0102030405060708090a0b0c0d0e0f10', 'hex');
  const spanId = Buffer.from('a1a2a3a4a5a6a7a8', 'hex');
  const msg = ExportMetricsServiceRequest.fromObject({
    resourceMetrics: [
      {
        resource: {
          attributes: [
            str('service.name', 'checkout'),
            str('service.namespace', 'shop'),
            str('service.instance.id', 'pod-1'),
            str('k8s.namespace.name', 'team-a'),
            str('host.name', 'node-7'),
            { key: 'process.pid', value: { intValue: 42 } },
          ],
        },
        scopeMetrics: [
          {
            scope: { name: 'lib', version: '1' },
            metrics: [
              {
                name: 'http.server.request.size',
                unit: 'By',
                sum: {
                  aggregationTemporality: 2,
                  isMonotonic: true,
                  dataPoints: [
                    {
                      attributes: [str('http.method', 'GET'), str('http_method', 'get'), str('2xx', 'yes'), str('_private', 'p'), str('empty', '')],
                      startTimeUnixNano: start,
                      timeUnixNano: t,
                      asInt: Long.fromNumber(1234),
                      exemplars: [{ timeUnixNano: t, asInt: Long.fromNumber(7), traceId, spanId, filteredAttributes: [str('user', 'u1')] }],
                    },
                  ],
                },
              },
              {
                name: 'queue.depth',
                unit: '{items}',
                sum: { aggregationTemporality: 2, isMonotonic: false, dataPoints: [{ timeUnixNano: t, asDouble: 3 }] },
              },
              {
                name: 'cpu.utilization',
                unit: '1',
                gauge: { dataPoints: [{ timeUnixNano: t, asDouble: 0.5 }, { timeUnixNano: t, flags: 1 }] },
              },
              {
                name: 'rpc.duration',
                unit: 'ms',
                histogram: {
                  aggregationTemporality: 2,
                  dataPoints: [
                    {
                      startTimeUnixNano: start,
                      timeUnixNano: t,
                      count: Long.fromNumber(6),
                      sum: 120,
                      bucketCounts: [1, 2, 3].map((n) => Long.fromNumber(n, true)),
                      explicitBounds: [10, 0.00001],
                      exemplars: [
                        { timeUnixNano: t, asDouble: 50, traceId },
                        { timeUnixNano: t, asDouble: 5, spanId },
                      ],
                    },
                  ],
                },
              },
              {
                name: 'latency',
                unit: 's',
                summary: {
                  dataPoints: [
                    {
                      timeUnixNano: t,
                      count: Long.fromNumber(10),
                      sum: 2.5,
                      quantileValues: [{ quantile: 0.5, value: 0.2 }, { quantile: 0.99, value: 0.9 }],
                    },
                  ],
                },
              },
              {
                name: 'payload',
                unit: 'By',
                exponentialHistogram: {
                  aggregationTemporality: 2,
                  dataPoints: [
                    {
                      timeUnixNano: t,
                      count: Long.fromNumber(10),
                      sum: 100,
                      scale: 10,
                      zeroCount: Long.fromNumber(1),
                      zeroThreshold: 0.001,
                      positive: { offset: -3, bucketCounts: [1, 2, 0, 0, 3, 1, 1, 1].map((n) => Long.fromNumber(n, true)) },
                    },
                    { timeUnixNano: t, count: Long.fromNumber(1), scale: -5, zeroCount: Long.fromNumber(1) },
                  ],
                },
              },
              { name: '', gauge: { dataPoints: [{ timeUnixNano: t, asDouble: 1 }] } },
            ],
          },
        ],
      },
    ],
  });
  return ExportMetricsServiceRequest.encode(msg).finish();
}

test('OTLP/protobuf: names, units, labels, job/instance, target_info, exemplars, staleness', () => {
  const out = decodeOtlpMetricsProtobuf(protoRequest());
  assert.equal(out.malformed, undefined);
  assert.equal(out.dataPoints, 9);
  const ms = 1700000000123;
  const counter = byName(out.records, 'http_server_request_size_bytes_total');
  assert.equal(counter.length, 1);
  assert.deepEqual({ ...counter[0]!.labels }, {
    __name__: 'http_server_request_size_bytes_total',
    http_method: 'GET;get',
    key_2xx: 'yes',
    key_private: 'p',
    job: 'shop/checkout',
    instance: 'pod-1',
  });
  assert.deepEqual(counter[0]!.samples, [{ timestampMs: ms, value: 1234 }]);
  assert.equal(counter[0]!.createdTimestampMs, 1699999000000);
  assert.deepEqual(counter[0]!.exemplars, [
    { labels: { trace_id: '0102030405060708090a0b0c0d0e0f10', span_id: 'a1a2a3a4a5a6a7a8', user: 'u1' }, value: 7, timestampMs: ms },
  ]);

  const gauge = byName(out.records, 'queue_depth');
  assert.equal(gauge.length, 1, 'a non-monotonic sum is a gauge without _total; {annotations} add no unit');
  const util = byName(out.records, 'cpu_utilization_ratio');
  assert.equal(util[0]!.samples![0]!.value, 0.5);
  assert.ok(isStaleNaN(util[1]!.samples![0]!.value), 'the no-recorded-value flag becomes a stale marker');

  const buckets = byName(out.records, 'rpc_duration_milliseconds_bucket');
  assert.deepEqual(buckets.map((b) => [b.labels['le'], b.samples![0]!.value, b.exemplars?.map((e) => e.value)]), [
    ['10', 1, [5]],
    ['0.00001', 3, undefined],
    ['+Inf', 6, [50]],
  ]);
  assert.equal(byName(out.records, 'rpc_duration_milliseconds_sum')[0]!.samples![0]!.value, 120);
  assert.equal(byName(out.records, 'rpc_duration_milliseconds_count')[0]!.samples![0]!.value, 6);

  assert.deepEqual(
    byName(out.records, 'latency_seconds').map((r) => [r.labels['quantile'], r.samples![0]!.value]),
    [['0.5', 0.2], ['0.99', 0.9]],
  );
  assert.equal(byName(out.records, 'latency_seconds_count')[0]!.samples![0]!.value, 10);

  const exp = byName(out.records, 'payload_bytes');
  assert.equal(exp.length, 1);
  const h = exp[0]!.histograms![0]!.histogram;
  assert.equal(h.schema, 8);
  assert.equal(h.zeroThreshold, 0.001);
  // Scale 10 → 8 merges groups of 4 buckets: OTLP indices -3..4 fall in merged indices -1, 0, 1, which
  // are native indices 0, 1, 2.
  assert.deepEqual(h.positiveSpans, [{ offset: 0, length: 3 }]);
  assert.deepEqual(h.positiveBuckets, [3, 5, 1]);
  assert.equal(h.positiveBuckets.reduce((a, b) => a + b, 0) + h.zeroCount, 10);

  const info = byName(out.records, 'target_info');
  assert.equal(info.length, 1);
  assert.deepEqual({ ...info[0]!.labels }, {
    __name__: 'target_info',
    job: 'shop/checkout',
    instance: 'pod-1',
    host_name: 'node-7',
    k8s_namespace_name: 'team-a',
    process_pid: '42',
  });
  assert.deepEqual(info[0]!.samples, [{ timestampMs: ms, value: 1 }]);

  for (const r of series(out.records)) assert.equal(out.namespaces.get(r), 'team-a');
  assert.deepEqual(out.rejections.map((r) => r.reason).sort(), ['missing_metric_name', 'unsupported']);
  assert.match(out.rejections.find((r) => r.reason === 'unsupported')!.message, /scale must be >= -4, was -5/);
});

test('OTLP decoders report malformed bodies instead of throwing', () => {
  assert.ok(decodeOtlpMetricsProtobuf(new Uint8Array([0x0a, 0xff, 0xff, 0x0f])).malformed);
  assert.ok(decodeOtlpMetricsJson(Buffer.from('{"resourceMetrics": [')).malformed);
  assert.ok(decodeOtlpMetricsJson(Buffer.from('[1,2]')).malformed);
  assert.ok(decodeOtlpMetricsJson(Buffer.from('{"resourceMetrics": "nope"}')).malformed);
  assert.ok(decodeOtlpMetricsJson(Buffer.from('{"resourceMetrics":[{"scopeMetrics":[{"metrics":[{"name":"x","gauge":{"dataPoints":[{"timeUnixNano":"soon","asDouble":1}]}}]}]}]}')).malformed);
  const empty = decodeOtlpMetricsJson(Buffer.from('{}'));
  assert.equal(empty.malformed, undefined);
  assert.equal(empty.records.length, 0);
});

test('OTLP/JSON: string int64s, hex ids, enum names', () => {
  const body = JSON.stringify({
    resourceMetrics: [
      {
        resource: { attributes: [str('service.name', 'svc')] },
        scopeMetrics: [
          {
            metrics: [
              {
                name: 'jobs',
                sum: {
                  aggregationTemporality: 'AGGREGATION_TEMPORALITY_CUMULATIVE',
                  isMonotonic: true,
                  dataPoints: [{ timeUnixNano: '1700000000999999999', asInt: '5', exemplars: [{ asDouble: 1, traceId: 'ABCDEF0123456789ABCDEF0123456789', timeUnixNano: 1700000000000000000 }] }],
                },
              },
            ],
          },
        ],
      },
    ],
  });
  const out = decodeOtlpMetricsJson(Buffer.from(body));
  assert.deepEqual(out.rejections, []);
  const r = byName(out.records, 'jobs_total')[0]!;
  assert.deepEqual(r.samples, [{ timestampMs: 1700000000999, value: 5 }]);
  assert.equal(r.exemplars![0]!.labels['trace_id'], 'abcdef0123456789abcdef0123456789');
});

test('metric and label name translation follows otlptranslator', () => {
  const cases: [string, string, Parameters<typeof buildMetricName>[2], string | undefined][] = [
    ['system.io', 'By', 'monotonic_counter', 'system_io_bytes_total'],
    ['http.server.duration', 'ms', 'histogram', 'http_server_duration_milliseconds'],
    ['throughput', 'By/s', 'gauge', 'throughput_bytes_per_second'],
    ['requests.count', '1', 'monotonic_counter', 'requests_count_total'],
    ['cpu.utilization', '1', 'gauge', 'cpu_utilization_ratio'],
    ['memory.usage', 'By', 'gauge', 'memory_usage_bytes'],
    ['packets', '{packets}', 'monotonic_counter', 'packets_total'],
    ['total.requests.total', '', 'monotonic_counter', 'requests_total'],
    ['latency_seconds', 's', 'histogram', 'latency_seconds'],
    ['2xx.responses', '', 'gauge', '_2xx_responses'],
    ['a__b..c', '', 'gauge', 'a_b_c'],
    ['temp', 'Cel', 'gauge', 'temp_celsius'],
    ['rate', '1/s', 'gauge', 'rate_per_second'],
    ['odd', 'foo/bar', 'gauge', 'odd_foo_per_bar'],
    ['ns:metric', '', 'gauge', 'ns:metric'],
    ['...', '', 'gauge', undefined],
  ];
  for (const [name, unit, kind, want] of cases) assert.equal(buildMetricName(name, unit, kind), want, `${name} [${unit}] ${kind}`);
  assert.equal(buildLabelName('http.method'), 'http_method');
  assert.equal(buildLabelName('123invalid'), 'key_123invalid');
  assert.equal(buildLabelName('__reserved__'), '__reserved__');
  assert.equal(buildLabelName('_private'), 'key_private');
  assert.equal(buildLabelName('a__b'), 'a__b');
  assert.equal(buildLabelName('größe'), 'gr__e');
  assert.equal(buildLabelName('__'), undefined);
  assert.equal(buildLabelName(''), undefined);
});

test('exponential bucket conversion merges, shifts and splits spans like Prometheus', () => {
  assert.deepEqual(convertExponentialBuckets([], 0, 0), { spans: [], buckets: [] });
  assert.deepEqual(convertExponentialBuckets([3, 0, 0, 0, 0, 0, 7], 0, 0), { spans: [{ offset: 1, length: 1 }, { offset: 5, length: 1 }], buckets: [3, 7] });
  assert.deepEqual(convertExponentialBuckets([1, 0, 2], -2, 0), { spans: [{ offset: -1, length: 3 }], buckets: [1, 0, 2] });
  assert.deepEqual(convertExponentialBuckets([1, 1, 1, 1], 0, 1), { spans: [{ offset: 1, length: 2 }], buckets: [2, 2] });
});

test('nanosToMs is exact for 64-bit inputs', () => {
  assert.equal(nanosToMs(Long.fromString('1544712660299999999', true)), 1544712660299);
  assert.equal(nanosToMs('1544712660299999999'), 1544712660299);
  assert.equal(nanosToMs(Long.fromString('18446744073709551615', true)), 18446744073709);
  assert.equal(nanosToMs(undefined), 0);
});

test('ExportMetricsServiceResponse encodings', () => {
  assert.equal(encodeExportMetricsResponse().length, 0);
  const decoded = ExportMetricsServiceResponse.toObject(
    ExportMetricsServiceResponse.decode(encodeExportMetricsResponse({ rejectedDataPoints: 3, errorMessage: 'bad' })),
    { longs: Number },
  );
  assert.deepEqual(decoded, { partialSuccess: { rejectedDataPoints: 3, errorMessage: 'bad' } });
  assert.deepEqual(JSON.parse(exportMetricsResponseJson({ rejectedDataPoints: 3, errorMessage: 'bad' })), {
    partialSuccess: { rejectedDataPoints: '3', errorMessage: 'bad' },
  });
});

test('OTLP: attribute values nested beyond the stack are a malformed request, not a crash', () => {
  // 50k levels of kvlist nesting: too deep for the recursive attribute renderer (JSON.parse copes).
  const depth = 50_000;
  const value = '{"kvlistValue":{"values":[{"key":"k","value":'.repeat(depth) + '{"stringValue":"leaf"}' + '}]}}'.repeat(depth);
  const body = `{"resourceMetrics":[{"resource":{"attributes":[{"key":"deep","value":${value}}]},"scopeMetrics":[{"metrics":[{"name":"x","gauge":{"dataPoints":[{"timeUnixNano":"1","asDouble":1}]}}]}]}]}`;
  const json = decodeOtlpMetricsJson(Buffer.from(body));
  assert.ok(json.malformed);
});
