// Metrics benchmark: Heimdall beside Prometheus and VictoriaMetrics under the same remote_write load.
// Usage: npm run bench:metrics [-- --quick] [-- --servers heimdall,prometheus,prometheus3,victoria] [-- --heimdall inprocess]
//   [-- --cpu-prof DIR]  (node --cpu-prof for the Heimdall server: one profile per thread, query workers included)
// See bench/README.md. Bounded: fixed request counts, every server stopped by PID.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { encodeRequests, makeSeries } from './load.ts';
import type { EncodedLoad, Entropy } from './load.ts';
import { dirBytes, httpRequest, procStats, startHeimdall, startPrometheus, startVictoria, stopServer } from './servers.ts';
import type { Server } from './servers.ts';
import { InProcessHeimdall } from './in-process.ts';
import { QUERIES } from './queries.ts';
import { tsdbConfigOptions } from '../../src/app/engine-options.ts';
import { findGoTool } from '../../test/e2e/go-tools.ts';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const STEP_MS = 15_000;

interface Options {
  servers: string[];
  targets: number;
  steps: number;
  churnTargets: number;
  churnSteps: number;
  perRequest: number;
  concurrency: number;
  queryRuns: number;
  heimdallMode: 'server' | 'inprocess';
  high: boolean;
  /** Directory for `node --cpu-prof` profiles of the Heimdall server (every thread). */
  cpuProf: string | undefined;
}

function parseArgs(argv: string[]): Options {
  const o: Options = {
    // Prometheus 3 (a second peer) only when its binary is at hand: $(go env GOPATH)/bin, where `go install` puts it.
    servers: prometheus3Binary() ? ['heimdall', 'prometheus', 'prometheus3', 'victoria'] : ['heimdall', 'prometheus', 'victoria'],
    targets: 100,
    steps: 360,
    churnTargets: 2000,
    churnSteps: 10,
    perRequest: 2000,
    concurrency: 4,
    queryRuns: 5,
    heimdallMode: 'server',
    high: true,
    cpuProf: undefined,
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const next = (): string => argv[++i] ?? '';
    if (a === '--quick') Object.assign(o, { targets: 20, steps: 60, churnTargets: 100, churnSteps: 5, queryRuns: 2 });
    else if (a === '--servers') o.servers = next().split(',');
    else if (a === '--heimdall') o.heimdallMode = next() === 'inprocess' ? 'inprocess' : 'server';
    else if (a === '--no-high') o.high = false;
    else if (a === '--cpu-prof') o.cpuProf = path.resolve(next());
    else if (a === '--targets') o.targets = Number(next());
    else if (a === '--steps') o.steps = Number(next());
    else if (a === '--churn-targets') o.churnTargets = Number(next());
    else if (a === '--concurrency') o.concurrency = Number(next());
    else throw new Error(`unknown argument ${a}`);
  }
  return o;
}

/**
 * A Prometheus 3.x binary (Debian ships 2.x), in `$(go env GOPATH)/bin` or PATH, or undefined. A `go install`
 * build prints no version number, so 3.x is told by a flag 2.x lacks (`--web.enable-otlp-receiver`, 3.0).
 */
function prometheus3Binary(): string | undefined {
  return findGoTool('prometheus', (file) => {
    try {
      return execFileSync(file, ['--help'], { encoding: 'utf8', timeout: 20_000, stdio: ['ignore', 'pipe', 'pipe'] }).includes('web.enable-otlp-receiver');
    } catch (err) {
      // Prometheus prints its usage on stderr.
      const e = err as { stdout?: string; stderr?: string };
      return `${e.stdout ?? ''}${e.stderr ?? ''}`.includes('web.enable-otlp-receiver');
    }
  });
}

/** Installs a Debian package if its binary is missing. */
function ensurePackage(pkg: string, binary: string): void {
  try {
    execFileSync('which', [binary], { stdio: 'ignore' });
    return;
  } catch {
    // missing
  }
  const policy = execFileSync('apt-cache', ['policy', pkg]).toString();
  if (!/Candidate: (?!\(none\))/.test(policy)) throw new Error(`${pkg} is not installable here:\n${policy}`);
  console.log(`installing ${pkg} ...`);
  execFileSync('apt-get', ['install', '-y', pkg], { stdio: 'inherit', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
}

/** What a target answers to: a real server over HTTP, or Heimdall's engine in this process. */
interface Target {
  readonly name: string;
  /** Sends every body; sender `w` of `concurrency` sends the bodies of shards `≡ w (mod concurrency)` in order. */
  send(load: EncodedLoad, concurrency: number): Promise<{ errors: number; firstError?: string }>;
  stats(): { cpuSeconds: number; rssBytes: number };
  queryRange(q: string, startS: number, endS: number, stepS: number): Promise<{ ms: number; series: number; error?: string }>;
  /** Forces compaction and returns bytes on disk. */
  compactedBytes(): Promise<number>;
  stop(): Promise<void>;
}

class HttpTarget implements Target {
  private readonly agent = new http.Agent({ keepAlive: true, maxSockets: 16 });
  constructor(readonly server: Server) {}
  get name(): string {
    return this.server.name;
  }

  async send(load: EncodedLoad, concurrency: number): Promise<{ errors: number; firstError?: string }> {
    let errors = 0;
    let firstError: string | undefined;
    const worker = async (w: number): Promise<void> => {
      for (let i = 0; i < load.bodies.length; i++) {
        if (load.shards[i]! % concurrency !== w) continue;
        const body = load.bodies[i]!;
        // Retry 429/5xx like a remote_write sender, bounded.
        for (let attempt = 0; attempt < 5; attempt++) {
          const r = await httpRequest(this.server.baseUrl + this.server.writePath, {
            method: 'POST',
            body,
            agent: this.agent,
            headers: {
              'Content-Type': 'application/x-protobuf',
              'Content-Encoding': 'snappy',
              'X-Prometheus-Remote-Write-Version': '0.1.0',
            },
          });
          if (r.status >= 200 && r.status < 300) break;
          if (r.status === 429 || r.status >= 500) {
            await new Promise((res) => setTimeout(res, 200 * (attempt + 1)));
            continue;
          }
          errors++;
          firstError ??= `${r.status} ${r.body.slice(0, 300)}`;
          break;
        }
      }
    };
    await Promise.all(Array.from({ length: concurrency }, (_, w) => worker(w)));
    return firstError === undefined ? { errors } : { errors, firstError };
  }

  stats(): { cpuSeconds: number; rssBytes: number } {
    return procStats(this.server.child.pid!);
  }

  async queryRange(q: string, startS: number, endS: number, stepS: number): Promise<{ ms: number; series: number; error?: string }> {
    const url = `${this.server.baseUrl}${this.server.queryPrefix}/api/v1/query_range?query=${encodeURIComponent(q)}&start=${startS}&end=${endS}&step=${stepS}${this.server.queryExtra}`;
    const t0 = performance.now();
    const r = await httpRequest(url, { agent: this.agent });
    const ms = performance.now() - t0;
    if (r.status !== 200) return { ms, series: 0, error: `${r.status} ${r.body.slice(0, 200)}` };
    const parsed = JSON.parse(r.body) as { data?: { result?: unknown[] } };
    return { ms, series: parsed.data?.result?.length ?? 0 };
  }

  async compactedBytes(): Promise<number> {
    const s = this.server;
    if (s.name === 'prometheus') {
      // A snapshot writes the head as a block exactly as compaction would (chunks + index).
      const r = await httpRequest(`${s.baseUrl}/api/v1/admin/tsdb/snapshot?skip_head=false`, { method: 'POST' });
      const name = (JSON.parse(r.body) as { data: { name: string } }).data.name;
      return dirBytes(path.join(s.dataDir, 'snapshots', name));
    }
    if (s.name === 'victoria-metrics') {
      await httpRequest(`${s.baseUrl}/internal/force_flush`);
      const month = new Date().toISOString().slice(0, 7).replace('-', '_');
      await httpRequest(`${s.baseUrl}/internal/force_merge?partition_prefix=${month}`);
      // force_merge runs in the background: wait until the size settles (bounded).
      let last = -1;
      for (let i = 0; i < 60; i++) {
        await new Promise((res) => setTimeout(res, 1000));
        const now = dirBytes(s.dataDir, ['cache', 'snapshots', 'tmp', 'flock.lock']);
        if (now === last) break;
        last = now;
      }
      return last;
    }
    // Heimdall: stop the server, then compact its data directory in this process (flush + merge).
    await stopServer(s);
    const { Tsdb } = await import('../../src/tsdb/index.ts');
    const { metricsConfigSchema } = await import('../../src/config/metrics-config.ts');
    const db = await Tsdb.open({ dir: path.join(s.dataDir, 'metrics'), ...tsdbConfigOptions(metricsConfigSchema.parse({})), maintenanceIntervalMs: 0 });
    await db.flush();
    await db.compact();
    await db.close();
    return dirBytes(path.join(s.dataDir, 'metrics'), ['tmp']);
  }

  async stop(): Promise<void> {
    this.agent.destroy();
    await stopServer(this.server);
  }
}

/** Heimdall's own view of its memory (heap vs off-heap), from its self-metrics, to explain RSS. */
async function heimdallMemory(s: Server): Promise<string> {
  try {
    const r = await httpRequest(`${s.baseUrl}/metrics`);
    const pick = (name: string): string => {
      const m = new RegExp(`^${name}(?:\\{[^}]*\\})? ([0-9.e+]+)$`, 'm').exec(r.body);
      return m ? `${(Number(m[1]) / 1e6).toFixed(0)} MB` : 'n/a';
    };
    const smaps = fs.readFileSync(`/proc/${s.child.pid}/smaps_rollup`, 'utf8');
    const anon = /Anonymous:\s+(\d+)/.exec(smaps)?.[1];
    return `memory after ingest: RSS ${pick('process_resident_memory_bytes')}, V8 heap used ${pick('nodejs_heap_size_used_bytes')} ` +
      `of ${pick('nodejs_heap_size_total_bytes')}, external ${pick('nodejs_external_memory_bytes')}, anonymous ${anon ? `${(Number(anon) / 1e3).toFixed(0)} MB` : 'n/a'}`;
  } catch (err) {
    return `memory breakdown unavailable: ${(err as Error).message}`;
  }
}

async function startTarget(kind: string, workDir: string, opts: Options): Promise<Target> {
  switch (kind) {
    case 'prometheus':
      // Debian's 2.x from PATH, not the 3.x that `go install` may have put first in PATH.
      return new HttpTarget(await startPrometheus(workDir, { binary: '/usr/bin/prometheus' }));
    case 'prometheus3': {
      const binary = prometheus3Binary();
      if (!binary) throw new Error('no Prometheus 3.x binary in $(go env GOPATH)/bin or PATH');
      return new HttpTarget(await startPrometheus(workDir, { binary }));
    }
    case 'victoria':
      return new HttpTarget(await startVictoria(workDir));
    case 'heimdall':
      if (opts.heimdallMode === 'inprocess') return InProcessHeimdall.start(path.join(workDir, 'heimdall-inprocess'));
      return new HttpTarget(await startHeimdall(workDir, REPO, undefined, opts.cpuProf ? ['--cpu-prof', `--cpu-prof-dir=${opts.cpuProf}`] : []));
    default:
      throw new Error(`unknown server ${kind}`);
  }
}

interface Result {
  samplesPerSec?: number;
  samplesPerCpuSec?: number;
  rssPerSeries?: number;
  bytesPerSampleLow?: number;
  bytesPerSampleHigh?: number;
  queries: Record<string, { ms: number; series: number; error?: string }>;
  notes: string[];
}


function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

async function main(): Promise<void> {
  const opts = parseArgs(process.argv.slice(2));
  if (opts.servers.includes('prometheus')) ensurePackage('prometheus', 'prometheus');
  if (opts.servers.includes('victoria')) ensurePackage('victoria-metrics', 'victoria-metrics');
  const workRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'heimdall-bench-metrics-'));
  const t0 = Math.floor(Date.now() / STEP_MS) * STEP_MS - 60_000;
  const phase1Start = t0 - (opts.steps - 1) * STEP_MS;
  const phase2Start = t0 - (opts.churnSteps - 1) * STEP_MS;
  const base = makeSeries(0, opts.targets);
  const churn = makeSeries(opts.targets, opts.churnTargets);
  const activeSeries = base.length + churn.length;
  const samples1 = base.length * opts.steps;
  const samples2 = churn.length * opts.churnSteps;
  console.log(`load: ${base.length} series × ${opts.steps} samples, then ${churn.length} new series × ${opts.churnSteps} samples; ${opts.perRequest} series per request, ${opts.concurrency} concurrent senders; work dir ${workRoot}`);

  const encode = (entropy: Entropy, withChurn: boolean): { p1: EncodedLoad; p2: EncodedLoad } => {
    const started = performance.now();
    const p1 = encodeRequests(base, opts.steps, phase1Start, STEP_MS, entropy, opts.perRequest);
    const p2 = withChurn ? encodeRequests(churn, opts.churnSteps, phase2Start, STEP_MS, entropy, opts.perRequest) : { bodies: [], shards: [] };
    const bytes = [...p1.bodies, ...p2.bodies].reduce((n, b) => n + b.length, 0);
    console.log(`encoded ${entropy}-entropy load: ${p1.bodies.length + p2.bodies.length} requests, ${(bytes / 1e6).toFixed(1)} MB snappy, ${((performance.now() - started) / 1000).toFixed(1)} s`);
    return { p1, p2 };
  };

  const results: Record<string, Result> = {};
  let load: { p1: EncodedLoad; p2: EncodedLoad } | undefined = encode('low', true);
  for (const kind of opts.servers) {
    const r: Result = { queries: {}, notes: [] };
    results[kind] = r;
    const workDir = path.join(workRoot, `${kind}-low`);
    fs.mkdirSync(workDir, { recursive: true });
    let target: Target;
    try {
      target = await startTarget(kind, workDir, opts);
    } catch (err) {
      r.notes.push(`could not start: ${(err as Error).message}`);
      console.log(`${kind}: could not start: ${(err as Error).message}`);
      continue;
    }
    try {
      console.log(`${target.name}: ingesting ...`);
      const before = target.stats();
      const started = performance.now();
      const s1 = await target.send(load.p1, opts.concurrency);
      const s2 = await target.send(load.p2, opts.concurrency);
      const wallS = (performance.now() - started) / 1000;
      const after = target.stats();
      const errors = s1.errors + s2.errors;
      if (errors > 0) r.notes.push(`${errors} write requests failed: ${s1.firstError ?? s2.firstError}`);
      const cpu = after.cpuSeconds - before.cpuSeconds;
      r.samplesPerSec = (samples1 + samples2) / wallS;
      r.samplesPerCpuSec = (samples1 + samples2) / cpu;
      console.log(`${target.name}: ${samples1 + samples2} samples in ${wallS.toFixed(1)} s wall, ${cpu.toFixed(1)} CPU s`);
      await new Promise((res) => setTimeout(res, 3000));
      r.rssPerSeries = target.stats().rssBytes / activeSeries;
      if (target instanceof HttpTarget && kind === 'heimdall') r.notes.push(await heimdallMemory(target.server));
      const endS = t0 / 1000;
      for (const [name, q] of Object.entries(QUERIES)) {
        await target.queryRange(q, endS - 3600, endS, 15); // warm-up
        const runs: { ms: number; series: number; error?: string }[] = [];
        for (let i = 0; i < opts.queryRuns; i++) runs.push(await target.queryRange(q, endS - 3600, endS, 15));
        const err = runs.find((x) => x.error)?.error;
        r.queries[name] = { ms: median(runs.map((x) => x.ms)), series: runs[0]!.series, ...(err ? { error: err } : {}) };
      }
      const bytes = await target.compactedBytes();
      r.bytesPerSampleLow = bytes / (samples1 + samples2);
    } catch (err) {
      r.notes.push(`failed: ${(err as Error).stack ?? String(err)}`);
      console.log(`${kind}: failed: ${(err as Error).stack ?? String(err)}`);
    } finally {
      await target.stop();
    }
  }
  load = undefined;

  if (opts.high) {
    const high = encode('high', false);
    for (const kind of opts.servers) {
      const r = results[kind]!;
      const workDir = path.join(workRoot, `${kind}-high`);
      fs.mkdirSync(workDir, { recursive: true });
      let target: Target;
      try {
        target = await startTarget(kind, workDir, opts);
      } catch (err) {
        r.notes.push(`high-entropy run could not start: ${(err as Error).message}`);
        continue;
      }
      try {
        const s = await target.send(high.p1, opts.concurrency);
        if (s.errors > 0) r.notes.push(`high-entropy: ${s.errors} write requests failed: ${s.firstError}`);
        r.bytesPerSampleHigh = (await target.compactedBytes()) / samples1;
      } catch (err) {
        r.notes.push(`high-entropy run failed: ${(err as Error).message}`);
      } finally {
        await target.stop();
      }
    }
  }

  printTable(results, opts);
  fs.rmSync(workRoot, { recursive: true, force: true });
}

function fmt(v: number | undefined, digits = 0): string {
  if (v === undefined || !Number.isFinite(v)) return 'n/a';
  return v >= 100 ? Math.round(v).toLocaleString('en-US') : v.toFixed(digits || 2);
}

function ratio(a: number | undefined, b: number | undefined): string {
  if (a === undefined || b === undefined || !Number.isFinite(a) || !Number.isFinite(b) || b === 0) return 'n/a';
  return `${(a / b).toFixed(2)}×`;
}

function printTable(results: Record<string, Result>, opts: Options): void {
  const h = results['heimdall'];
  const rows: [string, (r: Result | undefined) => number | undefined, string][] = [
    ['samples/s (higher is better)', (r) => r?.samplesPerSec, 'hi'],
    ['samples per server CPU-second (higher)', (r) => r?.samplesPerCpuSec, 'hi'],
    ['RSS bytes per active series (lower)', (r) => r?.rssPerSeries, 'lo'],
    ['disk bytes/sample, low entropy (lower)', (r) => r?.bytesPerSampleLow, 'lo'],
    ['disk bytes/sample, high entropy (lower)', (r) => r?.bytesPerSampleHigh, 'lo'],
  ];
  for (const name of Object.keys(QUERIES)) rows.push([`query ms: ${name} (lower)`, (r) => r?.queries[name]?.ms, 'lo']);
  // One value column and one ratio column per peer that ran.
  const peers: [string, string][] = [['prometheus', 'Prometheus 2'], ['prometheus3', 'Prometheus 3'], ['victoria', 'VictoriaMetrics']];
  const ran = peers.filter(([kind]) => results[kind] !== undefined);
  const header = ['metric', 'Heimdall', ...ran.map(([, label]) => label), ...ran.map(([, label]) => `Heimdall/${label}`)];
  const lines = [
    header,
    ...rows.map(([label, get]) => [
      label,
      fmt(get(h)),
      ...ran.map(([kind]) => fmt(get(results[kind]))),
      ...ran.map(([kind]) => ratio(get(h), get(results[kind]))),
    ]),
  ];
  const widths = header.map((_, i) => Math.max(...lines.map((l) => l[i]!.length)));
  console.log('');
  console.log(`Heimdall mode: ${opts.heimdallMode}`);
  for (const [i, l] of lines.entries()) {
    console.log(`| ${l.map((c, j) => c.padEnd(widths[j]!)).join(' | ')} |`);
    if (i === 0) console.log(`|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`);
  }
  console.log('');
  for (const [name, r] of Object.entries(results)) {
    const qs = Object.entries(r.queries).map(([q, x]) => `${q}: ${x.series} series${x.error ? ` ERROR ${x.error}` : ''}`).join('; ');
    if (qs) console.log(`${name} query results: ${qs}`);
    for (const n of r.notes) console.log(`${name}: ${n}`);
  }
}

await main();
