import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { metricsConfigSchema } from '../config/metrics-config.ts';
import type { Exemplar, MetricRecord, TenantId } from '../model/index.ts';
import { ExemplarStore } from './exemplar-store.ts';
import { Tsdb } from './index.ts';
import { tsdbConfigOptions } from '../app/engine-options.ts';

const ex = (t: number, v = t, trace = `t${t}`): Exemplar => ({ labels: { trace_id: trace }, value: v, timestampMs: t });

test('one ring for all series: the oldest exemplar written is overwritten first, whatever its series', () => {
  const store = new ExemplarStore(4);
  assert.equal(store.add(1, ex(10)), 'added');
  assert.equal(store.add(2, ex(11)), 'added');
  assert.equal(store.add(1, ex(12)), 'added');
  assert.equal(store.add(2, ex(13)), 'added');
  assert.equal(store.add(1, ex(14)), 'added');
  assert.equal(store.size, 4);
  assert.deepEqual(store.select(1, 0, 100).map((e) => e.timestampMs), [12, 14]);
  assert.deepEqual(store.select(2, 0, 100).map((e) => e.timestampMs), [11, 13]);
  store.add(3, ex(15));
  store.add(3, ex(16));
  // Slots written 11 (series 2) and 12 (series 1) were the oldest.
  assert.deepEqual(store.select(2, 0, 100).map((e) => e.timestampMs), [13]);
  assert.deepEqual(store.select(1, 0, 100).map((e) => e.timestampMs), [14]);
  store.add(3, ex(17));
  assert.deepEqual(store.select(2, 0, 100), [], 'series 2 fully overwritten');
  assert.deepEqual(store.select(3, 15, 15).map((e) => e.timestampMs), [15]);
});

test('a re-sent newest exemplar is a duplicate, an older one is out of order, capacity 0 stores none', () => {
  const store = new ExemplarStore(10);
  store.add(1, ex(10, 1));
  assert.equal(store.add(1, ex(10, 1)), 'duplicate');
  assert.equal(store.add(1, ex(9, 1)), 'out_of_order');
  assert.equal(store.add(1, ex(10, 2)), 'added', 'same time, another value (native histogram buckets)');
  assert.equal(store.size, 2);
  assert.equal(new ExemplarStore(0).add(1, ex(1)), 'disabled');
});

test('takeBefore and restore move a series\' oldest exemplars out and back in order', () => {
  const store = new ExemplarStore(8);
  for (const t of [1, 2, 3, 4]) store.add(7, ex(t));
  assert.deepEqual(store.takeBefore(7, 3).map((e) => e.timestampMs), [1, 2]);
  assert.deepEqual(store.select(7, 0, 10).map((e) => e.timestampMs), [3, 4]);
  store.restore(7, [ex(1), ex(2)]);
  assert.deepEqual(store.select(7, 0, 10).map((e) => e.timestampMs), [1, 2, 3, 4]);
  for (const t of [5, 6, 7, 8, 9, 10]) store.add(7, ex(t));
  assert.equal(store.size, 8);
  // Restored exemplars took fresh slots, so 3 and 4 (older slots) were overwritten first.
  assert.deepEqual(store.select(7, 0, 100).map((e) => e.timestampMs), [1, 2, 5, 6, 7, 8, 9, 10]);
});

async function open(dir: string, maxExemplars?: number): Promise<Tsdb> {
  const config = metricsConfigSchema.parse({ ...(maxExemplars === undefined ? {} : { max_exemplars: maxExemplars }), limits: { creation_grace_period: '1000d' } });
  return Tsdb.open({ dir, ...tsdbConfigOptions(config), now: () => 10_000_000, maintenanceIntervalMs: 0 });
}

function counter(t: number): MetricRecord {
  return { labels: { __name__: 'req_total', job: 'x' }, samples: [{ timestampMs: t, value: t }], exemplars: [ex(t, t % 7, `trace-${t}`)] };
}

const TENANT = 'a' as TenantId;
const ALL = { startMs: -1e15, endMs: 1e15 };
const matchers = [[{ op: '=' as const, name: '__name__', value: 'req_total' }]];

test('more than 16 exemplars per series are kept, moved into blocks by a flush, and survive restart', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'heimdall-exemplars-'));
  let db = await open(dir);
  for (let i = 1; i <= 165; i++) {
    const app = db.appender(TENANT);
    app.append(counter(i * 1000));
    await app.commit();
  }
  const count = async (): Promise<number> => (await db.exemplars([TENANT], ALL, matchers))[0]?.exemplars.length ?? 0;
  assert.equal(await count(), 165);
  await db.flush(100_500);
  assert.ok(fs.readdirSync(path.join(dir, 'blocks'), { recursive: true }).some((f) => String(f).includes('exemplars-')), 'an exemplar block was written');
  assert.equal(await count(), 165, 'blocks and head together');
  const inRange = (await db.exemplars([TENANT], { startMs: 99_000, endMs: 102_000 }, matchers))[0]!.exemplars;
  assert.deepEqual(inRange.map((e) => e.timestampMs), [99_000, 100_000, 101_000, 102_000]);
  assert.deepEqual(inRange[0], ex(99_000, 99_000 % 7, 'trace-99000'));
  await db.close();
  db = await open(dir);
  assert.equal(await count(), 165, 'after restart');
  await db.compact(true);
  assert.equal(await count(), 165, 'after compaction');
  await db.close();
  const format = JSON.parse(fs.readFileSync(path.join(dir, 'tsdb.format.json'), 'utf8')) as { formatVersion: number };
  assert.equal(format.formatVersion, 2);
  fs.rmSync(dir, { recursive: true, force: true });
});

test('max_exemplars bounds the exemplars held in memory across series', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'heimdall-exemplars-'));
  const db = await open(dir, 10);
  for (let i = 1; i <= 30; i++) {
    const app = db.appender(TENANT);
    app.append({ ...counter(i * 1000), labels: { __name__: 'req_total', job: `j${i % 3}` } });
    await app.commit();
  }
  const all = await db.exemplars([TENANT], ALL, matchers);
  assert.equal(all.reduce((n, s) => n + s.exemplars.length, 0), 10);
  assert.deepEqual(all.flatMap((s) => s.exemplars.map((e) => e.timestampMs)).sort((a, b) => a - b), [21, 22, 23, 24, 25, 26, 27, 28, 29, 30].map((i) => i * 1000));
  await db.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

test('a version-1 directory opens and is stamped version 2', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'heimdall-exemplars-'));
  const stampVersion = (): number => (JSON.parse(fs.readFileSync(path.join(dir, 'tsdb.format.json'), 'utf8')) as { formatVersion: number }).formatVersion;
  // As the builds before the shared format stamp wrote it: converted, and the old file removed.
  fs.writeFileSync(path.join(dir, 'FORMAT.json'), JSON.stringify({ format: 'heimdall-tsdb', version: 1 }));
  let db = await open(dir);
  await db.close();
  assert.equal(stampVersion(), 2);
  assert.ok(!fs.existsSync(path.join(dir, 'FORMAT.json')), 'the legacy stamp is gone');
  // As the shared stamp records it.
  fs.writeFileSync(path.join(dir, 'tsdb.format.json'), JSON.stringify({ name: 'tsdb', formatVersion: 1, createdBy: 'heimdall', createdAt: '2026-01-01T00:00:00.000Z' }));
  db = await open(dir);
  await db.close();
  assert.equal(stampVersion(), 2);
  fs.rmSync(dir, { recursive: true, force: true });
});
