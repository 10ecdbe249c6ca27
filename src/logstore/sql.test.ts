import assert from 'node:assert/strict';
import { test } from 'node:test';
import { HeimdallError, INVALID_REGEXP_CODE } from '../model/index.ts';
import { lineFilterSql, matcherSql } from './sql.ts';

test('line filters and matchers render to DuckDB SQL', () => {
  assert.equal(lineFilterSql({ op: '|=', value: "it's" }), "contains(line, 'it''s')");
  assert.equal(lineFilterSql({ op: '!~', value: 'abc.d' }), "NOT regexp_matches(line, 'abc.d')");
  assert.equal(lineFilterSql({ op: '|~', value: 'abc.d' }), "contains(line, 'abc') AND regexp_matches(line, 'abc.d')");
  assert.throws(
    () => lineFilterSql({ op: '|~', value: '(' }),
    (err: unknown) => err instanceof HeimdallError && err.kind === 'bad_data' && err.code === INVALID_REGEXP_CODE && err.message.startsWith('error parsing regexp'),
  );
  assert.equal(matcherSql({ name: 'app', op: '=~', value: 'a|b' }), "regexp_full_match(coalesce(labels['app'], ''), '(?s:a|b)')");
  assert.equal(matcherSql({ name: 'app', op: '!~', value: '.+' }), "coalesce(labels['app'], '') = ''");
});
