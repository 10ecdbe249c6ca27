import { RE2JS } from 're2js';
import { HeimdallError } from './errors.ts';
import { outputTooLong } from './go-template-error.ts';

/**
 * Go `regexp` (RE2) semantics for every regular expression a query or a config names, in one place.
 * JavaScript's RegExp is not RE2 (it has backreferences and lookaround, lacks `\z`, `\Q..\E` and `(?i)`
 * inline flags), so every pattern goes through re2js, a port of RE2 with Go's syntax and error texts.
 *
 * Two matching modes exist upstream and both are here:
 * - anchored, dot-all: Prometheus and Loki label matchers and Prometheus' `label_replace` (`^(?s:re)$`);
 *   the pattern is parsed on its own first, so `a)|(b` is an error, not an escape from the anchors;
 * - unanchored search: Loki line filters (`|~`), the `regexp` parser, template functions.
 */

/** A compiled matcher: call it with the label's value ('' when the label is absent). */
export type ValuePredicate = (value: string) => boolean;

/** The code of the error an invalid RE2 pattern raises, so callers recognise it without reading its text. */
export const INVALID_REGEXP_CODE = 'invalid_regexp';

/**
 * A `bad_data` error with Go's `error parsing regexp: <what>: \`<where>\`` wording and code
 * {@link INVALID_REGEXP_CODE}. `err` is the compiler's error; its text is kept when it already has Go's form.
 */
export function invalidRegexpError(pattern: string, err: unknown): HeimdallError {
  const msg = err instanceof Error ? err.message : String(err);
  const text = msg.startsWith('error parsing regexp: ') ? msg : `error parsing regexp: ${msg}: \`${pattern}\``;
  return new HeimdallError('bad_data', text, { code: INVALID_REGEXP_CODE, cause: err });
}

/** Options of {@link compileRe2}. */
export interface Re2Options {
  /** `.` matches `\n` too (Go's `(?s)`, `syntax.DotNL`). Off by default, as in Go's `regexp.Compile`. */
  readonly dotAll?: boolean;
}

/**
 * Compiles `pattern` with Go's RE2 syntax. The result searches with `test`/`matcher(s).find()` (unanchored)
 * and matches whole strings with `matches`/`matcher(s).matches()` (anchored); the caller picks the mode
 * upstream uses. Throws a {@link HeimdallError} `bad_data` with code {@link INVALID_REGEXP_CODE} and Go's
 * message (naming the pattern as written, without flags) when the syntax is invalid.
 */
export function compileRe2(pattern: string, options: Re2Options = {}): RE2JS {
  try {
    return options.dotAll === true ? RE2JS.compile(pattern, RE2JS.DOTALL) : RE2JS.compile(pattern);
  } catch (err) {
    if (options.dotAll !== true) throw invalidRegexpError(pattern, err);
    // re2js names the pattern with its `(?s)` flag prefix; Go names it as the user wrote it.
    try {
      RE2JS.compile(pattern);
    } catch (plain) {
      throw invalidRegexpError(pattern, plain);
    }
    throw invalidRegexpError(pattern, err);
  }
}

/**
 * Compiles a label-matcher regular expression with Prometheus semantics: RE2, fully anchored, dot-all
 * (Prometheus' FastRegexMatcher parses `re` alone with `syntax.Perl|syntax.DotNL`, then matches
 * `^(?s:re)$`). Common shapes (literals, `.*`, `.+`, alternations of literals, literal prefixes) skip the
 * regex engine, as Prometheus' do. Throws as {@link compileRe2} does.
 */
export function compileAnchoredRegex(pattern: string): ValuePredicate {
  let pred = compiledAnchored.get(pattern);
  if (pred === undefined) {
    pred = compileAnchoredUncached(pattern);
    // A bounded memo, emptied when full: a query compiles each matcher two or three times (the parser's
    // empty-selector check, the index, the evaluator), and dashboards repeat the same selectors; re2js
    // compiling a pattern cost more than matching it against a few hundred label values.
    if (compiledAnchored.size >= MAX_COMPILED) compiledAnchored.clear();
    compiledAnchored.set(pattern, pred);
  }
  return pred;
}

const MAX_COMPILED = 1024;
const compiledAnchored = new Map<string, ValuePredicate>();

function compileAnchoredUncached(pattern: string): ValuePredicate {
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
  const re = compileRe2(pattern, { dotAll: true });
  return (v) => re.matches(v);
}

/**
 * The RE2 text whose full match (DuckDB's `regexp_full_match`, C++ RE2) has the semantics of
 * {@link compileAnchoredRegex}. Validates `pattern` first (throwing as {@link compileRe2}), so the
 * `(?s:...)` wrapper cannot be escaped by an unbalanced pattern.
 */
export function anchoredRegexSource(pattern: string): string {
  compileRe2(pattern);
  return `(?s:${pattern})`;
}

const META = /[\\^$.|?*+()[\]{}]/;
const META_CHARS = new Set(['\\', '^', '$', '.', '|', '?', '*', '+', '(', ')', '[', ']', '{', '}']);

/**
 * The literal prefix of each top-level alternative of an anchored RE2 pattern, or null when some
 * alternative has none or the pattern uses anything this scan does not understand (flags, groups, classes
 * at the start). A prefix never includes a character that a following quantifier makes optional or
 * repeats. Every string the pattern matches starts with one of the prefixes, so an index can test only
 * values with those prefixes (as Prometheus' postings lookup does).
 */
export function literalPrefixes(pattern: string): string[] | null {
  // `\Q...\E` quotes brackets and bars, which this scan would misread.
  if (pattern.includes('\\Q')) return null;
  const alternatives = topLevelAlternatives(pattern);
  if (alternatives === null) return null;
  const out: string[] = [];
  for (const alt of alternatives) {
    const prefix = leadingLiteral(alt);
    if (prefix === '') return null;
    out.push(prefix);
  }
  return out;
}

/**
 * The literal text every unanchored match of `pattern` must contain, taken from its start (conservatively:
 * no flags, no alternation anywhere, at least 3 characters), or undefined. `abc+` yields `ab`: a
 * quantified last character is not required as written. A substring test on it rejects most non-matching
 * lines far more cheaply than the regex engine.
 */
export function requiredLiteralPrefix(pattern: string): string | undefined {
  if (pattern.startsWith('(?') || pattern.includes('|')) return undefined;
  const lit = leadingLiteral(pattern.startsWith('^') ? pattern.slice(1) : pattern);
  return lit.length >= 3 ? lit : undefined;
}

/**
 * Splits a pattern at its top-level `|`, skipping groups and character classes (where `|` is literal), or
 * returns null when the brackets do not balance as this scan understands them.
 */
function topLevelAlternatives(pattern: string): string[] | null {
  const out: string[] = [];
  let start = 0;
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === '\\') i++;
    else if (c === '[') {
      i = classEnd(pattern, i);
      if (i < 0) return null;
    } else if (c === '(') {
      i = groupEnd(pattern, i);
      if (i < 0) return null;
    } else if (c === ')') return null;
    else if (c === '|') {
      out.push(pattern.slice(start, i));
      start = i + 1;
    }
  }
  out.push(pattern.slice(start));
  return out;
}

/**
 * The index of the `)` closing the group that opens at `open`, or -1; escapes, nested groups and character
 * classes (where brackets are literal) are skipped.
 */
export function groupEnd(pattern: string, open: number): number {
  let depth = 0;
  for (let i = open; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === '\\') i++;
    else if (c === '[') {
      i = classEnd(pattern, i);
      if (i < 0) return -1;
    } else if (c === '(') depth++;
    else if (c === ')' && --depth === 0) return i;
  }
  return -1;
}

/** The index of the `]` closing the class that opens at `open`, or -1. A `]` first in the class is literal. */
export function classEnd(pattern: string, open: number): number {
  let i = open + 1;
  if (pattern[i] === '^') i++;
  if (pattern[i] === ']') i++;
  for (; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === '\\') i++;
    else if (c === '[' && pattern[i + 1] === ':') {
      const close = pattern.indexOf(':]', i + 2);
      if (close < 0) return -1;
      i = close + 1;
    } else if (c === ']') return i;
  }
  return -1;
}

/** The literal characters `alt` starts with, stopping before anything a quantifier makes optional. */
function leadingLiteral(alt: string): string {
  let prefix = '';
  for (let i = 0; i < alt.length; i++) {
    let ch = alt[i]!;
    let next = i + 1;
    if (ch === '\\') {
      const e = alt[i + 1];
      // Only escaped punctuation is a literal (\d, \w, \pL, \Q ... are not).
      if (e === undefined || /[A-Za-z0-9]/.test(e)) break;
      ch = e;
      next = i + 2;
    } else if (META_CHARS.has(ch)) {
      break;
    }
    const q = alt[next];
    if (q === '*' || q === '?' || q === '{') break;
    prefix += ch;
    if (q === '+') break;
    i = next - 1;
  }
  return prefix;
}

/** Go's Regexp.ReplaceAllString expansion: `$1`, `${1}`, `$name`, `${name}`, `$$`. */
export function expandReplacement(template: string, groups: (string | null)[], names: Record<string, number>): string {
  return template.replace(/\$(\$|\{([A-Za-z0-9_]+)\}|([A-Za-z0-9_]+))/g, (_m, all: string, braced?: string, bare?: string) => {
    if (all === '$') return '$';
    const name = braced ?? bare ?? '';
    const idx = /^\d+$/.test(name) ? Number(name) : names[name];
    if (idx === undefined) return '';
    return groups[idx] ?? '';
  });
}

/**
 * Replaces every match of `re` in `s` (Go's ReplaceAllString), expanding `$n` unless `literal`. Throws once
 * the output passes `maxBytes` characters.
 */
export function regexReplaceAll(re: RE2JS, s: string, repl: string, literal: boolean, maxBytes = Infinity): string {
  const m = re.matcher(s);
  const names = re.namedGroups();
  let out = '';
  let last = 0;
  let pos = 0;
  let prevEnd = -1;
  let guard = 0;
  while (pos <= s.length && m.find(pos) && ++guard < 1_000_000) {
    const start = m.start();
    const end = m.end();
    // Go ignores an empty match that abuts the previous match.
    if (start === end && start === prevEnd) {
      pos = start + 1;
      continue;
    }
    out += s.slice(last, start);
    if (literal) out += repl;
    else {
      const groups: (string | null)[] = [];
      for (let g = 0; g <= m.groupCount(); g++) groups.push(m.group(g));
      out += expandReplacement(repl, groups, names);
    }
    if (out.length > maxBytes) throw new Error(outputTooLong(maxBytes));
    last = end;
    prevEnd = end;
    pos = start === end ? end + 1 : end;
  }
  return out + s.slice(last);
}
