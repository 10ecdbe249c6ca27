import { compareLabels, profileTotal } from '../model/index.ts';
import type { Labels, Profile } from '../model/index.ts';

/** One point of a profile series: the aggregated total of the profiles in a step, at the step's start (ms). */
export interface SeriesPoint {
  readonly value: number;
  readonly timestampMs: number;
}

export interface ProfileSeries {
  /** The `groupBy` labels of the series (all of them absent: one series over everything). */
  readonly labels: Labels;
  readonly points: SeriesPoint[];
}

export interface SeriesParams {
  readonly stepMs: number;
  readonly groupBy: readonly string[];
  /** `sum` (Pyroscope's default) adds the profiles of a step; `average` divides by their number. */
  readonly aggregation: 'sum' | 'average';
  /** Keep the `limit` series with the largest totals (0: all). */
  readonly limit: number;
}

/** Accumulates profiles into step-aligned series grouped by labels (Pyroscope's SelectSeries). */
export class SeriesBuilder {
  private readonly groups = new Map<string, { labels: Labels; buckets: Map<number, { sum: number; count: number }> }>();

  constructor(private readonly params: SeriesParams) {}

  add(p: Profile): void {
    const labels: Record<string, string> = {};
    for (const name of this.params.groupBy) {
      const v = p.labels[name];
      if (v !== undefined) labels[name] = v;
    }
    const key = JSON.stringify(this.params.groupBy.map((n) => labels[n] ?? null));
    let g = this.groups.get(key);
    if (!g) this.groups.set(key, (g = { labels, buckets: new Map() }));
    const step = this.params.stepMs;
    const t = Math.floor(p.timeMs / step) * step;
    const b = g.buckets.get(t);
    const value = profileTotal(p);
    if (b) {
      b.sum += value;
      b.count++;
    } else g.buckets.set(t, { sum: value, count: 1 });
  }

  series(): ProfileSeries[] {
    let out = [...this.groups.values()].map((g) => ({
      labels: g.labels,
      points: [...g.buckets.entries()]
        .sort((a, b) => a[0] - b[0])
        .map(([timestampMs, b]) => ({ timestampMs, value: this.params.aggregation === 'average' ? b.sum / b.count : b.sum })),
    }));
    if (this.params.limit > 0 && out.length > this.params.limit) {
      const total = (s: ProfileSeries): number => s.points.reduce((a, p) => a + p.value, 0);
      out = out.sort((a, b) => total(b) - total(a)).slice(0, this.params.limit);
    }
    return out.sort((a, b) => compareLabels(a.labels, b.labels));
  }
}
