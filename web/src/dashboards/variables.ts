import { proxyGet } from '../datasource/proxy-fetch.ts';
import type { QueryData } from '../datasource/prometheus.ts';
import { formatMetric } from '../datasource/prometheus.ts';
import type { DatasourceRef } from '../shell/settings.ts';
import { parseDurationS } from '../time/time-range.ts';
import type { DatasourceRefJson, VariableModel } from './dashboard-model.ts';

/** Grafana's marker for the "All" choice of a variable. */
export const ALL = '$__all';

/** A variable's options and current value(s), as the page holds them. */
export interface VariableState {
  readonly model: VariableModel;
  readonly options: readonly { text: string; value: string }[];
  /** The chosen values; `[ALL]` when "All" is chosen. */
  readonly current: readonly string[];
  readonly error?: string;
}

/** What interpolation needs besides the variables: the range and the panel's interval. */
export interface Builtins {
  readonly fromMs: number;
  readonly toMs: number;
  readonly intervalS: number;
  /** The data source's scrape interval for `$__rate_interval` (Grafana's default 15 s). */
  readonly scrapeIntervalS?: number;
}

/** Names of the variables an expression refers to (`$x`, `${x}`, `${x:fmt}`, `[[x]]`). */
export function referencedVariables(text: string): Set<string> {
  const out = new Set<string>();
  for (const m of text.matchAll(/\$(\w+)|\$\{(\w+)(?::[^}]*)?\}|\[\[(\w+)(?::[^\]]*)?\]\]/g)) out.add((m[1] ?? m[2] ?? m[3])!);
  return out;
}

/** Grafana's Prometheus escaping of one value inside a regex matcher written in a PromQL string. */
function promRegexEscape(v: string): string {
  return v.replace(/\\/g, '\\\\\\\\').replace(/[$^*{}[\]'+?.()|]/g, '\\\\$&');
}

/** The text a duration in seconds is written as in PromQL (`90s`, `5m`, `1h`). */
export function formatDurationS(s: number): string {
  const r = Math.max(1, Math.round(s));
  if (r % 86400 === 0) return `${r / 86400}d`;
  if (r % 3600 === 0) return `${r / 3600}h`;
  if (r % 60 === 0) return `${r / 60}m`;
  return `${r}s`;
}

/** The values a variable stands for: its options' values for "All" (or none when allValue is used). */
function chosenValues(v: VariableState): { values: string[]; all: boolean } {
  if (v.current.includes(ALL)) return { values: v.options.filter((o) => o.value !== ALL).map((o) => o.value), all: true };
  return { values: [...v.current], all: false };
}

/** One variable's value formatted as Grafana does for a query (`:regex`, `:pipe`, `:csv`, `:raw`, default per source). */
function formatValue(v: VariableState, format: string | undefined): string {
  const { values, all } = chosenValues(v);
  if (all && v.model.allValue !== undefined && v.model.allValue !== null && v.model.allValue !== '' && format === undefined) return v.model.allValue;
  switch (format) {
    case 'raw':
    case 'text':
      return values.join(',');
    case 'csv':
      return values.join(',');
    case 'pipe':
      return values.join('|');
    case 'regex':
      return values.length === 1 ? values[0]!.replace(/[\\^$*+?.()|[\]{}]/g, '\\$&') : `(${values.map((x) => x.replace(/[\\^$*+?.()|[\]{}]/g, '\\$&')).join('|')})`;
    case 'json':
      return JSON.stringify(values);
    case 'queryparam':
      return values.map((x) => `var-${v.model.name}=${encodeURIComponent(x)}`).join('&');
    default:
      break;
  }
  if (!v.model.multi && !v.model.includeAll) return values[0] ?? '';
  const escaped = values.map(promRegexEscape);
  if (escaped.length === 1) return escaped[0]!;
  return `(${escaped.join('|')})`;
}

/** The text a repeated panel's variable stands for: one value, escaped as the variable's format would. */
export function scopedValue(v: VariableState, value: string): string {
  return v.model.multi || v.model.includeAll ? promRegexEscape(value) : value;
}

/** The values a repeat by `v` makes: its chosen values ("All" meaning every option). */
export function repeatValues(v: VariableState): string[] {
  return chosenValues(v).values;
}

/** `$__interval`, `$__rate_interval` and the other built-ins, as text. */
function builtinValue(name: string, b: Builtins): string | undefined {
  const rangeS = (b.toMs - b.fromMs) / 1000;
  const scrape = b.scrapeIntervalS ?? 15;
  switch (name) {
    case '__interval':
    case '__auto':
      return formatDurationS(b.intervalS);
    case '__interval_ms':
      return String(Math.round(b.intervalS * 1000));
    case '__rate_interval':
      return formatDurationS(Math.max(b.intervalS + scrape, 4 * scrape));
    case '__rate_interval_ms':
      return String(Math.max(b.intervalS + scrape, 4 * scrape) * 1000);
    case '__range':
      return formatDurationS(rangeS);
    case '__range_s':
      return String(Math.round(rangeS));
    case '__range_ms':
      return String(Math.round(rangeS * 1000));
    case '__from':
      return String(b.fromMs);
    case '__to':
      return String(b.toMs);
    default:
      return undefined;
  }
}

/**
 * Replaces variables in `text`: `$name`, `${name}`, `${name:format}`, `[[name]]`, and the built-ins. Unknown
 * names stay as written (Grafana leaves them, and the data source's error then names them).
 */
export function interpolate(text: string, vars: ReadonlyMap<string, VariableState>, b: Builtins | undefined, scoped: ReadonlyMap<string, string> = new Map()): string {
  return text.replace(/\$\{(\w+)(?::([^}]*))?\}|\[\[(\w+)(?::([^\]]*))?\]\]|\$(\w+)/g, (whole, n1: string | undefined, f1: string | undefined, n2: string | undefined, f2: string | undefined, n3: string | undefined) => {
    const name = (n1 ?? n2 ?? n3)!;
    const format = f1 ?? f2;
    const s = scoped.get(name);
    if (s !== undefined) return s;
    if (b) {
      const builtin = builtinValue(name, b);
      if (builtin !== undefined) return builtin;
    }
    const v = vars.get(name);
    return v ? formatValue(v, format) : whole;
  });
}

/** The data source a reference means: a uid we have (after interpolation), else the first of its type, else the first of `fallbackType`. */
export function resolveDatasource(
  ref: DatasourceRefJson | string | null | undefined,
  datasources: readonly DatasourceRef[],
  vars: ReadonlyMap<string, VariableState>,
  fallbackType: string = 'prometheus',
): DatasourceRef | undefined {
  const byUid = (uid: string): DatasourceRef | undefined => datasources.find((d) => d.uid === uid || d.name === uid);
  const ofType = (type: string | undefined): DatasourceRef | undefined => datasources.find((d) => d.type === type);
  if (typeof ref === 'string') {
    const name = interpolate(ref, vars, undefined);
    return byUid(name) ?? (/loki/i.test(name) ? ofType('loki') : undefined) ?? ofType(fallbackType);
  }
  if (ref && typeof ref === 'object') {
    const uid = ref.uid !== undefined ? interpolate(ref.uid, vars, undefined) : undefined;
    return (uid !== undefined ? byUid(uid) : undefined) ?? ofType(ref.type) ?? ofType(fallbackType);
  }
  return ofType(fallbackType);
}

/** Applies a variable's `regex` (`/re/flags`; a capture group, or named `text`/`value` groups, picks the part). */
function applyRegex(values: string[], regex: string | undefined): { text: string; value: string }[] {
  if (!regex) return values.map((v) => ({ text: v, value: v }));
  const m = /^\/(.*)\/([gimsuy]*)$/s.exec(regex);
  const re = new RegExp(m ? m[1]! : regex, (m ? m[2]! : '').replace('g', ''));
  const out: { text: string; value: string }[] = [];
  for (const v of values) {
    const r = re.exec(v);
    if (!r) continue;
    const groups = r.groups ?? {};
    const value = groups.value ?? r[1] ?? r[0];
    out.push({ text: groups.text ?? value, value });
  }
  return out;
}

/** Grafana's variable `sort`: 1/2 alphabetical, 3/4 numerical, 5/6 case-insensitive; odd ascending. */
function sortOptions(options: { text: string; value: string }[], sort: number | undefined): { text: string; value: string }[] {
  if (!sort) return options;
  const num = (s: string): number => Number(/-?\d+(\.\d+)?/.exec(s)?.[0] ?? NaN);
  const cmp =
    sort === 3 || sort === 4
      ? (a: { text: string }, b: { text: string }) => num(a.text) - num(b.text)
      : sort === 5 || sort === 6
        ? (a: { text: string }, b: { text: string }) => a.text.toLowerCase().localeCompare(b.text.toLowerCase())
        : (a: { text: string }, b: { text: string }) => (a.text < b.text ? -1 : a.text > b.text ? 1 : 0);
  const sorted = [...options].sort(cmp);
  return sort % 2 === 0 ? sorted.reverse() : sorted;
}

/** The query text of a query variable (a string, or `{query}` / Loki's `{type, label, stream}`). */
export function variableQueryText(model: VariableModel): string {
  const q = model.query;
  if (typeof q === 'string') return q;
  if (q && typeof q === 'object') {
    const o = q as { query?: string; type?: number; label?: string; stream?: string };
    if (typeof o.query === 'string') return o.query;
    if (o.type === 1 && o.label) return `label_values(${o.stream ? `${o.stream}, ` : ''}${o.label})`;
    if (o.type === 0) return 'label_names()';
  }
  return model.definition ?? '';
}

/**
 * The options of a variable of any type, querying its data source for `query` variables (Prometheus:
 * `label_values(metric{sel}, label)`, `label_values(label)`, `label_names()`, `metrics(re)`,
 * `query_result(expr)`; Loki: label names and values, with a stream selector), with `regex` and `sort` applied.
 */
export async function loadOptions(
  model: VariableModel,
  ctx: { org: string; datasources: readonly DatasourceRef[]; vars: ReadonlyMap<string, VariableState>; builtins: Builtins; signal?: AbortSignal },
): Promise<{ text: string; value: string }[]> {
  switch (model.type) {
    case 'custom': {
      const text = interpolate(typeof model.query === 'string' ? model.query : '', ctx.vars, ctx.builtins);
      // "a,b" or "key : value" pairs, commas escaped with a backslash.
      return text
        .split(/(?<!\\),/)
        .map((s) => s.replace(/\\,/g, ',').trim())
        .filter((s) => s !== '')
        .map((s) => {
          const kv = /^(.*?)\s:\s(.*)$/.exec(s);
          return kv ? { text: kv[1]!, value: kv[2]! } : { text: s, value: s };
        });
    }
    case 'constant':
    case 'textbox': {
      const q = typeof model.query === 'string' ? model.query : '';
      return [{ text: q, value: q }];
    }
    case 'interval': {
      const values = (typeof model.query === 'string' ? model.query : '').split(',').map((s) => s.trim()).filter(Boolean);
      const opts = values.map((v) => ({ text: v, value: v }));
      if (model.auto) {
        const count = model.auto_count ?? 30;
        const min = parseDurationS(model.auto_min ?? '10s') ?? 10;
        const auto = formatDurationS(Math.max(min, (ctx.builtins.toMs - ctx.builtins.fromMs) / 1000 / count));
        return [{ text: 'auto', value: auto }, ...opts];
      }
      return opts;
    }
    case 'datasource': {
      const type = typeof model.query === 'string' ? model.query : 'prometheus';
      const re = model.regex ? new RegExp(model.regex.replace(/^\/(.*)\/[a-z]*$/, '$1')) : undefined;
      return ctx.datasources.filter((d) => d.type === type && (!re || re.test(d.name))).map((d) => ({ text: d.name, value: d.uid }));
    }
    case 'query': {
      const ds = resolveDatasource(model.datasource, ctx.datasources, ctx.vars);
      if (!ds) throw new Error('no data source of this variable’s type is configured');
      const text = interpolate(variableQueryText(model), ctx.vars, ctx.builtins).trim();
      const values = ds.type === 'loki' ? await lokiValues(ds.uid, text, ctx) : await promValues(ds.uid, text, ctx);
      const unique = [...new Set(values)];
      return sortOptions(applyRegex(unique, model.regex ? interpolate(model.regex, ctx.vars, ctx.builtins) : undefined), model.sort);
    }
    default:
      throw new Error(`variable type "${model.type}" is not supported`);
  }
}

type Ctx = { org: string; builtins: Builtins; signal?: AbortSignal };

function rangeParams(b: Builtins): Record<string, string> {
  return { start: String(Math.floor(b.fromMs / 1000)), end: String(Math.ceil(b.toMs / 1000)) };
}

async function promValues(uid: string, q: string, ctx: Ctx): Promise<string[]> {
  const get = async <T,>(path: string, params: Record<string, string>): Promise<T> => (await proxyGet<{ data: T }>(uid, ctx.org, path, params, ctx.signal)).body.data;
  let m: RegExpExecArray | null;
  if ((m = /^label_names\(\s*(.*?)\s*\)$/s.exec(q))) {
    return get<string[]>('api/v1/labels', { ...rangeParams(ctx.builtins), ...(m[1] ? { 'match[]': m[1] } : {}) });
  }
  if ((m = /^label_values\(\s*(?:(.*),\s*)?([a-zA-Z_][\w]*)\s*\)$/s.exec(q))) {
    const [, selector, label] = m;
    return get<string[]>(`api/v1/label/${encodeURIComponent(label!)}/values`, { ...rangeParams(ctx.builtins), ...(selector ? { 'match[]': selector } : {}) });
  }
  if ((m = /^metrics\(\s*(.*?)\s*\)$/s.exec(q))) {
    const names = await get<string[]>('api/v1/label/__name__/values', rangeParams(ctx.builtins));
    const re = new RegExp(m[1] ?? '');
    return names.filter((n) => re.test(n));
  }
  if ((m = /^query_result\(\s*(.*)\s*\)$/s.exec(q))) {
    const data = await get<QueryData>('api/v1/query', { query: m[1]!, time: String(Math.floor(ctx.builtins.toMs / 1000)) });
    if (data.resultType === 'vector') return data.result.map((s) => `${formatMetric(s.metric)} ${s.value?.[1] ?? ''} ${(s.value?.[0] ?? 0) * 1000}`);
    if (data.resultType === 'scalar' || data.resultType === 'string') return [`${data.resultType} ${data.result[1]} ${data.result[0] * 1000}`];
    return data.result.map((s) => formatMetric(s.metric));
  }
  // A bare selector or metric: the series it matches, printed (Grafana's "Series query").
  const series = await get<Record<string, string>[]>('api/v1/series', { ...rangeParams(ctx.builtins), 'match[]': q });
  return series.map(formatMetric);
}

async function lokiValues(uid: string, q: string, ctx: Ctx): Promise<string[]> {
  const params = { start: `${ctx.builtins.fromMs}000000`, end: `${ctx.builtins.toMs}000000` };
  const get = async (path: string, extra: Record<string, string> = {}): Promise<string[]> =>
    (await proxyGet<{ data?: string[] }>(uid, ctx.org, path, { ...params, ...extra }, ctx.signal)).body.data ?? [];
  let m: RegExpExecArray | null;
  if (q === '' || /^label_names\(\s*\)$/.test(q)) return get('loki/api/v1/labels');
  if ((m = /^label_values\(\s*(?:(.*),\s*)?([a-zA-Z_][\w.]*)\s*\)$/s.exec(q))) {
    return get(`loki/api/v1/label/${encodeURIComponent(m[2]!)}/values`, m[1] ? { query: m[1] } : {});
  }
  throw new Error(`Loki variable query "${q}" is not supported: use label_names() or label_values([stream selector,] label)`);
}
