import { compareLabels, compareStrings, compileMatcher } from '../model/index.ts';
import type { LabelMatcher, Labels, TenantId, ValuePredicate } from '../model/index.ts';
import type { ProfileQuerier, ProfileSelectParams, ProfileTimeRange, StoredProfile } from '../storage/index.ts';
import type { Head, HeadSeries } from './head.ts';

/** Profiles per batch `select` yields. */
const BATCH_PROFILES = 256;

/**
 * Reads one tenant's profiles from the head. Every read works on the series as they are when it starts; a
 * profile committed meanwhile may or may not be seen.
 */
export class ProfileStoreQuerier implements ProfileQuerier {
  constructor(
    private readonly head: Head,
    private readonly tenant: TenantId,
  ) {}

  async *select(params: ProfileSelectParams): AsyncIterable<readonly StoredProfile[]> {
    let batch: StoredProfile[] = [];
    for (const s of this.matching(params.matchers, params)) {
      for (const list of [...s.windows.values()]) {
        for (const hp of list) {
          const t = hp.profile.timeMs;
          if (t < params.startMs || t > params.endMs) continue;
          batch.push({ profile: hp.profile });
          if (batch.length >= BATCH_PROFILES) {
            yield batch;
            batch = [];
            params.signal?.throwIfAborted();
          }
        }
      }
    }
    if (batch.length > 0) yield batch;
  }

  labelNames(matchers: readonly LabelMatcher[], range: ProfileTimeRange): Promise<string[]> {
    const names = new Set<string>();
    for (const s of this.matching(matchers, range)) for (const n of Object.keys(s.labels)) names.add(n);
    return Promise.resolve([...names].sort(compareStrings));
  }

  labelValues(name: string, matchers: readonly LabelMatcher[], range: ProfileTimeRange): Promise<string[]> {
    const values = new Set<string>();
    for (const s of this.matching(matchers, range)) {
      const v = s.labels[name];
      if (v !== undefined && v !== '') values.add(v);
    }
    return Promise.resolve([...values].sort(compareStrings));
  }

  series(matchers: readonly LabelMatcher[], range: ProfileTimeRange): Promise<Labels[]> {
    return Promise.resolve(this.matching(matchers, range).map((s) => s.labels).sort(compareLabels));
  }

  stats(): Promise<{ oldestMs: number; newestMs: number } | undefined> {
    const th = this.head.tenant(this.tenant);
    if (!th) return Promise.resolve(undefined);
    let oldestMs = Infinity;
    let newestMs = -Infinity;
    for (const s of th.series.values()) {
      oldestMs = Math.min(oldestMs, s.minMs);
      newestMs = Math.max(newestMs, s.maxMs);
    }
    return Promise.resolve(oldestMs === Infinity ? undefined : { oldestMs, newestMs });
  }

  close(): Promise<void> {
    return Promise.resolve();
  }

  /** The series with a profile in the range that every matcher accepts (a missing label is the empty string). */
  private matching(matchers: readonly LabelMatcher[], range: ProfileTimeRange): HeadSeries[] {
    const th = this.head.tenant(this.tenant);
    if (!th) return [];
    const preds: [string, ValuePredicate][] = matchers.map((m) => [m.name, compileMatcher(m)]);
    const out: HeadSeries[] = [];
    for (const s of th.series.values()) {
      if (s.maxMs < range.startMs || s.minMs > range.endMs) continue;
      if (preds.every(([name, p]) => p(s.labels[name] ?? ''))) out.push(s);
    }
    return out;
  }
}
