// Minimal clients for every write path of a running Heimdall (remote_write 1.0, Loki push JSON, OTLP/HTTP
// JSON and OTLP/gRPC for metrics and logs), answering status, Retry-After and body, for robustness tests.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Metadata, credentials, makeGenericClientConstructor } from '@grpc/grpc-js';
import type { ServiceError } from '@grpc/grpc-js';
import protobuf from 'protobufjs';
import snappy from 'snappy';

const PROTO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../proto');
const WriteRequest = protobuf.loadSync(path.join(PROTO, 'prometheus/remote.proto')).lookupType('prometheus.WriteRequest');
const otlp = protobuf.loadSync([path.join(PROTO, 'otlp/metrics-service.proto'), path.join(PROTO, 'otlp/logs-service.proto')]);
const MetricsRequest = otlp.lookupType('opentelemetry.proto.collector.metrics.v1.ExportMetricsServiceRequest');
const LogsRequest = otlp.lookupType('opentelemetry.proto.collector.logs.v1.ExportLogsServiceRequest');

/** One write's answer (gRPC answers carry the gRPC status code in `grpcCode`, `status` is 0). */
export interface WriteAnswer {
  readonly status: number;
  readonly retryAfter: string | null;
  readonly body: string;
  readonly grpcCode?: number;
}

async function answer(res: Response): Promise<WriteAnswer> {
  return { status: res.status, retryAfter: res.headers.get('retry-after'), body: await res.text() };
}

/**
 * remote_write 1.0 of one series `name{labels}` with a sample at each of `timesMs`, valued `values[i]` (the
 * sample's index when `values` is not given), and the series' `exemplars` when given.
 */
export async function remoteWrite(
  httpUrl: string,
  tenant: string,
  name: string,
  labels: Record<string, string>,
  timesMs: readonly number[],
  values?: readonly number[],
  exemplars: readonly { readonly labels: Record<string, string>; readonly value: number; readonly timestampMs: number }[] = [],
): Promise<WriteAnswer> {
  const pairs = (l: Record<string, string>): { name: string; value: string }[] => Object.entries(l).map(([k, v]) => ({ name: k, value: v }));
  const timeseries = [
    {
      labels: [{ name: '__name__', value: name }, ...pairs(labels)],
      samples: timesMs.map((timestamp, i) => ({ value: values?.[i] ?? i, timestamp })),
      exemplars: exemplars.map((e) => ({ labels: pairs(e.labels), value: e.value, timestamp: e.timestampMs })),
    },
  ];
  const body = snappy.compressSync(Buffer.from(WriteRequest.encode(WriteRequest.fromObject({ timeseries })).finish()));
  return answer(
    await fetch(`${httpUrl}/api/v1/push`, {
      method: 'POST',
      body,
      headers: {
        'content-type': 'application/x-protobuf',
        'content-encoding': 'snappy',
        'x-prometheus-remote-write-version': '0.1.0',
        'x-scope-orgid': tenant,
      },
    }),
  );
}

/**
 * Loki push (JSON) of one stream with `lines` at consecutive nanoseconds from `startNs` (or `stepNs` apart),
 * line i carrying `metadata[i]` as structured metadata when given.
 */
export async function lokiPush(
  httpUrl: string,
  tenant: string,
  stream: Record<string, string>,
  startNs: bigint,
  lines: readonly string[],
  opts: { stepNs?: bigint; metadata?: readonly Record<string, string>[] } = {},
): Promise<WriteAnswer> {
  const step = opts.stepNs ?? 1n;
  const values = lines.map((line, i) => {
    const md = opts.metadata?.[i];
    return md ? [String(startNs + BigInt(i) * step), line, md] : [String(startNs + BigInt(i) * step), line];
  });
  return answer(
    await fetch(`${httpUrl}/loki/api/v1/push`, {
      method: 'POST',
      body: JSON.stringify({ streams: [{ stream, values }] }),
      headers: { 'content-type': 'application/json', 'x-scope-orgid': tenant },
    }),
  );
}

/** An OTLP metrics export request (one gauge point) as a plain object (OTLP JSON and protobufjs both take it). */
export function otlpMetricsRequest(service: string, name: string, timeMs: number): Record<string, unknown> {
  return {
    resourceMetrics: [
      {
        resource: { attributes: [{ key: 'service.name', value: { stringValue: service } }] },
        scopeMetrics: [{ metrics: [{ name, gauge: { dataPoints: [{ timeUnixNano: String(BigInt(timeMs) * 1_000_000n), asDouble: 1 }] } }] }],
      },
    ],
  };
}

/** An OTLP logs export request (one record) as a plain object. */
export function otlpLogsRequest(service: string, line: string, timeMs: number): Record<string, unknown> {
  return {
    resourceLogs: [
      {
        resource: { attributes: [{ key: 'service.name', value: { stringValue: service } }] },
        scopeLogs: [{ logRecords: [{ timeUnixNano: String(BigInt(timeMs) * 1_000_000n), body: { stringValue: line } }] }],
      },
    ],
  };
}

/** OTLP/HTTP JSON export to `<otlpHttpUrl>/v1/{metrics,logs}`. */
export async function otlpHttp(otlpHttpUrl: string, tenant: string, signal: 'metrics' | 'logs', request: Record<string, unknown>): Promise<WriteAnswer> {
  return answer(
    await fetch(`${otlpHttpUrl}/v1/${signal}`, {
      method: 'POST',
      body: JSON.stringify(request),
      headers: { 'content-type': 'application/json', 'x-scope-orgid': tenant },
    }),
  );
}

/** OTLP/gRPC export; resolves with the gRPC status code (0 on success) and message. */
export function otlpGrpc(address: string, tenant: string, signal: 'metrics' | 'logs', request: Record<string, unknown>): Promise<WriteAnswer> {
  const type = signal === 'metrics' ? MetricsRequest : LogsRequest;
  const service = signal === 'metrics' ? 'opentelemetry.proto.collector.metrics.v1.MetricsService' : 'opentelemetry.proto.collector.logs.v1.LogsService';
  const Client = makeGenericClientConstructor(
    {
      Export: {
        path: `/${service}/Export`,
        requestStream: false,
        responseStream: false,
        requestSerialize: (b: Buffer) => b,
        requestDeserialize: (b: Buffer) => b,
        responseSerialize: (b: Buffer) => b,
        responseDeserialize: (b: Buffer) => b,
      },
    },
    service,
  );
  const client = new Client(address, credentials.createInsecure());
  const md = new Metadata();
  md.set('x-scope-orgid', tenant);
  const body = Buffer.from(type.encode(type.fromObject(request)).finish());
  return new Promise((resolve) => {
    client.makeUnaryRequest(
      `/${service}/Export`,
      (b: Buffer) => b,
      (b: Buffer) => b,
      body,
      md,
      { deadline: Date.now() + 30_000 },
      (err: ServiceError | null) => {
        client.close();
        // A retryable gRPC failure carries a google.rpc.RetryInfo detail, reported here as `retryAfter`.
        const details = err?.metadata?.get('grpc-status-details-bin') ?? [];
        resolve({ status: 0, retryAfter: details.length > 0 ? 'RetryInfo' : null, body: err?.details ?? '', grpcCode: err?.code ?? 0 });
      },
    );
  });
}
