// Overload is bounded by the one in-flight write budget (server.max_inflight_push_bytes): while a slow request
// holds the whole budget every other write is refused with 429 and Retry-After; then 32 concurrent remote_write
// requests of 50k samples each get 204 or 429 (never a 5xx), RSS stays under a bound, and the process keeps
// serving /ready and writes afterwards. (Whether the 32 overlap enough to be refused depends on the machine's
// speed, so the refusal is shown with the held budget, not with timing.)
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import protobuf from 'protobufjs';
import snappy from 'snappy';
import { startHeimdall } from '../e2e/harness.ts';
import type { HeimdallProcess } from '../e2e/harness.ts';

const PROTO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../proto');
const WriteRequest = protobuf.loadSync(path.join(PROTO, 'prometheus/remote.proto')).lookupType('prometheus.WriteRequest');

const REQUESTS = 32;
const SAMPLES = 50_000;
/** Series per request (distinct per request, within the default series limit); SAMPLES / SERIES samples each. */
const SERIES = 1000;
/** The RSS the process must stay under (the unbounded run reached 1.4 GiB). */
const RSS_BOUND_BYTES = 1024 * 1024 * 1024;

let h: HeimdallProcess;
before(async () => {
  // The read timeout is long enough that the budget holder below is never cut off on a slow machine.
  h = await startHeimdall({ config: { server: { max_inflight_push_bytes: '16MiB', http_read_timeout: '10m' } } });
});
after(async () => {
  await h.stop();
});

function rssBytes(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) * 1024 : 0;
}

/** One request: 50k samples over 1000 series of its own. */
function body(request: number, timeMs: number): Buffer {
  const timeseries = [];
  const per = SAMPLES / SERIES;
  for (let i = 0; i < SERIES; i++) {
    timeseries.push({
      labels: [{ name: '__name__', value: 'overload_metric' }, { name: 'req', value: String(request) }, { name: 'series', value: String(i) }],
      samples: Array.from({ length: per }, (_, j) => ({ value: j, timestamp: timeMs - (per - j) * 1000 })),
    });
  }
  return snappy.compressSync(Buffer.from(WriteRequest.encode(WriteRequest.fromObject({ timeseries })).finish()));
}

const PUSH_HEADERS = { 'content-type': 'application/x-protobuf', 'content-encoding': 'snappy', 'x-prometheus-remote-write-version': '0.1.0' };

async function push(b: Buffer): Promise<{ status: number; retryAfter: string | null; text: string }> {
  const res = await fetch(`${h.httpUrl}/api/v1/push`, { method: 'POST', body: b, headers: PUSH_HEADERS });
  return { status: res.status, retryAfter: res.headers.get('retry-after'), text: await res.text() };
}

/** Pushes `b` until the answer is `status` (bounded: 600 tries, 50 ms apart), and returns that answer. */
async function pushUntil(b: Buffer, status: number): Promise<{ status: number; retryAfter: string | null; text: string }> {
  for (let i = 0; i < 600; i++) {
    const a = await push(b);
    if (a.status === status) return a;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`a push never answered ${status}`);
}

test('32 concurrent remote_write requests of 50k samples: 204 or 429 with Retry-After, bounded RSS', async () => {
  const pid = h.child.pid!;
  const now = Date.now();
  const bodies = Array.from({ length: REQUESTS }, (_, i) => body(i, now));

  // A request declaring the whole budget and sending its body slowly holds it (admitted alone); every other
  // write is refused at once with 429, Retry-After and the setting's name, before its body is read.
  const holder = http.request(`${h.httpUrl}/api/v1/push`, { method: 'POST', headers: { ...PUSH_HEADERS, 'content-length': String(16 * 2 ** 20) } });
  holder.on('error', () => {});
  holder.write(Buffer.alloc(1));
  const refused = await pushUntil(bodies[0]!, 429);
  assert.ok(refused.retryAfter !== null, '429 carries Retry-After');
  assert.match(refused.text, /server\.max_inflight_push_bytes/);
  const whileHeld = await Promise.all(bodies.slice(0, 8).map(push));
  assert.deepEqual(whileHeld.map((a) => a.status), Array(8).fill(429), 'every write is refused while the budget is held');
  holder.destroy();
  // Once the holder's connection is closed its reservation is released and a write is taken again.
  await pushUntil(body(REQUESTS, now), 204);

  let peak = rssBytes(pid);
  const sampler = setInterval(() => {
    peak = Math.max(peak, rssBytes(pid));
  }, 20);
  const answers = await Promise.all(bodies.map(push));
  clearInterval(sampler);
  peak = Math.max(peak, rssBytes(pid));
  const statuses = answers.map((a) => a.status);
  for (const a of answers) {
    assert.ok(a.status === 204 || a.status === 429, `answer ${a.status}: ${a.text.slice(0, 200)}`);
    if (a.status === 429) {
      assert.ok(a.retryAfter !== null, '429 carries Retry-After');
      assert.match(a.text, /server\.max_inflight_push_bytes/);
    }
  }
  assert.ok(statuses.includes(204), `some requests are written: ${statuses.join(',')}`);
  assert.ok(peak < RSS_BOUND_BYTES, `peak RSS ${Math.round(peak / 2 ** 20)} MiB stays under ${RSS_BOUND_BYTES / 2 ** 20} MiB`);
  assert.equal((await fetch(`${h.httpUrl}/ready`)).status, 200);
  // Every refused request succeeds when retried once the budget is free (a 400 would mean it was half-stored).
  for (const [i, a] of answers.entries()) {
    if (a.status !== 429) continue;
    const again = await push(bodies[i]!);
    assert.equal(again.status, 204, again.text);
  }
  process.stdout.write(`# overload: ${statuses.filter((s) => s === 429).length}/${REQUESTS} refused with 429, peak RSS ${Math.round(peak / 2 ** 20)} MiB\n`);
});
