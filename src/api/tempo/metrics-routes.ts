import type { FastifyInstance } from 'fastify';
import { EncodedJson } from '../encoded-json.ts';
import type { TempoApiDeps } from './deps.ts';
import { tempoRoute } from './handler.ts';
import type { TempoRequest } from './handler.ts';
import { bad, exemplarsParam, metricsRange, metricsStepNs } from './params.ts';

/** The TraceQL metrics query: `q`, or `query` (which Tempo reads first, for Prometheus-style clients). */
function metricsQuery(req: TempoRequest): string {
  const query = req.params.present('q') ?? req.params.present('query');
  if (query === undefined) throw bad('invalid TraceQL query: a metrics query (q) is required');
  return query;
}

/**
 * TraceQL metrics: `GET /api/metrics/query_range` (`q`, `start`/`end` as Unix seconds, nanoseconds or
 * RFC 3339, or `since`; `step` in seconds or a Go duration, Tempo's default for the range when absent;
 * `exemplars`) and `GET /api/metrics/query` (one value per series over the range). The engine answers
 * Tempo's `QueryRangeResponse`/`QueryInstantResponse` JSON.
 */
export function registerMetricsRoutes(app: FastifyInstance, deps: TempoApiDeps): void {
  const now = deps.nowNs ?? (() => BigInt(Date.now()) * 1_000_000n);
  app.get(
    '/api/metrics/query_range',
    tempoRoute(deps.tenants, deps.logger, async (req) => {
      const query = metricsQuery(req);
      const range = metricsRange(req.params, now());
      const stepNs = metricsStepNs(req.params, range);
      const exemplars = exemplarsParam(req.params);
      const res = await deps.engine.range(
        deps.queryable,
        req.tenants,
        { query, startNs: range.startNs, endNs: range.endNs, stepNs, ...(exemplars === undefined ? {} : { exemplars }) },
        { signal: req.signal },
      );
      return new EncodedJson(res.dataJson);
    }),
  );
  app.get(
    '/api/metrics/query',
    tempoRoute(deps.tenants, deps.logger, async (req) => {
      const query = metricsQuery(req);
      const range = metricsRange(req.params, now());
      const res = await deps.engine.instant(deps.queryable, req.tenants, { query, startNs: range.startNs, endNs: range.endNs }, { signal: req.signal });
      return new EncodedJson(res.dataJson);
    }),
  );
}
