import type { DuckDBConnection } from '@duckdb/node-api';
import type { BlockSnapshot } from '../columnar/index.ts';
import { compareLabels, compareStrings, compileMatcher, labelsKey } from '../model/index.ts';
import type { LabelMatcher, Labels, TenantId, ValuePredicate } from '../model/index.ts';
import type { ProfileQuerier, ProfileSelectParams, ProfileTimeRange, StoredProfile } from '../storage/index.ts';
import { ProfileBlockReader } from './block-reader.ts';
import type { BlockPick, BlockSymbolCache } from './block-reader.ts';
import type { ProfileBlock } from './block.ts';
import type { Head, HeadProfile, HeadSeries } from './head.ts';

/** What a querier reads: the head, and the blocks of the catalog (a snapshot kept until released). */
export interface ProfileSources {
  readonly head: Head;
  acquire(): BlockSnapshot<ProfileBlock>;
  /** The blocks now, for label reads that finish in one synchronous step. */
  blocks(): readonly ProfileBlock[];
  connect(): Promise<DuckDBConnection>;
  /** Block symbol tables shared by reads. */
  readonly symbols: BlockSymbolCache;
}

type Predicates = readonly (readonly [string, ValuePredicate])[];

const predicatesOf = (matchers: readonly LabelMatcher[]): Predicates => matchers.map((m) => [m.name, compileMatcher(m)] as const);
const matches = (preds: Predicates, labels: Labels): boolean => preds.every(([name, p]) => p(labels[name] ?? ''));
const overlaps = (minMs: number, maxMs: number, r: ProfileTimeRange): boolean => maxMs >= r.startMs && minMs <= r.endMs;

/** Profiles per batch `select` yields. */
const BATCH_PROFILES = 256;

/**
 * Reads one tenant's profiles from the head and the blocks. A select takes its view of both in one
 * synchronous step (a cut publishes a block and takes its profiles out of the head in one step too), so each
 * profile is read once; a profile committed meanwhile may or may not be seen.
 */
export class ProfileStoreQuerier implements ProfileQuerier {
  private readonly head: Head;

  constructor(
    private readonly sources: ProfileSources,
    private readonly tenant: TenantId,
  ) {
    this.head = sources.head;
  }

  async *select(params: ProfileSelectParams): AsyncIterable<readonly StoredProfile[]> {
    const preds = predicatesOf(params.matchers);
    const snap = this.sources.acquire();
    const lists: (readonly HeadProfile[])[] = [];
    for (const s of this.matching(params.matchers, params)) lists.push(...s.windows.values());
    let conn: DuckDBConnection | undefined;
    try {
      yield* this.headProfiles(lists, params);
      const picks: BlockPick[] = [];
      for (const block of snap.blocks) {
        if (block.tenant !== this.tenant || !overlaps(block.minMs, block.maxMs, params)) continue;
        const series: number[] = [];
        block.series.forEach((s, i) => {
          if (overlaps(s.minMs, s.maxMs, params) && matches(preds, s.labels)) series.push(i);
        });
        if (series.length > 0) picks.push({ block, series });
      }
      if (picks.length > 0) {
        conn = await this.sources.connect();
        for await (const batch of new ProfileBlockReader(conn, this.sources.symbols).select(picks, params, params.read ?? 'profiles')) {
          yield batch;
          params.signal?.throwIfAborted();
        }
      }
    } finally {
      conn?.closeSync();
      snap.release();
    }
  }

  private *headProfiles(lists: readonly (readonly HeadProfile[])[], params: ProfileSelectParams): Iterable<StoredProfile[]> {
    let batch: StoredProfile[] = [];
    for (const list of lists) {
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
    if (batch.length > 0) yield batch;
  }

  labelNames(matchers: readonly LabelMatcher[], range: ProfileTimeRange): Promise<string[]> {
    const names = new Set<string>();
    for (const labels of this.matchingLabels(matchers, range)) for (const n of Object.keys(labels)) names.add(n);
    return Promise.resolve([...names].sort(compareStrings));
  }

  labelValues(name: string, matchers: readonly LabelMatcher[], range: ProfileTimeRange): Promise<string[]> {
    const values = new Set<string>();
    for (const labels of this.matchingLabels(matchers, range)) {
      const v = labels[name];
      if (v !== undefined && v !== '') values.add(v);
    }
    return Promise.resolve([...values].sort(compareStrings));
  }

  series(matchers: readonly LabelMatcher[], range: ProfileTimeRange): Promise<Labels[]> {
    return Promise.resolve([...this.matchingLabels(matchers, range)].sort(compareLabels));
  }

  stats(): Promise<{ oldestMs: number; newestMs: number } | undefined> {
    let oldestMs = Infinity;
    let newestMs = -Infinity;
    for (const s of this.head.tenant(this.tenant)?.series.values() ?? []) {
      oldestMs = Math.min(oldestMs, s.minMs);
      newestMs = Math.max(newestMs, s.maxMs);
    }
    for (const b of this.sources.blocks()) {
      if (b.tenant !== this.tenant) continue;
      oldestMs = Math.min(oldestMs, b.minMs);
      newestMs = Math.max(newestMs, b.maxMs);
    }
    return Promise.resolve(oldestMs === Infinity ? undefined : { oldestMs, newestMs });
  }

  close(): Promise<void> {
    return Promise.resolve();
  }

  /** The distinct label sets of the head's and the blocks' series with a profile in the range that match. */
  private matchingLabels(matchers: readonly LabelMatcher[], range: ProfileTimeRange): Iterable<Labels> {
    const preds = predicatesOf(matchers);
    const out = new Map<string, Labels>();
    for (const [key, s] of this.head.tenant(this.tenant)?.series ?? []) {
      if (overlaps(s.minMs, s.maxMs, range) && matches(preds, s.labels)) out.set(key, s.labels);
    }
    for (const b of this.sources.blocks()) {
      if (b.tenant !== this.tenant || !overlaps(b.minMs, b.maxMs, range)) continue;
      for (const s of b.series) if (overlaps(s.minMs, s.maxMs, range) && matches(preds, s.labels)) out.set(labelsKey(s.labels), s.labels);
    }
    return out.values();
  }

  /** The head series with a profile in the range that every matcher accepts (a missing label is the empty string). */
  private matching(matchers: readonly LabelMatcher[], range: ProfileTimeRange): HeadSeries[] {
    const preds = predicatesOf(matchers);
    const out: HeadSeries[] = [];
    for (const s of this.head.tenant(this.tenant)?.series.values() ?? []) {
      if (overlaps(s.minMs, s.maxMs, range) && matches(preds, s.labels)) out.push(s);
    }
    return out;
  }
}
