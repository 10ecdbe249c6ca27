import type { Rejection, TenantId } from '../model/index.ts';

/**
 * What one `append` did: how many samples/entries of the record were accepted, and a rejection for each part
 * that was refused. Bad data is reported here, never thrown.
 */
export interface AppendOutcome {
  readonly accepted: number;
  readonly rejections: readonly Rejection[];
}

/** What a successful commit made durable. */
export interface CommitStats {
  /** Float samples, log entries, spans or profiles written; exact re-sends of stored ones count as written. */
  readonly records: number;
  readonly histograms?: number;
  readonly exemplars?: number;
  /** Series or streams created by this commit. */
  readonly newSeries?: number;
}

/**
 * A write transaction for one tenant and one signal.
 *
 * Contract: not safe for concurrent use; records of one series keep their order. Call `append` any number of
 * times, then exactly one of `commit` or `rollback`; the appender cannot be reused afterwards (`rollback` after a rejected `commit` is a no-op). `commit`
 * resolves only once every accepted record is durable (it survives `kill -9`) and queryable; it rejects
 * with a {@link RetryableStorageError} on overload or shutdown, in which case nothing of the batch was kept.
 */
export interface Appender<R> {
  append(record: R): AppendOutcome;
  commit(): Promise<CommitStats>;
  rollback(): void;
}

/** Something that hands out appenders: an engine, or a client forwarding to a remote engine. */
export interface Appendable<R> {
  /** Returns a new transaction writing to `tenant`. */
  appender(tenant: TenantId): Appender<R>;
}
