/**
 * The one error vocabulary (ARCHITECTURE.md §6). Every error Heimdall reports to a client is a
 * {@link HeimdallError} (or a subclass) carrying its {@link ErrorKind}; the HTTP status and the gRPC code
 * come from the two tables below and nowhere else, and no contract is decided by matching a message's text.
 *
 * Kinds follow Prometheus' API error types where one exists (`bad_data`, `execution`, `timeout`,
 * `canceled`, `internal`, `unavailable`, `not_found`, `not_acceptable`) so query APIs can report
 * `errorType` without a second table; the rest name the HTTP-level failures of the write paths.
 */
export type ErrorKind =
  /** Malformed request, body, parameter or query (parse errors carry line and column). */
  | 'bad_data'
  /** No credentials or tenant where one is required (`no org id`). */
  | 'unauthenticated'
  /** Authenticated but not allowed. */
  | 'forbidden'
  | 'not_found'
  /** The path exists, the method does not (Prometheus and Loki answer 405). */
  | 'method_not_allowed'
  | 'not_acceptable'
  /** A body or message over a configured size (the message names the setting). */
  | 'too_large'
  /** A content type or protocol version the endpoint does not take. */
  | 'unsupported_media_type'
  /** A query that parsed but failed while evaluating, including exceeded query limits. */
  | 'execution'
  /** Retryable: a per-tenant rate or in-flight budget was exceeded. */
  | 'rate_limited'
  /** The client went away or the server is cancelling the work. */
  | 'canceled'
  /** A bug or an I/O failure; the client sees a generic message with a request id. */
  | 'internal'
  /** A known endpoint or signal that this build does not serve yet, or that is disabled. */
  | 'not_implemented'
  /** Retryable: overload, shutdown, disk full, storage not writable. */
  | 'unavailable'
  /** A query ran past its time budget. */
  | 'timeout';

/** The nginx status Prometheus answers when the client closed the request mid-query. */
export const STATUS_CLIENT_CLOSED_REQUEST = 499;

/** The one kind → HTTP status table. Loki answers 504 for timeouts; its API applies that one difference. */
export const HTTP_STATUS_FOR_KIND: Readonly<Record<ErrorKind, number>> = {
  bad_data: 400,
  unauthenticated: 401,
  forbidden: 403,
  not_found: 404,
  method_not_allowed: 405,
  not_acceptable: 406,
  too_large: 413,
  unsupported_media_type: 415,
  execution: 422,
  rate_limited: 429,
  canceled: STATUS_CLIENT_CLOSED_REQUEST,
  internal: 500,
  not_implemented: 501,
  unavailable: 503,
  timeout: 503,
};

/**
 * The one kind → gRPC status code table (numeric values of `grpc.status`; `model/` imports no library).
 * Matches OTLP's HTTP↔gRPC mapping: retryable kinds are RESOURCE_EXHAUSTED/UNAVAILABLE.
 */
export const GRPC_CODE_FOR_KIND: Readonly<Record<ErrorKind, number>> = {
  bad_data: 3, // INVALID_ARGUMENT
  unauthenticated: 16, // UNAUTHENTICATED
  forbidden: 7, // PERMISSION_DENIED
  not_found: 5, // NOT_FOUND
  method_not_allowed: 12, // UNIMPLEMENTED
  not_acceptable: 3, // INVALID_ARGUMENT
  too_large: 8, // RESOURCE_EXHAUSTED
  unsupported_media_type: 3, // INVALID_ARGUMENT
  execution: 3, // INVALID_ARGUMENT
  rate_limited: 8, // RESOURCE_EXHAUSTED
  canceled: 1, // CANCELLED
  internal: 13, // INTERNAL
  not_implemented: 12, // UNIMPLEMENTED
  unavailable: 14, // UNAVAILABLE
  timeout: 4, // DEADLINE_EXCEEDED
};

/**
 * The one kind → Connect error table (connectrpc.com's protocol, which Pyroscope's APIs speak): the code
 * written in the JSON error body and the HTTP status Connect assigns to it.
 */
export const CONNECT_ERROR_FOR_KIND: Readonly<Record<ErrorKind, { readonly code: string; readonly status: number }>> = {
  bad_data: { code: 'invalid_argument', status: 400 },
  unauthenticated: { code: 'unauthenticated', status: 401 },
  forbidden: { code: 'permission_denied', status: 403 },
  not_found: { code: 'not_found', status: 404 },
  method_not_allowed: { code: 'unimplemented', status: 501 },
  not_acceptable: { code: 'invalid_argument', status: 400 },
  too_large: { code: 'resource_exhausted', status: 429 },
  unsupported_media_type: { code: 'invalid_argument', status: 400 },
  execution: { code: 'invalid_argument', status: 400 },
  rate_limited: { code: 'resource_exhausted', status: 429 },
  canceled: { code: 'canceled', status: 499 },
  internal: { code: 'internal', status: 500 },
  not_implemented: { code: 'unimplemented', status: 501 },
  unavailable: { code: 'unavailable', status: 503 },
  timeout: { code: 'deadline_exceeded', status: 504 },
};

/** Kinds a sender should retry after `Retry-After` (senders retry exactly 429/502/503/504). */
export function isRetryableKind(kind: ErrorKind): boolean {
  return kind === 'rate_limited' || kind === 'unavailable';
}

/** Options of a {@link HeimdallError} beyond the standard `cause`. */
export interface HeimdallErrorOptions extends ErrorOptions {
  /** A stable snake_case code for clients and logs (e.g. `body_too_large`, `no_org_id`); defaults to the kind. */
  readonly code?: string;
  /** For retryable kinds: the `Retry-After` seconds (default 1). */
  readonly retryAfterSeconds?: number;
}

/**
 * An error with a kind, a stable code and a message fit for the client (it is shown verbatim, so it must
 * not leak internals; put those in `cause`). Subclasses keep their own names for logs but never change how
 * the kind maps to a status.
 */
export class HeimdallError extends Error {
  readonly kind: ErrorKind;
  readonly code: string;
  readonly retryAfterSeconds: number | undefined;
  constructor(kind: ErrorKind, message: string, options?: HeimdallErrorOptions) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'HeimdallError';
    this.kind = kind;
    this.code = options?.code ?? kind;
    this.retryAfterSeconds = options?.retryAfterSeconds ?? (isRetryableKind(kind) ? 1 : undefined);
  }

  /** The HTTP status of this error's kind. */
  get httpStatus(): number {
    return HTTP_STATUS_FOR_KIND[this.kind];
  }

  /** The gRPC status code of this error's kind. */
  get grpcCode(): number {
    return GRPC_CODE_FOR_KIND[this.kind];
  }
}

/** Narrowing helper for code that receives `unknown` from a catch clause. */
export function isHeimdallError(err: unknown): err is HeimdallError {
  return err instanceof HeimdallError;
}
