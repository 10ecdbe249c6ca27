import type { Logger } from 'pino';
import type { ForwardEndpointConfig } from '../config/index.ts';
import type { DiskQueue, QueueItem, QueueRef } from './disk-queue.ts';
import type { ForwardMetrics, RetryReason } from './forward-metrics.ts';
import { decodeQueuePayload } from './queue-payload.ts';
import type { RemoteResponse, RemoteTransport } from './remote-client.ts';
import type { WireFormat } from './signal-codecs.ts';

/** Longest `Retry-After` honoured; a longer one (or a date far ahead) is cut to this. */
const MAX_RETRY_AFTER_MS = 10 * 60_000;

/** A batch of one tenant being assembled or sent: queued items laid end to end. */
interface Batch {
  readonly tenant: string;
  readonly items: QueueRef[];
  /** The items' bodies in order; undefined once the batch is parked (they are read back from the queue to send). */
  bodies: Uint8Array[] | undefined;
  bytes: number;
  records: number;
  readonly startedMs: number;
}

/** What a send ended in. */
type SendOutcome = 'sent' | 'dropped' | 'stopped';

/**
 * Items that may wait, parked behind their tenant's batch in flight, before the reader stops reading ahead. Parked
 * batches keep only the items' positions (about a hundred bytes each), so this bounds memory, not the queue.
 */
const MAX_PARKED_ITEMS = 100_000;

/** A queued item without its payload. */
function refOf(item: QueueItem): QueueRef {
  return { segment: item.segment, offset: item.offset, weight: item.weight, diskBytes: item.diskBytes, seq: item.seq };
}

/**
 * Sends one endpoint's queue: reads items in order, gathers them per tenant into batches (up to `batch_max_bytes`
 * or `batch_max_records`, or `batch_max_wait` after the batch's first item), and keeps up to `concurrency`
 * requests in flight, one per tenant (a tenant's batches arrive in order). A 2xx acknowledges the batch's items; a 429, a 5xx or a network error (timeouts included)
 * is retried with exponential backoff from `min_backoff` to `max_backoff` with jitter, waiting at least what
 * `Retry-After` asks; any other answer drops the batch, counted in `heimdall_forward_dropped_records_total` and
 * logged with the remote's message. Nothing is dropped for being old: the queue bound is what pushes back.
 *
 * A slow or failing tenant does not hold the others up: while its batch is in flight (or being retried), its
 * later batches are parked, payloads dropped, and the reader goes on to other tenants; they are read back from
 * the queue when their turn comes. Its queued items keep their segments on disk, so a tenant that never gets
 * through eventually fills the queue (and writers get 429), but it never stops delivery to the rest before that.
 */
export class EndpointSender {
  private readonly stopController = new AbortController();
  private readonly inFlight = new Set<Promise<void>>();
  /** The batch in flight per tenant: a tenant's batches go one at a time, in queue order. */
  private readonly tenantInFlight = new Map<string, Promise<void>>();
  /** Batches waiting behind their tenant's batch in flight, in queue order (a tenant here is always in flight). */
  private readonly parked = new Map<string, Batch[]>();
  private parkedItems = 0;
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
      this.logger.error({ err, ...this.labels }, 'forwarding stopped unexpectedly; restart to resume from disk');
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
    let readFailures = 0;
    while (!this.stopped) {
      if (this.parkedItems >= MAX_PARKED_ITEMS) {
        await Promise.race(this.inFlight);
        continue;
      }
      let item: QueueItem | undefined;
      try {
        item = await this.queue.next();
        readFailures = 0;
      } catch (err) {
        // The file system failed (corrupt bytes are skipped by the queue itself): try again, logged once per spell.
        if (readFailures === 0) this.logger.error({ err, ...this.labels }, 'reading the forwarding queue failed; retrying with backoff');
        await sleep(this.backoffMs(readFailures++, undefined), this.stopController.signal);
        continue;
      }
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
        batch.items.push(refOf(item));
        batch.bodies!.push(decoded.body);
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
   * Sends `batch` once a concurrency slot is free, or parks it behind its tenant's batch in flight: receivers
   * refuse a series' samples (or a stream's entries) older than what they hold, so one tenant's batches must
   * arrive in order, as Prometheus keeps each series on one shard. Different tenants are sent concurrently.
   */
  private async dispatch(batch: Batch): Promise<void> {
    if (this.tenantInFlight.has(batch.tenant)) {
      batch.bodies = undefined;
      const list = this.parked.get(batch.tenant);
      if (list === undefined) this.parked.set(batch.tenant, [batch]);
      else list.push(batch);
      this.parkedItems += batch.items.length;
      return;
    }
    while (this.inFlight.size >= this.config.concurrency) {
      if (this.stopped) return;
      await Promise.race(this.inFlight);
    }
    if (!this.stopped) this.send(batch);
  }

  /** Sends `batch` in the background; when it settles, the tenant's next parked batch takes its slot. */
  private send(batch: Batch): void {
    const p: Promise<void> = this.sendWithRetries(batch)
      .then(async (outcome) => {
        if (outcome === 'stopped') return;
        for (const item of batch.items) await this.queue.ack(item);
      })
      .catch((err: unknown) => this.logger.error({ err, ...this.labels }, 'forwarding a batch failed unexpectedly; it is sent again after a restart'))
      .finally(() => {
        this.inFlight.delete(p);
        this.tenantInFlight.delete(batch.tenant);
        const list = this.parked.get(batch.tenant);
        const next = list?.shift();
        if (list?.length === 0) this.parked.delete(batch.tenant);
        if (next === undefined) return;
        this.parkedItems -= next.items.length;
        if (!this.stopped) this.send(next);
      });
    this.inFlight.add(p);
    this.tenantInFlight.set(batch.tenant, p);
  }

  /** The bodies of a parked batch, read back from the queue; undefined (the batch dropped and counted) if they no longer read. */
  private async reload(batch: Batch): Promise<Uint8Array[] | undefined> {
    const bodies: Uint8Array[] = [];
    try {
      for (const ref of batch.items) {
        const decoded = decodeQueuePayload(await this.queue.read(ref));
        if (decoded === undefined) throw new Error(`forward queue item at segment ${ref.segment} byte ${ref.offset} has no tenant header`);
        bodies.push(decoded.body);
      }
    } catch (err) {
      this.metrics.droppedRecords.inc({ ...this.labels, reason: 'unreadable_queue' }, batch.records);
      this.logger.error({ err, ...this.labels, tenant: batch.tenant }, 'dropping a queued batch that cannot be read back');
      return undefined;
    }
    return bodies;
  }

  private async sendWithRetries(batch: Batch): Promise<SendOutcome> {
    const bodies = batch.bodies ?? (await this.reload(batch));
    if (bodies === undefined) return 'dropped';
    let request: { body: Uint8Array; headers: Readonly<Record<string, string>> };
    try {
      request = this.wire.request(concat(bodies, batch.bytes));
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
