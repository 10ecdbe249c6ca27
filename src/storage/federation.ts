import { TENANT_ID_LABEL, compareLabels, compareStrings, compileMatcher, labelsKey, setOwnLabel } from '../model/index.ts';
import type { AttributeScalar, LabelMatcher, Labels, MetricMetadata, TenantId, TimeRange } from '../model/index.ts';
import type {
  LogCountParams,
  LogIndexStats,
  LogQuerier,
  LogQueryable,
  LogSelectParams,
  LogStreamBatch,
  LogStreamCounts,
  LogsStorage,
} from './logs.ts';
import type { MetricQuerier, MetricQueryable, MetricsStorage, SelectHints, SeriesData, SeriesExemplars } from './metrics.ts';
import type {
  AttributeScope,
  StoredSpan,
  StoredTrace,
  TraceQuerier,
  TraceQueryable,
  TraceSelectParams,
  TraceTimeRange,
  TracesStorage,
} from './traces.ts';
import type { ProfileQuerier, ProfileQueryable, ProfileSelectParams, ProfileTimeRange, ProfilesStorage, StoredProfile } from './profiles.ts';

/*
 * Tenant federation, once, over the storage seams (in the spirit of Mimir's merge queryable). Engines read
 * one tenant per querier; these wrappers give query languages and APIs one querier over the tenants of a
 * request. This is the only place that matches `__tenant_id__` (a matcher on it picks tenants, with every
 * operator) and the only place that adds it (to every series and stream of a read that spans more than one
 * tenant, as Loki and Mimir do for `a|b`). A single-tenant read shows no such label, but a matcher on it
 * still picks (or rules out) that tenant.
 */

/** Series per batch a federated metric `select` yields. */
const BATCH_SERIES = 256;

/**
 * Splits a read's matchers: those on `__tenant_id__` pick which tenants to read, the rest go to storage.
 * Returns the tenants that pass and the remaining matchers.
 */
export function partitionTenantMatchers(
  tenants: readonly TenantId[],
  matchers: readonly LabelMatcher[],
): { tenants: TenantId[]; matchers: LabelMatcher[] } {
  const tenantPreds = matchers.filter((m) => m.name === TENANT_ID_LABEL).map(compileMatcher);
  const rest = matchers.filter((m) => m.name !== TENANT_ID_LABEL);
  return { tenants: tenants.filter((t) => tenantPreds.every((p) => p(t))), matchers: rest };
}

/** Adds `__tenant_id__`, keeping keys in byte order (the order engines hand out). */
function withTenantLabel(labels: Labels, tenant: TenantId): Labels {
  const out: Record<string, string> = {};
  let added = false;
  for (const k of Object.keys(labels)) {
    if (k === TENANT_ID_LABEL) continue;
    if (!added && compareStrings(TENANT_ID_LABEL, k) < 0) {
      out[TENANT_ID_LABEL] = tenant;
      added = true;
    }
    setOwnLabel(out, k, labels[k]!);
  }
  if (!added) out[TENANT_ID_LABEL] = tenant;
  return out;
}

function sortedCut(set: Set<string>, limit?: number): string[] {
  const out = [...set].sort(compareStrings);
  return limit !== undefined && limit > 0 && out.length > limit ? out.slice(0, limit) : out;
}

async function closeAll(queriers: Iterable<{ close(): Promise<void> }>): Promise<void> {
  const results = await Promise.allSettled([...queriers].map((q) => q.close()));
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw failed.reason;
}

// ---- metrics ---------------------------------------------------------------------------------------------

class FederatedMetricQuerier implements MetricQuerier {
  private readonly federated: boolean;

  constructor(private readonly queriers: ReadonlyMap<TenantId, MetricQuerier>) {
    this.federated = queriers.size > 1;
  }

  /** The inner queriers of the tenants the matchers pick, and the matchers left for storage. */
  private pick(matchers: readonly LabelMatcher[] | undefined): { picked: [TenantId, MetricQuerier][]; rest: LabelMatcher[] } {
    const split = partitionTenantMatchers([...this.queriers.keys()], matchers ?? []);
    return { picked: split.tenants.map((t) => [t, this.queriers.get(t)!]), rest: split.matchers };
  }

  async *select(matchers: readonly LabelMatcher[], hints?: SelectHints): AsyncIterable<readonly SeriesData[]> {
    const { picked, rest } = this.pick(matchers);
    if (!this.federated) {
      if (picked.length === 1) yield* picked[0]![1].select(rest, hints);
      return;
    }
    // Adding the tenant label can reorder series, so the tenants' selections are merged and sorted whole.
    const all: SeriesData[] = [];
    for (const [tenant, q] of picked) {
      for await (const batch of q.select(rest, hints)) {
        for (const s of batch) all.push({ ...s, labels: withTenantLabel(s.labels, tenant) });
        hints?.signal?.throwIfAborted();
      }
    }
    all.sort((a, b) => compareLabels(a.labels, b.labels));
    const n = Math.min(all.length, hints?.limit ?? Infinity);
    for (let i = 0; i < n; i += BATCH_SERIES) yield all.slice(i, Math.min(n, i + BATCH_SERIES));
  }

  async labelNames(matchers?: readonly LabelMatcher[], limit?: number): Promise<string[]> {
    const { picked, rest } = this.pick(matchers);
    const names = new Set<string>();
    for (const [, q] of picked) {
      const found = await q.labelNames(rest.length > 0 ? rest : undefined, limit);
      for (const n of found) names.add(n);
      if (this.federated && found.length > 0) names.add(TENANT_ID_LABEL);
    }
    return sortedCut(names, limit);
  }

  async labelValues(name: string, matchers?: readonly LabelMatcher[], limit?: number): Promise<string[]> {
    const { picked, rest } = this.pick(matchers);
    const values = new Set<string>();
    for (const [tenant, q] of picked) {
      if (name === TENANT_ID_LABEL) {
        // A tenant is a value when it has any matching series; a single-tenant read has no such label.
        if (this.federated && (await q.labelNames(rest.length > 0 ? rest : undefined, 1)).length > 0) values.add(tenant);
      } else {
        for (const v of await q.labelValues(name, rest.length > 0 ? rest : undefined, limit)) values.add(v);
      }
    }
    return sortedCut(values, limit);
  }

  close(): Promise<void> {
    return closeAll(this.queriers.values());
  }
}

/**
 * The federating view of a metrics engine: `querier(tenants)` opens one engine querier per tenant and
 * returns one querier over all of them; `exemplars` and `metadata` read per tenant and merge. Writes pass
 * through. See the module comment for the `__tenant_id__` rules.
 */
export function federatedMetricsStorage(inner: MetricsStorage): MetricsStorage {
  return {
    appender: (tenant) => inner.appender(tenant),
    querier: (tenants, range) => federatedMetricQuerier(inner, tenants, range),
    async exemplars(tenants, range, matcherSets): Promise<SeriesExemplars[]> {
      const federated = tenants.length > 1;
      const out: SeriesExemplars[] = [];
      for (const tenant of tenants) {
        const sets: LabelMatcher[][] = [];
        for (const set of matcherSets) {
          const split = partitionTenantMatchers([tenant], set);
          if (split.tenants.length > 0) sets.push(split.matchers);
        }
        if (sets.length === 0) continue;
        for (const s of await inner.exemplars([tenant], range, sets)) {
          out.push(federated ? { seriesLabels: withTenantLabel(s.seriesLabels, tenant), exemplars: s.exemplars } : s);
        }
      }
      return out.sort((a, b) => compareLabels(a.seriesLabels, b.seriesLabels));
    },
    async metadata(tenants, metric, limit): Promise<Map<string, MetricMetadata[]>> {
      const merged = new Map<string, MetricMetadata[]>();
      for (const tenant of tenants) {
        for (const [name, list] of await inner.metadata([tenant], metric, limit)) merged.set(name, [...(merged.get(name) ?? []), ...list]);
      }
      return merged;
    },
  };
}

async function federatedMetricQuerier(inner: MetricQueryable, tenants: readonly TenantId[], range: TimeRange): Promise<MetricQuerier> {
  const queriers = new Map<TenantId, MetricQuerier>();
  try {
    for (const t of new Set(tenants)) queriers.set(t, await inner.querier([t], range));
  } catch (err) {
    // The open failure is what the caller needs; closing the half-opened set is best effort (nothing was read).
    await closeAll(queriers.values()).catch(() => undefined);
    throw err;
  }
  return new FederatedMetricQuerier(queriers);
}

// ---- logs ------------------------------------------------------------------------------------------------

/** One entry of a tenant's current slice, for the k-way merge of federated `select`. */
interface PendingEntry {
  readonly batch: LogStreamBatch;
  readonly index: number;
}

/** A tenant's `select` in flight: its iterator and the entries of its current slice not yet merged. */
interface TenantCursor {
  readonly iterator: AsyncIterator<readonly LogStreamBatch[]>;
  readonly tenant: TenantId;
  pending: PendingEntry[];
  done: boolean;
}

class FederatedLogQuerier implements LogQuerier {
  private readonly federated: boolean;
  counts?: (params: LogCountParams) => Promise<LogStreamCounts[]>;
  stats?: (range: TimeRange, matchers: readonly LabelMatcher[]) => Promise<LogIndexStats>;

  constructor(private readonly queriers: ReadonlyMap<TenantId, LogQuerier>) {
    this.federated = queriers.size > 1;
    const all = [...queriers.values()];
    // Pushed-down counts and stats exist only when every tenant's engine has them (the caller falls back).
    if (all.every((q) => q.counts)) this.counts = (p) => this.countsOf(p);
    if (all.every((q) => q.stats)) this.stats = (r, m) => this.statsOf(r, m);
  }

  private pick(matchers: readonly LabelMatcher[] | undefined): { picked: [TenantId, LogQuerier][]; rest: LabelMatcher[] } {
    const split = partitionTenantMatchers([...this.queriers.keys()], matchers ?? []);
    return { picked: split.tenants.map((t) => [t, this.queriers.get(t)!]), rest: split.matchers };
  }

  private label(labels: Labels, tenant: TenantId): Labels {
    return this.federated ? withTenantLabel(labels, tenant) : labels;
  }

  /**
   * Merges the tenants' selections slice by slice in `direction` order: a slice goes out with every pending
   * entry up to the earliest (forward; latest for backward) last entry among the tenants still reading, so
   * no later slice of any tenant can hold an entry before it. Memory holds about one slice per tenant.
   */
  async *select(params: LogSelectParams): AsyncIterable<readonly LogStreamBatch[]> {
    const { picked, rest } = this.pick(params.matchers);
    const inner = { ...params, matchers: rest };
    if (!this.federated) {
      if (picked.length === 1) yield* picked[0]![1].select(inner);
      return;
    }
    const backward = params.direction === 'backward';
    const before = (a: bigint, b: bigint): boolean => (backward ? a > b : a < b);
    const cursors: TenantCursor[] = picked.map(([tenant, q]) => ({
      iterator: q.select(inner)[Symbol.asyncIterator](),
      tenant,
      pending: [],
      done: false,
    }));
    const labelled = new Map<LogStreamBatch['labels'], Labels>();
    let remaining = params.limit ?? Infinity;
    try {
      while (remaining > 0) {
        for (const c of cursors) {
          while (!c.done && c.pending.length === 0) {
            const next = await c.iterator.next();
            if (next.done) c.done = true;
            else c.pending = flatten(next.value, before);
          }
        }
        const live = cursors.filter((c) => c.pending.length > 0);
        if (live.length === 0) break;
        // Tenants still reading bound what may go out; finished ones impose no bound.
        let bound: bigint | undefined;
        for (const c of live) {
          if (c.done) continue;
          const last = tsOf(c.pending[c.pending.length - 1]!);
          if (bound === undefined || before(last, bound)) bound = last;
        }
        const out: { tenant: TenantId; entry: PendingEntry }[] = [];
        for (const c of live) {
          let k = 0;
          while (k < c.pending.length && (bound === undefined || !before(bound, tsOf(c.pending[k]!)))) {
            out.push({ tenant: c.tenant, entry: c.pending[k]! });
            k++;
          }
          c.pending = c.pending.slice(k);
        }
        if (out.length > remaining) {
          out.sort((a, b) => (before(tsOf(a.entry), tsOf(b.entry)) ? -1 : before(tsOf(b.entry), tsOf(a.entry)) ? 1 : 0));
          out.length = remaining;
        }
        remaining -= out.length;
        yield regroup(out, (labels, tenant) => {
          let l = labelled.get(labels);
          if (!l) labelled.set(labels, (l = withTenantLabel(labels, tenant)));
          return l;
        });
        params.signal?.throwIfAborted();
      }
    } finally {
      await Promise.allSettled(cursors.map((c) => c.iterator.return?.()));
    }
  }

  async labelNames(range: TimeRange, matchers?: readonly LabelMatcher[]): Promise<string[]> {
    const { picked, rest } = this.pick(matchers);
    const names = new Set<string>();
    for (const [, q] of picked) {
      const found = await q.labelNames(range, rest);
      for (const n of found) names.add(n);
      if (this.federated && found.length > 0) names.add(TENANT_ID_LABEL);
    }
    return sortedCut(names);
  }

  async labelValues(name: string, range: TimeRange, matchers?: readonly LabelMatcher[]): Promise<string[]> {
    const { picked, rest } = this.pick(matchers);
    const values = new Set<string>();
    for (const [tenant, q] of picked) {
      if (name === TENANT_ID_LABEL) {
        if (this.federated && (await q.labelNames(range, rest)).length > 0) values.add(tenant);
      } else {
        for (const v of await q.labelValues(name, range, rest)) values.add(v);
      }
    }
    return sortedCut(values);
  }

  async series(range: TimeRange, matchers: readonly LabelMatcher[]): Promise<Labels[]> {
    const { picked, rest } = this.pick(matchers);
    const byKey = new Map<string, Labels>();
    for (const [tenant, q] of picked) {
      for (const l of await q.series(range, rest)) {
        const labels = this.label(l, tenant);
        byKey.set(labelsKey(labels), labels);
      }
    }
    return [...byKey.entries()].sort((a, b) => compareStrings(a[0], b[0])).map(([, l]) => l);
  }

  private async countsOf(params: LogCountParams): Promise<LogStreamCounts[]> {
    const { picked, rest } = this.pick(params.matchers);
    const out: LogStreamCounts[] = [];
    // Engines know no `__tenant_id__`: it is added here, to each tenant's rows (a group per tenant).
    const groupBy = params.groupBy?.filter((l) => l !== TENANT_ID_LABEL);
    for (const [tenant, q] of picked) {
      for (const r of await q.counts!({ ...params, matchers: rest, ...(groupBy ? { groupBy } : {}) })) out.push({ ...r, labels: this.label(r.labels, tenant) });
    }
    return out;
  }

  private async statsOf(range: TimeRange, matchers: readonly LabelMatcher[]): Promise<LogIndexStats> {
    const { picked, rest } = this.pick(matchers);
    const total = { streams: 0, chunks: 0, entries: 0, bytes: 0 };
    for (const [, q] of picked) {
      const s = await q.stats!(range, rest);
      total.streams += s.streams;
      total.chunks += s.chunks;
      total.entries += s.entries;
      total.bytes += s.bytes;
    }
    return total;
  }

  close(): Promise<void> {
    return closeAll(this.queriers.values());
  }
}

function tsOf(e: PendingEntry): bigint {
  return e.batch.timestampsNs[e.index]!;
}

/** A slice's entries in direction order (batches of different streams interleave in time). */
function flatten(slice: readonly LogStreamBatch[], before: (a: bigint, b: bigint) => boolean): PendingEntry[] {
  const out: PendingEntry[] = [];
  for (const batch of slice) for (let i = 0; i < batch.lines.length; i++) out.push({ batch, index: i });
  // Stable: entries of one stream keep their order (equal timestamps ordered by line).
  return out.sort((a, b) => (before(tsOf(a), tsOf(b)) ? -1 : before(tsOf(b), tsOf(a)) ? 1 : 0));
}

/** Entries back into one batch per stream, each in the order given. */
function regroup(entries: readonly { tenant: TenantId; entry: PendingEntry }[], labelOf: (labels: Labels, tenant: TenantId) => Labels): LogStreamBatch[] {
  const groups = new Map<string, { labels: Labels; ts: bigint[]; lines: string[]; md: (Labels | undefined)[]; anyMd: boolean }>();
  for (const { tenant, entry } of entries) {
    const key = `${tenant}\u0000${labelsKey(entry.batch.labels)}`;
    let g = groups.get(key);
    if (!g) groups.set(key, (g = { labels: labelOf(entry.batch.labels, tenant), ts: [], lines: [], md: [], anyMd: false }));
    g.ts.push(tsOf(entry));
    g.lines.push(entry.batch.lines[entry.index]!);
    const md = entry.batch.structuredMetadata?.[entry.index];
    g.md.push(md);
    if (md !== undefined) g.anyMd = true;
  }
  const out: LogStreamBatch[] = [];
  for (const g of groups.values()) {
    out.push({ labels: g.labels, timestampsNs: BigInt64Array.from(g.ts), lines: g.lines, ...(g.anyMd ? { structuredMetadata: g.md } : {}) });
  }
  return out;
}

/**
 * The federating view of a log engine: `querier(tenants)` opens one engine querier per tenant and returns
 * one querier over all of them (a k-way merge for `select`, pushed-down `counts` and `stats` when every
 * engine querier has them). Writes pass through. See the module comment for the `__tenant_id__` rules.
 */
export function federatedLogsStorage(inner: LogsStorage): LogsStorage {
  return {
    appender: (tenant) => inner.appender(tenant),
    querier: (tenants) => federatedLogQuerier(inner, tenants),
  };
}

async function federatedLogQuerier(inner: LogQueryable, tenants: readonly TenantId[]): Promise<LogQuerier> {
  const queriers = new Map<TenantId, LogQuerier>();
  try {
    for (const t of new Set(tenants)) queriers.set(t, await inner.querier([t]));
  } catch (err) {
    // The open failure is what the caller needs; closing the half-opened set is best effort (nothing was read).
    await closeAll(queriers.values()).catch(() => undefined);
    throw err;
  }
  return new FederatedLogQuerier(queriers);
}

// ---- traces ----------------------------------------------------------------------------------------------

/** Traces per batch a federated trace `select` yields. */
const BATCH_TRACES = 500;

function withTenant(spans: readonly StoredSpan[], tenant: TenantId): StoredSpan[] {
  return spans.map((s) => ({ ...s, tenant }));
}

class FederatedTraceQuerier implements TraceQuerier {
  constructor(private readonly queriers: ReadonlyMap<TenantId, TraceQuerier>) {}

  async *select(params: TraceSelectParams): AsyncIterable<readonly StoredTrace[]> {
    // A trace id may have spans in several tenants and is yielded once, so the tenants' answers are merged
    // whole before anything is yielded (the query engine's limits bound what a select returns).
    const byId = new Map<string, StoredSpan[]>();
    for (const [tenant, q] of this.queriers) {
      for await (const batch of q.select(params)) {
        for (const t of batch) {
          const spans = withTenant(t.spans, tenant);
          const have = byId.get(t.traceId);
          if (have) have.push(...spans);
          else byId.set(t.traceId, spans);
        }
        params.signal?.throwIfAborted();
      }
    }
    const ids = [...byId.keys()].sort(compareStrings);
    for (let i = 0; i < ids.length; i += BATCH_TRACES) {
      yield ids.slice(i, i + BATCH_TRACES).map((traceId) => ({ traceId, spans: byId.get(traceId)! }));
    }
  }

  async traceById(traceId: string, range?: TraceTimeRange): Promise<StoredTrace | undefined> {
    const spans: StoredSpan[] = [];
    for (const [tenant, q] of this.queriers) {
      const t = await q.traceById(traceId, range);
      if (t) spans.push(...withTenant(t.spans, tenant));
    }
    return spans.length > 0 ? { traceId, spans } : undefined;
  }

  async tagNames(scope: Exclude<AttributeScope, 'any' | 'intrinsic'>, range?: TraceTimeRange): Promise<string[]> {
    const names = new Set<string>();
    for (const q of this.queriers.values()) for (const n of await q.tagNames(scope, range)) names.add(n);
    return sortedCut(names);
  }

  async tagValues(scope: AttributeScope, name: string, range?: TraceTimeRange, limit?: number): Promise<AttributeScalar[]> {
    const values = new Map<string, AttributeScalar>();
    for (const q of this.queriers.values()) {
      for (const v of await q.tagValues(scope, name, range, limit)) values.set(`${typeof v}:${String(v)}`, v);
    }
    const out = [...values.entries()].sort((a, b) => compareStrings(a[0], b[0])).map(([, v]) => v);
    return limit !== undefined && limit > 0 && out.length > limit ? out.slice(0, limit) : out;
  }

  close(): Promise<void> {
    return closeAll(this.queriers.values());
  }
}

/**
 * The federating view of a trace engine: `querier(tenants)` with one tenant is the engine's own querier
 * (spans carry no tenant); with several it opens one engine querier per tenant and returns one querier over
 * all of them, whose spans carry `tenant`, whose `traceById` and `select` merge the tenants' spans of one
 * trace id into one trace, and whose tag reads are the union. Writes pass through.
 */
export function federatedTracesStorage(inner: TracesStorage): TracesStorage {
  return {
    appender: (tenant) => inner.appender(tenant),
    querier: (tenants) => federatedTraceQuerier(inner, tenants),
  };
}

async function federatedTraceQuerier(inner: TraceQueryable, tenants: readonly TenantId[]): Promise<TraceQuerier> {
  const unique = [...new Set(tenants)];
  if (unique.length === 1) return inner.querier(unique);
  const queriers = new Map<TenantId, TraceQuerier>();
  try {
    for (const t of unique) queriers.set(t, await inner.querier([t]));
  } catch (err) {
    // The open failure is what the caller needs; closing the half-opened set is best effort (nothing was read).
    await closeAll(queriers.values()).catch(() => undefined);
    throw err;
  }
  return new FederatedTraceQuerier(queriers);
}

// ---- profiles --------------------------------------------------------------------------------------------

class FederatedProfileQuerier implements ProfileQuerier {
  private readonly federated: boolean;

  constructor(private readonly queriers: ReadonlyMap<TenantId, ProfileQuerier>) {
    this.federated = queriers.size > 1;
  }

  private pick(matchers: readonly LabelMatcher[]): { picked: [TenantId, ProfileQuerier][]; rest: LabelMatcher[] } {
    const split = partitionTenantMatchers([...this.queriers.keys()], matchers);
    return { picked: split.tenants.map((t) => [t, this.queriers.get(t)!]), rest: split.matchers };
  }

  async *select(params: ProfileSelectParams): AsyncIterable<readonly StoredProfile[]> {
    const { picked, rest } = this.pick(params.matchers);
    for (const [tenant, q] of picked) {
      for await (const batch of q.select({ ...params, matchers: rest })) {
        if (!this.federated) {
          yield batch;
          continue;
        }
        yield batch.map((s) => ({ ...s, profile: { ...s.profile, labels: withTenantLabel(s.profile.labels, tenant) }, tenant }));
      }
    }
  }

  async labelNames(matchers: readonly LabelMatcher[], range: ProfileTimeRange): Promise<string[]> {
    const { picked, rest } = this.pick(matchers);
    const names = new Set<string>();
    for (const [, q] of picked) {
      const found = await q.labelNames(rest, range);
      for (const n of found) names.add(n);
      if (this.federated && found.length > 0) names.add(TENANT_ID_LABEL);
    }
    return sortedCut(names);
  }

  async labelValues(name: string, matchers: readonly LabelMatcher[], range: ProfileTimeRange): Promise<string[]> {
    const { picked, rest } = this.pick(matchers);
    const values = new Set<string>();
    if (name === TENANT_ID_LABEL) {
      if (!this.federated) return [];
      for (const [tenant, q] of picked) if ((await q.series(rest, range)).length > 0) values.add(tenant);
      return sortedCut(values);
    }
    for (const [, q] of picked) for (const v of await q.labelValues(name, rest, range)) values.add(v);
    return sortedCut(values);
  }

  async series(matchers: readonly LabelMatcher[], range: ProfileTimeRange): Promise<Labels[]> {
    const { picked, rest } = this.pick(matchers);
    const out: Labels[] = [];
    for (const [tenant, q] of picked) {
      for (const s of await q.series(rest, range)) out.push(this.federated ? withTenantLabel(s, tenant) : s);
    }
    return out.sort(compareLabels);
  }

  async stats(): Promise<{ oldestMs: number; newestMs: number } | undefined> {
    let out: { oldestMs: number; newestMs: number } | undefined;
    for (const q of this.queriers.values()) {
      const s = await q.stats();
      if (!s) continue;
      out = out ? { oldestMs: Math.min(out.oldestMs, s.oldestMs), newestMs: Math.max(out.newestMs, s.newestMs) } : s;
    }
    return out;
  }

  close(): Promise<void> {
    return closeAll(this.queriers.values());
  }
}

/**
 * The federating view of a profile engine: `querier(tenants)` opens one engine querier per tenant and
 * returns one querier over them. A matcher on `__tenant_id__` picks tenants (single-tenant reads too); with
 * several tenants every profile and series carries `__tenant_id__`. Writes pass through.
 */
export function federatedProfilesStorage(inner: ProfilesStorage): ProfilesStorage {
  return {
    appender: (tenant) => inner.appender(tenant),
    querier: (tenants) => federatedProfileQuerier(inner, tenants),
  };
}

async function federatedProfileQuerier(inner: ProfileQueryable, tenants: readonly TenantId[]): Promise<ProfileQuerier> {
  const queriers = new Map<TenantId, ProfileQuerier>();
  try {
    for (const t of new Set(tenants)) queriers.set(t, await inner.querier([t]));
  } catch (err) {
    // The open failure is what the caller needs; closing the half-opened set is best effort (nothing was read).
    await closeAll(queriers.values()).catch(() => undefined);
    throw err;
  }
  return new FederatedProfileQuerier(queriers);
}
