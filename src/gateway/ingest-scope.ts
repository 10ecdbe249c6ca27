import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { HeimdallError } from '../model/index.ts';
import { TENANT_HEADER } from '../tenant/index.ts';
import type { InflightBudget, InflightReservation } from './inflight-budget.ts';
import type { IngestCall } from './ingest-pipeline.ts';

/** Answers a whole-request failure in the route's protocol (text, or OTLP's Status body). */
export type FailureAnswer = (request: FastifyRequest, reply: FastifyReply, err: HeimdallError) => FastifyReply;

/** The write routes of one protocol family, registered together in one raw-body scope. */
export interface IngestRoutes {
  /** How whole-request failures before the handler (the in-flight budget) are answered. */
  readonly failure: FailureAnswer;
  /** Registers the routes; handlers read their call with {@link ingestCallOf}. */
  readonly register: (scope: FastifyInstance) => void;
}

const reservations = new WeakMap<FastifyRequest, InflightReservation>();

/**
 * Registers write routes in a scope where every request body arrives as a raw Buffer, whatever its content
 * type, so decoders see the exact bytes (compressed bodies included). Every request reserves its declared
 * `Content-Length` in the shared in-flight `budget` before its body is read; one that does not fit is
 * answered 429 with `Retry-After` at once, so overload never buffers bodies. The reservation is released
 * when the response is finished or the connection closes.
 */
export async function registerIngestRoutes(app: FastifyInstance, budget: InflightBudget, routes: IngestRoutes): Promise<void> {
  await app.register(async (scope) => {
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', { parseAs: 'buffer' }, (_req, body, done) => done(null, body));
    scope.addHook('onRequest', async (request, reply) => {
      const declared = Number(headerValue(request, 'content-length') ?? 0);
      let reservation: InflightReservation;
      try {
        reservation = budget.reserve(Number.isFinite(declared) && declared > 0 ? declared : 0);
      } catch (err) {
        if (!(err instanceof HeimdallError)) throw err;
        return routes.failure(request, reply, err);
      }
      reservations.set(request, reservation);
      reply.raw.once('close', () => reservation.release());
      return undefined;
    });
    routes.register(scope);
  });
}

/** The ingest call of a request inside {@link registerIngestRoutes}. */
export function ingestCallOf(request: FastifyRequest): IngestCall {
  const reservation = reservations.get(request);
  if (reservation === undefined) throw new Error('ingestCallOf outside registerIngestRoutes');
  const raw = request.body;
  return {
    tenantHeader: headerValue(request, TENANT_HEADER),
    contentEncoding: headerValue(request, 'content-encoding'),
    body: Buffer.isBuffer(raw) ? raw : Buffer.alloc(0),
    reservation,
  };
}

/** A header's value as one string (the first, when repeated). */
export function headerValue(request: FastifyRequest, name: string): string | undefined {
  const v = request.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

/** The media type of a request without parameters, lower-cased (`application/x-protobuf`). */
export function mediaTypeOf(request: FastifyRequest): string {
  return (headerValue(request, 'content-type') ?? '').split(';')[0]!.trim().toLowerCase();
}
