import { RetryableStorageError, StorageUnavailableError, storageUnavailableCodeOf } from './errors.ts';

/**
 * What an engine asks about its data directory around writes (implemented by the process' data-directory
 * monitor; engines opened without one classify failures by errno alone).
 *
 * Contract: `writeRefusal` is synchronous and cheap (called on every commit); `diagnose` is called after a
 * write failed, probes the directory, records what it found (so `/ready` and later refusals reflect it)
 * and returns the error to answer, or undefined when the failure is not about the directory.
 */
export interface StorageHealth {
  /** The error to refuse writes with right now (the data directory is lost or unwritable), or undefined. */
  writeRefusal(): StorageUnavailableError | undefined;
  /** Classifies a failed write of about `bytes` bytes. Never rejects. */
  diagnose(err: unknown, bytes: number): Promise<StorageUnavailableError | undefined>;
}

/**
 * The error to answer for a failed write: a {@link StorageUnavailableError} when `health` (or, without
 * one, the I/O error's errno) says the data directory is full or unavailable; retryable storage errors and
 * anything else pass unchanged. `dir` is the engine's directory, named in messages made without `health`.
 */
export async function diagnoseWriteFailure(err: unknown, bytes: number, health: StorageHealth | undefined, dir: string): Promise<unknown> {
  if (err instanceof StorageUnavailableError || err instanceof RetryableStorageError) return err;
  const diagnosed = health ? await health.diagnose(err, bytes) : undefined;
  if (diagnosed) return diagnosed;
  switch (storageUnavailableCodeOf(err)) {
    case 'disk_full':
      return new StorageUnavailableError('disk_full', `no space left for data directory ${dir}; free space, writes resume by themselves`, { cause: err });
    case 'data_dir_unavailable':
      return new StorageUnavailableError('data_dir_unavailable', `data directory ${dir} is not writable or was removed`, { cause: err });
    default:
      return err;
  }
}
