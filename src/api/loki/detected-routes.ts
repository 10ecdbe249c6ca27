import type { FastifyInstance } from 'fastify';
import { compareStrings } from '../../model/index.ts';
import type { LokiApiDeps } from './deps.ts';
import { detectFields } from './detected-fields.ts';
import { lokiRoute } from './handler.ts';
import { ALL_STREAMS, toRange, withLogQuerier } from './log-reads.ts';
import { INDEX_SINCE_MS } from './index-routes.ts';
import { METADATA_SINCE_MS } from './label-routes.ts';
import { limitParam, rangeParams } from './params.ts';
import { matchersOfQuery } from './query-matchers.ts';

/** `detected_labels`, `detected_fields` and `detected_field/:name/values` (Grafana Logs Drilldown). */
export function registerDetectedRoutes(app: FastifyInstance, deps: LokiApiDeps): void {
  const { tenants, logger, queryable } = deps;

  app.get(
    '/detected_labels',
    lokiRoute(tenants, logger, async (req) => {
      const { startNs, endNs } = rangeParams(req.params, METADATA_SINCE_MS);
      const q = req.params.get('query');
      const matchers = q !== undefined && q.trim() !== '' && q.trim() !== '{}' ? matchersOfQuery(q) : [...ALL_STREAMS];
      const values = new Map<string, Set<string>>();
      const series = await withLogQuerier(queryable, req.tenants, (qr) => qr.series(toRange(startNs, endNs), matchers));
      for (const l of series) {
        for (const [k, v] of Object.entries(l)) {
          let set = values.get(k);
          if (!set) values.set(k, (set = new Set()));
          set.add(v);
        }
      }
      const detectedLabels = [...values.entries()]
        .sort(([a], [b]) => compareStrings(a, b))
        .map(([label, set]) => ({ label, cardinality: set.size }));
      return { detectedLabels };
    }),
  );

  app.get(
    '/detected_fields',
    lokiRoute(tenants, logger, async (req) => {
      const query = req.params.get('query') ?? '';
      const { startNs, endNs } = rangeParams(req.params, INDEX_SINCE_MS);
      const lineLimit = Number(req.params.get('line_limit') ?? 1000);
      const limit = limitParam(req.params, 1000);
      const fields = await detectFields(deps, req, query, startNs, endNs, Math.min(lineLimit, deps.config.query.max_entries_limit_per_query));
      return { fields: fields.slice(0, limit).map((f) => ({ label: f.label, type: f.type, cardinality: f.values.size, parsers: f.parsers })), limit };
    }),
  );

  app.get(
    '/detected_field/:name/values',
    lokiRoute(tenants, logger, async (req) => {
      const name = (req.request.params as { name: string }).name;
      const query = req.params.get('query') ?? '';
      const { startNs, endNs } = rangeParams(req.params, INDEX_SINCE_MS);
      const lineLimit = Number(req.params.get('line_limit') ?? 1000);
      const limit = limitParam(req.params, 1000);
      const fields = await detectFields(deps, req, query, startNs, endNs, Math.min(lineLimit, deps.config.query.max_entries_limit_per_query));
      const f = fields.find((x) => x.label === name);
      return { values: f ? [...f.values].sort(compareStrings).slice(0, limit) : [], limit };
    }),
  );
}
