import assert from 'node:assert/strict';
import { deflateSync, gzipSync } from 'node:zlib';
import { test } from 'node:test';
import snappy from 'snappy';
import { decompressBody, parseContentEncoding } from './decompress.ts';
import { HeimdallError } from '../model/index.ts';
import { groupRejections } from './rejection-report.ts';

const payload = Buffer.from('hello '.repeat(1000));

test('every supported encoding round-trips within the cap', () => {
  assert.deepEqual(decompressBody(payload, 'identity', 1e6, 's'), payload);
  assert.deepEqual(decompressBody(gzipSync(payload), 'gzip', 1e6, 's'), payload);
  assert.deepEqual(decompressBody(deflateSync(payload), 'deflate', 1e6, 's'), payload);
  assert.deepEqual(decompressBody(snappy.compressSync(payload), 'snappy', 1e6, 's'), payload);
});

test('compression bombs get 413 naming the setting, not an OOM', () => {
  const bomb = Buffer.alloc(50 * 1024 * 1024);
  const cases: [Buffer, 'gzip' | 'deflate' | 'snappy' | 'identity'][] = [
    [gzipSync(bomb), 'gzip'],
    [deflateSync(bomb), 'deflate'],
    [snappy.compressSync(bomb), 'snappy'],
    [bomb, 'identity'],
  ];
  for (const [body, enc] of cases) {
    assert.throws(
      () => decompressBody(body, enc, 1024 * 1024, 'metrics.max_decompressed_bytes'),
      (err: unknown) => err instanceof HeimdallError && err.httpStatus === 413 && /metrics\.max_decompressed_bytes/.test(err.message),
      enc,
    );
  }
});

test('corrupt bodies are a 400 and unknown encodings a 415', () => {
  for (const enc of ['gzip', 'snappy', 'zstd'] as const) {
    assert.throws(
      () => decompressBody(Buffer.from('definitely not compressed'), enc, 1e6, 's'),
      (err: unknown) => err instanceof HeimdallError && err.httpStatus === 400,
      enc,
    );
  }
  assert.throws(() => parseContentEncoding('br'), (err: unknown) => err instanceof HeimdallError && err.httpStatus === 415);
  assert.equal(parseContentEncoding('GZIP'), 'gzip');
  assert.equal(parseContentEncoding(undefined), 'identity');
});

test('rejections group by reason with counts and one example', () => {
  const text = groupRejections([
    { signal: 'logs', reason: 'line_too_long', message: 'line too long for stream {app="a"}', count: 2 },
    { signal: 'logs', reason: 'line_too_long', message: 'line too long for stream {app="b"}', count: 1 },
    { signal: 'logs', reason: 'entry_too_old', message: 'entry too old', count: 4 },
  ]);
  assert.equal(text, '3× line_too_long: line too long for stream {app="a"}\n4× entry_too_old: entry too old');
});
