import assert from 'node:assert/strict';
import { test } from 'node:test';
import { TokenBucket } from './token-bucket.ts';

test('a token bucket starts full, refills at its rate up to its burst, and says how long to wait', () => {
  const b = new TokenBucket(100, 0);
  assert.equal(b.take(60, 10, 100, 0), 0);
  assert.equal(b.take(60, 10, 100, 0), 2000, '20 missing at 10/s');
  assert.equal(b.take(60, 10, 100, 2000), 0, 'refilled');
  assert.equal(b.take(101, 10, 100, 1_000_000), Infinity, 'more than the burst never fits');
  assert.equal(b.take(100, 10, 100, 1_000_000), 0, 'refill stops at the burst');
  assert.equal(b.take(1, 0, 100, 2_000_000), Infinity, 'rate 0 never refills');
});
