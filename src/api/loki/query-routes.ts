import type { FastifyInstance } from 'fastify';
import { ApiError } from '../errors.ts';
import type { LokiApiDeps } from './deps.ts';
import { lokiRoute } from './handler.ts';
import type { LokiRequest } from './handler.ts';
import { alignToStep, directionParam, limitParam, nowNs, rangeParams, rangeStepMs, requiredParam, secondsOrDurationParam, timeParam } from './params.ts';
import { lokiDataJson } from './result-json.ts';

const DEFAULT_LIMIT = 100;
const DEFAULT_SINCE_MS = 3600_000;

function categorize(req: LokiRequest): boolean {
  const flags = req.request.headers['x-loki-response-encoding-flags'];
  const text = Array.isArray(flags) ? flags.join(',') : (flags ?? '');
  return text.split(',').some((f) => f.trim() === 'categorize-labels');
}

/** `query` and `query_range` (GET and form POST), answered in Loki's envelope with `stats`. */
export function registerQueryRoutes(app: FastifyInstance, deps: LokiApiDeps): void {
  const instant = lokiRoute(deps.tenants, deps.logger, async (req) => {
    const query = requiredParam(req.params, 'query');
    const timeNs = timeParam(req.params, 'time', nowNs());
    const res = await deps.engine.query(deps.queryable, req.tenants, {
      query,
      startNs: timeNs,
      endNs: timeNs,
      direction: directionParam(req.params),
      limit: limitParam(req.params, DEFAULT_LIMIT),
      instant: true,
      categorizeLabels: categorize(req),
      signal: req.signal,
    });
    return { status: 'success', data: lokiDataJson(res, { categorizeLabels: categorize(req) }) };
  });
  const range = lokiRoute(deps.tenants, deps.logger, async (req) => {
    const query = requiredParam(req.params, 'query');
    const requested = rangeParams(req.params, DEFAULT_SINCE_MS);
    const stepMs = rangeStepMs(req.params, requested.startNs, requested.endNs);
    const intervalMs = secondsOrDurationParam(req.params, 'interval');
    if (intervalMs !== undefined && intervalMs < 0) throw new ApiError('bad_data', 'negative interval widths are not accepted');
    // Metric queries are evaluated on Loki's step-aligned range; log queries read the range as asked.
    const metric = deps.engine.parse(query).kind !== 'logSelector';
    const { startNs, endNs } = metric ? alignToStep(requested.startNs, requested.endNs, stepMs) : requested;
    const res = await deps.engine.query(deps.queryable, req.tenants, {
      query,
      startNs,
      endNs,
      stepMs,
      intervalMs,
      direction: directionParam(req.params),
      limit: limitParam(req.params, DEFAULT_LIMIT),
      categorizeLabels: categorize(req),
      signal: req.signal,
    });
    return { status: 'success', data: lokiDataJson(res, { categorizeLabels: categorize(req) }) };
  });
  app.get('/query', instant);
  app.post('/query', instant);
  app.get('/query_range', range);
  app.post('/query_range', range);
}
