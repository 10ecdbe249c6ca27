// Profiles Heimdall's PromQL range queries in process: ingests the metrics bench's low-entropy corpus into a
// Tsdb here, then runs each bench query through the engine the query workers run (evaluation + Prometheus
// JSON encoding) and prints CPU ms and GC ms per query (medians). The machine is shared, so CPU time, not wall
// time, is the measure. With `--prof DIR` the query phase alone is CPU-profiled (one .cpuprofile per query);
// with `--heap DIR` its allocations are sampled, collected ones included (one .heapprofile per query, for
// "where does the GC time come from"; bench/shared/cpuprofile-summary.ts sums either kind).
//   node --import tsx --expose-gc bench/metrics/profile-queries.ts [--quick] [--runs N] [--only name,name] [--prof DIR] [--heap DIR] [--data DIR]
import fs from 'node:fs';
import { Session } from 'node:inspector/promises';
import os from 'node:os';
import path from 'node:path';
import { PerformanceObserver } from 'node:perf_hooks';
import { PromqlEngine } from '../../src/promql/index.ts';
import { InProcessMetricQueryEngine } from '../../src/query/in-process-engines.ts';
import type { TenantId } from '../../src/model/index.ts';
import { InProcessHeimdall } from './in-process.ts';
import { encodeRequests, makeSeries } from './load.ts';
import { QUERIES } from './queries.ts';

const STEP_MS = 15_000;
const args = process.argv.slice(2);
const flag = (name: string): string | undefined => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const quick = args.includes('--quick');
const targets = quick ? 20 : 100;
const steps = quick ? 60 : 360;
const churnTargets = quick ? 100 : 2000;
const churnSteps = quick ? 5 : 10;
const runs = Number(flag('--runs') ?? 5);
const only = flag('--only')?.split(',');
const profDir = flag('--prof');
const heapDir = flag('--heap');

// `--data DIR` keeps the ingested corpus for the next run (its end time is stored beside it), which then
// reopens it instead of ingesting again.
const keep = flag('--data');
const dir = keep ?? fs.mkdtempSync(path.join(os.tmpdir(), 'heimdall-prof-queries-'));
const endFile = path.join(dir, 'bench-end-ms');
const reuse = keep !== undefined && fs.existsSync(endFile);
const t0 = reuse ? Number(fs.readFileSync(endFile, 'utf8')) : Math.floor(Date.now() / STEP_MS) * STEP_MS - 60_000;
const h = await InProcessHeimdall.start(dir);
if (!reuse) {
  for (const [first, count, n] of [[0, targets, steps], [targets, churnTargets, churnSteps]] as const) {
    const load = encodeRequests(makeSeries(first, count), n, t0 - (n - 1) * STEP_MS, STEP_MS, 'low', 2000);
    const r = await h.send(load, 4);
    if (r.errors > 0) throw new Error(`ingest failed: ${r.firstError}`);
  }
  if (keep) fs.writeFileSync(endFile, String(t0));
  console.log(`ingested ${targets * 100} series × ${steps} + ${churnTargets * 100} × ${churnSteps} samples`);
} else {
  console.log(`reopened ${dir}`);
}
global.gc?.();

let gcMs = 0;
const obs = new PerformanceObserver((list) => {
  for (const e of list.getEntries()) gcMs += e.duration;
});
obs.observe({ entryTypes: ['gc'] });

const engine = new InProcessMetricQueryEngine(new PromqlEngine({}));
const endMs = t0;
const session = new Session();
session.connect();
if (profDir) {
  fs.mkdirSync(profDir, { recursive: true });
  await session.post('Profiler.enable');
  await session.post('Profiler.setSamplingInterval', { interval: 200 });
}
if (heapDir) {
  fs.mkdirSync(heapDir, { recursive: true });
  await session.post('HeapProfiler.enable');
}
const cpuMs = (): number => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};
/** GC entries reach observers on a later turn of the event loop. */
const settle = (): Promise<void> => new Promise((r) => setTimeout(r, 20));
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const rows: string[] = [];
for (const [name, query] of Object.entries(QUERIES)) {
  if (only && !only.includes(name)) continue;
  const q = { query, startMs: endMs - 3_600_000, endMs, stepMs: STEP_MS };
  const tenants = ['anonymous' as TenantId];
  const warm = await engine.range(h.db, tenants, q);
  const cpu: number[] = [];
  const gc: number[] = [];
  const wall: number[] = [];
  if (profDir) await session.post('Profiler.start');
  if (heapDir) {
    await session.post('HeapProfiler.startSampling', {
      samplingInterval: 32_768,
      includeObjectsCollectedByMajorGC: true,
      includeObjectsCollectedByMinorGC: true,
    });
  }
  for (let i = 0; i < runs; i++) {
    await settle(); // let the observer report the previous run's GCs
    const g0 = gcMs;
    const c0 = cpuMs();
    const w0 = performance.now();
    await engine.range(h.db, tenants, q);
    wall.push(performance.now() - w0);
    cpu.push(cpuMs() - c0);
    await settle();
    gc.push(gcMs - g0);
  }
  if (profDir) {
    const { profile } = await session.post('Profiler.stop');
    fs.writeFileSync(path.join(profDir, `${name.replace(/\W+/g, '_')}.cpuprofile`), JSON.stringify(profile));
  }
  if (heapDir) {
    const { profile } = await session.post('HeapProfiler.stopSampling');
    fs.writeFileSync(path.join(heapDir, `${name.replace(/\W+/g, '_')}.heapprofile`), JSON.stringify(profile));
  }
  rows.push(`| ${name.padEnd(18)} | ${median(cpu).toFixed(0).padStart(6)} | ${median(gc).toFixed(0).padStart(5)} | ${median(wall).toFixed(0).padStart(6)} | ${(warm.dataJson.length / 1e6).toFixed(2).padStart(6)} |`);
}
obs.disconnect();
session.disconnect();
console.log(`| query              | CPU ms | GC ms | wall ms | JSON MB |  (medians of ${runs}; load ${os.loadavg()[0]!.toFixed(1)})`);
for (const r of rows) console.log(r);
await h.stop();
if (!keep) fs.rmSync(dir, { recursive: true, force: true });
