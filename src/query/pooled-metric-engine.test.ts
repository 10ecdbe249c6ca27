// PromQL on the query worker pool: the worker reads the real TSDB through the serving thread (series batches whose
// arrays cross packed into shared buffers) and answers byte for byte what the in-process engine answers.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { tsdbConfigOptions } from '../app/engine-options.ts';
import { configSchema } from '../config/index.ts';
import type { TenantId } from '../model/index.ts';
import { PromqlEngine } from '../promql/index.ts';
import { jsonText } from '../storage/index.ts';
import { Tsdb } from '../tsdb/index.ts';
import { InProcessMetricQueryEngine } from './in-process-engines.ts';
import { PooledMetricQueryEngine } from './pooled-engines.ts';
import { QueryWorkerPool } from './worker-pool.ts';

const T = 'pool-tenant' as TenantId;
const STEP_MS = 15_000;
const END_MS = Math.floor((Date.now() - 60_000) / STEP_MS) * STEP_MS;
let dir: string;
let db: Tsdb;
let pool: QueryWorkerPool;

before(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'heimdall-pooled-promql-'));
  db = await Tsdb.open({ dir, ...tsdbConfigOptions(configSchema.parse({}).metrics), maintenanceIntervalMs: 0 });
  pool = new QueryWorkerPool({ workers: 1, workerHeapBytes: 256 * 1024 * 1024, maxConcurrentPerTenant: 2, maxQueuedPerTenant: 10, queueTimeoutMs: 60_000, cancelGraceMs: 5_000 });
  const app = db.appender(T);
  // 600 series of very different lengths, so batches (256 series) mix short runs that share a buffer with runs
  // longer than one (8,192 samples): 1, 10, 300 and 9,000 samples, some ending before the queried range.
  const lengths = [1, 10, 300, 9_000];
  for (let i = 0; i < 600; i++) {
    const n = lengths[i % lengths.length]!;
    const endMs = i % 7 === 0 ? END_MS - 3 * 3600_000 : END_MS;
    const samples = Array.from({ length: n }, (_, k) => ({ timestampMs: endMs - (n - 1 - k) * 1_000, value: (i * 31 + k) % 97 }));
    const out = app.append({ labels: { __name__: 'packed_metric', series: String(i), shape: String(n) }, samples });
    assert.deepEqual(out.rejections, []);
  }
  await app.commit();
});

after(async () => {
  await pool.close();
  await db.close();
  rmSync(dir, { recursive: true, force: true });
});

test('range and instant queries on a worker answer byte for byte as in process', async () => {
  const pooled = new PooledMetricQueryEngine(pool, {});
  const local = new InProcessMetricQueryEngine(new PromqlEngine({}));
  const queries = ['packed_metric', 'rate(packed_metric[5m])', 'sum by (shape) (count_over_time(packed_metric[10m]))', 'packed_metric[3h]'];
  for (const query of queries.slice(0, 3)) {
    const q = { query, startMs: END_MS - 3 * 3600_000, endMs: END_MS, stepMs: 60_000 };
    const a = jsonText((await pooled.range(db, [T], q)).dataJson);
    assert.equal(a, jsonText((await local.range(db, [T], q)).dataJson), query);
    assert.ok((JSON.parse(a) as { result: unknown[] }).result.length > 0, query);
  }
  const q = { query: queries[3]!, timeMs: END_MS };
  const a = jsonText((await pooled.instant(db, [T], q)).dataJson);
  assert.equal(a, jsonText((await local.instant(db, [T], q)).dataJson));
  const matrix = JSON.parse(a) as { result: { metric: { shape: string }; values: unknown[] }[] };
  assert.ok(matrix.result.some((s) => s.values.length === 9_000), 'a series longer than one shared buffer crossed whole');
});
