// Locates the Go-built real clients the e2e tests drive (Prometheus 3, promtool, telemetrygen): in PATH
// or in `$(go env GOPATH)/bin`, where `go install` (and `.ci/run`) puts them; starts a Prometheus (3, or Debian's)
// and the scrape target it reads.
import { execFileSync, spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { accessSync, constants, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { stringify as toYaml } from 'yaml';
import { GENEROUS_MS } from '../support/bounds.ts';

function goBinDir(): string | undefined {
  try {
    const gopath = execFileSync('go', ['env', 'GOPATH'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 20_000 }).trim();
    if (gopath) return path.join(gopath.split(path.delimiter)[0]!, 'bin');
  } catch {
    /* no Go toolchain: GOPATH's default below */
  }
  return path.join(os.homedir(), 'go', 'bin');
}

/** Whether `file` exists and may be executed. */
export function executable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * The first executable `name` in `$(go env GOPATH)/bin` then PATH that `accept` takes (for instance a version
 * check), or undefined.
 */
export function findGoTool(name: string, accept: (file: string) => boolean = () => true): string | undefined {
  const dirs = [goBinDir(), ...(process.env.PATH ?? '').split(path.delimiter)].filter((d): d is string => !!d);
  for (const dir of new Set(dirs)) {
    const file = path.join(dir, name);
    if (executable(file) && accept(file)) return file;
  }
  return undefined;
}

/**
 * The skip reason of a test needing `file`: false when present; the reason when absent outside CI. In CI
 * (`CI` set) a missing tool is not a skip: the test runs and fails on the missing binary.
 */
export function skipUnlessFound(file: string | undefined, what: string, install: string): string | false {
  if (file !== undefined || process.env.CI) return false;
  return `${what} is not installed (${install}); .ci/run builds it`;
}

/** A free loopback port, for a process that needs its own port in its configuration before it starts. */
export async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : 0;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** A Go peer (Prometheus, VictoriaLogs, ...) started by {@link startGoPeer}. */
export interface GoPeerProcess {
  /** Its HTTP API, e.g. `http://127.0.0.1:PORT`. */
  readonly url: string;
  readonly child: ChildProcess;
  /** Everything it printed so far (for assertion messages). */
  output(): string;
  /** Stops it by its PID (SIGTERM, SIGKILL after 10 s) and removes its directory. */
  stop(): Promise<void>;
}

/** A Prometheus started by {@link startPrometheus}. */
export type PrometheusProcess = GoPeerProcess;

/**
 * Starts the peer binary `bin` named `what` on a free loopback port with `args(dir, port)` (`dir` is a temp
 * directory for its data, removed on stop); resolves once `readyPath` answers 200 (within {@link GENEROUS_MS}).
 */
export async function startGoPeer(what: string, bin: string, args: (dir: string, port: number) => readonly string[], readyPath: string): Promise<GoPeerProcess> {
  const dir = mkdtempSync(path.join(os.tmpdir(), `heimdall-${what}-`));
  const port = await freePort();
  const child = spawn(bin, [...args(dir, port)], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr.on('data', (c: Buffer) => (out += c.toString()));
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.kill('SIGTERM');
      const killer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(killer);
    }
    rmSync(dir, { recursive: true, force: true });
  };
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + GENEROUS_MS;
  for (;;) {
    if (child.exitCode !== null) {
      await stop();
      throw new Error(`${what} exited (${child.exitCode}):\n${out}`);
    }
    try {
      if ((await fetch(`${url}${readyPath}`)).status === 200) break;
    } catch {
      /* not listening yet */
    }
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`${what} not ready within ${GENEROUS_MS / 1000} s:\n${out}`);
    }
    await sleep(200);
  }
  return { url, child, output: () => out, stop };
}

/**
 * Starts the Prometheus binary `bin` on a free loopback port with `config(port)` as its prometheus.yml and its TSDB
 * in a temp directory, plus `args`; resolves once `/-/ready` answers 200 (within {@link GENEROUS_MS}).
 */
export function startPrometheus(
  bin: string,
  config: (port: number) => Record<string, unknown>,
  args: readonly string[] = [],
): Promise<PrometheusProcess> {
  return startGoPeer(
    'prometheus',
    bin,
    (dir, port) => {
      writeFileSync(path.join(dir, 'prometheus.yml'), toYaml(config(port)));
      return [
        `--config.file=${path.join(dir, 'prometheus.yml')}`,
        `--storage.tsdb.path=${path.join(dir, 'data')}`,
        `--web.listen-address=127.0.0.1:${port}`,
        '--log.level=warn',
        ...args,
      ];
    },
    '/-/ready',
  );
}

/** Starts VictoriaLogs (`victoria-logs`) on a free loopback port with its data in a temp directory. */
export function startVictoriaLogs(bin: string): Promise<GoPeerProcess> {
  return startGoPeer('victoria-logs', bin, (dir, port) => [`-httpListenAddr=127.0.0.1:${port}`, `-storageDataPath=${path.join(dir, 'data')}`, '-loggerLevel=WARN'], '/health');
}

/** A scrape target started by {@link startScrapeTarget}. */
export interface ScrapeTarget {
  readonly port: number;
  /** Closes the server and its open connections. */
  close(): Promise<void>;
}

/** Serves OpenMetrics text on a loopback port: `render(n)` is the body of the n-th scrape (from 1). */
export function startScrapeTarget(render: (scrape: number) => string): Promise<ScrapeTarget> {
  let scrapes = 0;
  const server = http.createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/openmetrics-text; version=1.0.0; charset=utf-8' });
    res.end(render(++scrapes));
  });
  const close = async (): Promise<void> => {
    if (!server.listening) return;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeAllConnections();
    await closed;
  };
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => {
      const addr = server.address();
      resolve({ port: typeof addr === 'object' && addr ? addr.port : 0, close });
    }),
  );
}

/** A Jaeger v2 started by {@link startJaeger}: `url` is its query service (HTTP API and UI). */
export interface JaegerProcess extends GoPeerProcess {
  /** Its OTLP/gRPC receiver, `http://127.0.0.1:PORT`. */
  readonly otlpGrpcUrl: string;
  /** Its OTLP/HTTP receiver's traces path. */
  readonly otlpHttpUrl: string;
}

/**
 * Starts Jaeger v2 (`jaeger`, the OpenTelemetry-Collector-based binary) as all-in-one with in-memory storage: OTLP
 * receivers and the query service on free loopback ports, no self-metrics listener (its default :8888 would clash).
 */
export async function startJaeger(bin: string): Promise<JaegerProcess> {
  const [grpcPort, httpPort, queryGrpcPort, healthPort] = [await freePort(), await freePort(), await freePort(), await freePort()];
  const peer = await startGoPeer(
    'jaeger',
    bin,
    (dir, port) => {
      const config = {
        service: {
          extensions: ['jaeger_storage', 'jaeger_query', 'healthcheckv2'],
          pipelines: { traces: { receivers: ['otlp'], processors: [], exporters: ['jaeger_storage_exporter'] } },
          telemetry: { metrics: { level: 'none' }, logs: { level: 'warn' } },
        },
        extensions: {
          healthcheckv2: { use_v2: true, http: { endpoint: `127.0.0.1:${healthPort}` } },
          jaeger_query: { storage: { traces: 'memstore' }, http: { endpoint: `127.0.0.1:${port}` }, grpc: { endpoint: `127.0.0.1:${queryGrpcPort}` } },
          jaeger_storage: { backends: { memstore: { memory: { max_traces: 10_000 } } } },
        },
        receivers: { otlp: { protocols: { grpc: { endpoint: `127.0.0.1:${grpcPort}` }, http: { endpoint: `127.0.0.1:${httpPort}` } } } },
        exporters: { jaeger_storage_exporter: { trace_storage: 'memstore' } },
      };
      writeFileSync(path.join(dir, 'jaeger.yaml'), toYaml(config));
      return [`--config=${path.join(dir, 'jaeger.yaml')}`];
    },
    '/api/services',
  );
  return { ...peer, otlpGrpcUrl: `http://127.0.0.1:${grpcPort}`, otlpHttpUrl: `http://127.0.0.1:${httpPort}/v1/traces` };
}
