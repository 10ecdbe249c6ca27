import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseRuleFile, parseRuleGroup, toYaml, groupToYamlObject, RuleFileError } from './rule-file.ts';
import type { ExpressionValidator } from './rule-file.ts';

// A stand-in for the engines' parsers (app/ passes the real ones): refuses an unbalanced parenthesis.
const validate: ExpressionValidator = (_lang, expr) => (expr.split('(').length !== expr.split(')').length ? '1:1: parse error: unclosed left parenthesis' : undefined);

const parseError = (text: string): string => {
  try {
    parseRuleFile(text, 'promql', validate);
  } catch (err) {
    assert.ok(err instanceof RuleFileError);
    return err.message;
  }
  assert.fail('expected a RuleFileError');
};

describe('rule files (Prometheus rulefmt)', () => {
  test('a file with recording and alerting rules round-trips', () => {
    const text = `groups:
  - name: g
    interval: 30s
    limit: 10
    rules:
      - record: job:up:sum
        expr: sum by (job) (up)
        labels: { team: a }
      - alert: Down
        expr: up == 0
        for: 5m
        keep_firing_for: 1m
        labels: { severity: page }
        annotations: { summary: "{{ $labels.instance }} down" }
`;
    const [g] = parseRuleFile(text, 'promql', validate);
    assert.equal(g!.name, 'g');
    assert.equal(g!.intervalMs, 30_000);
    assert.equal(g!.limit, 10);
    assert.deepEqual(g!.rules[1], {
      alert: 'Down',
      expr: 'up == 0',
      forMs: 300_000,
      keepFiringForMs: 60_000,
      labels: { severity: 'page' },
      annotations: { summary: '{{ $labels.instance }} down' },
    });
    const again = parseRuleGroup(toYaml(groupToYamlObject(g!)), 'promql', validate);
    assert.deepEqual(again, g);
  });

  test('errors name the position, group, rule and problem', () => {
    assert.equal(
      parseError('groups:\n  - name: g\n    rules:\n      - alert: A\n        expr: sum(up\n'),
      '5:15: group "g", rule 1, "A": could not parse expression: 1:1: parse error: unclosed left parenthesis',
    );
    assert.match(parseError('groups:\n  - name: g\n    rules:\n      - record: a b\n        expr: up\n'), /rule 1, "a b": invalid recording rule name: a b/);
    assert.match(parseError('groups:\n  - name: g\n    rules:\n      - expr: up\n'), /one of 'record' or 'alert' must be set/);
    assert.match(parseError('groups:\n  - name: g\n    rules:\n      - record: a\n        alert: b\n        expr: up\n'), /one of 'record' or 'alert' must be set/);
    assert.match(parseError('groups:\n  - name: g\n    rules:\n      - alert: a\n'), /field 'expr' must be set in rule/);
    assert.match(parseError('groups:\n  - name: g\n    rules:\n      - alert: a\n        expr: up\n        forr: 1m\n'), /6:9: .*field forr not found in type rulefmt.RuleNode/);
    assert.match(parseError('groups:\n  - name: g\n  - name: g\n'), /3:5: groupname: "g" is repeated in the same file/);
    assert.match(parseError('groups:\n  - name: ""\n'), /Groupname must not be empty/);
    assert.match(parseError('groups:\n  - name: g\n    interval: 5 minutes\n'), /not a valid duration string/);
    assert.match(parseError('groups:\n  - name: g\n    rules:\n      - alert: a\n        expr: up\n        labels: { 1x: y }\n'), /invalid label name: 1x/);
    assert.match(parseError('groups:\n  - name: g\n    rules:\n      - alert: a\n        expr: up\n        annotations: { s: "{{ .Bad" }\n'), /rule 1, "a": msg=/);
    assert.match(parseError('groups: [\n'), /^\d+:\d+: /);
  });
});

test('query_offset is read and written back in Prometheus duration form', () => {
  const group = parseRuleGroup('name: late\nquery_offset: 1m30s\nrules:\n  - record: a:b\n    expr: sum(x)\n', 'promql', validate);
  assert.equal(group.queryOffsetMs, 90_000);
  assert.match(toYaml(groupToYamlObject(group)), /^query_offset: 1m30s$/m);
  assert.equal(parseRuleGroup('name: g\nrules: []\n', 'promql', validate).queryOffsetMs, 0);
});
