import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatSampleValue } from './sample-value.ts';

test('sample values print like Go FormatFloat(v, f, -1)', () => {
  assert.equal(formatSampleValue(2), '2');
  assert.equal(formatSampleValue(0.1), '0.1');
  assert.equal(formatSampleValue(1e21), '1000000000000000000000');
  assert.equal(formatSampleValue(1.5e-7), '0.00000015');
  assert.equal(formatSampleValue(-1.5e-7), '-0.00000015');
  assert.equal(formatSampleValue(1.25e22), '12500000000000000000000');
  assert.equal(formatSampleValue(-Infinity), '-Inf');
  assert.equal(formatSampleValue(Infinity), '+Inf');
  assert.equal(formatSampleValue(NaN), 'NaN');
});
