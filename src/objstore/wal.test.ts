import assert from 'node:assert/strict';
import { closeSync, mkdirSync, mkdtempSync, openSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { crc32 } from 'node:zlib';
import { test } from 'node:test';
import { mountTmpfs } from '../../test/support/tmpfs.ts';
import { Wal } from './wal.ts';

function frame(payload: Buffer): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt32LE(payload.length, 0);
  head.writeUInt32LE(crc32(payload), 4);
  return Buffer.concat([head, payload]);
}

async function replayAll(dir: string): Promise<string[]> {
  const wal = await Wal.open(dir);
  const out: string[] = [];
  try {
    await wal.replay(0, (f) => out.push(f.payload.toString()));
  } finally {
    await wal.close();
  }
  return out;
}

test('replay cuts a torn tail off any segment (an older failed write), but refuses a corrupt frame before the last segment', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'heimdall-wal-'));
  try {
    const torn = frame(Buffer.from('never acknowledged')).subarray(0, 13);
    writeFileSync(path.join(dir, '00000001'), Buffer.concat([frame(Buffer.from('a')), torn]));
    writeFileSync(path.join(dir, '00000002'), frame(Buffer.from('b')));
    assert.deepEqual(await replayAll(dir), ['a', 'b']);

    const bad = frame(Buffer.from('corrupt'));
    bad[bad.length - 1]! ^= 0xff;
    writeFileSync(path.join(dir, '00000001'), Buffer.concat([frame(Buffer.from('a')), bad, frame(Buffer.from('c'))]));
    await assert.rejects(replayAll(dir), /is corrupt at byte 9 and is not the last segment/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

const mounted = mountTmpfs(1024 * 1024);

test('a write that fails on a full disk is cut back off the segment; writing resumes once space is freed', { skip: typeof mounted === 'string' ? mounted : false }, async () => {
  const fsMount = mounted as Exclude<typeof mounted, string>;
  const dir = path.join(fsMount.dir, 'wal');
  mkdirSync(dir);
  try {
    const wal = await Wal.open(dir);
    await wal.replay(0, () => undefined);
    const acked: string[] = [];
    const failed: string[] = [];
    const payload = (i: number): Buffer => Buffer.from(`${i}:${'x'.repeat(20_000)}`);
    const filler = path.join(fsMount.dir, 'filler');
    const fd = openSync(filler, 'w');
    // Leave a little room, so the disk fills in the middle of a group of frames.
    for (let left = 1024 * 1024 - 150_000; left > 0; left -= 64 * 1024) writeSync(fd, Buffer.alloc(64 * 1024));
    closeSync(fd);
    let undone = 0;
    for (let round = 0; round < 20 && failed.length === 0; round++) {
      await Promise.all(
        Array.from({ length: 4 }, async (_, k) => {
          const id = String(round * 4 + k);
          try {
            await wal.append(payload(round * 4 + k), () => undefined, () => undone++);
            acked.push(id);
          } catch (err) {
            assert.equal(((err as Error).cause as NodeJS.ErrnoException).code, 'ENOSPC');
            failed.push(id);
          }
        }),
      );
    }
    assert.ok(failed.length > 0 && acked.length > 0, `acked ${acked.length}, failed ${failed.length}`);
    assert.equal(undone, failed.length, 'every refused frame ran its onFailed hook');
    rmSync(filler);
    for (let i = 1000; i < 1010; i++) {
      await wal.append(payload(i), () => undefined);
      acked.push(String(i));
    }
    await wal.rotate();
    await wal.append(payload(2000), () => undefined);
    acked.push('2000');
    await wal.close();
    const replayed = (await replayAll(dir)).map((p) => p.slice(0, p.indexOf(':')));
    assert.deepEqual(replayed, acked);
  } finally {
    fsMount.unmount();
  }
});
