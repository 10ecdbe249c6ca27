import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { killAfterAcks } from '../../test/support/crash-child.ts';
import { fileURLToPath } from 'node:url';
import { configSchema } from '../config/index.ts';
import type { TenantId } from '../model/index.ts';
import { LogStore } from './log-store.ts';
import { logStoreConfigOptions } from '../app/engine-options.ts';

const CHILD = path.join(path.dirname(fileURLToPath(import.meta.url)), 'testdata', 'durability-child.ts');
const ROUNDS = 10;

test('acknowledged log entries survive kill -9 (mid-write and mid-compaction), over repeated rounds', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'heimdall-logs-durability-'));
  try {
    const allAcked: number[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      const acked = await killAfterAcks(CHILD, [dir, String(round * 1_000_000)], 60 + round * 25);
      assert.ok(acked.length >= 60, `round ${round}: child acknowledged ${acked.length} batches`);
      allAcked.push(...acked);
    }
    const config = configSchema.parse({}).logs;
    const store = await LogStore.open({ dir, ...logStoreConfigOptions(config), threads: 1, background: false });
    try {
      const q = await store.querier(['durable' as TenantId]);
      const counts = new Map<number, number>();
      const nowNs = BigInt(Date.now()) * 1_000_000n;
      for await (const slice of q.select({
        matchers: [{ name: 'app', op: '=', value: 'durable' }],
        startNs: nowNs - 3600n * 1_000_000_000n,
        endNs: nowNs + 1n,
        direction: 'forward',
      })) {
        for (const b of slice) for (const line of b.lines) {
          const id = Number(line.split(' ')[1]);
          counts.set(id, (counts.get(id) ?? 0) + 1);
        }
      }
      await q.close();
      for (const id of allAcked) assert.equal(counts.get(id), 50, `acknowledged batch ${id} is whole after the crashes`);
      for (const [id, n] of counts) assert.equal(n, 50, `batch ${id} is not torn`);
      // And the store still compacts what the crashes left behind.
      await store.flush();
      const q2 = await store.querier(['durable' as TenantId]);
      const stats = await q2.stats!({ startMs: Date.now() - 3600_000, endMs: Date.now() }, [{ name: 'app', op: '=', value: 'durable' }]);
      assert.equal(stats.entries, counts.size * 50);
      await q2.close();
    } finally {
      await store.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
