import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { runHeimdall, startHeimdall } from './harness.ts';

test('starts every role, logs one ready line naming the listeners, serves /ready, /api/health and /metrics', async () => {
  const h = await startHeimdall();
  try {
    const readyLines = h.output().split('\n').filter((l) => l.includes('Heimdall ready'));
    assert.equal(readyLines.length, 1);
    const ready = JSON.parse(readyLines[0]!) as { roles: string[]; apis: string[]; http: string; otlpHttp: string; otlpGrpc: string; msg: string };
    assert.deepEqual([...ready.roles].sort(), ['gateway', 'logs', 'metrics', 'profiles', 'ruler', 'traces']);
    const apis = ['Prometheus API /prometheus/api/v1', 'Loki API /loki/api/v1', 'Tempo API /tempo', 'Pyroscope API /pyroscope', 'Mimir ruler API /prometheus/config/v1/rules', 'Loki ruler API /loki/api/v1/rules', 'Alertmanager API /alertmanager/api/v2', 'Alertmanager config API /api/v1/alerts'];
    assert.deepEqual(ready.apis, apis);
    assert.ok(ready.msg.endsWith(`; serving ${apis.join(", ")}`), ready.msg);
    assert.match(ready.otlpGrpc, /^127\.0\.0\.1:\d+$/);

    const health = await fetch(`${h.httpUrl}/api/health`);
    assert.equal(health.status, 200);
    const healthBody = (await health.json()) as { database: string; apis: string[] };
    assert.equal(healthBody.database, 'ok');
    assert.deepEqual(healthBody.apis, apis);

    // An unknown path under an API root is a 404; any other unknown path is a page of the web UI.
    const notFound = await fetch(`${h.httpUrl}/api/no/such/path`);
    assert.equal(notFound.status, 404);
    assert.ok(notFound.headers.get('x-request-id'));
    const page = await fetch(`${h.httpUrl}/no/such/page`);
    assert.equal(page.status, 200);
    assert.match(page.headers.get('content-type') ?? '', /^text\/html/);
    assert.match(await page.text(), /<div id="root">/);

    const metrics = await fetch(`${h.httpUrl}/metrics`);
    assert.equal(metrics.status, 200);
    const text = await metrics.text();
    assert.match(text, /^process_cpu_user_seconds_total /m);
    assert.match(text, /^nodejs_heap_size_used_bytes /m);
    assert.match(text, /^heimdall_http_requests_total\{route="\/api\/health",method="GET",code="200"\} 1$/m);
    assert.match(text, /^heimdall_http_requests_total\{route="unmatched",method="GET",code="404"\} 1$/m);
    assert.match(text, /^heimdall_http_requests_total\{route="unmatched",method="GET",code="200"\} 1$/m);
    assert.match(text, /^heimdall_http_request_duration_seconds_bucket\{le="0.005",route="\/api\/health",method="GET"\} /m);
    assert.match(text, /^# TYPE heimdall_discarded_records_total counter$/m);

    // The OTLP HTTP listener is a separate server.
    const otlp = await fetch(`${h.otlpHttpUrl}/nothing-here`);
    assert.equal(otlp.status, 404);
  } finally {
    const { code } = await h.stop();
    assert.equal(code, 0, h.output());
  }
  assert.match(h.output(), /shutting down: draining requests/);
  assert.match(h.output(), /stopped cleanly/);
  // Everything a server prints is a JSON log line: no Fastify deprecation text (FSTDEP023), no Node warnings.
  for (const line of h.output().split('\n').filter((l) => l.length > 0)) {
    assert.doesNotThrow(() => JSON.parse(line), `not a JSON log line: ${line}`);
  }
});

test('--target runs a subset plus its dependencies', async () => {
  const h = await startHeimdall({ args: ['--target', 'metrics'] });
  try {
    const line = h.output().split('\n').find((l) => l.includes('Heimdall ready'))!;
    assert.deepEqual((JSON.parse(line) as { roles: string[] }).roles, ['metrics']);
    assert.equal((await fetch(`${h.httpUrl}/loki/api/v1/labels`)).status, 404, 'logs role not running');
  } finally {
    await h.stop();
  }
});

test('unknown roles, bad flags and bad config stop start-up with a message naming the problem', async () => {
  const unknown = await runHeimdall(['start', '--target', 'metrics,frobnicator']);
  assert.equal(unknown.code, 2);
  assert.match(unknown.stderr, /unknown role "frobnicator": allowed are all, metrics, logs, traces, profiles, gateway/);

  const flag = await runHeimdall(['start', '--no-such-flag']);
  assert.equal(flag.code, 2);
  assert.match(flag.stderr, /Unknown option '--no-such-flag'/);

  const dir = mkdtempSync(path.join(os.tmpdir(), 'heimdall-badconfig-'));
  try {
    const file = path.join(dir, 'c.yaml');
    writeFileSync(file, 'logs:\n  limits:\n    max_line_size: huge\n  nonsense: 1\n');
    const bad = await runHeimdall(['start', '--config', file, '--data-dir', dir]);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /"logs\.limits\.max_line_size": invalid size "huge"/);
    assert.match(bad.stderr, /unknown key "nonsense" under "logs"/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }

  const env = await runHeimdall(['start'], { HEIMDALL_HTTP_ADDRESS: 'not-an-address' });
  assert.equal(env.code, 2);
  assert.match(env.stderr, /"http_address": expected HOST:PORT/);
});

test('help describes every option', async () => {
  const main = await runHeimdall(['--help']);
  assert.equal(main.code, 0);
  assert.match(main.stdout, /heimdall start/);
  const start = await runHeimdall(['start', '--help']);
  assert.equal(start.code, 0);
  for (const opt of ['--config', '--data-dir', '--target', '--http-address', '--otlp-grpc-address', '--otlp-http-address', '--multitenancy', '--log-level']) {
    assert.ok(start.stdout.includes(opt), opt);
  }
  for (const env of ['HEIMDALL_DATA_DIR', 'HEIMDALL_TARGET', 'HEIMDALL_MULTITENANCY']) assert.ok(start.stdout.includes(env), env);
});

test('a data directory written by a newer Heimdall is refused at start-up, naming the version', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'heimdall-newer-'));
  try {
    const h = await startHeimdall({ dataDir: dir });
    await h.stop({ keepData: true });
    // Each engine records its format version beside its data; pretend a newer build wrote them.
    const stamps = ['metrics', 'logs'].flatMap((engine) =>
      readdirSync(path.join(dir, engine)).filter((f) => f.endsWith('.format.json')).map((f) => path.join(dir, engine, f)),
    );
    assert.equal(stamps.length, 2, 'the metrics and logs engines both stamp their format');
    for (const file of stamps) {
      const original = readFileSync(file, 'utf8');
      writeFileSync(file, JSON.stringify({ ...JSON.parse(original), formatVersion: 999 }));
      const r = await runHeimdall(['start', '--data-dir', dir, '--http-address', '127.0.0.1:0', '--otlp-http-address', '127.0.0.1:0', '--otlp-grpc-address', '127.0.0.1:0']);
      assert.equal(r.code, 1, file);
      assert.match(r.stderr, /999/, file);
      assert.match(r.stderr, /upgrade Heimdall/, file);
      writeFileSync(file, original);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('with multi-tenancy on, reads and writes without X-Scope-OrgID get 401 no org id', async () => {
  const h = await startHeimdall({ args: ['--multitenancy'] });
  try {
    for (const [method, url, contentType] of [
      ['GET', `${h.httpUrl}/prometheus/api/v1/labels`, ''],
      ['GET', `${h.httpUrl}/loki/api/v1/labels`, ''],
      ['GET', `${h.httpUrl}/tempo/api/search?q=%7B%7D`, ''],
      ['POST', `${h.httpUrl}/api/v1/push`, 'application/x-protobuf'],
      ['POST', `${h.httpUrl}/loki/api/v1/push`, 'application/json'],
      ['POST', `${h.otlpHttpUrl}/v1/logs`, 'application/json'],
    ] as const) {
      const res = await fetch(url, { method, ...(method === 'POST' ? { body: '{}', headers: { 'content-type': contentType } } : {}) });
      assert.equal(res.status, 401, `${method} ${url}`);
      assert.match(await res.text(), /no org id/);
    }
  } finally {
    await h.stop();
  }
});
