import type { FastifyReply, FastifyRequest } from 'fastify';
import { limitsForTenant } from '../config/index.ts';
import type { LogsConfig } from '../config/index.ts';
import { decodeLokiPushJson, decodeLokiPushProtobuf } from '../ingest/loki-push.ts';
import type { LogDecodeResult } from '../ingest/loki-push.ts';
import { enrichLokiRecord } from '../ingest/loki-push-enrichment.ts';
import type { EnrichmentSettings } from '../ingest/loki-push-enrichment.ts';
import { decodeOtlpLogsJson, decodeOtlpLogsProtobuf } from '../ingest/otlp-logs.ts';
import type { OtlpLogsDecodeResult } from '../ingest/otlp-logs.ts';
import { LOGS_EXPORT_GRPC_PATH, encodeExportLogsResponse, exportLogsResponseJson } from '../ingest/otlp-logs-proto.ts';
import type { LogRecord } from '../model/index.ts';
import type { Appendable } from '../storage/index.ts';
import type { GatewayDeps, SignalIngest } from './ingest-pipeline.ts';
import { mediaTypeOf, registerIngestRoutes } from './ingest-scope.ts';
import { registerOtlpSignal } from './otlp-routes.ts';
import { handleTextIngest, textFailure } from './text-ingest.ts';

/** The setting that caps decompressed Loki push and OTLP logs bodies (named in 413 answers). */
const LOGS_BODY_LIMIT_SETTING = 'logs.max_decompressed_bytes';

/** The stream label that names a Kubernetes namespace (Alloy/Promtail pod logs) when tenants come from namespaces. */
const NAMESPACE_LABEL = 'namespace';
/** The same, as Loki's OTLP mapping names the resource attribute `k8s.namespace.name`. */
const OTLP_NAMESPACE_LABEL = 'k8s_namespace_name';

/**
 * The logs signal as the ingest pipeline sees it: Loki 3's distributor enrichments (`service_name`,
 * `detected_level`) are applied per tenant with that tenant's settings.
 */
function logsIngest(storage: Appendable<LogRecord>, config: LogsConfig): SignalIngest<LogRecord> {
  // One settings object per tenant: the enrichment caches by its identity.
  const enrichment = new Map<string, EnrichmentSettings>();
  const enrichmentFor = (tenant: string): EnrichmentSettings => {
    let s = enrichment.get(tenant);
    if (!s) {
      const limits = limitsForTenant(config, tenant);
      s = { discoverServiceName: limits.discover_service_name, discoverLogLevels: limits.discover_log_levels };
      enrichment.set(tenant, s);
    }
    return s;
  };
  return {
    signal: 'logs',
    appendable: storage,
    maxDecompressedBytes: config.max_decompressed_bytes,
    bodyLimitSetting: LOGS_BODY_LIMIT_SETTING,
    namespaceOf: (r) => r.labels[NAMESPACE_LABEL] ?? r.labels[OTLP_NAMESPACE_LABEL],
    itemsOf: (r) => r.entries.length,
    prepare: (tenant, records) => {
      const settings = enrichmentFor(tenant);
      return records.map((r) => enrichLokiRecord(r, settings));
    },
  };
}

/**
 * Registers the log write paths: `POST /loki/api/v1/push` and the legacy `/api/prom/push` (protobuf
 * `PushRequest`, always a snappy block, or JSON, optionally gzip; 204, or 400 with grouped reasons as Loki
 * answers) and OTLP logs on every OTLP transport (`/otlp/v1/logs`, `:4318 /v1/logs`, gRPC
 * `LogsService/Export`), all through the one ingest pipeline. Call once per process, before listening. Returns
 * the logs pipeline's description, for other receivers that write logs (Faro).
 */
export async function registerLogsIngest(deps: GatewayDeps, storage: Appendable<LogRecord>, config: LogsConfig): Promise<SignalIngest<LogRecord>> {
  const desc = logsIngest(storage, config);
  await registerIngestRoutes(deps.http, deps.inflight, {
    failure: textFailure,
    register: (scope) => {
      const push = (request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> =>
        handleTextIngest<LogRecord, LogDecodeResult>(deps, desc, request, reply, () =>
          mediaTypeOf(request) === 'application/json'
            ? { decode: decodeLokiPushJson }
            : { decode: decodeLokiPushProtobuf, innerEncoding: 'snappy' },
        );
      scope.post('/loki/api/v1/push', push);
      scope.post('/api/prom/push', push);
    },
  });
  await registerOtlpSignal<LogRecord, OtlpLogsDecodeResult>(deps, desc, {
    segment: 'logs',
    grpcPath: LOGS_EXPORT_GRPC_PATH,
    decodeProtobuf: (body) => decodeOtlpLogsProtobuf(body),
    decodeJson: (body) => decodeOtlpLogsJson(body),
    itemsIn: (decoded) => decoded.entries,
    encodeResponse: (p) => encodeExportLogsResponse(p && { rejectedLogRecords: p.rejected, errorMessage: p.errorMessage }),
    responseJson: (p) => exportLogsResponseJson(p && { rejectedLogRecords: p.rejected, errorMessage: p.errorMessage }),
  });
  return desc;
}
