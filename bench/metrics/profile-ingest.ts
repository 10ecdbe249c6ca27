// Profiles Heimdall's ingest path in-process (decode + append + commit), e.g.
//   node --import tsx --cpu-prof --cpu-prof-dir=/tmp/prof bench/metrics/profile-ingest.ts [targets] [steps]
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { InProcessHeimdall } from './in-process.ts';
import { encodeRequests, makeSeries } from './load.ts';

const targets = Number(process.argv[2] ?? 100);
const steps = Number(process.argv[3] ?? 120);
const series = makeSeries(0, targets);
const t0 = Math.floor(Date.now() / 15_000) * 15_000 - steps * 15_000;
const load = encodeRequests(series, steps, t0, 15_000, 'low', 2000);
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'heimdall-prof-'));
const h = await InProcessHeimdall.start(dir);
const before = h.stats();
const started = performance.now();
const r = await h.send(load, 4);
const wall = (performance.now() - started) / 1000;
const after = h.stats();
const samples = series.length * steps;
console.log(`${samples} samples, ${wall.toFixed(2)} s wall, ${(after.cpuSeconds - before.cpuSeconds).toFixed(2)} CPU s, ` +
  `${Math.round(samples / (after.cpuSeconds - before.cpuSeconds))} samples/CPU-s, errors ${r.errors} ${r.firstError ?? ''}`);
for (let i = 0; i < Number(process.argv[4] ?? 1); i++) {
  const q = await h.queryRange('sum by (instance) (rate(node_cpu_seconds_total{mode!="idle"}[5m]))', t0 / 1000 + steps * 15 - 3600, t0 / 1000 + steps * 15, 15);
  console.log('query', q);
}
await h.stop();
fs.rmSync(dir, { recursive: true, force: true });
