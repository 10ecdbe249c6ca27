import type { Logger } from 'pino';
import { labelValue } from '../model/index.ts';
import type { LogRecord, MetricRecord } from '../model/index.ts';
import type { Appendable } from '../storage/index.ts';
import type { TenantResolver } from '../tenant/index.ts';

/**
 * Where the agent's collectors put their records: each batch is split by tenant (the record's `namespace`
 * label through the tenant resolver; records without one go to the default tenant) and committed to the
 * signal's Appendable, which app/ wires to the forwarding queues. A commit resolves once every record is durable
 * in the queue, so a collector advances its own state (log positions) only after `write` resolves; a full queue
 * rejects (a retryable error) and the collector keeps its data for the next round.
 */
export class RecordSink {
  constructor(
    private readonly tenants: TenantResolver,
    private readonly logger: Logger,
    private readonly metrics: Appendable<MetricRecord> | undefined,
    private readonly logs: Appendable<LogRecord> | undefined,
  ) {}

  /** Whether metrics have somewhere to go (collectors that only make metrics stay off otherwise). */
  get sendsMetrics(): boolean {
    return this.metrics !== undefined;
  }

  get sendsLogs(): boolean {
    return this.logs !== undefined;
  }

  writeMetrics(records: readonly MetricRecord[]): Promise<void> {
    return this.write(this.metrics, records, 'metrics');
  }

  writeLogs(records: readonly LogRecord[]): Promise<void> {
    return this.write(this.logs, records, 'logs');
  }

  private async write<R extends { readonly labels: MetricRecord['labels'] }>(target: Appendable<R> | undefined, records: readonly R[], signal: string): Promise<void> {
    if (target === undefined || records.length === 0) return;
    const { batches, invalid } = this.tenants.split(records, { kind: 'by-namespace' }, (r) => labelValue(r.labels, 'namespace'));
    for (const bad of invalid) {
      this.logger.warn({ signal, namespace: bad.namespace }, `record dropped: its namespace makes no valid tenant id: ${bad.message}`);
    }
    await Promise.all(
      [...batches].map(async ([tenant, batch]) => {
        const app = target.appender(tenant);
        for (const r of batch) app.append(r);
        await app.commit();
      }),
    );
  }
}
