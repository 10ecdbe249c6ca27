import { parseGoDuration, parsePromDuration, quoteGo, tryParseGoFloat } from '../../model/index.ts';
import { ApiError } from '../errors.ts';
import type { FormParams } from '../form-params.ts';

/*
 * Tempo's request parameter rules (`pkg/api/http.go`, `pkg/api/search_tags.go`) with its error texts. Tempo
 * reads `r.URL.Query()` and treats an empty value as absent (`extractQueryParam`).
 */

/** Tempo's query frontend defaults (`modules/frontend/config.go`). */
export const DEFAULT_SEARCH_LIMIT = 20;
export const MAX_SEARCH_LIMIT = 256 * 1024;
export const DEFAULT_SPANS_PER_SPAN_SET = 3;
export const MAX_SPANS_PER_SPAN_SET = 100;
/** `search.max_duration` (168h): the longest `end - start` a search or tag lookup may span. */
export const MAX_SEARCH_DURATION_SECONDS = 168 * 3600;
/** The range a metrics query covers when neither `start` nor `since` is given (`defaultSince`). */
export const DEFAULT_SINCE_NS = 3600n * 1_000_000_000n;

export function bad(message: string): ApiError {
  return new ApiError('bad_data', message);
}

const UINT32_MAX = 0xffff_ffff;
const INT32_MAX = 0x7fff_ffff;

/** `strconv.ParseUint(s, 10, 32)`; throws `invalid <name>: strconv.ParseUint: ...` as Tempo words it. */
export function parseUint32(name: string, s: string): number {
  if (!/^\d+$/.test(s)) throw bad(`invalid ${name}: strconv.ParseUint: parsing ${quoteGo(s)}: invalid syntax`);
  const n = Number(s);
  if (n > UINT32_MAX) throw bad(`invalid ${name}: strconv.ParseUint: parsing ${quoteGo(s)}: value out of range`);
  return n;
}

/** `strconv.ParseInt(s, 10, 32)` (the tag endpoints' `start`/`end`), negative values refused as out of range. */
export function parseInt32(name: string, s: string): number {
  if (!/^[+-]?\d+$/.test(s)) throw bad(`invalid ${name}: strconv.ParseInt: parsing ${quoteGo(s)}: invalid syntax`);
  const n = Number(s);
  if (n > INT32_MAX || n < -INT32_MAX - 1) throw bad(`invalid ${name}: strconv.ParseInt: parsing ${quoteGo(s)}: value out of range`);
  return n;
}

/** `strconv.ParseInt(s, 10, 64)` for trace-by-id `start`/`end` (Unix seconds). */
function parseInt64Seconds(name: string, s: string): bigint {
  if (!/^[+-]?\d+$/.test(s)) throw bad(`invalid ${name}: strconv.ParseInt: parsing ${quoteGo(s)}: invalid syntax`);
  const n = BigInt(s);
  if (n > 0x7fff_ffff_ffff_ffffn || n < -0x8000_0000_0000_0000n) {
    throw bad(`invalid ${name}: strconv.ParseInt: parsing ${quoteGo(s)}: value out of range`);
  }
  return n;
}

const NS_PER_S = 1_000_000_000n;

/** A time range in Unix nanoseconds, `[startNs, endNs)`. */
export interface NsRange {
  readonly startNs: bigint;
  readonly endNs: bigint;
}

/**
 * The `start`/`end` hints of trace by id (`ParseTraceByIDRequest`): Unix seconds, each optional; when both
 * are given `end` must be after `start`. Absent hints mean "look everywhere" (undefined). With one hint the
 * other side is open.
 */
export function traceByIdRange(p: FormParams): NsRange | undefined {
  const mode = p.present('mode');
  if (mode !== undefined && !['all', 'ingesters', 'blocks', 'external'].includes(mode)) throw bad(`invalid value for mode ${mode}`);
  const s = p.present('start');
  const e = p.present('end');
  const start = s === undefined ? undefined : parseInt64Seconds('start', s);
  const end = e === undefined ? undefined : parseInt64Seconds('end', e);
  if (start !== undefined && end !== undefined && end <= start) {
    throw bad(`http parameter start must be before end. received start=${start} end=${end}`);
  }
  if (start === undefined && end === undefined) return undefined;
  // The end second is inclusive in Tempo's block selection; a trace starting within it is in range.
  return { startNs: start === undefined ? 0n : start * NS_PER_S, endNs: end === undefined ? 0x7fff_ffff_ffff_ffffn : (end + 1n) * NS_PER_S };
}

/** A parsed `/api/search` request (`ParseSearchRequest` plus the frontend's limit rules). */
export interface SearchRequest {
  readonly query?: string;
  /** Legacy tag search: `tags` logfmt (or, without start/end, every unreserved URL parameter). */
  readonly tags: ReadonlyMap<string, string>;
  readonly minDurationMs: number;
  readonly maxDurationMs: number;
  readonly limit: number;
  /** Spans per spanset; 0 means every matching span (Tempo's unlimited). */
  readonly spansPerSpanSet: number;
  /** Unix seconds; both 0 when not given. */
  readonly start: number;
  readonly end: number;
}

const RESERVED_SEARCH_PARAMS = new Set(['q', 'tags', 'minDuration', 'maxDuration', 'limit', 'spss', 'start', 'end']);

/** Parses a Go duration parameter into whole milliseconds (`time.ParseDuration` then `.Milliseconds()`). */
function durationMsParam(name: string, s: string): number {
  let ns: number;
  try {
    ns = parseGoDuration(s);
  } catch (err) {
    throw bad(`invalid ${name}: ${(err as Error).message}`);
  }
  // uint32(dur.Milliseconds()): a negative duration wraps in Go; refuse it instead of searching nonsense.
  if (ns < 0) throw bad(`invalid ${name}: must not be negative`);
  return Math.trunc(ns / 1e6);
}

/**
 * Parses `/api/search` parameters as Tempo does: `q` (TraceQL) or `tags` (logfmt, mutually exclusive with
 * `q`), `minDuration`/`maxDuration` (Go durations), `limit` (default 20, at most 262,144), `spss` (default 3,
 * at most 100, 0 = all), `start`/`end` (Unix seconds; `end` after `start`; at most 168 h apart).
 * `logfmtPairs` scans the `tags` text (go-logfmt's rules).
 */
export function parseSearchRequest(
  p: FormParams,
  rawQuery: Iterable<[string, string]>,
  logfmtPairs: (text: string) => { pairs: [string, string][]; error?: string },
): SearchRequest {
  const startText = p.present('start');
  const endText = p.present('end');
  const start = startText === undefined ? 0 : parseUint32('start', startText);
  const end = endText === undefined ? 0 : parseUint32('end', endText);
  const query = p.present('q');
  const tags = new Map<string, string>();
  const tagsText = p.present('tags');
  if (tagsText !== undefined) {
    if (query !== undefined) throw bad("invalid request: can't specify tags and q in the same query");
    const { pairs, error } = logfmtPairs(tagsText);
    if (error !== undefined) throw bad(`invalid tags: ${error}`);
    for (const [k, v] of pairs) {
      if (tags.has(k)) throw bad(`invalid tags: tag ${k} has been set twice`);
      tags.set(k, v);
    }
  }
  if (query === undefined && tagsText === undefined && start === 0 && end === 0) {
    // Grafana's first Tempo search sent tags as individual parameters; Tempo still reads them so.
    for (const [k, v] of rawQuery) if (!RESERVED_SEARCH_PARAMS.has(k) && v !== '' && !tags.has(k)) tags.set(k, v);
  }
  const minText = p.present('minDuration');
  const maxText = p.present('maxDuration');
  const minDurationMs = minText === undefined ? 0 : durationMsParam('minDuration', minText);
  const maxDurationMs = maxText === undefined ? 0 : durationMsParam('maxDuration', maxText);
  if (maxText !== undefined && minDurationMs !== 0 && minDurationMs > maxDurationMs) {
    throw bad('invalid maxDuration: must be greater than minDuration');
  }
  const limitText = p.present('limit');
  let limit = DEFAULT_SEARCH_LIMIT;
  if (limitText !== undefined) {
    limit = parseUint32('limit', limitText);
    if (limit === 0) throw bad('invalid limit: must be a positive number');
    if (limit > MAX_SEARCH_LIMIT) throw bad(`limit ${limit} exceeds max limit ${MAX_SEARCH_LIMIT}`);
  }
  const spssText = p.present('spss');
  const spansPerSpanSet = spssText === undefined ? DEFAULT_SPANS_PER_SPAN_SET : parseUint32('spss', spssText);
  if (spansPerSpanSet > MAX_SPANS_PER_SPAN_SET) {
    throw bad(`spans per span set exceeds ${MAX_SPANS_PER_SPAN_SET}. received ${spansPerSpanSet}`);
  }
  if (start !== 0 || end !== 0) {
    if (end <= start) throw bad(`http parameter start must be before end. received start=${start} end=${end}`);
    if (end - start > MAX_SEARCH_DURATION_SECONDS) {
      throw bad(`range specified by start and end exceeds 168h0m0s. received start=${start} end=${end}`);
    }
  }
  return {
    ...(query === undefined ? {} : { query }),
    tags,
    minDurationMs,
    maxDurationMs,
    limit,
    spansPerSpanSet,
    start,
    end,
  };
}

/**
 * The range a search or tag lookup covers: `[start, end]` seconds when given (the end second included, as
 * Tempo's block selection includes it), else the last `defaultSinceNs` before `nowNs` (Tempo then searches
 * its recent data only).
 */
export function secondsRangeOrRecent(start: number, end: number, nowNs: bigint, defaultSinceNs: bigint): NsRange {
  if (start === 0 && end === 0) return { startNs: nowNs - defaultSinceNs, endNs: nowNs };
  return { startNs: BigInt(start) * NS_PER_S, endNs: (BigInt(end) + 1n) * NS_PER_S };
}

/** `start`/`end` of the tag endpoints (`strconv.ParseInt(s, 10, 32)` seconds), both 0 when absent. */
export function tagRangeSeconds(p: FormParams): { start: number; end: number } {
  const s = p.present('start');
  const e = p.present('end');
  const start = s === undefined ? 0 : parseInt32('start', s);
  const end = e === undefined ? 0 : parseInt32('end', e);
  if ((start !== 0 || end !== 0) && end <= start) {
    throw bad(`http parameter start must be before end. received start=${start} end=${end}`);
  }
  return { start, end };
}

/**
 * Tempo's `parseTimestamp` (metrics `start`/`end`): fractional seconds (millisecond precision), integer
 * seconds (up to 10 digits), integer nanoseconds, or RFC 3339. Returns Unix nanoseconds.
 */
export function parseTempoTimestamp(name: string, value: string): bigint {
  if (value.includes('.')) {
    const f = tryParseGoFloat(value);
    if (f !== undefined && Number.isFinite(f)) {
      const s = Math.trunc(f);
      const frac = Math.round((f - s) * 1000) / 1000;
      return BigInt(s) * NS_PER_S + BigInt(Math.round(frac * 1e9));
    }
  }
  if (/^[+-]?\d+$/.test(value)) {
    const n = BigInt(value);
    if (n <= 0x7fff_ffff_ffff_ffffn && n >= -0x8000_0000_0000_0000n) return value.replace(/^[+-]/, '').length <= 10 ? n * NS_PER_S : n;
  }
  const ms = Date.parse(value);
  if (/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/.test(value) && !Number.isNaN(ms)) {
    const frac = /\.(\d{1,9})/.exec(value)?.[1] ?? '';
    return BigInt(Math.floor(ms / 1000)) * NS_PER_S + BigInt(frac.padEnd(9, '0') || '0');
  }
  throw bad(`could not parse '${name}' parameter: strconv.ParseInt: parsing ${quoteGo(value)}: invalid syntax`);
}

/**
 * The range of a TraceQL metrics query (`bounds`): `end` defaults to now, `start` to `min(end, now)` minus
 * `since` (a Prometheus duration, default 1h).
 */
export function metricsRange(p: FormParams, nowNs: bigint): NsRange {
  const sinceText = p.present('since');
  let sinceNs = DEFAULT_SINCE_NS;
  if (sinceText !== undefined) {
    const d = parsePromDuration(sinceText);
    if (d === undefined) throw bad(`could not parse 'since' parameter: not a valid duration string: ${quoteGo(sinceText)}`);
    sinceNs = BigInt(Math.round(d));
  }
  const endText = p.present('end');
  const endNs = endText === undefined ? nowNs : parseTempoTimestamp('end', endText);
  const endOrNow = endNs > nowNs ? nowNs : endNs;
  const startText = p.present('start');
  const startNs = startText === undefined ? endOrNow - sinceNs : parseTempoTimestamp('start', startText);
  if (endNs <= startNs) throw bad(`end must be after start. received start=${startNs} end=${endNs}`);
  return { startNs, endNs };
}

const MS = 1_000_000n;
/** `traceql.DefaultQueryRangeStep`'s granularities, coarsest first. */
const STEP_GRANULARITIES_NS = [3600n * NS_PER_S, 300n * NS_PER_S, 60n * NS_PER_S, 15n * NS_PER_S, 5n * NS_PER_S, NS_PER_S];

/**
 * TraceQL's default step (`traceql.DefaultQueryRangeStep`): about 240 points, rounded down to a multiple of
 * the coarsest granularity below it (1h, 5m, 1m, 15s, 5s, 1s; under a minute of range, 50 ms).
 */
export function defaultMetricsStepNs(range: NsRange): bigint {
  const delta = range.endNs - range.startNs;
  const baseline = delta / 240n;
  if (delta < 60n * NS_PER_S) {
    const g = 50n * MS;
    return baseline > g ? (baseline / g) * g : g;
  }
  for (const g of STEP_GRANULARITIES_NS) if (baseline > g) return (baseline / g) * g;
  return NS_PER_S;
}

/** `step`: float seconds or a Go duration; absent → {@link defaultMetricsStepNs}. Must be positive. */
export function metricsStepNs(p: FormParams, range: NsRange): bigint {
  const text = p.present('step');
  if (text === undefined) return defaultMetricsStepNs(range);
  let ns: number | undefined;
  const f = tryParseGoFloat(text);
  if (f !== undefined) ns = f * 1e9;
  else {
    try {
      ns = parseGoDuration(text);
    } catch {
      ns = undefined;
    }
  }
  if (ns === undefined || !Number.isFinite(ns)) throw bad(`cannot parse ${quoteGo(text)} to a valid duration`);
  if (ns <= 0) throw bad(`cannot parse ${quoteGo(text)}: step must be positive`);
  return BigInt(Math.round(ns));
}

/** `exemplars`: a non-negative integer; Tempo ignores an unparsable value (undefined here). */
export function exemplarsParam(p: FormParams): number | undefined {
  const text = p.present('exemplars');
  if (text === undefined || !/^\d+$/.test(text)) return undefined;
  const n = Number(text);
  return n > UINT32_MAX ? undefined : n;
}
