import { status as GrpcStatus } from '@grpc/grpc-js';
import type { ServerUnaryCall, sendUnaryData } from '@grpc/grpc-js';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { RoleContext } from '../app/role.ts';
import { decodeOtlpMetricsJson, decodeOtlpMetricsProtobuf } from '../ingest/otlp-metrics.ts';
import type { OtlpMetricsDecodeResult } from '../ingest/otlp-metrics.ts';
import {
  METRICS_EXPORT_GRPC_PATH,
  encodeExportMetricsResponse,
  exportMetricsResponseJson,
} from '../ingest/otlp-metrics-proto.ts';
import type { OtlpMetricsPartialSuccess } from '../ingest/otlp-metrics-proto.ts';
import type { MetricDecodeResult } from '../ingest/remote-write-series.ts';
import { decodeRemoteWrite, remoteWriteVersion } from '../ingest/remote-write.ts';
import type { MetricRecord, Rejection, TenantId } from '../model/index.ts';
import type { MetricsStorage } from '../storage/index.ts';
import { TENANT_HEADER, TenantError } from '../tenant/index.ts';
import type { TenantResolver, WriteTenancy } from '../tenant/index.ts';
import type { SelfMetrics } from '../selfobs/index.ts';
import { HttpError } from './http-error.ts';
import { appendAndCommit } from './ingest-batch.ts';
import type { IngestResult } from './ingest-batch.ts';
import { grpcErrorFor, sendHttpFailure, sendOtlpHttpFailure, sendText } from './ingest-failures.ts';
import type { OtlpEncoding } from './ingest-failures.ts';
import { headerValue, readIngestBody, registerIngestRoutes } from './ingest-scope.ts';
import { addOtlpExportService } from './otlp-grpc-service.ts';
import { countRejected, groupRejections } from './rejection-report.ts';

/** The setting that caps decompressed remote_write and OTLP metrics bodies (named in 413 answers). */
export const METRICS_BODY_LIMIT_SETTING = 'metrics.max_decompressed_bytes';

/** The Prometheus remote_write 2.0 response headers (the receiver reports what it wrote). */
const WRITTEN_SAMPLES = 'x-prometheus-remote-write-samples-written';
const WRITTEN_HISTOGRAMS = 'x-prometheus-remote-write-histograms-written';
const WRITTEN_EXEMPLARS = 'x-prometheus-remote-write-exemplars-written';

/** The label (remote_write) that names a series' Kubernetes namespace when tenants come from namespaces. */
const NAMESPACE_LABEL = 'namespace';

/**
 * Registers the metrics write paths: `POST /api/v1/push` (Prometheus remote_write 1.0 and 2.0, Mimir's
 * path) and `POST /otlp/v1/metrics` on the main HTTP server, `POST /v1/metrics` on the OTLP/HTTP listener
 * (protobuf or JSON, any supported Content-Encoding), and the OTLP/gRPC
 * `opentelemetry.proto.collector.metrics.v1.MetricsService/Export` on the gRPC server. Every path decodes
 * with the pure decoders in `ingest/`, splits by tenant, and writes through {@link appendAndCommit} into
 * `storage`.
 *
 * Answers follow each protocol: remote_write gets 204, or 400 with the grouped rejection reasons when some
 * series were refused (the rest committed); OTLP gets an `ExportMetricsServiceResponse` in the request's
 * encoding with `partial_success` for refused data points. Overload and shutdown are 429/503 with
 * `Retry-After` (gRPC RESOURCE_EXHAUSTED/UNAVAILABLE), never 400. Call once per process, before the
 * servers listen.
 */
export async function registerMetricsIngest(ctx: RoleContext, storage: MetricsStorage): Promise<void> {
  const ingest = new MetricsIngest(ctx.tenants, storage, ctx.selfMetrics, ctx.config.metrics.max_decompressed_bytes);
  await registerIngestRoutes(ctx.http, (scope) => {
    scope.post('/api/v1/push', (req, reply) => ingest.remoteWrite(req, reply));
    scope.post('/otlp/v1/metrics', (req, reply) => ingest.otlpHttp(req, reply));
  });
  await registerIngestRoutes(ctx.otlpHttp, (scope) => {
    scope.post('/v1/metrics', (req, reply) => ingest.otlpHttp(req, reply));
  });
  addOtlpExportService(ctx.grpc, METRICS_EXPORT_GRPC_PATH, (call, callback) => ingest.otlpGrpc(call, callback), ctx.logger, 'metrics');
}

class MetricsIngest {
  private readonly tenants: TenantResolver;
  private readonly storage: MetricsStorage;
  private readonly selfMetrics: SelfMetrics;
  private readonly maxBytes: number;

  constructor(tenants: TenantResolver, storage: MetricsStorage, selfMetrics: SelfMetrics, maxBytes: number) {
    this.tenants = tenants;
    this.storage = storage;
    this.selfMetrics = selfMetrics;
    this.maxBytes = maxBytes;
  }

  async remoteWrite(req: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
    const version = remoteWriteVersion(headerValue(req, 'content-type'));
    if ('unsupported' in version) return sendText(reply, 415, version.unsupported);
    let result: IngestResult;
    try {
      const body = readIngestBody(req, this.tenants, this.maxBytes, METRICS_BODY_LIMIT_SETTING);
      const decoded = decodeRemoteWrite(body.body, version.version);
      if (decoded.malformed !== undefined) return sendText(reply, 400, decoded.malformed);
      result = await this.write(decoded, body.tenancy, (r) => r.labels[NAMESPACE_LABEL]);
    } catch (err) {
      return sendHttpFailure(reply, err);
    }
    if (version.version === 2) {
      reply.header(WRITTEN_SAMPLES, String(result.accepted));
      reply.header(WRITTEN_HISTOGRAMS, String(result.histograms));
      reply.header(WRITTEN_EXEMPLARS, String(result.exemplars));
    }
    if (result.rejections.length > 0) return sendText(reply, 400, groupRejections(result.rejections));
    return reply.code(204).send();
  }

  async otlpHttp(req: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
    const mediaType = (headerValue(req, 'content-type') ?? '').split(';')[0]!.trim().toLowerCase();
    const encoding: OtlpEncoding | undefined =
      mediaType === 'application/x-protobuf' || mediaType === 'application/protobuf'
        ? 'protobuf'
        : mediaType === 'application/json'
          ? 'json'
          : undefined;
    if (encoding === undefined) {
      return sendText(reply, 415, `unsupported Content-Type "${mediaType}": OTLP/HTTP takes application/x-protobuf or application/json`);
    }
    try {
      const body = readIngestBody(req, this.tenants, this.maxBytes, METRICS_BODY_LIMIT_SETTING);
      const decoded = encoding === 'json' ? decodeOtlpMetricsJson(body.body) : decodeOtlpMetricsProtobuf(body.body);
      if (decoded.malformed !== undefined) throw new HttpError(400, 'malformed_body', decoded.malformed);
      const result = await this.write(decoded, body.tenancy, otlpNamespaceOf(decoded));
      const partial = partialSuccess(decoded, result);
      if (encoding === 'json') return reply.code(200).type('application/json').send(exportMetricsResponseJson(partial));
      return reply.code(200).type('application/x-protobuf').send(Buffer.from(encodeExportMetricsResponse(partial)));
    } catch (err) {
      return sendOtlpHttpFailure(reply, err, encoding);
    }
  }

  async otlpGrpc(call: ServerUnaryCall<Buffer, Uint8Array>, callback: sendUnaryData<Uint8Array>): Promise<void> {
    let tenancy: WriteTenancy;
    try {
      const header = call.metadata.get(TENANT_HEADER)[0];
      tenancy = this.tenants.forWrite(typeof header === 'string' ? header : header?.toString('utf8'));
    } catch (err) {
      if (!(err instanceof TenantError)) throw err;
      callback({ code: err.status === 401 ? GrpcStatus.UNAUTHENTICATED : GrpcStatus.INVALID_ARGUMENT, details: err.message });
      return;
    }
    const body = call.request;
    if (body.length > this.maxBytes) {
      callback({
        code: GrpcStatus.RESOURCE_EXHAUSTED,
        details: `message exceeds ${this.maxBytes} bytes (set ${METRICS_BODY_LIMIT_SETTING} to raise the limit)`,
      });
      return;
    }
    const decoded = decodeOtlpMetricsProtobuf(body);
    if (decoded.malformed !== undefined) {
      callback({ code: GrpcStatus.INVALID_ARGUMENT, details: decoded.malformed });
      return;
    }
    let result: IngestResult;
    try {
      result = await this.write(decoded, tenancy, otlpNamespaceOf(decoded));
    } catch (err) {
      if (!(err instanceof HttpError)) throw err;
      callback(grpcErrorFor(err));
      return;
    }
    callback(null, encodeExportMetricsResponse(partialSuccess(decoded, result)));
  }

  /**
   * Splits decoded records by tenant and writes them. Metadata-only records go to every tenant written to
   * (metadata describes a metric family, wherever its series land), or to the request's tenant alone.
   */
  private async write(
    decoded: MetricDecodeResult,
    tenancy: WriteTenancy,
    namespaceOf: (r: MetricRecord) => string | undefined,
  ): Promise<IngestResult> {
    const data: MetricRecord[] = [];
    const metadataOnly: MetricRecord[] = [];
    for (const r of decoded.records) {
      if (r.samples === undefined && r.histograms === undefined && r.exemplars === undefined) metadataOnly.push(r);
      else data.push(r);
    }
    const split = this.tenants.split(data, tenancy, namespaceOf);
    const fallbackTenant: TenantId | undefined = tenancy.kind === 'fixed' ? tenancy.tenant : undefined;
    const earlier: { tenant: string; rejection: Rejection }[] = [];
    const decoderTenant = fallbackTenant ?? this.tenants.settings.defaultTenant;
    for (const rejection of decoded.rejections) earlier.push({ tenant: decoderTenant, rejection });
    for (const bad of split.invalid) {
      const n = (bad.record.samples?.length ?? 0) + (bad.record.histograms?.length ?? 0);
      earlier.push({
        tenant: decoderTenant,
        rejection: {
          signal: 'metrics',
          reason: 'invalid_tenant',
          message: `namespace "${bad.namespace}" does not make a valid tenant: ${bad.message}`,
          count: Math.max(1, n),
        },
      });
    }
    if (metadataOnly.length > 0) {
      if (split.batches.size === 0) {
        const tenant = fallbackTenant ?? tryTenant(this.tenants);
        if (tenant !== undefined) split.batches.set(tenant, []);
      }
      for (const batch of split.batches.values()) batch.push(...metadataOnly);
    }
    return appendAndCommit('metrics', this.storage, split.batches, earlier, this.selfMetrics);
  }
}

function tryTenant(tenants: TenantResolver): TenantId | undefined {
  try {
    return tenants.tenantForNamespace(undefined);
  } catch {
    return undefined;
  }
}

/** OTLP records take their tenant from the resource's `k8s.namespace.name`, else a `namespace` label. */
function otlpNamespaceOf(decoded: OtlpMetricsDecodeResult): (r: MetricRecord) => string | undefined {
  return (r) => decoded.namespaces.get(r) ?? r.labels[NAMESPACE_LABEL];
}

/** The partial_success of an export, or undefined when everything was written. */
function partialSuccess(decoded: OtlpMetricsDecodeResult, result: IngestResult): OtlpMetricsPartialSuccess | undefined {
  if (result.rejections.length === 0) return undefined;
  // Rejections count data points (decoder) or samples (storage); a data point never counts twice.
  const rejected = Math.min(countRejected(result.rejections), Math.max(decoded.dataPoints, 1));
  return { rejectedDataPoints: rejected, errorMessage: groupRejections(result.rejections) };
}
