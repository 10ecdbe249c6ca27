import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  MAX_TIME_MS,
  MIN_TIME_MS,
  durationParam,
  limitParam,
  optionalTimeParam,
  parseDurationMs,
  parseTime,
  timeParam,
} from './params.ts';

test('parseTime: float seconds are rounded to milliseconds', () => {
  assert.equal(parseTime('1435781451.781'), 1435781451781);
  assert.equal(parseTime('1435781451'), 1435781451000);
  assert.equal(parseTime('1.0006'), 1001);
  assert.equal(parseTime('-1.5'), -1500);
  assert.equal(parseTime('1e3'), 1_000_000);
  assert.equal(parseTime('.5'), 500);
});

test('parseTime: RFC 3339 with fractions and offsets', () => {
  assert.equal(parseTime('2015-07-01T20:10:51.781Z'), Date.UTC(2015, 6, 1, 20, 10, 51, 781));
  assert.equal(parseTime('2015-07-01T20:10:51Z'), Date.UTC(2015, 6, 1, 20, 10, 51));
  assert.equal(parseTime('2015-07-01T20:10:51.123456789Z'), Date.UTC(2015, 6, 1, 20, 10, 51, 123));
  assert.equal(parseTime('2015-07-01T22:10:51+02:00'), Date.UTC(2015, 6, 1, 20, 10, 51));
  assert.equal(parseTime('2015-07-01T18:10:51-02:00'), Date.UTC(2015, 6, 1, 20, 10, 51));
  assert.equal(new Date(parseTime('0050-01-01T00:00:00Z')).getUTCFullYear(), 50);
  assert.throws(() => parseTime('2015-02-30T00:00:00Z'), /cannot parse "2015-02-30T00:00:00Z" to a valid timestamp/);
});

test('parseTime: Prometheus min/max time strings and errors', () => {
  assert.equal(parseTime('-292273086-05-16T16:47:06Z'), MIN_TIME_MS);
  assert.equal(parseTime('292277025-08-18T07:12:54.999999999Z'), MAX_TIME_MS);
  assert.throws(() => parseTime('foo'), { message: 'cannot parse "foo" to a valid timestamp' });
  assert.throws(() => parseTime(''), { message: 'cannot parse "" to a valid timestamp' });
  assert.throws(() => parseTime('NaN'), /cannot parse/);
  assert.throws(() => parseTime('0x10'), /cannot parse/);
});

test('parseDurationMs: float seconds and Prometheus durations', () => {
  assert.equal(parseDurationMs('15'), 15_000);
  assert.equal(parseDurationMs('0.5'), 500);
  assert.equal(parseDurationMs('1h30m'), 5_400_000);
  assert.equal(parseDurationMs('500ms'), 500);
  assert.equal(parseDurationMs('1d'), 86_400_000);
  assert.equal(parseDurationMs('0'), 0);
  assert.equal(parseDurationMs('-5'), -5000);
  assert.throws(() => parseDurationMs(''), { message: 'cannot parse "" to a valid duration' });
  assert.throws(() => parseDurationMs('30m1h'), { message: 'cannot parse "30m1h" to a valid duration' });
  assert.throws(() => parseDurationMs('1e30'), { message: 'cannot parse "1e30" to a valid duration. It overflows int64' });
});

test('parameter wrappers use Prometheus messages', () => {
  assert.throws(() => timeParam('start', 'x'), {
    name: 'ApiError',
    kind: 'bad_data',
    message: 'invalid parameter "start": cannot parse "x" to a valid timestamp',
  });
  assert.throws(() => optionalTimeParam('end', 'x', 0), {
    message: `invalid parameter "end": invalid time value for 'end': cannot parse "x" to a valid timestamp`,
  });
  assert.equal(optionalTimeParam('end', undefined, 42), 42);
  assert.equal(optionalTimeParam('end', '', 42), 42);
  assert.throws(() => durationParam('step', 'abc'), { message: 'invalid parameter "step": cannot parse "abc" to a valid duration' });
  assert.equal(limitParam(undefined), 0);
  assert.equal(limitParam('10'), 10);
  assert.throws(() => limitParam('-1'), { message: 'invalid parameter "limit": limit must be non-negative' });
  assert.throws(() => limitParam('ab'), { message: 'invalid parameter "limit": strconv.Atoi: parsing "ab": invalid syntax' });
});
