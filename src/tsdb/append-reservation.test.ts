import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { tsdbConfigOptions } from '../app/engine-options.ts';
import { metricsConfigSchema } from '../config/metrics-config.ts';
import type { MetricRecord, TenantId } from '../model/index.ts';
import { Tsdb } from './index.ts';

const TENANT = 'a' as TenantId;
const NOW = 1_000_000_000;

async function open(limits: Record<string, unknown> = {}): Promise<Tsdb> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'heimdall-tsdb-ooo-'));
  return Tsdb.open({ dir, ...tsdbConfigOptions(metricsConfigSchema.parse({ limits })), now: () => NOW, maintenanceIntervalMs: 0 });
}

function rec(points: readonly [number, number][]): MetricRecord {
  return { labels: { __name__: 'm', job: 'j' }, samples: points.map(([timestampMs, value]) => ({ timestampMs, value })) };
}

function range(from: number, to: number, step: number): [number, number][] {
  const out: [number, number][] = [];
  for (let t = from; t <= to; t += step) out.push([t, t]);
  return out;
}

async function stored(db: Tsdb): Promise<number[]> {
  const q = await db.querier([TENANT], { startMs: -1e15, endMs: 1e15 });
  const ts: number[] = [];
  for await (const batch of q.select([{ op: '=', name: '__name__', value: 'm' }])) for (const s of batch) ts.push(...s.timestampsMs);
  await q.close();
  return ts;
}

test('two concurrent transactions with overlapping times: the later one gets out-of-order rejections', async () => {
  const db = await open({ out_of_order_time_window: 0 });
  const a = db.appender(TENANT);
  const b = db.appender(TENANT);
  // Both validate before either commits: the race the check must not lose.
  const oa = a.append(rec(range(1000, 2000, 10)));
  const ob = b.append(rec([...range(1005, 1995, 10), [2005, 2005]]));
  assert.equal(oa.accepted, 101);
  assert.equal(ob.accepted, 1, 'only the sample newer than the other transaction is accepted');
  assert.equal(ob.rejections.length, 1);
  assert.equal(ob.rejections[0]!.reason, 'sample_out_of_order');
  assert.equal(ob.rejections[0]!.count, 100);
  const [sa, sb] = await Promise.all([a.commit(), b.commit()]);
  assert.equal(sa.records + sb.records, 102);
  const ts = await stored(db);
  assert.deepEqual(ts, [...range(1000, 2000, 10).map(([t]) => t), 2005]);
  await db.close();
});

test('a concurrent conflicting value at the same timestamp is a duplicate; an identical one is accepted', async () => {
  const db = await open();
  const a = db.appender(TENANT);
  const b = db.appender(TENANT);
  const c = db.appender(TENANT);
  assert.equal(a.append(rec([[1000, 1]])).accepted, 1);
  const ob = b.append(rec([[1000, 2]]));
  assert.equal(ob.accepted, 0);
  assert.equal(ob.rejections[0]!.reason, 'sample_duplicate_timestamp');
  assert.equal(c.append(rec([[1000, 1]])).accepted, 1);
  await Promise.all([a.commit(), b.commit(), c.commit()]);
  assert.deepEqual(await stored(db), [1000]);
  await db.close();
});

test('a rolled-back transaction reserves nothing: a retry of its samples is accepted', async () => {
  const db = await open();
  const a = db.appender(TENANT);
  const b = db.appender(TENANT);
  a.append(rec([[3000, 3]]));
  assert.equal(b.append(rec([[2000, 2]])).accepted, 0, 'older than the open transaction');
  a.rollback();
  await b.commit();
  const retry = db.appender(TENANT);
  assert.equal(retry.append(rec([[2000, 2]])).accepted, 1);
  await retry.commit();
  assert.deepEqual(await stored(db), [2000]);
  await db.close();
});

test('the reservation of an open transaction outlives the commit of another one', async () => {
  const db = await open();
  const a = db.appender(TENANT);
  const b = db.appender(TENANT);
  a.append(rec([[1000, 1]]));
  b.append(rec([[2000, 2]]));
  await a.commit();
  const c = db.appender(TENANT);
  const oc = c.append(rec([[1500, 1.5]]));
  assert.equal(oc.accepted, 0, 'b has 2000 in flight');
  c.rollback();
  await b.commit();
  assert.deepEqual(await stored(db), [1000, 2000]);
  await db.close();
});
