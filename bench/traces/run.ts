// Trace ingest and query benchmark: one command (`npm run bench:traces`, see bench/README.md).
//
// Generates a reproducible span corpus (bench/traces/corpus.ts), pushes it over OTLP gRPC with a few concurrent
// senders to a fresh Heimdall (the real binary, on loopback, temp data dir) and, in the same run, to Jaeger
// (`--peer PATH`, badger on disk) and to Tempo (`--tempo PATH`). Prints ingest spans/s and MB/s (also per
// server CPU-second, from /proc/PID/stat), RSS, disk bytes per span (allocated blocks, after a clean stop), and
// the latency of trace by id (p50/p99 over random ids), a TraceQL attribute search, a structural query and a
// TraceQL metrics query over the last hour; ratios Heimdall/peer where the peer has the operation.
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { credentials, Client, Metadata, status as GrpcStatus } from '@grpc/grpc-js';
import type { ServiceError } from '@grpc/grpc-js';
import { findGoTool } from '../../test/e2e/go-tools.ts';
import { startHeimdall } from '../../test/e2e/harness.ts';
import { freePort, procStats, stopServer } from '../metrics/servers.ts';
import { allocatedBytes } from '../shared/allocated-bytes.ts';
import { mulberry32 } from '../shared/prng.ts';
import { ATTRIBUTE_QUERY, JAEGER_ATTRIBUTE_SEARCH, METRICS_QUERY, STRUCTURAL_QUERY, generateCorpus } from './corpus.ts';
import type { Batch, Corpus } from './corpus.ts';

interface Args {
  spans: number;
  batchSpans: number;
  concurrency: number;
  ids: number;
  peer: string | undefined;
  tempo: string | undefined;
  keep: boolean;
  /** A data dir kept by an earlier `--keep` run: Heimdall is started on it and only the queries run. */
  reuse: string | undefined;
  /** Directory for `node --cpu-prof` profiles of the Heimdall process. */
  cpuProf: string | undefined;
}

function parseArgs(argv: string[]): Args {
  // The peer by default: a `jaeger` in $(go env GOPATH)/bin or PATH (`.ci/run` builds it there).
  const a: Args = { spans: 5_000_000, batchSpans: 2000, concurrency: 4, ids: 1000, peer: findGoTool('jaeger'), tempo: undefined, keep: false, reuse: undefined, cpuProf: undefined };
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i]!;
    const v = (): string => {
      const x = argv[++i];
      if (x === undefined) throw new Error(`${k} needs a value`);
      return x;
    };
    if (k === '--spans') a.spans = Number(v());
    else if (k === '--quick') a.spans = 100_000;
    else if (k === '--batch-spans') a.batchSpans = Number(v());
    else if (k === '--concurrency') a.concurrency = Number(v());
    else if (k === '--ids') a.ids = Number(v());
    else if (k === '--peer') a.peer = v();
    else if (k === '--no-peer') a.peer = undefined;
    else if (k === '--tempo') a.tempo = v();
    else if (k === '--keep') a.keep = true;
    else if (k === '--reuse') a.reuse = path.resolve(v());
    else if (k === '--cpu-prof') a.cpuProf = path.resolve(v());
    else throw new Error(`unknown argument ${k}: use --spans N, --quick, --batch-spans N, --concurrency N, --ids N, --peer PATH (Jaeger), --no-peer, --tempo PATH, --keep, --reuse DIR (a kept Heimdall data dir: queries only), --cpu-prof DIR`);
  }
  return a;
}

/** The corpus' requests: held in memory when small enough, otherwise generated as they are sent. */
function batchSource(corpus: Corpus, spans: number): (i: number) => Batch {
  if (spans > 2_000_000) return (i) => corpus.batch(i);
  const all = Array.from({ length: corpus.batches }, (_, i) => corpus.batch(i));
  return (i) => all[i]!;
}

interface Ingest {
  wallS: number;
  cpuS: number;
  retries: number;
  failures: number;
}

const EXPORT_PATH = '/opentelemetry.proto.collector.trace.v1.TraceService/Export';
const RETRYABLE = new Set([GrpcStatus.RESOURCE_EXHAUSTED, GrpcStatus.UNAVAILABLE]);

/** Sends every request over OTLP gRPC (pre-encoded bytes) with `concurrency` senders; retryable codes are retried, as exporters do. */
async function pushGrpc(address: string, batches: number, batch: (i: number) => Batch, concurrency: number, pid: number): Promise<Ingest> {
  const client = new Client(address, credentials.createInsecure(), { 'grpc.max_send_message_length': 64 * 1024 * 1024 });
  const call = (body: Buffer): Promise<void> =>
    new Promise((resolve, reject) =>
      client.makeUnaryRequest(EXPORT_PATH, (b: Buffer) => b, (b: Buffer) => b, body, new Metadata(), { deadline: Date.now() + 120_000 }, (err: ServiceError | null) => (err ? reject(err) : resolve())),
    );
  let next = 0;
  let retries = 0;
  let failures = 0;
  const cpu0 = procStats(pid).cpuSeconds;
  const t0 = performance.now();
  const sender = async (): Promise<void> => {
    while (next < batches) {
      const b = batch(next++);
      for (let attempt = 0; attempt < 60; attempt++) {
        try {
          await call(b.body);
          break;
        } catch (err) {
          const e = err as ServiceError;
          if (RETRYABLE.has(e.code) && attempt < 59) {
            retries++;
            await new Promise((r) => setTimeout(r, 500));
            continue;
          }
          failures++;
          if (failures <= 3) console.error(`export failed: ${e.code} ${e.details}`);
          break;
        }
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, sender));
  const wallS = (performance.now() - t0) / 1000;
  client.close();
  return { wallS, cpuS: procStats(pid).cpuSeconds - cpu0, retries, failures };
}

function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

/** Trace by id for `ids` (sequentially, as a user clicks): p50/p99 ms and how many answered 200 with spans. */
async function traceByIdLatency(url: (id: string) => string, ids: readonly string[], headers: Record<string, string>, hasSpans: (body: Buffer) => boolean): Promise<{ p50: number; p99: number; found: number }> {
  const ms: number[] = [];
  let found = 0;
  for (const id of ids) {
    const t0 = performance.now();
    const res = await fetch(url(id), { headers });
    const body = Buffer.from(await res.arrayBuffer());
    ms.push(performance.now() - t0);
    if (res.status === 200 && hasSpans(body)) found++;
  }
  ms.sort((a, b) => a - b);
  return { p50: percentile(ms, 50), p99: percentile(ms, 99), found };
}

/** Median of 3 runs after a warm-up; `summary` describes the answer so a wrong one shows. */
async function timeGet(url: string, summary: (json: unknown) => string): Promise<{ ms: number; result: string }> {
  let result = '';
  const ms: number[] = [];
  for (let i = 0; i < 4; i++) {
    const t0 = performance.now();
    const res = await fetch(url);
    const text = await res.text();
    if (i > 0) ms.push(performance.now() - t0);
    result = res.ok ? summary(JSON.parse(text)) : `HTTP ${res.status}: ${text.slice(0, 120)}`;
  }
  ms.sort((a, b) => a - b);
  return { ms: ms[1]!, result };
}

/** What one server measured; undefined where it has no such operation. */
interface Result {
  spansPerS: number;
  mbPerS: number;
  spansPerCpuS: number;
  mbPerCpuS: number;
  retries: number;
  failures: number;
  rssMb: number;
  diskBytesPerSpan: number;
  byIdP50?: number;
  byIdP99?: number;
  byIdFound?: string;
  attribute?: { ms: number; result: string };
  structural?: { ms: number; result: string };
  metrics?: { ms: number; result: string };
}

interface Plan {
  corpus: Corpus;
  batch: (i: number) => Batch;
  spans: number;
  wireBytes: number;
  ids: string[];
  startS: number;
  endS: number;
  args: Args;
}

const traceCount = (j: unknown): string => `${(j as { traces?: unknown[] }).traces?.length ?? 0} traces`;
const seriesCount = (j: unknown): string => `${(j as { series?: unknown[] }).series?.length ?? 0} series`;

/** Ingest rows from the push and the server's state after it. */
function ingestResult(plan: Plan, ingest: Ingest, pid: number): Pick<Result, 'spansPerS' | 'mbPerS' | 'spansPerCpuS' | 'mbPerCpuS' | 'retries' | 'failures' | 'rssMb'> {
  const mb = plan.wireBytes / 1e6;
  return {
    spansPerS: plan.spans / ingest.wallS,
    mbPerS: mb / ingest.wallS,
    spansPerCpuS: plan.spans / ingest.cpuS,
    mbPerCpuS: mb / ingest.cpuS,
    retries: ingest.retries,
    failures: ingest.failures,
    rssMb: procStats(pid).rssBytes / 1e6,
  };
}

/** Queries of the Tempo HTTP API at `base` (Heimdall's `/tempo`, or a Tempo binary's root). */
async function tempoQueries(base: string, plan: Pick<Plan, 'ids' | 'startS' | 'endS'>): Promise<Pick<Result, 'byIdP50' | 'byIdP99' | 'byIdFound' | 'attribute' | 'structural' | 'metrics'>> {
  const range = `start=${plan.startS}&end=${plan.endS}`;
  const byId = await traceByIdLatency((id) => `${base}/api/v2/traces/${id}?${range}`, plan.ids, { Accept: 'application/protobuf' }, (b) => b.length > 0);
  const search = (q: string): string => `${base}/api/search?q=${encodeURIComponent(q)}&limit=20&${range}`;
  return {
    byIdP50: byId.p50,
    byIdP99: byId.p99,
    byIdFound: `${byId.found}/${plan.ids.length} found`,
    attribute: await timeGet(search(ATTRIBUTE_QUERY), traceCount),
    structural: await timeGet(search(STRUCTURAL_QUERY), traceCount),
    metrics: await timeGet(`${base}/api/metrics/query_range?q=${encodeURIComponent(METRICS_QUERY)}&${range}&step=60s`, seriesCount),
  };
}

/**
 * Waits (up to 3 minutes) until the head is cut into blocks, which truncates the WAL: a clean stop keeps the head in
 * the WAL (as Tempo keeps its WAL), so disk per span is measured once the traces are complete (`trace_idle_period`).
 */
async function waitForBlocks(walDir: string): Promise<void> {
  const limit = 1024 * 1024;
  for (const until = Date.now() + 180_000; Date.now() < until; await new Promise((r) => setTimeout(r, 1000))) {
    if (allocatedBytes(walDir) <= limit) return;
  }
  console.log(`the trace WAL still holds ${(allocatedBytes(walDir) / 1e6).toFixed(1)} MB after 3 minutes: disk per span includes it`);
}

/** What a `--reuse` run needs of the run that ingested the data dir (the corpus' time range depends on when it ran). */
interface SavedPlan {
  spans: number;
  ids: string[];
  startS: number;
  endS: number;
}
const SAVED_PLAN = 'bench-plan.json';

/** Heimdall on a fresh data dir in `work`, or on `args.reuse`. */
function startBenchHeimdall(dataDir: string, args: Args): ReturnType<typeof startHeimdall> {
  return startHeimdall({
    dataDir,
    timeoutMs: 120_000,
    config: {
      // The bench's one tenant sends far beyond Tempo's default per-tenant ingest limits (as the peers have none);
      // the metrics-generator is off so both servers do the same work (store and index spans).
      traces: { limits: { ingestion_rate_limit_bytes: 0, ingestion_burst_size_bytes: 0, max_traces_per_user: 0, metrics_generator_processors: [] } },
    },
    ...(args.cpuProf ? { nodeArgs: ['--cpu-prof', `--cpu-prof-dir=${args.cpuProf}`] } : {}),
  });
}

/** Only the queries, on a data dir an earlier `--keep` run left (its plan saved there): iterate on the read path in a minute. */
async function reuseHeimdall(args: Args, dataDir: string): Promise<void> {
  const saved = JSON.parse(fs.readFileSync(path.join(dataDir, SAVED_PLAN), 'utf8')) as SavedPlan;
  console.log(`bench/traces: reusing ${dataDir} (${saved.spans.toLocaleString('en-US')} spans), ${os.cpus().length} cores, load ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}`);
  const h = await startBenchHeimdall(dataDir, args);
  try {
    const plan = { ids: saved.ids.slice(0, args.ids), startS: saved.startS, endS: saved.endS };
    const q = await tempoQueries(`${h.httpUrl}/tempo`, plan);
    console.log(`\n| metric | Heimdall |\n|---|---:|`);
    console.log(`| trace by id p50 (ms) | ${fmt(q.byIdP50, 1)} |\n| trace by id p99 (ms) | ${fmt(q.byIdP99, 1)} |`);
    console.log(`| attribute search (ms) | ${fmt(q.attribute?.ms)} |\n| structural query (ms) | ${fmt(q.structural?.ms)} |\n| rate() by service over 1 h (ms) | ${fmt(q.metrics?.ms)} |`);
    console.log(`\nanswers: by id ${q.byIdFound}; attribute ${q.attribute?.result}; structural ${q.structural?.result}; rate ${q.metrics?.result}; load ${os.loadavg()[0]!.toFixed(2)}`);
  } finally {
    await h.stop({ keepData: true });
  }
}

async function runHeimdall(plan: Plan, work: string): Promise<Result> {
  const dataDir = path.join(work, 'heimdall-data');
  fs.mkdirSync(dataDir);
  const saved: SavedPlan = { spans: plan.spans, ids: plan.ids, startS: plan.startS, endS: plan.endS };
  fs.writeFileSync(path.join(dataDir, SAVED_PLAN), JSON.stringify(saved));
  const h = await startBenchHeimdall(dataDir, plan.args);
  const pid = h.child.pid!;
  try {
    const ingest = await pushGrpc(h.otlpGrpcAddress, plan.corpus.batches, plan.batch, plan.args.concurrency, pid);
    const result = ingestResult(plan, ingest, pid);
    const queries = await tempoQueries(`${h.httpUrl}/tempo`, plan);
    await waitForBlocks(path.join(dataDir, 'traces', 'wal'));
    await h.stop({ keepData: true });
    return { ...result, ...queries, diskBytesPerSpan: allocatedBytes(path.join(dataDir, 'traces')) / plan.spans };
  } finally {
    if (h.child.exitCode === null && h.child.signalCode === null) await h.stop({ keepData: true });
  }
}

/** Starts a peer binary, waits for `readyUrl` to answer 200. */
async function launchPeer(name: string, bin: string, args: string[], work: string, readyUrl: string): Promise<{ child: ChildProcess }> {
  const logFile = path.join(work, `${name}.log`);
  const log = fs.openSync(logFile, 'w');
  const child = spawn(bin, args, { stdio: ['ignore', log, log] });
  fs.closeSync(log);
  const server = { child };
  for (let i = 0; i < 240; i++) {
    if (child.exitCode !== null) throw new Error(`${name} exited with ${child.exitCode}; see ${logFile}`);
    try {
      if ((await fetch(readyUrl)).status === 200) return server;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  await stopServer(server);
  throw new Error(`${name} not ready after 60 s; see ${logFile}`);
}

/** Jaeger v2 (all-in-one) with badger on disk, every port on loopback. */
async function runJaeger(bin: string, plan: Plan, work: string): Promise<Result> {
  const [otlpGrpc, otlpHttp, queryHttp, queryGrpc, health] = [await freePort(), await freePort(), await freePort(), await freePort(), await freePort()];
  const data = path.join(work, 'jaeger-data');
  const cfg = path.join(work, 'jaeger.yaml');
  fs.writeFileSync(
    cfg,
    `service:
  extensions: [jaeger_storage, jaeger_query, healthcheckv2]
  pipelines:
    traces: { receivers: [otlp], processors: [batch], exporters: [jaeger_storage_exporter] }
  telemetry: { metrics: { level: none }, logs: { level: warn } }
extensions:
  healthcheckv2: { use_v2: true, http: { endpoint: 127.0.0.1:${health} } }
  jaeger_query:
    storage: { traces: store }
    http: { endpoint: 127.0.0.1:${queryHttp} }
    grpc: { endpoint: 127.0.0.1:${queryGrpc} }
  jaeger_storage:
    backends:
      store:
        badger: { directories: { keys: ${data}/keys, values: ${data}/values }, ephemeral: false }
receivers:
  otlp:
    protocols:
      grpc: { endpoint: 127.0.0.1:${otlpGrpc}, max_recv_msg_size_mib: 64 }
      http: { endpoint: 127.0.0.1:${otlpHttp} }
processors:
  batch:
exporters:
  jaeger_storage_exporter: { trace_storage: store }
`,
  );
  const server = await launchPeer('jaeger', bin, [`--config=file:${cfg}`], work, `http://127.0.0.1:${health}/status`);
  const pid = server.child.pid!;
  try {
    const ingest = await pushGrpc(`127.0.0.1:${otlpGrpc}`, plan.corpus.batches, plan.batch, plan.args.concurrency, pid);
    // The batch processor and badger's writes settle before reads (Jaeger acks before storing).
    await new Promise((r) => setTimeout(r, 5000));
    const result = ingestResult(plan, ingest, pid);
    const q = `http://127.0.0.1:${queryHttp}`;
    const byId = await traceByIdLatency((id) => `${q}/api/traces/${id}`, plan.ids, {}, (b) => ((JSON.parse(b.toString()) as { data?: { spans?: unknown[] }[] }).data?.[0]?.spans?.length ?? 0) > 0);
    const params = new URLSearchParams({ ...JAEGER_ATTRIBUTE_SEARCH, limit: '20', start: String(plan.startS * 1_000_000), end: String(plan.endS * 1_000_000) });
    const attribute = await timeGet(`${q}/api/traces?${params}`, (j) => `${(j as { data?: unknown[] }).data?.length ?? 0} traces`);
    await stopServer(server);
    return { ...result, byIdP50: byId.p50, byIdP99: byId.p99, byIdFound: `${byId.found}/${plan.ids.length} found`, attribute, diskBytesPerSpan: allocatedBytes(data) / plan.spans };
  } finally {
    await stopServer(server);
  }
}

/** Tempo (single binary, local storage, every port on loopback) when `--tempo PATH` is given. */
async function runTempo(bin: string, plan: Plan, work: string): Promise<Result> {
  const [http, grpc, otlpGrpc] = [await freePort(), await freePort(), await freePort()];
  const data = path.join(work, 'tempo-data');
  const cfg = path.join(work, 'tempo.yaml');
  fs.writeFileSync(
    cfg,
    `stream_over_http_enabled: false
server: { http_listen_address: 127.0.0.1, http_listen_port: ${http}, grpc_listen_address: 127.0.0.1, grpc_listen_port: ${grpc}, log_level: warn }
distributor:
  receivers:
    otlp:
      protocols:
        grpc: { endpoint: 127.0.0.1:${otlpGrpc}, max_recv_msg_size_mib: 64 }
memberlist: { bind_addr: [127.0.0.1] }
overrides:
  defaults:
    ingestion: { rate_limit_bytes: 1000000000, burst_size_bytes: 1000000000, max_traces_per_user: 0 }
storage:
  trace:
    backend: local
    wal: { path: ${data}/wal }
    local: { path: ${data}/blocks }
`,
  );
  const server = await launchPeer('tempo', bin, [`-config.file=${cfg}`], work, `http://127.0.0.1:${http}/ready`);
  const pid = server.child.pid!;
  try {
    const ingest = await pushGrpc(`127.0.0.1:${otlpGrpc}`, plan.corpus.batches, plan.batch, plan.args.concurrency, pid);
    const result = ingestResult(plan, ingest, pid);
    const queries = await tempoQueries(`http://127.0.0.1:${http}`, plan);
    await stopServer(server);
    return { ...result, ...queries, diskBytesPerSpan: allocatedBytes(data) / plan.spans };
  } finally {
    await stopServer(server);
  }
}

const fmt = (n: number | undefined, digits = 0): string =>
  n === undefined || !Number.isFinite(n) ? 'n/a' : n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });

function printTable(results: Map<string, Result>): void {
  const names = [...results.keys()];
  const h = results.get('Heimdall')!;
  const peers = names.filter((n) => n !== 'Heimdall');
  const rows: [string, (r: Result) => number | undefined, number, boolean][] = [
    ['ingest spans/s', (r) => r.spansPerS, 0, true],
    ['ingest MB/s (OTLP protobuf)', (r) => r.mbPerS, 1, true],
    ['spans per server CPU-second', (r) => r.spansPerCpuS, 0, true],
    ['MB per server CPU-second', (r) => r.mbPerCpuS, 2, true],
    ['RSS after ingest (MB)', (r) => r.rssMb, 0, false],
    ['disk bytes per span', (r) => r.diskBytesPerSpan, 1, false],
    ['trace by id p50 (ms)', (r) => r.byIdP50, 1, false],
    ['trace by id p99 (ms)', (r) => r.byIdP99, 1, false],
    ['attribute search (ms)', (r) => r.attribute?.ms, 0, false],
    ['structural query (ms)', (r) => r.structural?.ms, 0, false],
    ['rate() by service over 1 h (ms)', (r) => r.metrics?.ms, 0, false],
  ];
  // One cell per server and one ratio per peer: with no peer (`--no-peer`) the table has no ratio columns.
  const row = (cells: string[]): string => `| ${cells.join(' | ')} |`;
  console.log(`\n${row(['metric', ...names, ...peers.map((p) => `Heimdall/${p}`)])}`);
  console.log(row(['---', ...[...names, ...peers].map(() => '---:')]));
  for (const [label, get, digits] of rows) {
    const values = names.map((n) => fmt(get(results.get(n)!), digits));
    const ratios = peers.map((p) => {
      const a = get(h);
      const b = get(results.get(p)!);
      return a === undefined || b === undefined || b === 0 ? 'n/a' : `${(a / b).toFixed(2)}×`;
    });
    console.log(row([label, ...values, ...ratios]));
  }
  console.log('\nanswers (a wrong one shows here):');
  for (const [name, r] of results) {
    console.log(
      `  ${name}: by id ${r.byIdFound ?? 'n/a'}; attribute ${r.attribute?.result ?? 'n/a'}; structural ${r.structural?.result ?? 'n/a'}; ` +
        `rate ${r.metrics?.result ?? 'n/a'}; ${r.retries} retried, ${r.failures} failed requests`,
    );
  }
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  if (args.reuse !== undefined) return reuseHeimdall(args, args.reuse);
  const endMs = Date.now() - 60_000;
  const corpus = generateCorpus({ spans: args.spans, batchSpans: args.batchSpans, endMs, spanMs: 3600_000, seed: 20261205 });
  const tGen = performance.now();
  const batch = batchSource(corpus, args.spans);
  // One pass for the totals and the trace ids (generation is deterministic, so sending regenerates the same bytes).
  let spans = 0;
  let wireBytes = 0;
  const allIds: string[] = [];
  for (let i = 0; i < corpus.batches; i++) {
    const b = batch(i);
    spans += b.spans;
    wireBytes += b.body.length;
    for (const id of b.traceIds) allIds.push(id);
  }
  const rand = mulberry32(42);
  const ids = Array.from({ length: Math.min(args.ids, allIds.length) }, () => allIds[Math.floor(rand() * allIds.length)]!);
  console.log(
    `bench/traces: ${spans.toLocaleString('en-US')} spans in ${allIds.length.toLocaleString('en-US')} traces, ${corpus.batches} OTLP gRPC requests ` +
      `(${(wireBytes / 1e6).toFixed(1)} MB protobuf), ${args.concurrency} senders, ${os.cpus().length} cores, load ${os.loadavg()[0]!.toFixed(2)}; ` +
      `corpus generated in ${((performance.now() - tGen) / 1000).toFixed(1)} s`,
  );
  const plan: Plan = { corpus, batch, spans, wireBytes, ids, startS: Math.floor(endMs / 1000) - 3600 - 120, endS: Math.ceil(Date.now() / 1000) + 60, args };
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'heimdall-bench-traces-'));
  const results = new Map<string, Result>();
  try {
    results.set('Heimdall', await runHeimdall(plan, work));
    // The peer is looked for when its turn comes (it may still be building when the run starts).
    if (args.peer !== undefined && fs.existsSync(args.peer)) results.set('Jaeger', await runJaeger(args.peer, plan, work));
    else if (args.peer !== undefined) console.log(`no Jaeger at ${args.peer}: Heimdall alone`);
    if (args.tempo !== undefined) results.set('Tempo', await runTempo(args.tempo, plan, work));
  } finally {
    if (args.keep) console.log(`data kept in ${work} (query it again with --reuse ${path.join(work, 'heimdall-data')})`);
    else fs.rmSync(work, { recursive: true, force: true });
  }
  printTable(results);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await main();
