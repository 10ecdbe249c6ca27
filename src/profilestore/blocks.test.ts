import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { profileStoreConfigOptions } from '../app/engine-options.ts';
import { configSchema } from '../config/index.ts';
import { labelsKey, profileTypeLabels } from '../model/index.ts';
import type { LabelMatcher, Profile, TenantId } from '../model/index.ts';
import type { ProfileReadShape, ProfileTimeRange } from '../storage/index.ts';
import { ProfileStore } from './profile-store.ts';

const CPU = { name: 'process_cpu', sampleType: 'cpu', sampleUnit: 'nanoseconds', periodType: 'cpu', periodUnit: 'nanoseconds' };
const HOUR = 3_600_000;

/** Two pprof-shaped symbol sets (shared arrays, as decoding gives), overlapping in functions and stacks. */
const SYMBOLS = [
  {
    functions: [{ name: 'main', filename: 'main.go' }, { name: 'serve' }, { name: 'parse', filename: 'p.go' }, { name: 'gc' }],
    stacks: [[2, 1, 0], [1, 0], [3], [3, 2, 1, 0]],
  },
  {
    functions: [{ name: 'gc' }, { name: 'main', filename: 'main.go' }, { name: 'serve' }, { name: 'write' }],
    stacks: [[0], [3, 2, 1], [2, 1]],
  },
];

function profile(service: string, pod: string, timeMs: number, n: number): Profile {
  const sym = SYMBOLS[n % 2]!;
  return {
    labels: { service_name: service, pod, ...profileTypeLabels(CPU) },
    timeMs,
    durationNs: 10e9,
    functions: sym.functions,
    stacks: sym.stacks,
    samples: sym.stacks.map((_, i) => ({ stack: i, value: (n % 7) * 1000 + i + 1, ...(i === 0 && n % 3 === 0 ? { spanId: `00000000000000${(n % 16).toString(16)}a` } : {}) })),
    ...(n % 5 === 0 ? { profileId: `id-${n}` } : {}),
  };
}

/** A selection as comparable data: stacks by function names, values summed per (series, stack, span). */
async function read(store: ProfileStore, tenant: string, matchers: LabelMatcher[], range: ProfileTimeRange, shape: ProfileReadShape): Promise<unknown> {
  const q = await store.querier([tenant as TenantId]);
  try {
    if (shape === 'profiles') {
      const rows: string[] = [];
      for await (const batch of q.select({ ...range, matchers, read: shape })) {
        for (const { profile: p } of batch) {
          const samples = p.samples.map((s) => `${p.stacks[s.stack]!.map((f) => `${p.functions[f]!.name}@${p.functions[f]!.filename ?? ''}`).join(';')}=${s.value}/${s.spanId ?? ''}`).sort();
          rows.push(JSON.stringify([labelsKey(p.labels), p.timeMs, p.durationNs, p.profileId ?? null, samples]));
        }
      }
      return rows.sort();
    }
    const sums = new Map<string, number>();
    let count = 0;
    for await (const batch of q.select({ ...range, matchers, read: shape })) {
      for (const { profile: p, merged } of batch) {
        count += merged?.count ?? 1;
        for (const s of p.samples) {
          const stack = shape === 'totals' ? String(p.timeMs) : (p.stacks[s.stack] ?? []).map((f) => p.functions[f]!.name).join(';');
          const k = `${labelsKey(p.labels)} ${stack} ${shape === 'totals' ? '' : (s.spanId ?? '')}`;
          sums.set(k, (sums.get(k) ?? 0) + s.value);
        }
      }
    }
    return { count, sums: [...sums.entries()].sort() };
  } finally {
    await q.close();
  }
}

async function labelReads(store: ProfileStore, tenant: string, range: ProfileTimeRange): Promise<unknown> {
  const q = await store.querier([tenant as TenantId]);
  try {
    return [await q.labelNames([], range), await q.labelValues('pod', [{ name: 'service_name', op: '=', value: 'api' }], range), await q.series([], range), await q.stats()];
  } finally {
    await q.close();
  }
}

function options(dir: string): Parameters<typeof ProfileStore.open>[0] {
  const config = configSchema.parse({ profiles: { limits: { retention_period: '6h' }, store: { window: '1h' } } }).profiles;
  return { dir, ...profileStoreConfigOptions(config), background: false };
}

test('queries answer the same from the head and from blocks; a cut empties the head; a reopen duplicates nothing', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'heimdall-profile-blocks-'));
  try {
    const base = Math.floor(Date.now() / HOUR) * HOUR - 2 * HOUR;
    let store = await ProfileStore.open(options(dir));
    let n = 0;
    for (const tenant of ['a', 'b']) {
      const a = store.appender(tenant as TenantId);
      for (let t = 0; t < 2.5 * HOUR; t += 5 * 60_000) {
        for (const [service, pod] of [['api', 'p1'], ['api', 'p2'], ['db', 'p1']] as const) a.append(profile(service, pod, base + t + (n % 3) * 1000, n++));
      }
      await a.commit();
    }
    const all = { startMs: base - HOUR, endMs: base + 4 * HOUR };
    const partial = { startMs: base + 30 * 60_000, endMs: base + 100 * 60_000 };
    const api = [{ name: 'service_name', op: '=' as const, value: 'api' }];
    const queries = async (): Promise<unknown[]> => {
      const out: unknown[] = [];
      for (const tenant of ['a', 'b']) {
        for (const shape of ['profiles', 'merged', 'totals'] as const) {
          out.push(await read(store, tenant, [], all, shape), await read(store, tenant, api, partial, shape));
        }
        out.push(await labelReads(store, tenant, all), await labelReads(store, tenant, partial));
      }
      return out;
    };
    const fromHead = await queries();
    assert.equal(store.blocks().length, 0);
    await store.flush();
    assert.equal(store.headBytes, 0, 'the cut took every profile out of the head');
    assert.equal(store.blocks().length, 2 * 3, 'one block per tenant and window');
    assert.deepEqual(await queries(), fromHead, 'blocks answer as the head did');

    // More profiles into the head, then a reopen: blocks and replayed head, nothing twice.
    const late = store.appender('a' as TenantId);
    late.append(profile('api', 'p1', base + 3 * 60_000 + 1, 1000));
    await late.commit();
    const withLate = await read(store, 'a', [], all, 'profiles');
    await store.close();
    store = await ProfileStore.open(options(dir));
    assert.deepEqual(await read(store, 'a', [], all, 'profiles'), withLate);
    await store.flush();
    assert.deepEqual(await read(store, 'a', [], all, 'profiles'), withLate, 'a late profile gets its own block of the same window');
    assert.equal(store.blocks().length, 7);

    // Retention drops whole blocks and their files.
    const firstWindow = store.blocks().filter((b) => b.windowStartMs === base);
    assert.equal(await store.applyRetention(base + HOUR + 6 * HOUR), firstWindow.reduce((s, b) => s + b.profiles, 0));
    assert.ok(store.blocks().every((b) => b.windowStartMs > base));
    // Files go once no reader holds the block, in the background: poll (bounded) until they are gone.
    for (let i = 0; i < 500 && firstWindow.some((b) => existsSync(b.dir)); i++) await delay(20);
    for (const b of firstWindow) assert.equal(existsSync(b.dir), false, `dropped block ${b.key} is removed`);
    await store.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
