import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { metricsConfigSchema } from '../config/metrics-config.ts';
import { STALE_NAN, isStaleNaN } from '../model/index.ts';
import type { LabelMatcher, MetricRecord, NativeHistogram, TenantId } from '../model/index.ts';
import { federatedMetricsStorage } from '../storage/index.ts';
import type { SeriesData } from '../storage/index.ts';
import { Tsdb } from './index.ts';
import { tsdbConfigOptions } from '../app/engine-options.ts';

const T = (s: string): TenantId => s as TenantId;
const DAY = 86_400_000;
const HOUR = 3_600_000;

function tmpDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'heimdall-tsdb-blocks-'));
}

async function open(dir: string, limits: Record<string, unknown> = {}): Promise<Tsdb> {
  return Tsdb.open({
    dir,
    ...tsdbConfigOptions(metricsConfigSchema.parse({ limits: { creation_grace_period: '10000d', ...limits } })),
    maintenanceIntervalMs: 0,
  });
}

async function write(db: Tsdb, tenant: string, records: MetricRecord[]): Promise<void> {
  const app = db.appender(T(tenant));
  for (const r of records) {
    const o = app.append(r);
    assert.deepEqual(o.rejections, []);
  }
  await app.commit();
}

/** A snapshot of a query's answer that compares NaN payloads exactly. */
async function snapshot(db: Tsdb, tenants: string[], matchers: LabelMatcher[], startMs: number, endMs: number) {
  // Several tenants read through the federation wrapper, as the query API does.
  const q = await federatedMetricsStorage(db).querier(tenants.map(T), { startMs, endMs });
  const out: unknown[] = [];
  for await (const batch of q.select(matchers)) {
    for (const s of batch as SeriesData[]) {
      out.push({
        labels: s.labels,
        ts: [...s.timestampsMs],
        vs: [...s.values].map((v) => (isStaleNaN(v) ? 'stale' : Number.isNaN(v) ? 'nan' : v)),
        hs: s.histograms?.map((h, i) => [s.histogramTimestampsMs![i], h.count]) ?? [],
      });
    }
  }
  await q.close();
  return out;
}

const h = (count: number): NativeHistogram => ({
  schema: 0, zeroThreshold: 0, zeroCount: 0, count, sum: count * 2,
  positiveSpans: [{ offset: 0, length: 1 }], positiveBuckets: [count], negativeSpans: [], negativeBuckets: [],
});

/** Three days of data for a few series across two tenants, with stale markers and histograms. */
async function load(db: Tsdb): Promise<void> {
  const base = 10 * DAY;
  for (let hour = 0; hour < 72; hour += 6) {
    const records: MetricRecord[] = [];
    for (let i = 0; i < 5; i++) {
      const samples = [];
      for (let k = 0; k < 6 * 4; k++) {
        const t = base + hour * HOUR + k * 15 * 60_000;
        samples.push({ timestampMs: t, value: i === 3 && k === 5 ? STALE_NAN : i === 4 && k === 7 ? NaN : i * 1000 + hour + k / 7 });
      }
      records.push({ labels: { __name__: 'metric_a', i: String(i), job: i % 2 ? 'odd' : 'even' }, samples });
    }
    records.push({ labels: { __name__: 'hist' }, histograms: [{ timestampMs: base + hour * HOUR, histogram: h(hour) }] });
    await write(db, 'a', records);
    await write(db, 'b', [{ labels: { __name__: 'metric_a', i: '0' }, samples: [{ timestampMs: base + hour * HOUR, value: hour }] }]);
  }
}

const QUERIES: [string[], LabelMatcher[], number, number][] = [
  [['a'], [{ op: '=', name: '__name__', value: 'metric_a' }], 0, 100 * DAY],
  [['a'], [{ op: '=~', name: 'job', value: 'o.*' }], 10 * DAY + 20 * HOUR, 11 * DAY + 3 * HOUR],
  [['a'], [{ op: '=', name: 'i', value: '3' }], 11 * DAY, 11 * DAY + 2 * HOUR],
  [['a', 'b'], [{ op: '=', name: 'i', value: '0' }], 0, 100 * DAY],
  [['a'], [{ op: '=', name: '__name__', value: 'hist' }], 0, 100 * DAY],
];

test('the same queries answer the same over head, L0 blocks, compacted blocks and after restart', async () => {
  const dir = tmpDir();
  let db = await open(dir);
  await load(db);
  const answers = async () => Promise.all(QUERIES.map(([t, m, s, e]) => snapshot(db, t, m, s, e)));
  const head = await answers();
  assert.equal((head[0] as unknown[]).length, 5);
  assert.equal(db.stats().blocks, 0);

  // Flush in two steps so a day gets several L0 blocks.
  await db.flush(11 * DAY + 12 * HOUR);
  assert.ok(db.stats().blocks > 0);
  assert.deepEqual(await answers(), head, 'after a partial flush');
  await db.flush();
  assert.equal(db.stats().headSamples, 0);
  assert.deepEqual(await answers(), head, 'after a full flush');
  const before = db.stats().blocks;
  await db.compact();
  const after = db.stats();
  assert.ok(after.blocks < before, `compaction merged blocks (${before} → ${after.blocks})`);
  assert.ok(after.compactions > 0);
  assert.deepEqual(await answers(), head, 'after compaction');

  // New samples after compaction land in the head and merge with blocks.
  await write(db, 'a', [{ labels: { __name__: 'metric_a', i: '0', job: 'even' }, samples: [{ timestampMs: 20 * DAY, value: 1 }] }]);
  const withNew = await answers();
  await db.close();
  db = await open(dir);
  assert.deepEqual(await answers(), withNew, 'after restart');
  // Out-of-order state survives a flush + restart: the series' newest sample is in the head.
  const app = db.appender(T('a'));
  const o = app.append({ labels: { __name__: 'metric_a', i: '1', job: 'odd' }, samples: [{ timestampMs: 10 * DAY, value: 1 }] });
  assert.equal(o.rejections[0]?.reason, 'sample_out_of_order');
  await app.commit();
  const q = await db.querier([T('a')], { startMs: 0, endMs: 100 * DAY });
  assert.deepEqual(await q.labelValues('i'), ['0', '1', '2', '3', '4']);
  await db.close();
});

test('a crash between listing blocks and writing the checkpoint loses nothing and duplicates nothing', async () => {
  const dir = tmpDir();
  let db = await open(dir);
  await load(db);
  const m: LabelMatcher[] = [{ op: '=', name: '__name__', value: 'metric_a' }];
  const expected = await snapshot(db, ['a'], m, 0, 100 * DAY);
  await db.close();
  const walCopy = path.join(dir, 'wal-before-flush');
  fs.cpSync(path.join(dir, 'wal'), walCopy, { recursive: true });
  db = await open(dir);
  await db.flush();
  await db.close();
  // The crash: the manifest lists the new blocks, but the WAL still looks as it did before the flush.
  fs.rmSync(path.join(dir, 'wal'), { recursive: true });
  fs.renameSync(walCopy, path.join(dir, 'wal'));
  db = await open(dir);
  assert.ok(db.stats().blocks > 0 && db.stats().headSamples > 0, 'data is both in blocks and in the replayed head');
  assert.deepEqual(await snapshot(db, ['a'], m, 0, 100 * DAY), expected);
  await db.flush();
  await db.compact();
  assert.deepEqual(await snapshot(db, ['a'], m, 0, 100 * DAY), expected, 'duplicates in blocks are merged on read');
  await db.close();
});

test('retention drops whole day blocks and series without data, only when asked', async () => {
  const dir = tmpDir();
  const db = await open(dir, { retention_period: '1d' });
  await load(db);
  await db.flush();
  await db.compact();
  const blocksBefore = db.stats().blocks;
  // Now = day 12 + 12h: the cutoff (day 11 + 12h) removes day 10's blocks but keeps day 11 and 12.
  await db.applyRetention(12 * DAY + 12 * HOUR);
  assert.ok(db.stats().blocks < blocksBefore);
  const left = await snapshot(db, ['a'], [{ op: '=', name: 'i', value: '0' }], 0, 100 * DAY);
  const ts = (left[0] as { ts: number[] }).ts;
  assert.ok(ts[0]! >= 11 * DAY, 'day 10 is gone');
  assert.ok(ts.some((t) => t < 11 * DAY + 12 * HOUR), 'day 11 is kept whole (partitions are dropped, not rows)');
  // Everything expires later.
  await db.applyRetention(100 * DAY);
  assert.equal(db.stats().blocks, 0);
  assert.equal(db.stats().series, 0);
  assert.deepEqual(await snapshot(db, ['a'], [{ op: '=~', name: '__name__', value: '.+' }], 0, 100 * DAY), []);
  await db.close();
  const again = await open(dir, { retention_period: '1d' });
  assert.equal(again.stats().series, 0);
  await again.close();
});

test('background maintenance flushes a head spanning more than three hours', async () => {
  const dir = tmpDir();
  const db = await open(dir);
  await load(db);
  await db.maintain();
  const st = db.stats();
  assert.ok(st.flushes === 1 && st.blocks > 0);
  assert.ok(st.headSamples > 0 && st.headSamples <= 5 * 5, `the newest hour stays in memory (${st.headSamples})`);
  await db.close();
});
