import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseDurationMs, parseLokiTime, parseSecondsOrDurationMs } from './params.ts';

test("Loki's timestamp forms: seconds (<= 10 digits), nanoseconds, float seconds, RFC 3339", () => {
  assert.equal(parseLokiTime('1700000000'), 1_700_000_000_000_000_000n);
  assert.equal(parseLokiTime('1700000000123456789'), 1_700_000_000_123_456_789n);
  assert.equal(parseLokiTime('1700000000.5'), 1_700_000_000_500_000_000n);
  assert.equal(parseLokiTime('2023-11-14T22:13:20.123456789Z'), 1_700_000_000_123_456_789n);
  assert.equal(parseLokiTime('2023-11-14T23:13:20+01:00'), 1_700_000_000_000_000_000n);
  assert.throws(() => parseLokiTime('yesterday'), /could not parse "yesterday" as a timestamp/);
});

test('steps and intervals: float seconds or durations', () => {
  assert.equal(parseSecondsOrDurationMs('15'), 15_000);
  assert.equal(parseSecondsOrDurationMs('0.5'), 500);
  assert.equal(parseSecondsOrDurationMs('15000ms'), 15_000);
  assert.equal(parseSecondsOrDurationMs('1m30s'), 90_000);
  assert.equal(parseSecondsOrDurationMs('x'), undefined);
  assert.equal(parseDurationMs('7d'), 7 * 86_400_000);
});
