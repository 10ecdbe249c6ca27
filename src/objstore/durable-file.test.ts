import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { syncDir, writeFileDurably } from './durable-file.ts';

test('writeFileDurably replaces a file and leaves no temp file; a failed write leaves the old content', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'heimdall-durable-'));
  try {
    const file = path.join(dir, 'FORMAT.json');
    for (const [data, want] of [
      ['one\n', 'one\n'],
      [Buffer.from('two\n'), 'two\n'],
      ['', ''],
    ] as const) {
      await writeFileDurably(file, data);
      assert.equal(readFileSync(file, 'utf8'), want);
      assert.deepEqual(readdirSync(dir), ['FORMAT.json']);
    }
    await writeFileDurably(file, 'custom temp', path.join(dir, '.tmp-x'));
    assert.equal(readFileSync(file, 'utf8'), 'custom temp');
    assert.deepEqual(readdirSync(dir), ['FORMAT.json']);
    // The target is a directory: the rename fails, the temp file is removed, the error is the rename's.
    const sub = path.join(dir, 'sub');
    (await import('node:fs')).mkdirSync(path.join(sub, 'x'), { recursive: true });
    await assert.rejects(writeFileDurably(sub, 'x'), (err: NodeJS.ErrnoException) => typeof err.code === 'string');
    assert.deepEqual(readdirSync(dir).sort(), ['FORMAT.json', 'sub']);
    await syncDir(path.join(dir, 'missing')); // tolerated
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
