import assert from 'node:assert/strict';
import { test } from 'node:test';
import { compileIpMatcher } from './ip.ts';
import { flattenJson, parseJsonNode, sanitizeLabelKey, scanLogfmt } from './line-parsers.ts';
import { LogPattern } from './pattern.ts';

test('logfmt scanning: quotes, escapes, empty values, malformed pairs', () => {
  assert.deepEqual(scanLogfmt('a=1 b="x y" c= d e="q\\"t"', false).pairs, [
    ['a', '1'],
    ['b', 'x y'],
    ['c', ''],
    ['d', ''],
    ['e', 'q"t'],
  ]);
  const bad = scanLogfmt('good=1 bad="unterminated', false);
  assert.deepEqual(bad.pairs, [['good', '1']]);
  assert.match(scanLogfmt('good=1 bad="unterminated', true).error ?? '', /unterminated quoted value/);
  assert.equal(sanitizeLabelKey('a-b.c'), 'a_b_c');
  assert.equal(sanitizeLabelKey('9x'), '_9x');
});

test('json flattening keeps raw numbers and the first duplicate', () => {
  const out: [string, string][] = [];
  flattenJson(parseJsonNode('{"a":{"b":1.50,"c":{"d":true}},"arr":[1],"n":null,"x.y":"s","a_b":"dup","e":1e3}'), (k, v) => out.push([k, v]));
  assert.deepEqual(out, [
    ['a_b', '1.50'],
    ['a_c_d', 'true'],
    ['x_y', 's'],
    ['e', '1e3'],
  ]);
  assert.throws(() => parseJsonNode('{"a":'), /Malformed JSON error|Unknown value type/);
});

test('patterns: extraction, short lines, whole-line filter matching', () => {
  const p = LogPattern.parse('<method> <path> <_>', false);
  assert.deepEqual(p.names, ['method', 'path']);
  assert.deepEqual(p.matches('GET /x 200'), ['GET', '/x']);
  assert.deepEqual(p.matches('POST'), ['POST']);
  const f = LogPattern.parse('GET <_> 200', true);
  assert.equal(f.test('GET /api 200'), true);
  assert.equal(f.test('GET /api 2001'), false);
  assert.equal(LogPattern.parse('GET /api', true).test('GET /api 200'), false);
  assert.throws(() => LogPattern.parse('no captures', false), /at least one capture is required/);
  assert.throws(() => LogPattern.parse('<a> x', true), /named captures are not allowed/);
});

test('ip(): CIDR, ranges, IPv6, addresses inside text', () => {
  assert.equal(compileIpMatcher('192.168.1.0/24').contains('src 192.168.1.10 ok'), true);
  assert.equal(compileIpMatcher('192.168.1.0/24').contains('src 192.168.2.10 ok'), false);
  assert.equal(compileIpMatcher('10.0.0.1-10.0.0.9').contains('addr=10.0.0.5,'), true);
  assert.equal(compileIpMatcher('2001:db8::/32').contains('from [2001:db8::1]:443'), true);
  assert.equal(compileIpMatcher('1.2.3.4').contains('no ip here'), false);
  assert.throws(() => compileIpMatcher('bogus'), /ip: invalid pattern/);
});
