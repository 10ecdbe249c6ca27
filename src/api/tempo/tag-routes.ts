import type { FastifyInstance } from 'fastify';
import { compareStrings } from '../../model/index.ts';
import type { AttributeScope, TraceQuerier, TraceTimeRange } from '../../storage/index.ts';
import type { TempoApiDeps } from './deps.ts';
import { tempoRoute } from './handler.ts';
import type { TempoRequest } from './handler.ts';
import { bad, DEFAULT_SINCE_NS, MAX_SEARCH_DURATION_SECONDS, parseUint32, secondsRangeOrRecent, tagRangeSeconds } from './params.ts';
import { compileSpanSelection } from '../../traceql/index.ts';
import { selectedTagValues, typedValue } from './span-tag-values.ts';
import type { TagValue } from './span-tag-values.ts';
import { INTRINSIC_TAGS, parseTagRef, parseTagScope, STORED_SCOPES } from './tag-names.ts';
import type { StoredScope } from './tag-names.ts';

/** Tempo's `max_bytes_per_tag_values_query` default: a tag-values answer holds at most this many value bytes. */
export const MAX_TAG_VALUES_BYTES = 1_000_000;
/** How many distinct values storage is asked for when the request sets no `limit`. */
const DEFAULT_STORAGE_VALUE_LIMIT = 100_000;

/** Tempo's fixed values of the enum intrinsics (`search.GetVirtualTagValuesV2`); duration ones have none. */
const FIXED_V2_VALUES: Readonly<Record<string, readonly TagValue[]>> = {
  status: ['ok', 'error', 'unset'].map((value) => ({ type: 'keyword', value })),
  kind: ['client', 'server', 'producer', 'consumer', 'internal', 'unspecified'].map((value) => ({ type: 'keyword', value })),
  duration: [],
  'trace:duration': [],
};

/** Tempo's virtual values of the v1 API (`search.GetVirtualTagValues`). */
const FIXED_V1_VALUES: Readonly<Record<string, readonly string[]>> = {
  'status.code': ['unset', 'ok', 'error'],
  error: ['true'],
};

/** Sorted, de-duplicated, cut at {@link MAX_TAG_VALUES_BYTES} of value text. */
function capValues<T>(items: readonly T[], text: (t: T) => string, compare: (a: T, b: T) => number): T[] {
  const out: T[] = [];
  const seen = new Set<string>();
  let bytes = 0;
  for (const item of [...items].sort(compare)) {
    const key = JSON.stringify(item);
    if (seen.has(key)) continue;
    seen.add(key);
    bytes += Buffer.byteLength(text(item));
    if (bytes > MAX_TAG_VALUES_BYTES) break;
    out.push(item);
  }
  return out;
}

function rangeOf(req: TempoRequest, nowNs: bigint): TraceTimeRange {
  const { start, end } = tagRangeSeconds(req.params);
  if ((start !== 0 || end !== 0) && end - start > MAX_SEARCH_DURATION_SECONDS) {
    throw bad(`range specified by start and end exceeds 168h0m0s. received start=${start} end=${end}`);
  }
  return secondsRangeOrRecent(start, end, nowNs, DEFAULT_SINCE_NS);
}

function limitOf(req: TempoRequest): number | undefined {
  const text = req.params.present('limit');
  if (text === undefined) return undefined;
  const n = parseUint32('limit', text);
  return n === 0 ? undefined : n;
}

async function withQuerier<T>(deps: TempoApiDeps, req: TempoRequest, fn: (q: TraceQuerier) => Promise<T>): Promise<T> {
  const querier = await deps.queryable.querier(req.tenants);
  try {
    return await fn(querier);
  } finally {
    await querier.close();
  }
}

async function namesByScope(q: TraceQuerier, scopes: readonly StoredScope[], range: TraceTimeRange): Promise<Map<StoredScope, string[]>> {
  const out = new Map<StoredScope, string[]>();
  for (const scope of scopes) out.set(scope, await q.tagNames(scope, range));
  return out;
}

/** The tag (URL-decoded once by the router; Grafana encodes it twice, so one more decode when it still has `%`). */
function tagParam(req: TempoRequest): string {
  const raw = (req.request.params as { tag?: string }).tag ?? '';
  if (raw === '') throw bad('please provide a non-empty tagName');
  if (!/%[0-9a-fA-F]{2}/.test(raw)) return raw;
  try {
    return decodeURIComponent(raw);
  } catch {
    return raw;
  }
}

/**
 * Tag names and values: `GET /api/search/tags` (`{tagNames}`; `scope` picks one scope, `intrinsic` lists
 * the intrinsics), `GET /api/v2/search/tags` (`{scopes:[{name,tags}]}`, intrinsics included unless another
 * scope is asked for), `GET /api/search/tag/:tag/values` (`{tagValues:[string]}`, the tag as a plain
 * attribute name on spans or resources) and `GET /api/v2/search/tag/:tag/values` (`{tagValues:[{type,value}]}`,
 * the tag as TraceQL writes it; with a TraceQL `q`, only values on the spans that query selects). `start`/`end` are Unix seconds (the last hour when absent); `limit` caps
 * the values. Answers are sorted and hold at most 1,000,000 bytes of values.
 */
export function registerTagRoutes(app: FastifyInstance, deps: TempoApiDeps): void {
  const now = deps.nowNs ?? (() => BigInt(Date.now()) * 1_000_000n);
  const route = (fn: (req: TempoRequest) => Promise<unknown>) => tempoRoute(deps.tenants, deps.logger, fn);

  app.get(
    '/api/search/tags',
    route(async (req) => {
      const scope = parseTagScope(req.params.present('scope'));
      const range = rangeOf(req, now());
      if (scope === 'intrinsic') return { tagNames: [...INTRINSIC_TAGS], metrics: {} };
      const scopes = scope === undefined ? STORED_SCOPES : [scope];
      const names = await withQuerier(deps, req, (q) => namesByScope(q, scopes, range));
      const all = new Set<string>();
      for (const list of names.values()) for (const n of list) all.add(n);
      return { tagNames: capValues([...all], (s) => s, compareStrings), metrics: {} };
    }),
  );

  app.get(
    '/api/v2/search/tags',
    route(async (req) => {
      const scope = parseTagScope(req.params.present('scope'));
      const range = rangeOf(req, now());
      const scopes: { name: string; tags: string[] }[] = [];
      if (scope !== 'intrinsic') {
        const wanted = scope === undefined ? STORED_SCOPES : [scope];
        const names = await withQuerier(deps, req, (q) => namesByScope(q, wanted, range));
        for (const [name, tags] of names) if (tags.length > 0 || scope !== undefined) scopes.push({ name, tags: capValues(tags, (s) => s, compareStrings) });
      }
      if (scope === undefined || scope === 'intrinsic') scopes.push({ name: 'intrinsic', tags: [...INTRINSIC_TAGS] });
      return { scopes, metrics: {} };
    }),
  );

  app.get(
    '/api/search/tag/:tag/values',
    route(async (req) => {
      const tag = tagParam(req);
      const range = rangeOf(req, now());
      const fixed = FIXED_V1_VALUES[tag];
      if (fixed !== undefined) return { tagValues: [...fixed], metrics: {} };
      const limit = limitOf(req) ?? DEFAULT_STORAGE_VALUE_LIMIT;
      const values = await withQuerier(deps, req, (q) => q.tagValues('any', tag, range, limit));
      return { tagValues: capValues(values.map(String), (s) => s, compareStrings), metrics: {} };
    }),
  );

  app.get(
    '/api/v2/search/tag/:tag/values',
    route(async (req) => {
      const ref = parseTagRef(tagParam(req));
      const range = rangeOf(req, now());
      const limit = limitOf(req) ?? DEFAULT_STORAGE_VALUE_LIMIT;
      const compare = (a: TagValue, b: TagValue): number => compareStrings(a.type, b.type) || compareStrings(a.value, b.value);
      const filter = req.params.present('q')?.trim();
      if (filter !== undefined && filter !== '' && filter !== '{}') {
        // Autocomplete filtering: the values on the spans the query selects, evaluated exactly.
        const selection = compileSpanSelection(filter);
        const values = await withQuerier(deps, req, (q) => selectedTagValues(q, selection, ref, range, limit, req.signal));
        return { tagValues: capValues(values, (t) => t.value, compare), metrics: {} };
      }
      const fixed = ref.scope === 'intrinsic' ? FIXED_V2_VALUES[ref.name] : undefined;
      if (fixed !== undefined) return { tagValues: [...fixed], metrics: {} };
      const values = await withQuerier(deps, req, (q) => q.tagValues(ref.scope satisfies AttributeScope, ref.name, range, limit));
      return { tagValues: capValues(values.map(typedValue), (t) => t.value, compare), metrics: {} };
    }),
  );
}
