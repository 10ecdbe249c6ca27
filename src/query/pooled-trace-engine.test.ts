// TraceQL on the query worker pool: the worker reads the real trace store through the serving thread and
// answers exactly what the in-process engine answers.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { traceStoreConfigOptions } from '../app/engine-options.ts';
import { configSchema } from '../config/index.ts';
import type { SpanRecord, TenantId } from '../model/index.ts';
import { TraceqlEngine } from '../traceql/index.ts';
import { TraceStore } from '../tracestore/index.ts';
import { PooledTraceQueryEngine } from './pooled-engines.ts';
import { QueryWorkerPool } from './worker-pool.ts';
import { jsonText } from '../storage/index.ts';

const T = 'pool-tenant' as TenantId;
const SEC = 1_000_000_000n;
const T0 = (BigInt(Date.now()) * 1_000_000n / (60n * SEC) - 10n) * 60n * SEC;
let dir: string;
let store: TraceStore;
let pool: QueryWorkerPool;

before(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'heimdall-pooled-traceql-'));
  store = await TraceStore.open({ dir, ...traceStoreConfigOptions(configSchema.parse({}).traces), threads: 1, memoryLimitBytes: 256 * 1024 ** 2, background: false });
  pool = new QueryWorkerPool({ workers: 1, workerHeapBytes: 256 * 1024 * 1024, maxConcurrentPerTenant: 2, maxQueuedPerTenant: 10, queueTimeoutMs: 60_000, cancelGraceMs: 5_000 });
  const app = store.appender(T);
  for (let n = 1; n <= 30; n++) {
    const traceId = n.toString(16).padStart(32, '0');
    const start = T0 + BigInt(n) * SEC;
    const rec: SpanRecord = {
      resource: [{ key: 'service.name', value: n % 3 === 0 ? 'api' : 'web' }],
      spans: [
        { traceId, spanId: `${n.toString(16).padStart(8, '0')}00000001`, name: 'root', kind: 2, startTimeUnixNs: start, endTimeUnixNs: start + 5_000_000n, attributes: [{ key: 'n', value: n }], statusCode: n % 5 === 0 ? 2 : 0, scope: { name: 'lib' } },
        { traceId, spanId: `${n.toString(16).padStart(8, '0')}00000002`, parentSpanId: `${n.toString(16).padStart(8, '0')}00000001`, name: 'child', kind: 3, startTimeUnixNs: start + 1_000_000n, endTimeUnixNs: start + 2_000_000n, attributes: [], statusCode: 0, scope: { name: 'lib' } },
      ],
    };
    app.append(rec);
  }
  await app.commit();
});

after(async () => {
  await pool.close();
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

test('search and metrics on a worker answer as in process', async () => {
  const pooled = new PooledTraceQueryEngine(pool, {}, 'traces.query.timeout');
  const local = new TraceqlEngine();
  const search = { query: '{ resource.service.name = "api" } > { name = "child" }', startNs: T0, endNs: T0 + 60n * SEC, limit: 5, spansPerSpanSet: 3 };
  const a = await pooled.search(store, [T], search);
  assert.equal(a.dataJson, (await local.search(store, [T], search)).dataJson);
  assert.equal((JSON.parse(jsonText(a.dataJson)) as { traces: unknown[] }).traces.length, 5);
  const range = { query: '{ status = error } | count_over_time() by (resource.service.name)', startNs: T0, endNs: T0 + 60n * SEC, stepNs: 10n * SEC, exemplars: 2 };
  const b = await pooled.range(store, [T], range);
  assert.equal(b.dataJson, (await local.range(store, [T], range)).dataJson);
  assert.ok((JSON.parse(jsonText(b.dataJson)) as { series: unknown[] }).series.length === 2);
});

test('a TraceQL error on a worker keeps its kind and message', async () => {
  const pooled = new PooledTraceQueryEngine(pool, {}, 'traces.query.timeout');
  await assert.rejects(pooled.search(store, [T], { query: '{ .a = }', startNs: T0, endNs: T0 + SEC, limit: 1, spansPerSpanSet: 1 }), (e: unknown) => {
    const err = e as { kind?: string; message: string };
    return err.kind === 'bad_data' && /^parse error at line 1, col 8/.test(err.message);
  });
});
