// The disk fills under a running Heimdall (its data directory on a small tmpfs, filled by a file): every
// write path answers the same retryable 503 (gRPC UNAVAILABLE) with Retry-After, naming the data directory;
// /ready and reads keep serving; once space is freed writes succeed again without a restart; after kill -9
// a restart finds every acknowledged sample and log line.
import assert from 'node:assert/strict';
import { mkdirSync, readdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { startHeimdall } from '../e2e/harness.ts';
import type { HeimdallProcess } from '../e2e/harness.ts';
import { fillFilesystem, mountTmpfs } from '../support/tmpfs.ts';
import type { Tmpfs } from '../support/tmpfs.ts';
import { lokiPush, otlpGrpc, otlpHttp, otlpLogsRequest, otlpMetricsRequest, remoteWrite } from '../support/write-clients.ts';
import type { WriteAnswer } from '../support/write-clients.ts';

const TENANT = 'disk-full';
/** Samples per remote_write batch and lines per Loki push batch; each batch is its own series or stream. */
const SAMPLES = 10;
const LINES = 20;
/** Attempts per write path to reach the full disk (the last partly used page of a file may take a few small writes). */
const MAX_ATTEMPTS = 300;

const mounted = mountTmpfs(96 * 1024 * 1024);
const SKIP = typeof mounted === 'string' ? mounted : false;

let fsMount: Tmpfs | undefined;
let heimdall: HeimdallProcess | undefined;
before(() => {
  if (typeof mounted !== 'string') fsMount = mounted;
});
after(async () => {
  await heimdall?.stop({ signal: 'SIGKILL', keepData: true });
  fsMount?.unmount();
});

/** The newest log head generation on disk. */
function newestHead(dataDir: string): number {
  let newest = 0;
  for (const name of readdirSync(path.join(dataDir, 'logs', 'heads'))) {
    const m = /^head-(\d+)\.duckdb$/.exec(name);
    if (m) newest = Math.max(newest, Number(m[1]));
  }
  return newest;
}

function isRetryableDiskFull(a: WriteAnswer, dataDir: string): boolean {
  const grpc = a.grpcCode !== undefined;
  return (grpc ? a.grpcCode === 14 : a.status === 503) && a.retryAfter !== null && a.body.includes(dataDir) && /no space left/.test(a.body);
}

function ok(a: WriteAnswer): boolean {
  return a.grpcCode !== undefined ? a.grpcCode === 0 : a.status === 204 || a.status === 200;
}

test('disk full: the same retryable answer on every write path, serving goes on, nothing acknowledged is lost', { skip: SKIP, timeout: 300_000 }, async () => {
  const dataDir = path.join(fsMount!.dir, 'data');
  mkdirSync(dataDir);
  // Tiny log heads: rotation and compaction into Parquet run while the disk is full too.
  const config = { logs: { store: { head_max_bytes: 16 * 1024, head_max_age: '1s' } } };
  let h = (heimdall = await startHeimdall({ dataDir, config, timeoutMs: 60_000 }));
  const ackedMetrics: number[] = [];
  const ackedLogs: number[] = [];
  let nextId = 0;
  const nowMs = Date.now();
  const nowNs = BigInt(nowMs) * 1_000_000n;
  const writeMetrics = async (): Promise<WriteAnswer> => {
    const id = nextId++;
    const times = Array.from({ length: SAMPLES }, (_, j) => nowMs - 60_000 + j * 1000);
    const a = await remoteWrite(h.httpUrl, TENANT, 'disk_full_samples', { batch: String(id) }, times);
    if (a.status === 204) ackedMetrics.push(id);
    return a;
  };
  const writeLogs = async (): Promise<WriteAnswer> => {
    const id = nextId++;
    const lines = Array.from({ length: LINES }, (_, j) => `batch ${id} line ${j} ${'x'.repeat(200)}`);
    const a = await lokiPush(h.httpUrl, TENANT, { app: 'disk-full', batch: String(id) }, nowNs - 60_000_000_000n + BigInt(id) * 1000n, lines);
    if (a.status === 204) ackedLogs.push(id);
    return a;
  };

  for (let i = 0; i < 10; i++) {
    assert.equal((await writeMetrics()).status, 204);
    assert.equal((await writeLogs()).status, 204);
  }

  const filler = fillFilesystem(fsMount!.dir);
  const paths: [string, () => Promise<WriteAnswer>][] = [
    ['remote_write', writeMetrics],
    ['Loki push', writeLogs],
    ['OTLP/HTTP metrics', () => otlpHttp(h.otlpHttpUrl, TENANT, 'metrics', otlpMetricsRequest('disk-full', `disk_full_otlp_${nextId++}`, Date.now()))],
    ['OTLP/HTTP logs', () => otlpHttp(h.otlpHttpUrl, TENANT, 'logs', otlpLogsRequest(`disk-full-${nextId++}`, 'otlp line', Date.now()))],
    ['OTLP/gRPC metrics', () => otlpGrpc(h.otlpGrpcAddress, TENANT, 'metrics', otlpMetricsRequest('disk-full', `disk_full_grpc_${nextId++}`, Date.now()))],
    ['OTLP/gRPC logs', () => otlpGrpc(h.otlpGrpcAddress, TENANT, 'logs', otlpLogsRequest(`disk-full-grpc-${nextId++}`, 'grpc line', Date.now()))],
  ];
  for (const [name, send] of paths) {
    let last: WriteAnswer | undefined;
    for (let i = 0; i < MAX_ATTEMPTS; i++) {
      last = await send();
      if (!ok(last)) break;
    }
    assert.ok(last && isRetryableDiskFull(last, dataDir), `${name} with the disk full: ${JSON.stringify(last)}`);
  }

  // Stay full for a while (head rotation and compaction come due meanwhile): every answer is a success or
  // the same 503, never a 500.
  for (let i = 0; i < 30; i++) {
    for (const a of [await writeMetrics(), await writeLogs()]) {
      assert.ok(a.status === 204 || isRetryableDiskFull(a, dataDir), `a write while the disk stays full: ${JSON.stringify(a)}`);
    }
    await sleep(100);
  }

  // Serving goes on: /ready, a PromQL and a LogQL query.
  assert.equal((await fetch(`${h.httpUrl}/ready`)).status, 200);
  const prom = await fetch(`${h.httpUrl}/prometheus/api/v1/query?query=count(disk_full_samples)`, { headers: { 'x-scope-orgid': TENANT } });
  assert.equal(prom.status, 200, await prom.text());
  const loki = await fetch(`${h.httpUrl}/loki/api/v1/query?query=${encodeURIComponent('count_over_time({app="disk-full"}[1h])')}`, {
    headers: { 'x-scope-orgid': TENANT },
  });
  assert.equal(loki.status, 200, await loki.text());
  const metrics = await (await fetch(`${h.httpUrl}/metrics`)).text();
  assert.match(metrics, /heimdall_storage_unavailable_writes_total\{reason="disk_full"\} [1-9]/);

  // Space is freed: writes succeed again in the same process, and the log head rotates again.
  const headsWhileFull = newestHead(dataDir);
  rmSync(filler);
  for (let i = 0; i < 10; i++) {
    const m = await writeMetrics();
    assert.equal(m.status, 204, `remote_write after freeing space: ${m.status} ${m.body}`);
    const l = await writeLogs();
    assert.equal(l.status, 204, `Loki push after freeing space: ${l.status} ${l.body}`);
  }
  for (let i = 0; i < 200 && newestHead(dataDir) <= headsWhileFull; i++) {
    assert.equal((await writeLogs()).status, 204);
    await sleep(100);
  }
  assert.ok(newestHead(dataDir) > headsWhileFull, `the log head rotates again after space was freed (head ${headsWhileFull})`);

  // kill -9 and restart: every acknowledged batch is whole.
  await h.stop({ signal: 'SIGKILL', keepData: true });
  h = heimdall = await startHeimdall({ dataDir, config, timeoutMs: 60_000 });
  const atSec = String(Date.now() / 1000 + 1);
  const mres = await fetch(`${h.httpUrl}/prometheus/api/v1/query?query=count_over_time(disk_full_samples[1h])&time=${atSec}`, {
    headers: { 'x-scope-orgid': TENANT },
  });
  const mjson = (await mres.json()) as { data: { result: { metric: { batch: string }; value: [number, string] }[] } };
  const storedMetrics = new Map(mjson.data.result.map((r) => [Number(r.metric.batch), Number(r.value[1])]));
  for (const id of ackedMetrics) assert.equal(storedMetrics.get(id), SAMPLES, `acknowledged remote_write batch ${id} after restart`);
  const lres = await fetch(
    `${h.httpUrl}/loki/api/v1/query?query=${encodeURIComponent('sum by (batch) (count_over_time({app="disk-full"}[2h]))')}&time=${atSec}`,
    { headers: { 'x-scope-orgid': TENANT } },
  );
  const ljson = (await lres.json()) as { data: { result: { metric: { batch: string }; value: [number, string] }[] } };
  const storedLogs = new Map(ljson.data.result.map((r) => [Number(r.metric.batch), Number(r.value[1])]));
  for (const id of ackedLogs) assert.equal(storedLogs.get(id), LINES, `acknowledged Loki push batch ${id} after restart`);
  assert.ok(ackedMetrics.length >= 20 && ackedLogs.length >= 20, `acked ${ackedMetrics.length} metric and ${ackedLogs.length} log batches`);
});
