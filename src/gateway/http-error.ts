import { HeimdallError } from '../model/index.ts';
import type { ErrorKind } from '../model/index.ts';

/** The kind an HTTP status stands for (the inverse of `HTTP_STATUS_FOR_KIND` where it is one-to-one). */
function kindForStatus(status: number): ErrorKind {
  switch (status) {
    case 400:
      return 'bad_data';
    case 401:
      return 'unauthenticated';
    case 403:
      return 'forbidden';
    case 404:
      return 'not_found';
    case 405:
      return 'method_not_allowed';
    case 406:
      return 'not_acceptable';
    case 413:
      return 'too_large';
    case 415:
      return 'unsupported_media_type';
    case 422:
      return 'execution';
    case 429:
      return 'rate_limited';
    case 499:
      return 'canceled';
    case 501:
      return 'not_implemented';
    case 503:
      return 'unavailable';
    default:
      return 'internal';
  }
}

/**
 * Compatibility only, while the query side moves to {@link HeimdallError}: a HeimdallError built from an
 * HTTP status. New code throws `new HeimdallError(kind, ...)` instead; the gateway no longer throws this.
 */
export class HttpError extends HeimdallError {
  readonly status: number;
  constructor(status: number, code: string, message: string, options?: ErrorOptions & { retryAfterSeconds?: number }) {
    super(kindForStatus(status), message, {
      code,
      ...(options?.cause === undefined ? {} : { cause: options.cause }),
      ...(options?.retryAfterSeconds === undefined ? {} : { retryAfterSeconds: options.retryAfterSeconds }),
    });
    this.name = 'HttpError';
    this.status = status;
  }

  override get httpStatus(): number {
    return this.status;
  }
}
