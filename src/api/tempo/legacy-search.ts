import { compareStrings } from '../../model/index.ts';
import { bad } from './params.ts';

/*
 * Tempo's legacy (pre-TraceQL) search — `tags=<logfmt>`, `minDuration`, `maxDuration` — as a TraceQL query,
 * so one engine answers both. The semantics follow Tempo's vParquet block search (`block_search.go`): the
 * well-known columns match a substring, `http.status_code` an integer, `status.code` the status, the
 * `root.*` tags the trace's root span, any other tag an exact string on a span or its resource, and the
 * durations bound the trace's duration (inclusive). Each tag is its own spanset joined with `&&`, so the
 * conditions may hold on different spans of the trace, as Tempo's trace-level join allows.
 */

/** Tags Tempo keeps in dedicated columns and matches by substring, with the TraceQL attribute they are. */
const SUBSTRING_TAGS: Readonly<Record<string, string>> = {
  'service.name': 'resource.service.name',
  cluster: 'resource.cluster',
  namespace: 'resource.namespace',
  pod: 'resource.pod',
  container: 'resource.container',
  'k8s.cluster.name': 'resource.k8s.cluster.name',
  'k8s.namespace.name': 'resource.k8s.namespace.name',
  'k8s.pod.name': 'resource.k8s.pod.name',
  'k8s.container.name': 'resource.k8s.container.name',
  'http.method': 'span.http.method',
  'http.url': 'span.http.url',
  name: 'name',
  'root.service.name': 'trace:rootService',
  'root.name': 'trace:rootName',
};

const STATUS_KEYWORDS = new Set(['unset', 'ok', 'error']);

/** A TraceQL double-quoted string literal. */
export function traceqlString(s: string): string {
  return `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

/** RE2's QuoteMeta: the pattern that matches `s` literally. */
export function quoteRegex(s: string): string {
  return s.replace(/[\\.+*?()|[\]{}^$]/g, '\\$&');
}

/** An unscoped TraceQL attribute (`.name`), quoted when the name has characters an identifier cannot. */
export function unscopedAttribute(name: string): string {
  return /^[A-Za-z0-9_][A-Za-z0-9_.\-/]*$/.test(name) ? `.${name}` : `.${traceqlString(name)}`;
}

function tagCondition(key: string, value: string): string {
  const substring = SUBSTRING_TAGS[key];
  if (substring !== undefined) return `${substring} =~ ${traceqlString(`.*${quoteRegex(value)}.*`)}`;
  if (key === 'status.code') {
    if (!STATUS_KEYWORDS.has(value)) throw bad(`invalid tags: status.code must be one of unset, ok, error; got ${JSON.stringify(value)}`);
    return `status = ${value}`;
  }
  if (key === 'http.status_code' && /^[+-]?\d+$/.test(value)) return `span.http.status_code = ${Number(value)}`;
  return `${unscopedAttribute(key)} = ${traceqlString(value)}`;
}

/**
 * The TraceQL query equivalent to a legacy tag search: one spanset per tag (sorted by key, so the text is
 * deterministic) and one per duration bound, joined with `&&`; `{}` (every trace) when nothing is given.
 * Throws a `bad_data` ApiError for a `status.code` that is not a status.
 */
export function legacySearchToTraceql(tags: ReadonlyMap<string, string>, minDurationMs: number, maxDurationMs: number): string {
  const spansets = [...tags.keys()].sort(compareStrings).map((k) => `{${tagCondition(k, tags.get(k)!)}}`);
  if (minDurationMs > 0) spansets.push(`{trace:duration >= ${minDurationMs}ms}`);
  if (maxDurationMs > 0) spansets.push(`{trace:duration <= ${maxDurationMs}ms}`);
  return spansets.length === 0 ? '{}' : spansets.join(' && ');
}
