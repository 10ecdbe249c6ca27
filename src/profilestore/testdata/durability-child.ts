// Test child for durability.test.ts: commits one profile per batch through the ProfileStore, several commits in
// flight at once, and prints `ack <id>` once a batch's commit resolved, until the parent SIGKILLs it. Blocks are
// cut every few milliseconds meanwhile, so kills land before, during and after cuts.
import { profileStoreConfigOptions } from '../../app/engine-options.ts';
import { configSchema } from '../../config/index.ts';
import { profileTypeLabels } from '../../model/index.ts';
import type { TenantId } from '../../model/index.ts';
import { ProfileStore } from '../profile-store.ts';

const dir = process.argv[2]!;
const startId = Number(process.argv[3]);
const config = configSchema.parse({}).profiles;
const store = await ProfileStore.open({ dir, ...profileStoreConfigOptions(config) });
const type = { name: 'process_cpu', sampleType: 'cpu', sampleUnit: 'nanoseconds', periodType: 'cpu', periodUnit: 'nanoseconds' };
let next = startId;
const cutter = setInterval(() => {
  store.flush().catch((err: unknown) => {
    process.stderr.write(`cut failed: ${String(err)}\n`);
  });
}, 25);
cutter.unref();

async function worker(): Promise<void> {
  for (let n = 0; n < 100_000; n++) {
    const id = next++;
    const a = store.appender('durable' as TenantId);
    a.append({
      labels: { service_name: `svc-${id % 4}`, batch: String(id), ...profileTypeLabels(type) },
      timeMs: Date.now(),
      durationNs: 10e9,
      functions: [{ name: 'main' }, { name: `work${id}` }],
      stacks: [[1, 0]],
      samples: [{ stack: 0, value: id + 1 }],
    });
    await a.commit();
    process.stdout.write(`ack ${id}\n`);
  }
}

await Promise.all([worker(), worker(), worker()]);
