// Starting, measuring and stopping the servers under test. Loopback only; every process is stopped by PID.
import { execFileSync, spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';

const CLK_TCK = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100;

/** A running server under test. */
export interface Server {
  readonly name: string;
  readonly child: ChildProcess;
  readonly baseUrl: string;
  /** Remote-write path (remote_write 1.0). */
  readonly writePath: string;
  /** Prefix before `/api/v1/query_range`. */
  readonly queryPrefix: string;
  /** Extra query parameters (e.g. VictoriaMetrics' `nocache=1`). */
  readonly queryExtra: string;
  readonly dataDir: string;
  readonly logFile: string;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
  });
}

/** CPU seconds (user + system, all threads) and resident memory of a process. */
export function procStats(pid: number): { cpuSeconds: number; rssBytes: number } {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the parenthesised command name; utime and stime are fields 14 and 15.
  const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const utime = Number(rest[11]);
  const stime = Number(rest[12]);
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const rssKb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
  return { cpuSeconds: (utime + stime) / CLK_TCK, rssBytes: rssKb * 1024 };
}

/** Bytes of all files under `dir` (recursively), optionally skipping top-level entries. */
export function dirBytes(dir: string, skip: readonly string[] = []): number {
  let total = 0;
  const walk = (d: string, depth: number): void => {
    let entries: fs.Dirent[];
    try {
      entries = fs.readdirSync(d, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      if (depth === 0 && skip.includes(e.name)) continue;
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p, depth + 1);
      else if (e.isFile()) {
        try {
          total += fs.statSync(p).size;
        } catch {
          // removed while walking (a merge finished)
        }
      }
    }
  };
  walk(dir, 0);
  return total;
}

export function httpRequest(
  url: string,
  opts: { method?: string; body?: Buffer; headers?: Record<string, string>; agent?: http.Agent; timeoutMs?: number } = {},
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: opts.method ?? 'GET', headers: opts.headers, agent: opts.agent }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }));
      res.on('error', reject);
    });
    req.setTimeout(opts.timeoutMs ?? 300_000, () => req.destroy(new Error(`timeout: ${url}`)));
    req.on('error', reject);
    if (opts.body) req.end(opts.body);
    else req.end();
  });
}

async function waitReady(server: Server, path_: string, timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (let i = 0; Date.now() < deadline; i++) {
    if (server.child.exitCode !== null) throw new Error(`${server.name} exited with ${server.child.exitCode}; see ${server.logFile}`);
    try {
      const r = await httpRequest(server.baseUrl + path_, { timeoutMs: 2000 });
      if (r.status === 200) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`${server.name} not ready after ${timeoutMs} ms; see ${server.logFile}`);
}

function launch(name: string, cmd: string, args: string[], dataDir: string, extra: Omit<Server, 'name' | 'child' | 'dataDir' | 'logFile'>, cwd?: string): Server {
  fs.mkdirSync(dataDir, { recursive: true });
  const logFile = path.join(path.dirname(dataDir), `${name}.log`);
  const log = fs.openSync(logFile, 'w');
  const child = spawn(cmd, args, { stdio: ['ignore', log, log], cwd });
  fs.closeSync(log);
  return { name, child, dataDir, logFile, ...extra };
}

/** Starts Prometheus (`binary`, Debian's `prometheus` on PATH by default) with `config` as its prometheus.yml. */
export async function startPrometheus(workDir: string, opts: { binary?: string; config?: string } = {}): Promise<Server> {
  const port = await freePort();
  const dataDir = path.join(workDir, 'prometheus-data');
  const cfg = path.join(workDir, 'prometheus.yml');
  fs.writeFileSync(cfg, opts.config ?? 'global:\n  scrape_interval: 15s\nscrape_configs: []\n');
  const s = launch('prometheus', opts.binary ?? 'prometheus', [
    `--config.file=${cfg}`,
    `--storage.tsdb.path=${dataDir}`,
    `--web.listen-address=127.0.0.1:${port}`,
    '--web.enable-remote-write-receiver',
    '--web.enable-admin-api',
    '--storage.tsdb.retention.time=3650d',
  ], dataDir, { baseUrl: `http://127.0.0.1:${port}`, writePath: '/api/v1/write', queryPrefix: '', queryExtra: '' });
  await waitReady(s, '/-/ready');
  return s;
}

export async function startVictoria(workDir: string): Promise<Server> {
  const port = await freePort();
  const dataDir = path.join(workDir, 'victoria-data');
  const s = launch('victoria-metrics', 'victoria-metrics', [
    `-storageDataPath=${dataDir}`,
    `-httpListenAddr=127.0.0.1:${port}`,
    '-retentionPeriod=100y',
    '-search.latencyOffset=0s',
  ], dataDir, { baseUrl: `http://127.0.0.1:${port}`, writePath: '/api/v1/write', queryPrefix: '', queryExtra: '&nocache=1' });
  await waitReady(s, '/health');
  return s;
}

/** Starts Heimdall from `repoDir` with `config` as its YAML (by default: Mimir's per-tenant series limit lifted). */
export async function startHeimdall(
  workDir: string,
  repoDir: string,
  config = 'metrics:\n  limits:\n    max_global_series_per_user: 0\n',
  nodeArgs: readonly string[] = [],
): Promise<Server> {
  const port = await freePort();
  const grpc = await freePort();
  const otlp = await freePort();
  const dataDir = path.join(workDir, 'heimdall-data');
  // The load has 210k series: lift Mimir's default per-tenant series limit (150k), as for the peers.
  const cfg = path.join(workDir, 'heimdall.yaml');
  fs.writeFileSync(cfg, config);
  const s = launch('heimdall', process.execPath, [
    ...nodeArgs,
    path.join(repoDir, 'bin/heimdall.mjs'),
    'start',
    '--config', cfg,
    '--data-dir', dataDir,
    '--http-address', `127.0.0.1:${port}`,
    '--otlp-grpc-address', `127.0.0.1:${grpc}`,
    '--otlp-http-address', `127.0.0.1:${otlp}`,
  ], dataDir, { baseUrl: `http://127.0.0.1:${port}`, writePath: '/api/v1/push', queryPrefix: '/prometheus', queryExtra: '' }, repoDir);
  await waitReady(s, '/ready');
  return s;
}

/** SIGTERM by PID, then SIGKILL after `graceMs`. */
export async function stopServer(s: Pick<Server, 'child'>, graceMs = 60_000): Promise<void> {
  if (s.child.exitCode !== null || s.child.signalCode !== null) return;
  const exited = new Promise<void>((r) => s.child.once('exit', () => r()));
  process.kill(s.child.pid!, 'SIGTERM');
  const timer = setTimeout(() => {
    if (s.child.exitCode === null) process.kill(s.child.pid!, 'SIGKILL');
  }, graceMs);
  await exited;
  clearTimeout(timer);
}
