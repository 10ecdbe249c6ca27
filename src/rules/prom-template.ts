import { GoTemplate, compileRe2, goSprintf, parsePromDuration, printValue, regexReplaceAll } from '../model/index.ts';
import type { GoValue, TemplateFunc } from '../model/index.ts';

/**
 * Prometheus' template language for alerting-rule labels and annotations (`template/template.go`): Go's
 * text/template (the shared interpreter in model/) with `$labels`, `$externalLabels`, `$externalURL` and
 * `$value` defined, `missingkey=zero`, and Prometheus' functions (`humanize*`, `query`, `first`, `label`,
 * `value`, `sortByLabel`, `match`, `reReplaceAll`, `title`, `toUpper`, ...).
 */

/** One sample of a `query` result as templates see it: `.Labels` and `.Value`. */
export interface TemplateSample {
  readonly Labels: Record<string, string>;
  readonly Value: number;
}

/** Runs an instant PromQL (or LogQL) query at the evaluation time, for the `query` template function. */
export type TemplateQuery = (expr: string) => Promise<TemplateSample[]>;

/** What a rule's templates are expanded with. */
export interface TemplateData {
  readonly labels: Readonly<Record<string, string>>;
  readonly externalLabels: Readonly<Record<string, string>>;
  readonly externalUrl: string;
  readonly value: number;
}

const DEFS = '{{$labels := .Labels}}{{$externalLabels := .ExternalLabels}}{{$externalURL := .ExternalURL}}{{$value := .Value}}';

/** How many rounds of `query` calls a template may chain (a query whose text comes from another's result). */
const MAX_QUERY_ROUNDS = 3;

/** The parse error of a label or annotation template, or undefined (rulefmt checks templates on load). */
export function checkTemplate(name: string, text: string): string | undefined {
  try {
    new GoTemplate(name, DEFS + text, promTemplateFunctions(() => []));
    return undefined;
  } catch (err) {
    return (err as Error).message;
  }
}

/**
 * Expands `text` as Prometheus does for an alert's label or annotation. A template that fails renders as
 * Prometheus renders it: `<error expanding template: ...>`. `query` calls run through `query` (asynchronously:
 * the template runs once to learn its queries, then again with their answers).
 */
export async function expandTemplate(name: string, text: string, data: TemplateData, query: TemplateQuery): Promise<string> {
  if (!text.includes('{{')) return text;
  const answers = new Map<string, TemplateSample[]>();
  const goData: GoValue = {
    Labels: { ...data.labels },
    ExternalLabels: { ...data.externalLabels },
    ExternalURL: data.externalUrl,
    Value: data.value,
  };
  try {
    for (let round = 0; ; round++) {
      const pending = new Set<string>();
      const template = new GoTemplate(
        name,
        DEFS + text,
        promTemplateFunctions((expr) => {
          const known = answers.get(expr);
          if (known === undefined) pending.add(expr);
          return known ?? [];
        }, data.externalUrl),
      );
      const out = template.execute(goData);
      if (pending.size === 0 || round >= MAX_QUERY_ROUNDS) return out;
      for (const expr of pending) answers.set(expr, await query(expr));
    }
  } catch (err) {
    return `<error expanding template: ${(err as Error).message}>`;
  }
}

function num(v: GoValue): number {
  if (typeof v === 'number') return v;
  if (typeof v === 'bigint') return Number(v);
  if (typeof v === 'string') {
    const n = Number(v.trim());
    if (Number.isNaN(n) && v.trim() !== 'NaN') throw new Error(`strconv.ParseFloat: parsing ${JSON.stringify(v)}: invalid syntax`);
    return n;
  }
  throw new Error(`can't convert ${printValue(v)} to float`);
}

const g4 = (v: number, suffix = ''): string => goSprintf('%.4g', [v]) + suffix;

function humanize(v: number): string {
  if (v === 0 || !Number.isFinite(v)) return g4(v);
  if (Math.abs(v) >= 1) {
    let prefix = '';
    for (const p of ['k', 'M', 'G', 'T', 'P', 'E', 'Z', 'Y']) {
      if (Math.abs(v) < 1000) break;
      prefix = p;
      v /= 1000;
    }
    return g4(v, prefix);
  }
  let prefix = '';
  for (const p of ['m', 'u', 'n', 'p', 'f', 'a', 'z', 'y']) {
    if (Math.abs(v) >= 1) break;
    prefix = p;
    v *= 1000;
  }
  return g4(v, prefix);
}

function humanize1024(v: number): string {
  if (Math.abs(v) <= 1 || !Number.isFinite(v)) return g4(v);
  let prefix = '';
  for (const p of ['ki', 'Mi', 'Gi', 'Ti', 'Pi', 'Ei', 'Zi', 'Yi']) {
    if (Math.abs(v) < 1024) break;
    prefix = p;
    v /= 1024;
  }
  return g4(v, prefix);
}

function humanizeDuration(v: number): string {
  if (!Number.isFinite(v)) return g4(v);
  if (v === 0) return g4(v, 's');
  if (Math.abs(v) >= 1) {
    const sign = v < 0 ? '-' : '';
    v = Math.abs(v);
    const total = Math.trunc(v);
    const seconds = total % 60;
    const minutes = Math.trunc(total / 60) % 60;
    const hours = Math.trunc(total / 3600) % 24;
    const days = Math.trunc(total / 86400);
    if (days !== 0) return `${sign}${days}d ${hours}h ${minutes}m ${seconds}s`;
    if (hours !== 0) return `${sign}${hours}h ${minutes}m ${seconds}s`;
    if (minutes !== 0) return `${sign}${minutes}m ${seconds}s`;
    return `${sign}${g4(v)}s`;
  }
  let prefix = '';
  for (const p of ['m', 'u', 'n', 'p', 'f', 'a', 'z', 'y']) {
    if (Math.abs(v) >= 1) break;
    prefix = p;
    v *= 1000;
  }
  return g4(v, `${prefix}s`);
}

function sample(v: GoValue): TemplateSample {
  if (v && typeof v === 'object' && !Array.isArray(v) && !(v instanceof Date) && 'Labels' in v) return v as unknown as TemplateSample;
  throw new Error(`expected a sample, got ${printValue(v)}`);
}

/** Prometheus' template functions; `query` answers from what the caller already fetched. */
export function promTemplateFunctions(query: (expr: string) => TemplateSample[], externalUrl = ''): Record<string, TemplateFunc> {
  return {
    query: (q) => query(String(q)) as unknown as GoValue,
    first: (list) => {
      if (!Array.isArray(list) || list.length === 0) throw new Error('first() called on vector with no elements');
      return list[0]!;
    },
    label: (name, s) => sample(s).Labels[String(name)] ?? '',
    value: (s) => sample(s).Value,
    strvalue: (s) => sample(s).Labels.__value__ ?? '',
    sortByLabel: (name, list) => {
      if (!Array.isArray(list)) return list;
      const key = String(name);
      return [...list].sort((a, b) => {
        const x = sample(a).Labels[key] ?? '';
        const y = sample(b).Labels[key] ?? '';
        return x < y ? -1 : x > y ? 1 : 0;
      });
    },
    humanize: (v) => humanize(num(v)),
    humanize1024: (v) => humanize1024(num(v)),
    humanizeDuration: (v) => humanizeDuration(num(v)),
    humanizePercentage: (v) => g4(num(v) * 100, '%'),
    humanizeTimestamp: (v) => {
      const n = num(v);
      if (!Number.isFinite(n)) return g4(n);
      return printValue(new Date(n * 1000));
    },
    toTime: (v) => new Date(num(v) * 1000),
    toDuration: (v) => `${num(v)}s`,
    parseDuration: (v) => {
      const ns = parsePromDuration(String(v));
      if (ns === undefined) throw new Error(`not a valid duration string: ${JSON.stringify(String(v))}`);
      return ns / 1e9;
    },
    title: (s) => String(s).replace(/(^|[^\p{L}\p{N}'])(\p{L})/gu, (_m, a: string, b: string) => a + b.toUpperCase()),
    toUpper: (s) => String(s).toUpperCase(),
    toLower: (s) => String(s).toLowerCase(),
    match: (re, s) => compileRe2(String(re)).matcher(String(s)).find(),
    reReplaceAll: (re, repl, s) => regexReplaceAll(compileRe2(String(re)), String(s), String(repl), false),
    safeHtml: (s) => String(s),
    stripPort: (s) => {
      const host = String(s);
      const m = /^\[(.*)\]:\d*$/.exec(host) ?? /^([^:]*):\d*$/.exec(host);
      return m ? m[1]! : host;
    },
    stripDomain: (s) => {
      const host = String(s);
      const m = /^(.*?)(:\d+)?$/.exec(host)!;
      if (/^[\d.]+$/.test(m[1]!) || m[1]!.includes(':')) return host;
      return m[1]!.split('.')[0]! + (m[2] ?? '');
    },
    urlUnescape: (s) => decodeURIComponent(String(s)),
    externalURL: () => externalUrl,
    pathPrefix: () => {
      try {
        return new URL(externalUrl).pathname.replace(/\/$/, '');
      } catch {
        return '';
      }
    },
    args: (...a) => Object.fromEntries(a.map((v, i) => [`arg${i}`, v])),
    graphLink: (expr) => `/graph?g0.expr=${encodeURIComponent(String(expr))}&g0.tab=0`,
    tableLink: (expr) => `/graph?g0.expr=${encodeURIComponent(String(expr))}&g0.tab=1`,
    now: () => Date.now() / 1000,
  };
}
