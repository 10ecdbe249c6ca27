import { status as GrpcStatus } from '@grpc/grpc-js';
import type { ServerUnaryCall, ServiceDefinition, sendUnaryData } from '@grpc/grpc-js';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { HeimdallError } from '../model/index.ts';
import { TENANT_HEADER } from '../tenant/index.ts';
import type { InflightReservation } from './inflight-budget.ts';
import { grpcFailure, sendOtlpHttpFailure, sendText } from './ingest-answers.ts';
import type { OtlpEncoding } from './ingest-answers.ts';
import { runIngest } from './ingest-pipeline.ts';
import type { BodyFormat, DecodedBatch, GatewayDeps, IngestOutcome, SignalIngest } from './ingest-pipeline.ts';
import { ingestCallOf, mediaTypeOf, registerIngestRoutes } from './ingest-scope.ts';
import { countRejected, groupRejections } from './rejection-report.ts';

/** An OTLP export's `partial_success`: how many items (data points, log records, spans) were refused, and why. */
export interface OtlpPartial {
  readonly rejected: number;
  readonly errorMessage: string;
}

/**
 * How one signal speaks OTLP: its paths, decoders and response encoders. The transports (`/otlp/v1/<x>` on
 * the main server, `/v1/<x>` on the OTLP/HTTP listener, `<Service>/Export` on gRPC) are the same for all.
 */
export interface OtlpSignal<R, D extends DecodedBatch<R>> {
  /** The path segment: `metrics` serves `/otlp/v1/metrics` and `/v1/metrics`. */
  readonly segment: string;
  /** The gRPC method path, e.g. `/opentelemetry.proto.collector.metrics.v1.MetricsService/Export`. */
  readonly grpcPath: string;
  readonly decodeProtobuf: (body: Buffer) => D;
  readonly decodeJson: (body: Buffer) => D;
  /** How many items (data points, log records, spans) the export carried: `partial_success` never says more. */
  readonly itemsIn: (decoded: D) => number;
  /**
   * How many items were refused, where rejection counts are not in items (metrics: storage counts samples, and
   * one histogram point is many series). Defaults to the rejections' counts.
   */
  readonly rejectedItems?: (outcome: IngestOutcome<D, R>) => number;
  readonly encodeResponse: (partial: OtlpPartial | undefined) => Uint8Array;
  readonly responseJson: (partial: OtlpPartial | undefined) => string;
}

/** The OTLP/HTTP encoding a media type names, or undefined for one OTLP does not define. */
function otlpEncodingOf(mediaType: string): OtlpEncoding | undefined {
  if (mediaType === 'application/x-protobuf' || mediaType === 'application/protobuf') return 'protobuf';
  if (mediaType === 'application/json') return 'json';
  return undefined;
}

/** OTLP/HTTP answers failures in the request's encoding; an unknown content type gets text. */
export function answerOtlpFailure(request: FastifyRequest, reply: FastifyReply, err: HeimdallError): FastifyReply {
  const encoding = otlpEncodingOf(mediaTypeOf(request));
  return encoding === undefined ? sendText(reply, err.httpStatus, err.message) : sendOtlpHttpFailure(reply, err, encoding);
}

/**
 * Registers a signal's OTLP receivers on every transport, all through the one ingest pipeline. OTLP/HTTP
 * answers 200 with an `Export<Signal>ServiceResponse` (with `partial_success` for refused items) in the
 * request's encoding, and failures as a google.rpc.Status body with the kind's status; gRPC answers the
 * same response or the kind's status code (RetryInfo for retryable ones). Call before the servers listen.
 */
export async function registerOtlpSignal<R, D extends DecodedBatch<R>>(
  deps: GatewayDeps,
  desc: SignalIngest<R>,
  otlp: OtlpSignal<R, D>,
): Promise<void> {
  const handle = async (request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> => {
    const encoding = otlpEncodingOf(mediaTypeOf(request));
    try {
      const outcome = await runIngest(deps, desc, ingestCallOf(request), (): BodyFormat<D> => {
        if (encoding === undefined) {
          throw new HeimdallError(
            'unsupported_media_type',
            `unsupported Content-Type "${mediaTypeOf(request)}": OTLP/HTTP takes application/x-protobuf or application/json`,
          );
        }
        return { decode: encoding === 'json' ? otlp.decodeJson : otlp.decodeProtobuf };
      });
      const partial = partialOf(otlp, outcome);
      if (encoding === 'json') return reply.code(200).type('application/json').send(otlp.responseJson(partial));
      return reply.code(200).type('application/x-protobuf').send(Buffer.from(otlp.encodeResponse(partial)));
    } catch (err) {
      return answerOtlpFailure(request, reply, asHeimdall(err));
    }
  };
  await registerIngestRoutes(deps.http, deps.inflight, {
    failure: answerOtlpFailure,
    register: (scope) => scope.post(`/otlp/v1/${otlp.segment}`, handle),
  });
  await registerIngestRoutes(deps.otlpHttp, deps.inflight, {
    failure: answerOtlpFailure,
    register: (scope) => scope.post(`/v1/${otlp.segment}`, handle),
  });
  addExportService(deps, otlp.grpcPath, otlp.segment, async (call, callback) => {
    let reservation: InflightReservation;
    try {
      reservation = deps.inflight.reserve(call.request.length);
    } catch (err) {
      callback(grpcFailure(asHeimdall(err)));
      return;
    }
    try {
      const header = call.metadata.get(TENANT_HEADER)[0];
      const ingestCall = {
        tenantHeader: typeof header === 'string' ? header : header?.toString('utf8'),
        contentEncoding: undefined,
        body: call.request,
        reservation,
      };
      const outcome = await runIngest(deps, desc, ingestCall, () => ({ decode: otlp.decodeProtobuf }));
      callback(null, otlp.encodeResponse(partialOf(otlp, outcome)));
    } catch (err) {
      callback(grpcFailure(asHeimdall(err)));
    } finally {
      reservation.release();
    }
  });
}

/** The partial_success of a written export, or undefined when nothing was refused. */
function partialOf<R, D extends DecodedBatch<R>>(otlp: OtlpSignal<R, D>, outcome: IngestOutcome<D, R>): OtlpPartial | undefined {
  const { decoded, result } = outcome;
  if (result.rejections.length === 0) return undefined;
  const counted = otlp.rejectedItems === undefined ? countRejected(result.rejections) : otlp.rejectedItems(outcome);
  const rejected = Math.min(counted, Math.max(otlp.itemsIn(decoded), 1));
  return { rejected, errorMessage: groupRejections(result.rejections) };
}

/** A whole-request failure as a HeimdallError; anything else is a bug and rethrown (logged, 500/INTERNAL). */
function asHeimdall(err: unknown): HeimdallError {
  if (err instanceof HeimdallError) return err;
  throw err;
}

/** Handles one OTLP `Export` call; it answers through `callback` itself, rejecting only for bugs. */
export type OtlpExportHandler = (call: ServerUnaryCall<Buffer, Uint8Array>, callback: sendUnaryData<Uint8Array>) => Promise<void>;

/**
 * An OTLP `Export` service definition whose (de)serialisers pass raw bytes, so grpc-js hands over the request
 * bytes untouched (decoding and its errors stay with our decoders) and sends an already-encoded response.
 * grpc-js handles `grpc-encoding: gzip` itself, within the server's max receive size.
 */
export function rawExportService(path: string): ServiceDefinition {
  return {
    Export: {
      path,
      requestStream: false,
      responseStream: false,
      requestSerialize: (b: Buffer) => b,
      requestDeserialize: (b: Buffer) => b,
      responseSerialize: (b: Uint8Array) => Buffer.from(b.buffer, b.byteOffset, b.byteLength),
      responseDeserialize: (b: Buffer) => b,
      originalName: 'export',
    },
  };
}

/**
 * Adds an OTLP `Export` service at `path` to the gRPC server. A handler that rejects (a bug, not bad data)
 * is logged in full and answered INTERNAL, so the caller never hangs.
 */
export function addExportService(deps: GatewayDeps, path: string, what: string, handler: OtlpExportHandler): void {
  deps.grpc.addService(rawExportService(path), {
    Export: (call: ServerUnaryCall<Buffer, Uint8Array>, callback: sendUnaryData<Uint8Array>) => {
      handler(call, callback).catch((err: unknown) => {
        deps.logger.error({ err }, `OTLP/gRPC ${what} export failed`);
        callback({ code: GrpcStatus.INTERNAL, details: 'internal error' });
      });
    },
  });
}
