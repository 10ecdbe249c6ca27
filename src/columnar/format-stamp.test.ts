import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { StorageFormatError } from '../storage/index.ts';
import { openFormatStamp } from './format-stamp.ts';
import type { FormatSpec } from './format-stamp.ts';

const SPEC: FormatSpec = {
  name: 'things',
  version: 3,
  legacy: { file: 'OLD.json', versionOf: (text) => (JSON.parse(text) as { v: number }).v },
};

function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'heimdall-stamp-'));
  return fn(dir).finally(() => fs.rmSync(dir, { recursive: true, force: true }));
}

const stampOf = (dir: string): { name: string; formatVersion: number; createdAt: string } =>
  JSON.parse(fs.readFileSync(path.join(dir, 'things.format.json'), 'utf8')) as { name: string; formatVersion: number; createdAt: string };
const write = (dir: string, file: string, value: unknown): void => fs.writeFileSync(path.join(dir, file), JSON.stringify(value));

test('a new store is stamped with the running version', () =>
  withDir(async (dir) => {
    assert.equal(await openFormatStamp(dir, SPEC), undefined);
    assert.equal(stampOf(dir).formatVersion, 3);
    assert.equal(await openFormatStamp(dir, SPEC), 3, 'found on the next open');
  }));

test('an older stamp is returned and moves up, keeping createdAt', () =>
  withDir(async (dir) => {
    write(dir, 'things.format.json', { name: 'things', formatVersion: 1, createdBy: 'heimdall', createdAt: '2020-01-01T00:00:00.000Z' });
    assert.equal(await openFormatStamp(dir, SPEC), 1);
    assert.deepEqual([stampOf(dir).formatVersion, stampOf(dir).createdAt], [3, '2020-01-01T00:00:00.000Z']);
  }));

test('newer, foreign and unreadable stamps are refused', async () => {
  const bad: [string, unknown][] = [
    ['newer', { name: 'things', formatVersion: 4 }],
    ['another store', { name: 'other', formatVersion: 1 }],
    ['no version', { name: 'things' }],
  ];
  for (const [what, stamp] of bad) {
    await withDir(async (dir) => {
      write(dir, 'things.format.json', stamp);
      await assert.rejects(openFormatStamp(dir, SPEC), StorageFormatError, what);
    });
  }
  await withDir(async (dir) => {
    fs.writeFileSync(path.join(dir, 'things.format.json'), '{');
    await assert.rejects(openFormatStamp(dir, SPEC), StorageFormatError, 'not JSON');
  });
  await withDir(async (dir) => {
    await openFormatStamp(dir, SPEC);
    await assert.rejects(openFormatStamp(dir, { ...SPEC, version: 2 }), /newer Heimdall.*things format 3.*reads up to 2.*upgrade Heimdall/);
  });
});

test('a legacy stamp is read with the same rules, converted and removed', () =>
  withDir(async (dir) => {
    write(dir, 'OLD.json', { v: 2 });
    assert.equal(await openFormatStamp(dir, SPEC), 2);
    assert.equal(stampOf(dir).formatVersion, 3);
    assert.ok(!fs.existsSync(path.join(dir, 'OLD.json')));
    fs.rmSync(path.join(dir, 'things.format.json'));
    write(dir, 'OLD.json', { v: 9 });
    await assert.rejects(openFormatStamp(dir, SPEC), StorageFormatError);
    assert.ok(fs.existsSync(path.join(dir, 'OLD.json')), 'a refused legacy stamp stays');
  }));
