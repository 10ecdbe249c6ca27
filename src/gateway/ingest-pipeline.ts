import type { Server as GrpcServer } from '@grpc/grpc-js';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { HeimdallError } from '../model/index.ts';
import type { Rejection, Signal, TenantId } from '../model/index.ts';
import type { SelfMetrics } from '../selfobs/index.ts';
import type { Appendable } from '../storage/index.ts';
import type { TenantResolver, WriteTenancy } from '../tenant/index.ts';
import { decompressBody, parseContentEncoding } from './decompress.ts';
import type { ContentEncoding } from './decompress.ts';
import { appendAndCommit } from './ingest-batch.ts';
import type { IngestResult } from './ingest-batch.ts';
import type { InflightBudget, InflightReservation } from './inflight-budget.ts';

/**
 * What the gateway needs from the process: the servers to register on (not yet listening), the tenant
 * resolver, self-metrics, a logger and the shared in-flight write budget. `app/` builds it; the gateway
 * never imports `app/`.
 */
export interface GatewayDeps {
  /** The main HTTP server: Mimir and Loki write paths, `/otlp/v1/*`. */
  readonly http: FastifyInstance;
  /** The OTLP/HTTP receiver (`/v1/*`). */
  readonly otlpHttp: FastifyInstance;
  /** The OTLP/gRPC receiver. */
  readonly grpc: GrpcServer;
  readonly tenants: TenantResolver;
  readonly selfMetrics: SelfMetrics;
  readonly logger: Logger;
  /** One budget of write bytes in flight across every path and signal. */
  readonly inflight: InflightBudget;
}

/** What every ingest decoder returns: records, per-record rejections, or a whole-body failure. */
export interface DecodedBatch<R> {
  readonly records: readonly R[];
  readonly rejections: readonly Rejection[];
  /** Set when the body as a whole cannot be decoded (400); `records` is then empty. */
  readonly malformed?: string;
  /** A record's namespace from outside its labels (OTLP's `k8s.namespace.name` resource attribute). */
  readonly namespaces?: ReadonlyMap<R, string>;
}

/** How one protocol's body is read, chosen from the request's content type. */
export interface BodyFormat<D> {
  /** Decodes the decompressed body. Pure; never throws for bad input (it reports `malformed`). */
  readonly decode: (body: Buffer) => D;
  /**
   * A compression the protocol always applies inside any Content-Encoding (Loki's protobuf push is a
   * snappy block whether or not the header says so).
   */
  readonly innerEncoding?: ContentEncoding;
}

/**
 * The per-signal description the pipeline is parameterised by: where records go and the few rules that
 * differ by signal. Adding a signal is a new description, never a new copy of the pipeline.
 */
export interface SignalIngest<R> {
  readonly signal: Signal;
  readonly appendable: Appendable<R>;
  /** The cap on a decompressed body, and the configuration key that sets it (named in 413 answers). */
  readonly maxDecompressedBytes: number;
  readonly bodyLimitSetting: string;
  /** A record's namespace from its labels, for tenancy by namespace (after the decoder's own `namespaces`). */
  readonly namespaceOf: (record: R) => string | undefined;
  /** How many items (samples, entries, spans) a record stands for, for counting records refused whole. */
  readonly itemsOf: (record: R) => number;
  /** Turns one tenant's records into what is appended (per-tenant enrichment); identity when absent. */
  readonly prepare?: (tenant: TenantId, records: R[]) => R[];
  /**
   * Per-tenant limits that keep state across requests (rates, live traces), after `prepare`: what the tenant
   * may write, and the rest as rejections (counted and reported like the decoder's). Throws a retryable
   * HeimdallError to refuse the whole request (nothing of it is then written); it counts what it refused so.
   */
  readonly admit?: (tenant: TenantId, records: R[]) => { records: R[]; rejections: readonly Rejection[] };
  /**
   * Records without a tenant of their own (metric metadata) are taken out before the split and placed into
   * the per-tenant batches afterwards by `place` (called for every request, even with none), which may add
   * batches.
   */
  readonly detached?: {
    readonly matches: (record: R) => boolean;
    readonly place: (records: readonly R[], batches: Map<TenantId, R[]>, tenancy: WriteTenancy) => void;
  };
}

/** One write request as the transports hand it over. */
export interface IngestCall {
  readonly tenantHeader: string | undefined;
  /** The Content-Encoding header; undefined where the transport already decompressed (gRPC). */
  readonly contentEncoding: string | undefined;
  readonly body: Buffer;
  /** The request's share of the in-flight budget; the pipeline grows it to the decompressed size. */
  readonly reservation: InflightReservation;
}

/** What one pipeline run produced: the decode (for protocol answers that count its items) and the write. */
export interface IngestOutcome<D, R = unknown> {
  readonly decoded: D;
  readonly result: IngestResult<R>;
}

/**
 * The one ingest pipeline: tenant → format (content type) → decompression within the signal's cap →
 * in-flight budget → decode → per-tenant split → per-tenant preparation → append and commit. Whole-request
 * failures throw a {@link HeimdallError} (401/400 tenant, 415 format, 413 size, 400 malformed, 429 budget,
 * 429/503 storage); per-record problems are rejections in the result, and good records are committed.
 * The tenant is checked first, as Mimir and Loki authenticate before they look at the body.
 */
export async function runIngest<R, D extends DecodedBatch<R>>(
  deps: GatewayDeps,
  desc: SignalIngest<R>,
  call: IngestCall,
  chooseFormat: () => BodyFormat<D>,
): Promise<IngestOutcome<D, R>> {
  const tenancy = deps.tenants.forWrite(call.tenantHeader);
  const format = chooseFormat();
  const encoding = call.contentEncoding === undefined ? 'identity' : parseContentEncoding(call.contentEncoding);
  let body = decompressBody(call.body, encoding, desc.maxDecompressedBytes, desc.bodyLimitSetting);
  if (format.innerEncoding !== undefined && format.innerEncoding !== encoding) {
    body = decompressBody(body, format.innerEncoding, desc.maxDecompressedBytes, desc.bodyLimitSetting);
  }
  call.reservation.resize(call.body.length + (body === call.body ? 0 : body.length));
  const decoded = format.decode(body);
  if (decoded.malformed !== undefined) throw new HeimdallError('bad_data', decoded.malformed, { code: 'malformed_body' });
  return { decoded, result: await write(deps, desc, decoded, tenancy) };
}

async function write<R>(deps: GatewayDeps, desc: SignalIngest<R>, decoded: DecodedBatch<R>, tenancy: WriteTenancy): Promise<IngestResult<R>> {
  let records = decoded.records;
  let detached: R[] = [];
  if (desc.detached !== undefined) {
    const { matches } = desc.detached;
    detached = records.filter(matches);
    if (detached.length > 0) records = records.filter((r) => !matches(r));
  }
  const namespaces = decoded.namespaces;
  const namespaceOf = namespaces === undefined ? desc.namespaceOf : (r: R) => namespaces.get(r) ?? desc.namespaceOf(r);
  const split = deps.tenants.split(records, tenancy, namespaceOf);
  const requestTenant = tenancy.kind === 'fixed' ? tenancy.tenant : deps.tenants.settings.defaultTenant;
  const earlier: { tenant: string; rejection: Rejection; record?: R }[] = [];
  for (const rejection of decoded.rejections) earlier.push({ tenant: requestTenant, rejection });
  for (const bad of split.invalid) {
    earlier.push({
      tenant: requestTenant,
      record: bad.record,
      rejection: {
        signal: desc.signal,
        reason: 'invalid_tenant',
        message: `namespace "${bad.namespace}" does not make a valid tenant: ${bad.message}`,
        count: Math.max(1, desc.itemsOf(bad.record)),
      },
    });
  }
  desc.detached?.place(detached, split.batches, tenancy);
  const batches = split.batches;
  if (desc.prepare !== undefined) {
    for (const [tenant, batch] of batches) batches.set(tenant, desc.prepare(tenant, batch));
  }
  if (desc.admit !== undefined) {
    for (const [tenant, batch] of batches) {
      const admitted = desc.admit(tenant, batch);
      batches.set(tenant, admitted.records);
      for (const rejection of admitted.rejections) earlier.push({ tenant, rejection });
    }
  }
  return appendAndCommit(desc.signal, desc.appendable, batches, earlier, deps.selfMetrics);
}
