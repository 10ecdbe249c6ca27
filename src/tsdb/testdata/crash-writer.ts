// Child process of the kill -9 durability test: appends batches forever, printing "ack <batch>" after each
// commit resolves. The parent kills it with SIGKILL at a random point and checks every acked batch survived.
import { metricsConfigSchema } from '../../config/metrics-config.ts';
import type { TenantId } from '../../model/index.ts';
import { Tsdb } from '../index.ts';
import { tsdbConfigOptions } from '../../app/engine-options.ts';

const dir = process.argv[2]!;
const start = Number(process.argv[3] ?? 0);
const db = await Tsdb.open({ dir, ...tsdbConfigOptions(metricsConfigSchema.parse({ limits: { creation_grace_period: '1000d' } }) )});
process.stdout.write('ready\n');
// Bounded: the parent kills us long before this ends.
for (let batch = start; batch < start + 100_000; batch++) {
  const app = db.appender('crash' as TenantId);
  for (let s = 0; s < 50; s++) {
    app.append({ labels: { __name__: 'crash_test', series: String(s) }, samples: [{ timestampMs: batch * 1000, value: batch }] });
  }
  // Concurrent commits exercise group commit.
  const a2 = db.appender('crash' as TenantId);
  a2.append({ labels: { __name__: 'crash_other', b: String(batch % 7) }, samples: [{ timestampMs: batch * 1000, value: batch }] });
  await Promise.all([app.commit(), a2.commit()]);
  process.stdout.write(`ack ${batch}\n`);
}
