// Log ingest and query benchmark: one command (`npm run bench:logs`, see bench/README.md).
//
// Generates a reproducible corpus (bench/logs/corpus.ts), then for each server (Heimdall, and VictoriaLogs
// when its binary is found: `--victorialogs PATH`, else `victoria-logs` in `$(go env GOPATH)/bin` or PATH)
// starts a fresh instance on loopback, pushes the corpus through the Loki push API (protobuf, snappy) with a
// few concurrent senders, and measures ingest MB/s and lines/s (also per server CPU-second, from
// /proc/PID/stat), disk bytes against raw bytes once compaction settled, and the latency of five queries over
// the whole corpus (LogQL through the Loki API for Heimdall, their LogsQL translations for VictoriaLogs). It
// prints one table with a column per server, the ratios Heimdall/peer and every answer's size, so a
// different answer shows.
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startHeimdall } from '../../test/e2e/harness.ts';
import { findGoTool, freePort } from '../../test/e2e/go-tools.ts';
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
  queryTimeoutS: number;
  /** Query an existing Heimdall data directory kept by `--keep` (no corpus, no ingest, no peer). */
  reuse: string | undefined;
  /** Directory for `node --cpu-prof` profiles of the Heimdall process (all its threads). */
  cpuProf: string | undefined;
  only: string | undefined;
}

const USAGE =
  'use --quick, --size-mb N, --streams N, --concurrency N, --batch-kb N, --keep, --victorialogs PATH|none, ' +
  '--query-timeout S, --settle-timeout S, --only heimdall|victorialogs, --reuse DIR, --cpu-prof DIR';

function parseArgs(argv: string[]): Args {
  const a: Args = {
    sizeMb: 400,
    streams: 5000,
    concurrency: 4,
    batchKb: 1024,
    keep: false,
    victorialogs: undefined,
    settleTimeoutS: 240,
    queryTimeoutS: 120,
    reuse: undefined,
    cpuProf: undefined,
    only: undefined,
  };
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
    else if (k === '--query-timeout') a.queryTimeoutS = Number(v());
    else if (k === '--reuse') a.reuse = v();
    else if (k === '--cpu-prof') a.cpuProf = path.resolve(v());
    else if (k === '--only') a.only = v();
    else throw new Error(`unknown argument ${k}: ${USAGE}`);
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

/** The time range every query covers (the corpus'). */
interface QueryRange {
  readonly startNs: bigint;
  readonly endNs: bigint;
}

/** One benchmark query: its LogQL (Heimdall, through the Loki API) and its LogsQL translation (VictoriaLogs). */
interface QuerySpec {
  name: string;
  logql: string;
  logsql: string;
  /** Metric queries: the step in seconds (`query_range` / `stats_query_range`). */
  stepS?: number;
  limit?: number;
}

const QUERIES: QuerySpec[] = [
  {
    name: '|= filter (rare needle, full scan)',
    logql: `{env=~".+"} |= "${NEEDLE}"`,
    logsql: `{env=~".+"} ${JSON.stringify(NEEDLE)}`,
    limit: 100,
  },
  {
    name: '|~ regex (rare match, full scan)',
    logql: `{env=~".+"} |~ ${JSON.stringify(RARE_REGEX)}`,
    logsql: `{env=~".+"} ~${JSON.stringify(RARE_REGEX)}`,
    limit: 100,
  },
  {
    name: '| json | status >= 500 (limit 100)',
    logql: '{format="json"} | json | status >= 500',
    // VictoriaLogs unpacks JSON lines into fields at ingest (its default), so `status` is a field already.
    logsql: '{format="json"} status:>=500',
    limit: 100,
  },
  {
    name: 'sum by (app) (rate([1m])), step 60s',
    logql: 'sum by (app) (rate({env=~".+"}[1m]))',
    logsql: '{env=~".+"} | stats by (app) rate()',
    stepS: 60,
  },
  {
    name: 'topk(5, count_over_time([1h])), step 1h',
    logql: 'topk(5, sum by (app) (count_over_time({env=~".+"}[1h])))',
    logsql: '{env=~".+"} | stats by (app) count() hits | sort by (hits desc) limit 5',
    stepS: 3600,
  },
];

/** A query's latency (median of 3 after a warm-up) and the size of its answer, or why it has none. */
interface QueryResult {
  ms: number | undefined;
  rows: string;
}

/** What the query phase needs from a server. */
interface Target {
  readonly name: string;
  /** Runs `q` once and returns the size of the answer (e.g. `61 lines`, `50 series, 18,000 points`). */
  run(q: QuerySpec, range: QueryRange, timeoutMs: number): Promise<string>;
}

async function getText(url: string, timeoutMs: number): Promise<string> {
  const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
  const text = await res.text();
  if (res.status !== 200) throw new Error(`HTTP ${res.status}: ${text.slice(0, 160)}`);
  return text;
}

/** Series and points of a Prometheus-style matrix (Loki's metric answer and VictoriaLogs' stats_query_range). */
function matrixSize(result: { values?: unknown[] }[]): string {
  const points = result.reduce((n, s) => n + (s.values?.length ?? 0), 0);
  return `${result.length} series, ${points.toLocaleString('en-US')} points`;
}

function heimdallTarget(base: string): Target {
  return {
    name: 'Heimdall',
    async run(q, range, timeoutMs) {
      const params = new URLSearchParams({
        query: q.logql,
        start: String(range.startNs),
        end: String(range.endNs),
        direction: 'backward',
        ...(q.limit !== undefined ? { limit: String(q.limit) } : {}),
        ...(q.stepS !== undefined ? { step: `${q.stepS}s` } : {}),
      });
      const text = await getText(`${base}/loki/api/v1/query_range?${params}`, timeoutMs);
      const body = JSON.parse(text) as { data: { resultType: string; result: { values?: unknown[] }[] } };
      const r = body.data.result;
      return body.data.resultType === 'streams' ? `${r.reduce((n, s) => n + (s.values?.length ?? 0), 0)} lines` : matrixSize(r);
    },
  };
}

/** Seconds since the epoch with nanosecond digits, as VictoriaLogs' `start`/`end` accept. */
function vlTime(ns: bigint): string {
  return `${ns / 1_000_000_000n}.${(ns % 1_000_000_000n).toString().padStart(9, '0')}`;
}

function victoriaLogsTarget(base: string): Target {
  return {
    name: 'VictoriaLogs',
    async run(q, range, timeoutMs) {
      // One microsecond of margin each side: VictoriaLogs parses the bounds as float seconds (~0.2 µs steps), and
      // the corpus' last entries sit exactly on its end; there are no entries outside the range.
      const params = new URLSearchParams({ query: q.logsql, start: vlTime(range.startNs - 1000n), end: vlTime(range.endNs + 1000n) });
      if (q.stepS !== undefined) {
        params.set('step', `${q.stepS}s`);
        const text = await getText(`${base}/select/logsql/stats_query_range?${params}`, timeoutMs);
        return matrixSize((JSON.parse(text) as { data: { result: { values?: unknown[] }[] } }).data.result);
      }
      if (q.limit !== undefined) params.set('limit', String(q.limit));
      const text = await getText(`${base}/select/logsql/query?${params}`, timeoutMs);
      return `${text.split('\n').filter((l) => l.trim() !== '').length} lines`;
    },
  };
}

/** Runs a query once to warm up, then three times; the median latency and the answer's size. */
async function timeQuery(target: Target, q: QuerySpec, range: QueryRange, timeoutS: number): Promise<QueryResult> {
  const times: number[] = [];
  let rows = '';
  for (let i = 0; i < 4; i++) {
    const t0 = performance.now();
    try {
      rows = await target.run(q, range, timeoutS * 1000);
    } catch (err) {
      const e = err as Error;
      return { ms: undefined, rows: e.name === 'TimeoutError' ? `timed out (${timeoutS} s)` : `error: ${e.message}` };
    }
    if (i > 0) times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  return { ms: times[1], rows };
}

/** The head age limit the bench configures, so the last head is compacted soon after the push ends. */
const HEAD_MAX_AGE_S = 20;

/**
 * Waits until the store settled: at least `minS`, then the WAL (`wal`, when given) under 4 MiB and the
 * directory size unchanged for 5 s.
 */
async function waitSettled(dir: string, timeoutS: number, minS = 0, wal?: string): Promise<{ bytes: number; settledS: number }> {
  const t0 = performance.now();
  let last = -1;
  let stableSince = performance.now();
  for (let i = 0; i < timeoutS; i++) {
    await new Promise((r) => setTimeout(r, 1000));
    const bytes = duBytes(dir);
    const walBytes = wal !== undefined && existsSync(wal) ? statSync(wal).size : 0;
    if (bytes !== last) {
      last = bytes;
      stableSince = performance.now();
    }
    if (performance.now() - t0 < minS * 1000) continue;
    if (walBytes < 4 * 1024 * 1024 && performance.now() - stableSince > 5000) break;
  }
  return { bytes: duBytes(dir), settledS: (performance.now() - t0) / 1000 };
}

/** One server's figures: `undefined` where it was not measured. */
interface ServerResult {
  readonly name: string;
  ingestMbS?: number;
  linesS?: number;
  mbPerCpuS?: number;
  linesPerCpuS?: number;
  rssMb?: number;
  diskMb?: number;
  compression?: number;
  failures?: number;
  queries: QueryResult[];
  note?: string;
}

async function measureIngest(r: ServerResult, corpus: Corpus, pushUrl: string, pid: number, concurrency: number): Promise<void> {
  const ingest = await push(pushUrl, corpus.bodies, concurrency, pid);
  const mb = corpus.rawBytes / 1e6;
  console.log(
    `${r.name} ingest: ${fmt(ingest.wallS, 2)} s wall, ${fmt(ingest.cpuS, 2)} server CPU-s, ${ingest.retries} retried (429/503), ${ingest.failures} failed`,
  );
  r.ingestMbS = mb / ingest.wallS;
  r.linesS = corpus.lines / ingest.wallS;
  r.mbPerCpuS = mb / ingest.cpuS;
  r.linesPerCpuS = corpus.lines / ingest.cpuS;
  r.rssMb = rssBytes(pid) / 1e6;
  r.failures = ingest.failures;
}

async function runQueries(r: ServerResult, target: Target, range: QueryRange, timeoutS: number): Promise<void> {
  for (const q of QUERIES) {
    const res = await timeQuery(target, q, range, timeoutS);
    console.log(`${r.name} ${q.name}: ${res.ms === undefined ? 'n/a' : `${fmt(res.ms, 0)} ms`}, ${res.rows}`);
    r.queries.push(res);
  }
}

interface SavedRange {
  startNs: string;
  endNs: string;
  needleLines: number;
  regexLines: number;
}

async function runHeimdall(args: Args, corpus: Corpus | undefined): Promise<ServerResult> {
  const r: ServerResult = { name: 'Heimdall', queries: [] };
  const dataDir = args.reuse ?? mkdtempSync(path.join(os.tmpdir(), 'heimdall-bench-logs-'));
  // A short head age so compaction settles within the run (the default, 5m, only delays it).
  const heimdall = await startHeimdall({
    dataDir,
    config: { logs: { store: { head_max_age: `${HEAD_MAX_AGE_S}s` } } },
    timeoutMs: 60_000,
    ...(args.cpuProf ? { nodeArgs: ['--cpu-prof', `--cpu-prof-dir=${args.cpuProf}`] } : {}),
  });
  const pid = heimdall.child.pid!;
  const logsDir = path.join(dataDir, 'logs');
  const saved = path.join(dataDir, 'bench-corpus.json');
  try {
    let range: QueryRange;
    if (corpus) {
      await measureIngest(r, corpus, `${heimdall.httpUrl}/loki/api/v1/push`, pid, args.concurrency);
      const settled = await waitSettled(logsDir, args.settleTimeoutS, HEAD_MAX_AGE_S + 15, path.join(logsDir, 'logs.duckdb.wal'));
      r.diskMb = settled.bytes / 1e6;
      r.compression = corpus.rawBytes / settled.bytes;
      range = corpus;
      const s: SavedRange = { startNs: String(corpus.startNs), endNs: String(corpus.endNs), needleLines: corpus.needleLines, regexLines: corpus.regexLines };
      writeFileSync(saved, JSON.stringify(s));
    } else {
      const s = JSON.parse(readFileSync(saved, 'utf8')) as SavedRange;
      range = { startNs: BigInt(s.startNs), endNs: BigInt(s.endNs) };
      console.log(`reusing ${dataDir}: expected |= / |~ matches ${s.needleLines} / ${s.regexLines}`);
    }
    await runQueries(r, heimdallTarget(heimdall.httpUrl), range, args.queryTimeoutS);
  } finally {
    await heimdall.stop({ keepData: true });
    if (!args.keep && !args.reuse) rmSync(dataDir, { recursive: true, force: true });
    else console.log(`Heimdall data kept in ${dataDir} (query it again with --reuse ${dataDir})`);
  }
  return r;
}

/** Runs VictoriaLogs on the same corpus through its Loki-compatible push endpoint, then the LogsQL queries. */
async function runVictoriaLogs(bin: string, args: Args, corpus: Corpus): Promise<ServerResult> {
  const r: ServerResult = { name: 'VictoriaLogs', queries: [] };
  const dir = mkdtempSync(path.join(os.tmpdir(), 'bench-victorialogs-'));
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const child: ChildProcess = spawn(bin, [`-storageDataPath=${dir}`, `-httpListenAddr=127.0.0.1:${port}`, '-retentionPeriod=30d'], { stdio: 'ignore' });
  try {
    let up = false;
    for (let i = 0; i < 300 && !up; i++) {
      up = await fetch(`${base}/health`).then((res) => res.ok, () => false);
      if (!up) await new Promise((res) => setTimeout(res, 200));
    }
    if (!up) throw new Error(`VictoriaLogs (${bin}) did not answer /health within 60 s`);
    // `_msg_field=msg`: a JSON line's `msg` becomes the message the filters search (VictoriaLogs unpacks JSON
    // lines into fields; without it their message would be empty and the needle queries would miss them).
    await measureIngest(r, corpus, `${base}/insert/loki/api/v1/push?_msg_field=msg`, child.pid!, args.concurrency);
    await fetch(`${base}/internal/force_flush`).catch(() => undefined);
    const settled = await waitSettled(dir, 120);
    r.diskMb = settled.bytes / 1e6;
    r.compression = corpus.rawBytes / settled.bytes;
    await runQueries(r, victoriaLogsTarget(base), corpus, args.queryTimeoutS);
  } finally {
    child.kill('SIGTERM');
    await new Promise((res) => (child.exitCode !== null ? res(undefined) : child.once('exit', res)));
    rmSync(dir, { recursive: true, force: true });
  }
  return r;
}

function fmt(n: number, digits = 1): string {
  return n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
}

/** Prints the table: a column per server, then Heimdall/peer (above 1 is good for rates, below 1 for the rest). */
function printTable(results: ServerResult[], corpus: Corpus | undefined): void {
  const [h, peer] = results;
  const header = ['metric', ...results.map((r) => r.name), ...(peer ? [`Heimdall/${peer.name}`] : []), 'answer sizes'];
  const num = (v: number | undefined, d: number): string => (v === undefined ? 'n/a' : fmt(v, d));
  const ratio = (a: number | undefined, b: number | undefined): string =>
    a === undefined || b === undefined || b === 0 ? '' : `${a / b >= 10 ? fmt(a / b, 0) : fmt(a / b, 2)}×`;
  const rows: string[][] = [];
  const metric = (label: string, get: (r: ServerResult) => number | undefined, d: number): void => {
    rows.push([label, ...results.map((r) => num(get(r), d)), ...(peer ? [ratio(get(h!), get(peer))] : []), '']);
  };
  metric('ingest MB/s (raw)', (r) => r.ingestMbS, 1);
  metric('ingest lines/s', (r) => r.linesS, 0);
  metric('MB per server CPU-second', (r) => r.mbPerCpuS, 1);
  metric('lines per server CPU-second', (r) => r.linesPerCpuS, 0);
  metric('server RSS after ingest (MB)', (r) => r.rssMb, 0);
  metric('disk once settled (MB)', (r) => r.diskMb, 1);
  metric('compression (raw / disk)', (r) => r.compression, 2);
  QUERIES.forEach((q, i) => {
    const get = (r: ServerResult): number | undefined => r.queries[i]?.ms;
    rows.push([
      `query ms: ${q.name}`,
      ...results.map((r) => (get(r) === undefined ? (r.queries[i]?.rows ?? 'n/a') : fmt(get(r)!, 0))),
      ...(peer ? [ratio(get(h!), get(peer))] : []),
      results.map((r) => `${r.name}: ${r.queries[i]?.rows ?? 'n/a'}`).join('; '),
    ]);
  });
  if (corpus) rows.push(['expected |= / \\|~ matches', `${corpus.needleLines} / ${corpus.regexLines}`, ...results.slice(1).map(() => ''), ...(peer ? [''] : []), '']);
  console.log(`\n| ${header.join(' | ')} |\n|---|${header.slice(1, -1).map(() => '---:|').join('')}---|`);
  for (const r of rows) console.log(`| ${r.map((c) => c.replaceAll('|', '\\|')).join(' | ')} |`);
  for (const r of results) if (r.note) console.log(`${r.name}: ${r.note}`);
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  console.log(`bench/logs: ${os.cpus().length} cores, load ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}`);
  if (args.reuse) {
    printTable([await runHeimdall(args, undefined)], undefined);
    return;
  }
  const vlBin = args.victorialogs === 'none' ? undefined : (args.victorialogs ?? findGoTool('victoria-logs'));
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
    `corpus: ${corpus.lines.toLocaleString('en-US')} lines, ${fmt(corpus.rawBytes / 1e6)} MB raw, ${corpus.streams} streams, ` +
      `${corpus.bodies.length} requests (${fmt(wire / 1e6)} MB snappy), generated in ${fmt((performance.now() - tGen) / 1000)} s; ` +
      `${args.concurrency} senders`,
  );
  const results: ServerResult[] = [];
  if (args.only !== 'victorialogs') results.push(await runHeimdall(args, corpus));
  if (args.only !== 'heimdall') {
    if (vlBin) results.push(await runVictoriaLogs(vlBin, args, corpus));
    else console.log('VictoriaLogs not run: no binary (go install github.com/VictoriaMetrics/VictoriaLogs/app/victoria-logs@v1.52.2, or --victorialogs PATH)');
  }
  console.log(`load at the end: ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}`);
  printTable(results, corpus);
}

await main();
