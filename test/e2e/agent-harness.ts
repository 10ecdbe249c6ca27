import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { stringify as toYaml } from 'yaml';
import { GENEROUS_MS } from '../support/bounds.ts';
import { HEIMDALL_BIN } from './harness.ts';

/** A running `heimdall agent` child. */
export interface AgentProcess {
  readonly child: ChildProcess;
  output(): string;
  /** SIGTERM (clean stop) or SIGKILL (a crash); resolves on exit. */
  stop(signal?: NodeJS.Signals): Promise<void>;
}

/** Starts the real binary as `heimdall agent` with `config` (written beside the data dir) and waits for its ready line. */
export async function startAgent(dir: string, config: Record<string, unknown>): Promise<AgentProcess> {
  const file = path.join(dir, `agent-${Date.now()}.yaml`);
  writeFileSync(file, toYaml(config));
  const child = spawn(process.execPath, [HEIMDALL_BIN, 'agent', '--config', file], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env } });
  let out = '';
  child.stdout.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr.on('data', (c: Buffer) => (out += c.toString()));
  const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
  const deadline = Date.now() + GENEROUS_MS;
  while (!out.includes('Heimdall agent ready')) {
    if (child.exitCode !== null) assert.fail(`the agent exited (${child.exitCode}) before it was ready:\n${out}`);
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      assert.fail(`the agent was not ready within ${GENEROUS_MS} ms:\n${out}`);
    }
    await sleep(50);
  }
  return {
    child,
    output: () => out,
    async stop(signal = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      const killer = setTimeout(() => child.kill('SIGKILL'), GENEROUS_MS);
      await exited;
      clearTimeout(killer);
    },
  };
}

/**
 * Polls `probe` until `done` accepts its value (the data arrived), or fails after the generous bound showing
 * the last value seen.
 */
export async function waitUntil<T>(what: string, probe: () => Promise<T>, done: (v: T) => boolean): Promise<T> {
  const deadline = Date.now() + GENEROUS_MS;
  let last: T | undefined;
  let lastErr: unknown;
  for (;;) {
    try {
      last = await probe();
      if (done(last)) return last;
    } catch (err) {
      lastErr = err;
    }
    if (Date.now() > deadline) assert.fail(`${what}: not reached within ${GENEROUS_MS} ms; last value ${JSON.stringify(last)} ${lastErr ? String(lastErr) : ''}`);
    await sleep(200);
  }
}
