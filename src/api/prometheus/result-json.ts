import type { NativeHistogram } from '../../model/index.ts';
import { FloatHistogram } from '../../promql/index.ts';
import type { PromValue } from '../../promql/index.ts';
import { formatSampleValue } from '../sample-value.ts';

/*
 * Prometheus' JSON for query results. Pure functions of plain result values (no I/O, no engine state), so
 * they can run wherever the result is, a worker thread included.
 */

/** Timestamps are float seconds in Prometheus' JSON. */
function seconds(ms: number): number {
  return ms / 1000;
}

/**
 * A native histogram in Prometheus' JSON form: `{count, sum, buckets: [[boundaryRule, lower, upper, count]]}`
 * with boundary rule 0 = (lower, upper], 1 = [lower, upper), 2 = (lower, upper), 3 = [lower, upper].
 * Empty buckets are left out, as Prometheus does.
 */
export function histogramJson(h: NativeHistogram): Record<string, unknown> {
  const fh = FloatHistogram.fromModel(h);
  const buckets: unknown[] = [];
  for (const b of fh.allBuckets()) {
    if (b.count === 0) continue;
    let rule = 0;
    if (b.lowerInclusive && b.upperInclusive) rule = 3;
    else if (b.lowerInclusive) rule = 1;
    else if (!b.upperInclusive) rule = 2;
    buckets.push([rule, formatSampleValue(b.lower), formatSampleValue(b.upper), formatSampleValue(b.count)]);
  }
  const out: Record<string, unknown> = { count: formatSampleValue(fh.count), sum: formatSampleValue(fh.sum) };
  if (buckets.length > 0) out.buckets = buckets;
  return out;
}

/** Prometheus' HTTP API `data` object for a query result: `{resultType, result}`. */
export function resultToPrometheusJson(value: PromValue): { resultType: string; result: unknown } {
  switch (value.type) {
    case 'scalar':
      return { resultType: 'scalar', result: [seconds(value.timestampMs), formatSampleValue(value.value)] };
    case 'string':
      return { resultType: 'string', result: [seconds(value.timestampMs), value.value] };
    case 'vector':
      return {
        resultType: 'vector',
        result: value.samples.map((s) =>
          s.histogram
            ? { metric: s.labels, histogram: [seconds(s.timestampMs), histogramJson(s.histogram)] }
            : { metric: s.labels, value: [seconds(s.timestampMs), formatSampleValue(s.value ?? NaN)] },
        ),
      };
    case 'matrix':
      return {
        resultType: 'matrix',
        result: value.series.map((s) => {
          const o: Record<string, unknown> = { metric: s.labels };
          if (s.timestampsMs.length > 0) {
            const values: [number, string][] = [];
            for (let i = 0; i < s.timestampsMs.length; i++) values.push([seconds(s.timestampsMs[i]!), formatSampleValue(s.values[i]!)]);
            o.values = values;
          }
          if (s.histograms && s.histograms.length > 0 && s.histogramTimestampsMs) {
            o.histograms = s.histograms.map((h, i) => [seconds(s.histogramTimestampsMs![i]!), histogramJson(h)]);
          }
          return o;
        }),
      };
  }
}
