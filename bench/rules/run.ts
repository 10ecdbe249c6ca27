// Rules benchmark: 1,000 recording rules over 10,000 series, evaluated by Heimdall's ruler and by Prometheus
// on the same rule file and the same data (remote_write into both), in the same run.
// Usage: npm run bench:rules [-- --rounds N]   (Prometheus: $(go env GOPATH)/bin/prometheus, else PATH)
//
// What is measured: milliseconds per evaluation round (the sum of the last evaluation durations of the ten
// groups, as each server reports them in its self-metrics: heimdall_rule_group_last_duration_seconds,
// prometheus_rule_group_last_duration_seconds), averaged over `rounds` rounds after a warm-up round, and the
// CPU seconds each process used per round. Timings are noisy on a shared machine: the load is printed beside.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { encodeRequests } from '../metrics/load.ts';
import type { BenchSeries } from '../metrics/load.ts';
import { httpRequest, procStats, startHeimdall, startPrometheus, stopServer } from '../metrics/servers.ts';
import type { Server } from '../metrics/servers.ts';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const SHARDS = 100;
const INSTANCES = 100; // 100 × 100 = 10,000 series
const GROUPS = 10;
const RULES_PER_GROUP = 100; // 1,000 rules
const STEP_MS = 15_000;
const STEPS = 21; // five minutes of samples, the last one just before the rules start
const INTERVAL = '10s';
const rounds = Number(process.argv[process.argv.indexOf('--rounds') + 1]) || 3;

function series(): BenchSeries[] {
  const out: BenchSeries[] = [];
  for (let s = 0; s < SHARDS; s++) {
    for (let i = 0; i < INSTANCES; i++) {
      out.push({
        labels: [
          { name: '__name__', value: 'bench_requests_total' },
          { name: 'shard', value: `s${s}` },
          { name: 'instance', value: `i${i}` },
          { name: 'job', value: `job${i % 10}` },
        ],
        kind: 'counter',
        seed: s * INSTANCES + i + 1,
      });
    }
  }
  return out;
}

/** Ten groups of a hundred recording rules; each rule reads one shard (100 series) in one of four shapes. */
function ruleFile(): string {
  const shapes = [
    (s: number) => `sum by (job) (rate(bench_requests_total{shard="s${s}"}[5m]))`,
    (s: number) => `max by (instance) (increase(bench_requests_total{shard="s${s}"}[5m]))`,
    (s: number) => `avg(irate(bench_requests_total{shard="s${s}"}[2m]))`,
    (s: number) => `count by (job) (bench_requests_total{shard="s${s}"} > 1000)`,
  ];
  const lines = ['groups:'];
  for (let g = 0; g < GROUPS; g++) {
    lines.push(`  - name: bench-${g}`, `    interval: ${INTERVAL}`, '    rules:');
    for (let r = 0; r < RULES_PER_GROUP; r++) {
      const k = g * RULES_PER_GROUP + r;
      lines.push(`      - record: bench:rule_${k}`, `        expr: ${JSON.stringify(shapes[k % shapes.length]!(k % SHARDS))}`);
    }
  }
  return `${lines.join('\n')}\n`;
}

function prometheusBinary(): string {
  try {
    const gopath = execFileSync('go', ['env', 'GOPATH']).toString().trim();
    const bin = path.join(gopath, 'bin', 'prometheus');
    if (fs.existsSync(bin)) return bin;
  } catch {
    // no Go toolchain
  }
  return 'prometheus';
}

async function write(server: Server, bodies: Buffer[]): Promise<void> {
  for (const body of bodies) {
    const r = await httpRequest(server.baseUrl + server.writePath, {
      method: 'POST',
      body,
      headers: { 'Content-Type': 'application/x-protobuf', 'Content-Encoding': 'snappy', 'X-Prometheus-Remote-Write-Version': '0.1.0' },
    });
    if (r.status >= 300) throw new Error(`${server.name} refused a write: ${r.status} ${r.body.slice(0, 200)}`);
  }
}

/** Per group: its last evaluation time and duration (seconds), from the server's own /metrics. */
async function groupStats(server: Server, prefix: string): Promise<Map<string, { at: number; seconds: number }>> {
  const text = (await httpRequest(`${server.baseUrl}/metrics`)).body;
  const out = new Map<string, { at: number; seconds: number }>();
  const read = (metric: string, key: 'at' | 'seconds'): void => {
    const re = new RegExp(`^${prefix}_rule_group_${metric}\\{[^}]*rule_group="([^"]+)"[^}]*\\} (\\S+)$`, 'gm');
    for (const m of text.matchAll(re)) {
      const e = out.get(m[1]!) ?? { at: 0, seconds: 0 };
      e[key] = Number(m[2]);
      out.set(m[1]!, e);
    }
  };
  read('last_evaluation_timestamp_seconds', 'at');
  read('last_duration_seconds', 'seconds');
  return out;
}

/** Waits for `rounds` complete rounds after a warm-up one; returns the mean ms per round and CPU s per round. */
async function measure(server: Server, prefix: string): Promise<{ msPerRound: number; cpuPerRound: number; rounds: number[] }> {
  const seen = new Map<string, number[]>();
  let cpuStart: number | undefined;
  const deadline = Date.now() + (rounds + 4) * 10_000 * 6;
  for (;;) {
    if (Date.now() > deadline) throw new Error(`${server.name}: rules did not complete ${rounds + 1} rounds in time`);
    const stats = await groupStats(server, prefix);
    for (const [group, { at, seconds }] of stats) {
      if (at === 0) continue;
      const list = seen.get(group) ?? [];
      if (list.length === 0 || list[list.length - 1] !== at) {
        list.push(at);
        seen.set(group, list);
        durations.set(`${server.name}/${group}/${list.length}`, seconds);
      }
    }
    const complete = seen.size === GROUPS ? Math.min(...[...seen.values()].map((l) => l.length)) : 0;
    if (complete >= 1 && cpuStart === undefined) cpuStart = procStats(server.child.pid!).cpuSeconds;
    if (complete >= rounds + 1) break;
    await new Promise((r) => setTimeout(r, 500));
  }
  const cpuPerRound = (procStats(server.child.pid!).cpuSeconds - cpuStart!) / rounds;
  const perRound: number[] = [];
  for (let n = 2; n <= rounds + 1; n++) {
    let sum = 0;
    for (const group of seen.keys()) sum += durations.get(`${server.name}/${group}/${n}`) ?? 0;
    perRound.push(sum * 1000);
  }
  return { msPerRound: perRound.reduce((a, b) => a + b, 0) / perRound.length, cpuPerRound, rounds: perRound };
}
const durations = new Map<string, number>();

async function main(): Promise<void> {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'heimdall-bench-rules-'));
  const ruleDir = path.join(work, 'rules');
  fs.mkdirSync(ruleDir);
  const rulesPath = path.join(ruleDir, 'bench.yaml');
  fs.writeFileSync(rulesPath, ruleFile());
  for (const d of ['p', 'h']) fs.mkdirSync(path.join(work, d));
  // Each server in turn, alone on the machine: fresh data ending now (the rules read "now"), then the rules.
  const loadNow = (): Buffer[] => encodeRequests(series(), STEPS, Date.now() - 5_000 - (STEPS - 1) * STEP_MS, STEP_MS, 'low', 2000).bodies;
  const results: Record<string, Awaited<ReturnType<typeof measure>>> = {};
  try {
    const prometheus = await startPrometheus(path.join(work, 'p'), { binary: prometheusBinary(), config: `global:\n  evaluation_interval: ${INTERVAL}\nrule_files: []\n` });
    try {
      await write(prometheus, loadNow());
      fs.writeFileSync(path.join(work, 'p', 'prometheus.yml'), `global:\n  evaluation_interval: ${INTERVAL}\nrule_files: [${JSON.stringify(rulesPath)}]\n`);
      process.kill(prometheus.child.pid!, 'SIGHUP'); // Prometheus rereads its configuration (and rule files) on SIGHUP
      results['prometheus'] = await measure(prometheus, 'prometheus');
    } finally {
      await stopServer(prometheus);
    }
    const hRules = path.join(work, 'h-rules');
    fs.mkdirSync(hRules, { recursive: true });
    const heimdall = await startHeimdall(path.join(work, 'h'), REPO, `rules:\n  evaluation_interval: ${INTERVAL}\n  dir: ${JSON.stringify(hRules)}\n  dir_poll_interval: 1s\n`);
    try {
      await write(heimdall, loadNow());
      fs.copyFileSync(rulesPath, path.join(hRules, 'bench.yaml'));
      results['heimdall'] = await measure(heimdall, 'heimdall');
    } finally {
      await stopServer(heimdall);
    }
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
  const h = results['heimdall'];
  const p = results['prometheus'];
  console.log(`\n1,000 recording rules (10 groups × 100) over 10,000 series, ${rounds} rounds after a warm-up; each server alone, one after the other, on fresh data`);
  console.log(`machine load: ${os.loadavg().map((l) => l.toFixed(2)).join(' ')} (uptime: ${execFileSync('uptime').toString().trim()})\n`);
  console.log('| metric | Heimdall | Prometheus | Heimdall/Prometheus |');
  console.log('|---|---|---|---|');
  console.log(`| ms per evaluation round (sum of group durations) | ${h.msPerRound.toFixed(0)} | ${p.msPerRound.toFixed(0)} | ${(h.msPerRound / p.msPerRound).toFixed(1)}× |`);
  console.log(`| CPU seconds per round (whole process) | ${h.cpuPerRound.toFixed(2)} | ${p.cpuPerRound.toFixed(2)} | ${(h.cpuPerRound / p.cpuPerRound).toFixed(1)}× |`);
  console.log(`\nrounds (ms): Heimdall ${h.rounds.map((r) => r.toFixed(0)).join(', ')}; Prometheus ${p.rounds.map((r) => r.toFixed(0)).join(', ')}`);
}

await main();
