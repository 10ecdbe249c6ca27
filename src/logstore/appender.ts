import type { Labels, LogRecord, Rejection, TenantId } from '../model/index.ts';
import type { AppendOutcome, Appender, CommitStats } from '../storage/index.ts';
import type { WriteBatch } from './head-writer.ts';
import type { LogStoreTenantLimits } from './limits.ts';
import { streamIdOf, streamKeyOf } from './stream-id.ts';
import type { EntryBounds } from './validation.ts';
import {
  entryBounds,
  lineTooLongMessage,
  rejection,
  tooNewMessage,
  tooOldMessage,
  validateStreamLabels,
} from './validation.ts';

/** What an appender needs from the store. */
export interface AppenderHost {
  readonly windowMs: number;
  classOf(tenant: TenantId, labels: Labels, key: string): string;
  pidFor(tenant: TenantId, cls: string, windowStartMs: number): number;
  submit(batch: WriteBatch): Promise<CommitStats>;
}

/**
 * One tenant's write transaction. `append` validates each stream and entry with Loki's rules and messages
 * (labels, then per entry: too old, too new, line too long) and buffers what passes; `commit` hands the
 * buffer to the head writer and resolves once it is durable. Out-of-order entries are accepted.
 */
export class LogAppender implements Appender<LogRecord> {
  private readonly host: AppenderHost;
  private readonly tenant: TenantId;
  private readonly limits: LogStoreTenantLimits;
  private readonly bounds: EntryBounds;
  private readonly streams = new Map<bigint, Labels>();
  private readonly pids: number[] = [];
  private readonly streamIds: bigint[] = [];
  private readonly timestampsNs: bigint[] = [];
  private readonly lines: string[] = [];
  private readonly metadata: (string | null)[] = [];
  private rawBytes = 0;
  private done = false;
  /** The window of the last entry, so consecutive entries skip the bigint division. */
  private winLoNs = 1n;
  private winHiNs = 0n;
  private winStartMs = 0;

  constructor(host: AppenderHost, tenant: TenantId, limits: LogStoreTenantLimits, nowMs: number) {
    this.host = host;
    this.tenant = tenant;
    this.limits = limits;
    this.bounds = entryBounds(limits, nowMs);
  }

  append(record: LogRecord): AppendOutcome {
    if (this.done) throw new Error('log appender used after commit or rollback');
    const entries = record.entries;
    if (entries.length === 0) return { accepted: 0, rejections: [] };
    const id = streamIdentity(record.labels);
    const { key, sid } = id;
    if (id.validFor !== this.limits) {
      const bad = validateStreamLabels(record.labels, key, this.limits);
      if (bad) return { accepted: 0, rejections: [rejection(bad.reason, bad.message, key, entries.length)] };
      // Valid under these limits: later appends of the stream skip the label checks.
      id.validFor = this.limits;
    }
    const cls = this.host.classOf(this.tenant, record.labels, key);
    const { minNs, maxNs, maxLineBytes } = this.bounds;
    let accepted = 0;
    let old: { n: number; first: bigint } | undefined;
    let young: { n: number; first: bigint } | undefined;
    let long: { n: number; bytes: number } | undefined;
    const windowNs = BigInt(this.host.windowMs) * 1_000_000n;
    let pid = -1;
    let pidWin = Number.NaN;
    for (const e of entries) {
      const ts = e.timestampNs;
      if (minNs !== undefined && ts < minNs) {
        if (old) old.n++;
        else old = { n: 1, first: ts };
        continue;
      }
      if (ts > maxNs) {
        if (young) young.n++;
        else young = { n: 1, first: ts };
        continue;
      }
      const line = e.line;
      const bytes = Buffer.byteLength(line);
      if (bytes > maxLineBytes) {
        if (long) long.n++;
        else long = { n: 1, bytes };
        continue;
      }
      if (ts < this.winLoNs || ts >= this.winHiNs) {
        const q = ts / windowNs;
        const start = (ts < 0n && ts % windowNs !== 0n ? q - 1n : q) * windowNs;
        this.winLoNs = start;
        this.winHiNs = start + windowNs;
        this.winStartMs = Number(start / 1_000_000n);
      }
      if (pidWin !== this.winStartMs) {
        pidWin = this.winStartMs;
        pid = this.host.pidFor(this.tenant, cls, this.winStartMs);
      }
      this.pids.push(pid);
      this.streamIds.push(sid);
      this.timestampsNs.push(ts);
      this.lines.push(line);
      const md = e.structuredMetadata;
      this.metadata.push(md !== undefined && hasKeys(md) ? metadataJson(md) : null);
      this.rawBytes += bytes;
      accepted++;
    }
    if (accepted > 0) this.streams.set(sid, record.labels);
    if (!old && !young && !long) return { accepted, rejections: NO_REJECTIONS };
    const rejections: Rejection[] = [];
    if (old) rejections.push(rejection('entry_too_old', tooOldMessage(key, old.first, minNs!), key, old.n));
    if (young) rejections.push(rejection('entry_too_far_in_future', tooNewMessage(key, young.first), key, young.n));
    if (long) rejections.push(rejection('line_too_long', lineTooLongMessage(key, maxLineBytes, long.bytes), key, long.n));
    return { accepted, rejections };
  }

  async commit(): Promise<CommitStats> {
    if (this.done) throw new Error('log appender committed twice');
    this.done = true;
    if (this.lines.length === 0) return { records: 0 };
    return this.host.submit({
      tenant: this.tenant,
      streams: this.streams,
      pids: this.pids,
      streamIds: this.streamIds,
      timestampsNs: this.timestampsNs,
      lines: this.lines,
      metadata: this.metadata,
      rawBytes: this.rawBytes,
    });
  }

  rollback(): void {
    this.done = true;
  }
}

/**
 * A label set's canonical key and stream id, cached by the labels object: decoders share one object per
 * stream, so the sort and hash run once per stream rather than once per request.
 */
interface StreamIdentity {
  readonly key: string;
  readonly sid: bigint;
  /** The limits object the labels last passed validation under. */
  validFor?: LogStoreTenantLimits;
}

const identities = new WeakMap<Labels, StreamIdentity>();
const NO_REJECTIONS: readonly Rejection[] = Object.freeze([]);

function streamIdentity(labels: Labels): StreamIdentity {
  let id = identities.get(labels);
  if (!id) {
    const key = streamKeyOf(labels);
    id = { key, sid: streamIdOf(key) };
    identities.set(labels, id);
  }
  return id;
}

/**
 * Metadata as JSON, cached by object identity: decoders and enrichment share one frozen object for the
 * common metadata (e.g. only `detected_level`), so most entries skip the serialisation.
 */
const mdJson = new WeakMap<Labels, string>();

function metadataJson(md: Labels): string {
  if (!Object.isFrozen(md)) return JSON.stringify(md);
  let s = mdJson.get(md);
  if (s === undefined) {
    s = JSON.stringify(md);
    mdJson.set(md, s);
  }
  return s;
}

function hasKeys(o: object): boolean {
  for (const _ in o) return true;
  return false;
}
