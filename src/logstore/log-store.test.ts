import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, renameSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { DuckDBInstance } from '@duckdb/node-api';
import { configSchema } from '../config/index.ts';
import type { HeimdallConfigInput } from '../config/index.ts';
import { compileRe2, labelsKey } from '../model/index.ts';
import type { LabelMatcher, Labels, LogEntry, TenantId } from '../model/index.ts';
import { federatedLogsStorage } from '../storage/index.ts';
import type { LineFilter, LogQuerier, LogSelectParams } from '../storage/index.ts';
import { LogStore } from './log-store.ts';
import { logStoreConfigOptions } from '../app/engine-options.ts';

const dirs: string[] = [];
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function tmpDir(): string {
  const d = mkdtempSync(path.join(os.tmpdir(), 'heimdall-logstore-'));
  dirs.push(d);
  return d;
}

function logsConfig(logs: HeimdallConfigInput['logs'] = {}) {
  return configSchema.parse({ logs }).logs;
}

async function open(dir: string, logs: HeimdallConfigInput['logs'] = {}): Promise<LogStore> {
  return LogStore.open({ dir, ...logStoreConfigOptions(logsConfig(logs)), threads: 2, memoryLimitBytes: 256 * 1024 ** 2, background: false });
}

const T = 'tenant-a' as TenantId;
const U = 'tenant-b' as TenantId;
const NOW_NS = BigInt(Date.now()) * 1_000_000n;
const SEC = 1_000_000_000n;

interface Row {
  stream: string;
  ts: bigint;
  line: string;
  md?: Labels | undefined;
}

/** Runs a select and flattens it, checking the slice-order contract on the way. */
async function rows(q: LogQuerier, params: Partial<LogSelectParams> & { matchers: readonly LabelMatcher[] }): Promise<Row[]> {
  const p: LogSelectParams = { startNs: NOW_NS - 3600n * SEC, endNs: NOW_NS + 60n * SEC, direction: 'forward', ...params };
  const out: Row[] = [];
  let boundary: bigint | undefined;
  for await (const slice of q.select(p)) {
    let lo: bigint | undefined;
    let hi: bigint | undefined;
    const seen = new Set<string>();
    for (const b of slice) {
      const key = labelsKey(b.labels);
      assert.ok(!seen.has(key), 'one batch per stream per slice');
      seen.add(key);
      for (let i = 0; i < b.lines.length; i++) {
        const ts = b.timestampsNs[i]!;
        if (i > 0) {
          const prev = b.timestampsNs[i - 1]!;
          assert.ok(p.direction === 'forward' ? prev <= ts : prev >= ts, 'batch entries in direction order');
        }
        if (lo === undefined || ts < lo) lo = ts;
        if (hi === undefined || ts > hi) hi = ts;
        out.push({ stream: key, ts, line: b.lines[i]!, md: b.structuredMetadata?.[i] });
      }
    }
    if (boundary !== undefined && lo !== undefined && hi !== undefined) {
      if (p.direction === 'forward') assert.ok(lo >= boundary, 'slices come in forward order');
      else assert.ok(hi <= boundary, 'slices come in backward order');
    }
    if (lo !== undefined && hi !== undefined) boundary = p.direction === 'forward' ? hi : lo;
  }
  return out;
}

/** Canonical order for comparing results independent of how they were sliced. */
function sorted(r: Row[]): Row[] {
  return [...r].sort((a, b) => (a.ts < b.ts ? -1 : a.ts > b.ts ? 1 : a.stream < b.stream ? -1 : a.stream > b.stream ? 1 : a.line < b.line ? -1 : a.line > b.line ? 1 : 0));
}

async function write(store: LogStore, tenant: TenantId, labels: Labels, entries: LogEntry[]) {
  const a = store.appender(tenant);
  const outcome = a.append({ labels, entries });
  const stats = await a.commit();
  return { outcome, stats };
}

const ALL: LabelMatcher[] = [{ name: 'app', op: '=~', value: '.+' }];

test('appended entries are queryable at once, in both directions, with limits and metadata', async () => {
  const store = await open(tmpDir());
  try {
    const { outcome, stats } = await write(store, T, { app: 'api', env: 'prod' }, [
      { timestampNs: NOW_NS - 3n * SEC, line: 'GET /a 200' },
      { timestampNs: NOW_NS - 1n * SEC, line: 'GET /b 500', structuredMetadata: { trace_id: 'abc' } },
      // out of order within the stream: accepted, as Loki ≥ 2.4 does
      { timestampNs: NOW_NS - 2n * SEC, line: 'GET /c 200' },
    ]);
    assert.deepEqual(outcome, { accepted: 3, rejections: [] });
    assert.equal(stats.records, 3);
    await write(store, T, { app: 'web' }, [{ timestampNs: NOW_NS - 2n * SEC + 1n, line: 'render' }]);
    const q = await store.querier([T]);
    const fwd = sorted(await rows(q, { matchers: ALL }));
    assert.deepEqual(
      fwd.map((r) => r.line),
      ['GET /a 200', 'GET /c 200', 'render', 'GET /b 500'],
    );
    assert.deepEqual(fwd[3]!.md, { trace_id: 'abc' });
    const back = sorted(await rows(q, { matchers: ALL, direction: 'backward', limit: 2 }));
    assert.deepEqual(back.map((r) => r.line), ['render', 'GET /b 500']);
    const one = await rows(q, { matchers: [{ name: 'app', op: '=', value: 'api' }, { name: 'env', op: '!=', value: 'dev' }] });
    assert.equal(one.length, 3);
    assert.equal(one[0]!.stream, '{app="api", env="prod"}');
    // start inclusive, end exclusive
    const window = sorted(await rows(q, { matchers: ALL, startNs: NOW_NS - 2n * SEC, endNs: NOW_NS - 1n * SEC }));
    assert.deepEqual(window.map((r) => r.line), ['GET /c 200', 'render']);
    await q.close();
  } finally {
    await store.close();
  }
});

test('line filters have Loki semantics: substring, RE2 search, negations, empty needle', async () => {
  const store = await open(tmpDir());
  try {
    const lines = ['req id=1 err=connrefused', 'req id=2 ok', 'code=500 fail', 'CODE=503 down', 'multi\nline err', 'a.b', 'axb'];
    await write(store, T, { app: 'a' }, lines.map((line, i) => ({ timestampNs: NOW_NS - BigInt(100 - i) * SEC, line })));
    const q = await store.querier([T]);
    const run = async (lineFilters: LineFilter[]) => (await rows(q, { matchers: ALL, lineFilters })).map((r) => r.line);
    assert.deepEqual(await run([{ op: '|=', value: 'err' }]), ['req id=1 err=connrefused', 'multi\nline err']);
    assert.deepEqual(await run([{ op: '|=', value: 'ERR' }]), []);
    assert.equal((await run([{ op: '|=', value: '' }])).length, lines.length);
    assert.deepEqual(await run([{ op: '!=', value: '' }]), []);
    assert.deepEqual(await run([{ op: '|~', value: 'code=5..' }]), ['code=500 fail']);
    assert.deepEqual(await run([{ op: '|~', value: '(?i)code=5..' }]), ['code=500 fail', 'CODE=503 down']);
    assert.deepEqual(await run([{ op: '|=', value: 'a.b' }]), ['a.b'], 'substring is literal');
    assert.deepEqual(await run([{ op: '|~', value: '^a.b$' }]), ['a.b', 'axb']);
    // `.` does not match a newline unless (?s), as in Go.
    assert.deepEqual(await run([{ op: '|~', value: 'multi.line' }]), []);
    assert.deepEqual(await run([{ op: '|~', value: '(?s)multi.line' }]), ['multi\nline err']);
    assert.deepEqual(await run([{ op: '|~', value: 'req' }, { op: '!~', value: 'id=1' }]), ['req id=2 ok']);
    assert.deepEqual(await run([{ op: '!=', value: 'req' }, { op: '!=', value: 'code' }, { op: '!=', value: 'CODE' }]), ['multi\nline err', 'a.b', 'axb']);
    await assert.rejects(run([{ op: '|~', value: '(' }]), /error parsing regexp/);
    await q.close();
  } finally {
    await store.close();
  }
});

test('token blooms skip row groups of compacted blocks without changing answers (|=, |~, (?i), counts)', async () => {
  const dir = tmpDir();
  const store = await open(dir);
  try {
    // 40k lines in two streams: blocks of three 16,384-row groups; rare lines sit in one group only.
    const lines: string[] = [];
    for (let i = 0; i < 40_000; i++) {
      if (i === 20_000) lines.push('unexpected state quux-7f3a-needle in reconciler');
      else if (i === 20_001) lines.push('deadlock detected on table orders tx=9123');
      else if (i === 20_002) lines.push('DEADLOCK Detected ON TABLE orders TX=9124 \u212Aey=1');
      else lines.push(`GET /api/v1/items/${i} 200 took ${i % 977}ms id=${(i * 2654435761) >>> 0}`);
    }
    for (const app of ['a', 'b']) {
      await write(store, T, { app }, lines.map((line, i) => ({ timestampNs: NOW_NS - BigInt(40_000 - i) * 1_000_000n, line })));
    }
    await store.flush();
    const blooms = readdirSync(path.join(dir, 'blocks'), { recursive: true }).filter((f) => String(f).endsWith('.bloom'));
    assert.ok(blooms.length > 0, 'compacted blocks have token bloom sidecars');
    const q = await store.querier([T]);
    const filters: LineFilter[][] = [
      [{ op: '|=', value: 'quux-7f3a-needle' }],
      [{ op: '|=', value: 'state quux-7f3a-needle in' }],
      [{ op: '|=', value: 'x-7f3a-n' }],
      [{ op: '|=', value: ' absent-token-zzz ' }],
      [{ op: '|~', value: 'deadlock detected on table [a-z]+ tx=9\\d{3}' }],
      [{ op: '|~', value: '(?i)deadlock detected on table [a-z]+ tx=9\\d{3}' }],
      [{ op: '|~', value: '(?i) key=1' }],
      [{ op: '|=', value: ' took 5ms ' }],
      [{ op: '|=', value: '7f3a' }, { op: '!=', value: 'GET' }],
    ];
    for (const lineFilters of filters) {
      const want = lines.filter((l) =>
        lineFilters.every((f) => {
          if (f.op === '|=') return l.includes(f.value);
          if (f.op === '!=') return !l.includes(f.value);
          return compileRe2(f.value).matcher(l).find() === (f.op === '|~');
        }),
      );
      const got = (await rows(q, { matchers: [{ name: 'app', op: '=', value: 'a' }], lineFilters })).map((r) => r.line);
      assert.deepEqual(got, want, JSON.stringify(lineFilters));
      assert.ok(q.counts);
      const counts = await q.counts({ matchers: ALL, lineFilters, startNs: NOW_NS - 3600n * SEC, endNs: NOW_NS + 60n * SEC, stepNs: 3660n * SEC });
      assert.equal(counts.reduce((n, c) => n + c.counts.reduce((a, b) => a + b, 0), 0), 2 * want.length, `counts of ${JSON.stringify(lineFilters)}`);
    }
    await q.close();
  } finally {
    await store.close();
  }
});

test('validation rejects with Loki reasons and keeps the good entries', async () => {
  const store = await open(tmpDir(), { limits: { max_line_size: 10, max_label_names_per_series: 2, max_label_value_length: 5 } });
  try {
    const a = store.appender(T);
    const r1 = a.append({
      labels: { app: 'x' },
      entries: [
        { timestampNs: NOW_NS - 8n * 24n * 3600n * SEC, line: 'too old' },
        { timestampNs: NOW_NS + 3600n * SEC, line: 'future' },
        { timestampNs: NOW_NS, line: 'this line is too long' },
        { timestampNs: NOW_NS - SEC, line: 'fine' },
        { timestampNs: NOW_NS - SEC, line: 'é'.repeat(6) }, // 6 chars, 12 bytes: too long in bytes
      ],
    });
    assert.equal(r1.accepted, 1);
    assert.deepEqual(r1.rejections.map((r) => [r.reason, r.count]), [
      ['entry_too_old', 1],
      ['entry_too_far_in_future', 1],
      ['line_too_long', 2],
    ]);
    assert.match(r1.rejections[0]!.message, /^entry for stream '\{app="x"\}' has timestamp too old: .*, oldest acceptable timestamp is: /);
    assert.match(r1.rejections[1]!.message, /^entry for stream '\{app="x"\}' has timestamp too new: /);
    assert.equal(r1.rejections[2]!.message, "Max entry size '10' bytes exceeded for stream '{app=\"x\"}' while adding an entry with length '21' bytes");
    const r2 = a.append({ labels: { a: '1', b: '2', c: '3' }, entries: [{ timestampNs: NOW_NS, line: 'x' }] });
    assert.equal(r2.rejections[0]!.reason, 'max_label_names_per_series');
    assert.equal(r2.rejections[0]!.message, `entry for stream '{a="1", b="2", c="3"}' has 3 label names; limit 2`);
    const r3 = a.append({ labels: { app: 'toolongvalue' }, entries: [{ timestampNs: NOW_NS, line: 'x' }, { timestampNs: NOW_NS, line: 'y' }] });
    assert.deepEqual([r3.rejections[0]!.reason, r3.rejections[0]!.count], ['label_value_too_long', 2]);
    const r4 = a.append({ labels: {}, entries: [{ timestampNs: NOW_NS, line: 'x' }] });
    assert.equal(r4.rejections[0]!.reason, 'missing_labels');
    const r5 = a.append({ labels: { 'bad-name': 'v' }, entries: [{ timestampNs: NOW_NS, line: 'x' }] });
    assert.equal(r5.rejections[0]!.reason, 'invalid_label_name');
    assert.equal((await a.commit()).records, 1);
    const q = await store.querier([T]);
    assert.deepEqual((await rows(q, { matchers: ALL })).map((r) => r.line), ['fine']);
    await q.close();
  } finally {
    await store.close();
  }
});

test('old samples are accepted when reject_old_samples is off', async () => {
  const store = await open(tmpDir(), { limits: { reject_old_samples: false } });
  try {
    const old = 1_767_225_600_000_000_000n; // 2026-01-01, the LogQL test scripts' time base
    const { outcome } = await write(store, T, { app: 'a' }, [{ timestampNs: old + 20n * SEC, line: 'x' }]);
    assert.equal(outcome.accepted, 1);
    const q = await store.querier([T]);
    const r = await rows(q, { matchers: ALL, startNs: old, endNs: old + 60n * SEC });
    assert.deepEqual(r.map((x) => x.ts), [old + 20n * SEC]);
    await q.close();
  } finally {
    await store.close();
  }
});

test('labels, values, series, counts and stats over head and blocks', async () => {
  const store = await open(tmpDir());
  try {
    await write(store, T, { app: 'api', env: 'prod' }, [
      { timestampNs: NOW_NS - 50n * SEC, line: 'a 1' },
      { timestampNs: NOW_NS - 30n * SEC, line: 'err 2' },
      { timestampNs: NOW_NS - 30n * SEC + 1n, line: 'err 3' },
    ]);
    await write(store, T, { app: 'web', region: 'eu' }, [{ timestampNs: NOW_NS - 10n * SEC, line: 'ok' }]);
    await write(store, U, { app: 'other' }, [{ timestampNs: NOW_NS - 10n * SEC, line: 'ok' }]);
    for (const phase of ['head', 'blocks']) {
      if (phase === 'blocks') await store.flush();
      const q = await store.querier([T]);
      const range = { startMs: Number((NOW_NS - 3600n * SEC) / 1_000_000n), endMs: Number(NOW_NS / 1_000_000n) };
      assert.deepEqual(await q.labelNames(range), ['app', 'env', 'region'], phase);
      assert.deepEqual(await q.labelNames(range, [{ name: 'app', op: '=', value: 'api' }]), ['app', 'env']);
      assert.deepEqual(await q.labelValues('app', range), ['api', 'web']);
      assert.deepEqual(await q.series(range, [{ name: 'env', op: '=', value: '' }]), [{ app: 'web', region: 'eu' }]);
      // a range with no entries of `api` leaves it out
      const late = { startMs: Number((NOW_NS - 20n * SEC) / 1_000_000n), endMs: range.endMs };
      assert.deepEqual(await q.labelValues('app', late), ['web']);
      const counts = await q.counts!({ matchers: ALL, startNs: NOW_NS - 60n * SEC, endNs: NOW_NS, stepNs: 20n * SEC, lineFilters: [{ op: '!=', value: 'ok' }] });
      assert.equal(counts.length, 1);
      assert.deepEqual(counts[0]!.labels, { app: 'api', env: 'prod' });
      // buckets (−60,−40], (−40,−20], (−20,0] seconds: the entry at exactly −30 s falls in the second
      assert.deepEqual([...counts[0]!.counts], [1, 2, 0]);
      assert.deepEqual([...counts[0]!.bytes], [3, 10, 0]);
      // grouped: streams agreeing on the labels are summed; a stream lacking one comes back alone
      const byApp = await q.counts!({ matchers: ALL, startNs: NOW_NS - 60n * SEC, endNs: NOW_NS, stepNs: 20n * SEC, groupBy: ['app'] });
      assert.deepEqual(byApp.map((c) => [labelsKey(c.labels), [...c.counts], [...c.bytes]]).sort(), [
        ['{app="api"}', [1, 2, 0], [3, 10, 0]],
        ['{app="web"}', [0, 0, 1], [0, 0, 2]],
      ]);
      const byRegion = await q.counts!({ matchers: ALL, startNs: NOW_NS - 60n * SEC, endNs: NOW_NS, stepNs: 60n * SEC, groupBy: ['region'] });
      assert.deepEqual(byRegion.map((c) => [labelsKey(c.labels), [...c.counts]]).sort(), [
        ['{app="api", env="prod"}', [3]],
        ['{region="eu"}', [1]],
      ]);
      const total = await q.counts!({ matchers: ALL, startNs: NOW_NS - 60n * SEC, endNs: NOW_NS, stepNs: 60n * SEC, groupBy: [] });
      assert.deepEqual(total.map((c) => [c.labels, [...c.counts], [...c.bytes]]), [[{}, [4], [15]]]);
      const stats = await q.stats!(range, ALL);
      assert.equal(stats.streams, 2);
      assert.equal(stats.entries, 4);
      assert.equal(stats.bytes, 3 + 5 + 5 + 2);
      await q.close();
    }
  } finally {
    await store.close();
  }
});

test('a federated querier (storage/federation.ts over the log store) adds __tenant_id__ and filters on it', async () => {
  const store = await open(tmpDir());
  try {
    await write(store, T, { app: 'x' }, [{ timestampNs: NOW_NS - 2n * SEC, line: 'from a' }]);
    await write(store, U, { app: 'x' }, [{ timestampNs: NOW_NS - 1n * SEC, line: 'from b' }]);
    const q = await federatedLogsStorage(store).querier([T, U]);
    const all = sorted(await rows(q, { matchers: ALL }));
    assert.deepEqual(all.map((r) => [r.stream, r.line]), [
      ['{__tenant_id__="tenant-a", app="x"}', 'from a'],
      ['{__tenant_id__="tenant-b", app="x"}', 'from b'],
    ]);
    const onlyB = await rows(q, { matchers: [...ALL, { name: '__tenant_id__', op: '=', value: 'tenant-b' }] });
    assert.deepEqual(onlyB.map((r) => r.line), ['from b']);
    await q.close();
    const single = await store.querier([T]);
    assert.deepEqual((await rows(single, { matchers: ALL })).map((r) => r.stream), ['{app="x"}']);
    await single.close();
  } finally {
    await store.close();
  }
});

/** A small deterministic PRNG so the differential test is reproducible. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

test('differential: the same selects over fresh (head) and compacted (Parquet) data agree', async () => {
  const dir = tmpDir();
  // Small windows and heads so data spreads over several partitions, heads and merged blocks.
  const store = await open(dir, { store: { partition_window: '1m', head_max_bytes: 20_000 } });
  const rand = rng(42);
  const apps = ['api', 'web', 'db', 'cache'];
  const words = ['GET', 'POST', 'error', 'timeout', 'ok', 'retry', 'status=500', 'status=200', 'user=ä'];
  const t0 = NOW_NS - 600n * SEC;
  try {
    for (let batch = 0; batch < 30; batch++) {
      const a = store.appender(T);
      for (let s = 0; s < 6; s++) {
        const entries: LogEntry[] = [];
        for (let i = 0; i < 20; i++) {
          const ts = t0 + BigInt(Math.floor(rand() * 600_000)) * 1_000_000n + BigInt(i % 3);
          const line = Array.from({ length: 1 + Math.floor(rand() * 5) }, () => words[Math.floor(rand() * words.length)]).join(' ');
          entries.push({ timestampNs: ts, line, ...(rand() < 0.3 ? { structuredMetadata: { trace_id: String(Math.floor(rand() * 1000)) } } : {}) });
        }
        a.append({ labels: { app: apps[s % apps.length]!, pod: `p${s}` }, entries });
      }
      await a.commit();
      // some heads are sealed mid-way, so "fresh" already mixes head tables and blocks
      if (batch === 10) await store.flush();
    }
    const queries: (Partial<LogSelectParams> & { matchers: LabelMatcher[] })[] = [
      { matchers: ALL },
      { matchers: ALL, direction: 'backward', limit: 37 },
      { matchers: [{ name: 'app', op: '=~', value: 'api|db' }], lineFilters: [{ op: '|=', value: 'error' }] },
      { matchers: [{ name: 'pod', op: '!=', value: 'p1' }, ...ALL], lineFilters: [{ op: '|~', value: 'status=5\\d\\d' }, { op: '!=', value: 'GET' }] },
      { matchers: ALL, startNs: t0 + 123n * SEC, endNs: t0 + 321n * SEC, direction: 'backward' },
      { matchers: [{ name: 'app', op: '!~', value: 'web|cache' }], limit: 11 },
    ];
    const fresh: Row[][] = [];
    let q = await store.querier([T]);
    for (const p of queries) fresh.push(await rows(q, p));
    const counts = await q.counts!({ matchers: ALL, startNs: t0, endNs: NOW_NS, stepNs: 60n * SEC, lineFilters: [{ op: '|=', value: 'o' }] });
    const grouped = await q.counts!({ matchers: ALL, startNs: t0, endNs: NOW_NS, stepNs: 60n * SEC, lineFilters: [{ op: '|=', value: 'o' }], groupBy: ['app'] });
    await q.close();
    await store.flush();
    q = await store.querier([T]);
    for (let i = 0; i < queries.length; i++) {
      const compacted = await rows(q, queries[i]!);
      assert.ok(fresh[i]!.length > 0, `query ${i} returns something`);
      assert.deepEqual(sorted(compacted), sorted(fresh[i]!), `query ${i}: fresh and compacted agree`);
      if (queries[i]!.limit !== undefined) assert.equal(compacted.length, queries[i]!.limit);
    }
    const counts2 = await q.counts!({ matchers: ALL, startNs: t0, endNs: NOW_NS, stepNs: 60n * SEC, lineFilters: [{ op: '|=', value: 'o' }] });
    const norm = (c: typeof counts) => c.map((s) => [labelsKey(s.labels), [...s.counts], [...s.bytes]]).sort();
    assert.deepEqual(norm(counts2), norm(counts));
    const grouped2 = await q.counts!({ matchers: ALL, startNs: t0, endNs: NOW_NS, stepNs: 60n * SEC, lineFilters: [{ op: '|=', value: 'o' }], groupBy: ['app'] });
    assert.deepEqual(norm(grouped2), norm(grouped));
    // the groups are the sums of their streams: [app key, counts and bytes] per group, as the grouped answer
    const asGroups = (grouped: typeof counts) => norm(grouped).map(([k, c, b]) => [k, [...(c as number[]), ...(b as number[])]]);
    const summedByApp = (perStream: typeof counts) => {
      const summed = new Map<string, number[]>();
      for (const s of perStream) {
        const key = labelsKey({ app: s.labels.app! });
        const acc = summed.get(key) ?? new Array<number>(s.counts.length * 2).fill(0);
        s.counts.forEach((v, k) => (acc[k]! += v));
        s.bytes.forEach((v, k) => (acc[s.counts.length + k]! += v));
        summed.set(key, acc);
      }
      return [...summed].sort();
    };
    assert.deepEqual(asGroups(grouped), summedByApp(counts));
    // Both ways of grouping inside DuckDB (rows joined to the stream index; per-stream counts first when the
    // step is long against the rows read) answer the per-stream counts summed.
    for (const stepNs of [1n * SEC, 7n * SEC, 600n * SEC]) {
      const p = { matchers: ALL, startNs: t0, endNs: NOW_NS, stepNs, lineFilters: [{ op: '!=' as const, value: 'GET' }] };
      const byApp = await q.counts!({ ...p, groupBy: ['app'] });
      assert.equal(byApp.length, apps.length);
      assert.deepEqual(asGroups(byApp), summedByApp(await q.counts!(p)), `step ${stepNs}`);
    }
    await q.close();
  } finally {
    await store.close();
  }
});

test('format-1 blocks (no nbytes column) stay readable and merge with format-2 blocks', async () => {
  const dir = tmpDir();
  let store = await open(dir);
  await write(store, T, { app: 'a' }, [
    { timestampNs: NOW_NS - 9n * SEC, line: 'old ä' },
    { timestampNs: NOW_NS - 8n * SEC, line: 'old two' },
  ]);
  await store.flush();
  await store.close();
  // Turn the block into what format 1 wrote: no `nbytes` column, catalogued as format 1.
  const db = await DuckDBInstance.create(path.join(dir, 'logs.duckdb'));
  const conn = await db.connect();
  const files = (await conn.runAndReadAll('SELECT key FROM log_blocks')).getRows().map(([k]) => path.join(dir, 'blocks', String(k)));
  assert.equal(files.length, 1);
  await conn.run(`COPY (SELECT stream_id, ts, line, md FROM read_parquet('${files[0]}')) TO '${files[0]}.v1' (FORMAT parquet)`);
  renameSync(`${files[0]}.v1`, files[0]!);
  await conn.run('UPDATE log_blocks SET format = 1');
  conn.closeSync();
  db.closeSync();
  store = await open(dir);
  try {
    await write(store, T, { app: 'a' }, [{ timestampNs: NOW_NS - 7n * SEC, line: 'new' }]);
    // First the format-1 block and the head; then (flush: the head's block merged with the format-1 one) one
    // format-2 block.
    for (const phase of ['format-1 block and head', 'merged']) {
      const q = await store.querier([T]);
      assert.deepEqual(sorted(await rows(q, { matchers: ALL })).map((r) => r.line), ['old ä', 'old two', 'new'], phase);
      const c = await q.counts!({ matchers: ALL, startNs: NOW_NS - 60n * SEC, endNs: NOW_NS, stepNs: 60n * SEC });
      assert.deepEqual(c.map((s) => [[...s.counts], [...s.bytes]]), [[[3], [6 + 7 + 3]]], phase);
      const range = { startMs: Number((NOW_NS - 60n * SEC) / 1_000_000n), endMs: Number(NOW_NS / 1_000_000n) };
      assert.equal((await q.stats!(range, ALL)).bytes, 16, phase);
      await q.close();
      await store.flush();
    }
  } finally {
    await store.close();
  }
});

test('a query sees streams created since the previous one (the stream label cache follows the index)', async () => {
  const store = await open(tmpDir());
  try {
    await write(store, T, { app: 'a' }, [{ timestampNs: NOW_NS - 5n * SEC, line: 'one' }]);
    const range = { startMs: Number((NOW_NS - 60n * SEC) / 1_000_000n), endMs: Number(NOW_NS / 1_000_000n) };
    let q = await store.querier([T]);
    assert.deepEqual(await q.labelValues('app', range), ['a']);
    await q.close();
    await write(store, T, { app: 'b' }, [{ timestampNs: NOW_NS - 4n * SEC, line: 'two' }]);
    q = await store.querier([T]);
    assert.deepEqual(await q.labelValues('app', range), ['a', 'b']);
    assert.deepEqual((await rows(q, { matchers: [{ name: 'app', op: '=~', value: 'b|c' }] })).map((r) => r.line), ['two']);
    await q.close();
  } finally {
    await store.close();
  }
});

test('data survives close and reopen, and blocks carry on after restart', async () => {
  const dir = tmpDir();
  let store = await open(dir);
  await write(store, T, { app: 'a' }, [{ timestampNs: NOW_NS - 5n * SEC, line: 'in a block' }]);
  await store.flush();
  await write(store, T, { app: 'a' }, [{ timestampNs: NOW_NS - 4n * SEC, line: 'in the head' }]);
  await store.close();
  store = await open(dir);
  try {
    await write(store, T, { app: 'b' }, [{ timestampNs: NOW_NS - 3n * SEC, line: 'after restart' }]);
    const q = await store.querier([T]);
    assert.deepEqual(sorted(await rows(q, { matchers: ALL })).map((r) => r.line), ['in a block', 'in the head', 'after restart']);
    await q.close();
  } finally {
    await store.close();
  }
});

test('retention drops whole partitions per tenant and per stream selector', async () => {
  const dir = tmpDir();
  const store = await open(dir, {
    limits: {
      reject_old_samples: false,
      retention_period: '7d',
      retention_stream: [
        { selector: '{log_source="audit"}', priority: 1, period: '30d' },
        { selector: '{log_source=~"debug|trace"}', priority: 1, period: '1d' },
        { selector: '{log_source="audit", env="dev"}', priority: 2, period: '2d' },
      ],
    },
    overrides: { [U]: { retention_period: '1d' } },
  });
  const DAY = 24n * 3600n * SEC;
  const at = (days: bigint) => NOW_NS - days * DAY;
  try {
    const a = store.appender(T);
    for (const [labels, days] of [
      [{ app: 'x', log_source: 'cdt' }, 3n],
      [{ app: 'x', log_source: 'cdt' }, 10n],
      [{ app: 'x', log_source: 'audit' }, 10n],
      [{ app: 'x', log_source: 'audit' }, 40n],
      [{ app: 'x', log_source: 'debug' }, 2n],
      [{ app: 'x', log_source: 'audit', env: 'dev' }, 3n],
    ] as [Labels, bigint][]) {
      a.append({ labels, entries: [{ timestampNs: at(days), line: `${labels.log_source}${labels.env ?? ''} ${days}d` }] });
    }
    await a.commit();
    await write(store, U, { app: 'y' }, [{ timestampNs: at(2n), line: 'b 2d' }, { timestampNs: at(0n) - SEC, line: 'b now' }]);
    await store.flush();
    const dropped = await store.applyRetention(Date.now());
    assert.ok(dropped.partitions >= 5, `dropped ${dropped.partitions} partitions`);
    const q = await federatedLogsStorage(store).querier([T, U]);
    const left = await rows(q, { matchers: ALL, startNs: at(50n), endNs: NOW_NS + SEC });
    assert.deepEqual(left.map((r) => r.line).sort(), ['audit 10d', 'b now', 'cdt 3d']);
    // the index no longer lists streams whose data is gone
    assert.deepEqual(
      (await q.series({ startMs: 0, endMs: Date.now() + 1000 }, ALL)).map(labelsKey).sort(),
      ['{__tenant_id__="tenant-a", app="x", log_source="audit"}', '{__tenant_id__="tenant-a", app="x", log_source="cdt"}', '{__tenant_id__="tenant-b", app="y"}'],
    );
    await q.close();
  } finally {
    await store.close();
  }
});

test('an invalid retention selector is refused at open', async () => {
  await assert.rejects(
    open(tmpDir(), { limits: { retention_stream: [{ selector: '{log_source=audit}', priority: 1, period: '1d' }] } }),
    /invalid stream selector/,
  );
});

test('a tenant with 100k distinct streams ingests without stream limits', async () => {
  const store = await open(tmpDir());
  try {
    const N = 100_000;
    for (let off = 0; off < N; off += 25_000) {
      const a = store.appender(T);
      for (let i = off; i < off + 25_000; i++) {
        const o = a.append({ labels: { app: 'many', id: `s${i}` }, entries: [{ timestampNs: NOW_NS - BigInt(i) * 1000n, line: `line ${i}` }] });
        assert.equal(o.accepted, 1);
      }
      assert.equal((await a.commit()).records, 25_000);
    }
    const q = await store.querier([T]);
    const range = { startMs: Date.now() - 3600_000, endMs: Date.now() + 1000 };
    assert.equal((await q.labelValues('id', range)).length, N);
    const one = await rows(q, { matchers: [{ name: 'id', op: '=', value: 's4242' }] });
    assert.deepEqual(one.map((r) => r.line), ['line 4242']);
    await q.close();
  } finally {
    await store.close();
  }
});

test('identical entries of a stream are stored once: retried pushes, repeated entries, across head and blocks', async () => {
  const store = await open(tmpDir());
  try {
    const labels = { app: 'retry' };
    const t = NOW_NS - 10n * SEC;
    const batch: LogEntry[] = Array.from({ length: 50 }, (_, i) => ({ timestampNs: t + BigInt(i), line: `line ${i}` }));
    assert.equal((await write(store, T, labels, batch)).stats.records, 50);
    // The retry succeeds as a whole (the sender cannot tell) and stores nothing twice.
    assert.equal((await write(store, T, labels, batch)).stats.records, 50);
    // 50 identical entries in one push are one entry, as in Loki.
    const same: LogEntry[] = Array.from({ length: 50 }, () => ({ timestampNs: t - SEC, line: 'same', structuredMetadata: { k: 'v' } }));
    await write(store, T, labels, same);
    // Not duplicates: another line, other metadata, no metadata, another stream, another tenant at the same time.
    await write(store, T, labels, [
      { timestampNs: t - SEC, line: 'other' },
      { timestampNs: t - SEC, line: 'same', structuredMetadata: { k: 'w' } },
      { timestampNs: t - SEC, line: 'same' },
    ]);
    await write(store, T, { app: 'retry2' }, [{ timestampNs: t - SEC, line: 'same', structuredMetadata: { k: 'v' } }]);
    await write(store, U, labels, [{ timestampNs: t - SEC, line: 'same', structuredMetadata: { k: 'v' } }]);
    const expectT = 50 + 1 + 3 + 1;
    let q = await store.querier([T]);
    assert.equal((await rows(q, { matchers: ALL })).length, expectT);
    await q.close();
    // Once compacted into blocks, a retry is still recognised.
    await store.flush();
    await write(store, T, labels, batch);
    await write(store, T, labels, same.slice(0, 3));
    q = await store.querier([T]);
    const all = await rows(q, { matchers: ALL });
    assert.equal(all.length, expectT);
    await q.close();
    const qu = await store.querier([U]);
    assert.equal((await rows(qu, { matchers: ALL })).length, 1);
    await qu.close();
  } finally {
    await store.close();
  }
});
