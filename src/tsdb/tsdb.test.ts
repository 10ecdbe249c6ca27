import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { metricsConfigSchema } from '../config/metrics-config.ts';
import type { MetricsConfig } from '../config/metrics-config.ts';
import { STALE_NAN, isStaleNaN } from '../model/index.ts';
import type { LabelMatcher, MetricRecord, NativeHistogram, TenantId } from '../model/index.ts';
import { StorageFormatError, federatedMetricsStorage } from '../storage/index.ts';
import type { MetricQueryable, SeriesData } from '../storage/index.ts';
import { Tsdb } from './index.ts';
import { tsdbConfigOptions } from '../app/engine-options.ts';

const T = (s: string): TenantId => s as TenantId;
const ALL = { startMs: -1e15, endMs: 1e15 };

function tmpDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'heimdall-tsdb-'));
}

function config(overrides: Record<string, unknown> = {}): MetricsConfig {
  return metricsConfigSchema.parse({ limits: overrides });
}

async function open(dir: string, cfg = config(), now = () => 1_000_000_000): Promise<Tsdb> {
  return Tsdb.open({ dir, ...tsdbConfigOptions(cfg), now });
}

async function write(db: Tsdb, tenant: string, records: MetricRecord[]) {
  const app = db.appender(T(tenant));
  const rejections = [];
  let accepted = 0;
  for (const r of records) {
    const o = app.append(r);
    accepted += o.accepted;
    rejections.push(...o.rejections);
  }
  const stats = await app.commit();
  return { accepted, rejections, stats };
}

async function selectAll(db: MetricQueryable, tenants: string[], matchers: LabelMatcher[], range = ALL): Promise<SeriesData[]> {
  const q = await db.querier(tenants.map(T), range);
  const out: SeriesData[] = [];
  for await (const batch of q.select(matchers)) out.push(...batch);
  await q.close();
  return out;
}

const eq = (name: string, value: string): LabelMatcher => ({ op: '=', name, value });
const re = (name: string, value: string): LabelMatcher => ({ op: '=~', name, value });
const ne = (name: string, value: string): LabelMatcher => ({ op: '!=', name, value });
const nre = (name: string, value: string): LabelMatcher => ({ op: '!~', name, value });

function series(name: string, labels: Record<string, string>, points: [number, number][]): MetricRecord {
  return { labels: { __name__: name, ...labels }, samples: points.map(([timestampMs, value]) => ({ timestampMs, value })) };
}

test('append, commit and select round trip, sorted by labels', async () => {
  const db = await open(tmpDir());
  const r = await write(db, 'a', [
    series('up', { job: 'b', instance: 'x' }, [[1000, 1], [2000, 2]]),
    series('up', { job: 'a', instance: 'y' }, [[1000, 3]]),
    series('http_requests_total', { job: 'a' }, [[1500, 10]]),
  ]);
  assert.equal(r.accepted, 4);
  assert.deepEqual(r.rejections, []);
  assert.equal(r.stats.records, 4);
  assert.equal(r.stats.newSeries, 3);
  const all = await selectAll(db, ['a'], [re('__name__', '.+')]);
  assert.deepEqual(all.map((s) => s.labels), [
    { __name__: 'http_requests_total', job: 'a' },
    { __name__: 'up', instance: 'x', job: 'b' },
    { __name__: 'up', instance: 'y', job: 'a' },
  ]);
  assert.deepEqual([...all[1]!.timestampsMs], [1000, 2000]);
  assert.deepEqual([...all[1]!.values], [1, 2]);
  assert.ok(all[1]!.timestampsMs instanceof Float64Array);
  // Range restriction is inclusive at both ends.
  const narrow = await selectAll(db, ['a'], [eq('__name__', 'up'), eq('job', 'b')], { startMs: 2000, endMs: 2000 });
  assert.deepEqual([...narrow[0]!.timestampsMs], [2000]);
  const none = await selectAll(db, ['a'], [eq('__name__', 'up')], { startMs: 3000, endMs: 4000 });
  assert.equal(none.length, 0);
  // Other tenants see nothing.
  assert.equal((await selectAll(db, ['b'], [re('__name__', '.+')])).length, 0);
  await db.close();
});

test('matchers: equality, regex, negative and empty matchers', async () => {
  const db = await open(tmpDir());
  await write(db, 'a', [
    series('m', { env: 'prod', pod: 'p1' }, [[1, 1]]),
    series('m', { env: 'dev', pod: 'p2' }, [[1, 1]]),
    series('m', { pod: 'p3' }, [[1, 1]]),
    series('other', { env: 'prod' }, [[1, 1]]),
  ]);
  const pods = async (ms: LabelMatcher[]) =>
    (await selectAll(db, ['a'], ms)).map((s) => s.labels['pod'] ?? s.labels['__name__']);
  assert.deepEqual(await pods([eq('__name__', 'm'), eq('env', 'prod')]), ['p1']);
  assert.deepEqual(await pods([eq('__name__', 'm'), ne('env', 'prod')]), ['p2', 'p3']);
  assert.deepEqual(await pods([eq('__name__', 'm'), re('env', 'pr.*')]), ['p1']);
  assert.deepEqual(await pods([eq('__name__', 'm'), re('env', 'prod|dev')]), ['p2', 'p1']);
  assert.deepEqual(await pods([eq('__name__', 'm'), nre('env', 'prod|dev')]), ['p3']);
  // `env=""` selects series without the label; `env=~".*"` selects everything; `env=~".+"` requires it.
  assert.deepEqual(await pods([eq('__name__', 'm'), eq('env', '')]), ['p3']);
  assert.deepEqual(await pods([eq('__name__', 'm'), re('env', '.*')]), ['p2', 'p1', 'p3']);
  assert.deepEqual(await pods([eq('__name__', 'm'), re('env', '.+')]), ['p2', 'p1']);
  assert.deepEqual(await pods([re('env', 'prod|')]), ['p1', 'p3', 'other']);
  // Regexes are anchored.
  assert.deepEqual(await pods([eq('__name__', 'm'), re('pod', '1')]), []);
  assert.deepEqual(await pods([eq('__name__', 'nope')]), []);
  assert.deepEqual(await pods([eq('missing', 'x')]), []);

  const q = await db.querier([T('a')], ALL);
  assert.deepEqual(await q.labelNames(), ['__name__', 'env', 'pod']);
  assert.deepEqual(await q.labelNames([eq('__name__', 'other')]), ['__name__', 'env']);
  assert.deepEqual(await q.labelValues('env'), ['dev', 'prod']);
  assert.deepEqual(await q.labelValues('pod', [eq('env', 'prod')]), ['p1']);
  assert.deepEqual(await q.labelValues('__name__', [], 1), ['m']);
  const outOfRange = await db.querier([T('a')], { startMs: 10, endMs: 20 });
  assert.deepEqual(await outOfRange.labelValues('pod', [eq('__name__', 'm')]), []);
  await db.close();
});

test('out-of-order samples are rejected by default and accepted inside the window', async () => {
  const db = await open(tmpDir());
  await write(db, 'a', [series('m', {}, [[1000, 1], [2000, 2]])]);
  const r = await write(db, 'a', [series('m', {}, [[1500, 9], [2000, 2], [2000, 3], [3000, 3]])]);
  assert.equal(r.accepted, 2); // the exact re-send of 2000 counts as accepted, 3000 is new
  const reasons = r.rejections.map((x) => [x.reason, x.count]);
  assert.deepEqual(reasons, [['sample_out_of_order', 1], ['sample_duplicate_timestamp', 1]]);
  assert.match(r.rejections[0]!.message, /^out of order sample/);
  // Unsorted within one record: the earlier one is out of order relative to the later.
  const r2 = await write(db, 'a', [series('m', {}, [[5000, 5], [4000, 4]])]);
  assert.equal(r2.rejections[0]!.reason, 'sample_out_of_order');
  const [s] = await selectAll(db, ['a'], [eq('__name__', 'm')]);
  assert.deepEqual([...s!.timestampsMs], [1000, 2000, 3000, 5000]);
  await db.close();

  const db2 = await open(tmpDir(), config({ out_of_order_time_window: '10s' }));
  await write(db2, 'a', [series('m', {}, [[20_000, 1]])]);
  const w = await write(db2, 'a', [series('m', {}, [[15_000, 2], [5_000, 3]])]);
  assert.equal(w.accepted, 1);
  assert.equal(w.rejections[0]!.reason, 'sample_too_old');
  const [s2] = await selectAll(db2, ['a'], [eq('__name__', 'm')]);
  assert.deepEqual([...s2!.timestampsMs], [15_000, 20_000]);
  await db2.close();
});

test('limits: series per tenant, label names, lengths, future and past samples', async () => {
  const now = 100 * 86_400_000;
  const cfg = config({
    max_global_series_per_user: 2,
    max_label_names_per_series: 3,
    max_label_name_length: 8,
    max_label_value_length: 4,
    past_grace_period: '1h',
  });
  const db = await open(tmpDir(), cfg, () => now);
  const r = await write(db, 'a', [
    series('a', {}, [[now, 1]]),
    series('b', {}, [[now, 1]]),
    series('c', {}, [[now, 1]]),
    series('d', { x: '1', y: '2', z: '3' }, [[now, 1]]),
    series('e', { toolonglabel: '1' }, [[now, 1]]),
    series('f', { x: '12345' }, [[now, 1], [now + 1, 2]]),
    { labels: { job: 'x' }, samples: [{ timestampMs: now, value: 1 }] },
  ]);
  assert.deepEqual(r.rejections.map((x) => [x.reason, x.count]), [
    ['max_series_per_tenant', 1],
    ['max_label_names_per_series', 1],
    ['label_name_too_long', 1],
    ['label_value_too_long', 2],
    ['missing_metric_name', 1],
  ]);
  assert.match(r.rejections[0]!.message, /err-mimir-max-series-per-user/);
  // Another tenant has its own budget.
  assert.equal((await write(db, 'b', [series('c', {}, [[now, 1]])])).accepted, 1);
  const t = await write(db, 'a', [series('a', {}, [[now + 11 * 60_000, 1], [now - 2 * 3_600_000, 1], [now + 1000, 2]])]);
  assert.deepEqual(t.rejections.map((x) => x.reason), ['sample_too_far_in_future', 'sample_too_old']);
  assert.equal(t.accepted, 1);
  await db.close();
});

test('stale NaN is stored bit-exact, a plain NaN stays a plain NaN', async () => {
  const dir = tmpDir();
  let db = await open(dir);
  const quieted = [STALE_NAN][0]!; // a JS double array may quiet the signalling NaN; storage restores it
  await write(db, 'a', [series('m', {}, [[1, 1], [2, STALE_NAN], [3, NaN], [4, quieted]])]);
  const check = async () => {
    const [s] = await selectAll(db, ['a'], [eq('__name__', 'm')]);
    const v = s!.values;
    assert.equal(v[0], 1);
    assert.ok(isStaleNaN(v[1]!));
    assert.ok(Number.isNaN(v[2]!) && !isStaleNaN(v[2]!));
    assert.ok(isStaleNaN(v[3]!));
  };
  await check();
  await db.close();
  db = await open(dir);
  await check();
  await db.close();
});

test('federated reads (storage/federation.ts over the TSDB) add __tenant_id__ and honour matchers on it', async () => {
  const db = await open(tmpDir());
  const fed = federatedMetricsStorage(db);
  await write(db, 'a', [series('up', { job: 'j' }, [[1, 1]])]);
  await write(db, 'b', [series('up', { job: 'j' }, [[1, 2]])]);
  const both = await selectAll(fed, ['a', 'b'], [eq('__name__', 'up')]);
  assert.deepEqual(both.map((s) => s.labels), [
    { __name__: 'up', __tenant_id__: 'a', job: 'j' },
    { __name__: 'up', __tenant_id__: 'b', job: 'j' },
  ]);
  const onlyB = await selectAll(fed, ['a', 'b'], [eq('__name__', 'up'), eq('__tenant_id__', 'b')]);
  assert.deepEqual(onlyB.map((s) => s.values[0]), [2]);
  const single = await selectAll(fed, ['a'], [eq('__name__', 'up')]);
  assert.deepEqual(single[0]!.labels, { __name__: 'up', job: 'j' });
  const q = await fed.querier([T('a'), T('b')], ALL);
  assert.deepEqual(await q.labelNames(), ['__name__', '__tenant_id__', 'job']);
  assert.deepEqual(await q.labelValues('__tenant_id__'), ['a', 'b']);
  assert.deepEqual(await q.labelValues('__tenant_id__', [{ op: '!=', name: '__tenant_id__', value: 'a' }]), ['b']);
  assert.deepEqual((await selectAll(fed, ['a', 'b'], [eq('__name__', 'up'), { op: '=~', name: '__tenant_id__', value: 'a|c' }])).map((s) => s.values[0]), [1]);
  await q.close();
  await assert.rejects(db.querier([T('a'), T('b')], ALL), /exactly one tenant/);
  await db.close();
});

test('exemplars, metadata and native histograms round trip and survive restart', async () => {
  const dir = tmpDir();
  let db = await open(dir);
  const h: NativeHistogram = {
    schema: 3, zeroThreshold: 1e-128, zeroCount: 1, count: 6, sum: 12.5,
    positiveSpans: [{ offset: 0, length: 2 }], positiveBuckets: [2, 3], negativeSpans: [], negativeBuckets: [],
  };
  await write(db, 'a', [
    {
      labels: { __name__: 'req_total', job: 'x' },
      samples: [{ timestampMs: 1000, value: 5 }],
      exemplars: [{ labels: { trace_id: 'abc' }, value: 5, timestampMs: 1000 }],
      metadata: { type: 'counter', help: 'Requests.', unit: '' },
    },
    { labels: { __name__: 'lat', job: 'x' }, histograms: [{ timestampMs: 2000, histogram: h }] },
    { labels: { __name__: 'only_meta' }, metadata: { type: 'gauge', help: 'G.', unit: 'bytes' } },
  ]);
  const check = async () => {
    const ex = await db.exemplars([T('a')], ALL, [[eq('__name__', 'req_total')]]);
    assert.deepEqual(ex, [{ seriesLabels: { __name__: 'req_total', job: 'x' }, exemplars: [{ labels: { trace_id: 'abc' }, value: 5, timestampMs: 1000 }] }]);
    const md = await db.metadata([T('a')]);
    assert.deepEqual([...md.keys()], ['only_meta', 'req_total']);
    assert.deepEqual(md.get('req_total'), [{ type: 'counter', help: 'Requests.', unit: '' }]);
    assert.deepEqual((await db.metadata([T('a')], 'only_meta')).get('only_meta'), [{ type: 'gauge', help: 'G.', unit: 'bytes' }]);
    const [hs] = await selectAll(db, ['a'], [eq('__name__', 'lat')]);
    assert.deepEqual([...hs!.histogramTimestampsMs!], [2000]);
    assert.deepEqual(hs!.histograms![0], h);
    assert.equal(hs!.values.length, 0);
    // A metadata-only record creates no series.
    assert.equal((await selectAll(db, ['a'], [eq('__name__', 'only_meta')])).length, 0);
  };
  await check();
  await db.close();
  db = await open(dir);
  await check();
  await db.close();
});

test('restart recovers every committed sample and series id state', async () => {
  const dir = tmpDir();
  let db = await open(dir);
  for (let i = 0; i < 5; i++) {
    await write(db, 'a', [series('m', { i: String(i % 2) }, [[i * 1000, i]])]);
  }
  await db.close();
  db = await open(dir);
  // Out-of-order state is recovered too.
  const r = await write(db, 'a', [series('m', { i: '0' }, [[1000, 1]]), series('m', { i: '2' }, [[1, 1]])]);
  assert.equal(r.rejections[0]!.reason, 'sample_out_of_order');
  const all = await selectAll(db, ['a'], [eq('__name__', 'm')]);
  assert.deepEqual(all.map((s) => [s.labels['i'], [...s.timestampsMs]]), [
    ['0', [0, 2000, 4000]],
    ['1', [1000, 3000]],
    ['2', [1]],
  ]);
  await db.close();
});

test('a newer on-disk format is refused', async () => {
  const dir = tmpDir();
  const db = await open(dir);
  await db.close();
  const stamp = path.join(dir, 'tsdb.format.json');
  fs.writeFileSync(stamp, JSON.stringify({ ...JSON.parse(fs.readFileSync(stamp, 'utf8')), formatVersion: 999 }));
  await assert.rejects(open(dir), StorageFormatError);
  // A legacy stamp of a newer build is refused as well.
  fs.rmSync(stamp);
  fs.writeFileSync(path.join(dir, 'FORMAT.json'), JSON.stringify({ format: 'heimdall-tsdb', version: 999 }));
  await assert.rejects(open(dir), StorageFormatError);
});

test('retention drops only when asked', async () => {
  const day = 86_400_000;
  const dir = tmpDir();
  const db = await open(dir, config({ retention_period: '2d' }));
  await write(db, 'a', [series('old', {}, [[0, 1]]), series('mixed', {}, [[0, 1], [5 * day, 2]])]);
  assert.equal((await selectAll(db, ['a'], [re('__name__', '.+')])).length, 2);
  await db.applyRetention(6 * day);
  const left = await selectAll(db, ['a'], [re('__name__', '.+')]);
  assert.deepEqual(left.map((s) => [s.labels['__name__'], [...s.timestampsMs]]), [['mixed', [5 * day]]]);
  await db.close();
});

test('rollback discards the batch', async () => {
  const db = await open(tmpDir());
  const app = db.appender(T('a'));
  app.append(series('m', {}, [[1, 1]]));
  app.rollback();
  assert.equal((await selectAll(db, ['a'], [eq('__name__', 'm')])).length, 0);
  await db.close();
});

test('select hints: labelsOnly returns labels without samples, limit stops early', async () => {
  const db = await open(tmpDir());
  await write(db, 'a', [1, 2, 3].map((i) => series('m', { i: String(i) }, [[i, i]])));
  const q = await db.querier([T('a')], ALL);
  const labelsOnly: SeriesData[] = [];
  for await (const b of q.select([eq('__name__', 'm')], { labelsOnly: true })) labelsOnly.push(...b);
  assert.deepEqual(labelsOnly.map((s) => [s.labels['i'], s.values.length]), [['1', 0], ['2', 0], ['3', 0]]);
  const limited: SeriesData[] = [];
  for await (const b of q.select([eq('__name__', 'm')], { limit: 2 })) limited.push(...b);
  assert.deepEqual(limited.map((s) => s.labels['i']), ['1', '2']);
  const aborted = new AbortController();
  aborted.abort();
  await assert.rejects(async () => {
    for await (const _ of q.select([eq('__name__', 'm')], { signal: aborted.signal })) void _;
  });
  await db.close();
});

test('exemplars and metadata survive a head flush (checkpoint) and restart', async () => {
  const dir = tmpDir();
  let db = await open(dir);
  await write(db, 'a', [{
    labels: { __name__: 'c_total' },
    samples: [{ timestampMs: 5, value: 1 }],
    exemplars: [{ labels: { trace_id: 't1' }, value: 1, timestampMs: 5 }],
    metadata: { type: 'counter', help: 'C.', unit: '' },
  }]);
  await db.flush();
  await db.close();
  db = await open(dir);
  assert.equal(db.stats().headSamples, 0);
  assert.deepEqual((await db.exemplars([T('a')], ALL, [[eq('__name__', 'c_total')]]))[0]?.exemplars, [{ labels: { trace_id: 't1' }, value: 1, timestampMs: 5 }]);
  assert.deepEqual((await db.metadata([T('a')])).get('c_total'), [{ type: 'counter', help: 'C.', unit: '' }]);
  const [s] = await selectAll(db, ['a'], [eq('__name__', 'c_total')]);
  assert.deepEqual([...s!.timestampsMs], [5]);
  await db.close();
});
