// Start-up time of the real binary: spawn → the "Heimdall ready" log line → first `/ready` 200, and how long
// `heimdall --help` takes, as the median of N runs, for the compiled code (dist/) and the TypeScript sources
// run through tsx (HEIMDALL_FROM_SOURCE=1). Each run uses a fresh empty data directory on loopback ports.
//
//   npm run bench:startup                     # 7 runs per mode
//   npm run bench:startup -- --runs 15 --modes compiled
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const BIN = path.join(REPO, 'bin', 'heimdall.mjs');

type Mode = 'compiled' | 'source';
const MODE_ENV: Record<Mode, Record<string, string>> = { compiled: {}, source: { HEIMDALL_FROM_SOURCE: '1' } };

interface StartTiming {
  readyLineMs: number;
  readyHttpMs: number;
}

/** Milliseconds since `t0` (hrtime). */
function since(t0: bigint): number {
  return Number(process.hrtime.bigint() - t0) / 1e6;
}

async function timeHelp(mode: Mode): Promise<number> {
  const t0 = process.hrtime.bigint();
  await new Promise<void>((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, '--help'], { env: { ...process.env, ...MODE_ENV[mode] }, stdio: 'ignore' });
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`--help exited ${code}`))));
  });
  return since(t0);
}

async function timeStart(mode: Mode): Promise<StartTiming> {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'heimdall-bench-startup-'));
  const t0 = process.hrtime.bigint();
  const child = spawn(
    process.execPath,
    [BIN, 'start', '--data-dir', dataDir, '--http-address', '127.0.0.1:0', '--otlp-http-address', '127.0.0.1:0', '--otlp-grpc-address', '127.0.0.1:0'],
    { env: { ...process.env, ...MODE_ENV[mode], HEIMDALL_LOG_LEVEL: 'info' }, stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
  try {
    const { http, readyLineMs } = await new Promise<{ http: string; readyLineMs: number }>((resolve, reject) => {
      let out = '';
      child.stdout.on('data', (c: Buffer) => {
        out += c.toString();
        const line = out.split('\n').find((l) => l.includes('Heimdall ready') && l.endsWith('}'));
        if (line) resolve({ http: (JSON.parse(line) as { http: string }).http, readyLineMs: since(t0) });
      });
      void exited.then(() => reject(new Error(`heimdall exited before it was ready:\n${out}`)));
    });
    for (let attempt = 0; attempt < 1000; attempt++) {
      const res = await fetch(`http://${http}/ready`);
      await res.arrayBuffer();
      if (res.status === 200) return { readyLineMs, readyHttpMs: since(t0) };
      await new Promise((r) => setTimeout(r, 5));
    }
    throw new Error('/ready never answered 200');
  } finally {
    child.kill('SIGTERM');
    await exited;
    rmSync(dataDir, { recursive: true, force: true });
  }
}

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

const { values } = parseArgs({
  options: { runs: { type: 'string', default: '7' }, modes: { type: 'string', default: 'compiled,source' } },
});
const runs = Number(values.runs);
const modes = values.modes.split(',') as Mode[];
console.log(`start-up of ${BIN}; ${runs} runs per mode; load average ${os.loadavg().map((l) => l.toFixed(2)).join(' ')} on ${os.cpus().length} cores`);
console.log('mode       --help ms   ready line ms   /ready 200 ms');
for (const mode of modes) {
  if (!(mode in MODE_ENV)) throw new Error(`unknown mode ${mode}: compiled or source`);
  const help: number[] = [];
  const line: number[] = [];
  const ready: number[] = [];
  for (let i = 0; i < runs; i++) {
    help.push(await timeHelp(mode));
    const t = await timeStart(mode);
    line.push(t.readyLineMs);
    ready.push(t.readyHttpMs);
  }
  console.log(`${mode.padEnd(10)} ${median(help).toFixed(0).padStart(9)} ${median(line).toFixed(0).padStart(15)} ${median(ready).toFixed(0).padStart(15)}`);
}
