import type { Logger } from 'pino';
import type { ForwardEndpointConfig } from '../config/index.ts';
import type { DiskQueue, QueueItem } from './disk-queue.ts';
import type { ForwardMetrics, RetryReason } from './forward-metrics.ts';
import { decodeQueuePayload } from './queue-payload.ts';
import type { RemoteResponse, RemoteTransport } from './remote-client.ts';
import type { WireFormat } from './signal-codecs.ts';

/** Longest `Retry-After` honoured; a longer one (or a date far ahead) is cut to this. */
const MAX_RETRY_AFTER_MS = 10 * 60_000;

/** A batch of one tenant being assembled or sent: queued items laid end to end. */
interface Batch {
  readonly tenant: string;
  readonly items: QueueItem[];
  readonly bodies: Uint8Array[];
  bytes: number;
  records: number;
  readonly startedMs: number;
}

/** What a send ended in. */
type SendOutcome = 'sent' | 'dropped' | 'stopped';

/**
 * Sends one endpoint's queue: reads items in order, gathers them per tenant into batches (up to `batch_max_bytes`
 * or `batch_max_records`, or `batch_max_wait` after the batch's first item), and keeps up to `concurrency`
 * requests in flight, one per tenant (a tenant's batches arrive in order). A 2xx acknowledges the batch's items; a 429, a 5xx or a network error (timeouts included)
 * is retried with exponential backoff from `min_backoff` to `max_backoff` with jitter, waiting at least what
 * `Retry-After` asks; any other answer drops the batch, counted in `heimdall_forward_dropped_records_total` and
 * logged with the remote's message. Nothing is dropped for being old: the queue bound is what pushes back.
 */
export class EndpointSender {
  private readonly stopController = new AbortController();
  private readonly inFlight = new Set<Promise<void>>();
  /** The batch in flight per tenant: a tenant's batches go one at a time, in queue order. */
  private readonly tenantInFlight = new Map<string, Promise<void>>();
  private loop: Promise<void> | undefined;
  private readonly labels: { signal: string; endpoint: string };

  constructor(
    private readonly queue: DiskQueue,
    private readonly client: RemoteTransport,
    private readonly wire: WireFormat,
    private readonly config: ForwardEndpointConfig,
    private readonly metrics: ForwardMetrics,
    private readonly logger: Logger,
    signal: string,
    endpoint: string,
  ) {
    this.labels = { signal, endpoint };
  }

  start(): void {
    this.loop ??= this.run().catch((err: unknown) => {
      this.logger.error({ err, ...this.labels }, 'forwarding stopped: the queue cannot be read; restart to resume from disk');
    });
  }

  /**
   * Stops reading and cancels requests in flight, waiting for them to settle. What was not acknowledged stays in
   * the queue and is sent after the next start.
   */
  async stop(): Promise<void> {
    this.stopController.abort();
    await this.loop;
    await Promise.allSettled([...this.inFlight]);
  }

  private get stopped(): boolean {
    return this.stopController.signal.aborted;
  }

  private async run(): Promise<void> {
    const pending = new Map<string, Batch>();
    const maxWait = this.config.batch_max_wait;
    while (!this.stopped) {
      const item = await this.queue.next();
      if (item !== undefined) {
        const decoded = decodeQueuePayload(item.payload);
        if (decoded === undefined) {
          this.metrics.droppedRecords.inc({ ...this.labels, reason: 'unreadable_queue' }, item.weight);
          this.logger.error({ ...this.labels, segment: item.segment }, 'dropping an unreadable forwarding queue item');
          await this.queue.ack(item);
          continue;
        }
        let batch = pending.get(decoded.tenant);
        if (batch !== undefined && batch.bytes + decoded.body.length > this.config.batch_max_bytes) {
          pending.delete(decoded.tenant);
          await this.dispatch(batch);
          batch = undefined;
        }
        if (batch === undefined) {
          batch = { tenant: decoded.tenant, items: [], bodies: [], bytes: 0, records: 0, startedMs: Date.now() };
          pending.set(decoded.tenant, batch);
        }
        batch.items.push(item);
        batch.bodies.push(decoded.body);
        batch.bytes += decoded.body.length;
        batch.records += item.weight;
        if (batch.bytes >= this.config.batch_max_bytes || batch.records >= this.config.batch_max_records) {
          pending.delete(decoded.tenant);
          await this.dispatch(batch);
        }
      }
      // Send batches whose first item has waited long enough (checked on every item, so a busy queue sends too).
      const now = Date.now();
      let earliest = Infinity;
      for (const [tenant, b] of pending) {
        if (now - b.startedMs >= maxWait) {
          pending.delete(tenant);
          await this.dispatch(b);
        } else {
          earliest = Math.min(earliest, b.startedMs + maxWait);
        }
      }
      if (item === undefined) {
        // Caught up: wait for more data or for the oldest pending batch's deadline.
        const wake = AbortSignal.any([this.stopController.signal, ...(earliest === Infinity ? [] : [AbortSignal.timeout(Math.max(1, earliest - Date.now()))])]);
        await this.queue.waitForData(wake);
      }
    }
  }

  /**
   * Starts sending `batch` once a concurrency slot is free and the tenant's previous batch is done: receivers
   * refuse a series' samples (or a stream's entries) older than what they hold, so one tenant's batches must
   * arrive in order, as Prometheus keeps each series on one shard. Different tenants are sent concurrently.
   */
  private async dispatch(batch: Batch): Promise<void> {
    for (;;) {
      if (this.stopped) return;
      const previous = this.tenantInFlight.get(batch.tenant);
      if (previous !== undefined) await previous;
      else if (this.inFlight.size >= this.config.concurrency) await Promise.race(this.inFlight);
      else break;
    }
    const p: Promise<void> = this.sendWithRetries(batch)
      .then(async (outcome) => {
        if (outcome === 'stopped') return;
        for (const item of batch.items) await this.queue.ack(item);
      })
      .catch((err: unknown) => this.logger.error({ err, ...this.labels }, 'forwarding a batch failed unexpectedly; it is sent again after a restart'))
      .finally(() => {
        this.inFlight.delete(p);
        if (this.tenantInFlight.get(batch.tenant) === p) this.tenantInFlight.delete(batch.tenant);
      });
    this.inFlight.add(p);
    this.tenantInFlight.set(batch.tenant, p);
  }

  private async sendWithRetries(batch: Batch): Promise<SendOutcome> {
    let request: { body: Uint8Array; headers: Readonly<Record<string, string>> };
    try {
      request = this.wire.request(concat(batch.bodies, batch.bytes));
    } catch (err) {
      this.metrics.droppedRecords.inc({ ...this.labels, reason: 'unreadable_queue' }, batch.records);
      this.logger.error({ err, ...this.labels, tenant: batch.tenant }, 'dropping a queued batch that cannot be encoded');
      return 'dropped';
    }
    const headers = this.client.headersFor(batch.tenant, request.headers);
    for (let attempt = 0; ; attempt++) {
      if (this.stopped) return 'stopped';
      const t0 = performance.now();
      let res: RemoteResponse | undefined;
      let networkError: Error | undefined;
      try {
        const signal = AbortSignal.any([this.stopController.signal, AbortSignal.timeout(this.config.timeout)]);
        res = await this.client.post(request.body, headers, signal);
      } catch (err) {
        networkError = err as Error;
      }
      this.metrics.sendDuration.observe(this.labels, (performance.now() - t0) / 1000);
      if (this.stopped) return 'stopped';
      if (res !== undefined && res.status >= 200 && res.status < 300) {
        this.metrics.sentRecords.inc(this.labels, batch.records);
        this.metrics.sentBytes.inc(this.labels, request.body.length);
        return 'sent';
      }
      let reason: RetryReason;
      if (res === undefined) reason = 'network';
      else if (res.status === 429) reason = 'http_429';
      else if (res.status >= 500) reason = 'http_5xx';
      else {
        this.metrics.droppedRecords.inc({ ...this.labels, reason: 'http_4xx' }, batch.records);
        this.logger.warn(
          { ...this.labels, tenant: batch.tenant, status: res.status, records: batch.records, response: res.body },
          `the remote refused a batch with ${res.status}; it is dropped (not retried)`,
        );
        return 'dropped';
      }
      this.metrics.retries.inc({ ...this.labels, reason });
      const delayMs = this.backoffMs(attempt, res?.retryAfterSeconds);
      this.logger.warn(
        { ...this.labels, tenant: batch.tenant, attempt: attempt + 1, delayMs: Math.round(delayMs), ...(res ? { status: res.status, response: res.body } : { err: networkError?.message }) },
        'sending to the remote failed; retrying',
      );
      await sleep(delayMs, this.stopController.signal);
    }
  }

  /** Exponential backoff with jitter (half to full of the step), at least `Retry-After` when the remote gave one. */
  private backoffMs(attempt: number, retryAfterSeconds: number | undefined): number {
    const step = Math.min(this.config.max_backoff, this.config.min_backoff * 2 ** Math.min(attempt, 30));
    const jittered = step / 2 + Math.random() * (step / 2);
    if (retryAfterSeconds === undefined) return jittered;
    return Math.max(jittered, Math.min(retryAfterSeconds * 1000, MAX_RETRY_AFTER_MS));
  }
}

function concat(parts: readonly Uint8Array[], total: number): Uint8Array {
  if (parts.length === 1) return parts[0]!;
  const out = Buffer.allocUnsafe(total);
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const done = (): void => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}
