// Overload is bounded by the one in-flight write budget (server.max_inflight_push_bytes): 32 concurrent
// remote_write requests of 50k samples each get 204 or 429 with Retry-After (never a 5xx), RSS stays under
// a bound, and the process keeps serving /ready and writes afterwards.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
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
  h = await startHeimdall({ config: { server: { max_inflight_push_bytes: '16MiB' } } });
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

test('32 concurrent remote_write requests of 50k samples: 204 or 429 with Retry-After, bounded RSS', async () => {
  const pid = h.child.pid!;
  const now = Date.now();
  const bodies = Array.from({ length: REQUESTS }, (_, i) => body(i, now));
  let peak = rssBytes(pid);
  const sampler = setInterval(() => {
    peak = Math.max(peak, rssBytes(pid));
  }, 20);
  const answers = await Promise.all(
    bodies.map(async (b) => {
      const res = await fetch(`${h.httpUrl}/api/v1/push`, {
        method: 'POST',
        body: b,
        headers: { 'content-type': 'application/x-protobuf', 'content-encoding': 'snappy', 'x-prometheus-remote-write-version': '0.1.0' },
      });
      const text = await res.text();
      return { status: res.status, retryAfter: res.headers.get('retry-after'), text };
    }),
  );
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
  assert.ok(statuses.includes(429), `some requests are refused while the budget is full: ${statuses.join(',')}`);
  assert.ok(statuses.includes(204), `some requests are written: ${statuses.join(',')}`);
  assert.ok(peak < RSS_BOUND_BYTES, `peak RSS ${Math.round(peak / 2 ** 20)} MiB stays under ${RSS_BOUND_BYTES / 2 ** 20} MiB`);
  assert.equal((await fetch(`${h.httpUrl}/ready`)).status, 200);
  // A refused request succeeds when retried once the budget is free.
  const retried = answers.findIndex((a) => a.status === 429);
  const res = await fetch(`${h.httpUrl}/api/v1/push`, {
    method: 'POST',
    body: bodies[retried]!,
    headers: { 'content-type': 'application/x-protobuf', 'content-encoding': 'snappy', 'x-prometheus-remote-write-version': '0.1.0' },
  });
  assert.equal(res.status, 204, await res.text());
  process.stdout.write(`# overload: ${statuses.filter((s) => s === 429).length}/${REQUESTS} refused with 429, peak RSS ${Math.round(peak / 2 ** 20)} MiB\n`);
});
