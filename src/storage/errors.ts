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

/** Why the data directory cannot take writes: no space (or quota, or file size limit), or the directory is gone or read-only. */
export type StorageUnavailableCode = 'disk_full' | 'data_dir_unavailable';

/** Seconds a sender should wait before retrying a write refused because of the data directory. */
export const STORAGE_UNAVAILABLE_RETRY_AFTER_SECONDS = 10;

/**
 * A write refused because the data directory cannot take it: the disk is full (`disk_full`), or the
 * directory was deleted, replaced or made unwritable (`data_dir_unavailable`). Nothing of the batch was
 * kept and the engine's logs are consistent, so the sender retries after `Retry-After` (503 / UNAVAILABLE
 * on every write path). The message names the data directory.
 */
export class StorageUnavailableError extends HeimdallError {
  override readonly code: StorageUnavailableCode;
  constructor(code: StorageUnavailableCode, message: string, options?: ErrorOptions) {
    super('unavailable', message, {
      code,
      retryAfterSeconds: STORAGE_UNAVAILABLE_RETRY_AFTER_SECONDS,
      ...(options?.cause === undefined ? {} : { cause: options.cause }),
    });
    this.name = 'StorageUnavailableError';
    this.code = code;
  }
}

const DISK_FULL_ERRNOS = new Set(['ENOSPC', 'EDQUOT', 'EFBIG']);
const DIR_UNAVAILABLE_ERRNOS = new Set(['ENOENT', 'ESTALE', 'EROFS', 'EACCES', 'EPERM', 'ENOTDIR']);

/**
 * What an I/O error of a write says about the data directory, from its errno code (on the error or any
 * `cause` in its chain): `disk_full`, `data_dir_unavailable`, or undefined for anything else (EIO, bugs).
 */
export function storageUnavailableCodeOf(err: unknown): StorageUnavailableCode | undefined {
  for (let e: unknown = err, depth = 0; e instanceof Error && depth < 8; e = e.cause, depth++) {
    const errno = (e as NodeJS.ErrnoException).code;
    if (typeof errno !== 'string') continue;
    if (DISK_FULL_ERRNOS.has(errno)) return 'disk_full';
    if (DIR_UNAVAILABLE_ERRNOS.has(errno)) return 'data_dir_unavailable';
  }
  return undefined;
}
