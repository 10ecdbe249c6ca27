import assert from 'node:assert/strict';
import { test } from 'node:test';
import { STALE_NAN, isStaleNaN } from './metric.ts';

test('the staleness marker is told apart from other NaNs, in its signalling and quietened forms', () => {
  assert.ok(isStaleNaN(STALE_NAN));
  assert.ok(!isStaleNaN(NaN));
  assert.ok(!isStaleNaN(0));
  const view = new DataView(new ArrayBuffer(8));
  view.setBigUint64(0, 0x7ff8000000000002n);
  assert.ok(isStaleNaN(view.getFloat64(0)), 'quiet-bit form');
  view.setBigUint64(0, 0x7ff0000000000003n);
  assert.ok(!isStaleNaN(view.getFloat64(0)), 'another payload');
  assert.ok(isStaleNaN([STALE_NAN][0]!), 'through a JS array');
});
