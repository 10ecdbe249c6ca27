// Agent CPU and memory while tailing 200 pod log files written at 2 MB/s in total (the issue's target), sending
// through its forwarding queue to a real Heimdall over Loki push. Bounded: a fixed duration (default 20 s,
// `--seconds N`), a fixed number of files; every process started is stopped by PID. Prints a table with the
// machine's load beside it; timings on a shared machine are noisy.
import { appendFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { startAgent } from '../../test/e2e/agent-harness.ts';
import { startHeimdall } from '../../test/e2e/harness.ts';

const FILES = 200;
const BYTES_PER_SECOND = 2 * 1024 * 1024;
const secondsArg = process.argv.indexOf('--seconds');
const SECONDS = secondsArg > 0 ? Number(process.argv[secondsArg + 1]) : 20;
const LINE_PAD = 'x'.repeat(180);
const TICK_MS = 100;

/** utime + stime of a process in seconds (clock ticks of 1/100 s) and its resident set in bytes. */
function usage(pid: number): { cpuSeconds: number; rssBytes: number; peakRssBytes: number } {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const cpuSeconds = (Number(f[11]) + Number(f[12])) / 100;
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (key: string): number => Number(new RegExp(`${key}:\\s+(\\d+)`).exec(status)?.[1] ?? 0) * 1024;
  return { cpuSeconds, rssBytes: kb('VmRSS'), peakRssBytes: kb('VmHWM') };
}

function criLine(n: number, file: number): string {
  return `${new Date().toISOString()} stdout F {"level":"info","file":${file},"n":${n},"msg":"${LINE_PAD}"}\n`;
}

async function main(): Promise<void> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'heimdall-bench-agent-'));
  const server = await startHeimdall({ timeoutMs: 60_000 });
  const files: string[] = [];
  for (let i = 0; i < FILES; i++) {
    const d = path.join(dir, 'pods', `ns-${i % 10}_app-${i}-abcde_uid${i}`, 'app');
    mkdirSync(d, { recursive: true });
    files.push(path.join(d, '0.log'));
    appendFileSync(files[i]!, '');
  }
  const agent = await startAgent(dir, {
    data_dir: path.join(dir, 'agent-data'),
    node_name: 'bench-node',
    forward: { logs: [{ url: `${server.httpUrl}/loki/api/v1/push` }] },
    host_metrics: { enabled: false },
    pod_logs: { pods_dir: path.join(dir, 'pods') },
    system_logs: { paths: [] },
    self_metrics: { listen_address: '127.0.0.1:0' },
  });
  const selfMetricsUrl = /"selfMetrics":"(http:[^"]+)"/.exec(agent.output())?.[1];
  if (selfMetricsUrl === undefined) throw new Error(`the agent printed no self-metrics address:\n${agent.output()}`);
  const pid = agent.child.pid!;
  const before = usage(pid);
  const started = Date.now();
  let written = 0;
  let lines = 0;
  const bytesPerTickPerFile = BYTES_PER_SECOND / (1000 / TICK_MS) / FILES;
  const owed = new Array<number>(FILES).fill(0);
  try {
    while (Date.now() - started < SECONDS * 1000) {
      const tickStart = Date.now();
      for (let i = 0; i < FILES; i++) {
        // Each file owes its share of the rate; whole lines are written and the difference carried over.
        owed[i]! += bytesPerTickPerFile;
        let chunk = '';
        while (owed[i]! - chunk.length > 0) chunk += criLine(lines++, i);
        owed[i]! -= chunk.length;
        appendFileSync(files[i]!, chunk);
        written += chunk.length;
      }
      await sleep(Math.max(0, TICK_MS - (Date.now() - tickStart)));
    }
    const elapsed = (Date.now() - started) / 1000;
    // Wait for delivery, not for a fixed time: until the tailer has read every byte written (its positions file)
    // and its forwarding queue is empty (its self-metrics), bounded; then count what the server stored. Lines
    // still missing then are lost, not late.
    const positionsFile = path.join(dir, 'agent-data', 'positions.json');
    const readBytes = (): number => {
      try {
        const doc = JSON.parse(readFileSync(positionsFile, 'utf8')) as { files: Record<string, { offset: number }> };
        return Object.values(doc.files).reduce((sum, f) => sum + f.offset, 0);
      } catch {
        return 0;
      }
    };
    const queued = async (): Promise<number> => {
      const text = await (await fetch(selfMetricsUrl)).text();
      return Number(/^heimdall_forward_queue_records\{[^}]*\} (\S+)/m.exec(text)?.[1] ?? 0);
    };
    const drainDeadline = Date.now() + 300_000;
    while (Date.now() < drainDeadline && (readBytes() < written || (await queued()) > 0)) await sleep(250);
    const caughtUp = readBytes() >= written && (await queued()) === 0;
    const catchUpSeconds = (Date.now() - started) / 1000 - elapsed;
    let arrived = 0;
    // The server's answer may trail its ingestion by a moment: re-query briefly until the count holds.
    for (let i = 0; i < 20; i++) {
      const q = new URLSearchParams({ query: 'sum(count_over_time({node="bench-node"}[1h]))' });
      const res = await fetch(`${server.httpUrl}/loki/api/v1/query?${q}`);
      const body = (await res.json()) as { data: { result: { value: [number, string] }[] } };
      const n = Number(body.data.result[0]?.value[1] ?? 0);
      if (n === arrived && n >= lines) break;
      arrived = n;
      await sleep(500);
    }
    const after = usage(pid);
    const cpu = after.cpuSeconds - before.cpuSeconds;
    const wall = (Date.now() - started) / 1000;
    const mb = (b: number): string => (b / 1024 / 1024).toFixed(1);
    console.log(`\nAgent tailing ${FILES} files, ${mb(written)} MB in ${elapsed.toFixed(1)} s (${mb(written / elapsed)} MB/s), Loki push to a local Heimdall`);
    console.log(`machine load (uptime): ${os.loadavg().map((l) => l.toFixed(2)).join(' ')} on ${os.cpus().length} cores — shared machine, numbers are noisy\n`);
    console.log('| measure | value | target |');
    console.log('|---|---|---|');
    console.log(`| lines delivered / written | ${arrived} / ${lines}${arrived === lines ? '' : ` (${lines - arrived} missing)`} | all |`);
    console.log(`| agent caught up (read everything, queue empty) | ${caughtUp ? `yes, ${catchUpSeconds.toFixed(1)} s after writing stopped` : 'no, within 300 s'} | — |`);
    console.log(`| agent CPU, share of one core over ${wall.toFixed(1)} s (writing + sending the rest) | ${((cpu / wall) * 100).toFixed(1)} % | — |`);
    console.log(`| agent CPU seconds per MB tailed | ${(cpu / (written / 1024 / 1024)).toFixed(3)} s | — |`);
    console.log(`| agent RSS at end / peak | ${mb(after.rssBytes)} MB / ${mb(after.peakRssBytes)} MB | — |`);
  } finally {
    await agent.stop();
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
