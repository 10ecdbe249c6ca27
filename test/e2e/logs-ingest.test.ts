// Real clients against the real binary: pino-loki (Loki JSON push) and the OpenTelemetry JS logs SDK
// (OTLP/HTTP JSON, OTLP/HTTP protobuf on both listeners, OTLP/gRPC). After a clean shutdown the log store
// in the data directory is opened and every line is checked with its labels and structured metadata.
import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { SeverityNumber } from '@opentelemetry/api-logs';
import { OTLPLogExporter as OtlpGrpcLogExporter } from '@opentelemetry/exporter-logs-otlp-grpc';
import { OTLPLogExporter as OtlpJsonLogExporter } from '@opentelemetry/exporter-logs-otlp-http';
import { OTLPLogExporter as OtlpProtoLogExporter } from '@opentelemetry/exporter-logs-otlp-proto';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { LoggerProvider, SimpleLogRecordProcessor } from '@opentelemetry/sdk-logs';
import type { LogRecordExporter } from '@opentelemetry/sdk-logs';
import { pino } from 'pino';
import { pinoLoki } from 'pino-loki';
import { configSchema } from '../../src/config/index.ts';
import { LogStore } from '../../src/logstore/index.ts';
import type { Labels, TenantId } from '../../src/model/index.ts';
import { GENEROUS_MS } from '../support/bounds.ts';
import { startHeimdall } from './harness.ts';
import type { HeimdallProcess } from './harness.ts';
import { logStoreConfigOptions } from '../../src/app/engine-options.ts';

let heimdall: HeimdallProcess;
let expectedEntries = 0;

before(async () => {
  heimdall = await startHeimdall();
});

after(async () => {
  if (heimdall.child.exitCode === null && heimdall.child.signalCode === null) await heimdall.stop();
});

/** Waits (bounded) until Heimdall counted `n` accepted log records, via its own /metrics. */
async function waitForReceived(n: number): Promise<void> {
  let seen = 0;
  // Up to a minute and a half on a loaded machine; the loop ends as soon as the count is reached.
  for (let i = 0; i < GENEROUS_MS / 100; i++) {
    const text = await (await fetch(`${heimdall.httpUrl}/metrics`)).text();
    const m = /^heimdall_received_records_total\{signal="logs",tenant="anonymous"\} (\d+)/m.exec(text);
    seen = m ? Number(m[1]) : 0;
    if (seen >= n) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.fail(`Heimdall received ${seen} log records, expected ${n}`);
}

test('pino-loki pushes JSON to /loki/api/v1/push', async () => {
  const transport = pinoLoki({
    host: heimdall.httpUrl,
    batching: false,
    labels: { app: 'pino-e2e' },
    silenceErrors: false,
  });
  const logger = pino({ level: 'debug' }, transport);
  logger.info({ meta: { request_id: 'r-1' } }, 'hello from pino');
  logger.error('pino saw an error');
  logger.debug('debug line');
  expectedEntries += 3;
  await waitForReceived(expectedEntries);
  transport.end();
});

function otelProvider(service: string, exporter: LogRecordExporter): LoggerProvider {
  return new LoggerProvider({
    resource: resourceFromAttributes({ 'service.name': service, 'deployment.environment': 'e2e', 'host.name': 'test-host' }),
    processors: [new SimpleLogRecordProcessor({ exporter })],
  });
}

async function emitOtel(service: string, exporter: LogRecordExporter): Promise<void> {
  const provider = otelProvider(service, exporter);
  const log = provider.getLogger('e2e-scope', '1.2.3');
  log.emit({ body: `otel ${service} info`, severityNumber: SeverityNumber.INFO, severityText: 'INFO', attributes: { 'http.route': '/cart' } });
  log.emit({ body: `otel ${service} error`, severityNumber: SeverityNumber.ERROR, severityText: 'ERROR' });
  await provider.forceFlush();
  await provider.shutdown();
  expectedEntries += 2;
  await waitForReceived(expectedEntries);
}

test('OpenTelemetry logs SDK over OTLP/HTTP JSON (:4318 /v1/logs)', async () => {
  await emitOtel('otel-http-json', new OtlpJsonLogExporter({ url: `${heimdall.otlpHttpUrl}/v1/logs` }));
});

test('OpenTelemetry logs SDK over OTLP/HTTP protobuf (:4318 /v1/logs and :3000 /otlp/v1/logs)', async () => {
  await emitOtel('otel-http-proto', new OtlpProtoLogExporter({ url: `${heimdall.otlpHttpUrl}/v1/logs` }));
  await emitOtel('otel-loki-otlp', new OtlpProtoLogExporter({ url: `${heimdall.httpUrl}/otlp/v1/logs` }));
});

test('OpenTelemetry logs SDK over OTLP/gRPC', async () => {
  await emitOtel('otel-grpc', new OtlpGrpcLogExporter({ url: `http://${heimdall.otlpGrpcAddress}` }));
});

test('after a clean shutdown the store holds every line with Loki-shaped labels and metadata', async () => {
  const { code } = await heimdall.stop({ keepData: true });
  assert.equal(code, 0, heimdall.output());
  const config = configSchema.parse({}).logs;
  const store = await LogStore.open({ dir: path.join(heimdall.dataDir, 'logs'), ...logStoreConfigOptions(config), threads: 1, background: false });
  try {
    const q = await store.querier(['anonymous' as TenantId]);
    const nowNs = BigInt(Date.now()) * 1_000_000n;
    const got = new Map<string, { labels: Labels; md: Labels | undefined }>();
    for await (const slice of q.select({ matchers: [], startNs: nowNs - 3600n * 1_000_000_000n, endNs: nowNs + 60n * 1_000_000_000n, direction: 'forward' })) {
      for (const b of slice) for (let i = 0; i < b.lines.length; i++) got.set(b.lines[i]!, { labels: b.labels, md: b.structuredMetadata?.[i] });
    }
    await q.close();
    assert.equal(got.size, expectedEntries, [...got.keys()].join('\n'));

    const pinoInfo = [...got.entries()].find(([line]) => line.includes('hello from pino'));
    assert.ok(pinoInfo, 'pino line stored');
    assert.equal(pinoInfo[1].labels.app, 'pino-e2e');
    assert.equal(pinoInfo[1].labels.service_name, 'pino-e2e');
    assert.equal(pinoInfo[1].md?.request_id, 'r-1');
    const pinoError = [...got.entries()].find(([line]) => line.includes('pino saw an error'))!;
    assert.equal(pinoError[1].md?.detected_level, 'error');

    for (const service of ['otel-http-json', 'otel-http-proto', 'otel-loki-otlp', 'otel-grpc']) {
      const info = got.get(`otel ${service} info`);
      assert.ok(info, `${service}: info line stored`);
      assert.deepEqual(info.labels, { service_name: service, deployment_environment: 'e2e' });
      assert.equal(info.md?.host_name, 'test-host');
      assert.equal(info.md?.http_route, '/cart');
      assert.equal(info.md?.scope_name, 'e2e-scope');
      assert.equal(info.md?.scope_version, '1.2.3');
      assert.equal(info.md?.severity_text, 'INFO');
      assert.equal(info.md?.severity_number, '9');
      assert.equal(info.md?.detected_level, 'info');
      assert.equal(got.get(`otel ${service} error`)?.md?.detected_level, 'error');
    }
  } finally {
    await store.close();
  }
});
