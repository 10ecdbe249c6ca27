import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { configSchema } from '../config/index.ts';
import type { MetricRecord, TenantId } from '../model/index.ts';
import { Tsdb } from '../tsdb/index.ts';
import { PromqlEngine, PromqlError } from './index.ts';
import { tsdbConfigOptions } from '../app/engine-options.ts';

// Budgets enforced while a query evaluates (issue 16): samples held in subqueries, count_values output,
// produced label bytes, result bytes and wall time inside the evaluation loops.

const T = 'budget-test' as TenantId;
let dir: string;
let db: Tsdb;

before(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'heimdall-'));
  const config = configSchema.parse({
    metrics: { limits: { out_of_order_time_window: '10000d', creation_grace_period: '10000d', retention_period: 0 } },
  }).metrics;
  db = await Tsdb.open({ dir, ...tsdbConfigOptions(config), memoryLimitBytes: 64 * 1024 * 1024, threads: 1, now: () => 0, maintenanceIntervalMs: 0 });
  const app = db.appender(T);
  const recs: MetricRecord[] = ['a', 'b', 'c'].map((instance, j) => ({
    labels: { __name__: 'm', job: 'api', instance },
    samples: Array.from({ length: 61 }, (_, i) => ({ timestampMs: i * 10_000, value: i * (j + 1) })),
  }));
  for (const r of recs) assert.equal(app.append(r).rejections.length, 0);
  await app.commit();
});

after(async () => {
  await db.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

const isError = (type: string, message: RegExp) => (err: unknown): boolean => {
  assert.ok(err instanceof PromqlError, String(err));
  assert.equal(err.type, type);
  assert.match(err.message, message);
  return true;
};
const TOO_MANY = /^query processing would load too many samples into memory in query execution$/;

test('a subquery whose step grid exceeds max_samples fails before it is evaluated', async () => {
  const engine = new PromqlEngine({ maxSamples: 10_000 });
  await assert.rejects(engine.instant(db, [T], 'max_over_time(m[1d:1ms])', 600_000), isError('execution', TOO_MANY));
});

test('samples of a fine subquery are counted while its grid is built', async () => {
  // 600,000 inner steps per series fit the budget alone; three series do not.
  const engine = new PromqlEngine({ maxSamples: 1_000_000 });
  await assert.rejects(engine.instant(db, [T], 'max_over_time(m[10m:1ms])', 600_000), isError('execution', TOO_MANY));
  const ok = await engine.instant(db, [T], 'max_over_time(m[10m:1s])', 600_000);
  assert.equal(ok.value.type === 'vector' && ok.value.samples.length, 3);
});

test('the wall-time budget stops an evaluation inside its loops', async () => {
  const engine = new PromqlEngine({ maxSamples: 1e12 });
  await assert.rejects(
    engine.instant(db, [T], 'max_over_time(m[1h:1ms])', 600_000, { timeoutMs: 50 }),
    isError('timeout', /^query timed out in (expression evaluation|query preparation)$/),
  );
});

test('count_values output is charged per series and step while it grows', async () => {
  const engine = new PromqlEngine({ maxSamples: 10_000 });
  // 3 series × 601 steps of distinct values: ~180 output series of 601 slots each.
  await assert.rejects(engine.range(db, [T], 'count_values("v", m)', 0, 600_000, 1_000), isError('execution', TOO_MANY));
  const ok = await engine.range(db, [T], 'count_values("v", m)', 0, 600_000, 60_000);
  assert.equal(ok.value.type, 'matrix');
});

test('label_join values are measured before they are built', async () => {
  const engine = new PromqlEngine({ maxResultBytes: 4096 });
  let q = 'label_join(m, "x", "", "instance", "instance")';
  for (let i = 0; i < 40; i++) q = `label_join(${q}, "x", "", "x", "x")`;
  await assert.rejects(engine.instant(db, [T], q, 600_000), isError('execution', /bytes of label values.*metrics\.query\.max_result_bytes/));
  const ok = await engine.instant(db, [T], 'label_join(m, "x", "-", "job", "instance")', 600_000);
  assert.equal(ok.value.type === 'vector' && ok.value.samples[0]!.labels.x, 'api-a');
});

test('label_replace output counts against the same budget', async () => {
  const engine = new PromqlEngine({ maxResultBytes: 64 });
  const q = 'label_replace(m, "x", "$1$1$1$1$1$1$1$1$1$1$1$1$1$1$1$1$1$1$1$1$1$1$1$1", "job", "(.*)")';
  await assert.rejects(engine.instant(db, [T], q, 600_000), isError('execution', /bytes of label values/));
});

test('a result larger than max_result_bytes is refused', async () => {
  const engine = new PromqlEngine({ maxResultBytes: 2_000 });
  await assert.rejects(engine.range(db, [T], 'm', 0, 600_000, 10_000), isError('execution', /result would be larger than 2000 bytes/));
  const ok = await engine.instant(db, [T], 'sum(m)', 600_000);
  assert.equal(ok.value.type, 'vector');
});
