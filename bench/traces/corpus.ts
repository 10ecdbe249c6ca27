// The span corpus of bench/traces: a reproducible microservice shop (seeded PRNG), encoded as OTLP
// ExportTraceServiceRequest protobuf batches with the repo's OTLP protos. Batches are generated on demand from
// their index (each batch has its own seed), so a 5 M span corpus never sits in memory at once and every server
// receives byte-identical requests.
import { fileURLToPath } from 'node:url';
import protobuf from 'protobufjs';
import { mulberry32 } from '../shared/prng.ts';

const root = protobuf.loadSync(fileURLToPath(new URL('../../proto/otlp/trace-service.proto', import.meta.url)));
const ExportRequest = root.lookupType('opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest');

/** A service: its operations (server spans), the services it calls, and whether it talks to a database. */
interface Service {
  readonly name: string;
  readonly routes: readonly string[];
  readonly calls: readonly string[];
  readonly db?: { system: string; table: string };
  readonly namespace: string;
}

const SERVICES: readonly Service[] = [
  { name: 'frontend', routes: ['GET /', 'GET /product/{id}', 'POST /cart', 'POST /checkout', 'GET /cart'], calls: ['product-catalog', 'cart', 'checkout', 'recommendation', 'ad', 'currency'], namespace: 'shop' },
  { name: 'checkout', routes: ['POST /checkout/place-order'], calls: ['cart', 'payment', 'shipping', 'email', 'currency', 'product-catalog'], db: { system: 'postgresql', table: 'orders' }, namespace: 'shop' },
  { name: 'cart', routes: ['GET /cart/{user}', 'POST /cart/{user}/items', 'DELETE /cart/{user}'], calls: [], db: { system: 'redis', table: 'carts' }, namespace: 'shop' },
  { name: 'product-catalog', routes: ['GET /products', 'GET /products/{id}', 'GET /products/search'], calls: [], db: { system: 'postgresql', table: 'products' }, namespace: 'catalog' },
  { name: 'recommendation', routes: ['GET /recommendations'], calls: ['product-catalog'], namespace: 'catalog' },
  { name: 'ad', routes: ['GET /ads'], calls: [], namespace: 'ads' },
  { name: 'currency', routes: ['GET /convert', 'GET /currencies'], calls: [], namespace: 'payments' },
  { name: 'payment', routes: ['POST /charge'], calls: ['fraud-detection'], db: { system: 'postgresql', table: 'payments' }, namespace: 'payments' },
  { name: 'fraud-detection', routes: ['POST /score'], calls: [], namespace: 'payments' },
  { name: 'shipping', routes: ['POST /quote', 'POST /ship'], calls: ['quote'], namespace: 'shipping' },
  { name: 'quote', routes: ['POST /quote'], calls: [], namespace: 'shipping' },
  { name: 'email', routes: ['POST /send-confirmation'], calls: [], namespace: 'shop' },
];
const BY_NAME = new Map(SERVICES.map((s) => [s.name, s]));
/** Pods per service: `host.name`/`k8s.pod.name` vary within a service as in a real cluster. */
const PODS = 3;
const REGIONS = ['eu-west-1', 'us-east-1'];

/** The attribute search of the bench: rare enough to be selective, common enough to find 20 traces. */
export const ATTRIBUTE_QUERY = '{ resource.service.name = "checkout" && span.http.response.status_code = 500 }';
/** Jaeger's form of the same search (service + tag). */
export const JAEGER_ATTRIBUTE_SEARCH = { service: 'checkout', tags: JSON.stringify({ 'http.response.status_code': '500' }) };
/** The structural query: a frontend span with an erroring database call somewhere below it. */
export const STRUCTURAL_QUERY = '{ resource.service.name = "frontend" } >> { span.db.system = "postgresql" && status = error }';
export const METRICS_QUERY = '{ } | rate() by (resource.service.name)';

export interface CorpusOptions {
  /** Spans in the whole corpus (approximate: whole traces are generated). */
  readonly spans: number;
  /** Spans per request (approximate: a request holds whole traces). */
  readonly batchSpans: number;
  /** Trace start times spread over [endMs - spanMs, endMs]. */
  readonly endMs: number;
  readonly spanMs: number;
  readonly seed: number;
}

export interface Batch {
  readonly body: Buffer;
  readonly spans: number;
  readonly traceIds: readonly string[];
}

/** A corpus: `batches` requests, each produced by `batch(i)` identically on every call. */
export interface Corpus {
  readonly batches: number;
  batch(i: number): Batch;
}

/** The average spans per trace of the shape below, measured once so batch counts can be planned. */
const SPANS_PER_TRACE_ESTIMATE = 22;

type AnyValue = { stringValue: string } | { intValue: number } | { boolValue: boolean };
interface KeyValue {
  key: string;
  value: AnyValue;
}
interface OtlpSpan {
  traceId: Buffer;
  spanId: Buffer;
  parentSpanId?: Buffer;
  name: string;
  kind: number;
  startTimeUnixNano: bigint;
  endTimeUnixNano: bigint;
  attributes: KeyValue[];
  events?: { timeUnixNano: bigint; name: string; attributes: KeyValue[] }[];
  status?: { code: number; message?: string };
}

const str = (key: string, v: string): KeyValue => ({ key, value: { stringValue: v } });
const int = (key: string, v: number): KeyValue => ({ key, value: { intValue: v } });

const KIND_SERVER = 2;
const KIND_CLIENT = 3;
const KIND_INTERNAL = 1;
const STATUS_ERROR = 2;

class TraceBuilder {
  /** Spans per (service, pod), so each resource is written once per request as an exporter batches them. */
  readonly byResource = new Map<string, OtlpSpan[]>();
  count = 0;
  constructor(
    private readonly rand: () => number,
    private readonly traceId: Buffer,
  ) {}

  id(): Buffer {
    const b = Buffer.alloc(8);
    b.writeUInt32BE((this.rand() * 2 ** 32) >>> 0, 0);
    b.writeUInt32BE((this.rand() * 2 ** 32) >>> 0, 4);
    return b;
  }

  private add(resource: string, s: OtlpSpan): void {
    let list = this.byResource.get(resource);
    if (list === undefined) this.byResource.set(resource, (list = []));
    list.push(s);
    this.count++;
  }

  /**
   * A server span of `svc` starting at `startNs` (child of `parent`), its database call and downstream calls
   * (client span here, server span in the callee). Returns its duration and whether it failed.
   */
  serve(svc: Service, route: string, parent: Buffer | undefined, startNs: bigint, depth: number): { durNs: bigint; failed: boolean } {
    const pod = `${svc.name}-${Math.floor(this.rand() * PODS)}`;
    const resource = `${svc.name}|${pod}`;
    const spanId = this.id();
    let cursor = startNs + BigInt(Math.floor(50_000 + this.rand() * 200_000));
    let failed = false;
    if (svc.db !== undefined) {
      const dbFailed = this.rand() < 0.01;
      const dur = BigInt(Math.floor(200_000 + this.rand() * (this.rand() < 0.05 ? 80_000_000 : 4_000_000)));
      this.add(resource, {
        traceId: this.traceId, spanId: this.id(), parentSpanId: spanId, name: `SELECT ${svc.db.table}`, kind: KIND_CLIENT,
        startTimeUnixNano: cursor, endTimeUnixNano: cursor + dur,
        attributes: [str('db.system', svc.db.system), str('db.name', svc.db.table), str('db.statement', `SELECT * FROM ${svc.db.table} WHERE id = $1`), str('server.address', `${svc.db.system}.${svc.namespace}.svc`)],
        ...(dbFailed ? { status: { code: STATUS_ERROR, message: 'deadlock detected' } } : {}),
      });
      failed ||= dbFailed;
      cursor += dur;
    }
    if (depth < 5) {
      for (const callee of svc.calls) {
        if (this.rand() < 0.35) continue;
        const target = BY_NAME.get(callee)!;
        const targetRoute = target.routes[Math.floor(this.rand() * target.routes.length)]!;
        const clientId = this.id();
        const netNs = BigInt(Math.floor(100_000 + this.rand() * 400_000));
        const inner = this.serve(target, targetRoute, clientId, cursor + netNs / 2n, depth + 1);
        const dur = inner.durNs + netNs;
        const method = targetRoute.split(' ')[0]!;
        this.add(resource, {
          traceId: this.traceId, spanId: clientId, parentSpanId: spanId, name: targetRoute, kind: KIND_CLIENT,
          startTimeUnixNano: cursor, endTimeUnixNano: cursor + dur,
          attributes: [str('http.request.method', method), str('server.address', `${callee}.${target.namespace}.svc`), int('http.response.status_code', inner.failed ? 500 : 200), str('peer.service', callee)],
          ...(inner.failed ? { status: { code: STATUS_ERROR } } : {}),
        });
        failed ||= inner.failed && this.rand() < 0.7;
        cursor += dur;
      }
    }
    if (this.rand() < 0.3) {
      const dur = BigInt(Math.floor(10_000 + this.rand() * 500_000));
      this.add(resource, {
        traceId: this.traceId, spanId: this.id(), parentSpanId: spanId, name: 'render response', kind: KIND_INTERNAL,
        startTimeUnixNano: cursor, endTimeUnixNano: cursor + dur, attributes: [int('response.bytes', Math.floor(this.rand() * 50_000))],
      });
      cursor += dur;
    }
    failed ||= this.rand() < 0.004;
    const endNs = cursor + BigInt(Math.floor(20_000 + this.rand() * 100_000));
    const [method, routePath] = route.split(' ') as [string, string];
    this.add(resource, {
      traceId: this.traceId, spanId, ...(parent === undefined ? {} : { parentSpanId: parent }), name: route, kind: KIND_SERVER,
      startTimeUnixNano: startNs, endTimeUnixNano: endNs,
      attributes: [
        str('http.request.method', method), str('http.route', routePath), str('url.path', routePath.replace('{id}', String(Math.floor(this.rand() * 5000))).replace('{user}', `u${Math.floor(this.rand() * 100_000)}`)),
        int('http.response.status_code', failed ? 500 : 200), str('user_agent.original', this.rand() < 0.5 ? 'Mozilla/5.0 (X11; Linux x86_64)' : 'okhttp/4.12.0'),
        str('client.address', `10.${Math.floor(this.rand() * 255)}.${Math.floor(this.rand() * 255)}.${Math.floor(this.rand() * 255)}`),
      ],
      ...(failed
        ? { status: { code: STATUS_ERROR, message: 'internal error' }, events: [{ timeUnixNano: endNs - 1000n, name: 'exception', attributes: [str('exception.type', 'UpstreamError'), str('exception.message', `call to a dependency of ${svc.name} failed`)] }] }
        : {}),
    });
    return { durNs: endNs - startNs, failed };
  }
}

function resourceAttributes(key: string): KeyValue[] {
  const [service, pod] = key.split('|') as [string, string];
  const svc = BY_NAME.get(service)!;
  const podIndex = Number(pod.slice(pod.lastIndexOf('-') + 1));
  return [
    str('service.name', service), str('service.namespace', svc.namespace), str('service.version', '1.8.3'), str('deployment.environment', 'production'),
    str('k8s.namespace.name', svc.namespace), str('k8s.pod.name', `${pod}-7d9f8b6c5-x${podIndex}`), str('host.name', `node-${podIndex}`),
    str('cloud.region', REGIONS[podIndex % REGIONS.length]!), str('telemetry.sdk.language', 'go'), str('telemetry.sdk.name', 'opentelemetry'),
  ];
}

export function generateCorpus(opts: CorpusOptions): Corpus {
  const tracesPerBatch = Math.max(1, Math.round(opts.batchSpans / SPANS_PER_TRACE_ESTIMATE));
  const batches = Math.max(1, Math.ceil(opts.spans / SPANS_PER_TRACE_ESTIMATE / tracesPerBatch));
  const frontend = BY_NAME.get('frontend')!;
  return {
    batches,
    batch(i: number): Batch {
      const rand = mulberry32(opts.seed * 1_000_003 + i);
      const byResource = new Map<string, OtlpSpan[]>();
      const traceIds: string[] = [];
      let spans = 0;
      for (let t = 0; t < tracesPerBatch; t++) {
        const traceId = Buffer.alloc(16);
        for (let k = 0; k < 4; k++) traceId.writeUInt32BE((rand() * 2 ** 32) >>> 0, k * 4);
        // Requests arrive roughly in time order across the batches, with jitter, as a live system sends them.
        const frac = Math.min(1, Math.max(0, (i + rand() * 3 - 1) / batches));
        const startNs = BigInt(Math.floor(opts.endMs - opts.spanMs + frac * opts.spanMs)) * 1_000_000n;
        const builder = new TraceBuilder(rand, traceId);
        builder.serve(frontend, frontend.routes[Math.floor(rand() * frontend.routes.length)]!, undefined, startNs, 0);
        for (const [key, list] of builder.byResource) {
          let all = byResource.get(key);
          if (all === undefined) byResource.set(key, (all = []));
          all.push(...list);
        }
        spans += builder.count;
        traceIds.push(traceId.toString('hex'));
      }
      const message = {
        resourceSpans: [...byResource].map(([key, list]) => ({
          resource: { attributes: resourceAttributes(key) },
          scopeSpans: [{ scope: { name: 'go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp', version: '0.61.0' }, spans: list }],
        })),
      };
      const body = Buffer.from(ExportRequest.encode(ExportRequest.fromObject(message)).finish());
      return { body, spans, traceIds };
    },
  };
}
