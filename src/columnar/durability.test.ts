import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { LocalBucket } from '../objstore/index.ts';
import { ColumnarDatabase } from './database.ts';
import { PartitionCatalog } from './partitions.ts';

const CHILD = path.join(path.dirname(fileURLToPath(import.meta.url)), 'durability-child.ts');
const ROUNDS = 10;

/** Runs the child until it has acknowledged at least `minAcks` batches, then SIGKILLs it. */
function runAndKill(dir: string, startId: number, minAcks: number): Promise<number[]> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', CHILD, dir, String(startId)], { stdio: ['ignore', 'pipe', 'pipe'] });
    const acked: number[] = [];
    let buf = '';
    let stderr = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.stdout.on('data', (chunk: Buffer) => {
      buf += chunk.toString();
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        if (line.startsWith('ack ')) acked.push(Number(line.slice(4)));
        if (acked.length === minAcks) child.kill('SIGKILL');
      }
    });
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('exit', (_code, signal) => {
      clearTimeout(timer);
      if (signal !== 'SIGKILL') reject(new Error(`child exited without being killed: ${stderr}`));
      else resolve(acked);
    });
  });
}

test('acknowledged writes survive kill -9, over repeated crash/reopen rounds', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'heimdall-durability-'));
  try {
    const allAcked: number[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      const acked = await runAndKill(dir, round * 1_000_000, 20 + round * 3);
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
