/**
 * A storage failure the sender should retry (overload, a full queue, shutting down). The gateway maps it to
 * 429 or 503 with `Retry-After`, after rolling back the batch.
 */
export class RetryableStorageError extends Error {
  readonly kind: 'overloaded' | 'shutting_down';
  readonly retryAfterSeconds: number;
  constructor(kind: 'overloaded' | 'shutting_down', message: string, retryAfterSeconds = 1, options?: ErrorOptions) {
    super(message, options);
    this.name = 'RetryableStorageError';
    this.kind = kind;
    this.retryAfterSeconds = retryAfterSeconds;
  }
}

/** A query exceeded a configured limit (samples loaded, series, bytes). Maps to Prometheus' `execution` error. */
export class QueryLimitError extends Error {
  readonly limit: string;
  constructor(limit: string, message: string) {
    super(message);
    this.name = 'QueryLimitError';
    this.limit = limit;
  }
}

/** A data directory holds a format this build cannot read (newer, or corrupt). Refuse to start. */
export class StorageFormatError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'StorageFormatError';
  }
}
