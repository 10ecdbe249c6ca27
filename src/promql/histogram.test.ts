import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FloatHistogram, GAUGE_TYPE, IncompatibleSchemaError, exponentialBound } from './histogram.ts';
import { type ExtendedHistogramIssue, extendedHistogramRate, interpolateHistogram, smoothedHistogram } from './extended-range.ts';
import { bucketQuantile, histogramQuantile } from './quantile.ts';

function hist(schema: number, buckets: number[], offset = 0, extra: Partial<FloatHistogram> = {}): FloatHistogram {
  const h = new FloatHistogram();
  h.schema = schema;
  h.positiveSpans = buckets.length ? [{ offset, length: buckets.length }] : [];
  h.positiveBuckets = buckets;
  h.count = buckets.reduce((a, b) => a + b, 0) + (extra.zeroCount ?? 0);
  h.sum = h.count;
  Object.assign(h, extra);
  return h;
}

test('add reduces to the lower schema and merges buckets', () => {
  const a = hist(1, [1, 1, 1, 1]); // indexes 0..3 at schema 1
  const b = hist(0, [2, 2]); // indexes 0..1 at schema 0
  a.add(b);
  a.compact();
  assert.equal(a.schema, 0);
  // schema 1 indexes 0,1,2,3 map to schema 0 indexes 0,1,1,2.
  assert.deepEqual(a.positiveSpans, [{ offset: 0, length: 3 }]);
  assert.deepEqual(a.positiveBuckets, [3, 4, 1]);
  assert.equal(a.count, 8);
});

test('custom buckets with different bounds are reconciled to their intersection', () => {
  const a = hist(-53, [1, 2, 3], 0, { customValues: [1, 2] });
  const b = hist(-53, [4, 5], 0, { customValues: [2] });
  const r = a.add(b);
  assert.equal(r.nhcbBoundsReconciled, true);
  assert.deepEqual(a.customValues, [2]);
  assert.deepEqual(a.positiveBuckets, [7, 8]);
  assert.throws(() => hist(-53, [1], 0, { customValues: [1] }).add(hist(0, [1])), IncompatibleSchemaError);
});

test('detectReset sees a decreasing bucket; subtraction makes gauges', () => {
  const prev = hist(0, [5, 5]);
  assert.equal(hist(0, [6, 4]).detectReset(prev), true);
  assert.equal(hist(0, [6, 6]).detectReset(prev), false);
  const d = hist(0, [6, 6]);
  d.sub(prev);
  d.counterResetHint = GAUGE_TYPE;
  assert.deepEqual(d.compact().positiveBuckets, [1, 1]);
});

test('Kahan addition keeps small terms next to huge ones', () => {
  const s = hist(0, [], 0, { sum: 3.1, count: 1 });
  let c: FloatHistogram | undefined;
  for (const v of [1e100, -1e100, 1.3]) c = s.kahanAdd(hist(0, [], 0, { sum: v, count: 1 }), c).c;
  s.add(c!);
  assert.ok(Math.abs(s.sum - 4.4) < 1e-12);
});

test('quantiles: classic buckets and exponential interpolation', () => {
  const q = bucketQuantile(0.5, [
    { upperBound: 1, count: 10 },
    { upperBound: 2, count: 20 },
    { upperBound: Infinity, count: 20 },
  ]);
  assert.equal(q.value, 1);
  // One positive bucket (1, 2] at schema 0: the median interpolates exponentially to sqrt(2).
  const h = hist(0, [4], 1);
  assert.ok(Math.abs(histogramQuantile(0.5, h).value - Math.SQRT2) < 1e-12);
});


test('anchored/smoothed histogram increase interpolates boundaries and corrects resets', () => {
  // Counter samples every 10s: counts 1, 2, 3, then a reset to 1.
  const ht = new Float64Array([0, 10_000, 20_000, 30_000]);
  const hv = [hist(0, [1]), hist(0, [2]), hist(0, [3]), hist(0, [1])];
  const issues = new Set<ExtendedHistogramIssue>();
  // Anchored over (5s, 30s]: from the sample at 0s (count 1) to 30s; the reset adds the 3 seen before it.
  const anchored = extendedHistogramRate(ht, hv, 0, 4, 5_000, 30_000, 25_000, false, true, false, issues);
  assert.equal(anchored?.count, 1 - 1 + 3);
  // Smoothed at 15s: halfway between 10s (2) and 20s (3).
  assert.equal(smoothedHistogram(ht, hv, 0, 4, 15_000, issues)?.count, 2.5);
  assert.equal(interpolateHistogram(20_000, hv[2]!, 30_000, hv[3]!, 25_000, true).count, 0.5);
  assert.equal(issues.size, 0);
  const mixed = [hist(0, [1]), hist(-53, [1], 0, { customValues: [5] })];
  assert.equal(smoothedHistogram(new Float64Array([0, 10_000]), mixed, 0, 2, 5_000, issues), undefined);
  assert.deepEqual([...issues], ['mixed-schemas']);
});

test("exponential bucket bounds are Prometheus' exact table values, not 2^(i/n) computed here", () => {
  // Values printed by Prometheus (getBound) for these buckets; Math.pow gives ...476, ...146, ...705.
  assert.equal(exponentialBound(1, 1), 2 * 0.7071067811865475);
  assert.equal(exponentialBound(3, 2), 2 * 0.8408964152537144);
  assert.equal(exponentialBound(-3, 3), 0.7711054127039704);
  assert.equal(exponentialBound(255, 8), 2 * 0.9972960560854698);
  // The last finite bucket ends at MaxFloat64, the next at +Inf, in every schema.
  assert.equal(exponentialBound(1024 * 8, 3), Number.MAX_VALUE);
  assert.equal(exponentialBound(1024 * 8 + 1, 3), Infinity);
  assert.equal(exponentialBound(256, -2), Number.MAX_VALUE);
  assert.equal(exponentialBound(-5, 0), 2 ** -5);
  // Above 2^1023 the bound is finite and exact (no overflow in the intermediate power).
  assert.equal(exponentialBound(1023 * 2 + 1, 1), 0.7071067811865475 * 2 ** 1023 * 2);
});
