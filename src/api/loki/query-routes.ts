import type { FastifyInstance } from 'fastify';
import { jsonText } from '../../storage/index.ts';
import type { JsonText } from '../../storage/index.ts';
import { EncodedJson } from '../encoded-json.ts';
import { ApiError } from '../errors.ts';
import type { LokiApiDeps } from './deps.ts';
import { lokiRoute } from './handler.ts';
import type { LokiRequest } from './handler.ts';
import { alignToStep, directionParam, limitParam, nowNs, rangeParams, rangeStepMs, requiredParam, secondsOrDurationParam, timeParam } from './params.ts';

const DEFAULT_LIMIT = 100;
const DEFAULT_SINCE_MS = 3600_000;

function categorize(req: LokiRequest): boolean {
  const flags = req.request.headers['x-loki-response-encoding-flags'];
  const text = Array.isArray(flags) ? flags.join(',') : (flags ?? '');
  return text.split(',').some((f) => f.trim() === 'categorize-labels');
}

/** Loki's success envelope around an engine's encoded `data`. */
function success(dataJson: JsonText): EncodedJson {
  return new EncodedJson(`{"status":"success","data":${jsonText(dataJson)}}`);
}

/** `query` and `query_range` (GET and form POST), answered in Loki's envelope with `stats`. */
export function registerQueryRoutes(app: FastifyInstance, deps: LokiApiDeps): void {
  const instant = lokiRoute(deps.tenants, deps.logger, async (req) => {
    const query = requiredParam(req.params, 'query');
    const timeNs = timeParam(req.params, 'time', nowNs());
    const res = await deps.engine.instant(
      deps.queryable,
      req.tenants,
      { query, timeNs, direction: directionParam(req.params), limit: limitParam(req.params, DEFAULT_LIMIT), categorizeLabels: categorize(req) },
      { signal: req.signal },
    );
    return success(res.dataJson);
  });
  const range = lokiRoute(deps.tenants, deps.logger, async (req) => {
    const query = requiredParam(req.params, 'query');
    const requested = rangeParams(req.params, DEFAULT_SINCE_MS);
    const stepMs = rangeStepMs(req.params, requested.startNs, requested.endNs);
    const intervalMs = secondsOrDurationParam(req.params, 'interval');
    if (intervalMs !== undefined && intervalMs < 0) throw new ApiError('bad_data', 'negative interval widths are not accepted');
    // Metric queries are evaluated on Loki's step-aligned range; log queries read the range as asked.
    const metric = deps.logqlEngine.parse(query).kind !== 'logSelector';
    const { startNs, endNs } = metric ? alignToStep(requested.startNs, requested.endNs, stepMs) : requested;
    const res = await deps.engine.range(
      deps.queryable,
      req.tenants,
      {
        query,
        startNs,
        endNs,
        stepMs,
        ...(intervalMs === undefined ? {} : { intervalMs }),
        direction: directionParam(req.params),
        limit: limitParam(req.params, DEFAULT_LIMIT),
        categorizeLabels: categorize(req),
      },
      { signal: req.signal },
    );
    return success(res.dataJson);
  });
  app.get('/query', instant);
  app.post('/query', instant);
  app.get('/query_range', range);
  app.post('/query_range', range);
}
