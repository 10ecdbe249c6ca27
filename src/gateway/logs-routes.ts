import { status as GrpcStatus } from '@grpc/grpc-js';
import type { ServerUnaryCall, sendUnaryData } from '@grpc/grpc-js';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { RoleContext } from '../app/role.ts';
import { logsLimitsFor } from '../config/index.ts';
import type { LogsConfig } from '../config/index.ts';
import { decodeLokiPushJson, decodeLokiPushProtobuf } from '../ingest/loki-push.ts';
import type { LogDecodeResult } from '../ingest/loki-push.ts';
import { enrichLokiRecord } from '../ingest/loki-push-enrichment.ts';
import type { EnrichmentSettings } from '../ingest/loki-push-enrichment.ts';
import { decodeOtlpLogsJson, decodeOtlpLogsProtobuf } from '../ingest/otlp-logs.ts';
import type { OtlpLogsDecodeResult } from '../ingest/otlp-logs.ts';
import { LOGS_EXPORT_GRPC_PATH, encodeExportLogsResponse, exportLogsResponseJson } from '../ingest/otlp-logs-proto.ts';
import type { OtlpLogsPartialSuccess } from '../ingest/otlp-logs-proto.ts';
import type { LogRecord, Rejection, TenantId } from '../model/index.ts';
import type { SelfMetrics } from '../selfobs/index.ts';
import type { LogsStorage } from '../storage/index.ts';
import { TENANT_HEADER, TenantError } from '../tenant/index.ts';
import type { TenantResolver, WriteTenancy } from '../tenant/index.ts';
import { decompressBody } from './decompress.ts';
import { HttpError } from './http-error.ts';
import { appendAndCommit } from './ingest-batch.ts';
import type { IngestResult } from './ingest-batch.ts';
import { grpcErrorFor, sendHttpFailure, sendOtlpHttpFailure, sendText } from './ingest-failures.ts';
import type { OtlpEncoding } from './ingest-failures.ts';
import { headerValue, readIngestBody, registerIngestRoutes } from './ingest-scope.ts';
import { addOtlpExportService } from './otlp-grpc-service.ts';
import { countRejected, groupRejections } from './rejection-report.ts';

/** The setting that caps decompressed Loki push and OTLP logs bodies (named in 413 answers). */
export const LOGS_BODY_LIMIT_SETTING = 'logs.max_decompressed_bytes';

/** The stream label that names a Kubernetes namespace (Alloy/Promtail pod logs) when tenants come from namespaces. */
const NAMESPACE_LABEL = 'namespace';
/** The same, as Loki's OTLP mapping names the resource attribute `k8s.namespace.name`. */
const OTLP_NAMESPACE_LABEL = 'k8s_namespace_name';

/**
 * Registers the log write paths: `POST /loki/api/v1/push` (and the legacy `/api/prom/push`; protobuf
 * `PushRequest`, snappy-compressed, or JSON, optionally gzip) and `POST /otlp/v1/logs` on the main HTTP
 * server, `POST /v1/logs` on the OTLP/HTTP listener (protobuf or JSON), and the OTLP/gRPC
 * `opentelemetry.proto.collector.logs.v1.LogsService/Export`. Every path decodes with the pure decoders of
 * `ingest/`, applies Loki 3's distributor enrichments (`service_name`, `detected_level`; per-tenant
 * settings), splits by tenant (header, or the `namespace` label / `k8s.namespace.name` attribute), and writes
 * through {@link appendAndCommit}.
 *
 * Answers follow Loki: 204 when everything was written, 400 with the grouped reasons when some entries were
 * refused (the rest are committed), 400 for a malformed body, 413 past `logs.max_decompressed_bytes`, 415
 * for an unknown OTLP content type, 429/503 with `Retry-After` on overload or shutdown. OTLP answers an
 * `ExportLogsServiceResponse` with `partial_success` in the request's encoding. Call once, before listening.
 */
export async function registerLogsIngest(ctx: RoleContext, storage: LogsStorage): Promise<void> {
  const ingest = new LogsIngest(ctx.tenants, storage, ctx.selfMetrics, ctx.config.logs);
  await registerIngestRoutes(ctx.http, (scope) => {
    scope.post('/loki/api/v1/push', (req, reply) => ingest.lokiPush(req, reply));
    scope.post('/api/prom/push', (req, reply) => ingest.lokiPush(req, reply));
    scope.post('/otlp/v1/logs', (req, reply) => ingest.otlpHttp(req, reply));
  });
  await registerIngestRoutes(ctx.otlpHttp, (scope) => {
    scope.post('/v1/logs', (req, reply) => ingest.otlpHttp(req, reply));
  });
  addOtlpExportService(ctx.grpc, LOGS_EXPORT_GRPC_PATH, (call, callback) => ingest.otlpGrpc(call, callback), ctx.logger, 'logs');
}

class LogsIngest {
  private readonly tenants: TenantResolver;
  private readonly storage: LogsStorage;
  private readonly selfMetrics: SelfMetrics;
  private readonly config: LogsConfig;
  private readonly enrichment = new Map<string, EnrichmentSettings>();

  constructor(tenants: TenantResolver, storage: LogsStorage, selfMetrics: SelfMetrics, config: LogsConfig) {
    this.tenants = tenants;
    this.storage = storage;
    this.selfMetrics = selfMetrics;
    this.config = config;
  }

  async lokiPush(req: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
    try {
      const body = readIngestBody(req, this.tenants, this.config.max_decompressed_bytes, LOGS_BODY_LIMIT_SETTING);
      let decoded: LogDecodeResult;
      if (body.mediaType === 'application/json') {
        decoded = decodeLokiPushJson(body.body);
      } else {
        // Loki's protobuf push is always snappy (block format), usually without a Content-Encoding header.
        const encoding = (headerValue(req, 'content-encoding') ?? '').trim().toLowerCase();
        const raw = encoding === 'snappy' ? body.body : decompressBody(body.body, 'snappy', this.config.max_decompressed_bytes, LOGS_BODY_LIMIT_SETTING);
        decoded = decodeLokiPushProtobuf(raw);
      }
      if (decoded.malformed !== undefined) return sendText(reply, 400, decoded.malformed);
      const result = await this.write(decoded, body.tenancy, (r) => r.labels[NAMESPACE_LABEL] ?? r.labels[OTLP_NAMESPACE_LABEL]);
      if (result.rejections.length > 0) return sendText(reply, 400, groupRejections(result.rejections));
      return reply.code(204).send();
    } catch (err) {
      return sendHttpFailure(reply, err);
    }
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
      const body = readIngestBody(req, this.tenants, this.config.max_decompressed_bytes, LOGS_BODY_LIMIT_SETTING);
      const decoded = encoding === 'json' ? decodeOtlpLogsJson(body.body) : decodeOtlpLogsProtobuf(body.body);
      if (decoded.malformed !== undefined) throw new HttpError(400, 'malformed_body', decoded.malformed);
      const result = await this.write(decoded, body.tenancy, otlpNamespaceOf(decoded));
      const partial = partialSuccess(decoded, result);
      if (encoding === 'json') return reply.code(200).type('application/json').send(exportLogsResponseJson(partial));
      return reply.code(200).type('application/x-protobuf').send(Buffer.from(encodeExportLogsResponse(partial)));
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
    const max = this.config.max_decompressed_bytes;
    if (body.length > max) {
      callback({ code: GrpcStatus.RESOURCE_EXHAUSTED, details: `message exceeds ${max} bytes (set ${LOGS_BODY_LIMIT_SETTING} to raise the limit)` });
      return;
    }
    const decoded = decodeOtlpLogsProtobuf(body);
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
    callback(null, encodeExportLogsResponse(partialSuccess(decoded, result)));
  }

  /** The tenant's enrichment settings, one object per tenant (the enrichment caches by identity). */
  private enrichmentFor(tenant: string): EnrichmentSettings {
    let s = this.enrichment.get(tenant);
    if (!s) {
      const limits = logsLimitsFor(this.config, tenant);
      s = { discoverServiceName: limits.discover_service_name, discoverLogLevels: limits.discover_log_levels };
      this.enrichment.set(tenant, s);
    }
    return s;
  }

  /** Splits decoded records by tenant, applies each tenant's enrichment settings, and writes them. */
  private async write(
    decoded: LogDecodeResult,
    tenancy: WriteTenancy,
    namespaceOf: (r: LogRecord) => string | undefined,
  ): Promise<IngestResult> {
    const split = this.tenants.split(decoded.records, tenancy, namespaceOf);
    const decoderTenant = tenancy.kind === 'fixed' ? tenancy.tenant : this.tenants.settings.defaultTenant;
    const earlier: { tenant: string; rejection: Rejection }[] = [];
    for (const rejection of decoded.rejections) earlier.push({ tenant: decoderTenant, rejection });
    for (const bad of split.invalid) {
      earlier.push({
        tenant: decoderTenant,
        rejection: {
          signal: 'logs',
          reason: 'invalid_tenant',
          message: `namespace "${bad.namespace}" does not make a valid tenant: ${bad.message}`,
          count: Math.max(1, bad.record.entries.length),
        },
      });
    }
    const batches = new Map<TenantId, LogRecord[]>();
    for (const [tenant, records] of split.batches) {
      const settings = this.enrichmentFor(tenant);
      batches.set(tenant, records.map((r) => enrichLokiRecord(r, settings)));
    }
    return appendAndCommit('logs', this.storage, batches, earlier, this.selfMetrics);
  }
}

/** OTLP records take their tenant from the resource's `k8s.namespace.name`, else a `namespace` label. */
function otlpNamespaceOf(decoded: OtlpLogsDecodeResult): (r: LogRecord) => string | undefined {
  return (r) => decoded.namespaces.get(r) ?? r.labels[NAMESPACE_LABEL];
}

/** The partial_success of an export, or undefined when everything was written. */
function partialSuccess(decoded: LogDecodeResult, result: IngestResult): OtlpLogsPartialSuccess | undefined {
  if (result.rejections.length === 0) return undefined;
  const rejected = Math.min(countRejected(result.rejections), Math.max(decoded.entries, 1));
  return { rejectedLogRecords: rejected, errorMessage: groupRejections(result.rejections) };
}
