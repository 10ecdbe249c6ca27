import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { stringify as toYaml } from 'yaml';
import { GENEROUS_MS } from '../support/bounds.ts';

/** The repository root (where `npm start` runs). */
export const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
/** The real binary as users run it: the code compiled into dist/ (`npm test` rebuilds it before any test). */
export const HEIMDALL_BIN = path.join(REPO, 'bin', 'heimdall.mjs');

export interface StartOptions {
  /** Extra CLI arguments after `start`. */
  readonly args?: readonly string[];
  readonly env?: Readonly<Record<string, string>>;
  /** Written to a YAML file passed with `--config`. */
  readonly config?: Record<string, unknown>;
  /** Reuse a data directory (e.g. to test restart); a fresh temp dir otherwise. */
  readonly dataDir?: string;
  /** Milliseconds to wait for the ready line and `/ready` (a bound for a loaded machine, not a performance check). */
  readonly timeoutMs?: number;
  /** Run as this user and group (the test must be root), e.g. to make a directory unwritable for it. */
  readonly user?: { readonly uid: number; readonly gid: number };
  /** Options for node itself, before the script (e.g. `--cpu-prof`, which NODE_OPTIONS refuses). */
  readonly nodeArgs?: readonly string[];
}

/** A running Heimdall child process on free loopback ports. */
export interface HeimdallProcess {
  readonly httpUrl: string;
  readonly otlpHttpUrl: string;
  readonly otlpGrpcAddress: string;
  readonly dataDir: string;
  readonly child: ChildProcess;
  /** Everything the process printed so far (stdout and stderr). */
  output(): string;
  /**
   * Resolves once the output matches `pattern` (log lines arrive after the event that caused them); rejects
   * after `timeoutMs`, a generous bound only reached when the line never comes.
   */
  waitForOutput(pattern: RegExp, timeoutMs?: number): Promise<void>;
  /** Sends `signal` (SIGTERM by default) and waits for exit. Removes a temp data dir unless `keepData`. */
  stop(opts?: { signal?: NodeJS.Signals; keepData?: boolean }): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Result of a process that exited on its own (e.g. a refused config). */
export interface ExitResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs `heimdall <args>` to completion (bounded by `timeoutMs`). */
export function runHeimdall(args: readonly string[], env: Record<string, string> = {}, timeoutMs = GENEROUS_MS): Promise<ExitResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [HEIMDALL_BIN, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`heimdall ${args.join(' ')} did not exit within ${timeoutMs} ms:\n${stdout}\n${stderr}`));
    }, timeoutMs);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** Starts the real binary with a temp data dir on 127.0.0.1:0 ports and waits until `/ready` answers 200. */
export async function startHeimdall(opts: StartOptions = {}): Promise<HeimdallProcess> {
  const ownDir = opts.dataDir === undefined;
  const dataDir = opts.dataDir ?? mkdtempSync(path.join(os.tmpdir(), 'heimdall-e2e-'));
  const args = [
    ...(opts.nodeArgs ?? []),
    HEIMDALL_BIN,
    'start',
    '--data-dir', dataDir,
    '--http-address', '127.0.0.1:0',
    '--otlp-http-address', '127.0.0.1:0',
    '--otlp-grpc-address', '127.0.0.1:0',
    ...(opts.args ?? []),
  ];
  if (opts.config) {
    const file = path.join(dataDir, `config-${Date.now()}.yaml`);
    writeFileSync(file, toYaml(opts.config));
    args.push('--config', file);
  }
  const child = spawn(process.execPath, args, {
    env: { ...process.env, HEIMDALL_LOG_LEVEL: process.env.HEIMDALL_LOG_LEVEL ?? 'info', ...opts.env },
    stdio: ['ignore', 'pipe', 'pipe'],
    ...(opts.user ? { uid: opts.user.uid, gid: opts.user.gid } : {}),
  });
  let out = '';
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('exit', (code, signal) => resolve({ code, signal })),
  );
  const ready = new Promise<{ http: string; otlpHttp: string; otlpGrpc: string }>((resolve, reject) => {
    const onData = (c: Buffer): void => {
      out += c.toString();
      for (const line of out.split('\n')) {
        if (!line.includes('Heimdall ready')) continue;
        try {
          const rec = JSON.parse(line) as { http: string; otlpHttp: string; otlpGrpc: string };
          resolve(rec);
        } catch {
          /* a partial line; wait for the rest */
        }
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', (c: Buffer) => (out += c.toString()));
    void exited.then((r) => reject(new Error(`heimdall exited (${r.code ?? r.signal}) before it was ready:\n${out}`)));
  });
  const timeoutMs = opts.timeoutMs ?? GENEROUS_MS;
  let timer: NodeJS.Timeout | undefined;
  const addrs = await Promise.race([
    ready,
    new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`heimdall not ready within ${timeoutMs} ms:\n${out}`)), timeoutMs))),
  ]).catch((err: unknown) => {
    child.kill('SIGKILL');
    if (ownDir) rmSync(dataDir, { recursive: true, force: true });
    throw err;
  });
  clearTimeout(timer);
  const httpUrl = `http://${addrs.http}`;
  const res = await fetch(`${httpUrl}/ready`);
  if (res.status !== 200) throw new Error(`/ready answered ${res.status} after the ready line`);
  return {
    httpUrl,
    otlpHttpUrl: `http://${addrs.otlpHttp}`,
    otlpGrpcAddress: addrs.otlpGrpc,
    dataDir,
    child,
    output: () => out,
    waitForOutput(pattern, waitMs = GENEROUS_MS) {
      if (pattern.test(out)) return Promise.resolve();
      return new Promise((resolve, reject) => {
        const onData = (): void => {
          if (!pattern.test(out)) return;
          cleanup();
          resolve();
        };
        const timer = setTimeout(() => {
          cleanup();
          reject(new Error(`no output matching ${pattern} within ${waitMs} ms:\n${out}`));
        }, waitMs);
        const cleanup = (): void => {
          clearTimeout(timer);
          child.stdout.off('data', onData);
          child.stderr.off('data', onData);
        };
        // Registered after the harness's own listeners, so `out` already holds the new chunk.
        child.stdout.on('data', onData);
        child.stderr.on('data', onData);
      });
    },
    async stop({ signal = 'SIGTERM', keepData = false } = {}) {
      // A test may already have signalled the process itself; a second signal would skip the drain.
      if (child.exitCode === null && child.signalCode === null && !child.killed) child.kill(signal);
      // Past the drain's own bound (server.shutdown_timeout, 30 s), with room for a loaded machine.
      const killer = setTimeout(() => child.kill('SIGKILL'), GENEROUS_MS);
      const result = await exited;
      clearTimeout(killer);
      if (ownDir && !keepData) rmSync(dataDir, { recursive: true, force: true });
      return result;
    },
  };
}
