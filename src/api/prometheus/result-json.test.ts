import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { RangeSeries } from '../../promql/index.ts';
import { jsonText } from '../../storage/index.ts';
import { histogramJson, resultToPrometheusJson, resultToPrometheusJsonData } from './result-json.ts';

test('a matrix in Prometheus shape: float seconds and Go-formatted values', () => {
  const json = resultToPrometheusJson({
    type: 'matrix',
    series: [
      { labels: { instance: 'a', job: 'api' }, timestampsMs: Float64Array.of(0, 60_000, 120_500), values: Float64Array.of(0, 1, 1e21) },
      { labels: { instance: 'b' }, timestampsMs: new Float64Array(0), values: new Float64Array(0) },
    ],
  });
  assert.deepEqual(json, {
    resultType: 'matrix',
    result: [
      { metric: { instance: 'a', job: 'api' }, values: [[0, '0'], [60, '1'], [120.5, '1000000000000000000000']] },
      { metric: { instance: 'b' } },
    ],
  });
});

test('scalars, strings and vectors', () => {
  assert.deepEqual(resultToPrometheusJson({ type: 'scalar', timestampMs: 1500, value: NaN }), { resultType: 'scalar', result: [1.5, 'NaN'] });
  assert.deepEqual(resultToPrometheusJson({ type: 'string', timestampMs: 1000, value: 'x' }), { resultType: 'string', result: [1, 'x'] });
  assert.deepEqual(resultToPrometheusJson({ type: 'vector', samples: [{ labels: { a: '1' }, timestampMs: 2000, value: -Infinity }] }), {
    resultType: 'vector',
    result: [{ metric: { a: '1' }, value: [2, '-Inf'] }],
  });
});

test('histogram JSON has Prometheus bucket boundary rules', () => {
  const json = histogramJson({
    schema: 0,
    zeroThreshold: 0.001,
    zeroCount: 1,
    count: 4,
    sum: 4,
    positiveSpans: [{ offset: 0, length: 2 }],
    positiveBuckets: [1, 2],
    negativeSpans: [],
    negativeBuckets: [],
  });
  assert.deepEqual(json, {
    count: '4',
    sum: '4',
    buckets: [
      [3, '-0.001', '0.001', '1'],
      [0, '0.5', '1', '1'],
      [0, '1', '2', '2'],
    ],
  });
});

test('the matrix text is JSON.stringify of the matrix object, byte for byte', () => {
  const powers = [1, 10, 100, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10].flatMap((p) => [p - 1, p, p + 1]);
  const special = [...powers, 2 ** 31 - 1, 2 ** 31, 0, -0, 1, -1, 0.1, -2.5, 1e15, 1e15 - 1, -1e15 + 1, 123456789012345, 1e21, 1.5e300, 1e-7, 5e-324, NaN, Infinity, -Infinity, 2 ** 53, 0.30000000000000004];
  let seed = 7;
  const rand = (): number => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed / 2 ** 31;
  };
  const series: RangeSeries[] = [
    { labels: { __name__: 'up', instance: 'a:9100' }, timestampsMs: Float64Array.from(special, (_, i) => 1_700_000_000_000 + i * 15_000 + (i % 3) * 1), values: Float64Array.from(special) },
    { labels: {}, timestampsMs: new Float64Array(0), values: new Float64Array(0) },
    { labels: { 'ünï': 'cödé "quoted" \\ \n', emoji: '😀' }, timestampsMs: Float64Array.of(-1500, 0, 1), values: Float64Array.of(1, 2, 3) },
    { labels: { r: 'random' }, timestampsMs: Float64Array.from({ length: 500 }, (_, i) => i * 1234.5), values: Float64Array.from({ length: 500 }, () => (rand() - 0.5) * 10 ** Math.floor(rand() * 40 - 20)) },
    {
      labels: { h: 'hist' },
      timestampsMs: new Float64Array(0),
      values: new Float64Array(0),
      histogramTimestampsMs: Float64Array.of(60_000),
      histograms: [{ schema: 0, zeroThreshold: 0.001, zeroCount: 1, count: 4, sum: 4, positiveSpans: [{ offset: 0, length: 2 }], positiveBuckets: [1, 2], negativeSpans: [], negativeBuckets: [] }],
    },
  ];
  for (const value of [{ type: 'matrix' as const, series }, { type: 'matrix' as const, series: [] }]) {
    assert.equal(jsonText(resultToPrometheusJsonData(value)), JSON.stringify(resultToPrometheusJson(value)));
  }
  const vector = { type: 'vector' as const, samples: [{ labels: { a: '1' }, timestampMs: 2000, value: 0.5 }] };
  assert.equal(jsonText(resultToPrometheusJsonData(vector)), JSON.stringify(resultToPrometheusJson(vector)));
});
