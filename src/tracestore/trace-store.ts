import path from 'node:path';
import type { Logger } from 'pino';
import { ColumnarDatabase } from '../columnar/index.ts';
import type { SpanRecord, TenantId } from '../model/index.ts';
import { Wal, directoryBytes } from '../objstore/index.ts';
import { RetryableStorageError, diagnoseWriteFailure } from '../storage/index.ts';
import type { Appender, StorageHealth, TenantLimits, TraceQuerier, TracesStorage } from '../storage/index.ts';
import { TraceAppender } from './appender.ts';
import { DATABASE_NAME, FORMAT_VERSION } from './format.ts';
import { Head } from './head.ts';
import type { TraceStoreSettings, TraceStoreTenantLimits } from './limits.ts';
import { HeadSource } from './head-source.ts';
import { TraceStoreQuerier } from './querier.ts';
import type { SpanSource } from './span-source.ts';
import { decodeWalBatch, encodeWalBatch } from './wal-codec.ts';

export interface TraceStoreOptions {
  /** The store's directory: `wal/` (segments), `traces.duckdb` (catalog) and `blocks/`. */
  readonly dir: string;
  /** Each tenant's retention. */
  readonly limits: TenantLimits<TraceStoreTenantLimits>;
  readonly settings: TraceStoreSettings;
  /** DuckDB's memory limit (block cuts and block reads); spills to `<dir>/tmp` beyond it. Default 1 GiB. */
  readonly memoryLimitBytes?: number;
  /** DuckDB worker threads; 0 or undefined means one per core. */
  readonly threads?: number;
  readonly logger?: Logger;
  /** The data directory's monitor: refuses writes while the directory is lost and classifies write failures. */
  readonly health?: StorageHealth;
  /**
   * Background work: cutting complete traces into blocks and periodic retention (`config.store.*`).
   * Default true; tests that drive `flush()`/`applyRetention()` themselves turn it off.
   */
  readonly background?: boolean;
}

/**
 * The embedded trace engine (Heimdall's Tempo storage).
 *
 * Writes: a commit is one WAL frame (docs/formats/tracestore.md); it resolves once the frame is fsynced,
 * and the spans are in the in-memory head (grouped by tenant and trace id) at that moment, so they are
 * queryable at once. Opening replays the WAL into the head (a torn tail, which no commit acknowledged, is cut).
 *
 * Contract: one `TraceStore` per directory and process. Appenders and queriers may be used concurrently;
 * commits are group-committed by the WAL. `close` waits for queued writes, then closes.
 */
export class TraceStore implements TracesStorage {
  readonly dir: string;
  private readonly head = new Head();
  private readonly headSource: HeadSource;
  private closed = false;

  private constructor(
    dir: string,
    private readonly settings: TraceStoreSettings,
    private readonly limits: TenantLimits<TraceStoreTenantLimits>,
    private readonly db: ColumnarDatabase,
    private readonly wal: Wal,
    private readonly logger: Logger | undefined,
    private readonly health: StorageHealth | undefined,
  ) {
    this.dir = dir;
    this.headSource = new HeadSource(this.head);
  }

  /**
   * Opens (or creates) the store in `dir`: checks the format version (refusing newer data with a
   * `StorageFormatError`) and replays the WAL into the head.
   */
  static async open(opts: TraceStoreOptions): Promise<TraceStore> {
    const db = await ColumnarDatabase.open({
      dir: opts.dir,
      name: DATABASE_NAME,
      formatVersion: FORMAT_VERSION,
      ...(opts.memoryLimitBytes !== undefined ? { memoryLimitBytes: opts.memoryLimitBytes } : {}),
      ...(opts.threads !== undefined ? { threads: opts.threads } : {}),
    });
    let wal: Wal | undefined;
    try {
      wal = await Wal.open(path.join(opts.dir, 'wal'), undefined, 'traces');
      const store = new TraceStore(opts.dir, opts.settings, opts.limits, db, wal, opts.logger, opts.health);
      await store.replay();
      return store;
    } catch (err) {
      await wal?.close().catch(() => undefined);
      // The open failure is what the caller needs; the database was only opened.
      await db.close().catch(() => undefined);
      throw err;
    }
  }

  /** A write transaction for `tenant`. After `close`, its commit rejects with a retryable `shutting_down`. */
  appender(tenant: TenantId): Appender<SpanRecord> {
    return new TraceAppender(tenant, (t, records, spans) => this.submit(t, records, spans));
  }

  querier(tenants: readonly TenantId[]): Promise<TraceQuerier> {
    if (this.closed) return Promise.reject(new Error('trace store is closed'));
    // Federated reads (`a|b`) are storage/federation.ts's: it opens one querier per tenant.
    if (tenants.length !== 1) return Promise.reject(new Error(`a trace store querier reads exactly one tenant, got ${tenants.length}`));
    const slackMs = this.settings.maxBlockDurationMs + this.settings.traceIdlePeriodMs;
    return Promise.resolve(
      new TraceStoreQuerier({ acquire: () => this.acquire(), matchSlackNs: BigInt(slackMs) * 1_000_000n }, tenants[0]!),
    );
  }

  /** Span bytes held in the head (the in-memory part). */
  get headBytes(): number {
    return this.head.bytes;
  }

  /** Bytes on disk (WAL, catalog and blocks). */
  async diskBytes(): Promise<number> {
    return directoryBytes(this.dir);
  }

  /** Refuses new commits, waits for queued ones, and closes. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.wal.close();
    await this.db.close();
  }

  private acquire(): { sources: readonly SpanSource[]; release(): void } {
    return { sources: [this.headSource], release: () => undefined };
  }

  private async submit(tenant: TenantId, records: readonly SpanRecord[], spans: number): Promise<void> {
    if (this.closed) throw new RetryableStorageError('shutting_down', 'the trace store is shutting down; retry against the restarted server', 5);
    const refusal = this.health?.writeRefusal();
    if (refusal) throw refusal;
    const hardMax = 2 * this.settings.headMaxBytes;
    if (this.head.bytes > hardMax) {
      throw new RetryableStorageError(
        'overloaded',
        `the trace head holds ${this.head.bytes} bytes, over twice traces.store.head_max_bytes (${this.settings.headMaxBytes}); cutting blocks is behind, retry shortly`,
        2,
      );
    }
    const payload = encodeWalBatch({ tenant, records });
    const perSpan = payload.length / spans;
    try {
      await this.wal.append(payload, () => {
        this.head.apply(tenant, records, this.wal.currentSegment, perSpan, Date.now());
      });
    } catch (err) {
      const answer = await diagnoseWriteFailure(err, payload.length, this.health, this.dir);
      if (!(answer instanceof RetryableStorageError)) this.logger?.error({ err }, 'trace store write failed');
      throw answer;
    }
  }

  /** Replays every WAL segment into the head. */
  private async replay(): Promise<void> {
    const nowMs = Date.now();
    let frames = 0;
    await this.wal.replay(0, (frame) => {
      const batch = decodeWalBatch(frame.payload);
      let spans = 0;
      for (const r of batch.records) spans += r.spans.length;
      if (spans > 0) this.head.apply(batch.tenant, batch.records, frame.segment, frame.payload.length / spans, nowMs);
      frames++;
    });
    if (frames > 0) this.logger?.info({ frames, headBytes: this.head.bytes }, 'trace store: WAL replayed into the head');
  }
}
