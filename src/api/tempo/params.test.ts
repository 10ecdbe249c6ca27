import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { FastifyRequest } from 'fastify';
import { scanLogfmt } from '../../logql/index.ts';
import { FormParams } from '../form-params.ts';
import { legacySearchToTraceql } from './legacy-search.ts';
import {
  defaultMetricsStepNs,
  metricsRange,
  metricsStepNs,
  parseSearchRequest,
  parseTempoTimestamp,
  tagRangeSeconds,
  traceByIdRange,
} from './params.ts';
import { parseTagRef, parseTagScope } from './tag-names.ts';
import { parseTraceId } from './trace-id.ts';

const S = 1_000_000_000n;

function params(query: Record<string, string>): FormParams {
  return new FormParams({ query, body: undefined } as unknown as FastifyRequest);
}

function search(query: Record<string, string>) {
  return parseSearchRequest(params(query), Object.entries(query), (t) => scanLogfmt(t, true));
}

test('trace ids: 1-32 hex digits of either case, left-padded to 128 bits; Tempo’s errors otherwise', () => {
  assert.equal(parseTraceId('ABC'), '00000000000000000000000000000abc');
  assert.equal(parseTraceId('0123456789abcdef0123456789ABCDEF'), '0123456789abcdef0123456789abcdef');
  assert.throws(() => parseTraceId('xyz'), /trace IDs can only contain hex characters: invalid character 'x' at position 1/);
  assert.throws(() => parseTraceId('1'.repeat(33)), /can't be larger than 128 bits/);
});

test('trace by id start/end: Unix seconds, end after start, absent means everywhere', () => {
  assert.equal(traceByIdRange(params({})), undefined);
  assert.deepEqual(traceByIdRange(params({ start: '100', end: '200' })), { startNs: 100n * S, endNs: 201n * S });
  assert.throws(() => traceByIdRange(params({ start: '200', end: '100' })), /start must be before end. received start=200 end=100/);
  assert.throws(() => traceByIdRange(params({ start: 'x' })), /invalid start: strconv.ParseInt: parsing "x": invalid syntax/);
  assert.throws(() => traceByIdRange(params({ mode: 'nope' })), /invalid value for mode nope/);
});

test('search: TraceQL q with Tempo’s defaults (limit 20, spss 3) and limits', () => {
  const s = search({ q: '{ .a = 1 }', start: '100', end: '200' });
  assert.equal(s.query, '{ .a = 1 }');
  assert.equal(s.limit, 20);
  assert.equal(s.spansPerSpanSet, 3);
  assert.deepEqual([s.start, s.end], [100, 200]);
  assert.equal(search({ q: '{}', spss: '0' }).spansPerSpanSet, 0);
  assert.throws(() => search({ q: '{}', limit: '0' }), /invalid limit: must be a positive number/);
  assert.throws(() => search({ q: '{}', limit: '-1' }), /invalid limit: strconv.ParseUint/);
  assert.throws(() => search({ q: '{}', spss: '101' }), /spans per span set exceeds 100. received 101/);
  assert.throws(() => search({ q: '{}', start: '200', end: '100' }), /start must be before end/);
  assert.throws(() => search({ q: '{}', start: '1', end: String(1 + 169 * 3600) }), /exceeds 168h0m0s/);
  assert.throws(() => search({ q: '{}', tags: 'a=b' }), /can't specify tags and q in the same query/);
});

test('legacy search: tags logfmt, durations, and bare parameters without a range', () => {
  const s = search({ tags: 'service.name=api http.status_code=500 msg="y z"', minDuration: '100ms', maxDuration: '1.5s', start: '1', end: '2' });
  assert.deepEqual([...s.tags], [['service.name', 'api'], ['http.status_code', '500'], ['msg', 'y z']]);
  assert.equal(s.minDurationMs, 100);
  assert.equal(s.maxDurationMs, 1500);
  assert.throws(() => search({ tags: 'a=1 a=2' }), /invalid tags: tag a has been set twice/);
  assert.throws(() => search({ tags: 'a="unterminated' }), /invalid tags: logfmt syntax error/);
  assert.throws(() => search({ minDuration: 'soon' }), /invalid minDuration: time: invalid duration "soon"/);
  assert.throws(() => search({ minDuration: '2s', maxDuration: '1s' }), /invalid maxDuration: must be greater than minDuration/);
  // Grafana's first Tempo search sent each tag as its own parameter (only honoured without start/end).
  assert.deepEqual([...search({ 'service.name': 'api', limit: '5' }).tags], [['service.name', 'api']]);
  assert.deepEqual([...search({ 'service.name': 'api', start: '1', end: '2' }).tags], []);
});

test('legacy search to TraceQL: substring columns, status, http.status_code, exact attributes, trace duration', () => {
  assert.equal(legacySearchToTraceql(new Map(), 0, 0), '{}');
  const tags = new Map([
    ['service.name', 'api.v1'],
    ['status.code', 'error'],
    ['http.status_code', '500'],
    ['user id', 'a"b'],
    ['name', 'GET /x'],
    ['root.service.name', 'front'],
  ]);
  assert.equal(
    legacySearchToTraceql(tags, 100, 2000),
    '{span.http.status_code = 500} && {name =~ ".*GET /x.*"} && {trace:rootService =~ ".*front.*"} && ' +
      '{resource.service.name =~ ".*api\\\\.v1.*"} && {status = error} && {."user id" = "a\\"b"} && ' +
      '{trace:duration >= 100ms} && {trace:duration <= 2000ms}',
  );
  assert.equal(legacySearchToTraceql(new Map([['http.status_code', 'teapot']]), 0, 0), '{.http.status_code = "teapot"}');
  assert.throws(() => legacySearchToTraceql(new Map([['status.code', 'bad']]), 0, 0), /status.code must be one of unset, ok, error/);
});

test('tag endpoints: scope and tag name forms', () => {
  assert.equal(parseTagScope(undefined), undefined);
  assert.equal(parseTagScope('resource'), 'resource');
  assert.equal(parseTagScope('intrinsic'), 'intrinsic');
  assert.throws(() => parseTagScope('galaxy'), /invalid scope: galaxy/);
  assert.deepEqual(parseTagRef('resource.service.name'), { scope: 'resource', name: 'service.name' });
  assert.deepEqual(parseTagRef('.http.method'), { scope: 'any', name: 'http.method' });
  assert.deepEqual(parseTagRef('span."with space"'), { scope: 'span', name: 'with space' });
  assert.deepEqual(parseTagRef('span:name'), { scope: 'intrinsic', name: 'name' });
  assert.deepEqual(parseTagRef('rootServiceName'), { scope: 'intrinsic', name: 'trace:rootService' });
  assert.throws(() => parseTagRef('service.name'), /please provide a valid tagName/);
  assert.deepEqual(tagRangeSeconds(params({ start: '10', end: '20' })), { start: 10, end: 20 });
  assert.throws(() => tagRangeSeconds(params({ start: '20', end: '10' })), /start must be before end/);
});

test('metrics: timestamps, since, and Tempo’s default step', () => {
  assert.equal(parseTempoTimestamp('start', '1700000000'), 1_700_000_000n * S);
  assert.equal(parseTempoTimestamp('start', '1700000000123456789'), 1_700_000_000_123_456_789n);
  assert.equal(parseTempoTimestamp('start', '1700000000.25'), 1_700_000_000_250_000_000n);
  assert.equal(parseTempoTimestamp('start', '2023-11-14T22:13:20.5Z'), 1_700_000_000_500_000_000n);
  assert.throws(() => parseTempoTimestamp('start', 'noon'), /could not parse 'start' parameter/);
  const now = 10_000n * S;
  assert.deepEqual(metricsRange(params({}), now), { startNs: now - 3600n * S, endNs: now });
  assert.deepEqual(metricsRange(params({ since: '5m' }), now), { startNs: now - 300n * S, endNs: now });
  assert.throws(() => metricsRange(params({ start: '200', end: '100' }), now), /end must be after start/);
  assert.equal(defaultMetricsStepNs({ startNs: 0n, endNs: 3600n * S }), 15n * S);
  assert.equal(defaultMetricsStepNs({ startNs: 0n, endNs: 24n * 3600n * S }), 300n * S);
  assert.equal(defaultMetricsStepNs({ startNs: 0n, endNs: 30n * S }), 100_000_000n);
  assert.equal(metricsStepNs(params({ step: '30s' }), { startNs: 0n, endNs: S }), 30n * S);
  assert.equal(metricsStepNs(params({ step: '2.5' }), { startNs: 0n, endNs: S }), 2_500_000_000n);
  assert.throws(() => metricsStepNs(params({ step: '-1s' }), { startNs: 0n, endNs: S }), /step must be positive/);
  assert.throws(() => metricsStepNs(params({ step: 'often' }), { startNs: 0n, endNs: S }), /cannot parse "often" to a valid duration/);
});
