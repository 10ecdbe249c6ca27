// Collection benchmark: one command (`npm run bench:collection`, see bench/README.md).
//
// Gateway throughput: a pure gateway (`--target gateway` with gateway.forward) in front of a second Heimdall
// (`--target all`), both on loopback. For each signal, a few concurrent senders push pre-encoded requests to the
// gateway for a fixed time (remote_write 1.0 for metrics, Loki push protobuf for logs, both snappy); the clock
// stops when the gateway's forwarding queue is empty again (everything acknowledged was delivered). Printed per
// signal: records/s and MB/s (uncompressed protocol bytes) end to end, and per CPU-second of the gateway process
// (from /proc/PID/stat), with the machine load beside the table.
//
// The node agent part of the benchmark (agent CPU/RSS while tailing 200 files at 2 MB/s) belongs to the
// agent (`heimdall agent`) and is added as a second section here once it exists: see AGENT_SECTION below.
import os from 'node:os';
import snappy from 'snappy';
import { encodeLokiPush } from '../../src/ingest/loki-push-encode.ts';
import { encodeRemoteWriteV1 } from '../../src/ingest/remote-write-encode.ts';
import type { LogRecord, MetricRecord } from '../../src/model/index.ts';
import { startHeimdall } from '../../test/e2e/harness.ts';
import type { HeimdallProcess } from '../../test/e2e/harness.ts';
import { procStats } from '../metrics/servers.ts';

interface Args {
  /** Seconds each signal is pushed for. */
  seconds: number;
  concurrency: number;
  /** Series per remote_write request (one sample each) and lines per Loki push request. */
  recordsPerRequest: number;
  /** Bound on waiting for the queue to drain after the push phase. */
  drainTimeoutS: number;
}

function parseArgs(argv: string[]): Args {
  const a: Args = { seconds: 20, concurrency: 4, recordsPerRequest: 2000, drainTimeoutS: 120 };
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i]!;
    const v = (): number => Number(argv[++i]);
    if (k === '--quick') a.seconds = 5;
    else if (k === '--seconds') a.seconds = v();
    else if (k === '--concurrency') a.concurrency = v();
    else if (k === '--records-per-request') a.recordsPerRequest = v();
    else if (k === '--drain-timeout-s') a.drainTimeoutS = v();
    else throw new Error(`unknown argument ${k} (--quick, --seconds N, --concurrency N, --records-per-request N, --drain-timeout-s N)`);
  }
  return a;
}

/** One pre-encoded request: the snappy body, its uncompressed size and the records it holds. */
interface Request {
  readonly body: Buffer;
  readonly rawBytes: number;
  readonly records: number;
}

const T0_MS = Date.now() - 30 * 60_000;

/** Sender `sender`'s `seq`-th remote_write request: its own series, one sample each, timestamps moving forward. */
function metricsRequest(sender: number, seq: number, n: number): Request {
  const records: MetricRecord[] = [];
  for (let i = 0; i < n; i++) {
    records.push({
      labels: { __name__: 'bench_collection_value', job: 'bench', instance: `sender-${sender}`, series: String(i) },
      samples: [{ timestampMs: T0_MS + seq * 100, value: (seq * 7 + i) % 1000 }],
    });
  }
  const raw = encodeRemoteWriteV1(records);
  return { body: snappy.compressSync(Buffer.from(raw)), rawBytes: raw.length, records: n };
}

/** Sender `sender`'s `seq`-th Loki push: `n` logfmt lines over 10 streams of its own. */
function logsRequest(sender: number, seq: number, n: number): Request {
  const perStream = Math.ceil(n / 10);
  const records: LogRecord[] = [];
  for (let s = 0; s < 10; s++) {
    const entries = [];
    for (let i = 0; i < perStream; i++) {
      const tsNs = BigInt(T0_MS + seq * 100) * 1_000_000n + BigInt(i);
      entries.push({ timestampNs: tsNs, line: `level=info msg="request served" path=/api/v1/items/${(seq * 31 + i) % 997} status=200 duration_ms=${(i * 13) % 250} sender=${sender}` });
    }
    records.push({ labels: { job: 'bench', app: `app-${s}`, sender: String(sender) }, entries });
  }
  const raw = encodeLokiPush(records);
  return { body: snappy.compressSync(Buffer.from(raw)), rawBytes: raw.length, records: perStream * 10 };
}

interface SignalRun {
  readonly signal: string;
  readonly records: number;
  readonly rawBytes: number;
  readonly wallS: number;
  readonly cpuS: number;
  readonly refused: number;
}

async function queuedRecords(gateway: HeimdallProcess): Promise<number> {
  const text = await (await fetch(`${gateway.httpUrl}/metrics`)).text();
  let sum = 0;
  for (const line of text.split('\n')) if (line.startsWith('heimdall_forward_queue_records{')) sum += Number(line.slice(line.lastIndexOf(' ') + 1));
  return sum;
}

async function runSignal(
  gateway: HeimdallProcess,
  args: Args,
  signal: string,
  path: string,
  headers: Record<string, string>,
  make: (sender: number, seq: number, n: number) => Request,
): Promise<SignalRun> {
  const pid = gateway.child.pid!;
  const cpu0 = procStats(pid).cpuSeconds;
  const t0 = performance.now();
  const until = t0 + args.seconds * 1000;
  let records = 0;
  let rawBytes = 0;
  let refused = 0;
  await Promise.all(
    Array.from({ length: args.concurrency }, async (_, sender) => {
      for (let seq = 0; performance.now() < until; seq++) {
        const req = make(sender, seq, args.recordsPerRequest);
        const res = await fetch(`${gateway.httpUrl}${path}`, { method: 'POST', headers: { 'content-encoding': 'snappy', ...headers }, body: req.body });
        await res.arrayBuffer();
        if (res.status >= 200 && res.status < 300) {
          records += req.records;
          rawBytes += req.rawBytes;
        } else {
          // A 429 (queue or in-flight budget full) is back-pressure: the sender waits and sends the next one.
          refused++;
          await new Promise((r) => setTimeout(r, 100));
        }
      }
    }),
  );
  const drainUntil = performance.now() + args.drainTimeoutS * 1000;
  while ((await queuedRecords(gateway)) > 0) {
    if (performance.now() > drainUntil) throw new Error(`${signal}: the gateway queue did not drain within ${args.drainTimeoutS} s`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return { signal, records, rawBytes, wallS: (performance.now() - t0) / 1000, cpuS: procStats(pid).cpuSeconds - cpu0, refused };
}

function fmt(n: number, digits = 0): string {
  return n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const storage = await startHeimdall({ timeoutMs: 60_000 });
  let gateway: HeimdallProcess | undefined;
  try {
    const forward = { batch_max_wait: '200ms', concurrency: 4 };
    gateway = await startHeimdall({
      args: ['--target', 'gateway'],
      config: {
        gateway: {
          forward: {
            metrics: [{ url: `${storage.httpUrl}/api/v1/push`, name: 'storage', ...forward }],
            logs: [{ url: `${storage.httpUrl}/loki/api/v1/push`, name: 'storage', ...forward }],
          },
        },
      },
      timeoutMs: 60_000,
    });
    const runs = [
      await runSignal(gateway, args, 'metrics (remote_write 1.0)', '/api/v1/push', { 'content-type': 'application/x-protobuf', 'x-prometheus-remote-write-version': '0.1.0' }, metricsRequest),
      await runSignal(gateway, args, 'logs (Loki push)', '/loki/api/v1/push', { 'content-type': 'application/x-protobuf' }, logsRequest),
    ];
    console.log(`\nGateway forwarding to a second Heimdall (${args.concurrency} senders × ${args.seconds} s per signal, ${args.recordsPerRequest} records per request; clock stops when the queue is empty)`);
    console.log(`machine: ${os.cpus().length} CPUs; load (uptime) ${os.loadavg().map((l) => l.toFixed(2)).join(', ')} — shared, timings are noisy\n`);
    const header = ['signal', 'records', 'records/s', 'MB/s', 'gateway CPU s', 'records/CPU-s', 'MB/CPU-s', '429s'];
    const rows = runs.map((r) => [
      r.signal,
      fmt(r.records),
      fmt(r.records / r.wallS),
      fmt(r.rawBytes / 1e6 / r.wallS, 2),
      fmt(r.cpuS, 1),
      fmt(r.records / Math.max(r.cpuS, 1e-3)),
      fmt(r.rawBytes / 1e6 / Math.max(r.cpuS, 1e-3), 2),
      String(r.refused),
    ]);
    const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
    const line = (cells: string[]): string => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
    console.log(line(header));
    for (const row of rows) console.log(line(row));
    // AGENT_SECTION: the node agent's CPU/RSS while tailing 200 files at 2 MB/s total goes here (issue 12).
  } finally {
    await gateway?.stop();
    await storage.stop();
  }
}

await main();
