import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { profileStoreConfigOptions } from '../app/engine-options.ts';
import { configSchema } from '../config/index.ts';
import { profileTypeLabels } from '../model/index.ts';
import type { Profile, TenantId } from '../model/index.ts';
import { federatedProfilesStorage } from '../storage/index.ts';
import { ProfileStore } from './profile-store.ts';

const CPU = { name: 'process_cpu', sampleType: 'cpu', sampleUnit: 'nanoseconds', periodType: 'cpu', periodUnit: 'nanoseconds' };

function profile(service: string, timeMs: number, extra: Record<string, string> = {}): Profile {
  return {
    labels: { service_name: service, ...extra, ...profileTypeLabels(CPU) },
    timeMs,
    durationNs: 0,
    functions: [{ name: 'main' }],
    stacks: [[0]],
    samples: [{ stack: 0, value: 1 }],
  };
}

async function withStore(fn: (store: ProfileStore) => Promise<void>): Promise<void> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'heimdall-profiles-'));
  const config = configSchema.parse({ profiles: { limits: { retention_period: '1h', max_label_value_length: 50 }, store: { window: '1m' } } }).profiles;
  const store = await ProfileStore.open({ dir, ...profileStoreConfigOptions(config) });
  try {
    await fn(store);
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

async function write(store: ProfileStore, tenant: string, ...profiles: Profile[]): Promise<readonly unknown[]> {
  const a = store.appender(tenant as TenantId);
  const rejections = profiles.flatMap((p) => a.append(p).rejections);
  await a.commit();
  return rejections;
}

test('labels, series and selection by matchers and time; bad labels are rejected, the rest written', async () => {
  await withStore(async (store) => {
    const now = Date.now();
    const rejected = await write(store, 't', profile('api', now, { pod: 'a' }), profile('db', now - 1000), profile('api', now, { pod: 'x'.repeat(51) }));
    assert.equal(rejected.length, 1);
    const q = await store.querier(['t' as TenantId]);
    const range = { startMs: now - 60_000, endMs: now + 1 };
    assert.deepEqual(await q.labelValues('service_name', [], range), ['api', 'db']);
    assert.ok((await q.labelNames([], range)).includes('pod'));
    assert.deepEqual(await q.labelValues('pod', [{ name: 'service_name', op: '=~', value: 'a.*' }], range), ['a']);
    assert.equal((await q.series([], range)).length, 2);
    let n = 0;
    for await (const b of q.select({ ...range, matchers: [{ name: 'service_name', op: '=', value: 'db' }] })) n += b.length;
    assert.equal(n, 1);
    n = 0;
    for await (const b of q.select({ startMs: now - 10, endMs: now + 1, matchers: [] })) n += b.length;
    assert.equal(n, 1, 'the time range is applied');
    assert.deepEqual(await q.stats(), { oldestMs: now - 1000, newestMs: now });
  });
});

test('retention drops whole windows and the WAL segments nothing is left in; a reopened store keeps the rest', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'heimdall-profiles-'));
  const options = { dir, ...profileStoreConfigOptions(configSchema.parse({ profiles: { limits: { retention_period: '1h' }, store: { window: '1m' } } }).profiles) };
  try {
    const now = Date.now();
    const store = await ProfileStore.open(options);
    await write(store, 't', profile('old', now - 3 * 3_600_000), profile('new', now));
    assert.equal(await store.applyRetention(now + 1_800_000), 1);
    await store.close();
    const reopened = await ProfileStore.open(options);
    const q = await reopened.querier(['t' as TenantId]);
    assert.deepEqual(await q.labelValues('service_name', [], { startMs: 0, endMs: now + 1 }), ['new']);
    await reopened.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('federated reads add __tenant_id__ and pick tenants by it', async () => {
  await withStore(async (store) => {
    const now = Date.now();
    await write(store, 'a', profile('api', now));
    await write(store, 'b', profile('api', now));
    const fed = federatedProfilesStorage(store);
    const q = await fed.querier(['a' as TenantId, 'b' as TenantId]);
    const range = { startMs: now - 1, endMs: now + 1 };
    assert.deepEqual(await q.labelValues('__tenant_id__', [], range), ['a', 'b']);
    let tenants: string[] = [];
    for await (const b of q.select({ ...range, matchers: [{ name: '__tenant_id__', op: '=', value: 'b' }] })) {
      tenants = tenants.concat(b.map((s) => s.profile.labels.__tenant_id__!));
    }
    assert.deepEqual(tenants, ['b']);
    await q.close();
  });
});
