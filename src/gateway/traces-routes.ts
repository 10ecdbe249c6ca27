import type { FastifyReply, FastifyRequest } from 'fastify';
import { Counter } from 'prom-client';
import { decodeOtlpTracesJson, decodeOtlpTracesProtobuf } from '../ingest/otlp-traces.ts';
import type { SpanDecodeResult } from '../ingest/otlp-traces.ts';
import { TRACES_EXPORT_GRPC_PATH, encodeExportTraceResponse, exportTraceResponseJson } from '../ingest/otlp-traces-proto.ts';
import { decodeZipkinJson } from '../ingest/zipkin.ts';
import { HeimdallError } from '../model/index.ts';
import type { SpanRecord, TenantId } from '../model/index.ts';
import type { Appendable } from '../storage/index.ts';
import type { GatewayDeps, SignalIngest } from './ingest-pipeline.ts';
import { mediaTypeOf, registerIngestRoutes } from './ingest-scope.ts';
import { registerOtlpSignal } from './otlp-routes.ts';
import { handleTextIngest, textFailure } from './text-ingest.ts';
import { TraceAdmission } from './trace-admission.ts';
import type { TraceIngestLimits } from './trace-admission.ts';

/** The setting that caps decompressed OTLP traces and Zipkin bodies (named in 413 answers). */
export const TRACES_BODY_LIMIT_SETTING = 'traces.max_decompressed_bytes';

/** The Zipkin v2 span path: on the OTLP/HTTP listener as Zipkin's own, and under `/tempo` on the HTTP address. */
export const ZIPKIN_SPANS_PATH = '/api/v2/spans';

/** What the traces ingest needs beyond the gateway's deps. */
export interface TracesIngestSettings {
  /** Where committed spans go: the trace store, or a tee of it that feeds the metrics-generator (`app/`). */
  readonly appendable: Appendable<SpanRecord>;
  readonly maxDecompressedBytes: number;
  /** A tenant's effective ingest limits (defaults with its overrides). */
  readonly limitsFor: (tenant: TenantId) => TraceIngestLimits;
  /** A trace with no new span for this long stops being live (Tempo's `trace_idle_period`). */
  readonly traceIdleMs: number;
}

/**
 * The traces signal as the ingest pipeline sees it: records are OTLP resources with their spans, tenants from
 * the header or the resource's `k8s.namespace.name`, and Tempo's per-tenant limits applied per tenant by a
 * {@link TraceAdmission} (attribute truncation, ingestion rate, live traces, bytes per trace).
 */
export function tracesIngest(deps: GatewayDeps, settings: TracesIngestSettings): SignalIngest<SpanRecord> {
  const admission = new TraceAdmission(settings.limitsFor, settings.traceIdleMs);
  const truncated = new Counter({
    name: 'heimdall_traces_truncated_attributes_total',
    help: 'Span, resource, scope, event and link attribute keys and values truncated to traces.limits.max_attribute_bytes, by tenant.',
    labelNames: ['tenant'],
    registers: [deps.selfMetrics.registry],
  });
  return {
    signal: 'traces',
    appendable: settings.appendable,
    maxDecompressedBytes: settings.maxDecompressedBytes,
    bodyLimitSetting: TRACES_BODY_LIMIT_SETTING,
    namespaceOf: (r) => {
      const ns = r.resource.find((a) => a.key === 'k8s.namespace.name')?.value;
      return typeof ns === 'string' && ns !== '' ? ns : undefined;
    },
    itemsOf: (r) => r.spans.length,
    admit: (tenant, records) => {
      const admitted = admission.admit(tenant, records, (spans) => deps.selfMetrics.discard('traces', 'rate_limited', tenant, spans));
      if (admitted.truncatedAttributes > 0) truncated.inc({ tenant }, admitted.truncatedAttributes);
      return admitted;
    },
  };
}

/**
 * Registers the trace write paths, all through the one ingest pipeline: OTLP traces on every OTLP transport
 * (`/otlp/v1/traces`, `:4318 /v1/traces`, gRPC `TraceService/Export`; `partial_success.rejected_spans` for
 * refused spans) and Zipkin v2 JSON (`POST /api/v2/spans` on the OTLP/HTTP listener and
 * `POST /tempo/api/v2/spans` on the HTTP address: 202 when every span was written, 400 with the grouped
 * reasons when some were refused, the rest committed). Call once per process, before listening. Returns the
 * traces pipeline's description (one per process: it holds the tenants' live-trace state), for other receivers
 * that write spans (Faro).
 */
export async function registerTracesIngest(deps: GatewayDeps, settings: TracesIngestSettings): Promise<SignalIngest<SpanRecord>> {
  const desc = tracesIngest(deps, settings);
  await registerOtlpSignal<SpanRecord, SpanDecodeResult>(deps, desc, {
    segment: 'traces',
    grpcPath: TRACES_EXPORT_GRPC_PATH,
    decodeProtobuf: decodeOtlpTracesProtobuf,
    decodeJson: decodeOtlpTracesJson,
    itemsIn: (decoded) => decoded.spans,
    encodeResponse: (p) => encodeExportTraceResponse(p && { rejectedSpans: p.rejected, errorMessage: p.errorMessage }),
    responseJson: (p) => exportTraceResponseJson(p && { rejectedSpans: p.rejected, errorMessage: p.errorMessage }),
  });
  const zipkin = (request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> =>
    handleTextIngest<SpanRecord, SpanDecodeResult>(
      deps,
      desc,
      request,
      reply,
      () => {
        const type = mediaTypeOf(request);
        if (type !== 'application/json' && type !== '') {
          throw new HeimdallError(
            'unsupported_media_type',
            `unsupported Content-Type "${type}": Zipkin spans are taken as v2 JSON (application/json); Zipkin's protobuf and v1 encodings are not`,
          );
        }
        return { decode: decodeZipkinJson };
      },
      undefined,
      202,
    );
  for (const [app, path] of [[deps.otlpHttp, ZIPKIN_SPANS_PATH], [deps.http, `/tempo${ZIPKIN_SPANS_PATH}`]] as const) {
    await registerIngestRoutes(app, deps.inflight, { failure: textFailure, register: (scope) => scope.post(path, zipkin) });
  }
  return desc;
}
