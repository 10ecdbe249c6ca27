import { METRIC_NAME_LABEL, TENANT_ID_LABEL, compareStrings, labelsKey, sortedLabelNames } from '../../model/index.ts';
import type { LabelMatcher, Labels, TenantId, TimeRange } from '../../model/index.ts';
import { labelForTenant, partitionTenantMatchers } from '../../storage/index.ts';
import type { MetricQuerier, MetricQueryable, SeriesExemplars, ExemplarQueryable } from '../../storage/index.ts';

/*
 * Label and series reads for possibly federated (`a|b`) requests. They run per tenant so the API alone
 * decides how `__tenant_id__` appears: as a label on every series, a label name, and a label whose values
 * are the tenants, and as a matcher that picks tenants. A single-tenant read shows no such label, as in
 * Mimir.
 */

/** Matches every series: each has a name. Used when only `__tenant_id__` matchers were given. */
const ANY_SERIES: LabelMatcher = { op: '=~', name: METRIC_NAME_LABEL, value: '.+' };

/** One tenant's share of a read: the matcher sets that apply to it, tenant matchers removed. */
interface TenantPlan {
  readonly tenant: TenantId;
  /** `null` stands for "every series" (no `match[]` given). */
  readonly sets: readonly (readonly LabelMatcher[] | null)[];
}

function plan(tenants: readonly TenantId[], matcherSets: readonly (readonly LabelMatcher[])[]): TenantPlan[] {
  const plans: TenantPlan[] = [];
  for (const tenant of tenants) {
    if (matcherSets.length === 0) {
      plans.push({ tenant, sets: [null] });
      continue;
    }
    const sets: (readonly LabelMatcher[] | null)[] = [];
    for (const set of matcherSets) {
      const split = partitionTenantMatchers([tenant], set);
      if (split.tenants.length === 0) continue;
      sets.push(split.matchers.length === 0 ? null : split.matchers);
    }
    if (sets.length > 0) plans.push({ tenant, sets });
  }
  return plans;
}

async function withQuerier<T>(
  queryable: MetricQueryable,
  tenant: TenantId,
  range: TimeRange,
  fn: (q: MetricQuerier) => Promise<T>,
): Promise<T> {
  const q = await queryable.querier([tenant], range);
  try {
    return await fn(q);
  } finally {
    await q.close();
  }
}

/** Prometheus' labels.Compare: label by label in name order, then by length. */
export function compareLabels(a: Labels, b: Labels): number {
  const an = sortedLabelNames(a);
  const bn = sortedLabelNames(b);
  const n = Math.min(an.length, bn.length);
  for (let i = 0; i < n; i++) {
    const c = compareStrings(an[i]!, bn[i]!) || compareStrings(a[an[i]!]!, b[bn[i]!]!);
    if (c !== 0) return c;
  }
  return an.length - bn.length;
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
  const federated = opts.tenants.length > 1;
  const seen = new Map<string, Labels>();
  const cap = opts.limit > 0 ? opts.limit + 1 : Infinity;
  for (const { tenant, sets } of plan(opts.tenants, opts.matcherSets)) {
    await withQuerier(queryable, tenant, opts.range, async (q) => {
      for (const set of sets) {
        const hints = {
          labelsOnly: true,
          ...(opts.limit > 0 ? { limit: opts.limit + 1 } : {}),
          ...(opts.signal ? { signal: opts.signal } : {}),
        };
        for await (const batch of q.select(set ?? [ANY_SERIES], hints)) {
          for (const series of batch) {
            const labels = labelForTenant(series.labels, tenant, federated);
            seen.set(labelsKey(labels), labels);
          }
          opts.signal?.throwIfAborted();
        }
      }
    });
  }
  // Any tenant's series may sort first, so the cap applies only after all tenants are read.
  const all = [...seen.values()].sort(compareLabels);
  return all.length > cap ? all.slice(0, cap) : all;
}

/** Label names on series matching any set (all series when none given), sorted. */
export async function readLabelNames(queryable: MetricQueryable, opts: LabelReadOptions): Promise<string[]> {
  const federated = opts.tenants.length > 1;
  const names = new Set<string>();
  const hint = opts.limit > 0 ? opts.limit + 1 : undefined;
  for (const { tenant, sets } of plan(opts.tenants, opts.matcherSets)) {
    await withQuerier(queryable, tenant, opts.range, async (q) => {
      for (const set of sets) {
        const found = await q.labelNames(set ?? undefined, hint);
        for (const n of found) names.add(n);
        if (federated && found.length > 0) names.add(TENANT_ID_LABEL);
        opts.signal?.throwIfAborted();
      }
    });
  }
  return [...names].sort(compareStrings);
}

/** Values of label `name` on series matching any set (all series when none given), sorted. */
export async function readLabelValues(queryable: MetricQueryable, name: string, opts: LabelReadOptions): Promise<string[]> {
  const federated = opts.tenants.length > 1;
  const values = new Set<string>();
  const hint = opts.limit > 0 ? opts.limit + 1 : undefined;
  for (const { tenant, sets } of plan(opts.tenants, opts.matcherSets)) {
    await withQuerier(queryable, tenant, opts.range, async (q) => {
      for (const set of sets) {
        if (name === TENANT_ID_LABEL) {
          // The tenant is a value when it has any matching series; single-tenant reads have no such label.
          if (federated && (await q.labelNames(set ?? undefined, 1)).length > 0) values.add(tenant);
        } else {
          for (const v of await q.labelValues(name, set ?? undefined, hint)) values.add(v);
        }
        opts.signal?.throwIfAborted();
      }
    });
  }
  return [...values].sort(compareStrings);
}

/** Exemplars of series matching any set; federated reads label each series with its tenant. */
export async function readExemplars(
  queryable: ExemplarQueryable,
  tenants: readonly TenantId[],
  range: TimeRange,
  matcherSets: readonly (readonly LabelMatcher[])[],
): Promise<SeriesExemplars[]> {
  const federated = tenants.length > 1;
  const out: SeriesExemplars[] = [];
  for (const { tenant, sets } of plan(tenants, matcherSets)) {
    const storageSets = sets.map((s) => s ?? [ANY_SERIES]);
    for (const series of await queryable.exemplars([tenant], range, storageSets)) {
      out.push({ seriesLabels: labelForTenant(series.seriesLabels, tenant, federated), exemplars: series.exemplars });
    }
  }
  return out.sort((a, b) => compareLabels(a.seriesLabels, b.seriesLabels));
}
