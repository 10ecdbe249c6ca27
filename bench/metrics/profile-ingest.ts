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
let load = encodeRequests(series, steps, t0, 15_000, 'low', 2000);
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'heimdall-prof-'));
const h = await InProcessHeimdall.start(dir);
const before = h.stats();
const started = performance.now();
const r = await h.send(load, 4);
load = { bodies: [], shards: [] };
const wall = (performance.now() - started) / 1000;
const after = h.stats();
const samples = series.length * steps;
console.log(`${samples} samples, ${wall.toFixed(2)} s wall, ${(after.cpuSeconds - before.cpuSeconds).toFixed(2)} CPU s, ` +
  `${Math.round(samples / (after.cpuSeconds - before.cpuSeconds))} samples/CPU-s, errors ${r.errors} ${r.firstError ?? ''}`);
global.gc?.();
const mu = process.memoryUsage();
console.log(`memory after ingest: rss ${(mu.rss / 1e6).toFixed(0)} MB, heapUsed ${(mu.heapUsed / 1e6).toFixed(0)} MB, external ${(mu.external / 1e6).toFixed(0)} MB, arrayBuffers ${(mu.arrayBuffers / 1e6).toFixed(0)} MB; engine RSS growth per series ${Math.round(h.stats().rssBytes / series.length)} B`);
for (let i = 0; i < Number(process.argv[4] ?? 1); i++) {
  const s0 = performance.now();
  const querier = await h.db.querier(['anonymous' as never], { startMs: t0 + steps * 15_000 - 3_900_000, endMs: t0 + steps * 15_000 });
  let n = 0;
  for await (const b of querier.select([{ op: '=', name: '__name__', value: 'node_cpu_seconds_total' }, { op: '!=', name: 'mode', value: 'idle' }])) n += b.length;
  console.log(`select only: ${n} series in ${(performance.now() - s0).toFixed(0)} ms`);
  const q = await h.queryRange('sum by (instance) (rate(node_cpu_seconds_total{mode!="idle"}[5m]))', t0 / 1000 + steps * 15 - 3600, t0 / 1000 + steps * 15, 15);
  console.log('query', q);
}
await h.stop();
fs.rmSync(dir, { recursive: true, force: true });
