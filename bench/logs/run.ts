// Log ingest and query benchmark: one command (`npm run bench:logs`, see bench/README.md).
//
// Generates a reproducible corpus (bench/logs/corpus.ts), starts a fresh Heimdall on loopback, pushes the
// corpus through the Loki push API (protobuf, snappy) with a few concurrent senders, and prints ingest
// MB/s and lines/s (also per server CPU-second, from /proc/PID/stat), disk bytes against raw bytes once
// compaction settled, and the latency of five queries over the whole corpus through the Loki HTTP API.
// A peer (VictoriaLogs) is run on the same corpus when its binary is found (`--victorialogs PATH` or
// `victoria-logs` on PATH); it could not be installed on this machine (see bench/README.md).
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startHeimdall } from '../../test/e2e/harness.ts';
import { NEEDLE, RARE_REGEX, generateCorpus } from './corpus.ts';
import type { Corpus } from './corpus.ts';

interface Args {
  sizeMb: number;
  streams: number;
  concurrency: number;
  batchKb: number;
  keep: boolean;
  victorialogs: string | undefined;
  settleTimeoutS: number;
}

function parseArgs(argv: string[]): Args {
  const a: Args = { sizeMb: 1024, streams: 5000, concurrency: 4, batchKb: 1024, keep: false, victorialogs: undefined, settleTimeoutS: 240 };
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i]!;
    const v = (): string => {
      const x = argv[++i];
      if (x === undefined) throw new Error(`${k} needs a value`);
      return x;
    };
    if (k === '--quick') a.sizeMb = 64;
    else if (k === '--size-mb') a.sizeMb = Number(v());
    else if (k === '--streams') a.streams = Number(v());
    else if (k === '--concurrency') a.concurrency = Number(v());
    else if (k === '--batch-kb') a.batchKb = Number(v());
    else if (k === '--keep') a.keep = true;
    else if (k === '--victorialogs') a.victorialogs = v();
    else if (k === '--settle-timeout') a.settleTimeoutS = Number(v());
    else throw new Error(`unknown argument ${k}: use --quick, --size-mb N, --streams N, --concurrency N, --batch-kb N, --keep, --victorialogs PATH`);
  }
  return a;
}

/** utime + stime of a process (all threads), in seconds. */
function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = 100; // USER_HZ on Linux
  return (Number(fields[11]) + Number(fields[12])) / ticks;
}

function rssBytes(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) * 1024 : 0;
}

function duBytes(dir: string): number {
  let total = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) total += duBytes(p);
    else if (e.isFile()) total += statSync(p).size;
  }
  return total;
}

interface PushStats {
  wallS: number;
  cpuS: number;
  retries: number;
  failures: number;
}

/** Pushes every body with `concurrency` senders; 429/503 are retried after Retry-After, as Promtail does. */
async function push(url: string, bodies: readonly Buffer[], concurrency: number, pid: number): Promise<PushStats> {
  let next = 0;
  let retries = 0;
  let failures = 0;
  const cpu0 = cpuSeconds(pid);
  const t0 = performance.now();
  const sender = async (): Promise<void> => {
    while (next < bodies.length) {
      const body = bodies[next++]!;
      for (let attempt = 0; attempt < 50; attempt++) {
        const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/x-protobuf' }, body });
        if (res.status === 204 || res.status === 200) {
          await res.arrayBuffer();
          break;
        }
        const text = await res.text();
        if (res.status === 429 || res.status === 503) {
          retries++;
          await new Promise((r) => setTimeout(r, 1000 * Math.min(Number(res.headers.get('retry-after') ?? '1'), 2)));
          continue;
        }
        failures++;
        if (failures <= 3) console.error(`push failed: ${res.status} ${text.slice(0, 300)}`);
        break;
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, sender));
  return { wallS: (performance.now() - t0) / 1000, cpuS: cpuSeconds(pid) - cpu0, retries, failures };
}

interface QuerySpec {
  name: string;
  kind: 'log' | 'metric';
  query: string;
  step?: string;
  limit?: number;
}

interface QueryResult {
  name: string;
  ms: number | undefined;
  result: string;
}

/** Runs a query once to warm up, then three times; reports the median latency and a result summary. */
async function timeQuery(base: string, corpus: Corpus, q: QuerySpec): Promise<QueryResult> {
  const params = new URLSearchParams({
    query: q.query,
    start: String(corpus.startNs),
    end: String(corpus.endNs),
    direction: 'backward',
    ...(q.limit !== undefined ? { limit: String(q.limit) } : {}),
    ...(q.step !== undefined ? { step: q.step } : {}),
  });
  const url = `${base}/loki/api/v1/query_range?${params}`;
  const times: number[] = [];
  let summary = '';
  for (let i = 0; i < 4; i++) {
    const t0 = performance.now();
    let res: Response;
    try {
      res = await fetch(url, { signal: AbortSignal.timeout(300_000) });
    } catch (err) {
      return { name: q.name, ms: undefined, result: `error: ${(err as Error).message}` };
    }
    const text = await res.text();
    const ms = performance.now() - t0;
    if (res.status !== 200) return { name: q.name, ms: undefined, result: `HTTP ${res.status}: ${text.slice(0, 120)}` };
    if (i > 0) times.push(ms);
    const body = JSON.parse(text) as { data: { resultType: string; result: { values?: unknown[] }[] } };
    const r = body.data.result;
    summary =
      body.data.resultType === 'streams'
        ? `${r.reduce((n, s) => n + (s.values?.length ?? 0), 0)} lines in ${r.length} streams`
        : `${r.length} series`;
  }
  times.sort((a, b) => a - b);
  return { name: q.name, ms: times[1], result: summary };
}

/** The head age limit the bench configures, so the last head is compacted soon after the push ends. */
const HEAD_MAX_AGE_S = 20;

const QUERIES: QuerySpec[] = [
  { name: '|= filter (rare needle, full scan)', kind: 'log', query: `{env=~".+"} |= "${NEEDLE}"`, limit: 100 },
  { name: '|~ regex (rare match, full scan)', kind: 'log', query: `{env=~".+"} |~ "${RARE_REGEX.replaceAll('\\', '\\\\')}"`, limit: 100 },
  { name: '| json | status >= 500 (limit 100)', kind: 'log', query: '{format="json"} | json | status >= 500', limit: 100 },
  { name: 'sum by (app) (rate([1m])), step 60s', kind: 'metric', query: 'sum by (app) (rate({env=~".+"}[1m]))', step: '60s' },
  { name: 'topk(5, count_over_time([1h])), step 1h', kind: 'metric', query: 'topk(5, sum by (app) (count_over_time({env=~".+"}[1h])))', step: '3600s' },
];

/**
 * Waits until compaction settled: past the head's age limit (so the last head was sealed and compacted),
 * the WAL under 4 MiB and the directory size unchanged for 5 s.
 */
async function waitSettled(dir: string, timeoutS: number, minS = 0): Promise<{ bytes: number; settledS: number }> {
  const t0 = performance.now();
  let last = -1;
  let stableSince = performance.now();
  for (let i = 0; i < timeoutS; i++) {
    await new Promise((r) => setTimeout(r, 1000));
    const bytes = duBytes(dir);
    const wal = path.join(dir, 'logs.duckdb.wal');
    const walBytes = existsSync(wal) ? statSync(wal).size : 0;
    if (bytes !== last) {
      last = bytes;
      stableSince = performance.now();
    }
    if (performance.now() - t0 < minS * 1000) continue;
    if (walBytes < 4 * 1024 * 1024 && performance.now() - stableSince > 5000) break;
  }
  return { bytes: duBytes(dir), settledS: (performance.now() - t0) / 1000 };
}

function fmt(n: number, digits = 1): string {
  return n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const load = os.loadavg()[0]!;
  console.log(`bench/logs: ${args.sizeMb} MB corpus, ${args.streams} streams, ${args.concurrency} senders, ${os.cpus().length} cores, load ${load.toFixed(2)}`);
  const tGen = performance.now();
  const corpus = generateCorpus({
    sizeBytes: args.sizeMb * 1024 * 1024,
    streams: args.streams,
    spanMs: 6 * 3600_000,
    endMs: Date.now() - 60_000,
    batchBytes: args.batchKb * 1024,
    seed: 20261121,
  });
  const wire = corpus.bodies.reduce((n, b) => n + b.length, 0);
  console.log(
    `corpus: ${corpus.lines.toLocaleString('en-US')} lines, ${fmt(corpus.rawBytes / 1e6)} MB raw, ${corpus.bodies.length} requests ` +
      `(${fmt(wire / 1e6)} MB snappy), generated in ${fmt((performance.now() - tGen) / 1000)} s`,
  );

  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'heimdall-bench-logs-'));
  // A short head age so compaction settles within the run (the default, 5m, only delays it).
  const heimdall = await startHeimdall({ dataDir, config: { logs: { store: { head_max_age: `${HEAD_MAX_AGE_S}s` } } }, timeoutMs: 60_000 });
  const pid = heimdall.child.pid!;
  const rows: string[][] = [];
  try {
    const ingest = await push(`${heimdall.httpUrl}/loki/api/v1/push`, corpus.bodies, args.concurrency, pid);
    const mb = corpus.rawBytes / 1e6;
    const rssAfter = rssBytes(pid);
    console.log(`ingest: ${fmt(ingest.wallS, 2)} s wall, ${fmt(ingest.cpuS, 2)} server CPU-s, ${ingest.retries} retried (429/503), ${ingest.failures} failed`);
    const logsDir = path.join(dataDir, 'logs');
    const diskRightAfter = duBytes(logsDir);
    const settled = await waitSettled(logsDir, args.settleTimeoutS, HEAD_MAX_AGE_S + 15);
    rows.push(['ingest MB/s (raw)', fmt(mb / ingest.wallS)]);
    rows.push(['ingest lines/s', fmt(corpus.lines / ingest.wallS, 0)]);
    rows.push(['MB per server CPU-second', fmt(mb / ingest.cpuS)]);
    rows.push(['lines per server CPU-second', fmt(corpus.lines / ingest.cpuS, 0)]);
    rows.push(['server RSS after ingest (MB)', fmt(rssAfter / 1e6, 0)]);
    rows.push(['disk right after ingest (MB)', fmt(diskRightAfter / 1e6)]);
    rows.push([`disk after compaction (MB, settled in ${fmt(settled.settledS, 0)} s)`, fmt(settled.bytes / 1e6)]);
    rows.push(['compression (raw / disk)', `${fmt(corpus.rawBytes / settled.bytes, 2)}×`]);
    for (const q of QUERIES) {
      const r = await timeQuery(heimdall.httpUrl, corpus, q);
      rows.push([`query: ${r.name}`, r.ms === undefined ? 'n/a' : `${fmt(r.ms, 0)} ms`, r.result]);
    }
    rows.push(['expected |= / |~ matches', `${corpus.needleLines} / ${corpus.regexLines}`]);
  } finally {
    await heimdall.stop({ keepData: true });
    if (!args.keep) rmSync(dataDir, { recursive: true, force: true });
    else console.log(`data kept in ${dataDir}`);
  }
  if (args.victorialogs) rows.push(...(await runVictoriaLogs(args.victorialogs, corpus, args.concurrency)));
  else rows.push(['VictoriaLogs', 'not run', 'no binary: `go install` of victoria-logs is refused by the module proxy here (403)']);

  const w0 = Math.max(...rows.map((r) => r[0]!.length));
  const w1 = Math.max(...rows.map((r) => (r[1] ?? '').length));
  console.log('\n| metric | Heimdall | notes |\n|---|---:|---|');
  for (const r of rows) console.log(`| ${r[0]!.padEnd(w0)} | ${(r[1] ?? '').padStart(w1)} | ${r[2] ?? ''} |`);
}

/**
 * Runs VictoriaLogs on the same corpus through its Loki-compatible push endpoint and returns rows with
 * its ingest rate and disk use. Only reached with `--victorialogs PATH`.
 */
async function runVictoriaLogs(bin: string, corpus: Corpus, concurrency: number): Promise<string[][]> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'bench-victorialogs-'));
  const port = 19428 + Math.floor(Math.random() * 500);
  const child: ChildProcess = spawn(bin, [`-storageDataPath=${dir}`, `-httpListenAddr=127.0.0.1:${port}`, '-retentionPeriod=30d'], { stdio: 'ignore' });
  try {
    for (let i = 0; i < 100; i++) {
      try {
        if ((await fetch(`http://127.0.0.1:${port}/health`)).ok) break;
      } catch {
        /* not up yet */
      }
      await new Promise((r) => setTimeout(r, 200));
    }
    const stats = await push(`http://127.0.0.1:${port}/insert/loki/api/v1/push`, corpus.bodies, concurrency, child.pid!);
    await fetch(`http://127.0.0.1:${port}/internal/force_flush`).catch(() => undefined);
    const settled = await waitSettled(dir, 120);
    const mb = corpus.rawBytes / 1e6;
    return [
      ['VictoriaLogs ingest MB/s', fmt(mb / stats.wallS)],
      ['VictoriaLogs MB per CPU-second', fmt(mb / stats.cpuS)],
      ['VictoriaLogs compression', `${fmt(corpus.rawBytes / settled.bytes, 2)}×`],
    ];
  } finally {
    child.kill('SIGTERM');
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
