import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { DuckDBInstance } from '@duckdb/node-api';
import { GENEROUS_MS } from '../../test/support/bounds.ts';
import { makeSpan, record, traceIdOf } from '../../test/support/trace-spans.ts';
import { traceStoreConfigOptions } from '../app/engine-options.ts';
import { configSchema } from '../config/index.ts';
import type { HeimdallConfigInput } from '../config/index.ts';
import type { Span, TenantId } from '../model/index.ts';
import { StorageFormatError } from '../storage/index.ts';
import type { SpanCondition, StoredTrace, TraceQuerier } from '../storage/index.ts';
import { TraceStore } from './trace-store.ts';

const dirs: string[] = [];
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function tmpDir(): string {
  const d = mkdtempSync(path.join(os.tmpdir(), 'heimdall-traceblocks-'));
  dirs.push(d);
  return d;
}

function open(dir: string, traces: HeimdallConfigInput['traces'] = {}): Promise<TraceStore> {
  return TraceStore.open({ dir, ...traceStoreConfigOptions(configSchema.parse({ traces }).traces), threads: 1, memoryLimitBytes: 256 * 1024 ** 2, background: false });
}

const T = 'tenant-a' as TenantId;
const SEC = 1_000_000_000n;
const HOUR = 3600n * SEC;
const NOW_NS = BigInt(Date.now()) * 1_000_000n;

/** Trace n starting at `startNs`: a root and `children` children. */
function spansOf(n: number, startNs: bigint, children = 2): Span[] {
  const out = [makeSpan({ trace: n, index: 0, startNs, durationNs: 20_000_000n, name: 'GET /' })];
  for (let i = 1; i <= children; i++) out.push(makeSpan({ trace: n, index: i, parent: 0, startNs: startNs + BigInt(i) * 1_000_000n, name: `call-${i}` }));
  return out;
}

async function commit(store: TraceStore, tenant: TenantId, spans: readonly Span[], service = 'api'): Promise<void> {
  const a = store.appender(tenant);
  a.append(record(service, spans));
  await a.commit();
}

async function selectAll(q: TraceQuerier, startNs: bigint, endNs: bigint, conditions?: SpanCondition[]): Promise<StoredTrace[]> {
  const out: StoredTrace[] = [];
  for await (const batch of q.select({ startNs, endNs, ...(conditions ? { conditions } : {}) })) out.push(...batch);
  return out;
}

/** Runs `sql` on the catalog of the closed store in `dir` (to make it look as an older format wrote it). */
async function editCatalog(dir: string, sql: string): Promise<void> {
  const db = await DuckDBInstance.create(path.join(dir, 'traces.duckdb'));
  const conn = await db.connect();
  await conn.run(sql);
  conn.closeSync();
  db.closeSync();
}

/** Probes trace by id for `ids` (3 spans each) and an absent id; returns what each lookup read. */
async function probeById(store: TraceStore, ids: readonly number[]): Promise<{ blocks: number; records: number; rowGroups: number }[]> {
  const q = await store.querier([T]);
  const out = [];
  for (const id of [...ids, -1]) {
    const before = { ...store.readStats };
    const trace = await q.traceById(id < 0 ? 'f'.repeat(32) : traceIdOf(id));
    assert.equal(trace?.spans.length, id < 0 ? undefined : 3, `trace ${id}`);
    out.push({
      blocks: store.readStats.blocksRead - before.blocksRead,
      records: store.readStats.recordsRead - before.recordsRead,
      rowGroups: store.readStats.rowGroupsRead - before.rowGroupsRead,
    });
  }
  await q.close();
  return out;
}

test('trace by id over a week of blocks reads one trace records region (format 2 blocks: a row group of the blocks the bloom filter admits)', async (t) => {
  // Six-hour windows over seven days (28 blocks); one busy window holds 3,000 traces over several row groups.
  const dir = tmpDir();
  let store = await open(dir, { store: { block_window: '6h', row_group_spans: 2048 } });
  try {
    const weekAgo = NOW_NS - 7n * 24n * HOUR;
    let n = 0;
    for (let w = 0; w < 28; w++) {
      const base = weekAgo + BigInt(w) * 6n * HOUR + HOUR;
      const spans: Span[] = [];
      for (let i = 0; i < 20; i++) spans.push(...spansOf(n++, base + BigInt(i) * SEC));
      await commit(store, T, spans);
    }
    const busyFirst = n;
    const busyBase = NOW_NS - 2n * HOUR;
    for (let c = 0; c < 30; c++) {
      const spans: Span[] = [];
      for (let i = 0; i < 100; i++) spans.push(...spansOf(n++, busyBase + BigInt(c * 100 + i) * 1_000_000n));
      await commit(store, T, spans);
    }
    await store.flush();
    assert.equal(store.headBytes, 0);
    const blocks = store.blocks();
    assert.ok(blocks.length >= 28, `${blocks.length} blocks`);
    assert.ok(blocks.every((b) => b.recordsBytes > 0 && existsSync(b.recordsPath)), 'every block has its trace records');
    const busy = blocks.reduce((a, b) => (b.spans > a.spans ? b : a));
    assert.ok(busy.rowGroups.length >= 4, `the busy block has ${busy.rowGroups.length} row groups`);
    const spans = blocks.reduce((s, b) => s + b.spans, 0);
    const bytes = blocks.reduce((s, b) => s + b.sizeBytes, 0);
    assert.equal(spans, n * 3);
    t.diagnostic(`${blocks.length} blocks, ${spans} spans, ${(bytes / spans).toFixed(1)} bytes per span (Parquet + bloom + records)`);

    const probes = [busyFirst, busyFirst + 1234, n - 1, 5, 300, 555];
    // The records index knows which block holds a trace: one block, one region; an absent id reads nothing.
    assert.deepEqual(await probeById(store, probes), [...probes.map(() => ({ blocks: 1, records: 1, rowGroups: 0 })), { blocks: 0, records: 0, rowGroups: 0 }]);
    // A search over the busy window reads the same spans back.
    let q = await store.querier([T]);
    const found = await selectAll(q, busyBase, busyBase + HOUR);
    assert.equal(found.length, 3000);
    assert.ok(found.every((tr) => tr.spans.length === 3));
    await q.close();
    await store.close();

    // The same blocks as format 2 wrote them (no trace records): read from the Parquet row groups the index admits.
    await editCatalog(dir, 'UPDATE trace_blocks SET records_bytes = 0');
    for (const b of blocks) rmSync(b.recordsPath);
    store = await open(dir, { store: { block_window: '6h', row_group_spans: 2048 } });
    const reads = await probeById(store, probes);
    t.diagnostic(`format 2 blocks: ${JSON.stringify(reads)}`);
    for (const r of reads.slice(0, -1)) {
      // The one block holding it, plus at most one bloom false positive; one row group each (two if the trace straddles a boundary).
      assert.ok(r.blocks >= 1 && r.blocks <= 2 && r.records === 0 && r.rowGroups <= r.blocks + 1, JSON.stringify(r));
    }
    assert.ok(reads.at(-1)!.blocks <= 1, 'an absent id opens no block (bar a false positive)');
    q = await store.querier([T]);
    assert.deepEqual(
      (await selectAll(q, busyBase, busyBase + HOUR)).map((tr) => tr.traceId),
      found.map((tr) => tr.traceId),
    );
    await q.close();
  } finally {
    await store.close();
  }
});

test('late spans of a trace already in a block go to a new block; reads assemble them, each span once', async () => {
  const dir = tmpDir();
  let store = await open(dir);
  try {
    const start = NOW_NS - 10n * 60n * SEC;
    await commit(store, T, spansOf(1, start));
    await store.flush();
    // A late span, and a re-send of one already in the block (a retried push).
    await commit(store, T, [makeSpan({ trace: 1, index: 7, parent: 0, startNs: start + 5n * SEC, name: 'late' }), spansOf(1, start)[1]!], 'worker');
    await store.flush();
    assert.equal(store.blocks().length, 2);
    assert.deepEqual(store.blocks().map((b) => b.spans), [3, 2]);
    const q = await store.querier([T]);
    const t1 = (await q.traceById(traceIdOf(1)))!;
    assert.deepEqual(t1.spans.map((s) => s.span.name), ['GET /', 'call-1', 'call-2', 'late']);
    const all = await selectAll(q, start - SEC, start + 60n * SEC);
    assert.deepEqual(all, [t1]);
    await q.close();
    await store.close();
    store = await open(dir);
    assert.equal(store.headBytes, 0, 'nothing replays into the head: the WAL was truncated after the cuts');
    assert.deepEqual(await (await store.querier([T])).traceById(traceIdOf(1)), t1);
  } finally {
    await store.close();
  }
});

test('a read that began before a cut still sees the spans the cut moved', async () => {
  const store = await open(tmpDir());
  try {
    const start = NOW_NS - 60n * SEC;
    for (let n = 0; n < 600; n++) await commit(store, T, spansOf(n, start + BigInt(n) * 1_000_000n));
    const q = await store.querier([T]);
    let seen = 0;
    let cut = false;
    for await (const batch of q.select({ startNs: start - SEC, endNs: start + 60n * SEC })) {
      // The select yields 500 traces per batch: cut everything between two batches.
      if (!cut) {
        await store.flush();
        cut = true;
        assert.equal(store.headBytes, 0);
      }
      seen += batch.length;
      assert.ok(batch.every((t) => t.spans.length === 3));
    }
    assert.equal(seen, 600);
  } finally {
    await store.close();
  }
});

/** Whether `files` are all gone, waiting for it (dropped blocks' files are removed in the background once unread). */
async function filesGone(files: readonly string[]): Promise<boolean> {
  const gone = (): boolean => files.every((f) => !existsSync(f));
  for (const until = Date.now() + GENEROUS_MS; !gone() && Date.now() < until; ) await new Promise((r) => setTimeout(r, 20));
  return gone();
}

test('retention drops whole blocks past the tenant block_retention, files included', async () => {
  const U = 'keeps-longer' as TenantId;
  const store = await open(tmpDir(), { limits: { block_retention: '2d' }, overrides: { [U]: { block_retention: '30d' } } });
  try {
    const old = NOW_NS - 5n * 24n * HOUR;
    const recent = NOW_NS - HOUR;
    await commit(store, T, spansOf(1, old));
    await commit(store, T, spansOf(2, recent));
    await commit(store, U, spansOf(3, old));
    await store.flush();
    const blocks = store.blocks();
    assert.equal(blocks.length, 3);
    const dropped = blocks.find((b) => b.tenant === T && b.minStartNs === old)!;
    assert.deepEqual(await store.applyRetention(Date.now()), { blocks: 1 });
    const q = await store.querier([T]);
    assert.equal(await q.traceById(traceIdOf(1)), undefined);
    assert.equal((await q.traceById(traceIdOf(2)))?.spans.length, 3);
    assert.equal((await (await store.querier([U])).traceById(traceIdOf(3)))?.spans.length, 3, 'the override keeps it');
    // The dropped block's files go in the background once no read uses them: wait for that, not a fixed time.
    assert.ok(await filesGone([dropped.path, dropped.bloomPath, dropped.recordsPath]), 'the dropped block’s files are removed');
    assert.ok(blocks.filter((b) => b !== dropped).every((b) => existsSync(b.path) && existsSync(b.bloomPath) && existsSync(b.recordsPath)));
    assert.deepEqual(await store.applyRetention(Date.now()), { blocks: 0 });
  } finally {
    await store.close();
  }
});

test('a version-1 directory (WAL only) opens and reads; a newer version is refused', async () => {
  const dir = tmpDir();
  let store = await open(dir);
  await commit(store, T, spansOf(1, NOW_NS - HOUR));
  await store.close();
  const stamp = path.join(dir, 'traces.format.json');
  writeFileSync(stamp, JSON.stringify({ name: 'traces', formatVersion: 1, createdBy: 'heimdall', createdAt: new Date().toISOString() }));
  store = await open(dir);
  try {
    assert.equal((await (await store.querier([T])).traceById(traceIdOf(1)))?.spans.length, 3);
  } finally {
    await store.close();
  }
  writeFileSync(stamp, JSON.stringify({ name: 'traces', formatVersion: 99 }));
  await assert.rejects(open(dir), StorageFormatError);
});

test('compaction merges a window’s small blocks: reads identical before and after, crash leftovers removed, retention by whole blocks', async () => {
  const dir = tmpDir();
  // Four late deliveries to a window two days old (later spans of the same traces among them) and one recent block.
  let store = await open(dir, { limits: { block_retention: '1d' } });
  const old = NOW_NS - 2n * 24n * HOUR;
  const recent = NOW_NS - HOUR;
  const read = async (s: TraceStore): Promise<unknown> => {
    const q = await s.querier([T]);
    const byId = [];
    for (let n = 0; n <= 40; n++) byId.push(await q.traceById(traceIdOf(n)));
    const out = { byId, old: await selectAll(q, old - HOUR, old + HOUR), names: await q.tagValues('intrinsic', 'name') };
    await q.close();
    return out;
  };
  try {
    for (let round = 0; round < 4; round++) {
      const spans: Span[] = [];
      for (let n = round * 10; n < round * 10 + 10; n++) spans.push(...spansOf(n, old + BigInt(n) * SEC));
      // A late span of a trace an earlier round already cut.
      if (round > 0) spans.push(makeSpan({ trace: round - 1, index: 9, parent: 0, startNs: old + BigInt(round) * SEC, name: `late-${round}` }));
      await commit(store, T, spans);
      await store.flush();
    }
    await commit(store, T, spansOf(40, recent));
    await store.flush();
    const before = await read(store);
    const inputs = store.blocks().filter((b) => b.spans < 100 && b.minStartNs < recent);
    assert.equal(inputs.length, 4);
    assert.ok(await store.compact() >= 1);
    const after = store.blocks();
    const merged = after.find((b) => b.level === 1)!;
    assert.ok(merged, 'a level-1 block');
    assert.equal(merged.spans, inputs.reduce((s, b) => s + b.spans, 0));
    assert.deepEqual(merged.rowGroups, [{ firstTraceId: merged.minTraceId, lastTraceId: merged.maxTraceId, spans: merged.spans }]);
    assert.equal(after.filter((b) => b.windowStartMs === merged.windowStartMs).length, 1, 'the window is one block');
    assert.ok(merged.recordsBytes > 0, 'the merged block has trace records');
    assert.ok(await filesGone(inputs.flatMap((b) => [b.path, b.bloomPath, b.recordsPath])), 'input files are removed once unread');
    assert.deepEqual(await read(store), before);
    await store.close();

    // A crash after a merge's commit leaves input files behind; one before it leaves the merged file: both are unreferenced.
    const leftoverInput = inputs[0]!;
    const leftoverMerged = merged.path.replace(/\/\d+\.parquet$/, '/999999.parquet');
    writeFileSync(leftoverInput.path, 'stale');
    writeFileSync(leftoverMerged, 'half-written');
    store = await open(dir, { limits: { block_retention: '1d' } });
    assert.ok(!existsSync(leftoverInput.path) && !existsSync(leftoverMerged));
    assert.deepEqual(await read(store), before);
    assert.deepEqual(store.blocks().map((b) => b.seq), after.map((b) => b.seq));

    // Retention drops the merged block whole; the recent one stays.
    assert.deepEqual(await store.applyRetention(Date.now()), { blocks: 1 });
    assert.ok(await filesGone([merged.path, merged.bloomPath, merged.recordsPath]));
    assert.equal((await (await store.querier([T])).traceById(traceIdOf(40)))?.spans.length, 3);
  } finally {
    await store.close();
  }
});

test('compaction never rewrites a big block: late spans for its window stay in a block of their own', async () => {
  // A target of 40 spans: the merged 4 x 9 spans block is "big" (at least half of it).
  const store = await open(tmpDir(), { store: { compaction_target_spans: 40 } });
  const start = NOW_NS - 3n * HOUR;
  try {
    for (let round = 0; round < 4; round++) {
      await commit(store, T, [0, 1, 2].flatMap((i) => spansOf(round * 3 + i, start + BigInt(round * 3 + i) * SEC)));
      await store.flush();
    }
    assert.equal(await store.compact(), 1);
    const [big] = store.blocks();
    assert.equal(big?.spans, 36);
    for (let n = 0; n < 2; n++) {
      await commit(store, T, [makeSpan({ trace: n, index: 8, parent: 0, startNs: start + SEC, name: 'late' })]);
      await store.flush();
    }
    assert.equal(await store.compact(), 1, 'the two late blocks merge with each other');
    assert.deepEqual(store.blocks().map((b) => [b.seq, b.spans]), [[big.seq, 36], [store.blocks()[1]!.seq, 2]]);
    assert.equal((await (await store.querier([T])).traceById(traceIdOf(1)))?.spans.length, 4);
  } finally {
    await store.close();
  }
});

test('a span count keeps one span per trace id and span id when a retry stored it in several blocks or a block and the head; a merge stores it once', async () => {
  const store = await open(tmpDir());
  const start = NOW_NS - 2n * 24n * HOUR;
  try {
    // The same request four times, its trace cut in between (the head no longer knows it), each time with a new trace.
    for (let round = 0; round < 4; round++) {
      await commit(store, T, [...spansOf(1, start), ...spansOf(2 + round, start + BigInt(round) * SEC)]);
      await store.flush();
    }
    assert.equal(store.blocks().reduce((n, b) => n + b.spans, 0), 24);
    const count = async (): Promise<number[] | undefined> => {
      const q = await store.querier([T]);
      const rows = await q.countSpans!({ fromNs: start - SEC, toNs: start + HOUR, stepNs: 2n * HOUR, groupBy: [{ scope: 'resource', name: 'service.name' }] });
      assert.equal((await q.traceById(traceIdOf(1)))?.spans.length, 3);
      await q.close();
      return rows?.map((r) => r.count);
    };
    assert.deepEqual(await count(), [15]);
    assert.ok((await store.compact()) >= 1);
    assert.equal(store.blocks().length, 1);
    assert.equal(store.blocks()[0]!.spans, 15, 'the merged block holds each span once');
    assert.deepEqual(await count(), [15]);
    // Once more, while the block holds it: the head's copy is not counted again (nor the new trace's spans twice).
    await commit(store, T, [...spansOf(1, start), ...spansOf(9, start + 9n * SEC)]);
    assert.deepEqual(await count(), [18]);
  } finally {
    await store.close();
  }
});

test('a newest-first select yields traces exactly by start time, a late earlier span included', async () => {
  const store = await open(tmpDir());
  const base = NOW_NS - 2n * HOUR;
  try {
    for (let n = 0; n < 100; n++) await commit(store, T, spansOf(n, base + BigInt(n) * SEC));
    await store.flush();
    // Trace 99 (the newest by its block) gets a late span starting before every other trace: it is the oldest.
    await commit(store, T, [makeSpan({ trace: 99, index: 5, parent: 0, startNs: base - SEC, name: 'early' })]);
    const q = await store.querier([T]);
    assert.equal(q.newestFirst, true);
    const order: string[] = [];
    for await (const batch of q.select({ startNs: base - HOUR, endNs: base + HOUR, order: 'newest' })) order.push(...batch.map((t) => t.traceId));
    const expected = [...Array.from({ length: 99 }, (_, i) => traceIdOf(98 - i)), traceIdOf(99)];
    assert.deepEqual(order, expected);
  } finally {
    await store.close();
  }
});

test('each block records its attribute lists’ keys; a merge unions them; a block without them (format 4) has them computed', async () => {
  const dir = tmpDir();
  let store = await open(dir);
  const old = NOW_NS - 2n * 24n * HOUR;
  const oddStatus = [{ scope: 'span', name: 'http.status_code', op: '>', value: 503 }] satisfies SpanCondition[];
  const found = async (s: TraceStore): Promise<string[]> => {
    const q = await s.querier([T]);
    const out = await selectAll(q, old - HOUR, old + HOUR, oddStatus);
    await q.close();
    return out.map((t) => t.traceId);
  };
  const keysOf = (b: ReturnType<TraceStore['blocks']>[number]) => ({ span: [...(b.listKeys?.span ?? [])].sort(), resource: [...(b.listKeys?.resource ?? [])].sort() });
  try {
    for (let round = 0; round < 4; round++) {
      await commit(store, T, spansOf(round, old + BigInt(round) * SEC));
      await store.flush();
    }
    // Round 4: an http.status_code that is not an integer misses its dedicated column, so the span list holds the key.
    await commit(store, T, [makeSpan({ trace: 4, index: 0, startNs: old + 4n * SEC, attributes: [{ key: 'http.status_code', value: 503.5 }] })]);
    await store.flush();
    const cut = store.blocks();
    assert.equal(cut.length, 5);
    assert.deepEqual(keysOf(cut[0]!), { span: ['ratio', 'retry', 'tags'], resource: [] });
    assert.deepEqual(keysOf(cut[4]!), { span: ['http.status_code'], resource: [] });
    assert.deepEqual(await found(store), [traceIdOf(4)]);
    assert.ok((await store.compact()) >= 1);
    const merged = store.blocks().find((b) => b.level === 1)!;
    assert.deepEqual(keysOf(merged), { span: ['http.status_code', 'ratio', 'retry', 'tags'], resource: [] });
    assert.deepEqual(await found(store), [traceIdOf(4)]);
    await store.close();

    // A format-4 catalog has no keys: reads compute them (the search still finds the span list's key).
    await editCatalog(dir, 'UPDATE trace_blocks SET list_keys = NULL');
    store = await open(dir);
    assert.ok(store.blocks().every((b) => b.listKeys === undefined));
    assert.deepEqual(await found(store), [traceIdOf(4)]);
  } finally {
    await store.close();
  }
});
