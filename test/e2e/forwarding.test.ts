// The split deployment: a pure gateway (`--target gateway` with gateway.forward) in front of a second Heimdall
// that stores metrics, logs, traces and profiles, both real processes on loopback. The storage process is killed
// (kill -9 by PID) and restarted mid-stream, and the gateway itself is killed while it holds queued data: every write the
// gateway acknowledged arrives, once, as the query APIs of the storage process count it.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, openSync, readFileSync, readdirSync, rmSync, closeSync, writeSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { GENEROUS_MS } from '../support/bounds.ts';
import { lokiPush, remoteWrite } from '../support/write-clients.ts';
import { findGoTool, freePort, skipUnlessFound, startJaeger, startPrometheus, startVictoriaLogs } from './go-tools.ts';
import { startHeimdall } from './harness.ts';
import type { HeimdallProcess } from './harness.ts';

const TENANT = 'team-a';
/** Write rounds per phase; each round writes one sample, one log line, one two-span trace and one CPU profile. */
const ROUNDS = 12;
const T0_MS = Date.now() - 10 * 60_000;

/** Fast retries so the test follows the storage process's restart closely (bounds, not timings). */
const FAST = { batch_max_wait: '50ms', min_backoff: '50ms', max_backoff: '500ms', timeout: '10s' };

function gatewayConfig(storageUrl: string): Record<string, unknown> {
  return {
    gateway: {
      forward: {
        metrics: [{ url: `${storageUrl}/api/v1/push`, name: 'storage', ...FAST }],
        logs: [{ url: `${storageUrl}/loki/api/v1/push`, ...FAST }],
        traces: [{ url: `${storageUrl}/otlp/v1/traces`, ...FAST }],
        profiles: [{ url: `${storageUrl}/push.v1.PusherService/Push`, ...FAST }],
      },
    },
  };
}

const CPU = 'process_cpu:cpu:nanoseconds:cpu:nanoseconds';
/** CPU nanoseconds of round `round`'s profile: `round + 1` samples at 100 Hz. */
const profileNs = (round: number): number => (round + 1) * 10_000_000;

function traceIdOf(round: number): string {
  return createHash('sha256').update(`fw-trace-${round}`).digest('hex').slice(0, 32);
}

function traceBody(round: number): string {
  const startNs = BigInt(T0_MS + round * 1000) * 1_000_000n;
  const span = (i: number): Record<string, unknown> => ({
    traceId: traceIdOf(round),
    spanId: createHash('sha256').update(`fw-span-${round}-${i}`).digest('hex').slice(0, 16),
    ...(i > 0 ? { parentSpanId: createHash('sha256').update(`fw-span-${round}-0`).digest('hex').slice(0, 16) } : {}),
    name: `op-${i}`,
    kind: 2,
    startTimeUnixNano: String(startNs + BigInt(i)),
    endTimeUnixNano: String(startNs + 1_000_000n),
  });
  return JSON.stringify({
    resourceSpans: [{ resource: { attributes: [{ key: 'service.name', value: { stringValue: 'fw' } }] }, scopeSpans: [{ spans: [span(0), span(1)] }] }],
  });
}

/** Writes round `round` of every signal to the gateway; each write must be acknowledged. */
async function writeRound(gateway: HeimdallProcess, round: number): Promise<void> {
  const m = await remoteWrite(gateway.httpUrl, TENANT, 'fw_seq', { job: 'fw' }, [T0_MS + round * 1000], [round]);
  assert.equal(m.status, 204, `remote_write round ${round}: ${m.body}`);
  const l = await lokiPush(gateway.httpUrl, TENANT, { job: 'fw' }, BigInt(T0_MS + round * 1000) * 1_000_000n, [`line ${round}`]);
  assert.equal(l.status, 204, `loki push round ${round}: ${l.body}`);
  const t = await fetch(`${gateway.httpUrl}/otlp/v1/traces`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-scope-orgid': TENANT },
    body: traceBody(round),
  });
  assert.equal(t.status, 200, `OTLP traces round ${round}: ${await t.text()}`);
  const from = Math.floor(T0_MS / 1000) + round;
  const p = await fetch(`${gateway.httpUrl}/ingest?name=fw.cpu&format=folded&sampleRate=100&from=${from}&until=${from + 1}`, {
    method: 'POST',
    headers: { 'x-scope-orgid': TENANT },
    body: `main;work;round${round} ${round + 1}\n`,
  });
  assert.equal(p.status, 200, `Pyroscope ingest round ${round}: ${await p.text()}`);
}

/** The CPU nanoseconds of the `fw` service's profiles that the storage process holds. */
async function profileTotal(url: string, tenant: string): Promise<number | undefined> {
  const res = await fetch(`${url}/pyroscope/querier.v1.QuerierService/SelectMergeStacktraces`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-scope-orgid': tenant },
    body: JSON.stringify({ profileTypeID: CPU, labelSelector: '{service_name="fw"}', start: T0_MS - 60_000, end: Date.now() + 60_000 }),
  });
  if (res.status !== 200) return undefined;
  const body = (await res.json()) as { flamegraph?: { total?: string } };
  return Number(body.flamegraph?.total ?? 0);
}

async function promValue(url: string, query: string, tenant: string): Promise<number | undefined> {
  const res = await fetch(`${url}/prometheus/api/v1/query?query=${encodeURIComponent(query)}`, { headers: { 'x-scope-orgid': tenant } });
  if (res.status !== 200) return undefined;
  const body = (await res.json()) as { data: { result: { value: [number, string] }[] } };
  const v = body.data.result[0]?.value[1];
  return v === undefined ? undefined : Number(v);
}

async function lokiValue(url: string, query: string, tenant: string): Promise<number | undefined> {
  const res = await fetch(`${url}/loki/api/v1/query?query=${encodeURIComponent(query)}`, { headers: { 'x-scope-orgid': tenant } });
  if (res.status !== 200) return undefined;
  const body = (await res.json()) as { data: { result: { value: [number, string] }[] } };
  const v = body.data.result[0]?.value[1];
  return v === undefined ? undefined : Number(v);
}

async function spansOfTrace(url: string, round: number, tenant: string): Promise<number> {
  const res = await fetch(`${url}/tempo/api/v2/traces/${traceIdOf(round)}`, { headers: { 'x-scope-orgid': tenant } });
  if (res.status !== 200) return 0;
  const body = (await res.json()) as { trace?: { resourceSpans?: { scopeSpans?: { spans?: unknown[] }[] }[] } };
  let n = 0;
  for (const rs of body.trace?.resourceSpans ?? []) for (const ss of rs.scopeSpans ?? []) n += ss.spans?.length ?? 0;
  return n;
}

/** Polls `probe` until it returns `expected` (the data arrived), or fails after the generous bound with the last value. */
async function eventually<T>(what: string, probe: () => Promise<T>, expected: T): Promise<void> {
  const deadline = Date.now() + GENEROUS_MS;
  let last: T | undefined;
  for (;;) {
    last = await probe().catch(() => undefined);
    if (last === expected) return;
    if (Date.now() > deadline) assert.fail(`${what}: expected ${String(expected)}, last saw ${String(last)}`);
    await sleep(200);
  }
}

function metricValue(text: string, pattern: RegExp): number {
  let sum = 0;
  for (const line of text.split('\n')) if (pattern.test(line)) sum += Number(line.slice(line.lastIndexOf(' ') + 1));
  return sum;
}

describe('gateway forwarding to a second Heimdall (split deployment)', () => {
  let storage: HeimdallProcess | undefined;
  let gateway: HeimdallProcess | undefined;
  let storagePort = 0;
  let storageDir = '';
  let gatewayDir = '';
  const startStorage = async (): Promise<HeimdallProcess> =>
    startHeimdall({ args: ['--http-address', `127.0.0.1:${storagePort}`, '--multitenancy'], ...(storageDir ? { dataDir: storageDir } : {}) });

  before(async () => {
    storagePort = await freePort();
    storage = await startStorage();
    storageDir = storage.dataDir;
  });
  after(async () => {
    await gateway?.stop();
    await storage?.stop();
    for (const dir of [storageDir, gatewayDir]) if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test('kill -9 of the storage process and of the gateway mid-stream: every acknowledged write arrives once', async () => {
    const config = gatewayConfig(`http://127.0.0.1:${storagePort}`);
    gateway = await startHeimdall({ args: ['--target', 'gateway', '--multitenancy'], config });
    gatewayDir = gateway.dataDir;
    // A gateway forwarding every signal opens none of their engines (a pure gateway).
    assert.match(gateway.output(), /roles gateway\b/);
    for (const engine of ['metrics', 'logs', 'traces', 'profiles']) assert.ok(!existsSync(path.join(gatewayDir, engine)), `no ${engine} directory`);

    const queued = async (): Promise<number> => metricValue(await (await fetch(`${gateway!.httpUrl}/metrics`)).text(), /^heimdall_forward_queue_records\{/);
    let round = 0;
    for (; round < ROUNDS; round++) await writeRound(gateway, round);
    // Delivered (so no request is in flight when it dies: a write the storage process made durable but could not
    // answer is sent again, which the protocols allow and the log store may keep twice across its restart).
    await eventually('first rounds delivered', queued, 0);
    // The storage process dies mid-stream; the gateway keeps acknowledging into its queues.
    await storage!.stop({ signal: 'SIGKILL', keepData: true });
    for (; round < 2 * ROUNDS; round++) await writeRound(gateway, round);
    // The gateway dies too while it holds those writes only on disk.
    await gateway.stop({ signal: 'SIGKILL', keepData: true });
    gateway = await startHeimdall({ args: ['--target', 'gateway', '--multitenancy'], config, dataDir: gatewayDir });
    await gateway.waitForOutput(/resuming forwarding of queued records/);
    storage = await startStorage();
    for (; round < 3 * ROUNDS; round++) await writeRound(gateway, round);

    const total = 3 * ROUNDS;
    await eventually('samples stored', () => promValue(storage!.httpUrl, 'count_over_time(fw_seq[1h])', TENANT), total);
    await eventually('log lines stored', () => lokiValue(storage!.httpUrl, 'sum(count_over_time({job="fw"}[1h]))', TENANT), total);
    for (let r = 0; r < total; r++) await eventually(`spans of trace ${r}`, () => spansOfTrace(storage!.httpUrl, r, TENANT), 2);
    let cpuNs = 0;
    for (let r = 0; r < total; r++) cpuNs += profileNs(r);
    await eventually('profiles stored (CPU nanoseconds of every round, once)', () => profileTotal(storage!.httpUrl, TENANT), cpuNs);
    // Nothing beyond: the values are exactly the rounds written (a resent batch is deduplicated, never doubled).
    assert.equal(await promValue(storage.httpUrl, 'sum_over_time(fw_seq[1h])', TENANT), (total * (total - 1)) / 2);
    // The tenant travelled with the data: nothing landed in another tenant.
    assert.equal(await promValue(storage.httpUrl, 'count_over_time(fw_seq[1h])', 'anonymous'), undefined);

    // Self-metrics of the gateway: the queues drained, the sends counted, the outage shows as retries.
    await eventually('queues drained', queued, 0);
    const metrics = await (await fetch(`${gateway.httpUrl}/metrics`)).text();
    assert.ok(metricValue(metrics, /^heimdall_forward_sent_records_total\{signal="metrics",endpoint="storage"\}/) >= ROUNDS);
    assert.match(metrics, /heimdall_forward_send_duration_seconds_count\{signal="logs",endpoint="http:\/\/127\.0\.0\.1:\d+\/loki\/api\/v1\/push"\} [1-9]/);
    assert.equal(metricValue(metrics, /^heimdall_forward_dropped_records_total\{/), 0);
  });
});

describe('two gateway replicas sharing nothing, traces over OTLP/gRPC', () => {
  test('writes spread over both replicas all arrive once, in their tenant', async () => {
    // Two replicas deliver one series' samples in whatever order their batches leave: the storage side needs an
    // out-of-order window, as Mimir behind several gateways does (without it a late batch is refused, counted).
    const storage = await startHeimdall({ args: ['--multitenancy'], config: { metrics: { limits: { out_of_order_time_window: '1h' } } } });
    const replicas: HeimdallProcess[] = [];
    try {
      const config = gatewayConfig(storage.httpUrl);
      const forward = (config.gateway as { forward: Record<string, unknown> }).forward;
      forward.traces = [{ url: `http://${storage.otlpGrpcAddress}`, protocol: 'grpc', ...FAST }];
      // Each replica has its own data directory (its own queues): nothing is shared but the storage behind them.
      for (let i = 0; i < 2; i++) replicas.push(await startHeimdall({ args: ['--target', 'gateway', '--multitenancy'], config }));
      const rounds = 8;
      // Round-robin, as a load balancer in front of the replicas spreads a client's writes.
      for (let round = 0; round < rounds; round++) await writeRound(replicas[round % 2]!, round);
      await eventually('samples stored', () => promValue(storage.httpUrl, 'count_over_time(fw_seq[1h])', TENANT), rounds);
      await eventually('log lines stored', () => lokiValue(storage.httpUrl, 'sum(count_over_time({job="fw"}[1h]))', TENANT), rounds);
      for (let r = 0; r < rounds; r++) await eventually(`spans of trace ${r} (gRPC)`, () => spansOfTrace(storage.httpUrl, r, TENANT), 2);
      let cpuNs = 0;
      for (let r = 0; r < rounds; r++) cpuNs += profileNs(r);
      await eventually('profiles stored', () => profileTotal(storage.httpUrl, TENANT), cpuNs);
      assert.equal(await promValue(storage.httpUrl, 'sum_over_time(fw_seq[1h])', TENANT), (rounds * (rounds - 1)) / 2);
      const metrics = await (await fetch(`${replicas[0]!.httpUrl}/metrics`)).text();
      assert.ok(metricValue(metrics, /^heimdall_forward_sent_records_total\{signal="traces",endpoint="http:\/\/127\.0\.0\.1:\d+\/"\}/) >= 2);
      for (const r of replicas) {
        assert.equal(metricValue(await (await fetch(`${r.httpUrl}/metrics`)).text(), /^heimdall_forward_dropped_records_total\{/), 0);
      }
    } finally {
      for (const r of replicas) await r.stop();
      await storage.stop();
    }
  });
});

const PROMETHEUS3 = findGoTool('prometheus');

describe('gateway forwarding to Prometheus 3 (remote_write 1.0 and 2.0)', { skip: skipUnlessFound(PROMETHEUS3, 'Prometheus 3', 'go install github.com/prometheus/prometheus/cmd/prometheus@latest') }, () => {
  test('both protocols deliver samples Prometheus can query; a refused batch is dropped and counted', async () => {
    const receiver = (): Record<string, unknown> => ({ global: { scrape_interval: '1h' } });
    const v1 = await startPrometheus(PROMETHEUS3!, receiver, ['--web.enable-remote-write-receiver']);
    const v2 = await startPrometheus(PROMETHEUS3!, receiver, ['--web.enable-remote-write-receiver']);
    let gateway: HeimdallProcess | undefined;
    try {
      gateway = await startHeimdall({
        args: ['--target', 'gateway'],
        config: {
          gateway: {
            forward: {
              metrics: [
                { url: `${v1.url}/api/v1/write`, name: 'prom-v1', protocol: 'remote_write_v1', ...FAST },
                { url: `${v2.url}/api/v1/write`, name: 'prom-v2', protocol: 'remote_write_v2', ...FAST },
              ],
              logs: [{ url: `${v1.url}/loki/api/v1/push`, ...FAST }],
              traces: [{ url: `${v1.url}/v1/traces`, ...FAST }],
            },
          },
        },
      });
      const now = Date.now();
      for (let i = 0; i < 5; i++) {
        const res = await remoteWrite(gateway.httpUrl, 'anonymous', 'fw_prom', { job: 'fw' }, [now - 60_000 + i * 1000], [i + 1]);
        assert.equal(res.status, 204, res.body);
      }
      for (const prom of [v1, v2]) {
        await eventually(`samples in ${prom.url}`, async () => {
          const res = await fetch(`${prom.url}/api/v1/query?query=${encodeURIComponent('sum_over_time(fw_prom{job="fw"}[5m])')}&time=${now / 1000}`);
          const body = (await res.json()) as { data: { result: { value: [number, string] }[] } };
          return Number(body.data.result[0]?.value[1]);
        }, 15);
      }
      // Prometheus has no Loki push path: its 404 is a 4xx other than 429, so the batch is dropped and counted.
      const pushed = await lokiPush(gateway.httpUrl, 'anonymous', { job: 'fw' }, BigInt(now) * 1_000_000n, ['a', 'b', 'c']);
      assert.equal(pushed.status, 204);
      await eventually('dropped log entries counted', async () => {
        const text = await (await fetch(`${gateway!.httpUrl}/metrics`)).text();
        return metricValue(text, /^heimdall_forward_dropped_records_total\{signal="logs",.*reason="http_4xx"\}/);
      }, 3);
    } finally {
      await gateway?.stop();
      await v1.stop();
      await v2.stop();
    }
  });
});

const VICTORIA_LOGS = findGoTool('victoria-logs');

describe('gateway forwarding to VictoriaLogs (Loki push)', {
  skip: skipUnlessFound(VICTORIA_LOGS, 'VictoriaLogs', 'go install github.com/VictoriaMetrics/VictoriaLogs/app/victoria-logs@v1.52.2'),
}, () => {
  test('log lines pushed to the gateway are stored by VictoriaLogs with their stream labels', async () => {
    const vl = await startVictoriaLogs(VICTORIA_LOGS!);
    let gateway: HeimdallProcess | undefined;
    try {
      gateway = await startHeimdall({
        args: ['--target', 'gateway'],
        // VictoriaLogs reads X-Scope-OrgID as its numeric AccountID (a tenant name is a 400), so none is sent.
        config: { gateway: { forward: { logs: [{ url: `${vl.url}/insert/loki/api/v1/push`, name: 'victorialogs', tenant: { header: '' }, ...FAST }] } } },
      });
      const nowNs = BigInt(Date.now()) * 1_000_000n;
      for (let i = 0; i < 3; i++) {
        const res = await lokiPush(gateway.httpUrl, 'anonymous', { job: 'fw-vl', app: 'shop' }, nowNs + BigInt(i), [`order ${i} placed`]);
        assert.equal(res.status, 204, res.body);
      }
      const query = async (): Promise<{ _msg: string; job?: string; app?: string }[]> => {
        const res = await fetch(`${vl.url}/select/logsql/query?query=${encodeURIComponent('job:"fw-vl" | sort by (_time)')}`);
        if (res.status !== 200) return [];
        return (await res.text()).split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as { _msg: string; job?: string; app?: string });
      };
      let rows: { _msg: string; job?: string; app?: string }[] = [];
      await eventually('lines in VictoriaLogs', async () => (rows = await query()).length, 3);
      assert.deepEqual(rows.map((r) => r._msg), ['order 0 placed', 'order 1 placed', 'order 2 placed']);
      assert.ok(rows.every((r) => r.job === 'fw-vl' && r.app === 'shop'));
    } finally {
      await gateway?.stop();
      await vl.stop();
    }
  });
});

const JAEGER = findGoTool('jaeger');

describe('gateway forwarding to Jaeger v2 (OTLP/gRPC)', {
  skip: skipUnlessFound(JAEGER, 'Jaeger v1.75.0', 'go build of github.com/jaegertracing/jaeger/cmd/jaeger@v1.75.0 in a temp module'),
}, () => {
  test('spans sent to the gateway are stored by Jaeger and read back through its HTTP API', async () => {
    const jaeger = await startJaeger(JAEGER!);
    let gateway: HeimdallProcess | undefined;
    try {
      gateway = await startHeimdall({
        args: ['--target', 'gateway'],
        config: { gateway: { forward: { traces: [{ url: jaeger.otlpGrpcUrl, name: 'jaeger', protocol: 'grpc', ...FAST }] } } },
      });
      for (const round of [0, 1]) {
        const res = await fetch(`${gateway.httpUrl}/otlp/v1/traces`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-scope-orgid': TENANT }, body: traceBody(round) });
        assert.equal(res.status, 200, await res.text());
      }
      type JaegerTrace = { spans: { spanID: string; operationName: string; processID: string }[]; processes: Record<string, { serviceName: string }> };
      for (const round of [0, 1]) {
        let trace: JaegerTrace | undefined;
        await eventually(`trace ${round} in Jaeger`, async () => {
          const res = await fetch(`${jaeger.url}/api/traces/${traceIdOf(round)}`);
          if (res.status !== 200) return 0;
          trace = ((await res.json()) as { data: JaegerTrace[] }).data[0];
          return trace?.spans.length ?? 0;
        }, 2);
        assert.deepEqual(trace!.spans.map((s) => s.operationName).sort(), ['op-0', 'op-1']);
        assert.ok(trace!.spans.every((s) => trace!.processes[s.processID]?.serviceName === 'fw'), JSON.stringify(trace!.processes));
      }
    } finally {
      await gateway?.stop();
      await jaeger.stop();
    }
  });
});

describe('a corrupt frame in a forwarding queue', () => {
  test('is skipped after a restart, logged once and counted; the lines around it are delivered', async () => {
    const storagePort = await freePort();
    const config = { gateway: { forward: { logs: [{ url: `http://127.0.0.1:${storagePort}/loki/api/v1/push`, name: 'storage', ...FAST }] } } };
    // The storage process is not up yet: the three pushes stay in the gateway's queue, one frame each.
    let gateway = await startHeimdall({ args: ['--target', 'gateway', '--multitenancy'], config });
    const gatewayDir = gateway.dataDir;
    let storage: HeimdallProcess | undefined;
    try {
      const nowNs = BigInt(Date.now()) * 1_000_000n;
      for (const [i, line] of ['before', 'garbled', 'after'].entries()) {
        const res = await lokiPush(gateway.httpUrl, TENANT, { job: 'fw-corrupt' }, nowNs + BigInt(i), [line]);
        assert.equal(res.status, 204, res.body);
      }
      await gateway.stop({ signal: 'SIGKILL', keepData: true });
      // Garble the payload of the second frame on disk (frames are `[u32 length][u32 crc32][payload]`).
      const queueDir = path.join(gatewayDir, 'forward', 'logs', 'storage');
      const file = readdirSync(queueDir).filter((n) => /^\d{8}$/.test(n)).map((n) => path.join(queueDir, n)).find((f) => readFileSync(f).length > 0)!;
      const buf = readFileSync(file);
      const second = 8 + buf.readUInt32LE(0);
      const fd = openSync(file, 'r+');
      writeSync(fd, Buffer.from('garbage!'), 0, 8, second + 8 + 12);
      closeSync(fd);

      storage = await startHeimdall({ args: ['--http-address', `127.0.0.1:${storagePort}`, '--multitenancy'] });
      gateway = await startHeimdall({ args: ['--target', 'gateway', '--multitenancy'], config, dataDir: gatewayDir });
      await eventually('the good lines delivered', () => lokiValue(storage!.httpUrl, 'sum(count_over_time({job="fw-corrupt"}[1h]))', TENANT), 2);
      const res = await fetch(`${storage.httpUrl}/loki/api/v1/query_range?query=${encodeURIComponent('{job="fw-corrupt"}')}&direction=forward`, { headers: { 'x-scope-orgid': TENANT } });
      const body = (await res.json()) as { data: { result: { values: [string, string][] }[] } };
      assert.deepEqual(body.data.result.flatMap((r) => r.values.map((v) => v[1])), ['before', 'after']);
      const text = await (await fetch(`${gateway.httpUrl}/metrics`)).text();
      assert.ok(metricValue(text, /^heimdall_forward_queue_corrupt_bytes_total\{signal="logs",endpoint="storage"\}/) > 0, text);
      assert.equal(gateway.output().match(/skipping corrupt bytes in the forwarding queue/g)?.length, 1, gateway.output());
    } finally {
      await gateway.stop();
      await storage?.stop();
      rmSync(gatewayDir, { recursive: true, force: true });
    }
  });
});
