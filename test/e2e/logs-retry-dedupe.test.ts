// Issue 17 / issue 8: a retried Loki push is idempotent. The real binary gets the same batch of 50 identical
// entries twice (a sender retrying after a lost answer); count_over_time counts one entry and a log query
// returns one line, as Loki does.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startHeimdall } from './harness.ts';
import type { HeimdallProcess } from './harness.ts';

let h: HeimdallProcess;

before(async () => {
  h = await startHeimdall();
});

after(async () => {
  await h.stop();
});

async function lokiGet(path: string, params: Record<string, string>): Promise<{ data: { result: unknown[] } }> {
  const res = await fetch(`${h.httpUrl}/loki/api/v1/${path}?${new URLSearchParams(params)}`);
  assert.equal(res.status, 200, await res.clone().text());
  return (await res.json()) as { data: { result: unknown[] } };
}

test('a retried batch of 50 identical entries is counted once and returned once', async () => {
  const tsNs = (BigInt(Date.now() - 60_000) * 1_000_000n).toString();
  const values = Array.from({ length: 50 }, () => [tsNs, 'retried line level=info', { trace_id: 'abc' }]);
  const body = JSON.stringify({ streams: [{ stream: { app: 'retry-e2e' }, values }] });
  for (let attempt = 0; attempt < 2; attempt++) {
    const res = await fetch(`${h.httpUrl}/loki/api/v1/push`, { method: 'POST', body, headers: { 'content-type': 'application/json' } });
    assert.equal(res.status, 204, await res.text());
  }
  const now = Date.now();
  const range = { start: String((now - 300_000) * 1e6), end: String(now * 1e6) };
  const lines = await lokiGet('query_range', { query: '{app="retry-e2e"}', limit: '1000', ...range });
  const streams = lines.data.result as { values: [string, string][] }[];
  assert.equal(streams.reduce((n, s) => n + s.values.length, 0), 1, JSON.stringify(streams));
  const counted = await lokiGet('query', { query: 'sum(count_over_time({app="retry-e2e"}[5m]))', time: String(now * 1e6) });
  const vector = counted.data.result as { value: [number, string] }[];
  assert.equal(vector[0]?.value[1], '1', JSON.stringify(vector));
});
