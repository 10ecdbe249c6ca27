import { HttpError } from '../gateway/index.ts';
import { QueryLimitError, RetryableStorageError } from '../storage/index.ts';
import { TenantError } from '../tenant/index.ts';

/** Prometheus' error types (`web/api/v1/api.go`); Loki and Tempo reuse the same vocabulary. */
export type ApiErrorType =
  | 'bad_data'
  | 'execution'
  | 'timeout'
  | 'canceled'
  | 'internal'
  | 'unavailable'
  | 'not_found'
  | 'not_acceptable';

const API_ERROR_TYPES: ReadonlySet<string> = new Set<ApiErrorType>([
  'bad_data',
  'execution',
  'timeout',
  'canceled',
  'internal',
  'unavailable',
  'not_found',
  'not_acceptable',
]);

/** Non-standard status (nginx's) that Prometheus answers when the client went away mid-query. */
export const STATUS_CLIENT_CLOSED_REQUEST = 499;

/**
 * A query API failure of a known type with a message for the client, thrown by request parsing and by
 * handlers. The message is shown verbatim, so it must not leak internals.
 */
export class ApiError extends Error {
  readonly type: ApiErrorType;
  constructor(type: ApiErrorType, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'ApiError';
    this.type = type;
  }
}

/** What a query API answers for an error: the HTTP status, the upstream error type, the client message. */
export interface MappedApiError {
  readonly status: number;
  readonly errorType: ApiErrorType;
  readonly message: string;
  /** Set for retryable refusals (429/503 from overload or shutdown): the `Retry-After` seconds. */
  readonly retryAfterSeconds?: number;
  /**
   * True when the error is a bug or an I/O failure whose details were withheld from `message`: the caller
   * must log `err` in full together with the request id.
   */
  readonly internal: boolean;
}

/** The HTTP status Prometheus answers for each error type. */
export function statusForErrorType(type: ApiErrorType): number {
  switch (type) {
    case 'bad_data':
      return 400;
    case 'execution':
      return 422;
    case 'canceled':
      return STATUS_CLIENT_CLOSED_REQUEST;
    case 'timeout':
      return 503;
    case 'unavailable':
      return 503;
    case 'not_found':
      return 404;
    case 'not_acceptable':
      return 406;
    case 'internal':
      return 500;
  }
}

function typeForStatus(status: number): ApiErrorType {
  if (status === 404) return 'not_found';
  if (status === 406) return 'not_acceptable';
  if (status === 422) return 'execution';
  if (status === STATUS_CLIENT_CLOSED_REQUEST) return 'canceled';
  if (status === 429 || status === 503) return 'unavailable';
  if (status >= 400 && status < 500) return 'bad_data';
  return 'internal';
}

/**
 * The one mapper from an error to what a query API answers (ARCHITECTURE.md §6). Known errors keep their
 * message: {@link ApiError} and any error carrying a `type` from the Prometheus vocabulary (the PromQL and
 * LogQL engines' errors) keep that type; `QueryLimitError` is `execution` (422); `TenantError` and
 * `HttpError` keep their status; retryable storage errors are 503 with `Retry-After`; aborts are
 * `canceled` (499) or `timeout` (503); Fastify's own 4xx errors (bad content type, body too large) keep
 * their status. Anything else is `internal` (500) with a generic message naming `requestId`, and
 * `internal: true` so the caller logs the full error.
 */
export function toApiError(err: unknown, requestId?: string): MappedApiError {
  if (err instanceof HttpError) {
    const mapped: MappedApiError = {
      status: err.status,
      errorType: typeForStatus(err.status),
      message: err.message,
      internal: false,
    };
    return err.retryAfterSeconds === undefined ? mapped : { ...mapped, retryAfterSeconds: err.retryAfterSeconds };
  }
  if (err instanceof TenantError) return { status: err.status, errorType: 'bad_data', message: err.message, internal: false };
  if (err instanceof QueryLimitError) return { status: 422, errorType: 'execution', message: err.message, internal: false };
  if (err instanceof RetryableStorageError) {
    return {
      status: 503,
      errorType: 'unavailable',
      message: err.message,
      retryAfterSeconds: err.retryAfterSeconds,
      internal: false,
    };
  }
  if (err instanceof Error) {
    const type = (err as { type?: unknown }).type;
    if (typeof type === 'string' && API_ERROR_TYPES.has(type)) {
      const errorType = type as ApiErrorType;
      if (errorType === 'internal') return internalError(requestId);
      return { status: statusForErrorType(errorType), errorType, message: err.message, internal: false };
    }
    if (err.name === 'TimeoutError') return { status: 503, errorType: 'timeout', message: 'query timed out', internal: false };
    if (err.name === 'AbortError') {
      return { status: STATUS_CLIENT_CLOSED_REQUEST, errorType: 'canceled', message: 'query was canceled', internal: false };
    }
    // Fastify's own request errors (FST_ERR_CTP_*: bad or too large bodies) are the client's fault.
    const statusCode = (err as { statusCode?: unknown }).statusCode;
    const code = (err as { code?: unknown }).code;
    if (typeof statusCode === 'number' && statusCode >= 400 && statusCode < 500 && typeof code === 'string' && code.startsWith('FST_')) {
      return { status: statusCode, errorType: typeForStatus(statusCode), message: err.message, internal: false };
    }
  }
  return internalError(requestId);
}

function internalError(requestId: string | undefined): MappedApiError {
  const id = requestId === undefined ? '' : ` (request id ${requestId})`;
  return { status: 500, errorType: 'internal', message: `internal server error${id}; details are in the server log`, internal: true };
}
