import assert from 'node:assert/strict';
import { test } from 'node:test';
import { quoteGo, readGoString, unquoteGo } from './go-string.ts';

// Cases from Go's strconv quote_test.go (unquotetests, misquoted, quotetests) and Prometheus' strutil tests.
test('unquoteGo: Go string literals, with Prometheus single-quoted strings of any length', () => {
  const ok: [string, string][] = [
    ['""', ''],
    ['"a"', 'a'],
    ['"abc"', 'abc'],
    ['"☺"', '☺'],
    ['"hello world"', 'hello world'],
    ['"\\xFF"', '\ufffd'],
    ['"\\377"', '\ufffd'],
    ['"\\u1234"', '\u1234'],
    ['"\\U00010111"', '\u{10111}'],
    ['"\\U0001011111"', '\u{10111}11'],
    ['"\\a\\b\\f\\n\\r\\t\\v\\\\\\""', '\x07\b\f\n\r\t\v\\"'],
    ["'\"'", '"'],
    ['"\'"', "'"],
    ["'abc'", 'abc'],
    ["'\\''", "'"],
    ["'☺'", '☺'],
    ['"\\xc3\\xa9"', 'é'],
    ['"\\101\\x41"', 'AA'],
    ['``', ''],
    ['`a`', 'a'],
    ['`\\n`', '\\n'],
    ['`\\x`', '\\x'],
    ['`"`', '"'],
    ['`a\r\nb`', 'a\nb'], // Go drops carriage returns from raw strings
  ];
  for (const [input, want] of ok) assert.equal(unquoteGo(input).value, want, input);
  assert.deepEqual(unquoteGo('"\\xff\\x41"').invalidUtf8, Uint8Array.of(0xff, 0x41));
  assert.equal(unquoteGo('"\\xc3\\xa9"').invalidUtf8, undefined);

  const bad = [
    '"lone',
    '"\\"',
    '"\\0"',
    '"\\8"',
    '"\\400"',
    '"\\x1"',
    '"\\xg0"',
    '"\\u12"',
    '"\\uD800"',
    '"\\U00110000"',
    '"\\q"',
    '"\\\'"', // \' only inside single quotes
    "'\\\"'", // \" only inside double quotes
    '"a\nb"',
    '"a"b"',
    '`a`b`',
    'a',
    '"',
    "'",
    '`',
  ];
  for (const input of bad) assert.throws(() => unquoteGo(input), /invalid syntax|unterminated quoted string/, JSON.stringify(input));
  assert.throws(() => unquoteGo('"open'), { message: 'unterminated quoted string' });
});

test('readGoString: a literal inside selector text, refusing bytes that are not UTF-8', () => {
  assert.deepEqual(readGoString('x="abc" y', 2), { value: 'abc', end: 7 });
  assert.deepEqual(readGoString('`a\\nb`', 0), { value: 'a\\nb', end: 6 });
  assert.deepEqual(readGoString('"a\\n\\t\\"\\u00e9\\U0001F600\\101\\x41"', 0), { value: 'a\n\t"é😀AA', end: 33 });
  assert.deepEqual(readGoString('"\\xc3\\xa9",', 0), { value: 'é', end: 10 });
  assert.deepEqual(readGoString("'single'", 0, `"'`), { value: 'single', end: 8 });
  const error = (text: string, quotes?: string): string => (readGoString(text, 0, quotes) as { error: string }).error;
  assert.match(error("'single'"), /expected a quoted string/);
  assert.match(error(''), /end of input/);
  assert.match(error('"open'), /unterminated/);
  assert.match(error('`open'), /unterminated raw string/);
  assert.match(error('"a\nb"'), /newline/);
  assert.match(error('"\\xff"'), /not valid UTF-8/);
  assert.match(error('"\\q"'), /unknown escape sequence \\q/);
  assert.match(error('"\\\'"'), /unknown escape sequence \\'/);
  assert.match(error('"\\uD800"'), /invalid code point/);
  assert.match(error('"\\x4"'), /invalid escape sequence/);
});

test("quoteGo: Go's strconv.Quote", () => {
  const cases: [string, string][] = [
    ['', '""'],
    ['\x07\b\f\r\n\t\v', '"\\a\\b\\f\\r\\n\\t\\v"'],
    ['\\', '"\\\\"'],
    ['"quoted"', '"\\"quoted\\""'],
    ["it's", `"it's"`],
    ['abc\xffdef', '"abc\u00ffdef"'], // a JS string holds U+00FF, which is printable
    ['\u263a', '"☺"'],
    ['\u00a0', '"\\u00a0"'], // no-break space is not printable in Go's sense
    ['\u200b', '"\\u200b"'],
    ['\x04', '"\\x04"'],
    ['\x7f', '"\\x7f"'],
    ['\u{1F600}', '"😀"'],
    ['\u{E0001}', '"\\U000e0001"'],
    ['!\u00a0!\u2000!\u3000!', '"!\\u00a0!\\u2000!\\u3000!"'],
  ];
  for (const [input, want] of cases) assert.equal(quoteGo(input), want, JSON.stringify(input));
  assert.equal(quoteGo('', Uint8Array.of(0x61, 0xff, 0xc3, 0xa9, 0x0a)), '"a\\xffé\\n"');
});
