import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { REPO } from './harness.ts';

/** npm as the user runs it: the npm that runs these tests when there is one, else the one on PATH. */
function npmCommand(): [string, string[]] {
  const execPath = process.env.npm_execpath;
  return execPath?.endsWith('.js') ? [process.execPath, [execPath]] : ['npm', []];
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function portAccepts(hostPort: string): Promise<boolean> {
  const i = hostPort.lastIndexOf(':');
  return new Promise((resolve) => {
    const socket = net.connect({ host: hostPort.slice(0, i), port: Number(hostPort.slice(i + 1)) });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

test('npm start execs node: SIGTERM to the npm process reaches Heimdall, which drains, exits and closes its port', async () => {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'heimdall-npm-start-'));
  const [cmd, pre] = npmCommand();
  const npm = spawn(
    cmd,
    [...pre, 'start', '--silent', '--', '--data-dir', dataDir, '--http-address', '127.0.0.1:0', '--otlp-http-address', '127.0.0.1:0', '--otlp-grpc-address', '127.0.0.1:0'],
    { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, HEIMDALL_LOG_LEVEL: 'info' } },
  );
  let out = '';
  const npmExited = new Promise<void>((resolve) => npm.on('exit', () => resolve()));
  let serverPid: number | undefined;
  try {
    const ready = await new Promise<{ http: string; pid: number }>((resolve, reject) => {
      npm.stdout.on('data', (c: Buffer) => {
        out += c.toString();
        const line = out.split('\n').find((l) => l.includes('Heimdall ready') && l.endsWith('}'));
        if (line) resolve(JSON.parse(line) as { http: string; pid: number });
      });
      npm.stderr.on('data', (c: Buffer) => (out += c.toString()));
      void npmExited.then(() => reject(new Error(`npm start exited before Heimdall was ready:\n${out}`)));
    });
    serverPid = ready.pid;
    assert.notEqual(serverPid, npm.pid, 'the server runs in its own process under npm');
    assert.equal((await fetch(`http://${ready.http}/ready`)).status, 200);

    npm.kill('SIGTERM');
    await npmExited;
    // npm waits for its script; the server may still be finishing its drain. Wait for it to be gone (bounded).
    for (let i = 0; i < 600 && isAlive(serverPid); i++) await sleep(50);
    assert.equal(isAlive(serverPid), false, `the server (pid ${serverPid}) outlived npm start:\n${out}`);
    assert.equal(await portAccepts(ready.http), false, 'the HTTP port is closed');
    assert.match(out, /shutting down: draining requests/);
    assert.match(out, /stopped cleanly/);
  } finally {
    if (serverPid !== undefined && isAlive(serverPid)) process.kill(serverPid, 'SIGKILL');
    if (npm.exitCode === null && npm.signalCode === null) npm.kill('SIGKILL');
    rmSync(dataDir, { recursive: true, force: true });
  }
});
