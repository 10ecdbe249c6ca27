// Slow and numerous clients (issue 16): a client that trickles its request is cut off with 408, idle
// connections are closed, connections past the cap are refused, and none of it stops a normal client's
// writes. Timeouts are configured short so the cuts happen within seconds; every wait below is on an event
// (a socket closing, a response arriving), bounded by a count of steps far above what the cut needs.
import assert from 'node:assert/strict';
import http2 from 'node:http2';
import net from 'node:net';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { startHeimdall } from '../e2e/harness.ts';
import type { HeimdallProcess } from '../e2e/harness.ts';

interface RawClient {
  readonly socket: net.Socket;
  /** Everything the server sent. */
  received(): string;
  /** Resolves when the server (or an error) closed the connection. */
  readonly closed: Promise<void>;
  isClosed(): boolean;
}

function rawConnect(hostPort: string): Promise<RawClient> {
  const u = new URL(hostPort.startsWith('http') ? hostPort : `http://${hostPort}`);
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: u.hostname, port: Number(u.port) });
    let data = '';
    let isClosed = false;
    socket.on('data', (c: Buffer) => (data += c.toString()));
    socket.on('error', () => undefined); // a reset is one of the outcomes under test
    const closed = new Promise<void>((r) => socket.once('close', () => ((isClosed = true), r())));
    socket.once('connect', () => resolve({ socket, received: () => data, closed, isClosed: () => isClosed }));
    socket.once('error', reject);
  });
}

/** Writes `text` one byte every `intervalMs` until it is written or the connection closes; returns the bytes written. */
async function trickle(client: RawClient, text: string, intervalMs: number): Promise<number> {
  for (let i = 0; i < text.length; i++) {
    if (client.isClosed() || client.socket.destroyed) return i;
    client.socket.write(text[i]!);
    await Promise.race([sleep(intervalMs), client.closed]);
  }
  return text.length;
}

function pushBody(line: string): string {
  const ns = BigInt(Date.now()) * 1_000_000n;
  return JSON.stringify({ streams: [{ stream: { app: 'slow-clients' }, values: [[String(ns), line]] }] });
}

function slowPushHead(host: string, contentLength: number): string {
  return `POST /loki/api/v1/push HTTP/1.1\r\nHost: ${host}\r\nContent-Type: application/json\r\nContent-Length: ${contentLength}\r\n\r\n`;
}

/** Bounds a wait for a 2 s idle timeout: generous, so that only a missing timeout reaches it. */
const IDLE_BOUND_MS = 30_000;

describe('slow clients', () => {
  let h: HeimdallProcess;
  let host: string;
  before(async () => {
    h = await startHeimdall({
      config: {
        server: {
          http_read_header_timeout: '2s',
          http_read_timeout: '3s',
          http_idle_timeout: '2s',
          grpc_max_connection_idle: '2s',
        },
      },
    });
    host = new URL(h.httpUrl).host;
  });
  after(async () => {
    await h.stop();
  });

  test('a body sent one byte every 1.5 s is cut off with 408 naming server.http_read_timeout', async () => {
    const body = pushBody('x'.repeat(60));
    const client = await rawConnect(host);
    client.socket.write(slowPushHead(host, Buffer.byteLength(body)));
    // Sending the whole body would take over 2 minutes; the server must cut the connection long before.
    const written = await trickle(client, body, 1500);
    assert.ok(written < body.length, 'the server let the slow body finish');
    await client.closed;
    assert.match(client.received(), /^HTTP\/1\.1 408 /);
    assert.match(client.received(), /server\.http_read_timeout/);
  });

  test('headers sent one byte every second are cut off with 408', async () => {
    const client = await rawConnect(host);
    const head = slowPushHead(host, 10);
    const written = await trickle(client, head, 1000);
    assert.ok(written < head.length, 'the server waited for every header byte');
    await client.closed;
    assert.match(client.received(), /^HTTP\/1\.1 408 /);
  });

  test('an idle keep-alive connection is closed after server.http_idle_timeout', async () => {
    const client = await rawConnect(host);
    client.socket.write(`GET /ready HTTP/1.1\r\nHost: ${host}\r\nConnection: keep-alive\r\n\r\n`);
    await Promise.race([client.closed, sleep(IDLE_BOUND_MS)]);
    assert.ok(client.isClosed(), 'the idle connection is still open');
    assert.match(client.received(), /^HTTP\/1\.1 200 /);
  });

  test('an idle gRPC connection gets GOAWAY and is closed after server.grpc_max_connection_idle', async () => {
    const session = http2.connect(`http://${h.otlpGrpcAddress}`);
    session.on('error', () => undefined);
    const goaway = new Promise<void>((resolve) => session.once('goaway', () => resolve()));
    const closed = new Promise<void>((resolve) => session.once('close', () => resolve()));
    let closedNow = false;
    void closed.then(() => (closedNow = true));
    await Promise.race([Promise.all([goaway, closed]), sleep(IDLE_BOUND_MS)]);
    assert.ok(closedNow, 'the idle gRPC connection is still open');
    session.destroy();
  });

  test('200 trickling connections do not make a normal client\'s writes fail', async () => {
    const slow = await Promise.all(Array.from({ length: 200 }, () => rawConnect(host)));
    const body = pushBody('y'.repeat(40));
    for (const c of slow) c.socket.write(slowPushHead(host, Buffer.byteLength(body)));
    const trickles = slow.map((c) => trickle(c, body, 1000));
    try {
      for (let i = 0; i < 20; i++) {
        const res = await fetch(`${h.httpUrl}/loki/api/v1/push`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: pushBody(`normal ${i}`) });
        assert.equal(res.status, 204, await res.text());
        assert.equal((await fetch(`${h.httpUrl}/ready`)).status, 200);
        await sleep(100);
      }
    } finally {
      await Promise.all(trickles);
      await Promise.all(slow.map((c) => c.closed));
    }
    assert.ok(slow.every((c) => /^HTTP\/1\.1 408 /.test(c.received())), 'every trickling client was cut off with 408');
    // The normal writes are all stored.
    const q = new URLSearchParams({ query: '{app="slow-clients"} |= "normal"', limit: '100', since: '10m' });
    const res = await fetch(`${h.httpUrl}/loki/api/v1/query_range?${q}`);
    const json = (await res.json()) as { data: { result: { values: unknown[] }[] } };
    assert.equal(json.data.result.reduce((n, s) => n + s.values.length, 0), 20);
  });
});

describe('connection limits', () => {
  let h: HeimdallProcess;
  before(async () => {
    h = await startHeimdall({ config: { server: { http_max_connections: 20, grpc_max_connections: 5 } } });
  });
  after(async () => {
    await h.stop();
  });

  /** A generous bound for something the server does at once; only reached when the behaviour is missing. */
  const AT_ONCE_BOUND_MS = 15_000;

  /** Connects and asks for /ready; resolves with the connection once it was answered or closed unanswered. */
  async function askReady(): Promise<RawClient> {
    const host = new URL(h.httpUrl).host;
    const c = await rawConnect(host);
    c.socket.write(`GET /ready HTTP/1.1\r\nHost: ${host}\r\n\r\n`);
    const answered = new Promise<void>((resolve) => c.socket.on('data', () => c.received().includes('\r\n\r\n') && resolve()));
    await Promise.race([answered, c.closed, sleep(AT_ONCE_BOUND_MS)]);
    return c;
  }

  test('past server.http_max_connections new connections are refused and logged; after they close, serving resumes', async () => {
    // The test's own fetch() pool may hold a connection too, so count: of 25 held connections at most 20 are served.
    const conns: RawClient[] = [];
    try {
      for (let i = 0; i < 25; i++) conns.push(await askReady());
      const served = conns.filter((c) => /^HTTP\/1\.1 200 /.test(c.received()));
      const refused = conns.filter((c) => c.isClosed() && c.received() === '');
      assert.ok(served.length <= 20 && served.length >= 18, `${served.length} of 25 connections were served`);
      assert.equal(served.length + refused.length, 25, 'every connection was either served or refused');
    } finally {
      for (const c of conns) c.socket.destroy();
    }
    await Promise.all(conns.map((c) => c.closed));
    // The server notices the closes asynchronously; serving resumes within a bounded number of tries.
    let status = 0;
    for (let i = 0; i < 100 && status !== 200; i++) {
      status = await fetch(`${h.httpUrl}/ready`).then((r) => r.status, () => 0);
      if (status !== 200) await sleep(50);
    }
    assert.equal(status, 200);
    await h.waitForOutput(/connection limit reached, refusing new connections \(server\.http_max_connections: 20\)/);
  });

  test('past server.grpc_max_connections new gRPC connections are refused', async () => {
    const held = await Promise.all(Array.from({ length: 5 }, () => rawConnect(h.otlpGrpcAddress)));
    try {
      // Node accepts in order, so the sixth connection is past the cap once the first five are accepted.
      const extra = await rawConnect(h.otlpGrpcAddress);
      await Promise.race([extra.closed, sleep(AT_ONCE_BOUND_MS)]);
      assert.ok(extra.isClosed(), 'a sixth gRPC connection was refused');
      assert.ok(held.every((c) => !c.isClosed()), 'the connections under the cap stay open');
    } finally {
      for (const c of held) c.socket.destroy();
    }
    await h.waitForOutput(/otlp-grpc: connection limit reached, refusing new connections \(server\.grpc_max_connections: 5\)/);
  });
});
