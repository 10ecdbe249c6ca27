// Two concurrent remote_write requests with overlapping times for one series, against the real binary:
// with out_of_order_time_window 0 the outcome must be one that sending them one after the other could give
// (Prometheus' check-and-append is atomic per series), never both requests' samples interleaved.
import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import protobuf from 'protobufjs';
import snappy from 'snappy';
import { startHeimdall } from './harness.ts';
import type { HeimdallProcess } from './harness.ts';

const protoDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../proto/prometheus');
const WriteRequest = protobuf.loadSync(path.join(protoDir, 'remote.proto')).lookupType('prometheus.WriteRequest');

/** Pairs sent; the race shows up on most pairs without the fix, so a handful is a real check. */
const PAIRS = 12;
const POINTS = 100;

let heimdall: HeimdallProcess;
before(async () => {
  heimdall = await startHeimdall({ config: { metrics: { limits: { out_of_order_time_window: 0 } } } });
});
after(async () => {
  await heimdall?.stop();
});

function body(name: string, times: readonly number[]): Buffer {
  const timeseries = [{
    labels: [{ name: '__name__', value: name }, { name: 'job', value: 'race' }],
    samples: times.map((timestamp) => ({ value: timestamp % 100_000, timestamp })),
  }];
  return snappy.compressSync(Buffer.from(WriteRequest.encode(WriteRequest.fromObject({ timeseries })).finish()));
}

function push(payload: Buffer): Promise<Response> {
  return fetch(`${heimdall.httpUrl}/api/v1/push`, {
    method: 'POST',
    body: payload,
    headers: { 'content-type': 'application/x-protobuf', 'content-encoding': 'snappy', 'x-prometheus-remote-write-version': '0.1.0' },
  });
}

async function storedTimes(name: string, atSec: number): Promise<number[]> {
  const u = new URL(`${heimdall.httpUrl}/prometheus/api/v1/query`);
  u.searchParams.set('query', `${name}[10m]`);
  u.searchParams.set('time', String(atSec));
  const res = await fetch(u);
  const json = (await res.json()) as { data: { result: { values: [number, string][] }[] } };
  assert.equal(res.status, 200);
  return (json.data.result[0]?.values ?? []).map(([t]) => Math.round(t * 1000));
}

/** What storing `first` and then `second` one after the other leaves: `first`, then the newer part of `second`. */
function sequential(first: readonly number[], second: readonly number[]): number[] {
  const newest = Math.max(...first);
  return [...first, ...second.filter((t) => t > newest)].sort((a, b) => a - b);
}

test('concurrent overlapping requests for one series never both land out of order', async () => {
  const base = Math.floor(Date.now() / 1000) * 1000 - 120_000;
  let rejectedPairs = 0;
  for (let p = 0; p < PAIRS; p++) {
    const name = `ooo_race_${p}`;
    // A every 10 ms; B every 10 ms offset by 5 ms, covering the same span: any interleaving is out of order.
    const a = Array.from({ length: POINTS }, (_, i) => base + i * 10);
    const b = Array.from({ length: POINTS }, (_, i) => base + 5 + i * 10);
    const [ra, rb] = await Promise.all([push(body(name, a)), push(body(name, b))]);
    const texts = [await ra.text(), await rb.text()];
    for (const [i, r] of [ra, rb].entries()) assert.ok(r.status === 204 || r.status === 400, `${r.status} ${texts[i]}`);
    if (ra.status === 400 || rb.status === 400) {
      rejectedPairs++;
      assert.match(texts.join('\n'), /out of order sample/);
    }
    const stored = await storedTimes(name, (base + 60_000) / 1000);
    const okAB = JSON.stringify(sequential(a, b));
    const okBA = JSON.stringify(sequential(b, a));
    const got = JSON.stringify(stored);
    assert.ok(got === okAB || got === okBA, `pair ${p}: ${stored.length} points stored, expected ${POINTS + 1} or ${POINTS}`);
  }
  assert.equal(rejectedPairs, PAIRS, 'every pair had one request refused as out of order');
});
