import { labelsKey } from '../model/index.ts';
import type { Labels, Profile, TenantId } from '../model/index.ts';

/** A profile in the head, with the WAL segment that holds it and its estimated bytes. */
export interface HeadProfile {
  readonly profile: Profile;
  readonly segment: number;
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
 * Contract: single-threaded (the event loop); mutated only by {@link Head.apply} (a durable frame, or a
 * replayed one) and {@link Head.dropWindowsBefore}. Readers iterate synchronously or copy what they need.
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

  /** Adds a durable batch. `bytesPerProfile` is the batch's WAL bytes spread over its profiles (an estimate). */
  apply(tenant: TenantId, profiles: readonly Profile[], segment: number, bytesPerProfile: number): void {
    let th = this.tenants.get(tenant);
    if (!th) this.tenants.set(tenant, (th = new TenantHead()));
    for (const profile of profiles) {
      const key = labelsKey(profile.labels);
      let s = th.series.get(key);
      if (!s) {
        s = { labels: profile.labels, windows: new Map(), minMs: profile.timeMs, maxMs: profile.timeMs };
        th.series.set(key, s);
      }
      const window = Math.floor(profile.timeMs / this.windowMs) * this.windowMs;
      let list = s.windows.get(window);
      if (!list) s.windows.set(window, (list = []));
      list.push({ profile, segment, bytes: bytesPerProfile });
      if (profile.timeMs < s.minMs) s.minMs = profile.timeMs;
      if (profile.timeMs > s.maxMs) s.maxMs = profile.timeMs;
      th.bytes += bytesPerProfile;
      th.profiles++;
      this.bytes += bytesPerProfile;
      this.segmentRefs.set(segment, (this.segmentRefs.get(segment) ?? 0) + 1);
    }
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
        for (const hp of list) {
          th.bytes -= hp.bytes;
          this.bytes -= hp.bytes;
          const refs = (this.segmentRefs.get(hp.segment) ?? 1) - 1;
          if (refs <= 0) this.segmentRefs.delete(hp.segment);
          else this.segmentRefs.set(hp.segment, refs);
        }
        th.profiles -= list.length;
        dropped += list.length;
      }
      if (s.windows.size === 0) th.series.delete(key);
      else recomputeBounds(s);
    }
    if (th.series.size === 0) this.tenants.delete(tenant);
    return dropped;
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
