import { HeimdallError } from '../model/index.ts';

/** Why a storage write or read should be retried: too much work queued, or the engine is closing. */
export type RetryableStorageReason = 'overloaded' | 'shutting_down';

/**
 * A storage failure the sender should retry (overload, a full queue, shutting down). Kind `rate_limited`
 * (429) for overload and `unavailable` (503) for shutdown, both with `Retry-After`; the write paths roll
 * back the batch first.
 */
export class RetryableStorageError extends HeimdallError {
  readonly reason: RetryableStorageReason;
  constructor(reason: RetryableStorageReason, message: string, retryAfterSeconds = 1, options?: ErrorOptions) {
    super(reason === 'overloaded' ? 'rate_limited' : 'unavailable', message, {
      code: reason,
      retryAfterSeconds,
      ...(options?.cause === undefined ? {} : { cause: options.cause }),
    });
    this.name = 'RetryableStorageError';
    this.reason = reason;
  }
}

/**
 * A query exceeded a configured limit (samples loaded, series, bytes): kind `execution` (Prometheus'
 * `execution` error, 422); `code` names the limit.
 */
export class QueryLimitError extends HeimdallError {
  readonly limit: string;
  constructor(limit: string, message: string) {
    super('execution', message, { code: limit });
    this.name = 'QueryLimitError';
    this.limit = limit;
  }
}

/** A data directory holds a format this build cannot read (newer, or corrupt). Refuse to start. Kind `internal`. */
export class StorageFormatError extends HeimdallError {
  constructor(message: string, options?: ErrorOptions) {
    super('internal', message, { code: 'storage_format', ...(options?.cause === undefined ? {} : { cause: options.cause }) });
    this.name = 'StorageFormatError';
  }
}
