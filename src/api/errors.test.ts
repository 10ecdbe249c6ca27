import assert from 'node:assert/strict';
import { test } from 'node:test';
import { HttpError } from '../gateway/index.ts';
import { PromqlError } from '../promql/index.ts';
import { QueryLimitError, RetryableStorageError } from '../storage/index.ts';
import { TenantError } from '../tenant/index.ts';
import { ApiError, statusForErrorType, toApiError } from './errors.ts';

test('error types map to Prometheus status codes', () => {
  assert.equal(statusForErrorType('bad_data'), 400);
  assert.equal(statusForErrorType('execution'), 422);
  assert.equal(statusForErrorType('timeout'), 503);
  assert.equal(statusForErrorType('canceled'), 499);
  assert.equal(statusForErrorType('internal'), 500);
  assert.equal(statusForErrorType('not_found'), 404);
  assert.equal(statusForErrorType('unavailable'), 503);
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
  assert.deepEqual(toApiError(new TenantError(401, 'no org id')), { status: 401, errorType: 'bad_data', message: 'no org id', internal: false });
  assert.equal(toApiError(new HttpError(404, 'not_found', 'no such rule group')).errorType, 'not_found');
  assert.deepEqual(toApiError(new HttpError(429, 'rate_limited', 'slow down', { retryAfterSeconds: 3 })), {
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

test('aborts are canceled or timeout', () => {
  assert.equal(toApiError(new DOMException('client went away', 'AbortError')).errorType, 'canceled');
  assert.equal(toApiError(new DOMException('too slow', 'TimeoutError')).errorType, 'timeout');
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
  assert.equal(toApiError('a string').status, 500);
});

test("Fastify's own 4xx request errors keep their status", () => {
  const err = Object.assign(new Error('Unsupported Media Type'), { statusCode: 415, code: 'FST_ERR_CTP_INVALID_MEDIA_TYPE' });
  assert.deepEqual(toApiError(err), { status: 415, errorType: 'bad_data', message: 'Unsupported Media Type', internal: false });
});
