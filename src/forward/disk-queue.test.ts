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

/** Byte offsets of the frames in a segment file (`[u32 length][u32 crc][payload]` each). */
function frameOffsets(file: string): number[] {
  const buf = fs.readFileSync(file);
  const out: number[] = [];
  for (let pos = 0; pos + 8 <= buf.length; pos += 8 + buf.readUInt32LE(pos)) out.push(pos);
  return out;
}

/** Overwrites `bytes` at `offset` of `file` (what a bad disk or a stray write leaves). */
function garble(file: string, offset: number, bytes: Buffer): void {
  const fd = fs.openSync(file, 'r+');
  fs.writeSync(fd, bytes, 0, bytes.length, offset);
  fs.closeSync(fd);
}

test('a corrupt frame is skipped, reported and its records counted lost; the items around it are read', async () => {
  const dir = tempDir();
  const corrupt: { offset: number; bytes: number }[] = [];
  let lost = 0;
  const opts = { dir, maxBytes: 1 << 20, segmentBytes: 1 << 20, name: 'test', setting: 'queue_max_bytes', onCorrupt: (b: { offset: number; bytes: number }) => corrupt.push(b), onLost: (n: number) => (lost += n) };
  let q = await DiskQueue.open(opts);
  try {
    for (const [i, s] of ['first', 'second', 'third'].entries()) await q.push(Buffer.from(s), i + 1);
    const [seg] = segmentFiles(dir).filter((f) => fs.statSync(path.join(dir, f)).size > 0);
    const file = path.join(dir, seg!);
    const offsets = frameOffsets(file);
    // The payload of the second frame garbled while the queue is open: its checksum fails when it is read.
    garble(file, offsets[1]! + 10, Buffer.from('XX'));
    const items = await drain(q);
    assert.deepEqual(items.map(text), ['first', 'third']);
    assert.deepEqual(corrupt, [{ segment: Number(seg), offset: offsets[1], bytes: offsets[2]! - offsets[1]! }]);
    for (const item of items) await q.ack(item);
    assert.equal(lost, 2, 'the skipped frame stood for 2 records');
    assert.equal(q.records, 0);
    await q.close();

    // At open: a garbled length (no frame boundary to trust) is skipped up to the next good frame.
    corrupt.length = 0;
    q = await DiskQueue.open(opts);
    for (const s of ['a', 'b', 'c']) await q.push(Buffer.from(`${s}-${'y'.repeat(30)}`), 1);
    await q.close();
    const [seg2] = segmentFiles(dir).filter((f) => fs.statSync(path.join(dir, f)).size > 0);
    const file2 = path.join(dir, seg2!);
    const offsets2 = frameOffsets(file2);
    garble(file2, offsets2[1]!, Buffer.from([0xff, 0xff, 0x00, 0x10]));
    q = await DiskQueue.open(opts);
    assert.equal(corrupt.length, 1);
    assert.equal(corrupt[0]!.offset, offsets2[1]);
    assert.equal(corrupt[0]!.bytes, offsets2[2]! - offsets2[1]!);
    // The reader meets the kept bad bytes again and skips them the same way, without reporting them twice.
    assert.deepEqual((await drain(q)).map((i) => text(i)[0]), ['a', 'c']);
    assert.equal(corrupt.length, 1);
  } finally {
    await q.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
