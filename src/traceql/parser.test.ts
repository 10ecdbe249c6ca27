import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { FieldExpr, RootExpr } from './ast.ts';
import { TraceqlError } from './errors.ts';
import { parse, parseAndValidate } from './parser.ts';
import { format } from './printer.ts';

function filterExpr(root: RootExpr): FieldExpr {
  assert.equal(root.kind, 'search');
  const el = root.kind === 'search' ? root.pipeline.elements[0] : undefined;
  assert.equal(el?.kind, 'filter');
  return (el as { expr: FieldExpr }).expr;
}

test('&& and || share one precedence level and associate left, as in Tempo', () => {
  assert.equal(format(filterExpr(parse('{ .a = 1 || .b = 2 && .c = 3 }'))), '(((.a = 1) || (.b = 2)) && (.c = 3))');
});

test('unary minus takes * but not +; ! takes * but not =', () => {
  assert.equal(format(filterExpr(parse('{ -.a * 2 = 1 }'))), '(-(.a * 2) = 1)');
  assert.equal(format(filterExpr(parse('{ -.a + 2 = 1 }'))), '((-.a + 2) = 1)');
  assert.equal(format(filterExpr(parse('{ !.a = true }'))), '(!.a = true)');
});

test('constant sub-expressions fold at parse time (int division truncates)', () => {
  assert.equal(format(filterExpr(parse('{ .a > 7 / 2 }'))), '(.a > 3)');
  assert.equal(format(filterExpr(parse('{ 1 = 2 }'))), 'false');
});

test('attribute names: quoted parts, dots, and scopes', () => {
  const e = filterExpr(parse('{ span."foo bar".baz = "x" && resource.service.name = "a" }'));
  assert.equal(format(e), '((span."foo bar.baz" = "x") && (resource.service.name = "a"))');
});

test('durations, floats with a leading dot, nil tests', () => {
  assert.equal(format(filterExpr(parse('{ duration > 1h30m }'))), '(span:duration > 1h30m0s)');
  assert.equal(format(filterExpr(parse('{ .a != nil }'))), '.a != nil');
  const r = parse('{} | quantile_over_time(duration, .99, .5)');
  assert.equal(r.kind, 'metrics');
  assert.deepEqual(r.kind === 'metrics' && r.expr.kind === 'metricsPipeline' && r.expr.first.kind === 'metricsAggregate' ? r.expr.first.quantiles : [], [0.99, 0.5]);
});

test('metrics second stages keep their order; scalar arithmetic binds before comparisons', () => {
  const r = parse('({} | rate()) * 10 + 5 > 50 | topk(1)');
  assert.equal(r.kind, 'metrics');
  if (r.kind !== 'metrics') return;
  assert.deepEqual(r.expr.stages.map((s) => s.kind), ['metricsScalarOp', 'metricsScalarOp', 'metricsFilter', 'topk']);
});

test('parse errors carry line and column in Tempo wording', () => {
  assert.throws(() => parse('{ .a = 1 }\n  && { .b < }'), (err: unknown) => {
    assert.ok(err instanceof TraceqlError);
    assert.equal(err.kind, 'bad_data');
    assert.equal(err.message, 'parse error at line 2, col 13: syntax error: unexpected }');
    return true;
  });
  assert.throws(() => parse('({} | rate()) * 100000000000000000000000000000'), /value out of range/);
  assert.throws(() => parse('({} | rate()) * 10s'), /duration cannot be used as a scalar operand/);
});

test('validation names the problem; unsupported features are marked so', () => {
  assert.throws(() => parseAndValidate('{ span.foo =~ "[" }'), (err: unknown) => err instanceof TraceqlError && !err.unsupported && /invalid regex/.test(err.message));
  assert.throws(() => parseAndValidate('{ parent.a != 3 }'), (err: unknown) => err instanceof TraceqlError && err.unsupported);
  assert.throws(() => parseAndValidate('{} | rate() | topk(0)'), /limit must be greater than 0/);
});

test('hints: the last with() wins', () => {
  const r = parse('{} with(most_recent=true) with(sample=0.1)');
  assert.deepEqual(r.hints, [{ name: 'sample', value: { type: 'float', value: 0.1 } }]);
});
