import type { FastifyInstance } from 'fastify';
import type { TenantId } from '../../model/index.ts';
import { ApiError } from '../errors.ts';
import type { TempoApiDeps } from './deps.ts';
import { TempoBody, tempoRoute, wantsProtobuf } from './handler.ts';
import type { TempoRequest } from './handler.ts';
import { traceByIdRange } from './params.ts';
import { parseTraceId } from './trace-id.ts';
import { traceV1Json, traceV2Json } from './trace-json.ts';
import { traceV1Proto, traceV2Proto } from './trace-proto.ts';
import { partialMessage, shapeTrace } from './trace-shape.ts';
import type { ShapedTrace } from './trace-shape.ts';

const PROTOBUF = 'application/protobuf';

/** The smallest positive limit of the tenants read (0 when none has one): a federated read obeys each. */
function traceLimit(deps: TempoApiDeps, tenants: readonly TenantId[]): number {
  let limit = 0;
  for (const t of tenants) {
    const l = deps.maxBytesPerTrace(t);
    if (l > 0 && (limit === 0 || l < limit)) limit = l;
  }
  return limit;
}

/** Reads and shapes the trace of the request's id, or undefined when no tenant read has it. */
async function readTrace(deps: TempoApiDeps, req: TempoRequest): Promise<{ shaped: ShapedTrace; maxBytes: number } | undefined> {
  const raw = (req.request.params as { traceId?: string }).traceId ?? '';
  const traceId = parseTraceId(raw);
  const range = traceByIdRange(req.params);
  const querier = await deps.queryable.querier(req.tenants);
  try {
    const trace = await querier.traceById(traceId, range);
    if (trace === undefined || trace.spans.length === 0) return undefined;
    const maxBytes = traceLimit(deps, req.tenants);
    return { shaped: shapeTrace(trace, maxBytes), maxBytes };
  } finally {
    await querier.close();
  }
}

/** Tempo's answer for a trace it does not have: 404 with an empty body (both versions; Grafana falls back to v1 on it). */
const NOT_FOUND = new TempoBody(404, undefined, '');

/**
 * Trace by id: `GET /api/traces/:traceId` (v1: `{"batches":[...]}` JSON or a `tempopb.Trace` with
 * `Accept: application/protobuf`; a trace over `max_bytes_per_trace` is a 422 as in Tempo) and
 * `GET /api/v2/traces/:traceId` (`tempopb.TraceByIDResponse` in JSON or protobuf; a trace over the limit
 * answers its earliest spans with `status: PARTIAL` and a message). `start`/`end` (Unix seconds) narrow
 * where storage looks. Unknown ids answer 404 with an empty body.
 */
export function registerTraceRoutes(app: FastifyInstance, deps: TempoApiDeps): void {
  app.get(
    '/api/traces/:traceId',
    tempoRoute(deps.tenants, deps.logger, async (req) => {
      const found = await readTrace(deps, req);
      if (found === undefined) return NOT_FOUND;
      if (found.shaped.partial) {
        throw new ApiError('execution', `trace exceeds max size (max bytes: ${found.maxBytes}); /api/v2/traces answers it partially`, {
          code: 'trace_too_large',
        });
      }
      if (wantsProtobuf(req.request)) return new TempoBody(200, PROTOBUF, traceV1Proto(found.shaped));
      return new TempoBody(200, 'application/json', traceV1Json(found.shaped));
    }),
  );
  app.get(
    '/api/v2/traces/:traceId',
    tempoRoute(deps.tenants, deps.logger, async (req) => {
      const found = await readTrace(deps, req);
      if (found === undefined) return NOT_FOUND;
      const message = found.shaped.partial ? partialMessage(found.maxBytes) : undefined;
      if (wantsProtobuf(req.request)) return new TempoBody(200, PROTOBUF, traceV2Proto(found.shaped, message));
      return new TempoBody(200, 'application/json', traceV2Json(found.shaped, message));
    }),
  );
}
