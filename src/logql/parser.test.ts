import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { SampleExpr } from './ast.ts';
import { LogqlError } from './errors.ts';
import { parseLogql } from './parser.ts';

const fold = (q: string): number => {
  const e = parseLogql(q) as SampleExpr;
  assert.equal(e.kind, 'literal', q);
  return e.kind === 'literal' ? e.value : NaN;
};
const fails = (q: string, re: RegExp): void => {
  assert.throws(() => parseLogql(q), (e: unknown) => e instanceof LogqlError && e.type === 'bad_data' && re.test(e.message), q);
};

describe('LogQL parser', () => {
  test('binary operator precedence and associativity (the grammar has none)', () => {
    assert.equal(fold('1 + 2 * 3'), 7);
    assert.equal(fold('2 ^ 3 ^ 2'), 512);
    assert.equal(fold('10 / 5 / 2'), 1);
    assert.equal(fold('10 / (5 / 2)'), 4);
    assert.equal(fold('-2 ^ 2'), 4);
    assert.equal(fold('1 + 2 > 2'), 1);
    assert.equal(fold('0x1p3 + 0x1.8p3'), 20);
  });

  test('log pipelines become stages in order', () => {
    const e = parseLogql('{app="a", env=~"p.*"} |= "x" or "y" != ip("10.0.0.0/8") | json a="b.c" | logfmt --strict --keep-empty | status >= 500 and took > 1s, size < 1MB | line_format "{{.a}}" | label_format x=y, z="{{.a}}" | drop a, b="c" | keep x | decolorize');
    assert.equal(e.kind, 'logSelector');
    if (e.kind !== 'logSelector') return;
    assert.deepEqual(e.matchers, [
      { name: 'app', op: '=', value: 'a' },
      { name: 'env', op: '=~', value: 'p.*' },
    ]);
    assert.deepEqual(
      e.stages.map((s) => s.kind),
      ['lineFilter', 'lineFilter', 'json', 'logfmt', 'labelFilter', 'lineFormat', 'labelFormat', 'drop', 'keep', 'decolorize'],
    );
    assert.deepEqual(e.stages[0], { kind: 'lineFilter', op: '|=', values: [{ kind: 'literal', value: 'x' }, { kind: 'literal', value: 'y' }] });
    assert.deepEqual(e.stages[1], { kind: 'lineFilter', op: '!=', values: [{ kind: 'ip', value: '10.0.0.0/8' }] });
  });

  test('valid LogQL the grammar misses: offset after unwrap, parenthesised unwrap ranges, ip or-chains, approx_topk', () => {
    const off = parseLogql('sum_over_time({a="b"} | logfmt | unwrap v [20s] offset 30s)');
    assert.ok(off.kind === 'rangeAgg' && off.range.offsetNs === 30e9 && off.range.unwrap?.label === 'v');
    const par = parseLogql('rate(({a="b"} |~ "x" | unwrap bar)[1m])');
    assert.ok(par.kind === 'rangeAgg' && par.range.unwrap?.label === 'bar' && par.range.rangeNs === 60e9);
    const ips = parseLogql('{a="b"} |= ip("1.0.0.0/8") or ip("2.0.0.0/8") or "x"');
    assert.ok(ips.kind === 'logSelector' && ips.stages[0]?.kind === 'lineFilter' && ips.stages[0].values.length === 3);
    const approx = parseLogql('approx_topk(2, sum by (a) (count_over_time({a="b"}[1m])))');
    assert.ok(approx.kind === 'vectorAgg' && approx.op === 'approx_topk' && approx.param === 2);
  });

  test("Loki's validation errors", () => {
    fails('count_over_time({a="b"} | logfmt | unwrap v [1m])', /invalid aggregation count_over_time with unwrap/);
    fails('sum_over_time({a="b"}[1m])', /invalid aggregation sum_over_time without unwrap/);
    fails('rate({a="b"}[1m]) by (x)', /grouping not allowed for rate aggregation/);
    fails('topk(1.5, rate({a="b"}[1m]))', /invalid parameter/);
    fails('1 and 2', /unexpected literal for left leg of logical\/set binary operation/);
    fails('0x10', /unable to parse literal as a float/);
    fails('{a="b"} | drop', /expecting IDENTIFIER/);
    fails('{a="b"} | x == "1"', /syntax error/);
    fails('{a=~".*"}', /at least one regexp or equality matcher/);
    fails('{a="b"} |~ "(" ', /error parsing regexp: missing closing \)/);
    fails('count_over_time({a="b"} | json bad="x[" [1m])', /cannot parse expression/);
  });

  test('space-separated label filters mean and', () => {
    const e = parseLogql('{a="b"} | x="1" y="2"');
    assert.ok(e.kind === 'logSelector' && e.stages[0]?.kind === 'labelFilter' && e.stages[0].filter.kind === 'and');
  });
});
