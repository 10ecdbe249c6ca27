import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { startHeimdall } from './harness.ts';

/**
 * Sends a POST whose body arrives in two halves, calling `between` after the first half. The request carries
 * `Expect: 100-continue`, so the first half is sent only once the server has taken the request in (its
 * `100 Continue`): an event, not a guess at how long that takes on a loaded machine.
 */
function slowPost(url: string, body: string, between: () => Promise<void>): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const u = new URL(url);
    const headers = { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), expect: '100-continue' };
    const req = http.request(
      { host: u.hostname, port: u.port, path: u.pathname, method: 'POST', headers },
      (res) => {
        let text = '';
        res.on('data', (c: Buffer) => (text += c.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
      },
    );
    req.on('error', reject);
    const half = Math.floor(body.length / 2);
    req.once('continue', () => {
      req.write(body.slice(0, half));
      between().then(
        () => req.end(body.slice(half)),
        (err: unknown) => reject(err as Error),
      );
    });
    req.flushHeaders();
  });
}

test('SIGTERM drains an in-flight write, which is then durable across restart', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'heimdall-drain-'));
  try {
    const h = await startHeimdall({ dataDir: dir });
    const nowNs = BigInt(Date.now()) * 1_000_000n;
    const body = JSON.stringify({ streams: [{ stream: { app: 'drain-test' }, values: [[String(nowNs), 'written during shutdown']] }] });
    const res = await slowPost(`${h.httpUrl}/loki/api/v1/push`, body, async () => {
      h.child.kill('SIGTERM');
      // The rest of the body arrives while the server drains.
      await h.waitForOutput(/shutting down: draining requests/);
    });
    assert.equal(res.status, 204, res.text);
    const exit = await h.stop({ keepData: true });
    assert.equal(exit.code, 0, h.output());

    const again = await startHeimdall({ dataDir: dir });
    try {
      const q = new URLSearchParams({ query: '{app="drain-test"}', start: String(nowNs - 60_000_000_000n), end: String(nowNs + 60_000_000_000n) });
      const r = await fetch(`${again.httpUrl}/loki/api/v1/query_range?${q}`);
      assert.equal(r.status, 200);
      const json = (await r.json()) as { data: { result: { values: [string, string][] }[] } };
      assert.deepEqual(json.data.result.flatMap((s) => s.values.map((v) => v[1])), ['written during shutdown']);
    } finally {
      await again.stop();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a second signal exits at once, without waiting for the drain', async () => {
  const h = await startHeimdall();
  // Hold a request open so the first signal's drain cannot finish (shutdown_timeout is 30 s).
  const u = new URL(h.httpUrl);
  const req = http.request({
    host: u.hostname,
    port: u.port,
    path: '/loki/api/v1/push',
    method: 'POST',
    headers: { 'content-type': 'application/json', 'content-length': 1000, expect: '100-continue' },
  });
  req.on('error', () => undefined);
  const taken = new Promise<void>((resolve) => req.once('continue', () => resolve()));
  req.flushHeaders();
  await taken; // the server holds the request now
  req.write('{"streams":');
  h.child.kill('SIGTERM');
  await h.waitForOutput(/shutting down: draining requests/);
  assert.equal(h.child.exitCode, null, 'still draining after the first signal');
  h.child.kill('SIGTERM');
  const exit = await h.stop();
  assert.equal(exit.code, 130, 'the second signal exits at once with 130, not after the drain');
  req.destroy();
});

test('connections without a request in flight do not hold the drain; an in-flight request is still answered', { timeout: 120_000 }, async () => {
  // A drain that waited on open connections would run into this ten-minute shutdown_timeout and the test's own timeout.
  const h = await startHeimdall({ config: { server: { shutdown_timeout: '10m' } } });
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  try {
    const u = new URL(h.httpUrl);
    // A connection opened ahead of use that never sends a request (as browsers and client pools open them).
    const unused = net.connect(Number(u.port), u.hostname);
    await new Promise<void>((resolve, reject) => unused.once('connect', resolve).once('error', reject));
    const unusedClosed = new Promise<void>((resolve) => unused.once('close', () => resolve()));
    unused.on('error', () => undefined);
    // A keep-alive connection that has been answered once and now sits idle.
    const first = await new Promise<http.IncomingMessage>((resolve, reject) => http.get(`${h.httpUrl}/ready`, { agent }, resolve).on('error', reject));
    const idleSocket = first.socket;
    first.resume();
    await new Promise((r) => first.once('end', r));
    const idleClosed = new Promise<void>((resolve) => idleSocket.once('close', () => resolve()));
    // A keep-alive request in flight when the signal comes: it is answered, then its connection closes.
    const nowNs = BigInt(Date.now()) * 1_000_000n;
    const body = JSON.stringify({ streams: [{ stream: { app: 'drain-keepalive' }, values: [[String(nowNs), 'x']] }] });
    const inFlight = await new Promise<{ status: number; closed: Promise<void> }>((resolve, reject) => {
      const req = http.request(
        { host: u.hostname, port: u.port, path: '/loki/api/v1/push', method: 'POST', agent: new http.Agent({ keepAlive: true }), headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), expect: '100-continue' } },
        (res) => {
          const closed = new Promise<void>((r) => res.socket.once('close', () => r()));
          res.resume();
          res.on('end', () => resolve({ status: res.statusCode ?? 0, closed }));
        },
      );
      req.on('error', reject);
      req.once('continue', () => {
        h.child.kill('SIGTERM');
        h.waitForOutput(/shutting down: draining requests/).then(() => req.end(body), reject);
      });
      req.flushHeaders();
    });
    assert.equal(inFlight.status, 204);
    await Promise.all([unusedClosed, idleClosed, inFlight.closed]);
    const exit = await h.stop();
    assert.equal(exit.code, 0, h.output());
  } finally {
    agent.destroy();
    // Only reached running when an assertion failed: the drain would otherwise wait out its ten minutes.
    if (h.child.exitCode === null) await h.stop({ signal: 'SIGKILL' });
  }
});
