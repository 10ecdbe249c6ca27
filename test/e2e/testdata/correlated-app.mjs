// A small "shop" service instrumented as people do it, for the correlated UI test: traces with the OpenTelemetry
// JS SDK (OTLP/HTTP protobuf), CPU and wall profiles with the Pyroscope Node SDK (each checkout's work wrapped
// with its span id as the `span_id` label, so a span has a profile), and logs through pino and pino-loki with the
// trace and span ids as structured metadata. argv: Heimdall's HTTP URL, its OTLP/HTTP URL. It runs until the
// parent stops it, bounded by a 120 s guard so it never outlives a failed test.
import { setTimeout } from 'node:timers';
import { ROOT_CONTEXT, SpanKind, trace } from '@opentelemetry/api';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, BatchSpanProcessor } from '@opentelemetry/sdk-trace-base';
import Pyroscope from '@pyroscope/nodejs';
import { pino } from 'pino';
import { pinoLoki } from 'pino-loki';

const [httpUrl, otlpUrl] = process.argv.slice(2);

Pyroscope.init({ serverAddress: httpUrl, appName: 'shop', flushIntervalMs: 1000, wall: { samplingDurationMs: 1000, collectCpuTime: true } });
Pyroscope.start();
const provider = new BasicTracerProvider({
  resource: resourceFromAttributes({ 'service.name': 'shop' }),
  spanProcessors: [new BatchSpanProcessor(new OTLPTraceExporter({ url: `${otlpUrl}/v1/traces` }), { scheduledDelayMillis: 500 })],
});
const tracer = provider.getTracer('shop', '1.0.0');
const logger = pino({}, pinoLoki({ host: httpUrl, batching: { interval: 0.5 }, labels: { service_name: 'shop' } }));

function chargeCard(ms) {
  const end = Date.now() + ms;
  let x = 0;
  while (Date.now() < end) x += Math.sqrt(x + 1);
  return x;
}

const guard = setTimeout(() => process.exit(0), 120_000);
guard.unref();
for (let order = 1; ; order++) {
  const root = tracer.startSpan('GET /checkout', { kind: SpanKind.SERVER, attributes: { 'http.route': '/checkout' } });
  const charge = tracer.startSpan('chargeCard', { kind: SpanKind.INTERNAL }, trace.setSpan(ROOT_CONTEXT, root));
  const { traceId, spanId } = charge.spanContext();
  // 150 ms of work: the wall profiler samples every 10 ms, so even a loaded machine labels some samples with the span.
  Pyroscope.wrapWithLabels({ span_id: spanId }, () => chargeCard(150));
  logger.info({ meta: { trace_id: traceId, span_id: spanId } }, `charged card for order ${order}`);
  charge.end();
  root.end();
  await new Promise((r) => setTimeout(r, 20));
}
