import type { FastifyInstance } from 'fastify';
import type { Labels } from '../../model/index.ts';
import { labelsKey } from '../../model/index.ts';
import type { LokiApiDeps } from './deps.ts';
import { lokiRoute } from './handler.ts';
import { ALL_STREAMS, sortLabels, toRange, withLogQuerier } from './log-reads.ts';
import { rangeParams } from './params.ts';
import { selectorParam } from './query-matchers.ts';

/** Loki's default look-back for label and series reads. */
export const METADATA_SINCE_MS = 6 * 3600_000;

/** `labels` (and its legacy alias `label`), `label/:name/values` and `series`. */
export function registerLabelRoutes(app: FastifyInstance, deps: LokiApiDeps): void {
  const { tenants, logger, queryable } = deps;

  const labels = lokiRoute(tenants, logger, async (req) => {
    const { startNs, endNs } = rangeParams(req.params, METADATA_SINCE_MS);
    const matchers = selectorParam(req.params.get('query'), 'query');
    const names = await withLogQuerier(queryable, req.tenants, (q) => q.labelNames(toRange(startNs, endNs), matchers));
    return { status: 'success', data: names };
  });
  app.get('/labels', labels);
  app.post('/labels', labels);
  app.get('/label', labels);

  app.get(
    '/label/:name/values',
    lokiRoute(tenants, logger, async (req) => {
      const name = (req.request.params as { name: string }).name;
      const { startNs, endNs } = rangeParams(req.params, METADATA_SINCE_MS);
      const matchers = selectorParam(req.params.get('query'), 'query');
      const values = await withLogQuerier(queryable, req.tenants, (q) => q.labelValues(name, toRange(startNs, endNs), matchers));
      return { status: 'success', data: values };
    }),
  );

  const series = lokiRoute(tenants, logger, async (req) => {
    const { startNs, endNs } = rangeParams(req.params, METADATA_SINCE_MS);
    const texts = [...req.params.all('match[]'), ...req.params.all('match')].filter((t) => t !== '');
    const sets = texts.length > 0 ? texts.map((t) => selectorParam(t, 'match[]') ?? []) : [[...ALL_STREAMS]];
    const seen = new Map<string, Labels>();
    await withLogQuerier(queryable, req.tenants, async (q) => {
      for (const set of sets) {
        for (const l of await q.series(toRange(startNs, endNs), set)) seen.set(labelsKey(l), sortLabels(l));
      }
    });
    return { status: 'success', data: [...seen.values()] };
  });
  app.get('/series', series);
  app.post('/series', series);
}
