import assert from 'node:assert/strict';
import { test } from 'node:test';
import { histogramJson, resultToPrometheusJson } from './result-json.ts';

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
