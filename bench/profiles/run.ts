// Profile ingest and query benchmark: one command (`npm run bench:profiles`, see bench/README.md).
//
// Pushes a reproducible set of real-shaped pprof profiles (bench/profiles/corpus.ts: fixtures with varied values)
// over Pyroscope's Connect Push to a fresh Heimdall (the real binary, loopback, temp data dir) and, in the same
// run, to a Pyroscope binary given with `--pyroscope PATH`: `--series` series (services × pods) with a CPU and a
// heap profile every 10 s over the last `--hours`, plus one service (`long-svc`, `--long-pods` pods) with CPU
// profiles over the last `--long-hours`. Prints ingest profiles/s and MB/s (also per server CPU-second), RSS,
// disk bytes per profile (after a clean stop), and the latency of SelectMergeStacktraces over 1 h and over 24 h
// of one service, SelectSeries with groupBy, and Diff; ratios Heimdall/Pyroscope when both ran.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import protobuf from 'protobufjs';
import { startHeimdall } from '../../test/e2e/harness.ts';
import { freePort, procStats, stopServer } from '../metrics/servers.ts';
import { allocatedBytes } from '../shared/allocated-bytes.ts';
import { KINDS, ProfileFactory } from './corpus.ts';

const PROTO = path.join(path.dirname(new URL(import.meta.url).pathname), '../../proto/pyroscope/push.proto');
const PushRequest = protobuf.loadSync(PROTO).lookupType('push.v1.PushRequest');
const INTERVAL_MS = 10_000;
const HOUR = 3_600_000;

interface Args {
  series: number;
  hours: number;
  longPods: number;
  longHours: number;
  seriesPerPush: number;
  concurrency: number;
  pyroscope: string | undefined;
}

function parseArgs(argv: string[]): Args {
  const a: Args = { series: 200, hours: 1 / 12, longPods: 1, longHours: 24, seriesPerPush: 25, concurrency: 4, pyroscope: undefined };
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i]!;
    const v = (): number => Number(argv[++i]);
    if (k === '--series') a.series = v();
    else if (k === '--hours') a.hours = v();
    else if (k === '--long-pods') a.longPods = v();
    else if (k === '--long-hours') a.longHours = v();
    else if (k === '--series-per-push') a.seriesPerPush = v();
    else if (k === '--concurrency') a.concurrency = v();
    else if (k === '--quick') Object.assign(a, { series: 20, hours: 0.1, longHours: 2 });
    else if (k === '--pyroscope') a.pyroscope = argv[++i];
    else throw new Error(`unknown argument ${k}: use --series N, --hours H, --long-pods N, --long-hours H, --series-per-push N, --concurrency N, --quick, --pyroscope PATH`);
  }
  return a;
}

/** One series of the load: its labels and which fixtures it sends over which time. */
interface SeriesPlan {
  readonly id: number;
  readonly service: string;
  readonly pod: string;
  readonly kinds: readonly number[];
  readonly startMs: number;
}

interface Plan {
  readonly series: readonly SeriesPlan[];
  readonly endMs: number;
  /** Pushes in time order: each up to `seriesPerPush` (series, interval end) items. */
  readonly pushes: { timeMs: number; series: SeriesPlan }[][];
  readonly profiles: number;
}

function makePlan(a: Args): Plan {
  const endMs = Math.floor(Date.now() / INTERVAL_MS) * INTERVAL_MS - INTERVAL_MS;
  const series: SeriesPlan[] = [];
  const services = Math.max(1, Math.round(a.series / 10));
  for (let i = 0; i < a.series; i++) series.push({ id: i, service: `svc-${i % services}`, pod: `pod-${Math.floor(i / services)}`, kinds: [0, 1], startMs: endMs - a.hours * HOUR });
  for (let p = 0; p < a.longPods; p++) series.push({ id: a.series + p, service: 'long-svc', pod: `pod-${p}`, kinds: [0], startMs: endMs - a.longHours * HOUR });
  const pushes: Plan['pushes'] = [];
  let profiles = 0;
  const earliest = Math.min(...series.map((s) => s.startMs));
  let push: Plan['pushes'][number] = [];
  for (let t = earliest + INTERVAL_MS; t <= endMs; t += INTERVAL_MS) {
    for (const s of series) {
      if (s.startMs >= t) continue;
      push.push({ timeMs: t, series: s });
      profiles += s.kinds.length;
      if (push.length >= a.seriesPerPush) {
        pushes.push(push);
        push = [];
      }
    }
  }
  if (push.length > 0) pushes.push(push);
  return { series, endMs, pushes, profiles };
}

function pushBody(factory: ProfileFactory, push: Plan['pushes'][number]): Buffer {
  const series = push.flatMap(({ timeMs, series: s }) =>
    s.kinds.map((k) => ({
      labels: [
        { name: '__name__', value: KINDS[k]!.name },
        { name: 'service_name', value: s.service },
        { name: 'pod', value: s.pod },
      ],
      samples: [{ rawProfile: factory.make(k, s.id, timeMs - INTERVAL_MS, INTERVAL_MS) }],
    })),
  );
  return Buffer.from(PushRequest.encode(PushRequest.fromObject({ series })).finish());
}

interface Result {
  profilesPerS: number;
  mbPerS: number;
  profilesPerCpuS: number;
  mbPerCpuS: number;
  rssMb: number;
  diskBytesPerProfile: number;
  merge1h: number;
  merge24h: number;
  series: number;
  diff: number;
  answers: string[];
}

async function ingest(base: string, plan: Plan, factory: ProfileFactory, concurrency: number, pid: number): Promise<{ wallS: number; cpuS: number; bytes: number }> {
  const cpu0 = procStats(pid).cpuSeconds;
  const t0 = performance.now();
  let next = 0;
  let bytes = 0;
  const worker = async (): Promise<void> => {
    while (next < plan.pushes.length) {
      const body = pushBody(factory, plan.pushes[next++]!);
      bytes += body.length;
      for (let attempt = 0; ; attempt++) {
        const res = await fetch(`${base}/push.v1.PusherService/Push`, { method: 'POST', headers: { 'content-type': 'application/proto' }, body });
        await res.arrayBuffer();
        if (res.ok) break;
        if ((res.status !== 429 && res.status !== 503) || attempt > 100) throw new Error(`push answered ${res.status}`);
        await new Promise((r) => setTimeout(r, 200));
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return { wallS: (performance.now() - t0) / 1000, cpuS: procStats(pid).cpuSeconds - cpu0, bytes };
}

/** Median wall time (ms) of three runs of a Connect JSON query, and a summary of its answer. */
async function timeQuery(base: string, method: string, body: object, summary: (json: Record<string, unknown>) => string): Promise<{ ms: number; answer: string }> {
  const times: number[] = [];
  let answer = '';
  for (let i = 0; i < 3; i++) {
    const t0 = performance.now();
    const res = await fetch(`${base}/querier.v1.QuerierService/${method}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    const json = (await res.json()) as Record<string, unknown>;
    times.push(performance.now() - t0);
    answer = res.ok ? summary(json) : `HTTP ${res.status} ${JSON.stringify(json).slice(0, 200)}`;
  }
  return { ms: times.sort((a, b) => a - b)[1]!, answer };
}

async function queries(base: string, plan: Plan): Promise<Pick<Result, 'merge1h' | 'merge24h' | 'series' | 'diff' | 'answers'>> {
  const cpu = KINDS[0].cpuType;
  const end = plan.endMs;
  const total = (j: Record<string, unknown>): string => `total ${String((j.flamegraph as { total?: string } | undefined)?.total ?? 0)}`;
  const m1 = await timeQuery(base, 'SelectMergeStacktraces', { profileTypeID: cpu, labelSelector: '{service_name="svc-0"}', start: end - HOUR, end, maxNodes: 16384 }, total);
  const m24 = await timeQuery(base, 'SelectMergeStacktraces', { profileTypeID: cpu, labelSelector: '{service_name="long-svc"}', start: end - 24 * HOUR, end, maxNodes: 16384 }, total);
  const s = await timeQuery(base, 'SelectSeries', { profileTypeID: cpu, labelSelector: '{}', start: end - HOUR, end, step: 60, groupBy: ['service_name'] }, (j) => `${(j.series as unknown[] | undefined)?.length ?? 0} series`);
  const half = (start: number, stop: number): object => ({ profileTypeID: cpu, labelSelector: '{service_name="svc-0"}', start, end: stop, maxNodes: 16384 });
  const d = await timeQuery(base, 'Diff', { left: half(end - HOUR, end - HOUR / 2), right: half(end - HOUR / 2, end) }, total);
  return { merge1h: m1.ms, merge24h: m24.ms, series: s.ms, diff: d.ms, answers: [m1.answer, m24.answer, s.answer, d.answer] };
}

function ingestResult(plan: Plan, r: { wallS: number; cpuS: number; bytes: number }, pid: number): Pick<Result, 'profilesPerS' | 'mbPerS' | 'profilesPerCpuS' | 'mbPerCpuS' | 'rssMb'> {
  return {
    profilesPerS: plan.profiles / r.wallS,
    mbPerS: r.bytes / 1e6 / r.wallS,
    profilesPerCpuS: plan.profiles / r.cpuS,
    mbPerCpuS: r.bytes / 1e6 / r.cpuS,
    rssMb: procStats(pid).rssBytes / 1e6,
  };
}

async function runHeimdall(plan: Plan, a: Args, work: string): Promise<Result> {
  const dataDir = path.join(work, 'heimdall-data');
  fs.mkdirSync(dataDir);
  // The load sends far beyond the default per-tenant ingestion rate (Pyroscope has none by default).
  const h = await startHeimdall({ dataDir, timeoutMs: 120_000, config: { profiles: { limits: { ingestion_rate_limit_bytes: 0, ingestion_burst_size_bytes: 0 }, store: { cut_delay: '1s' } } } });
  const pid = h.child.pid!;
  try {
    const r = await ingest(h.httpUrl, plan, new ProfileFactory(42), a.concurrency, pid);
    const result = ingestResult(plan, r, pid);
    // Past windows are cut into blocks in the background (cut_delay 1 s): let the cuts run before querying.
    await new Promise((res) => setTimeout(res, 15_000));
    const q = await queries(`${h.httpUrl}/pyroscope`, plan);
    await h.stop({ keepData: true });
    return { ...result, ...q, diskBytesPerProfile: allocatedBytes(path.join(dataDir, 'profiles')) / plan.profiles };
  } finally {
    if (h.child.exitCode === null && h.child.signalCode === null) await h.stop({ keepData: true });
  }
}

async function runPyroscope(bin: string, plan: Plan, a: Args, work: string): Promise<Result> {
  const data = path.join(work, 'pyroscope-data');
  fs.mkdirSync(data);
  const port = await freePort();
  const log = fs.openSync(path.join(work, 'pyroscope.log'), 'w');
  const child = spawn(bin, ['-target=all', `-server.http-listen-port=${port}`, '-server.grpc-listen-port=0', '-storage.backend=filesystem', `-storage.filesystem.dir=${data}`, `-pyroscopedb.data-path=${data}/db`], {
    stdio: ['ignore', log, log],
  });
  const base = `http://127.0.0.1:${port}`;
  try {
    for (let i = 0; ; i++) {
      const ok = await fetch(`${base}/ready`).then((r) => r.ok, () => false);
      if (ok) break;
      if (i > 600) throw new Error('pyroscope did not become ready (see pyroscope.log)');
      await new Promise((r) => setTimeout(r, 200));
    }
    const r = await ingest(base, plan, new ProfileFactory(42), a.concurrency, child.pid!);
    const result = ingestResult(plan, r, child.pid!);
    await new Promise((res) => setTimeout(res, 15_000));
    const q = await queries(base, plan);
    await stopServer({ child });
    return { ...result, ...q, diskBytesPerProfile: allocatedBytes(data) / plan.profiles };
  } finally {
    if (child.exitCode === null && child.signalCode === null) await stopServer({ child });
  }
}

function printTable(results: Map<string, Result>): void {
  const names = [...results.keys()];
  const rows: [string, keyof Result, number][] = [
    ['ingest profiles/s', 'profilesPerS', 0],
    ['ingest MB/s (pprof, gzip)', 'mbPerS', 2],
    ['profiles per server CPU-second', 'profilesPerCpuS', 0],
    ['MB per server CPU-second', 'mbPerCpuS', 2],
    ['RSS after ingest (MB)', 'rssMb', 0],
    ['disk bytes per profile', 'diskBytesPerProfile', 0],
    ['SelectMergeStacktraces 1 h, one service (ms)', 'merge1h', 0],
    ['SelectMergeStacktraces 24 h, one service (ms)', 'merge24h', 0],
    ['SelectSeries 1 h groupBy service_name (ms)', 'series', 0],
    ['Diff 30 m vs 30 m (ms)', 'diff', 0],
  ];
  const heimdall = results.get('Heimdall')!;
  const peer = results.get('Pyroscope');
  console.log(`\n| metric | ${names.join(' | ')}${peer ? ' | Heimdall/Pyroscope' : ''} |`);
  console.log(`|---|${names.map(() => '---:').join('|')}|${peer ? '---:|' : ''}`);
  for (const [label, key, digits] of rows) {
    const values = names.map((n) => (results.get(n)![key] as number).toFixed(digits));
    const ratio = peer ? ` | ${((heimdall[key] as number) / (peer[key] as number)).toFixed(2)}` : '';
    console.log(`| ${label} | ${values.join(' | ')}${ratio} |`);
  }
  console.log('\nanswers (merge 1 h, merge 24 h, series, diff):');
  for (const n of names) console.log(`  ${n}: ${results.get(n)!.answers.join('; ')}`);
}

async function main(): Promise<void> {
  const a = parseArgs(process.argv.slice(2));
  const plan = makePlan(a);
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'heimdall-bench-profiles-'));
  console.log(
    `load: ${a.series} series × ${a.hours} h (CPU + heap every 10 s) + long-svc ${a.longPods} pod(s) × ${a.longHours} h (CPU): ` +
      `${plan.profiles} pprof profiles in ${plan.pushes.length} pushes of up to ${a.seriesPerPush} series × interval, ${a.concurrency} senders`,
  );
  console.log(`machine: ${os.cpus().length} cores, load ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}`);
  const results = new Map<string, Result>();
  try {
    results.set('Heimdall', await runHeimdall(plan, a, work));
    if (a.pyroscope) results.set('Pyroscope', await runPyroscope(a.pyroscope, plan, a, work));
    else console.log('Pyroscope: not run (no --pyroscope PATH given)');
    printTable(results);
    console.log(`\nload after: ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}`);
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}

await main();
