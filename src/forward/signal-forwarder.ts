import { createHash } from 'node:crypto';
import path from 'node:path';
import type { Logger } from 'pino';
import type { ForwardEndpointConfig } from '../config/index.ts';
import type { TenantId } from '../model/index.ts';
import { RetryableStorageError } from '../storage/index.ts';
import type { Appendable, Appender, AppendOutcome, CommitStats } from '../storage/index.ts';
import { DiskQueue } from './disk-queue.ts';
import { EndpointSender } from './endpoint-sender.ts';
import type { ForwardMetrics } from './forward-metrics.ts';
import { encodeQueuePayload } from './queue-payload.ts';
import { GrpcRemoteClient } from './grpc-client.ts';
import { RemoteClient, redactedUrl } from './remote-client.ts';
import type { RemoteTransport } from './remote-client.ts';
import type { QueueCodec, WireFormat } from './signal-codecs.ts';

/** Largest queue segment file; smaller queues roll over at an eighth of their bound (at least 1 MiB). */
const MAX_SEGMENT_BYTES = 64 * 1024 * 1024;

/** One endpoint's part of a forwarder: its queue and the sender draining it. */
interface ForwardEndpoint {
  readonly queue: DiskQueue;
  /** Counts and logs a batch this endpoint's full queue refused while another endpoint took it. */
  readonly refused: (records: number, err: Error) => void;
  readonly sender: EndpointSender;
  readonly client: RemoteTransport;
  readonly unwatch: () => void;
}

/** Where a forwarder keeps its queues and reports. */
export interface ForwarderSettings<R> {
  readonly codec: QueueCodec<R>;
  /** `<data_dir>/forward/<signal>`; each endpoint's queue is a directory under it. */
  readonly dir: string;
  readonly endpoints: readonly ForwardEndpointConfig[];
  /** Where the endpoints are configured (`gateway.forward` on the server, `forward` in the agent), for messages. */
  readonly configKey: string;
  /** The request format each endpoint takes (remote_write 1.0 or 2.0, Loki push, OTLP/HTTP or gRPC, Pyroscope push). */
  wireFor(endpoint: ForwardEndpointConfig): WireFormat;
  readonly metrics: ForwardMetrics;
  readonly logger: Logger;
  /** Sent as `User-Agent`. */
  readonly userAgent: string;
}

/** The directory name of an endpoint's queue: its `name`, or a hash of its URL (stable when the list is reordered). */
function queueDirName(e: ForwardEndpointConfig): string {
  return e.name ?? `url-${createHash('sha256').update(e.url).digest('hex').slice(0, 16)}`;
}

/**
 * The storage write seam of a forwarded signal: an {@link Appendable} whose commit writes the tenant's batch, as
 * one protocol message, to the on-disk queue of every endpoint of the signal and resolves once all of them have
 * it durably; a sender per endpoint then delivers it. So the gateway writes to remotes exactly as it writes to a
 * local engine, with the same answers: a full queue is a retryable error (429 with `Retry-After`).
 *
 * Records are not validated here beyond what the gateway did; the remote's own limits apply, and what it refuses
 * for good is dropped and counted per endpoint.
 */
export class SignalForwarder<R> implements Appendable<R> {
  private constructor(
    private readonly codec: QueueCodec<R>,
    private readonly endpoints: readonly ForwardEndpoint[],
  ) {}

  /** Opens every endpoint's queue (taking over what a previous process left) and starts its sender. */
  static async open<R>(s: ForwarderSettings<R>): Promise<SignalForwarder<R>> {
    const endpoints: ForwardEndpoint[] = [];
    try {
      for (const e of s.endpoints) {
        const wire = s.wireFor(e);
        const client: RemoteTransport = wire.grpcMethod !== undefined ? new GrpcRemoteClient(e, s.userAgent, wire.grpcMethod) : new RemoteClient(e, s.userAgent);
        const label = e.name ?? redactedUrl(client.url);
        const labels = { signal: s.codec.signal, endpoint: label };
        const logger = s.logger.child({ forward: s.codec.signal, endpoint: label });
        let queue: DiskQueue;
        try {
          queue = await DiskQueue.open({
            dir: path.join(s.dir, queueDirName(e)),
            maxBytes: e.queue_max_bytes,
            segmentBytes: Math.min(MAX_SEGMENT_BYTES, Math.max(1 << 20, Math.floor(e.queue_max_bytes / 8))),
            name: `${s.codec.signal} → ${label}`,
            setting: `${s.configKey}.${s.codec.signal}[].queue_max_bytes`,
            // Each stretch of bad bytes is logged once, when it is skipped; its records are counted when its segment goes.
            onCorrupt: (bad) => {
              s.metrics.corruptBytes.inc(labels, bad.bytes);
              logger.error(bad, 'skipping corrupt bytes in the forwarding queue: what they held is lost, the rest is sent');
            },
            onLost: (records) => s.metrics.droppedRecords.inc({ ...labels, reason: 'corrupt_queue' }, records),
          });
        } catch (err) {
          client.close();
          throw err;
        }
        const unwatch = s.metrics.watch({
          signal: s.codec.signal,
          endpoint: label,
          get bytes() {
            return queue.bytes;
          },
          get records() {
            return queue.records;
          },
        });
        const sender = new EndpointSender(queue, client, wire, e, s.metrics, logger, s.codec.signal, label);
        endpoints.push({ queue, sender, client, unwatch, refused: refusalReporter(s.metrics, labels, logger) });
        if (queue.records > 0) logger.info({ records: queue.records, bytes: queue.bytes }, 'resuming forwarding of queued records');
        sender.start();
      }
    } catch (err) {
      await stopEndpoints(endpoints);
      throw err;
    }
    return new SignalForwarder(s.codec, endpoints);
  }

  appender(tenant: TenantId): Appender<R> {
    return new ForwardingAppender(tenant, this.codec, this.endpoints);
  }

  /** Stops the senders (requests in flight are canceled; their items stay queued) and closes the queues. */
  stop(): Promise<void> {
    return stopEndpoints(this.endpoints);
  }
}

async function stopEndpoints(endpoints: readonly ForwardEndpoint[]): Promise<void> {
  await Promise.allSettled(endpoints.map((e) => e.sender.stop()));
  for (const e of endpoints) {
    e.unwatch();
    e.client.close();
    await e.queue.close();
  }
}

/** How often a full queue's refusals are logged at most (each is counted). */
const REFUSAL_LOG_INTERVAL_MS = 60_000;

function refusalReporter(metrics: ForwardMetrics, labels: { signal: string; endpoint: string }, logger: Logger): (records: number, err: Error) => void {
  let loggedAt = -Infinity;
  return (records, err) => {
    metrics.droppedRecords.inc({ ...labels, reason: 'queue_full' }, records);
    if (Date.now() - loggedAt < REFUSAL_LOG_INTERVAL_MS) return;
    loggedAt = Date.now();
    logger.warn({ records }, `${err.message}; the signal's other endpoints took the batch, so it is dropped for this one (reason queue_full, logged at most once a minute)`);
  };
}

/**
 * Writes a tenant's batch to every endpoint's queue. An endpoint whose queue is full is left out (its loss counted)
 * as long as another endpoint takes the batch, so one endpoint that is down or slow never stops delivery to the
 * others; when every queue is full the writer gets the retryable error (429 with `Retry-After`).
 */
class ForwardingAppender<R> implements Appender<R> {
  private records: R[] = [];

  constructor(
    private readonly tenant: TenantId,
    private readonly codec: QueueCodec<R>,
    private readonly endpoints: readonly ForwardEndpoint[],
  ) {}

  append(record: R): AppendOutcome {
    this.records.push(record);
    return { accepted: this.codec.weigh(record), rejections: [] };
  }

  async commit(): Promise<CommitStats> {
    const records = this.records;
    this.records = [];
    if (records.length === 0) return { records: 0 };
    const { body, weight, stats } = this.codec.encode(records);
    const payload = encodeQueuePayload(this.tenant, body);
    // Room is checked in every queue before any takes the batch (synchronously), so a refused batch is in none.
    const open: DiskQueue[] = [];
    const full: { endpoint: ForwardEndpoint; err: Error }[] = [];
    for (const e of this.endpoints) {
      try {
        e.queue.checkRoom(payload.length);
        open.push(e.queue);
      } catch (err) {
        if (!(err instanceof RetryableStorageError) || err.reason !== 'overloaded') throw err;
        full.push({ endpoint: e, err });
      }
    }
    if (open.length === 0) throw full[0]!.err;
    await Promise.all(open.map((q) => q.push(payload, weight)));
    for (const f of full) f.endpoint.refused(weight, f.err);
    return stats;
  }

  rollback(): void {
    this.records = [];
  }
}
