import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { GoTemplate, TemplateError } from '../model/index.ts';
import type { GoValue } from '../model/index.ts';
import { lokiTemplateFunctions } from './template-functions.ts';

const entry = { line: 'raw line', timestampNs: 1_700_000_000_123_456_789n };
const run = (src: string, data: GoValue = { level: 'error', msg: 'hello', n: '42', f: '1.5', path: '/api/v1/users' }): string =>
  new GoTemplate('line', src, lokiTemplateFunctions(entry)).execute(data);

describe('Go text/template interpreter', () => {
  test('fields, missing keys as empty, pipelines and trimming', () => {
    assert.equal(run('L={{.level}}'), 'L=error');
    assert.equal(run('V={{.missing}}'), 'V=');
    assert.equal(run('{{ .level | upper | printf "%s!" }}'), 'ERROR!');
    assert.equal(run('a  {{- .msg -}}  b'), 'ahellob');
    assert.equal(run('{{/* a comment */}}x'), 'x');
  });

  test('if/else if/else, range with variables, with, break', () => {
    assert.equal(run('{{ if eq .level "warn" }}W{{ else if eq .level "error" }}E{{ else }}O{{ end }}'), 'E');
    assert.equal(run('{{ range $i, $v := fromJson `["a","b","c"]` }}{{ if eq $i 2 }}{{ break }}{{ end }}{{ $i }}={{ $v }};{{ end }}'), '0=a;1=b;');
    assert.equal(run('{{ with .missing }}has{{ else }}none{{ end }}'), 'none');
    assert.equal(run('{{ $x := "a" }}{{ $x }}{{ $x = "b" }}{{ $x }}'), 'ab');
    assert.equal(run('{{ and .level .msg }} {{ or .missing "dflt" }} {{ not .missing }}'), 'hello dflt true');
  });

  test("Loki's functions", () => {
    assert.equal(run('{{ ToUpper .msg }} {{ Replace .msg "l" "L" -1 }} {{ TrimPrefix .path "/api" }} {{ TrimSuffix .path "users" }}'), 'HELLO heLLo /v1/users /api/v1/');
    assert.equal(run('{{ regexReplaceAll "/v(\\\\d)/" .path "/version-$1/" }}'), '/api/version-1/users');
    assert.equal(run('{{ regexReplaceAllLiteral "l+" .msg "$1" }}'), 'he$1o');
    assert.equal(run('{{ div .n 5 }} {{ mul .n 2 }} {{ add 1 2 3 }} {{ sub 10 .n }} {{ mod .n 5 }} {{ addf .f 1 }} {{ divf .n 8 }}'), '8 84 6 -32 2 2.5 5.25');
    assert.equal(run('{{ .missing | default "none" }} {{ .msg | default "none" }}'), 'none hello');
    assert.equal(run('{{ trunc 3 .msg }} {{ substr 1 3 .msg }} {{ alignLeft 7 .msg }}| {{ alignRight 7 .msg }}|'), 'hel el hello  |   hello|');
    assert.equal(run('{{ __line__ }} {{ __timestamp__ | unixEpoch }} {{ __timestamp__ | date "2006-01-02T15:04:05.000Z07:00" }}'), 'raw line 1700000000 2023-11-14T22:13:20.123Z');
    assert.equal(run('{{ unixEpochMillis (toDate "2006-01-02" "2024-03-05") }}'), String(Date.UTC(2024, 2, 5)));
    assert.equal(run('{{ count "l" .msg }} {{ contains "ell" .msg }} {{ hasPrefix "he" .msg }} {{ len .msg }}'), '2 true true 5');
    assert.equal(run('{{ bytes "2KB" }} {{ duration "1m30s" }} {{ sha256 "a" | trunc 8 }} {{ b64enc "hi" }}'), '2000 90 ca978112 aGk=');
    assert.equal(run('{{ printf "%05.1f|%-4s|%d|%q|%x|%v" 3.14159 "ab" 42 "q" 255 1000000.0 }}'), '003.1|ab  |42|"q"|ff|1e+06');
  });

  test('parse and execution errors use Go wording', () => {
    assert.throws(() => run('{{ nosuchfunc }}'), (e: unknown) => e instanceof TemplateError && /function "nosuchfunc" not defined/.test(e.message));
    assert.throws(() => run('{{'), /unclosed action/);
    assert.throws(() => run('{{ if .a }}x'), /unexpected EOF/);
    assert.throws(() => run('{{ div 1 0 }}'), /integer divide by zero/);
  });
});
