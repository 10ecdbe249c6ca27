import { formatMetric } from '../datasource/prometheus.ts';
import type { Metric, QueryData, SamplePair } from '../datasource/prometheus.ts';
import type { GraphSeries } from './time-series-graph.tsx';

/** A sample value as the API writes it (`"1.5"`, `"NaN"`, `"+Inf"`) as a number. */
export function sampleValue(text: string): number {
  if (text === '+Inf') return Infinity;
  if (text === '-Inf') return -Infinity;
  return Number(text);
}

/**
 * A range answer as the graph draws it: the union of every series' timestamps (unix seconds, sorted) and one
 * value per timestamp per series, null where the series has no sample or a value the plot cannot place
 * (±Inf, NaN). Native histogram samples are not drawn (they have no single value).
 */
export function toGraphFrame(data: QueryData): { timesS: number[]; series: GraphSeries[] } {
  if (data.resultType !== 'matrix') return { timesS: [], series: [] };
  const times = new Set<number>();
  for (const s of data.result) for (const [t] of s.values ?? []) times.add(t);
  const timesS = [...times].sort((a, b) => a - b);
  const index = new Map(timesS.map((t, i) => [t, i]));
  const series = data.result.map((s) => {
    const values: (number | null)[] = new Array<number | null>(timesS.length).fill(null);
    for (const [t, v] of s.values ?? []) {
      const n = sampleValue(v);
      values[index.get(t)!] = Number.isFinite(n) ? n : null;
    }
    return { name: formatMetric(s.metric), values };
  });
  return { timesS, series };
}

/** One row of the table view. */
export interface TableRow {
  readonly labels: Metric;
  readonly value: string;
  readonly timeS: number;
  /** Samples behind the row (range answers show the series' last sample). */
  readonly samples: number;
}

/** The table view of any answer: a row per series (its last sample for a range), label columns sorted, `__name__` first. */
export function toTable(data: QueryData): { columns: string[]; rows: TableRow[] } {
  const rows: TableRow[] = [];
  const pair = (p: SamplePair | undefined): { timeS: number; value: string } => ({ timeS: p?.[0] ?? 0, value: p?.[1] ?? '' });
  switch (data.resultType) {
    case 'vector':
      for (const s of data.result) rows.push({ labels: s.metric, ...pair(s.value), samples: 1, ...(s.histogram ? { value: '(native histogram)' } : {}) });
      break;
    case 'matrix':
      for (const s of data.result) {
        const values = s.values ?? [];
        rows.push({ labels: s.metric, ...pair(values[values.length - 1]), samples: values.length });
      }
      break;
    default:
      rows.push({ labels: {}, ...pair(data.result), samples: 1 });
  }
  const names = new Set<string>();
  for (const r of rows) for (const k of Object.keys(r.labels)) names.add(k);
  const columns = [...names].sort((a, b) => (a === '__name__' ? -1 : b === '__name__' ? 1 : a < b ? -1 : a > b ? 1 : 0));
  return { columns, rows };
}
