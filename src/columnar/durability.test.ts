import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { killAfterAcks } from '../../test/support/crash-child.ts';
import { fileURLToPath } from 'node:url';
import { LocalBucket } from '../objstore/index.ts';
import { ColumnarDatabase } from './database.ts';
import { PartitionCatalog } from './partitions.ts';

const CHILD = path.join(path.dirname(fileURLToPath(import.meta.url)), 'durability-child.ts');
const ROUNDS = 10;

test('acknowledged writes survive kill -9, over repeated crash/reopen rounds', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'heimdall-durability-'));
  try {
    const allAcked: number[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      const acked = await killAfterAcks(CHILD, [dir, String(round * 1_000_000)], 20 + round * 3);
      assert.ok(acked.length >= 20, `round ${round}: child acknowledged ${acked.length} batches`);
      allAcked.push(...acked);
    }
    const db = await ColumnarDatabase.open({ dir, name: 'durable', formatVersion: 1, threads: 1 });
    const cat = await PartitionCatalog.open(db, new LocalBucket(path.join(dir, 'bucket')), {
      kind: 'rows',
      windowMs: 1000,
      createTable: (t) => `CREATE TABLE ${t} (id BIGINT, payload VARCHAR)`,
    });
    const conn = await db.connect();
    const union = cat.list().map((p) => `SELECT id FROM "${p.table}"`).join(' UNION ALL ');
    const rows = (await conn.runAndReadAll(`SELECT id, count(*) FROM (${union}) GROUP BY id`)).getRows();
    const counts = new Map(rows.map(([id, n]) => [Number(id), Number(n)]));
    for (const id of allAcked) assert.equal(counts.get(id), 50, `acknowledged batch ${id} is whole after the crash`);
    for (const n of counts.values()) assert.equal(n, 50, 'no torn batch');
    conn.closeSync();
    cat.close();
    await db.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
