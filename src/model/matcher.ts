import { RE2JS } from 're2js';
import { HeimdallError } from './errors.ts';

/** The four label matcher operators shared by PromQL, LogQL stream selectors and profile selectors. */
export type MatchOp = '=' | '!=' | '=~' | '!~';

/**
 * One label matcher. Regular-expression matchers are fully anchored and follow RE2 syntax with `.` matching
 * newlines (`^(?s:re)$`), as in Prometheus and Loki; a missing label matches as the empty string.
 */
export interface LabelMatcher {
  readonly op: MatchOp;
  readonly name: string;
  readonly value: string;
}

/** A compiled matcher: call it with the label's value ('' when the label is absent). */
export type ValuePredicate = (value: string) => boolean;

const META = /[\\^$.|?*+()[\]{}]/;

/**
 * Compiles a regular expression with Prometheus semantics: RE2, fully anchored, dot-all. Common shapes
 * (literals, `.*`, `.+`, alternations of literals, literal prefixes) skip the regex engine entirely.
 * Throws `Error` naming the pattern when the syntax is invalid.
 */
export function compileAnchoredRegex(pattern: string): ValuePredicate {
  if (pattern === '.*') return () => true;
  if (pattern === '.+') return (v) => v.length > 0;
  if (!META.test(pattern)) return (v) => v === pattern;
  const alternatives = pattern.split('|');
  if (alternatives.length > 1 && alternatives.every((a) => !META.test(a))) {
    const set = new Set(alternatives);
    return (v) => set.has(v);
  }
  if (pattern.endsWith('.*') && !META.test(pattern.slice(0, -2))) {
    const prefix = pattern.slice(0, -2);
    return (v) => v.startsWith(prefix);
  }
  let re: RE2JS;
  try {
    re = RE2JS.compile(`(?s:${pattern})`);
  } catch (err) {
    throw invalidRegexpError(pattern, err);
  }
  return (v) => re.matches(v);
}

/** Compiles a matcher into a predicate over the label's value. */
export function compileMatcher(m: LabelMatcher): ValuePredicate {
  switch (m.op) {
    case '=':
      return (v) => v === m.value;
    case '!=':
      return (v) => v !== m.value;
    case '=~':
      return compileAnchoredRegex(m.value);
    case '!~': {
      const pred = compileAnchoredRegex(m.value);
      return (v) => !pred(v);
    }
  }
}

/** Whether a matcher matches the empty string (and so also series that lack the label). */
export function matchesEmpty(m: LabelMatcher): boolean {
  return compileMatcher(m)('');
}

/** The code of the error an invalid RE2 pattern raises, so callers recognise it without reading its text. */
export const INVALID_REGEXP_CODE = 'invalid_regexp';

/** A `bad_data` error with Go's `error parsing regexp: ...` wording and code {@link INVALID_REGEXP_CODE}. */
export function invalidRegexpError(pattern: string, err: unknown): HeimdallError {
  return new HeimdallError('bad_data', `error parsing regexp: ${(err as Error).message}: \`${pattern}\``, { code: INVALID_REGEXP_CODE, cause: err });
}
