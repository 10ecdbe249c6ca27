import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { RetryableStorageError } from '../storage/index.ts';
import { DiskQueue } from './disk-queue.ts';
import type { QueueItem } from './disk-queue.ts';

function tempDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'fw-queue-'));
}

function open(dir: string, over: { maxBytes?: number; segmentBytes?: number } = {}): Promise<DiskQueue> {
  return DiskQueue.open({ dir, maxBytes: over.maxBytes ?? 1 << 20, segmentBytes: over.segmentBytes ?? 1 << 20, name: 'test', setting: 'queue_max_bytes' });
}

async function drain(q: DiskQueue): Promise<QueueItem[]> {
  const out: QueueItem[] = [];
  for (let item = await q.next(); item !== undefined; item = await q.next()) out.push(item);
  return out;
}

const text = (item: QueueItem): string => item.payload.toString();
const segmentFiles = (dir: string): string[] => fs.readdirSync(dir).filter((n) => /^\d{8}$/.test(n));

test('items come back in push order; acknowledged segments are deleted and an idle queue keeps no data', async () => {
  const dir = tempDir();
  const q = await open(dir, { segmentBytes: 64 });
  try {
    for (let i = 0; i < 10; i++) await q.push(Buffer.from(`item-${i}-${'x'.repeat(20)}`), i + 1);
    assert.equal(q.records, 55);
    assert.ok(segmentFiles(dir).length > 2, 'small segments roll over');
    const items = await drain(q);
    assert.deepEqual(items.map((i) => text(i).split('-').slice(0, 2).join('-')), Array.from({ length: 10 }, (_, i) => `item-${i}`));
    assert.deepEqual(items.map((i) => i.weight), Array.from({ length: 10 }, (_, i) => i + 1));
    // Acknowledged out of order (concurrent sends finish in any order).
    for (const item of [...items].reverse()) await q.ack(item);
    assert.equal(q.records, 0);
    assert.equal(q.bytes, 0);
    assert.ok(q.empty);
    for (const f of segmentFiles(dir)) assert.equal(fs.statSync(path.join(dir, f)).size, 0, `segment ${f} holds no data`);
  } finally {
    await q.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('a restart resumes after the acknowledged prefix; without its record, everything on disk is read again', async () => {
  const dir = tempDir();
  let q = await open(dir);
  try {
    for (const s of ['a', 'b', 'c', 'd']) await q.push(Buffer.from(s), 1);
    const [a, b, c] = await drain(q);
    // Acknowledged out of order: c is past the prefix (b is not done), so it is read again.
    await q.ack(a!);
    await q.ack(c!);
    assert.equal(b && text(b), 'b');
    await q.close();
    q = await open(dir);
    assert.equal(q.records, 3, 'b, c and d are still queued');
    await q.push(Buffer.from('e'), 1);
    const again = await drain(q);
    assert.deepEqual(again.map(text), ['b', 'c', 'd', 'e']);
    await q.close();
    // A crash before the prefix was saved (the file is gone): at least once, so everything on disk comes again.
    fs.rmSync(path.join(dir, 'acked.json'), { force: true });
    q = await open(dir);
    assert.deepEqual((await drain(q)).map(text), ['a', 'b', 'c', 'd', 'e']);
    for (const item of await drain(q)) await q.ack(item);
  } finally {
    await q.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('a torn tail (a push that never resolved) is cut off on open', async () => {
  const dir = tempDir();
  let q = await open(dir);
  try {
    await q.push(Buffer.from('whole'), 1);
    await q.close();
    const [seg] = segmentFiles(dir).filter((f) => fs.statSync(path.join(dir, f)).size > 0);
    fs.appendFileSync(path.join(dir, seg!), Buffer.from([50, 0, 0, 0, 1, 2]));
    q = await open(dir);
    assert.deepEqual((await drain(q)).map(text), ['whole']);
  } finally {
    await q.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('a full queue refuses pushes with a retryable 429 naming the setting, and takes them again once drained', async () => {
  const dir = tempDir();
  const q = await open(dir, { maxBytes: 100 });
  try {
    await q.push(Buffer.alloc(60), 1);
    await assert.rejects(q.push(Buffer.alloc(60), 1), (err: unknown) => {
      assert.ok(err instanceof RetryableStorageError);
      assert.equal(err.httpStatus, 429);
      assert.ok((err.retryAfterSeconds ?? 0) > 0);
      assert.match(err.message, /queue_max_bytes/);
      return true;
    });
    assert.equal(q.records, 1, 'the refused push left nothing behind');
    for (const item of await drain(q)) await q.ack(item);
    await q.push(Buffer.alloc(60), 1);
    assert.equal(q.records, 1);
  } finally {
    await q.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('waitForData wakes the reader when a push becomes durable', async () => {
  const dir = tempDir();
  const q = await open(dir);
  try {
    assert.equal(await q.next(), undefined);
    const woke = q.waitForData();
    await q.push(Buffer.from('x'), 1);
    await woke;
    assert.equal(text((await q.next())!), 'x');
  } finally {
    await q.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
