import { decodeOtlpMetricsJson, decodeOtlpMetricsProtobuf } from '../ingest/otlp-metrics.ts';
import type { OtlpMetricsDecodeResult } from '../ingest/otlp-metrics.ts';
import { METRICS_EXPORT_GRPC_PATH, encodeExportMetricsResponse, exportMetricsResponseJson } from '../ingest/otlp-metrics-proto.ts';
import { decodeRemoteWrite, remoteWriteVersion } from '../ingest/remote-write.ts';
import { HeimdallError } from '../model/index.ts';
import type { MetricRecord } from '../model/index.ts';
import type { Appendable } from '../storage/index.ts';
import type { GatewayDeps, SignalIngest } from './ingest-pipeline.ts';
import { headerValue, registerIngestRoutes } from './ingest-scope.ts';
import { MetricMetadataRouting } from './metric-metadata-routing.ts';
import { registerOtlpSignal } from './otlp-routes.ts';
import { countRejected } from './rejection-report.ts';
import { handleTextIngest, textFailure } from './text-ingest.ts';

/** The setting that caps decompressed remote_write and OTLP metrics bodies (named in 413 answers). */
const METRICS_BODY_LIMIT_SETTING = 'metrics.max_decompressed_bytes';

/** The Prometheus remote_write 2.0 response headers (the receiver reports what it wrote). */
const WRITTEN_SAMPLES = 'x-prometheus-remote-write-samples-written';
const WRITTEN_HISTOGRAMS = 'x-prometheus-remote-write-histograms-written';
const WRITTEN_EXEMPLARS = 'x-prometheus-remote-write-exemplars-written';

/** The label that names a series' Kubernetes namespace when tenants come from namespaces. */
const NAMESPACE_LABEL = 'namespace';

/** The metrics signal as the ingest pipeline sees it. */
function metricsIngest(storage: Appendable<MetricRecord>, maxDecompressedBytes: number): SignalIngest<MetricRecord> {
  const metadata = new MetricMetadataRouting();
  return {
    signal: 'metrics',
    appendable: storage,
    maxDecompressedBytes,
    bodyLimitSetting: METRICS_BODY_LIMIT_SETTING,
    namespaceOf: (r) => r.labels[NAMESPACE_LABEL],
    itemsOf: (r) => (r.samples?.length ?? 0) + (r.histograms?.length ?? 0),
    detached: { matches: MetricMetadataRouting.isMetadataOnly, place: (records, batches, tenancy) => metadata.place(records, batches, tenancy) },
  };
}

/**
 * Registers the metrics write paths: `POST /api/v1/push` (Prometheus remote_write 1.0 and 2.0, Mimir's
 * path; 204, or 400 with grouped reasons, and 2.0's written-count headers) and OTLP metrics on every OTLP
 * transport (`/otlp/v1/metrics`, `:4318 /v1/metrics`, gRPC `MetricsService/Export`), all through the one
 * ingest pipeline. Call once per process, before the servers listen.
 */
export async function registerMetricsIngest(deps: GatewayDeps, storage: Appendable<MetricRecord>, maxDecompressedBytes: number): Promise<void> {
  const desc = metricsIngest(storage, maxDecompressedBytes);
  await registerIngestRoutes(deps.http, deps.inflight, {
    failure: textFailure,
    register: (scope) =>
      scope.post('/api/v1/push', (request, reply) => {
        let version: 1 | 2 = 1;
        return handleTextIngest(
          deps,
          desc,
          request,
          reply,
          () => {
            const v = remoteWriteVersion(headerValue(request, 'content-type'));
            if ('unsupported' in v) throw new HeimdallError('unsupported_media_type', v.unsupported);
            version = v.version;
            return { decode: (body) => decodeRemoteWrite(body, v.version) };
          },
          ({ result }) => {
            if (version !== 2) return;
            reply.header(WRITTEN_SAMPLES, String(result.accepted));
            reply.header(WRITTEN_HISTOGRAMS, String(result.histograms));
            reply.header(WRITTEN_EXEMPLARS, String(result.exemplars));
          },
        );
      }),
  });
  await registerOtlpSignal<MetricRecord, OtlpMetricsDecodeResult>(deps, desc, {
    segment: 'metrics',
    grpcPath: METRICS_EXPORT_GRPC_PATH,
    decodeProtobuf: (body) => decodeOtlpMetricsProtobuf(body),
    decodeJson: (body) => decodeOtlpMetricsJson(body),
    itemsIn: (decoded) => decoded.dataPoints,
    rejectedItems: ({ decoded, result }) => {
      // Decoder rejections count data points; a refused series counts the data point it came from, once.
      let points = countRejected(decoded.rejections);
      const seen = new Set<number>();
      for (const r of result.rejectedRecords) {
        const point = decoded.pointOf.get(r);
        if (point !== undefined && !seen.has(point)) {
          seen.add(point);
          points++;
        }
      }
      return points;
    },
    encodeResponse: (p) => encodeExportMetricsResponse(p && { rejectedDataPoints: p.rejected, errorMessage: p.errorMessage }),
    responseJson: (p) => exportMetricsResponseJson(p && { rejectedDataPoints: p.rejected, errorMessage: p.errorMessage }),
  });
}
