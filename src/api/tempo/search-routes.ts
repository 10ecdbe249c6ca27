import type { FastifyInstance } from 'fastify';
import { scanLogfmt } from '../../logql/index.ts';
import { EncodedJson } from '../encoded-json.ts';
import type { TempoApiDeps } from './deps.ts';
import { tempoRoute } from './handler.ts';
import type { TempoRequest } from './handler.ts';
import { legacySearchToTraceql } from './legacy-search.ts';
import { DEFAULT_SINCE_NS, parseSearchRequest, secondsRangeOrRecent } from './params.ts';
import type { SearchRequest } from './params.ts';

/** The URL's query parameters in order (first value of each name), for Tempo's legacy per-parameter tags. */
function rawQueryPairs(url: string): [string, string][] {
  const qs = url.indexOf('?');
  if (qs < 0) return [];
  const seen = new Set<string>();
  const out: [string, string][] = [];
  for (const [k, v] of new URLSearchParams(url.slice(qs + 1))) {
    if (seen.has(k)) continue;
    seen.add(k);
    out.push([k, v]);
  }
  return out;
}

/** Parses the request of `GET /api/search` (exported for tests of the parameter rules). */
export function parseSearch(req: Pick<TempoRequest, 'params' | 'request'>): SearchRequest {
  return parseSearchRequest(req.params, rawQueryPairs(req.request.url), (text) => scanLogfmt(text, true));
}

/** The TraceQL a search runs: `q` as given, or the legacy tags and durations translated. */
export function searchQueryText(search: SearchRequest): string {
  return search.query ?? legacySearchToTraceql(search.tags, search.minDurationMs, search.maxDurationMs);
}

/**
 * `GET /api/search`: a TraceQL search (`q`) or a legacy tag search (`tags`, `minDuration`, `maxDuration`,
 * translated to TraceQL), newest `limit` traces first with `spss` spans per spanset, over `start`..`end`
 * (Unix seconds; the last hour when absent). The engine answers Tempo's `SearchResponse` JSON.
 */
export function registerSearchRoutes(app: FastifyInstance, deps: TempoApiDeps): void {
  const now = deps.nowNs ?? (() => BigInt(Date.now()) * 1_000_000n);
  app.get(
    '/api/search',
    tempoRoute(deps.tenants, deps.logger, async (req) => {
      const search = parseSearch(req);
      const { startNs, endNs } = secondsRangeOrRecent(search.start, search.end, now(), DEFAULT_SINCE_NS);
      const res = await deps.engine.search(
        deps.queryable,
        req.tenants,
        {
          query: searchQueryText(search),
          startNs,
          endNs,
          limit: search.limit,
          spansPerSpanSet: search.spansPerSpanSet === 0 ? Number.MAX_SAFE_INTEGER : search.spansPerSpanSet,
        },
        { signal: req.signal },
      );
      return new EncodedJson(res.dataJson);
    }),
  );
}
