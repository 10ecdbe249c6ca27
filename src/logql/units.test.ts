import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseGoDuration, parseHumanBytes, parseQueryDuration } from './units.ts';

test('Go and Prometheus durations', () => {
  assert.equal(parseGoDuration('1h30m'), 5400e9);
  assert.equal(parseGoDuration('1.5s'), 1.5e9);
  assert.equal(parseGoDuration('-5µs'), -5000);
  assert.throws(() => parseGoDuration('90'), /time: missing unit in duration "90"/);
  assert.throws(() => parseGoDuration('1d'), /time: unknown unit "d" in duration "1d"/);
  assert.throws(() => parseGoDuration('oops'), /time: invalid duration "oops"/);
  assert.equal(parseQueryDuration('1d'), 86400e9);
  assert.equal(parseQueryDuration('1w'), 7 * 86400e9);
});

test('humanize byte sizes', () => {
  assert.equal(parseHumanBytes('1KB'), 1000);
  assert.equal(parseHumanBytes('1KiB'), 1024);
  assert.equal(parseHumanBytes('2,048'), 2048);
  assert.equal(parseHumanBytes('1.5B'), 1);
  assert.equal(parseHumanBytes('2kb'), 2000);
  assert.throws(() => parseHumanBytes('oops'), /parsing "": invalid syntax/);
  assert.throws(() => parseHumanBytes('1XB'), /unhandled size name: xb/);
});

