import assert from 'node:assert/strict';
import { test } from 'node:test';
import { HeimdallError } from './errors.ts';
import { INVALID_REGEXP_CODE, anchoredRegexSource, compileAnchoredRegex, compileRe2, literalPrefixes, requiredLiteralPrefix } from './re2.ts';

/**
 * One row per behaviour. `anchored` rows go through compileAnchoredRegex (Prometheus/Loki label matchers:
 * `^(?s:re)$`), `search` rows through compileRe2(...).test (Loki line filters: unanchored, `.` stops at
 * `\n`). `matches` lists inputs that match, `rejects` inputs that do not; `error` is the start of Go's
 * message for an invalid pattern. Expectations were checked against Go 1.26's regexp (Prometheus'
 * FastRegexMatcher construction) and follow upstream tests (prometheus/model/labels/regexp_test.go).
 */
const ROWS: readonly {
  readonly pattern: string;
  readonly mode?: 'anchored' | 'search';
  readonly matches?: readonly string[];
  readonly rejects?: readonly string[];
  readonly error?: string;
}[] = [
  // Fast paths and their regex-engine equivalents.
  { pattern: '', matches: [''], rejects: ['a'] },
  { pattern: 'foo', matches: ['foo'], rejects: ['foob', 'xfoo', 'FOO'] },
  { pattern: '.*', matches: ['', 'a\nb'] },
  { pattern: '.+', matches: ['\n'], rejects: [''] },
  { pattern: 'foo|bar|', matches: ['foo', 'bar', ''], rejects: ['foobar'] },
  { pattern: 'foo.*', matches: ['foo', 'foo\nbar'], rejects: ['xfoo'] },
  { pattern: '(foo|bar)', matches: ['foo', 'bar'], rejects: ['foobar', 'fo'] },
  { pattern: '.*foo', matches: ['xfoo', '\nfoo'], rejects: ['foox'] },
  { pattern: '(prometheus|api_prom)_api_v1_.+', matches: ['prometheus_api_v1_label'], rejects: ['api_prom_api_v1_'] },
  { pattern: '10\\.0\\.(1|2)\\.+', matches: ['10.0.1.', '10.0.2...'], rejects: ['10.0.3.', '10x0.1.'] },
  { pattern: '\\d{3}', matches: ['123'], rejects: ['12', '1234', '١٢٣'] },
  // Anchors inside an anchored pattern, and alternations that must not escape the anchors.
  { pattern: '^foo$', matches: ['foo'], rejects: ['foo\n'] },
  { pattern: 'a|b.c', matches: ['a', 'b\nc'], rejects: ['ab.c', 'xa'] },
  // Flags.
  { pattern: '(?i)foo', matches: ['foo', 'FOO', 'fOo'], rejects: ['fo'] },
  { pattern: '(?i)k', matches: ['K', '\u212a'] },
  { pattern: '(?i)s', matches: ['ſ'] },
  { pattern: '(?-s)a.b', matches: ['axb'], rejects: ['a\nb'] },
  { pattern: '(?s)a.b', mode: 'search', matches: ['a\nb'] },
  { pattern: 'a.b', mode: 'search', matches: ['xaxbx'], rejects: ['a\nb'] },
  { pattern: '(?m)^b$', mode: 'search', matches: ['a\nb\nc'], rejects: ['ab'] },
  { pattern: '(?U)a+', matches: ['aaa'] },
  // Unicode classes, \z, \Q..\E, POSIX classes, octal and hex escapes.
  { pattern: '\\pL+', matches: ['héllo', 'Ωmega'], rejects: ['a1'] },
  { pattern: '\\p{Greek}+', matches: ['λόγος'], rejects: ['logos'] },
  { pattern: '\\PL', matches: ['1'], rejects: ['a'] },
  { pattern: 'abc\\z', mode: 'search', matches: ['xabc'], rejects: ['abc\n'] },
  { pattern: '\\Qa.b|c\\E', matches: ['a.b|c'], rejects: ['axb|c', 'c'] },
  { pattern: '[[:alpha:]]+', matches: ['abc'], rejects: ['ab1'] },
  { pattern: '\\x{1F600}', matches: ['😀'] },
  { pattern: '.', matches: ['😀', 'é'], rejects: ['ab'] },
  { pattern: '\\101', matches: ['A'] },
  { pattern: '(?P<x>a)(?<y>b)', matches: ['ab'] },
  // Not RE2: backreferences, lookaround, other engines' escapes; and RE2's own limits.
  { pattern: '(a)\\1', error: 'error parsing regexp: invalid escape sequence: `\\1`' },
  { pattern: '(?=a)', error: 'error parsing regexp: invalid or unsupported Perl syntax: `(?=`' },
  { pattern: '(?!a)', error: 'error parsing regexp: invalid or unsupported Perl syntax: `(?!`' },
  { pattern: '(?<=a)b', error: 'error parsing regexp: invalid named capture: `(?<=a)b`' },
  { pattern: '\\Z', error: 'error parsing regexp: invalid escape sequence: `\\Z`' },
  { pattern: '\\C', error: 'error parsing regexp: invalid escape sequence: `\\C`' },
  { pattern: '\\u0041', error: 'error parsing regexp: invalid escape sequence: `\\u`' },
  { pattern: '\\p{Foo}', error: 'error parsing regexp: invalid character class range: `\\p{Foo}`' },
  { pattern: 'a{1001}', error: 'error parsing regexp: invalid repeat count: `{1001}`' },
  { pattern: 'a**', error: 'error parsing regexp: invalid nested repetition operator: `**`' },
  { pattern: '[z-a]', error: 'error parsing regexp: invalid character class range: `z-a`' },
  // Parsed alone, as Prometheus does: an unbalanced pattern cannot break out of the `^(?s:...)$` wrapper.
  { pattern: 'a)|(b', error: 'error parsing regexp: unexpected ): `a)|(b`' },
  { pattern: '(a', error: 'error parsing regexp: missing closing ): `(a`' },
  { pattern: '(a', mode: 'search', error: 'error parsing regexp: missing closing ): `(a`' },
];

test('RE2 compilation follows Go regexp semantics (anchored matchers, unanchored search, errors)', () => {
  for (const row of ROWS) {
    const mode = row.mode ?? 'anchored';
    const compile = (): ((v: string) => boolean) => {
      if (mode === 'anchored') return compileAnchoredRegex(row.pattern);
      const re = compileRe2(row.pattern);
      return (v) => re.test(v);
    };
    const where = `${mode} ${JSON.stringify(row.pattern)}`;
    if (row.error !== undefined) {
      assert.throws(compile, (err: unknown) => {
        assert.ok(err instanceof HeimdallError, where);
        assert.equal(err.kind, 'bad_data', where);
        assert.equal(err.code, INVALID_REGEXP_CODE, where);
        assert.equal(err.message, row.error, where);
        return true;
      });
      assert.throws(() => anchoredRegexSource(row.pattern), HeimdallError, where);
      continue;
    }
    const pred = compile();
    for (const v of row.matches ?? []) assert.equal(pred(v), true, `${where} should match ${JSON.stringify(v)}`);
    for (const v of row.rejects ?? []) assert.equal(pred(v), false, `${where} should not match ${JSON.stringify(v)}`);
  }
});

test('literal prefixes of anchored alternatives and required literals of searches are conservative', () => {
  const prefixes: [string, string[] | null][] = [
    ['host-0000[0-4].*', ['host-0000']],
    ['/var.*|/home', ['/var', '/home']],
    ['abc', ['abc']],
    ['ab*c', ['a']],
    ['ab+c', ['ab']],
    ['a\\.b.*', ['a.b']],
    ['x|(a|b)c', null],
    ['(?i)abc', null],
    ['.*foo', null],
    ['\\d+', null],
    ['a|', null],
    // A `|` inside a class or a group is not a top-level alternative.
    ['foo[(|]|bar', ['foo', 'bar']],
    ['foo[]|]x|bar', ['foo', 'bar']],
    ['foo(a|b)|bar', ['foo', 'bar']],
    ['foo\\Q|\\Ebar', null],
  ];
  for (const [p, want] of prefixes) assert.deepEqual(literalPrefixes(p), want, p);
  const required: [string, string | undefined][] = [
    ['deadlock detected on table [a-z]+', 'deadlock detected on table '],
    ['^error: x', 'error: x'],
    ['abcd?', 'abc'],
    ['abc+x', 'abc'],
    ['foo\\.bar', 'foo.bar'],
    ['abc*', undefined],
    ['a|b', undefined],
    ['abcd|efgh', undefined],
    ['(?i)abcdef', undefined],
    ['ab', undefined],
    ['abc{2}', undefined],
    ['.*abc', undefined],
  ];
  for (const [p, want] of required) assert.equal(requiredLiteralPrefix(p), want, p);
  assert.equal(anchoredRegexSource('a|b'), '(?s:a|b)');
});
