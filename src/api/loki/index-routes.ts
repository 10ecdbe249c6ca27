import { quoteGo } from '../../model/index.ts';
import type { FastifyInstance } from 'fastify';
import type { Labels } from '../../model/index.ts';
import { ApiError } from '../errors.ts';
import type { LokiApiDeps } from './deps.ts';
import { lokiRoute } from './handler.ts';
import { toRange, withLogQuerier } from './log-reads.ts';
import { alignToStep, limitParam, rangeParams, rangeStepMs, requiredParam } from './params.ts';
import { matchersOfQuery } from './query-matchers.ts';
import { computeVolume, defaultVolumeGroupBy } from './volume.ts';

/** Loki's default look-back for index stats and volume (the query_range default). */
export const INDEX_SINCE_MS = 3600_000;

/** `index/stats`, `index/volume` and `index/volume_range` (GET and form POST). */
export function registerIndexRoutes(app: FastifyInstance, deps: LokiApiDeps): void {
  const { tenants, logger, queryable } = deps;

  const stats = lokiRoute(tenants, logger, async (req) => {
    const { startNs, endNs } = rangeParams(req.params, INDEX_SINCE_MS);
    const matchers = matchersOfQuery(requiredParam(req.params, 'query'));
    return withLogQuerier(queryable, req.tenants, async (q) => {
      if (q.stats) return q.stats(toRange(startNs, endNs), matchers);
      const totals = { streams: 0, chunks: 0, entries: 0, bytes: 0 };
      const streams = new Set<Labels>();
      for await (const slice of q.select({ matchers, startNs, endNs: endNs + 1n, direction: 'forward', signal: req.signal })) {
        for (const b of slice) {
          streams.add(b.labels);
          totals.entries += b.lines.length;
          for (const l of b.lines) totals.bytes += Buffer.byteLength(l);
        }
      }
      return { ...totals, streams: streams.size };
    });
  });
  app.get('/index/stats', stats);
  app.post('/index/stats', stats);

  const volume = (ranged: boolean) =>
    lokiRoute(tenants, logger, async (req) => {
      const requested = rangeParams(req.params, INDEX_SINCE_MS);
      const matchers = matchersOfQuery(requiredParam(req.params, 'query'));
      const limit = limitParam(req.params, 100);
      const target = (req.params.get('targetLabels') ?? '').split(',').map((s) => s.trim()).filter((s) => s !== '');
      const aggregateBy = req.params.get('aggregateBy') ?? 'series';
      if (aggregateBy !== 'series' && aggregateBy !== 'labels') {
        throw new ApiError('bad_data', `invalid aggregateBy: ${quoteGo(aggregateBy)}; expected series or labels`);
      }
      // volume_range takes query_range's step rules (positive, at most 11,000 points) and Loki's alignment.
      const stepMs = ranged ? rangeStepMs(req.params, requested.startNs, requested.endNs) : undefined;
      const { startNs, endNs } = stepMs === undefined ? requested : alignToStep(requested.startNs, requested.endNs, stepMs);
      const data = await computeVolume(queryable, {
        tenants: req.tenants,
        matchers,
        startNs,
        endNs,
        ...(stepMs === undefined ? {} : { stepMs }),
        groupBy: target.length > 0 ? target : defaultVolumeGroupBy(matchers),
        aggregateBy,
        limit,
        signal: req.signal,
      });
      return { status: 'success', data };
    });
  app.get('/index/volume', volume(false));
  app.post('/index/volume', volume(false));
  app.get('/index/volume_range', volume(true));
  app.post('/index/volume_range', volume(true));
}
