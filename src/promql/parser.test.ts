import assert from 'node:assert/strict';
import { test } from 'node:test';
import { exprType } from './ast.ts';
import type { BinaryExpr, Call, MatrixSelector, SubqueryExpr, UnaryExpr, VectorSelector } from './ast.ts';
import { PromqlError } from './errors.ts';
import { parseExpr, parseMatchers } from './parser.ts';

test('postfix modifiers bind to the closest operand, as in Prometheus', () => {
  assert.throws(() => parseExpr('a + b[5m:1m]'), /binary expression must contain only scalar and instant vector types/);
  const e = parseExpr('a + b @ 10') as BinaryExpr;
  assert.equal(e.type, 'BinaryExpr');
  assert.deepEqual((e.rhs as VectorSelector).at, { kind: 'time', ms: 10_000 });
  const o = parseExpr('a * b offset 5m') as BinaryExpr;
  assert.equal((o.rhs as VectorSelector).offset?.kind, 'lit');
  const m = parseExpr('rate(foo{a="b"}[5m] offset 1m @ 100)') as Call;
  const ms = m.args[0] as MatrixSelector;
  assert.equal(ms.vs.offset?.kind === 'lit' && ms.vs.offset.ms, 60_000);
  assert.deepEqual(ms.vs.at, { kind: 'time', ms: 100_000 });
});

test('operators after a postfix modifier keep Prometheus precedence', () => {
  const e = parseExpr('a + b @ 60 * 0') as BinaryExpr;
  assert.equal(e.op, '+');
  const r = e.rhs as BinaryExpr;
  assert.equal(r.op, '*');
  assert.deepEqual((r.lhs as VectorSelector).at, { kind: 'time', ms: 60_000 });
  const o = parseExpr('a offset 1m * 2 + c') as BinaryExpr;
  assert.equal(o.op, '+');
  assert.equal((o.lhs as BinaryExpr).op, '*');
});

test('a signed number literal is a unary operator looser than ^', () => {
  const e = parseExpr('-2 ^ 2') as UnaryExpr;
  assert.equal(e.type, 'UnaryExpr');
  assert.equal((e.expr as BinaryExpr).op, '^');
});

test('number literals: hex, durations, trailing point, inf/nan', () => {
  assert.equal((parseExpr('0x1F') as { val: number }).val, 31);
  assert.equal((parseExpr('1h30m') as { val: number }).val, 5400);
  assert.equal((parseExpr('2.') as { val: number }).val, 2);
  assert.equal((parseExpr('-Inf') as { val: number }).val, -Infinity);
  assert.ok(Number.isNaN((parseExpr('nan') as { val: number }).val));
});

test('UTF-8 quoted metric names and label names', () => {
  const vs = parseExpr('{"my.metric", "a.b"="c"}') as VectorSelector;
  assert.equal(vs.name, 'my.metric');
  assert.deepEqual(vs.matchers, [
    { op: '=', name: 'a.b', value: 'c' },
    { op: '=', name: '__name__', value: 'my.metric' },
  ]);
});

test('type errors carry Prometheus messages and positions', () => {
  assert.throws(() => parseExpr('rate(foo)'), (err: unknown) => {
    assert.ok(err instanceof PromqlError);
    assert.equal(err.type, 'bad_data');
    assert.equal(err.message, '1:6: parse error: expected type range vector in call to function "rate", got instant vector');
    return true;
  });
  assert.throws(() => parseExpr('1 > 2'), /comparisons between scalars must use BOOL modifier/);
  assert.throws(() => parseExpr('foo and 1'), /set operator "and" not allowed in binary scalar expression/);
  assert.throws(() => parseExpr('{}'), /vector selector must contain at least one non-empty matcher/);
  assert.throws(() => parseExpr('sum(foo'), /1:4: parse error: unclosed left parenthesis$/);
  assert.throws(() => parseExpr('foo{a="b"'), /unexpected end of input inside braces/);
  assert.throws(() => parseExpr('foo[5m][1m]'), /ranges only allowed for vector selectors/);
});

test('subqueries, aggregations and matching are typed', () => {
  const sq = parseExpr('max_over_time(rate(x[1m])[10m:])') as Call;
  assert.equal((sq.args[0] as SubqueryExpr).step, undefined);
  const agg = parseExpr('sum without (a, "b.c") (x)');
  assert.equal(exprType(agg), 'vector');
  const b = parseExpr('x / on (a) group_left (b) y') as BinaryExpr;
  assert.deepEqual(b.matching, { card: 'many-to-one', on: true, labels: ['a'], include: ['b'] });
});

test('parseMatchers reads series selectors for match[]', () => {
  assert.deepEqual(parseMatchers('up{job=~"a|b"}'), [
    { op: '=~', name: 'job', value: 'a|b' },
    { op: '=', name: '__name__', value: 'up' },
  ]);
  assert.throws(() => parseMatchers('sum(up)'), PromqlError);
});

test('scalar min_of/max_of calls parse outside duration expressions too', () => {
  const e = parseExpr('max_of(min_of(1, time()), scalar(x))') as Call;
  assert.equal(e.func.name, 'max_of');
  assert.equal((e.args[0] as Call).func.name, 'min_of');
  assert.equal((e.args[1] as Call).func.name, 'scalar');
  assert.equal(exprType(e), 'scalar');
  const d = parseExpr('x[min_of(step(), 1m)]') as MatrixSelector;
  assert.equal(d.type, 'MatrixSelector');
  assert.equal((parseExpr('min_of') as VectorSelector).name, 'min_of');
  assert.throws(() => parseExpr('min_of(x, 1)'), /expected type scalar in call to function "min_of", got instant vector/);
});
