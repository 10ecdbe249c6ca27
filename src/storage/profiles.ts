import type { LabelMatcher, Labels, Profile, TenantId } from '../model/index.ts';
import type { Appendable } from './append.ts';

/** A profile as read back. */
export interface StoredProfile {
  /** The profile; in a federated (several-tenant) read its labels carry `__tenant_id__`. */
  readonly profile: Profile;
  /** Set by a federated querier: the tenant the profile was written to. */
  readonly tenant?: TenantId;
  /**
   * Set when the querier merged several profiles of one series into this one (a `read: 'merged'` select):
   * `profile.timeMs` is the earliest of them, `lastMs` the latest, `count` how many were merged.
   */
  readonly merged?: { readonly lastMs: number; readonly count: number };
}

/**
 * What a select's caller reads of each profile, so a querier can answer from a cheaper shape:
 * - `profiles` (the default): every profile whole;
 * - `merged`: only the sum of sample values per stack and span id, so the querier may yield fewer profiles,
 *   each the sum of several selected profiles of one series ({@link StoredProfile.merged});
 * - `totals`: only labels, time and the sum of the sample values, so a profile may come with one sample
 *   holding its total and no symbols.
 */
export type ProfileReadShape = 'profiles' | 'merged' | 'totals';

/** A time range in Unix milliseconds, both ends inclusive (Pyroscope's `start`/`end`). */
export interface ProfileTimeRange {
  readonly startMs: number;
  readonly endMs: number;
}

export interface ProfileSelectParams extends ProfileTimeRange {
  /**
   * Series matchers (RE2, anchored), the profile type among them as a matcher on `__profile_type__`. Every
   * matcher must hold for a profile to be selected.
   */
  readonly matchers: readonly LabelMatcher[];
  /** What the caller reads (default `profiles`). */
  readonly read?: ProfileReadShape;
  readonly signal?: AbortSignal;
}

/**
 * Reads profiles for a fixed set of tenants.
 *
 * Contract of `select`: it yields arrays of profiles taken in the range whose series match, each profile
 * once, in no particular order. Label reads answer sorted, distinct names and values of the series that
 * have a profile in the range and match (all series when `matchers` is empty). Not safe for concurrent
 * `select` calls on one querier. Call `close` when done.
 */
export interface ProfileQuerier {
  select(params: ProfileSelectParams): AsyncIterable<readonly StoredProfile[]>;
  labelNames(matchers: readonly LabelMatcher[], range: ProfileTimeRange): Promise<string[]>;
  labelValues(name: string, matchers: readonly LabelMatcher[], range: ProfileTimeRange): Promise<string[]>;
  /** The label sets of the matching series with a profile in the range, sorted. */
  series(matchers: readonly LabelMatcher[], range: ProfileTimeRange): Promise<Labels[]>;
  /** The oldest and newest profile times held (Unix ms), or undefined when nothing is held. */
  stats(): Promise<{ oldestMs: number; newestMs: number } | undefined>;
  close(): Promise<void>;
}

export interface ProfileQueryable {
  /** A querier over `tenants` (one, or several for a federated `a|b` read). */
  querier(tenants: readonly TenantId[]): Promise<ProfileQuerier>;
}

/** Everything the profile engine offers through seams. */
export interface ProfilesStorage extends Appendable<Profile>, ProfileQueryable {}
