import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import type { TenantId } from '../model/index.ts';
import { LocalBucket } from '../objstore/index.ts';
import { StorageFormatError } from '../storage/index.ts';
import { ColumnarDatabase } from './database.ts';
import { PartitionCatalog } from './partitions.ts';

const HOUR = 3_600_000;
const opts = { kind: 'rows', windowMs: 2 * HOUR, createTable: (t: string) => `CREATE TABLE ${t} (ts BIGINT, v DOUBLE)` };

async function openAll(dir: string) {
  const db = await ColumnarDatabase.open({ dir, name: 'test', formatVersion: 1, memoryLimitBytes: 128 * 1024 ** 2, threads: 1 });
  const cat = await PartitionCatalog.open(db, new LocalBucket(path.join(dir, 'bucket')), opts);
  return { db, cat };
}

test('partitions are created per tenant and window, survive reopen, export to Parquet and drop by age', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'heimdall-columnar-'));
  try {
    let { db, cat } = await openAll(dir);
    const a = 'team-a' as TenantId;
    const b = "o'brien" as TenantId;
    const p1 = await cat.ensure(a, 10);
    const p2 = await cat.ensure(a, 3 * HOUR);
    const p3 = await cat.ensure(b, 10);
    assert.equal(p1.startMs, 0);
    assert.equal(p2.startMs, 2 * HOUR);
    assert.equal(await cat.ensure(a, 20), p1, 'same window reuses the partition');
    const conn = await db.connect();
    await conn.run(`INSERT INTO "${p1.table}" VALUES (10, 1.5), (20, 2.5)`);
    await conn.run(`INSERT INTO "${p3.table}" VALUES (10, 9)`);
    conn.closeSync();
    cat.close();
    await db.close();

    ({ db, cat } = await openAll(dir));
    assert.deepEqual(cat.list(a).map((p) => p.startMs), [0, 2 * HOUR]);
    assert.deepEqual(cat.tenants(), ['o\'brien', 'team-a']);
    const block = await cat.exportToBlock(cat.list(a)[0]!, 'ts');
    assert.equal(block.rows, 2);
    assert.ok(existsSync(block.path));
    const c2 = await db.connect();
    const rows = (await c2.runAndReadAll(`SELECT ts, v FROM read_parquet('${block.path}') ORDER BY ts`)).getRows();
    assert.deepEqual(rows.map(([t, v]) => [Number(t), v]), [[10, 1.5], [20, 2.5]]);
    c2.closeSync();
    assert.deepEqual(cat.list(a).map((p) => p.startMs), [2 * HOUR], 'exported partition leaves the head');
    assert.equal(cat.blocks(a, { startMs: 0, endMs: 100 }).length, 1);

    const dropped = await cat.dropBefore(a, 2 * HOUR);
    assert.deepEqual(dropped, { partitions: 0, blocks: 1 });
    assert.ok(!existsSync(block.path));
    assert.deepEqual(await cat.dropBefore(a, 4 * HOUR), { partitions: 1, blocks: 0 });
    assert.equal(cat.list(b).length, 1, 'other tenants untouched');
    cat.close();
    await db.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a database written by a newer format version is refused with a clear message', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'heimdall-columnar-'));
  try {
    writeFileSync(path.join(dir, 'test.format.json'), JSON.stringify({ name: 'test', formatVersion: 99, createdBy: 'future' }));
    await assert.rejects(
      ColumnarDatabase.open({ dir, name: 'test', formatVersion: 1 }),
      (err: Error) => err instanceof StorageFormatError && /format version 99/.test(err.message) && /upgrade Heimdall/.test(err.message),
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
