/**
 * Routing of the query APIs through the real binary: a known path asked with a method it does not take is
 * a 405 naming the allowed methods (as Prometheus' router and Loki's gorilla/mux answer), an unknown path a
 * 404, and buildinfo advertises no Mimir API that is not served.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startHeimdall } from './harness.ts';
import type { HeimdallProcess } from './harness.ts';

let h: HeimdallProcess;

before(async () => {
  h = await startHeimdall();
});

after(async () => {
  await h?.stop();
});

test('a wrong method on a known path is a 405 with Allow; an unknown path stays a 404', async () => {
  const cases: [string, string, string[]][] = [
    ['DELETE', '/prometheus/api/v1/query', ['GET', 'POST']],
    ['PUT', '/prometheus/api/v1/query_range', ['GET', 'POST']],
    ['POST', '/prometheus/api/v1/label/job/values', ['GET']],
    ['POST', '/prometheus/api/v1/status/buildinfo', ['GET']],
    ['DELETE', '/loki/api/v1/query_range', ['GET', 'POST']],
    ['PUT', '/loki/api/v1/labels', ['GET', 'POST']],
    ['POST', '/loki/api/v1/label/app/values', ['GET']],
    ['GET', '/loki/api/v1/push', ['POST']],
    ['GET', '/api/v1/push', ['POST']],
  ];
  for (const [method, path, allowed] of cases) {
    const res = await fetch(`${h.httpUrl}${path}`, { method });
    const body = await res.text();
    assert.equal(res.status, 405, `${method} ${path}: ${body}`);
    const allow = (res.headers.get('allow') ?? '').split(',').map((m) => m.trim());
    for (const m of allowed) assert.ok(allow.includes(m), `${method} ${path}: Allow ${String(res.headers.get('allow'))} lacks ${m}`);
  }
  const missing = await fetch(`${h.httpUrl}/prometheus/api/v1/no_such_endpoint`, { method: 'DELETE' });
  assert.equal(missing.status, 404);
  await missing.text();
});

test('buildinfo advertises the Mimir ruler API, which answers', async () => {
  const res = await fetch(`${h.httpUrl}/prometheus/api/v1/status/buildinfo`);
  assert.equal(res.status, 200);
  const body = (await res.json()) as { data: Record<string, unknown> };
  // Grafana looks for the ruler config API only when advertised; the ruler role runs, so it is, and it answers
  // (404 `no rule groups found` for a tenant without rules, as Mimir does).
  assert.deepEqual(body.data.features, { ruler_config_api: 'true' });
  const ruler = await fetch(`${h.httpUrl}/prometheus/config/v1/rules`);
  assert.equal(ruler.status, 404);
  assert.match(await ruler.text(), /no rule groups found/);
});
