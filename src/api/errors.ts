import { HTTP_STATUS_FOR_KIND, HeimdallError, isHeimdallError, isRetryableKind } from '../model/index.ts';
import type { ErrorKind, HeimdallErrorOptions } from '../model/index.ts';

/**
 * The `errorType` a query API reports: Prometheus' vocabulary (`web/api/v1/api.go`), which Loki and Tempo
 * reuse, plus the authentication kinds (Prometheus has none; a 401 must not read as `bad_data`).
 */
export type ApiErrorType =
  | 'bad_data'
  | 'execution'
  | 'timeout'
  | 'canceled'
  | 'internal'
  | 'unavailable'
  | 'not_found'
  | 'not_acceptable'
  | 'unauthenticated'
  | 'forbidden';

/** Which upstream a query API imitates; they differ in one status (Loki and Tempo answer 504 for a timeout). */
export type ApiFlavor = 'prometheus' | 'loki' | 'tempo';

/**
 * A query API failure thrown by request parsing and handlers: a {@link HeimdallError} whose kind is the
 * API error kind. The message is shown verbatim, so it must not leak internals.
 */
export class ApiError extends HeimdallError {
  constructor(kind: ErrorKind, message: string, options?: HeimdallErrorOptions) {
    super(kind, message, options);
    this.name = 'ApiError';
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

/** The `errorType` of a kind: itself where Prometheus (or authentication) has the type, else the nearest. */
function errorTypeForKind(kind: ErrorKind): ApiErrorType {
  switch (kind) {
    case 'bad_data':
    case 'execution':
    case 'timeout':
    case 'canceled':
    case 'internal':
    case 'unavailable':
    case 'not_found':
    case 'not_acceptable':
    case 'unauthenticated':
    case 'forbidden':
      return kind;
    case 'rate_limited':
    case 'not_implemented':
      return 'unavailable';
    case 'method_not_allowed':
    case 'too_large':
    case 'unsupported_media_type':
      return 'bad_data';
  }
}

/**
 * The HTTP status of a kind in a flavor: the one table, except the 504 Loki and Tempo answer for timeouts
 * (Tempo's query frontend turns `context.DeadlineExceeded` into `http.StatusGatewayTimeout`).
 */
export function apiStatusForKind(kind: ErrorKind, flavor: ApiFlavor): number {
  if ((flavor === 'loki' || flavor === 'tempo') && kind === 'timeout') return 504;
  return HTTP_STATUS_FOR_KIND[kind];
}

/** Fastify's own request errors (FST_ERR_*: unparsable or oversized bodies) are the client's fault. */
function fastifyKind(err: Error): ErrorKind | undefined {
  const statusCode = (err as { statusCode?: unknown }).statusCode;
  const code = (err as { code?: unknown }).code;
  if (typeof statusCode !== 'number' || statusCode < 400 || statusCode >= 500 || typeof code !== 'string' || !code.startsWith('FST_')) {
    return undefined;
  }
  if (statusCode === 413) return 'too_large';
  if (statusCode === 415) return 'unsupported_media_type';
  if (statusCode === 404) return 'not_found';
  if (statusCode === 405) return 'method_not_allowed';
  return 'bad_data';
}

/** Any thrown value as a HeimdallError: itself, an abort (by the DOMException name) or a Fastify 4xx; else undefined. */
function asHeimdallError(err: unknown): HeimdallError | undefined {
  if (isHeimdallError(err)) return err;
  if (!(err instanceof Error)) return undefined;
  if (err.name === 'TimeoutError') return new HeimdallError('timeout', 'query timed out', { cause: err });
  if (err.name === 'AbortError') return new HeimdallError('canceled', 'query was canceled', { cause: err });
  const kind = fastifyKind(err);
  return kind === undefined ? undefined : new HeimdallError(kind, err.message, { cause: err });
}

/**
 * The one mapper from an error to what a query API answers (ARCHITECTURE.md §6): a {@link HeimdallError}
 * (every query-side error is one: `ApiError`, `PromqlError`, `LogqlError`, `TenantError`,
 * `QueryLimitError`, `RetryableStorageError`) gets the status of its kind from the one table
 * (`HTTP_STATUS_FOR_KIND`; Loki and Tempo answer 504 for a timeout), its message, and `Retry-After` when retryable;
 * aborts are `canceled` (499) or `timeout`; Fastify's own 4xx keep their meaning. Anything else, and every
 * `internal` kind, is a 500 with a generic message naming `requestId` and `internal: true`, so the caller
 * logs the full error.
 */
export function toApiError(err: unknown, requestId?: string, flavor: ApiFlavor = 'prometheus'): MappedApiError {
  const known = asHeimdallError(err);
  if (known === undefined || known.kind === 'internal') return internalError(requestId);
  const mapped: MappedApiError = {
    status: apiStatusForKind(known.kind, flavor),
    errorType: errorTypeForKind(known.kind),
    message: known.message,
    internal: false,
  };
  if (!isRetryableKind(known.kind)) return mapped;
  return { ...mapped, retryAfterSeconds: known.retryAfterSeconds ?? 1 };
}

function internalError(requestId: string | undefined): MappedApiError {
  const id = requestId === undefined ? '' : ` (request id ${requestId})`;
  return { status: 500, errorType: 'internal', message: `internal server error${id}; details are in the server log`, internal: true };
}
