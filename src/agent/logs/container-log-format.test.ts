import assert from 'node:assert/strict';
import { test } from 'node:test';
import { jsonLineMetadata, parseContainerLogLine, parseRfc3339Nano } from './container-log-format.ts';
import { containerLogDecoder } from './line-decoders.ts';
import { appFromPodName, parsePodDirName } from './log-sources.ts';

test('CRI and Docker lines, nanosecond times, JSON metadata', () => {
  assert.equal(parseRfc3339Nano('2026-12-06T01:02:03.123456789Z'), 1796518923123456789n);
  assert.equal(parseRfc3339Nano('2026-12-06T02:02:03.5+01:00'), 1796518923500000000n);
  assert.deepEqual(parseContainerLogLine('2026-12-06T01:02:03.000000001Z stderr P part one'), { timestampNs: 1796518923000000001n, stream: 'stderr', complete: false, content: 'part one' });
  assert.deepEqual(parseContainerLogLine('{"log":"hi\\n","stream":"stdout","time":"2026-12-06T01:02:03Z"}'), { timestampNs: 1796518923000000000n, stream: 'stdout', complete: true, content: 'hi' });
  assert.equal(parseContainerLogLine('plain text'), undefined);
  assert.deepEqual(jsonLineMetadata('{"severity":"WARN","traceId":"t1"}'), { level: 'warn', trace_id: 't1' });
  assert.deepEqual(jsonLineMetadata('not json'), {});
});

test('split lines wait for their F piece; the consumed offset stays at a message boundary', () => {
  const decode = containerLogDecoder(1024, () => 0n);
  const a = '2026-12-06T01:02:03Z stdout F whole\n';
  const b = '2026-12-06T01:02:04Z stdout P first half, \n';
  const chunk = Buffer.from(a + b);
  const r = decode(chunk, false);
  assert.deepEqual(r.entries.map((e) => e.line), ['whole']);
  assert.equal(r.consumed, Buffer.byteLength(a));
  const done = decode(Buffer.from(b + '2026-12-06T01:02:05Z stdout F second half\n'), false);
  assert.deepEqual(done.entries.map((e) => [e.line, e.timestampNs]), [['first half, second half', 1796518924000000000n]]);
});

test('pod directories and app names', () => {
  assert.deepEqual(parsePodDirName('shop_web-7d4b9c8f6d-x2x4z_0b1c-44'), { namespace: 'shop', pod: 'web-7d4b9c8f6d-x2x4z', uid: '0b1c-44' });
  assert.equal(appFromPodName('web-7d4b9c8f6d-x2x4z'), 'web');
  assert.equal(appFromPodName('fluent-bit-x2x4z'), 'fluent-bit');
  assert.equal(appFromPodName('db-0'), 'db');
  assert.equal(appFromPodName('standalone'), 'standalone');
});
