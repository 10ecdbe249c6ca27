// Test child for durability.test.ts: appends batches through the columnar plumbing and prints the id of
// each batch once its commit resolved (the "ack"), until the parent kills it with SIGKILL.
import path from 'node:path';
import type { TenantId } from '../model/index.ts';
import { LocalBucket } from '../objstore/index.ts';
import { ColumnarDatabase } from './database.ts';
import { PartitionCatalog } from './partitions.ts';

const dir = process.argv[2]!;
const startId = Number(process.argv[3]);
const db = await ColumnarDatabase.open({ dir, name: 'durable', formatVersion: 1, memoryLimitBytes: 128 * 1024 ** 2, threads: 1 });
const cat = await PartitionCatalog.open(db, new LocalBucket(path.join(dir, 'bucket')), {
  kind: 'rows',
  windowMs: 1000,
  createTable: (t) => `CREATE TABLE ${t} (id BIGINT, payload VARCHAR)`,
});
const conn = await db.connect();
for (let id = startId; id < startId + 100_000; id++) {
  // Spread batches over several partitions so table creation is exercised too.
  const part = await cat.ensure('durable' as TenantId, (id % 5) * 1000);
  const appender = await conn.createAppender(part.table);
  for (let i = 0; i < 50; i++) {
    appender.appendBigInt(BigInt(id));
    appender.appendVarchar(`batch ${id} row ${i}`);
    appender.endRow();
  }
  appender.flushSync();
  appender.closeSync();
  process.stdout.write(`ack ${id}\n`);
}
