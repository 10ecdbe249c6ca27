import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { killAfterAcks } from '../../test/support/crash-child.ts';
import { traceIdOf } from '../../test/support/trace-spans.ts';
import { traceStoreConfigOptions } from '../app/engine-options.ts';
import { configSchema } from '../config/index.ts';
import type { TenantId } from '../model/index.ts';
import { TraceStore } from './trace-store.ts';

const CHILD = path.join(path.dirname(fileURLToPath(import.meta.url)), 'testdata', 'durability-child.ts');
const ROUNDS = 10;
const T = 'durable' as TenantId;

test('acknowledged spans survive kill -9 (mid-write and mid-cut), over repeated rounds', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'heimdall-traces-durability-'));
  try {
    const allAcked: number[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      const acked = await killAfterAcks(CHILD, [dir, String(round * 1_000_000)], 60 + round * 25);
      assert.ok(acked.length >= 60, `round ${round}: child acknowledged ${acked.length} batches`);
      allAcked.push(...acked);
    }
    const config = configSchema.parse({}).traces;
    const store = await TraceStore.open({ dir, ...traceStoreConfigOptions(config), threads: 1, background: false });
    try {
      const q = await store.querier([T]);
      for (const id of allAcked) {
        const t = await q.traceById(traceIdOf(id));
        assert.equal(t?.spans.length, 5, `acknowledged batch ${id} is whole after the crashes`);
      }
      const nowNs = BigInt(Date.now()) * 1_000_000n;
      let traces = 0;
      for await (const batch of q.select({ startNs: nowNs - 3600n * 1_000_000_000n, endNs: nowNs + 1n })) {
        for (const t of batch) {
          assert.equal(t.spans.length, 5, `trace ${t.traceId} is not torn`);
          traces++;
        }
      }
      assert.ok(traces >= allAcked.length);
      await q.close();
    } finally {
      await store.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
