// Test child for durability.test.ts: commits one 5-span trace per batch through the TraceStore, several
// commits in flight at once, and prints `ack <id>` once a batch's commit resolved, until the parent SIGKILLs
// it. The head is tiny and traces go idle at once, so cuts into blocks run while it is being killed.
import { makeSpan, record } from '../../../test/support/trace-spans.ts';
import { traceStoreConfigOptions } from '../../app/engine-options.ts';
import { configSchema } from '../../config/index.ts';
import type { TenantId } from '../../model/index.ts';
import { RetryableStorageError } from '../../storage/index.ts';
import { TraceStore } from '../trace-store.ts';

const dir = process.argv[2]!;
const startId = Number(process.argv[3]);
const config = configSchema.parse({
  traces: { store: { head_max_bytes: 8 * 1024 ** 2, trace_idle_period: '1s', max_block_duration: '2s', block_window: '1m' } },
}).traces;
const store = await TraceStore.open({ dir, ...traceStoreConfigOptions(config), threads: 1, memoryLimitBytes: 128 * 1024 ** 2 });
const nowNs = BigInt(Date.now()) * 1_000_000n;
let next = startId;

async function worker(): Promise<void> {
  for (let n = 0; n < 100_000; n++) {
    const id = next++;
    // Spread over three one-minute windows so cuts write several blocks.
    const start = nowNs - BigInt((id % 3) * 60) * 1_000_000_000n;
    const spans = [0, 1, 2, 3, 4].map((i) => makeSpan({ trace: id, index: i, ...(i > 0 ? { parent: 0 } : {}), startNs: start + BigInt(i) * 1000n }));
    // Like a client: retry a batch refused with a retryable error (the head full while a cut runs).
    for (let attempt = 0; ; attempt++) {
      const a = store.appender('durable' as TenantId);
      a.append(record(`svc-${id % 4}`, spans));
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
