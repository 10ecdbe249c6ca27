import type { SpanRecord, TenantId } from '../model/index.ts';
import type { Appendable, Appender, AppendOutcome, CommitStats } from '../storage/index.ts';

/** Where committed spans are handed after the store made them durable. */
export type CommittedSpans = (tenant: TenantId, records: readonly SpanRecord[]) => void;

/**
 * The traces `Appendable` as the gateway writes to it: every append goes to `inner`; once a commit resolved
 * (the spans are durable), the records the store took whole are handed to `onCommitted` (the
 * metrics-generator), so it sees exactly the committed spans, never a rolled-back or refused one. A record
 * the store refused in part is left out (its accepted spans cannot be told apart).
 */
export function teeCommittedSpans(inner: Appendable<SpanRecord>, onCommitted: CommittedSpans): Appendable<SpanRecord> {
  return {
    appender(tenant: TenantId): Appender<SpanRecord> {
      const target = inner.appender(tenant);
      const taken: SpanRecord[] = [];
      return {
        append(record: SpanRecord): AppendOutcome {
          const outcome = target.append(record);
          if (outcome.rejections.length === 0) taken.push(record);
          return outcome;
        },
        async commit(): Promise<CommitStats> {
          const stats = await target.commit();
          if (taken.length > 0) onCommitted(tenant, taken);
          return stats;
        },
        rollback(): void {
          taken.length = 0;
          target.rollback();
        },
      };
    },
  };
}
