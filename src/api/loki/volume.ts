import { TENANT_ID_LABEL, labelsKey } from '../../model/index.ts';
import type { LabelMatcher, Labels, TenantId } from '../../model/index.ts';
import type { LogQueryable } from '../../storage/index.ts';
import { sortLabels, sortedUnique, withLogQuerier } from './log-reads.ts';
import { nsToSeconds } from './result-json.ts';

/** What `index/volume` and `index/volume_range` compute. */
export interface VolumeRequest {
  readonly tenants: readonly TenantId[];
  readonly matchers: readonly LabelMatcher[];
  readonly startNs: bigint;
  readonly endNs: bigint;
  /**
   * `volume_range`: the step, with `startNs`/`endNs` already aligned to it (see `alignToStep`); each point is
   * the bytes of the bucket `(t - step, t]` at `t = startNs + k·step`. Undefined for `volume` (one total).
   */
  readonly stepMs?: number;
  /** Labels to group by (Loki's `targetLabels`, or the selector's label names). */
  readonly groupBy: readonly string[];
  readonly aggregateBy: 'series' | 'labels';
  readonly limit: number;
  readonly signal?: AbortSignal;
}

interface VolumeCell {
  labels: Labels;
  total: number;
  perStep: Map<number, number>;
}

/**
 * Loki's index volume: line bytes per group of streams, the largest first, at most `limit` groups; a
 * vector at `endNs` without a step, a matrix of per-step buckets with one.
 */
export async function computeVolume(queryable: LogQueryable, r: VolumeRequest): Promise<unknown> {
  const { startNs, endNs, stepMs, groupBy, aggregateBy } = r;
  const cells = new Map<string, VolumeCell>();
  const stepNs = stepMs !== undefined ? BigInt(Math.round(stepMs * 1e6)) : endNs - startNs + 1n;
  const add = (labels: Labels, bucket: number, bytes: number): void => {
    const keys: Labels[] =
      aggregateBy === 'labels'
        ? Object.keys(labels).filter((k) => groupBy.length === 0 || groupBy.includes(k)).map((k) => ({ [k]: '' }))
        : [Object.fromEntries(groupBy.flatMap((k) => {
            const v = labels[k];
            return v === undefined ? [] : [[k, v]];
          }))];
    for (const k of keys) {
      const key = labelsKey(k);
      let c = cells.get(key);
      if (!c) cells.set(key, (c = { labels: sortLabels(k), total: 0, perStep: new Map() }));
      c.total += bytes;
      c.perStep.set(bucket, (c.perStep.get(bucket) ?? 0) + bytes);
    }
  };
  await withLogQuerier(queryable, r.tenants, async (q) => {
    if (q.counts) {
      // Buckets are (start + k*step, start + (k+1)*step]; shift by one ns so `start` itself counts.
      const rows = await q.counts({ matchers: r.matchers, startNs: startNs - 1n, endNs, stepNs, signal: r.signal });
      for (const row of rows) for (let k = 0; k < row.bytes.length; k++) if (row.counts[k]! > 0) add(row.labels, k, row.bytes[k]!);
      return;
    }
    for await (const slice of q.select({ matchers: r.matchers, startNs, endNs: endNs + 1n, direction: 'forward', signal: r.signal })) {
      for (const b of slice) {
        for (let i = 0; i < b.lines.length; i++) add(b.labels, Number((b.timestampsNs[i]! - startNs) / stepNs), Buffer.byteLength(b.lines[i]!));
      }
    }
  });
  // Volume matches the selector's own matchers, so a stream missing a grouped label still counts under
  // the labels it has; the largest volumes come first.
  const ranked = [...cells.values()].sort((a, b) => b.total - a.total).slice(0, r.limit);
  if (stepMs === undefined) {
    return { resultType: 'vector', result: ranked.map((c) => ({ metric: c.labels, value: [nsToSeconds(endNs), String(c.total)] })) };
  }
  return {
    resultType: 'matrix',
    result: ranked.map((c) => ({
      metric: c.labels,
      values: [...c.perStep.entries()].sort(([a], [b]) => a - b).map(([k, v]) => [nsToSeconds(startNs + BigInt(k + 1) * stepNs), String(v)]),
    })),
  };
}

/** The labels volume groups by when `targetLabels` is not given: the selector's own label names. */
export function defaultVolumeGroupBy(matchers: readonly LabelMatcher[]): string[] {
  return sortedUnique(matchers.map((m) => m.name).filter((n) => n !== TENANT_ID_LABEL));
}
