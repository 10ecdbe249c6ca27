import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { configSchema } from '../config/index.ts';
import { LogStore } from '../logstore/index.ts';
import type { Labels, TenantId } from '../model/index.ts';
import { LogqlEngine } from './engine.ts';
import type { LogqlResult } from './engine.ts';
import { LogqlError } from './errors.ts';
import { logStoreConfigOptions } from '../app/engine-options.ts';

// Budgets a LogQL query enforces while it runs (issue 16), prototype names as ordinary label names, and
// `| json` on lines that are not JSON objects (issue 17).

const SEC = 1_000_000_000n;
const T0 = (BigInt(Date.now()) * 1_000_000n / (60n * SEC) - 60n) * 60n * SEC;
const A = 'tenant-a' as TenantId;

let dir: string;
let store: LogStore;

async function write(labels: Labels, entries: [number, string, Labels?][]): Promise<void> {
  const app = store.appender(A);
  const out = app.append({ labels, entries: entries.map(([s, line, md]) => ({ timestampNs: T0 + BigInt(s) * SEC, line, structuredMetadata: md })) });
  assert.equal(out.rejections.length, 0, JSON.stringify(out.rejections));
  await app.commit();
}

before(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'heimdall-logql-budgets-'));
  store = await LogStore.open({ dir, ...logStoreConfigOptions(configSchema.parse({}).logs), background: false, threads: 1, memoryLimitBytes: 256 * 1024 * 1024 });
  await write({ app: 'x' }, Array.from({ length: 10 }, (_, i): [number, string] => [i + 1, `line ${i} level=info`]));
  await write({ app: 'web' }, [
    [1, '[webpack] compiled successfully'],
    [2, '{"a":"1","b":{"c":"2"}}'],
    [3, '  {"a":"3"}'],
  ]);
  await write({ app: 'proto', constructor: 'c1' }, [[1, 'first']]);
  // JSON.parse makes `__proto__` an own property, as a decoded push request does.
  await write(JSON.parse('{"app":"proto","__proto__":"p1"}') as Labels, [[2, 'second']]);
  await write(JSON.parse('{"app":"proto","__proto__":"p2"}') as Labels, [[3, 'third', JSON.parse('{"constructor":"meta","toString":"ts"}') as Labels]]);
});

after(async () => {
  await store.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

function logs(engine: LogqlEngine, query: string, signal?: AbortSignal): Promise<LogqlResult> {
  return engine.query(store, [A], { query, startNs: T0, endNs: T0 + 600n * SEC, direction: 'forward', limit: 1000, signal });
}

async function instantCount(engine: LogqlEngine, query: string): Promise<number> {
  const r = await engine.query(store, [A], { query, startNs: T0, endNs: T0 + 600n * SEC, direction: 'backward', limit: 100, instant: true });
  assert.equal(r.data.resultType, 'vector');
  return r.data.resultType === 'vector' ? r.data.samples.length : -1;
}

function entries(r: LogqlResult): { labels: Labels; line: string }[] {
  assert.equal(r.data.resultType, 'streams');
  if (r.data.resultType !== 'streams') return [];
  return r.data.streams.flatMap((s) => s.entries.map((e) => ({ labels: s.labels, line: e.line })));
}

test('line_format output larger than max_line_size is a TemplateFormatErr for that line, never built', async () => {
  const engine = new LogqlEngine({ maxLineBytes: 1024 });
  const r = await logs(engine, '{app="x"} | line_format `{{ repeat 100000 (repeat 5000 "x") }}`');
  const es = entries(r);
  assert.equal(es.length, 10);
  for (const e of es) {
    assert.equal(e.labels.__error__, 'TemplateFormatErr');
    assert.match(e.labels.__error_details__!, /maximum line size of 1024 bytes/);
    assert.ok(e.line.startsWith('line '), 'the original line is kept');
  }
  // Under the limit the same template works.
  const ok = entries(await logs(engine, '{app="x"} | line_format `{{ repeat 10 "ab" }}`'));
  assert.deepEqual(new Set(ok.map((e) => e.line)), new Set(['abababababababababab']));
});

test('every amplifying template construct is bounded by the line budget', async () => {
  const engine = new LogqlEngine({ maxLineBytes: 1000 });
  for (const t of [
    '{{ range $i := 100000 }}xxxxxxxxxx{{ end }}',
    '{{ printf "%900000000d" 1 }}',
    '{{ indent 100000000 "a" }}',
    '{{ alignLeft 100000000 "a" }}',
    '{{ replace "i" (repeat 500 "y") __line__ }}',
    '{{ regexReplaceAll "." __line__ (repeat 999 "z") }}',
  ]) {
    const es = entries(await logs(engine, `{app="x"} | line_format \`${t}\``));
    assert.equal(es.length, 10, t);
    for (const e of es) assert.equal(e.labels.__error__, 'TemplateFormatErr', t);
  }
});

test('label_format output is bounded the same way', async () => {
  const engine = new LogqlEngine({ maxLineBytes: 100 });
  const es = entries(await logs(engine, '{app="x"} | label_format big=`{{ repeat 1000 "x" }}`'));
  for (const e of es) {
    assert.equal(e.labels.__error__, 'TemplateFormatErr');
    assert.equal(e.labels.big, undefined);
  }
  assert.equal(await instantCount(engine, 'sum by (big) (count_over_time({app="x"} | label_format big=`{{ repeat 1000 "x" }}` | __error__="" [10m]))'), 0);
});

test('series × steps a metric query holds count against logs.query.max_samples', async () => {
  const run = (engine: LogqlEngine): Promise<LogqlResult> =>
    engine.query(store, [A], { query: 'count_over_time({app="x"} | line_format `{{ __line__ }}` [1s])', startNs: T0, endNs: T0 + 600n * SEC, stepMs: 1000, direction: 'backward', limit: 100 });
  await assert.rejects(run(new LogqlEngine({ maxSamples: 1000 })), (err: unknown) => {
    assert.ok(err instanceof LogqlError, String(err));
    assert.match(err.message, /would hold too many points \(limit 1000, series × steps\).*logs\.query\.max_samples/);
    return true;
  });
  const ok = await run(new LogqlEngine({ maxSamples: 100_000 }));
  assert.equal(ok.data.resultType, 'matrix');
});

test('a query past its timeout stops inside its loops with the timeout error', async () => {
  const engine = new LogqlEngine({ timeoutMs: 1 });
  await assert.rejects(logs(engine, '{app="x"} | line_format `{{ range $i := 90000 }}{{ $i }}{{ end }}`'), (err: unknown) => {
    assert.ok(err instanceof LogqlError, String(err));
    assert.equal(err.type, 'timeout');
    assert.match(err.message, /query timed out after 0\.001s \(logs\.query\.timeout\)/);
    return true;
  });
});

test('a cancelled query stops with the canceled error', async () => {
  const ac = new AbortController();
  ac.abort();
  await assert.rejects(logs(new LogqlEngine(), '{app="x"}', ac.signal), (err: unknown) => err instanceof LogqlError && err.type === 'canceled');
});

test('__proto__ and constructor are ordinary label and structured-metadata names', async () => {
  const es = entries(await logs(new LogqlEngine(), '{app="proto"}'));
  const byLine = new Map(es.map((e) => [e.line, e.labels]));
  assert.equal(byLine.get('first')!.constructor, 'c1');
  assert.equal(Object.getOwnPropertyDescriptor(byLine.get('second')!, '__proto__')?.value, 'p1');
  const third = byLine.get('third')!;
  assert.equal(Object.getOwnPropertyDescriptor(third, '__proto__')?.value, 'p2');
  assert.equal(Object.getOwnPropertyDescriptor(third, 'constructor')?.value, 'meta', 'metadata named constructor is not renamed');
  assert.equal(Object.getOwnPropertyDescriptor(third, 'toString')?.value, 'ts');
  assert.equal(third.constructor_extracted, undefined);
  // The two __proto__ streams stay two streams.
  const r = await logs(new LogqlEngine(), '{app="proto"} | line_format `{{ .__proto__ }}`');
  assert.equal(r.data.resultType === 'streams' && r.data.streams.length, 3);
  assert.equal(await instantCount(new LogqlEngine(), 'count_over_time({app="proto"}[10m])'), 3);
});

test('| json with parameters looks at the first byte only, as Loki: `[webpack] ...` is kept without an error', async () => {
  // Loki's JSONExpressionParser looks at the first byte only (isValidJSONStart) and keeps the line.
  const es = entries(await logs(new LogqlEngine(), '{app="web"} | json a="a", c="b.c"'));
  const byLine = new Map(es.map((e) => [e.line, e.labels]));
  const webpack = byLine.get('[webpack] compiled successfully')!;
  assert.equal(webpack.__error__, undefined);
  assert.equal(webpack.__error_details__, undefined);
  assert.ok(!webpack.a && !webpack.c, JSON.stringify(webpack));
  const good = byLine.get('{"a":"1","b":{"c":"2"}}')!;
  assert.deepEqual({ a: good.a, c: good.c, err: good.__error__ }, { a: '1', c: '2', err: undefined });
  // The first byte decides: leading spaces are not skipped.
  const spaced = byLine.get('  {"a":"3"}')!;
  assert.equal(spaced.__error__, 'JSONParserErr');
  assert.equal(spaced.__error_details__, undefined);
  assert.equal(spaced.a, undefined);
  // Dropping errors keeps the object line and the `[webpack]` line.
  const kept = entries(await logs(new LogqlEngine(), '{app="web"} | json a="a" | __error__=""'));
  assert.deepEqual(kept.map((e) => e.line).sort(), ['[webpack] compiled successfully', '{"a":"1","b":{"c":"2"}}']);
});
