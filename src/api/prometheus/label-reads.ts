import { METRIC_NAME_LABEL, TENANT_ID_LABEL, compareLabels, compareStrings, labelsKey } from '../../model/index.ts';
import type { LabelMatcher, Labels, TenantId, TimeRange } from '../../model/index.ts';
import type { ExemplarQueryable, MetricQuerier, MetricQueryable, SeriesExemplars } from '../../storage/index.ts';

/*
 * Label and series reads over the matcher sets of `match[]`. The queryable federates (storage/federation.ts):
 * one querier covers every tenant of the request, `__tenant_id__` matchers pick tenants and federated reads
 * carry the label.
 */

/** Matches every series: each has a name. Used when only `__tenant_id__` matchers were given. */
const ANY_SERIES: LabelMatcher = { op: '=~', name: METRIC_NAME_LABEL, value: '.+' };

async function withQuerier<T>(
  queryable: MetricQueryable,
  tenants: readonly TenantId[],
  range: TimeRange,
  fn: (q: MetricQuerier) => Promise<T>,
): Promise<T> {
  const q = await queryable.querier(tenants, range);
  try {
    return await fn(q);
  } finally {
    await q.close();
  }
}

/** A set's matchers for storage; a set of only `__tenant_id__` matchers still needs one that selects. */
function selecting(set: readonly LabelMatcher[]): LabelMatcher[] {
  return set.some((m) => m.name !== TENANT_ID_LABEL) ? [...set] : [...set, ANY_SERIES];
}

/** Options shared by the label reads. `limit` is a hint (0 = none); callers truncate and warn. */
export interface LabelReadOptions {
  readonly tenants: readonly TenantId[];
  readonly range: TimeRange;
  readonly matcherSets: readonly (readonly LabelMatcher[])[];
  readonly limit: number;
  readonly signal?: AbortSignal;
}

/** The label sets of series matching any of the sets (at least one set), sorted, at most `limit` + 1. */
export async function readSeries(queryable: MetricQueryable, opts: LabelReadOptions): Promise<Labels[]> {
  const seen = new Map<string, Labels>();
  const cap = opts.limit > 0 ? opts.limit + 1 : Infinity;
  await withQuerier(queryable, opts.tenants, opts.range, async (q) => {
    for (const set of opts.matcherSets) {
      const hints = {
        labelsOnly: true,
        ...(opts.limit > 0 ? { limit: opts.limit + 1 } : {}),
        ...(opts.signal ? { signal: opts.signal } : {}),
      };
      for await (const batch of q.select(selecting(set), hints)) {
        for (const series of batch) seen.set(labelsKey(series.labels), series.labels);
        opts.signal?.throwIfAborted();
      }
    }
  });
  const all = [...seen.values()].sort(compareLabels);
  return all.length > cap ? all.slice(0, cap) : all;
}

/** Label names on series matching any set (all series when none given), sorted. */
export async function readLabelNames(queryable: MetricQueryable, opts: LabelReadOptions): Promise<string[]> {
  const names = new Set<string>();
  const hint = opts.limit > 0 ? opts.limit + 1 : undefined;
  await withQuerier(queryable, opts.tenants, opts.range, async (q) => {
    for (const set of opts.matcherSets.length > 0 ? opts.matcherSets : [undefined]) {
      for (const n of await q.labelNames(set, hint)) names.add(n);
      opts.signal?.throwIfAborted();
    }
  });
  return [...names].sort(compareStrings);
}

/** Values of label `name` on series matching any set (all series when none given), sorted. */
export async function readLabelValues(queryable: MetricQueryable, name: string, opts: LabelReadOptions): Promise<string[]> {
  const values = new Set<string>();
  const hint = opts.limit > 0 ? opts.limit + 1 : undefined;
  await withQuerier(queryable, opts.tenants, opts.range, async (q) => {
    for (const set of opts.matcherSets.length > 0 ? opts.matcherSets : [undefined]) {
      for (const v of await q.labelValues(name, set, hint)) values.add(v);
      opts.signal?.throwIfAborted();
    }
  });
  return [...values].sort(compareStrings);
}

/** Exemplars of series matching any set, sorted by series labels. */
export async function readExemplars(
  queryable: ExemplarQueryable,
  tenants: readonly TenantId[],
  range: TimeRange,
  matcherSets: readonly (readonly LabelMatcher[])[],
): Promise<SeriesExemplars[]> {
  const found = await queryable.exemplars(tenants, range, matcherSets.map(selecting));
  return [...found].sort((a, b) => compareLabels(a.seriesLabels, b.seriesLabels));
}
