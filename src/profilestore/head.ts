import { labelsKey } from '../model/index.ts';
import type { Labels, Profile, TenantId } from '../model/index.ts';

/** A profile in the head, with the WAL segment that holds it, its estimated bytes and its sequence number. */
export interface HeadProfile {
  readonly profile: Profile;
  readonly segment: number;
  readonly bytes: number;
  /** The store's sequence number of the profile (its WAL frame's `n` plus its index): blocks record it. */
  readonly seq: number;
}

/** One series' share of a window being cut: the first `profiles.length` of its window list. */
interface CutSeries {
  readonly key: string;
  readonly labels: Labels;
  readonly profiles: readonly HeadProfile[];
}

/** A tenant's window of head profiles due for a block. */
export interface CutWindow {
  readonly tenant: TenantId;
  readonly windowStartMs: number;
  readonly series: readonly CutSeries[];
  readonly bytes: number;
}

/** One series (label set) of a tenant: its profiles by retention window start (ms). */
export interface HeadSeries {
  readonly labels: Labels;
  readonly windows: Map<number, HeadProfile[]>;
  minMs: number;
  maxMs: number;
}

/** One tenant's series. */
export class TenantHead {
  readonly series = new Map<string, HeadSeries>();
  bytes = 0;
  profiles = 0;
}

/**
 * The in-memory part of the profile store: every retained profile, made durable in the WAL first, by tenant,
 * series and retention window. Retention drops whole windows; a WAL segment is deleted once none of the
 * profiles it holds is left (see {@link Head.minSegment}).
 *
 * A cut (see {@link Head.windowsToCut}) takes the profiles of whole windows into a block; once the block is
 * published, {@link Head.removeCut} takes them out of the head. A window's list is only ever appended to in
 * place and replaced (never shortened in place) on removal, so a reader holding a list keeps a stable view.
 *
 * Contract: single-threaded (the event loop); mutated only by {@link Head.apply} (a durable frame, or a
 * replayed one), {@link Head.removeCut} and {@link Head.dropWindowsBefore}. Readers take the lists they read
 * in one synchronous step.
 */
export class Head {
  private readonly tenants = new Map<TenantId, TenantHead>();
  /** Live profiles per WAL segment. */
  private readonly segmentRefs = new Map<number, number>();
  bytes = 0;

  constructor(private readonly windowMs: number) {}

  tenant(tenant: TenantId): TenantHead | undefined {
    return this.tenants.get(tenant);
  }

  tenantIds(): TenantId[] {
    return [...this.tenants.keys()];
  }

  /**
   * Adds a durable batch whose profiles have the sequence numbers `firstSeq`, `firstSeq + 1`, ...; those
   * `inBlock` names (a replayed frame a block already holds) are left out. `bytesPerProfile` is the batch's
   * WAL bytes spread over its profiles (an estimate).
   */
  apply(tenant: TenantId, profiles: readonly Profile[], segment: number, bytesPerProfile: number, firstSeq: number, inBlock?: (seq: number) => boolean): void {
    let th = this.tenants.get(tenant);
    if (!th) this.tenants.set(tenant, (th = new TenantHead()));
    for (let i = 0; i < profiles.length; i++) {
      const profile = profiles[i]!;
      const seq = firstSeq + i;
      if (inBlock?.(seq)) continue;
      const key = labelsKey(profile.labels);
      let s = th.series.get(key);
      if (!s) {
        s = { labels: profile.labels, windows: new Map(), minMs: profile.timeMs, maxMs: profile.timeMs };
        th.series.set(key, s);
      }
      const window = Math.floor(profile.timeMs / this.windowMs) * this.windowMs;
      let list = s.windows.get(window);
      if (!list) s.windows.set(window, (list = []));
      list.push({ profile, segment, bytes: bytesPerProfile, seq });
      if (profile.timeMs < s.minMs) s.minMs = profile.timeMs;
      if (profile.timeMs > s.maxMs) s.maxMs = profile.timeMs;
      th.bytes += bytesPerProfile;
      th.profiles++;
      this.bytes += bytesPerProfile;
      this.segmentRefs.set(segment, (this.segmentRefs.get(segment) ?? 0) + 1);
    }
  }

  /**
   * The windows due for a block: those that ended `delayMs` before `nowMs`, or every window when `force`.
   * Each part lists (a copy of) what its series' window holds now; profiles that arrive later stay for the
   * next cut.
   */
  windowsToCut(nowMs: number, delayMs: number, force: boolean): CutWindow[] {
    const out: CutWindow[] = [];
    for (const [tenant, th] of this.tenants) {
      const byWindow = new Map<number, { series: CutSeries[]; bytes: number }>();
      for (const [key, s] of th.series) {
        for (const [window, list] of s.windows) {
          if (!force && window + this.windowMs + delayMs > nowMs) continue;
          let w = byWindow.get(window);
          if (!w) byWindow.set(window, (w = { series: [], bytes: 0 }));
          w.series.push({ key, labels: s.labels, profiles: list.slice() });
          for (const hp of list) w.bytes += hp.bytes;
        }
      }
      for (const [windowStartMs, w] of byWindow) out.push({ tenant, windowStartMs, series: w.series, bytes: w.bytes });
    }
    return out.sort((a, b) => a.windowStartMs - b.windowStartMs);
  }

  /** Takes a published cut's profiles out of the head (each part is the prefix of its window's list). */
  removeCut(cut: CutWindow): void {
    const th = this.tenants.get(cut.tenant);
    if (!th) return;
    for (const part of cut.series) {
      const s = th.series.get(part.key);
      const list = s?.windows.get(cut.windowStartMs);
      if (!s || !list) continue;
      const n = part.profiles.length;
      this.release(th, list.slice(0, n));
      if (list.length > n) s.windows.set(cut.windowStartMs, list.slice(n));
      else s.windows.delete(cut.windowStartMs);
      if (s.windows.size === 0) th.series.delete(part.key);
      else recomputeBounds(s);
    }
    if (th.series.size === 0) this.tenants.delete(cut.tenant);
  }

  /** Drops a tenant's windows that end at or before `cutoffMs`; returns how many profiles went. */
  dropWindowsBefore(tenant: TenantId, cutoffMs: number): number {
    const th = this.tenants.get(tenant);
    if (!th) return 0;
    let dropped = 0;
    for (const [key, s] of th.series) {
      for (const [window, list] of s.windows) {
        if (window + this.windowMs > cutoffMs) continue;
        s.windows.delete(window);
        this.release(th, list);
        dropped += list.length;
      }
      if (s.windows.size === 0) th.series.delete(key);
      else recomputeBounds(s);
    }
    if (th.series.size === 0) this.tenants.delete(tenant);
    return dropped;
  }

  /** Accounts for profiles leaving the head (bytes, counts, the WAL segments they pin). */
  private release(th: TenantHead, list: readonly HeadProfile[]): void {
    for (const hp of list) {
      th.bytes -= hp.bytes;
      this.bytes -= hp.bytes;
      const refs = (this.segmentRefs.get(hp.segment) ?? 1) - 1;
      if (refs <= 0) this.segmentRefs.delete(hp.segment);
      else this.segmentRefs.set(hp.segment, refs);
    }
    th.profiles -= list.length;
  }

  /** The lowest WAL segment holding a live profile (Infinity when empty). */
  minSegment(): number {
    let min = Infinity;
    for (const seg of this.segmentRefs.keys()) if (seg < min) min = seg;
    return min;
  }
}

function recomputeBounds(s: HeadSeries): void {
  let min = Infinity;
  let max = -Infinity;
  for (const list of s.windows.values()) {
    for (const hp of list) {
      if (hp.profile.timeMs < min) min = hp.profile.timeMs;
      if (hp.profile.timeMs > max) max = hp.profile.timeMs;
    }
  }
  s.minMs = min;
  s.maxMs = max;
}
