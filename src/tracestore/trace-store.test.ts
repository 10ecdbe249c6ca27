import assert from 'node:assert/strict';
import { appendFileSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { makeSpan, record, traceIdOf } from '../../test/support/trace-spans.ts';
import { traceStoreConfigOptions } from '../app/engine-options.ts';
import { configSchema } from '../config/index.ts';
import type { HeimdallConfigInput } from '../config/index.ts';
import type { TenantId } from '../model/index.ts';
import { federatedTracesStorage } from '../storage/index.ts';
import type { SpanCondition, StoredTrace, TraceQuerier, TraceSelectParams } from '../storage/index.ts';
import { TraceStore } from './trace-store.ts';

const dirs: string[] = [];
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function tmpDir(): string {
  const d = mkdtempSync(path.join(os.tmpdir(), 'heimdall-tracestore-'));
  dirs.push(d);
  return d;
}

/**
 * Every test runs twice: reading the head, and reading blocks (each read first cuts everything in the head
 * into blocks), so head and blocks must answer the same.
 */
let cutBeforeRead = false;

function variants(name: string, fn: () => Promise<void>): void {
  test(`${name} (head)`, async () => {
    cutBeforeRead = false;
    await fn();
  });
  test(`${name} (blocks)`, async () => {
    cutBeforeRead = true;
    await fn();
  });
}

async function open(dir: string, traces: HeimdallConfigInput['traces'] = {}): Promise<TraceStore> {
  const store = await TraceStore.open({ dir, ...traceStoreConfigOptions(configSchema.parse({ traces }).traces), threads: 1, memoryLimitBytes: 256 * 1024 ** 2, background: false });
  if (cutBeforeRead) {
    const querier = store.querier.bind(store);
    store.querier = async (tenants) => {
      await store.flush();
      return querier(tenants);
    };
  }
  return store;
}

const T = 'tenant-a' as TenantId;
const U = 'tenant-b' as TenantId;
const SEC = 1_000_000_000n;
const T0 = (BigInt(Date.now()) / SEC - 600n) * SEC;
const ALL = { startNs: T0 - 3600n * SEC, endNs: T0 + 3600n * SEC };

async function selectAll(q: TraceQuerier, params: Partial<TraceSelectParams> = {}): Promise<StoredTrace[]> {
  const out: StoredTrace[] = [];
  for await (const batch of q.select({ ...ALL, ...params })) out.push(...batch);
  return out;
}

/** Trace n: a root span and `n % 4 + 1` children, child i errors when i === 2. */
function traceSpans(n: number, offsetSec = 0n) {
  const start = T0 + BigInt(n) * SEC + offsetSec * SEC;
  const spans = [makeSpan({ trace: n, index: 0, startNs: start, durationNs: 50_000_000n, name: 'GET /api' })];
  for (let i = 1; i <= (n % 4) + 1; i++) {
    spans.push(makeSpan({ trace: n, index: i, parent: 0, startNs: start + BigInt(i) * 1_000_000n, error: i === 2, name: `db-${i}` }));
  }
  return spans;
}

async function commit(store: TraceStore, tenant: TenantId, service: string, spans: ReturnType<typeof traceSpans>): Promise<void> {
  const a = store.appender(tenant);
  const out = a.append(record(service, spans));
  assert.equal(out.accepted, spans.length);
  await a.commit();
}

variants('committed spans are queryable at once; a trace sent in parts is assembled; a re-sent span is kept once', async () => {
  const store = await open(tmpDir());
  try {
    for (let n = 0; n < 20; n++) await commit(store, T, n % 2 ? 'api' : 'web', traceSpans(n));
    // Trace 3 gets more spans in a later request, from another service, plus a re-send of its root.
    const late = [makeSpan({ trace: 3, index: 9, parent: 0, startNs: T0 + 3n * SEC + 4n * SEC, name: 'late' })];
    await commit(store, T, 'worker', [...late, traceSpans(3)[0]!]);

    const q = await store.querier([T]);
    const all = await selectAll(q);
    assert.equal(all.length, 20);
    const t3 = all.find((t) => t.traceId === traceIdOf(3))!;
    assert.equal(t3.spans.length, traceSpans(3).length + 1);
    assert.deepEqual(new Set(t3.spans.map((s) => s.resource.find((a) => a.key === 'service.name')!.value)), new Set(['api', 'worker']));
    assert.equal(t3.spans.filter((s) => s.span.name === 'GET /api').length, 1);

    const byId = await q.traceById(traceIdOf(3));
    assert.deepEqual(byId, t3);
    assert.equal(await q.traceById(traceIdOf(999)), undefined);
    // Every field comes back as written (events, links, scope, typed attributes).
    const withExtras = t3.spans.find((s) => s.span.spanId === traceSpans(3)[2]!.spanId)!;
    assert.deepEqual(withExtras.span, traceSpans(3)[2]);

    // The range picks traces with a span starting in it.
    const some = await selectAll(q, { startNs: T0 + 5n * SEC, endNs: T0 + 8n * SEC });
    assert.deepEqual(some.map((t) => t.traceId).sort(), [3, 5, 6, 7].map(traceIdOf).sort());
    await q.close();
  } finally {
    await store.close();
  }
});

variants('invalid spans are refused by reason and count; the rest of the record is kept', async () => {
  const store = await open(tmpDir());
  try {
    const a = store.appender(T);
    const good = traceSpans(1);
    const bad = { ...good[0]!, spanId: 'xyz' };
    const zero = { ...good[0]!, traceId: '0'.repeat(32) };
    const out = a.append(record('api', [bad, ...good, zero]));
    assert.equal(out.accepted, good.length);
    assert.equal(out.rejections.length, 1);
    assert.equal(out.rejections[0]!.reason, 'invalid_record');
    assert.equal(out.rejections[0]!.count, 2);
    assert.match(out.rejections[0]!.message, /invalid span id "xyz"/);
    assert.deepEqual(await a.commit(), { records: good.length });
    const q = await store.querier([T]);
    assert.equal((await q.traceById(traceIdOf(1)))!.spans.length, good.length);
  } finally {
    await store.close();
  }
});

variants('the prefilter never leaves out a matching trace and does leave out the rest', async () => {
  const store = await open(tmpDir());
  try {
    for (let n = 0; n < 16; n++) await commit(store, T, n % 2 ? 'api' : 'web', traceSpans(n));
    const q = await store.querier([T]);
    const ids = async (conditions: SpanCondition[], match?: 'all' | 'any') =>
      (await selectAll(q, { conditions, ...(match ? { conditionsMatch: match } : {}) })).map((t) => t.traceId).sort();
    const idsOf = (ns: number[]) => ns.map(traceIdOf).sort();
    const everything = idsOf([...Array(16).keys()]);
    const odd = idsOf([...Array(16).keys()].filter((n) => n % 2 === 1));
    const withError = idsOf([...Array(16).keys()].filter((n) => n % 4 >= 1));

    assert.deepEqual(await ids([{ scope: 'resource', name: 'service.name', op: '=', value: 'api' }]), odd);
    assert.deepEqual(await ids([{ scope: 'any', name: 'service.name', op: '=~', value: 'a.*' }]), odd);
    assert.deepEqual(await ids([{ scope: 'span', name: 'http.status_code', op: '>=', value: 500 }]), withError);
    assert.deepEqual(await ids([{ scope: 'intrinsic', name: 'status', op: '=', value: 'error' }]), withError);
    assert.deepEqual(await ids([{ scope: 'intrinsic', name: 'name', op: '=', value: 'db-2' }]), withError);
    assert.deepEqual(await ids([{ scope: 'span', name: 'tags', op: '=', value: 'b' }]), everything);
    assert.deepEqual(await ids([{ scope: 'span', name: 'http.status_code', op: '=', value: '500' }]), [], 'a string never equals an int');
    assert.deepEqual(await ids([{ scope: 'event', name: 'exception.type', op: 'exists' }]), withError);
    assert.deepEqual(await ids([{ scope: 'link', name: 'link.kind', op: '=', value: 'follows' }]), withError);
    assert.deepEqual(await ids([{ scope: 'instrumentation', name: 'scope.attr', op: '=', value: 7 }]), everything);
    // all: on one span; any: one of them.
    assert.deepEqual(
      await ids([
        { scope: 'resource', name: 'service.name', op: '=', value: 'api' },
        { scope: 'intrinsic', name: 'name', op: '=', value: 'GET /api' },
      ]),
      odd,
    );
    assert.deepEqual(
      await ids([
        { scope: 'intrinsic', name: 'name', op: '=', value: 'db-2' },
        { scope: 'span', name: 'http.status_code', op: '=', value: 200 },
      ]),
      [],
      'all: both conditions on one span (db-2 answers 500)',
    );
    assert.deepEqual(
      await ids([
        { scope: 'intrinsic', name: 'name', op: '=', value: 'nope' },
        { scope: 'resource', name: 'service.name', op: '!=', value: 'api' },
      ], 'any'),
      idsOf([...Array(16).keys()].filter((n) => n % 2 === 0)),
    );
    // Something storage does not understand matches (over-matching is allowed, under-matching is not).
    assert.deepEqual(await ids([{ scope: 'intrinsic', name: 'trace:rootService', op: '=', value: 'x' }]), everything);
    await q.close();

    // Dedicated keys whose values missed their column (another type) are in the attribute list: still found.
    const odd16 = makeSpan({ trace: 16, index: 0, startNs: T0, attributes: [{ key: 'http.status_code', value: 503.5 }, { key: 'http.method', value: 7 }] });
    await commit(store, T, 'api', [odd16]);
    const q2 = await store.querier([T]);
    const ids2 = async (c: SpanCondition) => (await selectAll(q2, { conditions: [c] })).map((t) => t.traceId).sort();
    assert.deepEqual(await ids2({ scope: 'span', name: 'http.status_code', op: '>', value: 503 }), idsOf([16]));
    assert.deepEqual(await ids2({ scope: 'span', name: 'http.method', op: '=', value: 7 }), idsOf([16]));
    assert.deepEqual(await ids2({ scope: 'any', name: 'http.method', op: '=', value: 'GET' }), idsOf([...Array(16).keys()]));
    await q2.close();
  } finally {
    await store.close();
  }
});

variants('a trace whose matching span started just outside the range is found when another of its spans is inside', async () => {
  const store = await open(tmpDir());
  const errorAt = (trace: number, index: number, startNs: bigint) => makeSpan({ trace, index, parent: 0, startNs, error: true, name: 'db' });
  const rootAt = (trace: number, startNs: bigint) => makeSpan({ trace, index: 0, startNs, name: 'GET /api' });
  const from = T0;
  const to = T0 + 100n * SEC;
  try {
    // 1: the error before the range, the root inside. 2: the error inside. 3: the error after the range, the
    // root inside, in another commit and (after a cut) another source. 4: every span before the range.
    await commit(store, T, 'api', [rootAt(1, from + 10n * SEC), errorAt(1, 1, from - 5n * SEC)]);
    await commit(store, T, 'api', [rootAt(2, from + 20n * SEC), errorAt(2, 1, from + 21n * SEC)]);
    await commit(store, T, 'api', [rootAt(3, to - SEC)]);
    await store.flush();
    await commit(store, T, 'api', [errorAt(3, 1, to + 5n * SEC)]);
    await commit(store, T, 'api', [rootAt(4, from - 20n * SEC), errorAt(4, 1, from - 19n * SEC)]);
    const q = await store.querier([T]);
    const error = [{ scope: 'intrinsic', name: 'status', op: '=', value: 'error' }] satisfies SpanCondition[];
    for (const order of ['by id', 'newest'] as const) {
      const found = await selectAll(q, { startNs: from, endNs: to, conditions: error, ...(order === 'newest' ? { order } : {}) });
      assert.deepEqual(found.map((t) => t.traceId).sort(), [1, 2, 3].map(traceIdOf).sort(), order);
      assert.deepEqual(found.map((t) => t.spans.length), [2, 2, 2], order);
    }
    await q.close();
  } finally {
    await store.close();
  }
});

variants('tag names and typed values per scope', async () => {
  const store = await open(tmpDir());
  try {
    for (let n = 0; n < 6; n++) await commit(store, T, `svc-${n % 3}`, traceSpans(n));
    const q = await store.querier([T]);
    assert.deepEqual(await q.tagNames('resource'), ['k8s.namespace.name', 'service.name']);
    assert.deepEqual(await q.tagNames('span'), ['http.method', 'http.status_code', 'ratio', 'retry', 'tags']);
    assert.deepEqual(await q.tagNames('event'), ['exception.type']);
    assert.deepEqual(await q.tagNames('link'), ['link.kind']);
    assert.deepEqual(await q.tagNames('instrumentation'), ['scope.attr']);
    assert.deepEqual(await q.tagValues('resource', 'service.name'), ['svc-0', 'svc-1', 'svc-2']);
    assert.deepEqual(await q.tagValues('any', 'service.name', undefined, 2), ['svc-0', 'svc-1']);
    assert.deepEqual((await q.tagValues('span', 'http.status_code')).sort(), [200, 500]);
    assert.deepEqual(await q.tagValues('span', 'retry'), [false]);
    assert.deepEqual(await q.tagValues('span', 'tags'), ['a', 'b']);
    // The range narrows: only trace 0's spans start in its first second.
    assert.deepEqual(await q.tagValues('resource', 'service.name', { startNs: T0, endNs: T0 + SEC }), ['svc-0']);
    assert.deepEqual(await q.tagNames('span', { startNs: T0 - 10n * SEC, endNs: T0 - SEC }), []);
    // The free-text intrinsics.
    assert.deepEqual(await q.tagValues('intrinsic', 'name'), ['GET /api', 'db-1', 'db-2', 'db-3', 'db-4']);
    assert.deepEqual(await q.tagValues('intrinsic', 'statusMessage'), ['boom']);
    assert.deepEqual(await q.tagValues('intrinsic', 'trace:rootService'), ['svc-0', 'svc-1', 'svc-2']);
    assert.deepEqual(await q.tagValues('intrinsic', 'trace:rootName'), ['GET /api']);
    assert.deepEqual(await q.tagValues('intrinsic', 'event:name'), ['exception']);
    assert.deepEqual(await q.tagValues('intrinsic', 'instrumentation:name'), ['test-lib']);
    assert.deepEqual(await q.tagValues('intrinsic', 'instrumentation:version'), ['1.0.0']);
    assert.deepEqual(await q.tagValues('intrinsic', 'duration'), []);
  } finally {
    await store.close();
  }
});

variants('restart recovers every committed span from the WAL; a torn tail is cut', async () => {
  const dir = tmpDir();
  let store = await open(dir);
  for (let n = 0; n < 10; n++) await commit(store, T, 'api', traceSpans(n));
  await commit(store, U, 'other', traceSpans(3));
  const before = await selectAll(await store.querier([T]));
  await store.close();
  // A torn frame at the tail (a crash mid-write): half a header and some bytes.
  const walDir = path.join(dir, 'wal');
  const last = readdirSync(walDir).filter((n) => /^\d{8}$/.test(n)).sort().at(-1)!;
  appendFileSync(path.join(walDir, last), Buffer.from([200, 1, 0, 0, 9, 9]));
  store = await open(dir);
  try {
    assert.deepEqual(await selectAll(await store.querier([T])), before);
    assert.equal((await selectAll(await store.querier([U]))).length, 1);
    await commit(store, T, 'api', traceSpans(11));
    assert.equal((await selectAll(await store.querier([T]))).length, 11);
  } finally {
    await store.close();
  }
  store = await open(dir);
  try {
    assert.equal((await selectAll(await store.querier([T]))).length, 11);
  } finally {
    await store.close();
  }
});

variants('tenants are isolated; a federated querier marks spans with their tenant and merges one id across tenants', async () => {
  const store = await open(tmpDir());
  try {
    await commit(store, T, 'api', traceSpans(1));
    await commit(store, U, 'edge', [makeSpan({ trace: 1, index: 7, parent: 0, startNs: T0 + SEC, name: 'edge-hop' })]);
    await commit(store, U, 'edge', traceSpans(2));
    const qa = await store.querier([T]);
    assert.equal((await selectAll(qa)).length, 1);
    assert.equal((await qa.traceById(traceIdOf(2))), undefined);
    assert.equal((await qa.traceById(traceIdOf(1)))!.spans.some((s) => s.tenant !== undefined), false);

    const fed = federatedTracesStorage(store);
    const q = await fed.querier([T, U]);
    const t1 = (await q.traceById(traceIdOf(1)))!;
    assert.equal(t1.spans.length, traceSpans(1).length + 1);
    assert.deepEqual(new Set(t1.spans.map((s) => s.tenant)), new Set([T, U]));
    const all = await selectAll(q);
    assert.deepEqual(all.map((t) => t.traceId).sort(), [traceIdOf(1), traceIdOf(2)].sort());
    assert.equal(all.find((t) => t.traceId === traceIdOf(1))!.spans.length, traceSpans(1).length + 1);
    assert.deepEqual(await q.tagValues('resource', 'service.name'), ['api', 'edge']);
    await q.close();
  } finally {
    await store.close();
  }
});

variants('a closed store refuses commits with a retryable error', async () => {
  const store = await open(tmpDir());
  await store.close();
  const a = store.appender(T);
  a.append(record('api', traceSpans(1)));
  await assert.rejects(a.commit(), (err: Error & { code?: string }) => err.code === 'shutting_down');
});
