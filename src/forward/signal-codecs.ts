import snappy from 'snappy';
import { encodeLokiPush } from '../ingest/loki-push-encode.ts';
import { encodeOtlpTraces } from '../ingest/otlp-traces-encode.ts';
import { encodePyroscopePush } from '../ingest/pyroscope-push-encode.ts';
import { REMOTE_WRITE_V2_PROTO } from '../ingest/remote-write.ts';
import { encodeRemoteWriteV1, encodeRemoteWriteV2 } from '../ingest/remote-write-encode.ts';
import { decodeRemoteWriteV1 } from '../ingest/remote-write-v1.ts';
import type { LogRecord, MetricRecord, Profile, SpanRecord } from '../model/index.ts';
import type { CommitStats } from '../storage/index.ts';

/**
 * How a signal's records go into a forwarding queue: one protobuf message per commit, of a type whose messages
 * concatenate into one (remote_write 1.0 `WriteRequest`, Loki `PushRequest`, OTLP `ExportTraceServiceRequest`,
 * Pyroscope `PushRequest` are all lists of repeated fields), so a batch is the queued bodies of one tenant laid
 * end to end.
 */
export interface QueueCodec<R> {
  readonly signal: 'metrics' | 'logs' | 'traces' | 'profiles';
  /** Records `record` stands for: samples and histograms, log entries, spans, profiles. */
  weigh(record: R): number;
  /** What a commit of `records` queues, the records it stands for (the queue-records gauge) and its commit stats. */
  encode(records: readonly R[]): { readonly body: Uint8Array; readonly weight: number; readonly stats: CommitStats };
}

/** Turns a batch (queued bodies of one tenant, concatenated) into the request an endpoint takes. */
export interface WireFormat {
  /** Names the protocol in logs. */
  readonly protocol: string;
  /** Sent as unary calls of this gRPC method (e.g. OTLP `Export`) instead of HTTP POSTs to the URL's path. */
  readonly grpcMethod?: string;
  request(batch: Uint8Array): { readonly body: Uint8Array; readonly headers: Readonly<Record<string, string>> };
}

export const metricsQueueCodec: QueueCodec<MetricRecord> = {
  signal: 'metrics',
  weigh: (r) => (r.samples?.length ?? 0) + (r.histograms?.length ?? 0),
  encode(records) {
    let samples = 0;
    let histograms = 0;
    let exemplars = 0;
    for (const r of records) {
      samples += r.samples?.length ?? 0;
      histograms += r.histograms?.length ?? 0;
      exemplars += r.exemplars?.length ?? 0;
    }
    return { body: encodeRemoteWriteV1(records), weight: samples + histograms, stats: { records: samples, histograms, exemplars } };
  },
};

export const logsQueueCodec: QueueCodec<LogRecord> = {
  signal: 'logs',
  weigh: (r) => r.entries.length,
  encode(records) {
    let entries = 0;
    for (const r of records) entries += r.entries.length;
    return { body: encodeLokiPush(records), weight: entries, stats: { records: entries } };
  },
};

export const tracesQueueCodec: QueueCodec<SpanRecord> = {
  signal: 'traces',
  weigh: (r) => r.spans.length,
  encode(records) {
    let spans = 0;
    for (const r of records) spans += r.spans.length;
    return { body: encodeOtlpTraces(records), weight: spans, stats: { records: spans } };
  },
};

/** One profile per record (one pprof sample type of one series), as the gateway counts profiles. */
export const profilesQueueCodec: QueueCodec<Profile> = {
  signal: 'profiles',
  weigh: () => 1,
  encode: (records) => ({ body: encodePyroscopePush(records), weight: records.length, stats: { records: records.length } }),
};

const PROTOBUF = 'application/x-protobuf';

/** Prometheus remote_write 1.0: the queued `WriteRequest` as is, snappy-compressed. */
export const remoteWriteV1Wire: WireFormat = {
  protocol: 'remote_write_v1',
  request: (batch) => ({
    body: snappy.compressSync(Buffer.from(batch.buffer, batch.byteOffset, batch.byteLength)),
    headers: { 'content-type': PROTOBUF, 'content-encoding': 'snappy', 'x-prometheus-remote-write-version': '0.1.0' },
  }),
};

/**
 * Prometheus remote_write 2.0: the queued 1.0 messages read back into records and written as one 2.0 `Request`
 * (2.0 interns strings in a per-request symbol table, so its messages do not concatenate).
 */
export const remoteWriteV2Wire: WireFormat = {
  protocol: 'remote_write_v2',
  request: (batch) => {
    const decoded = decodeRemoteWriteV1(batch);
    if (decoded.malformed !== undefined) throw new Error(`queued remote_write batch is unreadable: ${decoded.malformed}`);
    const body = encodeRemoteWriteV2(decoded.records);
    return {
      body: snappy.compressSync(Buffer.from(body.buffer, body.byteOffset, body.byteLength)),
      headers: { 'content-type': `${PROTOBUF};proto=${REMOTE_WRITE_V2_PROTO}`, 'content-encoding': 'snappy', 'x-prometheus-remote-write-version': '2.0.0' },
    };
  },
};

/** Loki push: the queued `PushRequest`, snappy-compressed (what Promtail and Alloy send). */
export const lokiPushWire: WireFormat = {
  protocol: 'loki_push',
  request: (batch) => ({
    body: snappy.compressSync(Buffer.from(batch.buffer, batch.byteOffset, batch.byteLength)),
    headers: { 'content-type': PROTOBUF },
  }),
};

/** OTLP/HTTP protobuf: the queued `ExportTraceServiceRequest` as is. */
export const otlpHttpWire: WireFormat = {
  protocol: 'otlp_http',
  request: (batch) => ({ body: batch, headers: { 'content-type': PROTOBUF } }),
};

/** Pyroscope `push.v1.PusherService/Push` over Connect (unary, protobuf): the queued `PushRequest` as is. */
export const pyroscopePushWire: WireFormat = {
  protocol: 'pyroscope_push',
  request: (batch) => ({ body: batch, headers: { 'content-type': 'application/proto', 'connect-protocol-version': '1' } }),
};

/** OTLP/gRPC: the queued `ExportTraceServiceRequest` as the message of a `TraceService/Export` call. */
export const otlpGrpcTracesWire: WireFormat = {
  protocol: 'otlp_grpc',
  grpcMethod: '/opentelemetry.proto.collector.trace.v1.TraceService/Export',
  request: (batch) => ({ body: batch, headers: {} }),
};
