import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { killAfterAcks } from '../../test/support/crash-child.ts';
import { profileStoreConfigOptions } from '../app/engine-options.ts';
import { configSchema } from '../config/index.ts';
import type { TenantId } from '../model/index.ts';
import { ProfileStore } from './profile-store.ts';

const CHILD = path.join(path.dirname(fileURLToPath(import.meta.url)), 'testdata', 'durability-child.ts');
const ROUNDS = 10;
const T = 'durable' as TenantId;

test('acknowledged profiles survive kill -9 mid-write and mid-cut, over repeated rounds, each once', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'heimdall-profiles-durability-'));
  try {
    const allAcked: number[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      const acked = await killAfterAcks(CHILD, [dir, String(round * 1_000_000)], 60 + round * 25);
      assert.ok(acked.length >= 60, `round ${round}: child acknowledged ${acked.length} batches`);
      allAcked.push(...acked);
    }
    const store = await ProfileStore.open({ dir, ...profileStoreConfigOptions(configSchema.parse({}).profiles) });
    try {
      const q = await store.querier([T]);
      const seen = new Map<number, number>();
      for await (const batch of q.select({ startMs: 0, endMs: Date.now() + 1000, matchers: [] })) {
        for (const { profile } of batch) {
          const id = Number(profile.labels.batch);
          const stack = profile.stacks[profile.samples[0]!.stack] ?? [];
          assert.deepEqual(stack.map((f) => profile.functions[f]?.name), [`work${id}`, 'main'], `profile ${id} is whole`);
          assert.equal(profile.samples[0]?.value, id + 1);
          seen.set(id, (seen.get(id) ?? 0) + 1);
        }
      }
      for (const id of allAcked) assert.equal(seen.get(id), 1, `acknowledged profile ${id} is there once after the crashes`);
      await q.close();
    } finally {
      await store.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
