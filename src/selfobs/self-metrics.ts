import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { DiscardReason, Signal } from '../model/index.ts';

/** prom-client default gauges whose names end in `_total` (see the constructor). */
const NON_COUNTER_TOTALS = ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total'];

/**
 * Heimdall's own metrics, exposed on `GET /metrics`. One instance per process; roles register their own
 * collectors on `registry` under the `heimdall_<subsystem>_<name>_<unit>` naming rule.
 */
export class SelfMetrics {
  readonly registry = new Registry();
  readonly httpRequests: Counter<'route' | 'method' | 'code'>;
  readonly httpDuration: Histogram<'route' | 'method'>;
  readonly discardedRecords: Counter<'signal' | 'reason' | 'tenant'>;
  readonly receivedRecords: Counter<'signal' | 'tenant'>;
  readonly storageUnavailableWrites: Counter<'reason'>;

  constructor() {
    collectDefaultMetrics({ register: this.registry });
    // prom-client exposes these totals as gauges named like counters, which `promtool check metrics`
    // refuses; `sum(nodejs_active_handles)` (and requests, resources), by type, gives the same numbers.
    for (const name of NON_COUNTER_TOTALS) this.registry.removeSingleMetric(name);
    this.httpRequests = new Counter({
      name: 'heimdall_http_requests_total',
      help: 'HTTP requests served, by route template, method and status code.',
      labelNames: ['route', 'method', 'code'],
      registers: [this.registry],
    });
    this.httpDuration = new Histogram({
      name: 'heimdall_http_request_duration_seconds',
      help: 'Time spent serving HTTP requests, by route template and method.',
      labelNames: ['route', 'method'],
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers: [this.registry],
    });
    this.discardedRecords = new Counter({
      name: 'heimdall_discarded_records_total',
      help: 'Records (samples, log entries, spans, profiles) dropped on ingest, by signal, reason and tenant.',
      labelNames: ['signal', 'reason', 'tenant'],
      registers: [this.registry],
    });
    this.receivedRecords = new Counter({
      name: 'heimdall_received_records_total',
      help: 'Records accepted and committed on ingest, by signal and tenant.',
      labelNames: ['signal', 'tenant'],
      registers: [this.registry],
    });
    this.storageUnavailableWrites = new Counter({
      name: 'heimdall_storage_unavailable_writes_total',
      help: 'Write batches answered 503 because the data directory was full (disk_full) or lost or unwritable (data_dir_unavailable).',
      labelNames: ['reason'],
      registers: [this.registry],
    });
  }

  /** Counts `count` dropped records. */
  discard(signal: Signal, reason: DiscardReason, tenant: string, count = 1): void {
    this.discardedRecords.inc({ signal, reason, tenant }, count);
  }
}
