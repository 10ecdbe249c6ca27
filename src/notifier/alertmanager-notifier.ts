import { Counter, Gauge } from 'prom-client';
import type { Registry } from 'prom-client';
import type { Logger } from 'pino';
import type { NotifiableAlert } from '../model/index.ts';

/** Settings of the Alertmanager client (`rules.alertmanager_*` config). */
export interface AlertmanagerNotifierOptions {
  /** Alertmanager base URLs (`http://host:9093`, or with a path prefix); alerts go to `<url>/api/v2/alerts`. */
  readonly urls: readonly string[];
  /** Alerts queued at most; past it the oldest are dropped and counted (Prometheus' `--alertmanager.notification-queue-capacity`). */
  readonly queueCapacity: number;
  /** Alerts per request (Prometheus sends at most 64). */
  readonly maxBatch: number;
  readonly timeoutMs: number;
  readonly logger: Logger;
  readonly registry: Registry;
}

interface Queued {
  readonly tenant: string;
  readonly alert: NotifiableAlert;
}

/**
 * Sends alerts to Alertmanagers through their v2 API, as Prometheus' notifier does: alerts are queued,
 * sent in batches to every configured Alertmanager (`POST /api/v2/alerts`, JSON `PostableAlert`s) with the
 * tenant in `X-Scope-OrgID` (Mimir's multi-tenant Alertmanager reads it; a plain one ignores it). A failed
 * send is counted and logged, not retried: the ruler resends firing alerts every resend delay, so the next
 * send carries them again, and Alertmanager deduplicates. Batches of different tenants are never mixed.
 */
export class AlertmanagerNotifier {
  private queue: Queued[] = [];
  private sending?: Promise<void>;
  private stopped = false;
  private readonly sent: Counter<'alertmanager'>;
  private readonly errors: Counter<'alertmanager'>;
  private readonly dropped: Counter;
  private readonly queueLength: Gauge;

  constructor(private readonly options: AlertmanagerNotifierOptions) {
    const registers = [options.registry];
    this.sent = new Counter({ name: 'heimdall_notifications_sent_total', help: 'Alerts sent to an Alertmanager.', labelNames: ['alertmanager'], registers });
    this.errors = new Counter({ name: 'heimdall_notifications_errors_total', help: 'Alerts whose sending to an Alertmanager failed.', labelNames: ['alertmanager'], registers });
    this.dropped = new Counter({ name: 'heimdall_notifications_dropped_total', help: 'Alerts dropped because the notification queue was full.', registers });
    this.queueLength = new Gauge({ name: 'heimdall_notifications_queue_length', help: 'Alerts waiting to be sent.', registers, collect: () => this.queueLength.set(this.queue.length) });
  }

  /** Queues `alerts` of `tenant` for sending; returns at once. */
  send(tenant: string, alerts: readonly NotifiableAlert[]): void {
    if (this.stopped || this.options.urls.length === 0) return;
    for (const alert of alerts) this.queue.push({ tenant, alert });
    const over = this.queue.length - this.options.queueCapacity;
    if (over > 0) {
      this.queue.splice(0, over);
      this.dropped.inc(over);
    }
    this.sending ??= this.drain().finally(() => (this.sending = undefined));
  }

  /** Sends what is queued, then stops accepting alerts. */
  async stop(): Promise<void> {
    await this.sending;
    this.stopped = true;
  }

  private async drain(): Promise<void> {
    while (this.queue.length > 0) {
      const tenant = this.queue[0]!.tenant;
      const batch: NotifiableAlert[] = [];
      while (batch.length < this.options.maxBatch && this.queue[0]?.tenant === tenant) batch.push(this.queue.shift()!.alert);
      await Promise.all(this.options.urls.map((url) => this.post(url, tenant, batch)));
    }
  }

  private async post(base: string, tenant: string, alerts: readonly NotifiableAlert[]): Promise<void> {
    const url = `${base.replace(/\/$/, '')}/api/v2/alerts`;
    try {
      const res = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-scope-orgid': tenant },
        body: JSON.stringify(alerts),
        signal: AbortSignal.timeout(this.options.timeoutMs),
      });
      await res.arrayBuffer().catch(() => undefined);
      if (!res.ok) throw new Error(`HTTP ${res.status}`);
      this.sent.inc({ alertmanager: base }, alerts.length);
    } catch (err) {
      this.errors.inc({ alertmanager: base }, alerts.length);
      this.options.logger.warn({ alertmanager: url, count: alerts.length, err: (err as Error).message }, 'sending alerts to Alertmanager failed');
    }
  }
}
