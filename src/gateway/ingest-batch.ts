import type { Rejection, Signal, TenantId } from '../model/index.ts';
import type { SelfMetrics } from '../selfobs/index.ts';
import type { Appendable, CommitStats } from '../storage/index.ts';

/** The outcome of writing one request's per-tenant batches. */
export interface IngestResult<R = unknown> {
  readonly accepted: number;
  readonly histograms: number;
  readonly exemplars: number;
  /** Decoder, tenancy and storage rejections together; each already counted in the discard metric. */
  readonly rejections: readonly Rejection[];
  /** Records refused in whole or in part by tenancy or storage (decoder rejections have no record). */
  readonly rejectedRecords: readonly R[];
}

/**
 * Appends every tenant's batch and commits it, the write step of the ingest pipeline. Rejections (from
 * decoding, tenancy or storage) are counted in `heimdall_discarded_records_total`; good records are
 * committed regardless. A storage failure rolls the tenant's batch back and is rethrown: storage errors are
 * HeimdallErrors (overload `rate_limited` 429, shutdown or disk full `unavailable` 503, with `Retry-After`).
 * Batches of other tenants committed before it stay committed, which is safe because a retried write is
 * idempotent for every engine.
 */
export async function appendAndCommit<R>(
  signal: Signal,
  appendable: Appendable<R>,
  batches: ReadonlyMap<TenantId, readonly R[]>,
  earlierRejections: readonly { tenant: string; rejection: Rejection; record?: R }[],
  metrics: SelfMetrics,
): Promise<IngestResult<R>> {
  const rejections: Rejection[] = [];
  const rejectedRecords: R[] = [];
  for (const { tenant, rejection, record } of earlierRejections) {
    metrics.discard(signal, rejection.reason, tenant, rejection.count);
    rejections.push(rejection);
    if (record !== undefined) rejectedRecords.push(record);
  }
  let accepted = 0;
  let histograms = 0;
  let exemplars = 0;
  for (const [tenant, records] of batches) {
    const appender = appendable.appender(tenant);
    let stats: CommitStats;
    try {
      for (const record of records) {
        const outcome = appender.append(record);
        if (outcome.rejections.length > 0) rejectedRecords.push(record);
        for (const r of outcome.rejections) {
          metrics.discard(signal, r.reason, tenant, r.count);
          rejections.push(r);
        }
      }
      stats = await appender.commit();
    } catch (err) {
      appender.rollback();
      // A RetryableStorageError is a HeimdallError of a retryable kind (rate_limited/unavailable).
      throw err;
    }
    accepted += stats.records;
    histograms += stats.histograms ?? 0;
    exemplars += stats.exemplars ?? 0;
    metrics.receivedRecords.inc({ signal, tenant }, stats.records + (stats.histograms ?? 0));
  }
  return { accepted, histograms, exemplars, rejections, rejectedRecords };
}

