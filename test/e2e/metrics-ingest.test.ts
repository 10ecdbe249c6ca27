// Real clients against a real Heimdall: the OpenTelemetry JS metrics SDK exports over OTLP/HTTP JSON (to the
// OTLP listener's /v1/metrics), OTLP/HTTP protobuf with gzip (to the main address' /otlp/v1/metrics) and
// OTLP/gRPC with gzip; the data is read back through the Prometheus query API with the same tenant.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Metadata } from '@grpc/grpc-js';
import type { Meter } from '@opentelemetry/api';
import { ExportResultCode } from '@opentelemetry/core';
import type { ExportResult } from '@opentelemetry/core';
import { OTLPMetricExporter as GrpcExporter } from '@opentelemetry/exporter-metrics-otlp-grpc';
import { OTLPMetricExporter as JsonExporter } from '@opentelemetry/exporter-metrics-otlp-http';
import { OTLPMetricExporter as ProtoExporter } from '@opentelemetry/exporter-metrics-otlp-proto';
import { CompressionAlgorithm } from '@opentelemetry/otlp-exporter-base';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { AggregationType, MeterProvider, PeriodicExportingMetricReader } from '@opentelemetry/sdk-metrics';
import type { PushMetricExporter } from '@opentelemetry/sdk-metrics';
import { startHeimdall } from './harness.ts';
import type { HeimdallProcess } from './harness.ts';

const TENANT = 'e2e-metrics';

interface PromResponse<T> {
  status: string;
  data: T;
  error?: string;
}

interface VectorSample {
  metric: Record<string, string>;
  value?: [number, string];
  histogram?: [number, { count: string; sum: string; buckets?: unknown[] }];
}

async function promGet<T>(h: HeimdallProcess, path: string, params: Record<string, string>): Promise<T> {
  const qs = new URLSearchParams(params).toString();
  const res = await fetch(`${h.httpUrl}/prometheus/api/v1/${path}?${qs}`, { headers: { 'X-Scope-OrgID': TENANT } });
  const body = (await res.json()) as PromResponse<T>;
  assert.equal(res.status, 200, `${path} ${qs}: ${JSON.stringify(body)}`);
  return body.data;
}

async function instant(h: HeimdallProcess, query: string): Promise<VectorSample[]> {
  const data = await promGet<{ resultType: string; result: VectorSample[] }>(h, 'query', { query, time: String(Date.now() / 1000) });
  return data.result;
}

/** Records the same instruments every client records, with values that differ per client. */
function record(meter: Meter, k: number): void {
  const requests = meter.createCounter('e2e.requests', { unit: '{request}', description: 'Requests served.' });
  requests.add(5 * k, { route: '/a', 'http.method': 'GET' });
  requests.add(1, { route: '/b', 'http.method': 'POST' });
  const latency = meter.createHistogram('e2e.latency', { unit: 's', advice: { explicitBucketBoundaries: [0.1, 1, 10] } });
  for (const v of [0.05, 0.5, 0.5, 5, 50]) latency.record(v * k, { route: '/a' });
  const queue = meter.createUpDownCounter('e2e.queue');
  queue.add(10 * k);
  queue.add(-3);
  const temp = meter.createObservableGauge('e2e.temperature', { unit: 'Cel' });
  temp.addCallback((r) => r.observe(21.5 * k, { room: 'lab' }));
  const size = meter.createHistogram('e2e.size', { unit: 'By' });
  for (const v of [1, 3, 200, 1000]) size.record(v * k);
}

/** Collects once and exports through `exporter`, failing the test if the export does not succeed. */
async function exportOnce(exporter: PushMetricExporter, job: string, k: number): Promise<void> {
  const reader = new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: 3_600_000 });
  const provider = new MeterProvider({
    resource: resourceFromAttributes({ 'service.name': job, 'service.instance.id': `${job}-1`, 'host.name': 'e2e-host' }),
    readers: [reader],
    views: [{ instrumentName: 'e2e.size', aggregation: { type: AggregationType.EXPONENTIAL_HISTOGRAM } }],
  });
  record(provider.getMeter('e2e', '1.0.0'), k);
  // Export explicitly (rather than forceFlush, which only logs failures) to see the exporter's result.
  const { resourceMetrics, errors } = await reader.collect();
  assert.deepEqual(errors, []);
  const result = await new Promise<ExportResult>((resolve) => exporter.export(resourceMetrics, resolve));
  assert.equal(result.code, ExportResultCode.SUCCESS, `${job} export failed: ${result.error?.message}`);
  await provider.shutdown();
}

describe('OpenTelemetry JS metrics SDK → Heimdall', { timeout: 120_000 }, () => {
  let h: HeimdallProcess;
  const headers = { 'X-Scope-OrgID': TENANT };
  const clients: { job: string; k: number; exporter: () => PushMetricExporter }[] = [];

  before(async () => {
    h = await startHeimdall({ config: { multitenancy: true } });
    clients.push(
      { job: 'e2e-json', k: 1, exporter: () => new JsonExporter({ url: `${h.otlpHttpUrl}/v1/metrics`, headers }) },
      {
        job: 'e2e-proto',
        k: 2,
        exporter: () => new ProtoExporter({ url: `${h.httpUrl}/otlp/v1/metrics`, headers, compression: CompressionAlgorithm.GZIP }),
      },
      {
        job: 'e2e-grpc',
        k: 3,
        exporter: () => {
          // gRPC metadata carries the tenant as the HTTP header does.
          const metadata = new Metadata();
          metadata.set('x-scope-orgid', TENANT);
          return new GrpcExporter({ url: `http://${h.otlpGrpcAddress}`, compression: CompressionAlgorithm.GZIP, metadata });
        },
      },
    );
    for (const c of clients) await exportOnce(c.exporter(), c.job, c.k);
  });

  after(async () => {
    await h?.stop();
  });

  for (const [job, k] of [['e2e-json', 1], ['e2e-proto', 2], ['e2e-grpc', 3]] as const) {
    test(`${job}: counters, gauges, classic and native histograms read back`, async () => {
      const counter = await instant(h, `e2e_requests_total{job="${job}"}`);
      assert.deepEqual(
        counter.map((s) => [s.metric['route'], s.metric['http_method'], s.metric['instance'], Number(s.value![1])]).sort(),
        [['/a', 'GET', `${job}-1`, 5 * k], ['/b', 'POST', `${job}-1`, 1]],
      );
      const queue = await instant(h, `e2e_queue{job="${job}"}`);
      assert.deepEqual(queue.map((s) => Number(s.value![1])), [10 * k - 3]);
      const temp = await instant(h, `e2e_temperature_celsius{job="${job}"}`);
      assert.deepEqual(temp.map((s) => [s.metric['room'], Number(s.value![1])]), [['lab', 21.5 * k]]);

      const buckets = await instant(h, `e2e_latency_seconds_bucket{job="${job}"}`);
      const byLe = Object.fromEntries(buckets.map((s) => [s.metric['le'], Number(s.value![1])]));
      // Values 0.05k, 0.5k, 0.5k, 5k, 50k against bounds 0.1, 1, 10 (cumulative).
      const expected: Record<string, number> = { '0.1': 0, '1': 0, '10': 0, '+Inf': 5 };
      for (const v of [0.05, 0.5, 0.5, 5, 50].map((x) => x * k)) {
        for (const le of ['0.1', '1', '10']) if (v <= Number(le)) expected[le]!++;
      }
      assert.deepEqual(byLe, expected);
      assert.equal(Number((await instant(h, `e2e_latency_seconds_count{job="${job}"}`))[0]!.value![1]), 5);
      const sum = Number((await instant(h, `e2e_latency_seconds_sum{job="${job}"}`))[0]!.value![1]);
      assert.ok(Math.abs(sum - 56.05 * k) < 1e-9, `sum ${sum}`);

      const native = await instant(h, `e2e_size_bytes{job="${job}"}`);
      assert.equal(native.length, 1);
      assert.ok(native[0]!.histogram, `a native histogram sample: ${JSON.stringify(native[0])}`);
      assert.equal(Number(native[0]!.histogram[1].count), 4);
      assert.equal(Number(native[0]!.histogram[1].sum), 1204 * k);

      const info = await instant(h, `target_info{job="${job}"}`);
      assert.deepEqual(info.map((s) => [s.metric['host_name'], s.metric['instance']]), [['e2e-host', `${job}-1`]]);
    });
  }

  test('metadata carries OTLP types, help and units', async () => {
    const md = await promGet<Record<string, { type: string; help: string; unit: string }[]>>(h, 'metadata', { metric: 'e2e_requests_total' });
    assert.deepEqual(md['e2e_requests_total']?.[0], { type: 'counter', help: 'Requests served.', unit: '{request}' });
  });

  test('another tenant sees nothing', async () => {
    const res = await fetch(`${h.httpUrl}/prometheus/api/v1/query?query=e2e_requests_total`, { headers: { 'X-Scope-OrgID': 'someone-else' } });
    const body = (await res.json()) as PromResponse<{ result: unknown[] }>;
    assert.deepEqual(body.data.result, []);
  });
});
