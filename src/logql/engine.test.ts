import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { configSchema } from '../config/index.ts';
import { LogStore } from '../logstore/index.ts';
import type { Labels, TenantId } from '../model/index.ts';
import { federatedLogsStorage } from '../storage/index.ts';
import { LogqlEngine } from './engine.ts';
import type { LogqlResult } from './engine.ts';
import { LogqlError } from './errors.ts';
import { logStoreConfigOptions } from '../app/engine-options.ts';

const SEC = 1_000_000_000n;
/** A fixed base an hour ago (the store rejects entries older than its max age). */
const T0 = (BigInt(Date.now()) * 1_000_000n / (60n * SEC) - 60n) * 60n * SEC;
const A = 'tenant-a' as TenantId;
const B = 'tenant-b' as TenantId;

let dir: string;
let store: LogStore;
const engine = new LogqlEngine();

async function write(tenant: TenantId, labels: Labels, entries: [number, string, Labels?][]): Promise<void> {
  const app = store.appender(tenant);
  const out = app.append({
    labels,
    entries: entries.map(([s, line, md]) => ({ timestampNs: T0 + BigInt(s) * SEC, line, structuredMetadata: md })),
  });
  assert.equal(out.rejections.length, 0, JSON.stringify(out.rejections));
  await app.commit();
}

function logs(query: string, opts: { limit?: number; direction?: 'forward' | 'backward'; tenants?: TenantId[]; intervalMs?: number } = {}): Promise<LogqlResult> {
  return engine.query(federatedLogsStorage(store), opts.tenants ?? [A], {
    query,
    startNs: T0,
    endNs: T0 + 600n * SEC,
    direction: opts.direction ?? 'forward',
    limit: opts.limit ?? 1000,
    intervalMs: opts.intervalMs,
  });
}

function lines(r: LogqlResult): string[] {
  assert.equal(r.data.resultType, 'streams');
  if (r.data.resultType !== 'streams') return [];
  return r.data.streams
    .flatMap((s) => s.entries.map((e) => ({ ts: e.timestampNs, line: e.line })))
    .sort((a, b) => (a.ts < b.ts ? -1 : a.ts > b.ts ? 1 : 0))
    .map((e) => e.line);
}

async function instant(query: string, atSec: number, tenants: TenantId[] = [A]): Promise<{ labels: Labels; value: number }[]> {
  const r = await engine.query(federatedLogsStorage(store), tenants, { query, startNs: T0, endNs: T0 + BigInt(atSec) * SEC, direction: 'backward', limit: 100, instant: true });
  if (r.data.resultType === 'scalar') return [{ labels: {}, value: r.data.value }];
  assert.equal(r.data.resultType, 'vector');
  return r.data.resultType === 'vector' ? r.data.samples.map((s) => ({ labels: s.labels, value: s.value })) : [];
}

async function range(query: string, fromSec: number, toSec: number, stepSec: number): Promise<{ labels: Labels; values: (number | null)[] }[]> {
  const r = await engine.query(federatedLogsStorage(store), [A], {
    query,
    startNs: T0 + BigInt(fromSec) * SEC,
    endNs: T0 + BigInt(toSec) * SEC,
    stepMs: stepSec * 1000,
    direction: 'backward',
    limit: 100,
  });
  assert.equal(r.data.resultType, 'matrix');
  if (r.data.resultType !== 'matrix') return [];
  const n = (toSec - fromSec) / stepSec + 1;
  return r.data.series.map((s) => {
    const values: (number | null)[] = new Array(n).fill(null);
    s.timestampsNs.forEach((t, i) => (values[Number((t - T0) / SEC - BigInt(fromSec)) / stepSec] = s.values[i]!));
    return { labels: s.labels, values };
  });
}

before(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'heimdall-logql-'));
  store = await LogStore.open({ dir, ...logStoreConfigOptions(configSchema.parse({}).logs), background: false, threads: 1, memoryLimitBytes: 256 * 1024 * 1024 });
  // api: logfmt lines every 10 s for 2 minutes; status 500 every third line.
  await write(
    A,
    { app: 'api', env: 'prod' },
    Array.from({ length: 12 }, (_, i): [number, string] => [10 * (i + 1), `level=${i % 3 === 0 ? 'error' : 'info'} status=${i % 3 === 0 ? 500 : 200} took=${(i + 1) * 100}ms size=${i + 1}KB msg="req ${i}"`]),
  );
  // web: JSON lines every 20 s, with structured metadata on some.
  await write(
    A,
    { app: 'web', env: 'prod' },
    Array.from({ length: 6 }, (_, i): [number, string, Labels?] => [
      20 * (i + 1),
      JSON.stringify({ level: i % 2 ? 'warn' : 'info', user: { id: `u${i % 2}` }, latency: i * 0.5, tags: ['a', 'b'] }),
      i === 0 ? { trace_id: 'abc' } : undefined,
    ]),
  );
  // color: ANSI-coloured lines.
  await write(A, { app: 'color' }, [[5, '\u001b[31mred\u001b[0m alert'], [6, 'plain']]);
  await write(B, { app: 'api', env: 'dev' }, [[15, 'level=error status=503'], [25, 'level=info status=200']]);
});

after(async () => {
  await store?.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('log queries', () => {
  test('line filters, or-chains and negations', async () => {
    assert.equal(lines(await logs('{app="api"} |= "status=500"')).length, 4);
    assert.equal(lines(await logs('{app="api"} != "status=500"')).length, 8);
    assert.equal(lines(await logs('{app="api"} |~ "req (1|2)\\"$"')).length, 2);
    assert.equal(lines(await logs('{app="api"} |= "req 1\\"" or "req 2\\""')).length, 2);
    assert.equal(lines(await logs('{app="api"} |= "req 10" or "req 11"')).length, 2);
    assert.equal(lines(await logs('{app="api"} !~ "level=(error|info)"')).length, 0);
    assert.equal(lines(await logs('{app="api"} |> "level=<_> status=500 <_>"')).length, 4);
  });

  test('limit and direction pick the oldest or newest entries', async () => {
    assert.deepEqual(lines(await logs('{app="api"}', { limit: 2, direction: 'forward' })), [
      'level=error status=500 took=100ms size=1KB msg="req 0"',
      'level=info status=200 took=200ms size=2KB msg="req 1"',
    ]);
    const newest = lines(await logs('{app="api"}', { limit: 1, direction: 'backward' }));
    assert.deepEqual(newest, ['level=info status=200 took=1200ms size=12KB msg="req 11"']);
    const r = await logs('{env="prod"}', { limit: 3, direction: 'backward' });
    assert.equal(r.data.resultType === 'streams' && r.data.streams.reduce((n, s) => n + s.entries.length, 0), 3);
  });

  test('interval keeps at most one entry per stream per interval', async () => {
    assert.equal(lines(await logs('{app="api"}', { intervalMs: 30_000 })).length, 4);
  });

  test('logfmt and label filters on numbers, durations, bytes and strings', async () => {
    assert.equal(lines(await logs('{app="api"} | logfmt | status >= 500')).length, 4);
    assert.equal(lines(await logs('{app="api"} | logfmt | took > 1s')).length, 2);
    assert.equal(lines(await logs('{app="api"} | logfmt | size <= 2KB')).length, 2);
    assert.equal(lines(await logs('{app="api"} | logfmt | level="error" or took >= 1100ms')).length, 6);
    assert.equal(lines(await logs('{app="api"} | logfmt | level=~"err.*", status!=200')).length, 4);
  });

  test('json with field extraction, line_format and label_format', async () => {
    const r = await logs('{app="web"} | json | level="warn" | line_format "{{.user_id}} {{.latency}}"');
    assert.deepEqual(lines(r), ['u1 0.5', 'u1 1.5', 'u1 2.5']);
    const p = await logs('{app="web"} | json who="user.id", t="tags[1]" | line_format "{{.who}}-{{.t}}" | label_format w=who');
    assert.equal(lines(p)[0], 'u0-b');
    assert.ok(p.data.resultType === 'streams' && p.data.streams.every((s) => s.labels.w !== undefined && s.labels.who === undefined));
  });

  test('structured metadata joins the stream labels', async () => {
    const r = await logs('{app="web"} | trace_id="abc"');
    assert.equal(lines(r).length, 1);
    assert.ok(r.data.resultType === 'streams' && r.data.streams[0]?.labels.trace_id === 'abc');
  });

  test('drop, keep and decolorize', async () => {
    const d = await logs('{app="api"} | logfmt | drop took, size, msg, level, status');
    assert.ok(d.data.resultType === 'streams' && d.data.streams.length === 1 && Object.keys(d.data.streams[0]!.labels).sort().join() === 'app,env');
    const k = await logs('{app="api"} | logfmt | keep level');
    assert.ok(k.data.resultType === 'streams' && k.data.streams.map((s) => s.labels.level).sort().join() === 'error,info');
    assert.deepEqual(lines(await logs('{app="color"} | decolorize')), ['red alert', 'plain']);
  });

  test('template functions in line_format', async () => {
    const r = await logs('{app="api"} | logfmt | status=500 | line_format `{{ .level | ToUpper }} {{ div .status 100 }}xx {{ if gt (len .msg) 5 }}long{{ else }}short{{ end }} {{ __line__ | trunc 9 }}`', { limit: 1 });
    assert.deepEqual(lines(r), ['ERROR 5xx short level=err']);
  });

  test('a parser error sets __error__ and a filter drops it', async () => {
    const bad = await logs('{app="api"} | json');
    assert.ok(bad.data.resultType === 'streams' && bad.data.streams.every((s) => s.labels.__error__ === 'JSONParserErr'));
    assert.equal(lines(await logs('{app="api"} | json | __error__=""')).length, 0);
  });

  test('a federated read labels streams with __tenant_id__ and filters on it', async () => {
    const r = await logs('{app="api"}', { tenants: [A, B] });
    assert.ok(r.data.resultType === 'streams');
    const tenants = new Set(r.data.resultType === 'streams' ? r.data.streams.map((s) => s.labels.__tenant_id__) : []);
    assert.deepEqual([...tenants].sort(), [A, B]);
    assert.equal(lines(await logs('{app="api", __tenant_id__="tenant-b"}', { tenants: [A, B] })).length, 2);
  });
});

describe('metric queries', () => {
  test('count_over_time, rate, bytes_over_time', async () => {
    assert.deepEqual(await instant('count_over_time({app="api"}[1m])', 60), [{ labels: { app: 'api', env: 'prod' }, value: 6 }]);
    assert.deepEqual(await instant('rate({app="api"} |= "status=500" [1m])', 60), [{ labels: { app: 'api', env: 'prod' }, value: 2 / 60 }]);
    const bytes = await instant('bytes_over_time({app="color"}[1m])', 60);
    assert.equal(bytes[0]?.value, Buffer.byteLength('\u001b[31mred\u001b[0m alert') + 5);
  });

  test('unwrap with duration(), bytes() and quantile_over_time', async () => {
    assert.deepEqual(await instant('max_over_time({app="api"} | logfmt | unwrap duration(took) [2m]) by (app)', 120), [{ labels: { app: 'api' }, value: 1.2 }]);
    assert.deepEqual(await instant('sum by (app) (sum_over_time({app="api"} | logfmt | unwrap bytes(size) [30s]))', 30), [{ labels: { app: 'api' }, value: 6000 }]);
    const q = await instant('quantile_over_time(0.5, {app="api"} | logfmt | unwrap took | __error__="" [2m]) by (env)', 120);
    assert.deepEqual(q, []);
    const p = await instant('quantile_over_time(0.5, {app="web"} | json | unwrap latency [2m]) by (env)', 120);
    assert.deepEqual(p, [{ labels: { env: 'prod' }, value: 1.25 }]);
  });

  test('vector aggregations, topk and sort', async () => {
    const byApp = await instant('sum by (app) (count_over_time({env="prod"}[2m]))', 120);
    assert.deepEqual(byApp, [
      { labels: { app: 'api' }, value: 12 },
      { labels: { app: 'web' }, value: 6 },
    ]);
    const top = await instant('topk(1, sum by (app) (count_over_time({env="prod"}[2m])))', 120);
    assert.deepEqual(top, [{ labels: { app: 'api' }, value: 12 }]);
    const sorted = await instant('sort(sum by (app) (count_over_time({env="prod"}[2m])))', 120);
    assert.deepEqual(sorted.map((s) => s.labels.app), ['web', 'api']);
  });

  test('binary operations with bool, on/ignoring and group_left; vector(); scalars', async () => {
    assert.deepEqual(await instant('vector(1)+vector(1)', 60), [{ labels: {}, value: 2 }]);
    assert.deepEqual(await instant('2 * 3 ^ 2', 60), [{ labels: {}, value: 18 }]);
    const ratio = await instant('sum by (app) (count_over_time({app="api"} |= "status=500" [2m])) / sum by (app) (count_over_time({app="api"}[2m]))', 120);
    assert.deepEqual(ratio, [{ labels: { app: 'api' }, value: 1 / 3 }]);
    // web's one entry with structured metadata is a series of its own, as in Loki.
    const split = await instant('count_over_time({app="web"}[2m])', 120);
    assert.deepEqual(split.map((x) => x.value).sort(), [1, 5]);
    const cmp = await instant('sum by (app) (count_over_time({env="prod"}[2m])) > bool 10', 120);
    assert.deepEqual(cmp.map((s) => s.value).sort(), [0, 1]);
    const joined = await instant('sum by (app, env) (count_over_time({env="prod"}[2m])) * on (env) group_left () sum by (env) (count_over_time({app="web"}[2m]))', 120);
    assert.deepEqual(joined.map((s) => [s.labels.app, s.value]).sort(), [['api', 72], ['web', 36]]);
  });

  test('label_replace and offset', async () => {
    const r = await instant('label_replace(count_over_time({app="api"}[1m]), "svc", "$1-svc", "app", "(.*)")', 60);
    assert.deepEqual(r[0]?.labels, { app: 'api', env: 'prod', svc: 'api-svc' });
    assert.deepEqual(await instant('count_over_time({app="api"}[1m] offset 1m)', 120), [{ labels: { app: 'api', env: 'prod' }, value: 6 }]);
  });

  test('absent_over_time and range results with gaps', async () => {
    assert.deepEqual(await instant('absent_over_time({app="nothing-here"}[1m])', 60), [{ labels: { app: 'nothing-here' }, value: 1 }]);
    const r = await range('count_over_time({app="color"}[10s])', 0, 30, 10);
    assert.deepEqual(r, [{ labels: { app: 'color' }, values: [null, 2, null, null] }]);
  });

  test('a pipeline error in a metric query fails it with Loki\'s message', async () => {
    await assert.rejects(instant('count_over_time({app="api"} | json [1m])', 60), (err: unknown) => {
      assert.ok(err instanceof LogqlError);
      assert.equal(err.type, 'bad_data');
      assert.match(err.message, /^pipeline error: 'JSONParserErr' for series: '\{__error__="JSONParserErr"/);
      return true;
    });
  });

  test('pushed-down counts match line-by-line evaluation, on fresh and compacted data', async () => {
    const queries: [string, string][] = [
      ['sum by (app) (rate({env="prod"} |= "e" [1m]))', 'sum by (app) (rate({env="prod"} |= "e" | decolorize [1m]))'],
      ['sum(bytes_over_time({app=~"api|web"}[30s]))', 'sum(bytes_over_time({app=~"api|web"} | decolorize [30s]))'],
      ['sum by (env) (count_over_time({env=~".+"} != "info" [20s] offset 10s))', 'sum by (env) (count_over_time({env=~".+"} != "info" | decolorize [20s] offset 10s))'],
    ];
    const run = async (): Promise<string[]> => {
      const out: string[] = [];
      for (const [pushed, plain] of queries) {
        const a = await range(pushed, 0, 180, 15);
        const b = await range(plain, 0, 180, 15);
        assert.deepEqual(a, b, pushed);
        out.push(JSON.stringify(a));
      }
      return out;
    };
    const fresh = await run();
    await store.flush();
    assert.deepEqual(await run(), fresh);
  });

  test('limits: series cap, entries cap, cancellation', async () => {
    const small = new LogqlEngine({ maxQuerySeries: 1, maxEntriesLimitPerQuery: 10 });
    await assert.rejects(
      small.query(store, [A], { query: 'count_over_time({env="prod"}[2m])', startNs: T0, endNs: T0 + 120n * SEC, direction: 'backward', limit: 10, instant: true }),
      /maximum number of series \(1\) reached/,
    );
    await assert.rejects(
      small.query(store, [A], { query: '{app="api"}', startNs: T0, endNs: T0 + 120n * SEC, direction: 'backward', limit: 11 }),
      /max entries limit per query exceeded, limit > max_entries_limit_per_query \(11 > 10\)/,
    );
    const controller = new AbortController();
    controller.abort();
    await assert.rejects(
      engine.query(federatedLogsStorage(store), [A], { query: '{app="api"}', startNs: T0, endNs: T0 + 120n * SEC, direction: 'backward', limit: 10, signal: controller.signal }),
      (err: unknown) => err instanceof LogqlError && err.type === 'canceled',
    );
  });
});
