import { quoteString } from '../columnar/index.ts';
import { anchoredRegexSource } from '../model/index.ts';
import type { SpanCondition } from '../storage/index.ts';
import { RESOURCE_COLUMNS, SPAN_COLUMNS } from './block-columns.ts';
import type { DedicatedColumn } from './block-columns.ts';
import type { ListKeys } from './block-index-cache.ts';

/** SQL expressions for one attribute value's cells (absent cells cannot hold the value). */
interface Cells {
  readonly s?: string;
  readonly n?: string;
  readonly b?: string;
  readonly a?: string;
}

const KIND_NAMES = ['unspecified', 'internal', 'server', 'client', 'producer', 'consumer'];
const STATUS_NAMES = ['unset', 'ok', 'error'];

/**
 * The select prefilter as SQL over a block's columns, with the semantics of `compileConditions`
 * (span-condition.ts): it may over-match, never under-match, so whatever it cannot express exactly (arrays,
 * order comparisons on text, unknown intrinsics) is `TRUE`.
 *
 * With `listKeys` (every key the span and resource lists of the blocks read hold), a key absent from them is
 * looked for in its dedicated column only: the per-row list scans are most of a search's cost, and a block's
 * lists rarely hold a dedicated key (only a value of another type, or a repeated key).
 */
export function conditionsSql(conditions: readonly SpanCondition[], match: 'all' | 'any', listKeys?: ListKeys): string {
  const parts = conditions.map((c) => `(${conditionSql(c, listKeys)})`);
  return parts.join(match === 'all' ? ' AND ' : ' OR ');
}

function conditionSql(c: SpanCondition, keys: ListKeys | undefined): string {
  const span = (): string => scopedSql(c, SPAN_COLUMNS, 'span_attrs', keys?.span);
  const resource = (): string => scopedSql(c, RESOURCE_COLUMNS, 'resource_attrs', keys?.resource);
  switch (c.scope) {
    case 'span':
      return span();
    case 'resource':
      return resource();
    case 'any':
      return `${span()} OR ${resource()}`;
    case 'instrumentation':
      return listSql(c, 'scope_attrs');
    case 'event':
      return `len(list_filter(coalesce(events, []), lambda e: ${listSql(c, 'e.attrs')})) > 0`;
    case 'link':
      return `len(list_filter(coalesce(links, []), lambda l: ${listSql(c, 'l.attrs')})) > 0`;
    case 'intrinsic':
      return intrinsicSql(c);
  }
}

function scopedSql(c: SpanCondition, columns: readonly DedicatedColumn[], list: string, listKeys: ReadonlySet<string> | undefined): string {
  const col = columns.find((d) => d.key === c.name);
  const inList = listKeys === undefined || listKeys.has(c.name) ? listSql(c, list) : 'FALSE';
  if (!col) return inList;
  const cells: Cells = col.type === 'VARCHAR' ? { s: col.column } : { n: `${col.column}::DOUBLE` };
  return `(${col.column} IS NOT NULL AND (${valueSql(c, cells)})) OR ${inList}`;
}

function listSql(c: SpanCondition, list: string): string {
  return `len(list_filter(coalesce(${list}, []), lambda x: x.k = ${quoteString(c.name)} AND (${valueSql(c, { s: 'x.s', n: 'x.n', b: 'x.b', a: 'x.a' })}))) > 0`;
}

function intrinsicSql(c: SpanCondition): string {
  switch (c.name) {
    case 'name':
    case 'span:name':
      return valueSql(c, { s: 'name' });
    case 'statusMessage':
    case 'span:statusMessage':
      return valueSql(c, { s: "coalesce(status_message, '')" });
    case 'status':
    case 'span:status':
      return enumSql(c, STATUS_NAMES, 'status_code');
    case 'kind':
    case 'span:kind':
      return enumSql(c, KIND_NAMES, 'kind');
    default:
      return 'TRUE';
  }
}

function enumSql(c: SpanCondition, names: readonly string[], column: string): string {
  if (typeof c.value === 'number') return valueSql(c, { n: `${column}::DOUBLE` });
  if (typeof c.value === 'string' && names.includes(c.value)) {
    const name = `[${names.map(quoteString).join(', ')}][${column} + 1]`;
    return valueSql(c, { s: name });
  }
  return 'TRUE';
}

/** Whether one present value (one of `cells` non-null) may pass the condition's test. */
function valueSql(c: SpanCondition, cells: Cells): string {
  const want = c.value;
  // An array attribute: the JavaScript test looks at its elements; here it may match.
  const array = cells.a ? `${cells.a} IS NOT NULL` : undefined;
  const or = (sql: string | undefined): string => [sql, array].filter((x) => x !== undefined).join(' OR ') || 'FALSE';
  if (c.op === 'exists') return 'TRUE';
  if (c.op === '=~' || c.op === '!~') {
    if (typeof want !== 'string') return 'TRUE';
    let source: string;
    try {
      source = anchoredRegexSource(want);
    } catch {
      // An invalid pattern is the query engine's to report; storage cannot rule anything out.
      return 'TRUE';
    }
    if (!cells.s) return or(undefined);
    return or(`${cells.s} IS NOT NULL AND ${c.op === '!~' ? 'NOT ' : ''}regexp_full_match(${cells.s}, ${quoteString(source)})`);
  }
  if (want === undefined) return 'TRUE';
  const op = c.op === '!=' ? '<>' : c.op;
  if (typeof want === 'number') {
    if (!cells.n) return or(undefined);
    const lit = Number.isFinite(want) ? String(want) : `'${String(want)}'::DOUBLE`;
    return or(`${cells.n} IS NOT NULL AND ${cells.n} ${op} ${lit}`);
  }
  const cell = typeof want === 'string' ? cells.s : cells.b;
  if (!cell) return or(undefined);
  // Go orders strings by bytes, JavaScript by UTF-16 units: order comparisons on text cannot rule out.
  if (c.op !== '=' && c.op !== '!=') return or(`${cell} IS NOT NULL`);
  const lit = typeof want === 'string' ? quoteString(want) : String(want);
  return or(`${cell} IS NOT NULL AND ${cell} ${op} ${lit}`);
}
