import { RE2JS } from 're2js';
import { quoteString } from '../columnar/index.ts';
import { compileMatcher, invalidRegexpError } from '../model/index.ts';
import type { LabelMatcher } from '../model/index.ts';
import type { LineFilter } from '../storage/index.ts';

/**
 * SQL for a stream matcher over `log_streams.labels` (a MAP). Semantics match {@link compileMatcher}: RE2,
 * fully anchored, dot-all, a missing label reads as ''. The matcher is compiled first so an invalid regex
 * fails with the same message the query engines use.
 */
export function matcherSql(m: LabelMatcher): string {
  compileMatcher(m);
  const v = `coalesce(labels[${quoteString(m.name)}], '')`;
  switch (m.op) {
    case '=':
      return `${v} = ${quoteString(m.value)}`;
    case '!=':
      return `${v} <> ${quoteString(m.value)}`;
    case '=~':
      return regexSql(v, m.value, false);
    case '!~':
      return regexSql(v, m.value, true);
  }
}

function regexSql(v: string, pattern: string, negate: boolean): string {
  if (pattern === '.*') return negate ? 'FALSE' : 'TRUE';
  if (pattern === '.+') return negate ? `${v} = ''` : `${v} <> ''`;
  const sql = `regexp_full_match(${v}, ${quoteString(`(?s:${pattern})`)})`;
  return negate ? `NOT ${sql}` : sql;
}

/** The conjunction of matchers, `TRUE` for none. */
export function matchersSql(matchers: readonly LabelMatcher[]): string {
  return matchers.length === 0 ? 'TRUE' : matchers.map((m) => `(${matcherSql(m)})`).join(' AND ');
}

/**
 * SQL for a line filter over the `line` column with Loki's semantics: `contains` is a byte-substring test,
 * `regexp_matches` an unanchored RE2 search (DuckDB's regex engine is RE2, as Go's is). Invalid patterns are
 * rejected here with Go's `error parsing regexp:` wording.
 */
export function lineFilterSql(f: LineFilter): string {
  switch (f.op) {
    case '|=':
      return f.value === '' ? 'TRUE' : `contains(line, ${quoteString(f.value)})`;
    case '!=':
      return f.value === '' ? 'FALSE' : `NOT contains(line, ${quoteString(f.value)})`;
    case '|~':
    case '!~': {
      checkRegex(f.value);
      const sql = `regexp_matches(line, ${quoteString(f.value)})`;
      if (f.op === '!~') return `NOT ${sql}`;
      // A literal every match must contain is tested first: a substring scan rejects most lines far more
      // cheaply than the regex engine, and the regex still decides for the rest (same result).
      const literal = requiredPrefix(f.value);
      return literal === undefined ? sql : `contains(line, ${quoteString(literal)}) AND ${sql}`;
    }
  }
}

/** The conjunction of line filters, `TRUE` for none. */
export function lineFiltersSql(filters: readonly LineFilter[] | undefined): string {
  if (!filters || filters.length === 0) return 'TRUE';
  return filters.map((f) => `(${lineFilterSql(f)})`).join(' AND ');
}

const META = new Set(['\\', '^', '$', '.', '|', '?', '*', '+', '(', ')', '[', ']', '{', '}']);

/**
 * The literal text an unanchored match of `pattern` must contain, taken from its start (conservatively: no
 * flags, no alternation anywhere, at least 3 characters), or undefined. `abc+` yields `ab`: a quantified last
 * character is not required as written.
 */
export function requiredPrefix(pattern: string): string | undefined {
  if (pattern.startsWith('(?') || pattern.includes('|')) return undefined;
  let i = pattern.startsWith('^') ? 1 : 0;
  let lit = '';
  for (; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (META.has(c)) {
      if ((c === '?' || c === '*' || c === '{') && lit.length > 0) lit = lit.slice(0, -1);
      break;
    }
    lit += c;
  }
  return lit.length >= 3 ? lit : undefined;
}

function checkRegex(pattern: string): void {
  try {
    RE2JS.compile(pattern);
  } catch (err) {
    throw invalidRegexpError(pattern, err);
  }
}

/** A list of SQL string literals, for `read_parquet([...])`. */
export function stringList(values: readonly string[]): string {
  return `[${values.map(quoteString).join(', ')}]`;
}
