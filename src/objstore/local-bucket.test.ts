import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { ObjectNotFoundError } from './bucket.ts';
import { LocalBucket } from './local-bucket.ts';

test('local bucket: put/get/getRange/list/delete with tenant-first keys', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'heimdall-bucket-'));
  try {
    const b = new LocalBucket(dir);
    await b.put('t1/metrics/blocks/a.parquet', Buffer.from('hello world'));
    await b.put('t1/metrics/blocks/b.parquet', Buffer.from('xy'));
    await b.put('t2/logs/c', Buffer.from('z'));
    assert.equal((await b.get('t1/metrics/blocks/a.parquet')).toString(), 'hello world');
    assert.equal((await b.getRange('t1/metrics/blocks/a.parquet', 6, 100)).toString(), 'world');
    assert.deepEqual(await b.list('t1/'), [
      { key: 't1/metrics/blocks/a.parquet', sizeBytes: 11 },
      { key: 't1/metrics/blocks/b.parquet', sizeBytes: 2 },
    ]);
    await b.put('t1/metrics/blocks/b.parquet', Buffer.from('replaced'));
    assert.equal((await b.get('t1/metrics/blocks/b.parquet')).toString(), 'replaced');
    await b.delete('t1/metrics/blocks/a.parquet');
    await b.delete('t1/metrics/blocks/a.parquet');
    await assert.rejects(b.get('t1/metrics/blocks/a.parquet'), ObjectNotFoundError);
    assert.deepEqual((await b.list('')).map((o) => o.key), ['t1/metrics/blocks/b.parquet', 't2/logs/c']);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('local bucket refuses keys that are not tenant-first or try to escape the root', async () => {
  const b = new LocalBucket(os.tmpdir());
  for (const key of ['../etc/passwd', 't1/../../x', 'a/b/', '/abs', 'bad tenant/x', '..', 't1//x']) {
    await assert.rejects(b.put(key, Buffer.from('x')), /invalid object key/, key);
  }
});
