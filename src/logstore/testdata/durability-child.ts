// Test child for durability.test.ts: appends batches of log entries through the LogStore, several commits
// in flight at once, and prints `ack <id>` once a batch's commit resolved, until the parent SIGKILLs it.
// Heads are tiny so rotation and compaction into Parquet run while it is being killed.
import { logStoreConfigOptions } from '../../app/engine-options.ts';
import { configSchema } from '../../config/index.ts';
import type { TenantId } from '../../model/index.ts';
import { RetryableStorageError } from '../../storage/index.ts';
import { LogStore } from '../log-store.ts';

const dir = process.argv[2]!;
const startId = Number(process.argv[3]);
const config = configSchema.parse({ logs: { store: { head_max_bytes: 16 * 1024, head_max_age: '1s', partition_window: '1m' } } }).logs;
const store = await LogStore.open({ dir, ...logStoreConfigOptions(config), threads: 1, memoryLimitBytes: 128 * 1024 ** 2 });
const nowNs = BigInt(Date.now()) * 1_000_000n;
let next = startId;

async function worker(): Promise<void> {
  for (let n = 0; n < 100_000; n++) {
    const id = next++;
    const entries = [];
    // Spread over three one-minute partitions so compaction writes several blocks.
    for (let i = 0; i < 50; i++) entries.push({ timestampNs: nowNs - BigInt((id % 3) * 60 + i) * 1_000_000_000n, line: `batch ${id} row ${i}` });
    // Like a client: retry a batch refused with a retryable error (compaction behind, as these tiny heads make it).
    for (let attempt = 0; ; attempt++) {
      const a = store.appender('durable' as TenantId);
      a.append({ labels: { app: 'durable', shard: String(id % 5) }, entries });
      try {
        await a.commit();
        break;
      } catch (err) {
        if (!(err instanceof RetryableStorageError) || attempt > 200) throw err;
        await new Promise((r) => setTimeout(r, 20));
      }
    }
    process.stdout.write(`ack ${id}\n`);
  }
}

await Promise.all([worker(), worker(), worker()]);
