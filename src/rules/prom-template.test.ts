import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { expandTemplate } from './prom-template.ts';
import type { TemplateSample } from './prom-template.ts';

const data = { labels: { instance: 'web-1:9100', job: 'node' }, externalLabels: { cluster: 'eu' }, externalUrl: 'http://heimdall:3000/base', value: 0.1234 };
const noQuery = async (_expr: string): Promise<TemplateSample[]> => [];
const run = (text: string, value = data.value, query = noQuery): Promise<string> => expandTemplate('t', text, { ...data, value }, query);

describe('Prometheus alert templates', () => {
  test('variables and humanize functions as Prometheus prints them', async () => {
    assert.equal(await run('{{ $labels.instance }} {{ $externalLabels.cluster }} {{ $externalURL }} {{ $value }}'), 'web-1:9100 eu http://heimdall:3000/base 0.1234');
    assert.equal(await run('{{ $labels.missing }}|'), '|');
    assert.equal(await run('{{ humanize 1234567.0 }} {{ humanize 0.00012 }} {{ humanize 0 }}'), '1.235M 120u 0');
    assert.equal(await run('{{ humanize1024 1048576.0 }} {{ humanize1024 512.0 }}'), '1Mi 512');
    assert.equal(await run('{{ humanizeDuration 90061.0 }} {{ humanizeDuration 3661.0 }} {{ humanizeDuration 61.0 }} {{ humanizeDuration 1.5 }} {{ humanizeDuration 0.0015 }}'), '1d 1h 1m 1s 1h 1m 1s 1m 1s 1.5s 1.5ms');
    assert.equal(await run('{{ $value | humanizePercentage }}'), '12.34%');
    assert.equal(await run('{{ humanizeTimestamp 1435065584.128 }}'), '2015-06-23 13:19:44.128 +0000 UTC');
    assert.equal(await run('{{ $labels.instance | stripPort }} {{ "a.b.c:80" | stripDomain }} {{ toUpper "x" }} {{ title "hello world" }}'), 'web-1 a:80 X Hello World');
    assert.equal(await run('{{ reReplaceAll "(.*):(.*)" "${2}-$1" $labels.instance }} {{ match "^web" $labels.instance }}'), '9100-web-1 true');
    assert.equal(await run('{{ parseDuration "1m30s" }}'), '90');
  });

  test('query, first, value, label, sortByLabel', async () => {
    const seen: string[] = [];
    const query = async (expr: string): Promise<TemplateSample[]> => {
      seen.push(expr);
      return [
        { Labels: { instance: 'b' }, Value: 2 },
        { Labels: { instance: 'a' }, Value: 1 },
      ];
    };
    const text = '{{ with query (printf "up{job=%q}" $labels.job) }}{{ . | first | value }} {{ range sortByLabel "instance" . }}{{ label "instance" . }}{{ end }}{{ end }}';
    assert.equal(await run(text, 1, query), '2 ab');
    assert.deepEqual(seen, ['up{job="node"}']);
  });

  test('a failing template renders Prometheus\' error text', async () => {
    assert.match(await run('{{ first (query "x") }}'), /^<error expanding template: .*first\(\) called on vector with no elements/);
  });
});
