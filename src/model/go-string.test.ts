import assert from 'node:assert/strict';
import { test } from 'node:test';
import { readGoString } from './go-string.ts';

test('Go string literals: raw, interpreted with escapes, and the errors a selector reports', () => {
  assert.deepEqual(readGoString('x="abc" y', 2), { value: 'abc', end: 7 });
  assert.deepEqual(readGoString('`a\\nb`', 0), { value: 'a\\nb', end: 6 });
  assert.deepEqual(readGoString('"a\\n\\t\\"\\u00e9\\U0001F600\\101\\x41"', 0), { value: 'a\n\t"é😀AA', end: 33 });
  assert.deepEqual(readGoString("'single'", 0, `"'`), { value: 'single', end: 8 });
  assert.match((readGoString("'single'", 0) as { error: string }).error, /expected a quoted string/);
  assert.match((readGoString('"open', 0) as { error: string }).error, /unterminated/);
  assert.match((readGoString('"a\nb"', 0) as { error: string }).error, /newline/);
  assert.match((readGoString('"\\xff"', 0) as { error: string }).error, /not valid UTF-8/);
  assert.match((readGoString('"\\q"', 0) as { error: string }).error, /unknown escape sequence \\q/);
  assert.match((readGoString('"\\uD800"', 0) as { error: string }).error, /invalid code point/);
});
