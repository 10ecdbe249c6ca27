import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { configSchema } from '../config/index.ts';
import type { MetricRecord, TenantId } from '../model/index.ts';
import type { MetricQueryable } from '../storage/metrics.ts';
import { STALE_NAN } from '../model/index.ts';
import { Tsdb } from '../tsdb/index.ts';
import { PromqlEngine, PromqlError } from './index.ts';
import { tsdbConfigOptions } from '../app/engine-options.ts';

const T = 'engine-test' as TenantId;
let dir: string;
let db: Tsdb;

before(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'heimdall-'));
  const config = configSchema.parse({
    metrics: { limits: { out_of_order_time_window: '10000d', creation_grace_period: '10000d', retention_period: 0 } },
  }).metrics;
  db = await Tsdb.open({ dir, ...tsdbConfigOptions(config), memoryLimitBytes: 64 * 1024 * 1024, threads: 1, now: () => 0, maintenanceIntervalMs: 0 });
  const app = db.appender(T);
  const series = (labels: Record<string, string>, values: number[], stepMs = 60_000): MetricRecord => ({
    labels,
    samples: values.map((value, i) => ({ timestampMs: i * stepMs, value })),
  });
  const recs: MetricRecord[] = [
    series({ __name__: 'http_requests_total', job: 'api', instance: 'a' }, [0, 60, 120, 180, 240, 300, 360, 420, 480, 540, 600]),
    series({ __name__: 'http_requests_total', job: 'api', instance: 'b' }, [0, 30, 60, 90, 120, 150, 180, 210, 240, 270, 300]),
    series({ __name__: 'http_requests_total', job: 'web', instance: 'c' }, [0, 6, 12, 18, 24, 30, 36, 42, 48, 54, 60]),
    series({ __name__: 'latency_bucket', le: '0.1' }, [0, 10, 20, 30, 40, 50, 60, 70, 80, 90, 100]),
    series({ __name__: 'latency_bucket', le: '1' }, [0, 20, 40, 60, 80, 100, 120, 140, 160, 180, 200]),
    series({ __name__: 'latency_bucket', le: '+Inf' }, [0, 30, 60, 90, 120, 150, 180, 210, 240, 270, 300]),
    series({ __name__: 'gone' }, [1, 2, STALE_NAN]),
  ];
  for (const r of recs) assert.equal(app.append(r).rejections.length, 0);
  await app.commit();
});

after(async () => {
  await db.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

const engine = new PromqlEngine({ maxSamples: 10_000 });

test('instant rate with extrapolation and a sum by', async () => {
  const r = await engine.instant(db, [T], 'sum by (job) (rate(http_requests_total[5m]))', 600_000);
  assert.equal(r.value.type, 'vector');
  const byJob = Object.fromEntries(r.value.type === 'vector' ? r.value.samples.map((s) => [s.labels.job, s.value]) : []);
  assert.ok(Math.abs(byJob.api! - 1.5) < 1e-9);
  assert.ok(Math.abs(byJob.web! - 0.1) < 1e-9);
});

test('range query returns a matrix sorted by labels', async () => {
  const r = await engine.range(db, [T], 'http_requests_total{job="api"} / 60', 0, 120_000, 60_000);
  assert.equal(r.value.type, 'matrix');
  const series = r.value.type === 'matrix' ? r.value.series : [];
  assert.deepEqual(
    series.map((s) => ({ metric: s.labels, t: [...s.timestampsMs], v: [...s.values] })),
    [
      { metric: { instance: 'a', job: 'api' }, t: [0, 60_000, 120_000], v: [0, 1, 2] },
      { metric: { instance: 'b', job: 'api' }, t: [0, 60_000, 120_000], v: [0, 0.5, 1] },
    ],
  );
});

test('topk keeps Prometheus order for instant queries; histogram_quantile on classic buckets', async () => {
  const r = await engine.instant(db, [T], 'topk(2, http_requests_total)', 600_000);
  assert.deepEqual(r.value.type === 'vector' && r.value.samples.map((s) => s.labels.instance), ['a', 'b']);
  const q = await engine.instant(db, [T], 'histogram_quantile(0.5, rate(latency_bucket[5m]))', 600_000);
  assert.ok(q.value.type === 'vector' && Math.abs(q.value.samples[0]!.value! - 0.55) < 1e-9);
});

test('staleness markers end a series before the lookback delta', async () => {
  const at1 = await engine.instant(db, [T], 'gone', 90_000);
  assert.equal(at1.value.type === 'vector' && at1.value.samples.length, 1);
  const at2 = await engine.instant(db, [T], 'gone', 130_000);
  assert.equal(at2.value.type === 'vector' && at2.value.samples.length, 0);
});

test('subqueries, @ and offset', async () => {
  const r = await engine.instant(db, [T], 'max_over_time(rate(http_requests_total{instance="a"}[2m])[5m:1m] @ 300)', 0);
  assert.ok(r.value.type === 'vector' && Math.abs(r.value.samples[0]!.value! - 1) < 1e-9);
  const o = await engine.instant(db, [T], 'http_requests_total{instance="c"} offset 5m', 600_000);
  assert.equal(o.value.type === 'vector' && o.value.samples[0]!.value, 30);
});

test('annotations: info for rate over a non-counter name', async () => {
  const r = await engine.instant(db, [T], 'rate(gone[5m])', 60_000);
  assert.deepEqual(r.infos, ['PromQL info: metric might not be a counter, name does not end in _total/_sum/_count/_bucket: "gone" (1:6)']);
});

test('limits: too many samples and many-to-many errors are execution errors', async () => {
  const small = new PromqlEngine({ maxSamples: 5, maxLoadedSamples: 1000 });
  await assert.rejects(small.range(db, [T], 'http_requests_total', 0, 600_000, 60_000), (err: unknown) => {
    assert.ok(err instanceof PromqlError);
    assert.equal(err.type, 'execution');
    assert.equal(err.message, 'query processing would load too many samples into memory in query execution');
    return true;
  });
  const tinyLoad = new PromqlEngine({ maxLoadedSamples: 10 });
  await assert.rejects(tinyLoad.instant(db, [T], 'sum(http_requests_total)', 600_000), (err: unknown) => {
    assert.ok(err instanceof PromqlError && err.type === 'execution');
    assert.equal(err.message, 'query processing would load too many samples into memory in query preparation');
    return true;
  });
  await assert.rejects(engine.instant(db, [T], 'http_requests_total + on(job) http_requests_total', 600_000), (err: unknown) => {
    assert.ok(err instanceof PromqlError && err.type === 'execution' && /many-to-many matching not allowed/.test(err.message));
    return true;
  });
  await assert.rejects(engine.range(db, [T], 'http_requests_total[5m]', 0, 60_000, 60_000), (err: unknown) => {
    assert.ok(err instanceof PromqlError && err.type === 'bad_data');
    return true;
  });
});

test('a cancelled query fails with the canceled type', async () => {
  const ac = new AbortController();
  ac.abort();
  await assert.rejects(engine.instant(db, [T], 'http_requests_total', 0, { signal: ac.signal }), (err: unknown) => {
    assert.ok(err instanceof PromqlError && err.type === 'canceled');
    return true;
  });
});

test('a query over its timeout fails with the timeout type', async () => {
  // Storage that answers slower than the timeout: the engine gives up instead of waiting.
  const slow: MetricQueryable = {
    async querier(tenants, range) {
      const q = await db.querier(tenants, range);
      return {
        async *select(matchers, hints) {
          await new Promise((r) => setTimeout(r, 100));
          yield* q.select(matchers, hints);
        },
        labelNames: (m, l) => q.labelNames(m, l),
        labelValues: (n, m, l) => q.labelValues(n, m, l),
        close: () => q.close(),
      };
    },
  };
  await assert.rejects(engine.instant(slow, [T], 'sum(http_requests_total)', 600_000, { timeoutMs: 10 }), (err: unknown) => {
    assert.ok(err instanceof PromqlError && err.type === 'timeout');
    assert.match(err.message, /^query timed out in /);
    return true;
  });
  // Far above the storage's 100 ms, so a loaded machine does not turn this into a timeout.
  const ok = await engine.instant(slow, [T], 'sum(http_requests_total)', 600_000, { timeoutMs: 120_000 });
  assert.equal(ok.value.type, 'vector');
});

test('series that share a label set once rate() dropped their names fail as in Prometheus 3; delayed removal keeps them', async () => {
  // Two metrics with the same other labels: after rate() only their names told them apart.
  const collide = 'sum(rate({__name__=~"http_requests_total|http_requests_total_copy", instance="a"}[5m]))';
  const app = db.appender(T);
  app.append({ labels: { __name__: 'http_requests_total_copy', job: 'api', instance: 'a' }, samples: [{ timestampMs: 540_000, value: 1 }, { timestampMs: 600_000, value: 2 }] });
  await app.commit();
  await assert.rejects(engine.instant(db, [T], collide, 600_000), (err: unknown) => {
    assert.ok(err instanceof PromqlError);
    assert.equal(err.message, 'vector cannot contain metrics with the same labelset');
    return true;
  });
  await assert.rejects(engine.range(db, [T], collide, 540_000, 600_000, 60_000), /vector cannot contain metrics with the same labelset/);
  // Names kept until the end (Prometheus' promql-delayed-name-removal, as upstream's test engine): a sum.
  const delayed = new PromqlEngine({ maxSamples: 10_000, delayedNameRemoval: true });
  const r = await delayed.instant(db, [T], collide, 600_000);
  assert.equal(r.value.type === 'vector' ? r.value.samples.length : -1, 1);
});

test('a range result merges series left with one label set at the end (delayed name removal) and sorts by labels', async () => {
  // merge_a has samples in the first minutes, merge_b in the last: after the names go they are one series.
  const app = db.appender(T);
  const at = (name: string, z: string, from: number, to: number): MetricRecord => ({
    labels: { __name__: name, z },
    samples: Array.from({ length: to - from + 1 }, (_, i) => ({ timestampMs: (from + i) * 60_000, value: i })),
  });
  for (const r of [at('merge_b_total', '1', 7, 10), at('merge_a_total', '1', 0, 3), at('merge_c_total', '0', 0, 10), at('merge_d_total', '1', 2, 5)]) {
    app.append(r);
  }
  await app.commit();
  const delayed = new PromqlEngine({ maxSamples: 10_000, delayedNameRemoval: true, lookbackDeltaMs: 60_000 });
  const r = await delayed.range(db, [T], '{__name__=~"merge_[abc]_total"} * 1', 0, 600_000, 60_000);
  assert.equal(r.value.type, 'matrix');
  const series = r.value.type === 'matrix' ? r.value.series : [];
  assert.deepEqual(series.map((s) => s.labels), [{ z: '0' }, { z: '1' }]);
  // Steps 0-3 from merge_a, 7-10 from merge_b.
  assert.deepEqual([...series[1]!.timestampsMs].map((t) => t / 60_000), [0, 1, 2, 3, 7, 8, 9, 10]);
  assert.deepEqual([...series[1]!.values], [0, 1, 2, 3, 0, 1, 2, 3]);
  // Overlapping steps (merge_d has samples at 2-5) are Prometheus' error.
  await assert.rejects(delayed.range(db, [T], '{__name__=~"merge_[ad]_total"} * 1', 0, 600_000, 60_000), /vector cannot contain metrics with the same labelset/);
});

test('a result keeps its values after later queries reuse the evaluation memory', async () => {
  const first = await engine.range(db, [T], 'rate(http_requests_total[2m]) * 2', 0, 600_000, 60_000);
  const snapshot = JSON.stringify(first.value, (_k, v: unknown) => (v instanceof Float64Array ? [...v] : v));
  for (const q of ['http_requests_total - 1', 'sum by (job) (http_requests_total)', '-http_requests_total']) {
    await engine.range(db, [T], q, 0, 600_000, 30_000);
    await engine.instant(db, [T], q, 600_000);
  }
  assert.equal(JSON.stringify(first.value, (_k, v: unknown) => (v instanceof Float64Array ? [...v] : v)), snapshot);
});

test('topk and bottomk over a range function answer as over the same values unfused (ties, NaN, churn, groups, k per step)', async () => {
  // The streamed path (topk(k, rate(m[5m]))) against the materialised one (`* 1` keeps every value and
  // label but is not a plain range function), in both name-removal modes, instant and range.
  const K = 'engine-test-k' as TenantId;
  const app = db.appender(K);
  const slopes = [1, 2, 2, 3, 3, 3, 0.5, 7, 7, 1, NaN, 4];
  for (let i = 0; i < 36; i++) {
    const slope = slopes[i % slopes.length]!;
    // Some series live for a few minutes only (the churn of the metrics bench), at different times.
    const from = i % 3 === 0 ? (i % 9) : 0;
    const to = i % 3 === 0 ? from + 3 : 10;
    app.append({
      labels: { __name__: 'k_total', i: String(i).padStart(2, '0'), g: `g${i % 4}`, h: `h${i % 2}` },
      samples: Array.from({ length: to - from + 1 }, (_, j) => ({ timestampMs: (from + j) * 60_000, value: Number.isNaN(slope) && j === 2 ? NaN : (j + 1) * slope * 60 })),
    });
  }
  await app.commit();
  const canon = (v: unknown): string => JSON.stringify(v, (_k, x: unknown) => (x instanceof Float64Array ? [...x].map(String) : x));
  const queries = [
    'topk(3, rate(k_total[3m]))',
    'bottomk(2, rate(k_total[3m]))',
    'topk by (g) (2, rate(k_total[3m]))',
    'bottomk without (i) (1, rate(k_total[3m]))',
    'topk(scalar(count(k_total)) / 10, rate(k_total[3m]))',
    'topk(50, increase(k_total[2m]))',
    'topk(0, rate(k_total[3m]))',
    'topk by (__name__) (2, rate(k_total[3m]))',
    'topk(2, max_over_time(k_total[3m]))',
  ];
  for (const opts of [{}, { delayedNameRemoval: true }]) {
    const e = new PromqlEngine({ maxSamples: 100_000, ...opts });
    for (const q of queries) {
      const unfused = q.replace(/((?:rate|increase|max_over_time)\(k_total\[\dm\]\))/, '($1 * 1)');
      assert.notEqual(unfused, q);
      for (const at of [240_000, 600_000]) {
        const a = await e.instant(db, [K], q, at);
        const b = await e.instant(db, [K], unfused, at);
        assert.equal(canon(a.value), canon(b.value), `${q} at ${at} ${JSON.stringify(opts)}`);
        assert.ok(a.value.type === 'vector' && (q.startsWith('topk(0') || a.value.samples.length > 0), q);
      }
      const a = await e.range(db, [K], q, 0, 600_000, 30_000);
      const b = await e.range(db, [K], unfused, 0, 600_000, 30_000);
      assert.equal(canon(a.value), canon(b.value), `${q} range ${JSON.stringify(opts)}`);
      assert.deepEqual([a.warnings, a.infos], [b.warnings, b.infos], q);
    }
  }
  await assert.rejects(engine.instant(db, [K], 'topk(scalar(vector(NaN)), rate(k_total[3m]))', 600_000), /Parameter value is NaN/);
});
