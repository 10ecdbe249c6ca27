import { Counter, Gauge, Histogram } from 'prom-client';
import type { SelfMetrics } from '../selfobs/index.ts';

/** Why a forwarded batch was sent again. */
export type RetryReason = 'http_429' | 'http_5xx' | 'network';
/**
 * Why forwarded records were given up on: the remote refused them for good (a 4xx but 429), a queued item could
 * not be decoded or read back, its frame on disk was corrupt (skipped), or this endpoint's queue was full while
 * another endpoint of the signal took the batch.
 */
export type ForwardDropReason = 'http_4xx' | 'unreadable_queue' | 'corrupt_queue' | 'queue_full';

/** What the gauges read from each endpoint's queue at scrape time. */
export interface QueueGaugeSource {
  readonly signal: string;
  readonly endpoint: string;
  readonly bytes: number;
  readonly records: number;
}

/**
 * The forwarding self-metrics, per signal and endpoint (`heimdall_forward_*`). One instance per process, registered
 * on the self-metrics registry; queues register themselves as gauge sources.
 */
export class ForwardMetrics {
  readonly sentRecords: Counter<'signal' | 'endpoint'>;
  readonly sentBytes: Counter<'signal' | 'endpoint'>;
  readonly retries: Counter<'signal' | 'endpoint' | 'reason'>;
  readonly droppedRecords: Counter<'signal' | 'endpoint' | 'reason'>;
  readonly sendDuration: Histogram<'signal' | 'endpoint'>;
  readonly corruptBytes: Counter<'signal' | 'endpoint'>;
  private readonly sources = new Set<QueueGaugeSource>();

  constructor(self: SelfMetrics) {
    const registers = [self.registry];
    const labelNames = ['signal', 'endpoint'] as const;
    const sources = this.sources;
    new Gauge({
      name: 'heimdall_forward_queue_bytes',
      help: 'Bytes in the on-disk forwarding queue of an endpoint (written, not yet acknowledged by the remote).',
      labelNames,
      registers,
      collect() {
        this.reset();
        for (const s of sources) this.set({ signal: s.signal, endpoint: s.endpoint }, s.bytes);
      },
    });
    new Gauge({
      name: 'heimdall_forward_queue_records',
      help: 'Records (samples and histograms, log entries, spans) in the forwarding queue of an endpoint, not yet acknowledged by the remote.',
      labelNames,
      registers,
      collect() {
        this.reset();
        for (const s of sources) this.set({ signal: s.signal, endpoint: s.endpoint }, s.records);
      },
    });
    this.sentRecords = new Counter({
      name: 'heimdall_forward_sent_records_total',
      help: 'Records the remote endpoint acknowledged with a 2xx.',
      labelNames,
      registers,
    });
    this.sentBytes = new Counter({
      name: 'heimdall_forward_sent_bytes_total',
      help: 'Request body bytes (compressed, as sent) the remote endpoint acknowledged.',
      labelNames,
      registers,
    });
    this.retries = new Counter({
      name: 'heimdall_forward_retries_total',
      help: 'Batches sent again after a 429, a 5xx or a network error, by reason.',
      labelNames: ['signal', 'endpoint', 'reason'],
      registers,
    });
    this.droppedRecords = new Counter({
      name: 'heimdall_forward_dropped_records_total',
      help: 'Records given up on: refused by the remote with a 4xx other than 429 (http_4xx), unreadable from the queue (unreadable_queue), in a corrupt queue frame (corrupt_queue), or refused by a full queue while other endpoints took them (queue_full).',
      labelNames: ['signal', 'endpoint', 'reason'],
      registers,
    });
    this.corruptBytes = new Counter({
      name: 'heimdall_forward_queue_corrupt_bytes_total',
      help: 'Bytes of the on-disk forwarding queue that failed their frame length or checksum and were skipped (the records in them are counted as dropped, reason corrupt_queue, when known).',
      labelNames,
      registers,
    });
    this.sendDuration = new Histogram({
      name: 'heimdall_forward_send_duration_seconds',
      help: 'Time of one request to a remote endpoint (each attempt), until its answer.',
      labelNames,
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers,
    });
  }

  /** Adds an endpoint's queue to the gauges; the returned function removes it. */
  watch(source: QueueGaugeSource): () => void {
    this.sources.add(source);
    return () => this.sources.delete(source);
  }
}
