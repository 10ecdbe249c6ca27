import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from 'pino';
import { openFormatStamp } from '../columnar/index.ts';
import type { Profile, TenantId } from '../model/index.ts';
import { Wal, directoryBytes } from '../objstore/index.ts';
import { RetryableStorageError, diagnoseWriteFailure } from '../storage/index.ts';
import type { Appender, ProfileQuerier, ProfilesStorage, StorageHealth, TenantLimits } from '../storage/index.ts';
import { ProfileAppender } from './appender.ts';
import { FORMAT_VERSION, STORE_NAME } from './format.ts';
import { Head } from './head.ts';
import type { ProfileStoreSettings, ProfileStoreTenantLimits } from './limits.ts';
import { ProfileStoreQuerier } from './querier.ts';
import { decodeWalBatch, encodeWalBatch } from './wal-codec.ts';

export interface ProfileStoreOptions {
  /** The store's directory: `profiles.format.json` and `wal/` (docs/formats/profilestore.md). */
  readonly dir: string;
  readonly limits: TenantLimits<ProfileStoreTenantLimits>;
  readonly settings: ProfileStoreSettings;
  readonly logger?: Logger;
  /** The data directory's monitor: refuses writes while the directory is lost and classifies write failures. */
  readonly health?: StorageHealth;
}

/**
 * The embedded profile engine (Heimdall's Pyroscope storage).
 *
 * Writes: a commit is one WAL frame (docs/formats/profilestore.md); it resolves once the frame is fsynced,
 * and the profiles are in the in-memory head at that moment, so they are queryable at once. Opening replays
 * the WAL into the head (a torn tail, which no commit acknowledged, is cut) and applies retention.
 *
 * This version keeps every retained profile in the head (no Parquet blocks yet): `headMaxBytes` bounds it,
 * and commits past it are refused with a retryable 429 until retention frees room. Retention drops whole
 * windows per tenant and deletes WAL segments none of whose profiles is left.
 *
 * Contract: one `ProfileStore` per directory and process. Appenders and queriers may be used concurrently;
 * commits are group-committed by the WAL. `close` waits for queued writes, then closes.
 */
export class ProfileStore implements ProfilesStorage {
  readonly dir: string;
  private readonly head: Head;
  private closed = false;
  /** When the WAL's current segment was started (ms), so retention can roll it and free old ones. */
  private segmentStartedMs = Date.now();

  private constructor(
    dir: string,
    private readonly settings: ProfileStoreSettings,
    private readonly limits: TenantLimits<ProfileStoreTenantLimits>,
    private readonly wal: Wal,
    private readonly logger: Logger | undefined,
    private readonly health: StorageHealth | undefined,
  ) {
    this.dir = dir;
    this.head = new Head(settings.windowMs);
  }

  /**
   * Opens (or creates) the store in `dir`: checks the format stamp (refusing newer data with a
   * `StorageFormatError`), replays the WAL into the head and applies retention.
   */
  static async open(opts: ProfileStoreOptions): Promise<ProfileStore> {
    await mkdir(opts.dir, { recursive: true });
    await openFormatStamp(opts.dir, { name: STORE_NAME, version: FORMAT_VERSION });
    const wal = await Wal.open(path.join(opts.dir, 'wal'), undefined, 'profiles');
    try {
      const store = new ProfileStore(opts.dir, opts.settings, opts.limits, wal, opts.logger, opts.health);
      await store.replay();
      await store.applyRetention(Date.now());
      return store;
    } catch (err) {
      await wal.close().catch(() => undefined);
      throw err;
    }
  }

  /** A write transaction for `tenant`. After `close`, its commit rejects with a retryable `shutting_down`. */
  appender(tenant: TenantId): Appender<Profile> {
    return new ProfileAppender(tenant, this.limits.forTenant(tenant), (t, profiles) => this.submit(t, profiles));
  }

  querier(tenants: readonly TenantId[]): Promise<ProfileQuerier> {
    if (this.closed) return Promise.reject(new Error('profile store is closed'));
    // Federated reads (`a|b`) are storage/federation.ts's: it opens one querier per tenant.
    if (tenants.length !== 1) return Promise.reject(new Error(`a profile store querier reads exactly one tenant, got ${tenants.length}`));
    return Promise.resolve(new ProfileStoreQuerier(this.head, tenants[0]!));
  }

  /** Estimated bytes of the profiles held in memory. */
  get headBytes(): number {
    return this.head.bytes;
  }

  /** Bytes on disk (stamp and WAL). */
  async diskBytes(): Promise<number> {
    return directoryBytes(this.dir);
  }

  /**
   * Drops every tenant's windows older than its `retention_period`, rolls the WAL segment when it is older
   * than a window, and deletes the segments no retained profile is in. Returns the profiles dropped.
   */
  async applyRetention(nowMs: number): Promise<number> {
    if (this.closed) return 0;
    let dropped = 0;
    for (const tenant of this.head.tenantIds()) {
      const retention = this.limits.forTenant(tenant).retention_period;
      if (retention > 0) dropped += this.head.dropWindowsBefore(tenant, nowMs - retention);
    }
    if (nowMs - this.segmentStartedMs >= this.settings.windowMs) {
      await this.wal.rotate();
      this.segmentStartedMs = nowMs;
    }
    await this.wal.truncateBefore(Math.min(this.head.minSegment(), this.wal.currentSegment));
    if (dropped > 0) this.logger?.info({ dropped }, 'profile store: retention dropped profiles');
    return dropped;
  }

  /** Refuses new commits, waits for queued ones, and closes. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.wal.close();
  }

  private async submit(tenant: TenantId, profiles: readonly Profile[]): Promise<void> {
    if (this.closed) throw new RetryableStorageError('shutting_down', 'the profile store is shutting down; retry against the restarted server', 5);
    const refusal = this.health?.writeRefusal();
    if (refusal) throw refusal;
    if (this.head.bytes > this.settings.headMaxBytes) {
      throw new RetryableStorageError(
        'overloaded',
        `the profile store holds ${this.head.bytes} bytes in memory, over profiles.store.head_max_bytes (${this.settings.headMaxBytes}); retry after retention frees room, or raise the setting`,
        30,
      );
    }
    const payload = encodeWalBatch({ tenant, profiles });
    const perProfile = payload.length / profiles.length;
    try {
      await this.wal.append(payload, () => this.head.apply(tenant, profiles, this.wal.currentSegment, perProfile));
    } catch (err) {
      const answer = await diagnoseWriteFailure(err, payload.length, this.health, this.dir);
      if (!(answer instanceof RetryableStorageError)) this.logger?.error({ err }, 'profile store write failed');
      throw answer;
    }
  }

  /** Replays every WAL segment into the head. */
  private async replay(): Promise<void> {
    let frames = 0;
    await this.wal.replay(0, (frame) => {
      const batch = decodeWalBatch(frame.payload);
      if (batch.profiles.length > 0) this.head.apply(batch.tenant, batch.profiles, frame.segment, frame.payload.length / batch.profiles.length);
      frames++;
    });
    if (frames > 0) this.logger?.info({ frames, headBytes: this.head.bytes }, 'profile store: WAL replayed into the head');
  }
}
