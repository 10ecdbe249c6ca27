/**
 * The Loki API of the real binary: entries pushed through `/loki/api/v1/push` (JSON) are readable through
 * `query_range`, `labels` and `tail`, and Grafana's health probe answers 2.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import WebSocket from 'ws';
import { GENEROUS_MS } from '../support/bounds.ts';
import { startHeimdall } from './harness.ts';
import type { HeimdallProcess } from './harness.ts';

let h: HeimdallProcess;

before(async () => {
  h = await startHeimdall();
});

after(async () => {
  await h?.stop();
});

function qs(params: Record<string, string | bigint>): string {
  return new URLSearchParams(Object.entries(params).map(([k, v]): [string, string] => [k, String(v)])).toString();
}

async function push(stream: Record<string, string>, values: [bigint, string][]): Promise<void> {
  const res = await fetch(`${h.httpUrl}/loki/api/v1/push`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ streams: [{ stream, values: values.map(([t, l]) => [t.toString(), l]) }] }),
  });
  assert.equal(res.status, 204, await res.text());
}

test('health probe, push then query_range and labels, and tail through the binary', async () => {
  const nowNs = BigInt(Date.now()) * 1_000_000n;
  const probe = await fetch(`${h.httpUrl}/loki/api/v1/query?${qs({ query: 'vector(1)+vector(1)', time: nowNs })}`);
  assert.equal(probe.status, 200);
  const pj = (await probe.json()) as { data: { resultType: string; result: { value: [number, string] }[] } };
  assert.equal(pj.data.resultType, 'vector');
  assert.equal(pj.data.result[0]?.value[1], '2');

  await push({ job: 'e2e', level: 'info' }, [
    [nowNs - 2_000_000_000n, 'level=info msg="hello" status=200'],
    [nowNs - 1_000_000_000n, 'level=error msg="boom" status=500'],
  ]);
  const r = await fetch(`${h.httpUrl}/loki/api/v1/query_range?${qs({ query: '{job="e2e"} | logfmt | status >= 500', start: nowNs - 60_000_000_000n, end: nowNs + 1n })}`);
  assert.equal(r.status, 200);
  const rj = (await r.json()) as { data: { result: { values: [string, string][] }[] } };
  assert.deepEqual(rj.data.result.flatMap((s) => s.values.map((v) => v[1])), ['level=error msg="boom" status=500']);

  const labels = await fetch(`${h.httpUrl}/loki/api/v1/label/job/values?${qs({ start: nowNs - 60_000_000_000n, end: nowNs + 1n })}`);
  assert.ok(((await labels.json()) as { data: string[] }).data.includes('e2e'));

  const ws = new WebSocket(`${h.httpUrl.replace('http', 'ws')}/loki/api/v1/tail?${qs({ query: '{job="tail-e2e"}', start: nowNs })}`);
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  const got: string[] = [];
  ws.on('message', (d: Buffer) => {
    const frame = JSON.parse(d.toString()) as { streams: { values: [string, string][] }[] };
    for (const s of frame.streams) for (const v of s.values) got.push(v[1]);
  });
  await push({ job: 'tail-e2e' }, [[BigInt(Date.now()) * 1_000_000n, 'tailed line']]);
  const deadline = Date.now() + GENEROUS_MS; // the loop ends when the line arrives
  while (got.length === 0 && Date.now() < deadline) await new Promise((res) => setTimeout(res, 100));
  ws.close();
  assert.deepEqual(got, ['tailed line']);
});
