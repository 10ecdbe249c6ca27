import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { killAfterAcks } from '../../test/support/crash-child.ts';
import { fileURLToPath } from 'node:url';
import { metricsConfigSchema } from '../config/metrics-config.ts';
import type { TenantId } from '../model/index.ts';
import { Tsdb } from './index.ts';
import { tsdbConfigOptions } from '../app/engine-options.ts';

const WRITER = fileURLToPath(new URL('./testdata/crash-writer.ts', import.meta.url));
const ROUNDS = 10;

test('acknowledged samples survive kill -9, repeatedly', { timeout: 120_000 }, async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'heimdall-tsdb-crash-'));
  let next = 0;
  for (let round = 0; round < ROUNDS; round++) {
    // A random number of acknowledged batches, so the kill lands at different points of the write path.
    const acked = await killAfterAcks(WRITER, [dir, String(next)], 5 + Math.floor(Math.random() * 20));
    const lastAck = acked[acked.length - 1] ?? -1;
    assert.ok(lastAck >= next, 'the writer acknowledged something');
    const db = await Tsdb.open({ dir, ...tsdbConfigOptions(metricsConfigSchema.parse({}) )});
    const q = await db.querier(['crash' as TenantId], { startMs: 0, endMs: 1e15 });
    let seriesCount = 0;
    for await (const batch of q.select([{ op: '=', name: '__name__', value: 'crash_test' }])) {
      for (const s of batch) {
        seriesCount++;
        const have = new Set(s.timestampsMs);
        for (let b = 0; b <= lastAck; b++) assert.ok(have.has(b * 1000), `series ${s.labels['series']} lost acked batch ${b} (round ${round})`);
        // Values stay paired with their timestamps.
        for (let i = 0; i < s.timestampsMs.length; i++) assert.equal(s.values[i], s.timestampsMs[i]! / 1000);
      }
    }
    assert.equal(seriesCount, 50);
    // The next round continues after whatever made it to disk (acked or not).
    let maxT = 0;
    for await (const batch of q.select([{ op: '=', name: '__name__', value: 'crash_test' }])) {
      for (const s of batch) maxT = Math.max(maxT, s.timestampsMs[s.timestampsMs.length - 1]!);
    }
    next = maxT / 1000 + 1;
    await db.close();
  }
});
