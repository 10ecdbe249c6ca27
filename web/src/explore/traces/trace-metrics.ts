import type { QueryData } from '../../datasource/prometheus.ts';
import type { TempoLabel, TempoMetricsSeries } from '../../datasource/tempo.ts';
import { normalizeTraceId } from '../../datasource/tempo.ts';
import type { GraphMarker } from '../graph-types.ts';

/** A TraceQL query ending in a metrics function (`{…} | rate() by (…)`): drawn as a graph, not searched. */
export function isTraceqlMetricsQuery(q: string): boolean {
  return /\|\s*(rate|count_over_time|sum_over_time|avg_over_time|min_over_time|max_over_time|quantile_over_time|histogram_over_time|compare)\s*\(/.test(q);
}

function labelText(l: TempoLabel): string {
  const v = l.value ?? {};
  return String(v.stringValue ?? v.intValue ?? v.doubleValue ?? v.boolValue ?? '');
}

/**
 * A TraceQL metrics answer as a Prometheus matrix (so the metrics graph and table draw it) and its exemplars as
 * points naming their trace. An exemplar without a value of its own (a rate's) sits on its series' line at the
 * nearest sample.
 */
export function traceMetricsFrame(series: readonly TempoMetricsSeries[]): { data: QueryData; markers: GraphMarker[] } {
  const markers: GraphMarker[] = [];
  const result = series.map((s) => {
    const metric = Object.fromEntries((s.labels ?? []).map((l) => [l.key, labelText(l)]));
    const values = (s.samples ?? []).map((p) => [Number(p.timestampMs) / 1000, String(p.value ?? 0)] as [number, string]);
    for (const e of s.exemplars ?? []) {
      const traceId = (e.labels ?? []).find((l) => l.key === 'trace:id' || l.key === 'trace_id');
      const timeS = Number(e.timestampMs) / 1000;
      let value = Number(e.value);
      if (!Number.isFinite(value)) {
        const nearest = values.reduce<[number, string] | undefined>((best, p) => (!best || Math.abs(p[0] - timeS) < Math.abs(best[0] - timeS) ? p : best), undefined);
        value = Number(nearest?.[1] ?? 0);
      }
      const id = traceId ? normalizeTraceId(labelText(traceId)) : undefined;
      markers.push({ timeS, value, title: (e.labels ?? []).map((l) => `${l.key}=${labelText(l)}`).join(' '), ...(id ? { traceId: id } : {}) });
    }
    return { metric, values };
  });
  return { data: { resultType: 'matrix', result }, markers };
}
