import { quoteGo } from '../../model/index.ts';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { MetricsStorage } from '../../storage/index.ts';
import type { TenantResolver } from '../../tenant/index.ts';
import { ApiError } from '../errors.ts';
import { TRUNCATED_WARNING, apiRoute } from './handler.ts';
import type { ApiRequest } from './handler.ts';
import { MAX_TIME_MS, MIN_TIME_MS, limitParam, optionalTimeParam } from './params.ts';
import { parseMatchSets } from './selectors.ts';
import { readLabelNames, readLabelValues, readSeries } from './label-reads.ts';
import type { LabelReadOptions } from './label-reads.ts';

/** Registers `series`, `labels` and `label/:name/values` (relative to the API prefix). */
export function registerLabelRoutes(
  app: FastifyInstance,
  deps: { queryable: MetricsStorage; tenants: TenantResolver; logger: Logger },
): void {
  const route = (fn: (req: ApiRequest) => Promise<{ data: unknown; warnings?: string[] }>) =>
    apiRoute(deps.tenants, deps.logger, fn);

  const series = route(async (req) => {
    const matches = req.form.all('match[]');
    if (matches.length === 0) throw new ApiError('bad_data', 'no match[] parameter provided');
    const limit = limitParam(req.form.get('limit'));
    const range = timeRange(req);
    const matcherSets = parseMatchSets(matches, 'param');
    const result = await readSeries(deps.queryable, readOptions(req, range, matcherSets, limit));
    return truncate(result, limit);
  });
  app.get('/series', series);
  app.post('/series', series);

  const labels = route(async (req) => {
    const limit = limitParam(req.form.get('limit'));
    const range = timeRange(req);
    const matcherSets = parseMatchSets(req.form.all('match[]'), 'bare');
    const names = await readLabelNames(deps.queryable, readOptions(req, range, matcherSets, limit));
    return truncate(names, limit);
  });
  app.get('/labels', labels);
  app.post('/labels', labels);

  app.get<{ Params: { name: string } }>(
    '/label/:name/values',
    route(async (req) => {
      const name = unescapeLabelName((req.request.params as { name: string }).name);
      if (name === '') throw new ApiError('bad_data', `invalid label name: ${quoteGo(name)}`);
      const limit = limitParam(req.form.get('limit'));
      const range = timeRange(req);
      const matcherSets = parseMatchSets(req.form.all('match[]'), 'bare');
      const values = await readLabelValues(deps.queryable, name, readOptions(req, range, matcherSets, limit));
      return truncate(values, limit);
    }),
  );
}

function timeRange(req: ApiRequest): { startMs: number; endMs: number } {
  const startMs = optionalTimeParam('start', req.form.get('start'), MIN_TIME_MS);
  const endMs = optionalTimeParam('end', req.form.get('end'), MAX_TIME_MS);
  return { startMs, endMs };
}

function readOptions(
  req: ApiRequest,
  range: { startMs: number; endMs: number },
  matcherSets: LabelReadOptions['matcherSets'],
  limit: number,
): LabelReadOptions {
  return { tenants: req.tenants, range, matcherSets, limit, signal: req.signal };
}

function truncate<T>(items: T[], limit: number): { data: T[]; warnings?: string[] } {
  if (limit > 0 && items.length > limit) return { data: items.slice(0, limit), warnings: [TRUNCATED_WARNING] };
  return { data: items };
}

/**
 * Undoes Prometheus' `U__` value-encoding escape for label names that are not legacy identifiers
 * (`U__http_2e_status` → `http.status`), as `/label/NAME/values` accepts it. Invalid escapes leave the
 * name as given.
 */
export function unescapeLabelName(name: string): string {
  if (!name.startsWith('U__')) return name;
  const s = name.slice(3);
  let out = '';
  for (let i = 0; i < s.length; i++) {
    const ch = s[i]!;
    if (ch !== '_') {
      out += ch;
      continue;
    }
    if (s[i + 1] === '_') {
      out += '_';
      i++;
      continue;
    }
    const end = s.indexOf('_', i + 1);
    const hex = end < 0 ? '' : s.slice(i + 1, end);
    if (!/^[0-9a-fA-F]+$/.test(hex)) return name;
    const code = Number.parseInt(hex, 16);
    if (code > 0x10ffff) return name;
    out += String.fromCodePoint(code);
    i = end;
  }
  return out;
}
