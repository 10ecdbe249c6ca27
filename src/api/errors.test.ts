import assert from 'node:assert/strict';
import { test } from 'node:test';
import { LogqlError } from '../logql/index.ts';
import { HeimdallError } from '../model/index.ts';
import { PromqlError } from '../promql/index.ts';
import { QueryLimitError, RetryableStorageError, StorageFormatError } from '../storage/index.ts';
import { TenantError } from '../tenant/index.ts';
import { ApiError, apiStatusForKind, toApiError } from './errors.ts';

test('kinds map to Prometheus status codes through the one table; Loki answers 504 for a timeout', () => {
  assert.equal(apiStatusForKind('bad_data', 'prometheus'), 400);
  assert.equal(apiStatusForKind('execution', 'prometheus'), 422);
  assert.equal(apiStatusForKind('timeout', 'prometheus'), 503);
  assert.equal(apiStatusForKind('timeout', 'loki'), 504);
  assert.equal(apiStatusForKind('canceled', 'prometheus'), 499);
  assert.equal(apiStatusForKind('internal', 'prometheus'), 500);
  assert.equal(apiStatusForKind('not_found', 'prometheus'), 404);
  assert.equal(apiStatusForKind('unavailable', 'prometheus'), 503);
  assert.equal(toApiError(new LogqlError('timeout', 'query timed out'), 'r', 'loki').status, 504);
  assert.equal(toApiError(new LogqlError('timeout', 'query timed out'), 'r').status, 503);
});

test('every query-side error is a HeimdallError whose kind is its type, keeping its name', () => {
  const cases: [HeimdallError, string, string][] = [
    [new ApiError('bad_data', 'x'), 'ApiError', 'bad_data'],
    [new PromqlError('execution', 'x'), 'PromqlError', 'execution'],
    [new LogqlError('canceled', 'x'), 'LogqlError', 'canceled'],
    [new TenantError(401, 'no org id'), 'TenantError', 'unauthenticated'],
    [new TenantError(400, 'bad'), 'TenantError', 'bad_data'],
    [new QueryLimitError('max_samples', 'x'), 'QueryLimitError', 'execution'],
    [new RetryableStorageError('overloaded', 'x'), 'RetryableStorageError', 'rate_limited'],
    [new RetryableStorageError('shutting_down', 'x'), 'RetryableStorageError', 'unavailable'],
    [new StorageFormatError('x'), 'StorageFormatError', 'internal'],
  ];
  for (const [err, name, kind] of cases) {
    assert.ok(err instanceof HeimdallError, name);
    assert.equal(err.name, name);
    assert.equal(err.kind, kind, name);
  }
  assert.equal(new PromqlError('timeout', 'x').type, 'timeout');
});

test('known errors keep their message and get their status', () => {
  assert.deepEqual(toApiError(new ApiError('bad_data', 'no match[] parameter provided')), {
    status: 400,
    errorType: 'bad_data',
    message: 'no match[] parameter provided',
    internal: false,
  });
  assert.deepEqual(toApiError(new PromqlError('bad_data', '1:5: parse error: unexpected end of input')), {
    status: 400,
    errorType: 'bad_data',
    message: '1:5: parse error: unexpected end of input',
    internal: false,
  });
  assert.equal(toApiError(new PromqlError('execution', 'many-to-many matching not allowed')).status, 422);
  assert.equal(toApiError(new PromqlError('timeout', 'query timed out in expression evaluation')).status, 503);
  assert.equal(toApiError(new PromqlError('canceled', 'query was canceled')).status, 499);
  assert.deepEqual(toApiError(new QueryLimitError('max_samples', 'query processing would load too many samples into memory')), {
    status: 422,
    errorType: 'execution',
    message: 'query processing would load too many samples into memory',
    internal: false,
  });
  assert.equal(toApiError(new HeimdallError('not_found', 'no such rule group')).errorType, 'not_found');
  assert.deepEqual(toApiError(new HeimdallError('rate_limited', 'slow down', { retryAfterSeconds: 3 })), {
    status: 429,
    errorType: 'unavailable',
    message: 'slow down',
    retryAfterSeconds: 3,
    internal: false,
  });
  assert.deepEqual(toApiError(new RetryableStorageError('shutting_down', 'storage is closing', 5)), {
    status: 503,
    errorType: 'unavailable',
    message: 'storage is closing',
    retryAfterSeconds: 5,
    internal: false,
  });
});

test('a missing tenant is a 401 with an authentication error type, not bad_data', () => {
  assert.deepEqual(toApiError(new TenantError(401, 'no org id')), {
    status: 401,
    errorType: 'unauthenticated',
    message: 'no org id',
    internal: false,
  });
  assert.equal(toApiError(new TenantError(400, "tenant ID is '.' or '..'")).errorType, 'bad_data');
});

test('aborts are canceled or timeout', () => {
  assert.equal(toApiError(new DOMException('client went away', 'AbortError')).errorType, 'canceled');
  assert.equal(toApiError(new DOMException('too slow', 'TimeoutError')).errorType, 'timeout');
  assert.equal(toApiError(new DOMException('too slow', 'TimeoutError'), 'r', 'loki').status, 504);
});

test('unknown and internal errors are generic 500s naming the request id', () => {
  const mapped = toApiError(new Error('ENOENT: /var/lib/secret/path'), 'req-42');
  assert.equal(mapped.status, 500);
  assert.equal(mapped.errorType, 'internal');
  assert.equal(mapped.internal, true);
  assert.match(mapped.message, /req-42/);
  assert.doesNotMatch(mapped.message, /ENOENT|secret/);
  const promInternal = toApiError(new PromqlError('internal', 'storage exploded at /x'), 'r1');
  assert.equal(promInternal.status, 500);
  assert.doesNotMatch(promInternal.message, /exploded/);
  assert.equal(toApiError(new StorageFormatError('/data/x is corrupt')).internal, true);
  assert.equal(toApiError('a string').status, 500);
});

test("Fastify's own 4xx request errors keep their meaning", () => {
  const err = Object.assign(new Error('Unsupported Media Type'), { statusCode: 415, code: 'FST_ERR_CTP_INVALID_MEDIA_TYPE' });
  assert.deepEqual(toApiError(err), { status: 415, errorType: 'bad_data', message: 'Unsupported Media Type', internal: false });
  const big = Object.assign(new Error('too large'), { statusCode: 413, code: 'FST_ERR_CTP_BODY_TOO_LARGE' });
  assert.equal(toApiError(big).status, 413);
});
