import assert from 'node:assert/strict';
import { test } from 'node:test';
import { HeimdallError } from './errors.ts';
import type { LabelMatcher } from './matcher.ts';
import { INVALID_REGEXP_CODE } from './re2.ts';
import { INVALID_SELECTOR_CODE, parseSelector } from './selector.ts';
import type { SelectorDialect } from './selector.ts';

const m = (name: string, op: LabelMatcher['op'], value: string): LabelMatcher => ({ name, op, value });

/**
 * One row per rule. `want` is the matcher list (a metric name comes last as `__name__`), `error` a piece of
 * the message and the error code. Cases follow upstream's parser tests (prometheus/promql/parser/parse_test.go
 * vector selectors, loki/pkg/logql/syntax/parser_test.go stream selectors).
 */
const ROWS: readonly {
  readonly text: string;
  readonly dialect: SelectorDialect;
  readonly want?: readonly LabelMatcher[];
  readonly error?: readonly [string, string];
}[] = [
  // Prometheus: metric names, quoted names, __name__.
  { text: 'up', dialect: 'prometheus', want: [m('__name__', '=', 'up')] },
  { text: 'a:b:c{}', dialect: 'prometheus', want: [m('__name__', '=', 'a:b:c')] },
  { text: ' up { job = "api" } ', dialect: 'prometheus', want: [m('job', '=', 'api'), m('__name__', '=', 'up')] },
  { text: '{__name__=~"a|b"}', dialect: 'prometheus', want: [m('__name__', '=~', 'a|b')] },
  { text: '{"my.metric", "my.label"="x"}', dialect: 'prometheus', want: [m('my.label', '=', 'x'), m('__name__', '=', 'my.metric')] },
  { text: 'up{__name__="x"}', dialect: 'prometheus', error: ['metric name must not be set twice: "up" or "x"', INVALID_SELECTOR_CODE] },
  { text: '{"a", "b"}', dialect: 'prometheus', error: ['metric name must not be set twice: "a" or "b"', INVALID_SELECTOR_CODE] },
  // Values: Go string literals, escapes, single quotes and raw strings (PromQL only for single quotes).
  { text: '{a="x\\n\\"y\\u00e9\\\\"}', dialect: 'prometheus', want: [m('a', '=', 'x\n"yé\\')] },
  { text: "{a='b'}", dialect: 'prometheus', want: [m('a', '=', 'b')] },
  { text: '{a=`raw\\n`}', dialect: 'prometheus', want: [m('a', '=', 'raw\\n')] },
  { text: '{a=`raw\\n`}', dialect: 'loki', want: [m('a', '=', 'raw\\n')] },
  { text: "{a='b'}", dialect: 'loki', error: ['', INVALID_SELECTOR_CODE] },
  { text: '{a="\\q"}', dialect: 'loki', error: ['', INVALID_SELECTOR_CODE] },
  { text: '{a="b', dialect: 'prometheus', error: ['', INVALID_SELECTOR_CODE] },
  // Operators, trailing commas, keywords as label names.
  { text: '{a="1", b!="2", c=~"3.*", d!~"4"}', dialect: 'loki', want: [m('a', '=', '1'), m('b', '!=', '2'), m('c', '=~', '3.*'), m('d', '!~', '4')] },
  { text: 'up{job="a",}', dialect: 'prometheus', want: [m('job', '=', 'a'), m('__name__', '=', 'up')] },
  { text: '{job="a",}', dialect: 'loki', error: ['unexpected }', INVALID_SELECTOR_CODE] },
  { text: '{on="x", by="y", bool="z"}', dialect: 'prometheus', want: [m('on', '=', 'x'), m('by', '=', 'y'), m('bool', '=', 'z')] },
  { text: '{a:b="c"}', dialect: 'prometheus', error: ['expected one of =, !=, =~, !~', INVALID_SELECTOR_CODE] },
  { text: '{a="b" c="d"}', dialect: 'loki', error: ['expected "," or "}"', INVALID_SELECTOR_CODE] },
  { text: '{a="b"} |= "x"', dialect: 'loki', error: ['unexpected text after the selector', INVALID_SELECTOR_CODE] },
  { text: 'up', dialect: 'loki', error: ['expected "{"', INVALID_SELECTOR_CODE] },
  { text: '{"a"="b"}', dialect: 'loki', error: ['expected a label name', INVALID_SELECTOR_CODE] },
  // Empty matchers: a selector must have one matcher that rejects the empty string.
  { text: '{}', dialect: 'prometheus', error: ['vector selector must contain at least one non-empty matcher', INVALID_SELECTOR_CODE] },
  { text: '{}', dialect: 'loki', error: ['unexpected }, expecting IDENTIFIER', INVALID_SELECTOR_CODE] },
  { text: '{a=~".*"}', dialect: 'prometheus', error: ['at least one non-empty matcher', INVALID_SELECTOR_CODE] },
  { text: '{a=""}', dialect: 'prometheus', error: ['at least one non-empty matcher', INVALID_SELECTOR_CODE] },
  { text: '{a=~".*", b!~".+"}', dialect: 'loki', error: ['queries require at least one regexp or equality matcher', INVALID_SELECTOR_CODE] },
  { text: '{a!=""}', dialect: 'loki', want: [m('a', '!=', '')] },
  { text: '{a=~".+", b=""}', dialect: 'loki', want: [m('a', '=~', '.+'), m('b', '=', '')] },
  // Regex values are RE2.
  { text: '{a=~"(?i)x|\\\\pL"}', dialect: 'loki', want: [m('a', '=~', '(?i)x|\\pL')] },
  { text: '{a=~"(b"}', dialect: 'prometheus', error: ['error parsing regexp: missing closing )', INVALID_REGEXP_CODE] },
  { text: '{a!~"(?=x)"}', dialect: 'loki', error: ['error parsing regexp: invalid or unsupported Perl syntax', INVALID_REGEXP_CODE] },
];

test('stand-alone selectors parse with upstream syntax and rules', () => {
  for (const row of ROWS) {
    const where = `${row.dialect} ${row.text}`;
    if (row.error) {
      const [text, code] = row.error;
      assert.throws(() => parseSelector(row.text, row.dialect), (err: unknown) => {
        assert.ok(err instanceof HeimdallError, where);
        assert.equal(err.kind, 'bad_data', where);
        assert.equal(err.code, code, where);
        assert.ok(err.message.includes(text), `${where}: ${err.message}`);
        return true;
      });
    } else {
      assert.deepEqual(parseSelector(row.text, row.dialect), row.want, where);
    }
  }
});
