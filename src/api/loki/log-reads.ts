import { compareStrings } from '../../model/index.ts';
import type { Labels, TenantId, TimeRange } from '../../model/index.ts';
import type { LogQuerier, LogQueryable } from '../../storage/index.ts';

/** Every stream: an empty matcher list selects all (a `__tenant_id__`-only selector ends up so too). */
export const ALL_STREAMS = [] as const;

/** Unix ns `[start, end]` as the millisecond range the metadata reads take. */
export function toRange(startNs: bigint, endNs: bigint): TimeRange {
  return { startMs: Number(startNs / 1_000_000n), endMs: Number(endNs / 1_000_000n) };
}

/**
 * Runs `fn` with one querier over the request's tenants (the queryable federates, see
 * storage/federation.ts) and closes it.
 */
export async function withLogQuerier<T>(queryable: LogQueryable, tenants: readonly TenantId[], fn: (q: LogQuerier) => Promise<T>): Promise<T> {
  const q = await queryable.querier(tenants);
  try {
    return await fn(q);
  } finally {
    await q.close();
  }
}

export function sortedUnique(values: Iterable<string>): string[] {
  return [...new Set(values)].sort(compareStrings);
}

/** A label set with its keys in byte order (Loki prints streams so). */
export function sortLabels(l: Labels): Labels {
  return Object.fromEntries(Object.entries(l).sort(([a], [b]) => compareStrings(a, b)));
}
