import { quoteString } from '../columnar/index.ts';
import { anchoredRegexSource, compileMatcher, compileRe2, requiredLiteralPrefix } from '../model/index.ts';
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
  const sql = `regexp_full_match(${v}, ${quoteString(anchoredRegexSource(pattern))})`;
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
      compileRe2(f.value);
      const sql = `regexp_matches(line, ${quoteString(f.value)})`;
      if (f.op === '!~') return `NOT ${sql}`;
      // A literal every match must contain is tested first: a substring scan rejects most lines far more
      // cheaply than the regex engine, and the regex still decides for the rest (same result).
      const literal = requiredLiteralPrefix(f.value);
      return literal === undefined ? sql : `contains(line, ${quoteString(literal)}) AND ${sql}`;
    }
  }
}

/** The conjunction of line filters, `TRUE` for none. */
export function lineFiltersSql(filters: readonly LineFilter[] | undefined): string {
  if (!filters || filters.length === 0) return 'TRUE';
  return filters.map((f) => `(${lineFilterSql(f)})`).join(' AND ');
}

/**
 * A `SELECT <columns>` over block files, one `read_parquet` per block format: `nbytes` (each line's UTF-8
 * byte length) is a stored column from format 2 on and computed from the line for format-1 blocks. The
 * columns may name `stream_id, ts, line, md, nbytes`; DuckDB reads only the ones used further out.
 * `rowRanges` restricts a block to the rows in its ranges (an empty list leaves the block out; the empty
 * string is returned when no block is left).
 */
export function blocksSql(
  blocks: readonly { readonly path: string; readonly format: number }[],
  columns: string,
  rowRanges?: ReadonlyMap<string, readonly (readonly [number, number])[]>,
): string {
  const old = blocks.filter((b) => b.format < 2).map((b) => b.path);
  const current = blocks.filter((b) => b.format >= 2 && !rowRanges?.has(b.path)).map((b) => b.path);
  const out: string[] = [];
  if (current.length > 0) out.push(`SELECT ${columns} FROM (SELECT stream_id, ts, line, md, nbytes FROM read_parquet(${stringList(current)}))`);
  for (const b of blocks) {
    const ranges = b.format >= 2 ? rowRanges?.get(b.path) : undefined;
    if (ranges === undefined || ranges.length === 0) continue;
    // DuckDB skips the row groups outside these `file_row_number` ranges without reading them.
    const where = ranges
      .map(([s, e]) => (e === Infinity ? `file_row_number >= ${s}` : `(file_row_number >= ${s} AND file_row_number < ${e})`))
      .join(' OR ');
    out.push(`SELECT ${columns} FROM (SELECT stream_id, ts, line, md, nbytes FROM read_parquet(${quoteString(b.path)}, file_row_number = true) WHERE ${where})`);
  }
  if (old.length > 0) out.push(`SELECT ${columns} FROM (SELECT stream_id, ts, line, md, strlen(line)::INTEGER AS nbytes FROM read_parquet(${stringList(old)}))`);
  return out.join(' UNION ALL ');
}

/** A list of SQL string literals, for `read_parquet([...])`. */
export function stringList(values: readonly string[]): string {
  return `[${values.map(quoteString).join(', ')}]`;
}
