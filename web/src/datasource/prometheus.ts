import { proxyGet } from './proxy-fetch.ts';
import type { RequestRecord } from './proxy-fetch.ts';

export type Metric = Record<string, string>;
/** `[unix seconds, "value"]` as the Prometheus API encodes a sample. */
export type SamplePair = [number, string];

export interface MatrixSeries {
  readonly metric: Metric;
  readonly values?: SamplePair[];
  readonly histograms?: [number, unknown][];
}
export interface VectorSample {
  readonly metric: Metric;
  readonly value?: SamplePair;
  readonly histogram?: [number, unknown];
}

export type QueryData =
  | { resultType: 'matrix'; result: MatrixSeries[] }
  | { resultType: 'vector'; result: VectorSample[] }
  | { resultType: 'scalar'; result: SamplePair }
  | { resultType: 'string'; result: SamplePair };

interface Envelope<T> {
  status: 'success' | 'error';
  data: T;
  warnings?: string[];
  infos?: string[];
}

/** A query's answer with what the inspector shows about it. */
export interface QueryResult {
  readonly data: QueryData;
  readonly warnings: readonly string[];
  readonly record: RequestRecord;
}

/** `query_range` from `startS` to `endS` (unix seconds) at `stepS`. */
export async function queryRange(uid: string, org: string, expr: string, startS: number, endS: number, stepS: number, signal?: AbortSignal): Promise<QueryResult> {
  const { body, record } = await proxyGet<Envelope<QueryData>>(
    uid,
    org,
    'api/v1/query_range',
    { query: expr, start: String(startS), end: String(endS), step: String(stepS) },
    signal,
  );
  return { data: body.data, warnings: [...(body.warnings ?? []), ...(body.infos ?? [])], record };
}

/** An instant `query` at `timeS` (unix seconds). */
export async function queryInstant(uid: string, org: string, expr: string, timeS: number, signal?: AbortSignal): Promise<QueryResult> {
  const { body, record } = await proxyGet<Envelope<QueryData>>(uid, org, 'api/v1/query', { query: expr, time: String(timeS) }, signal);
  return { data: body.data, warnings: [...(body.warnings ?? []), ...(body.infos ?? [])], record };
}

/** `name{a="b", c="d"}` as Prometheus prints a series. */
export function formatMetric(metric: Metric): string {
  const { __name__: name, ...rest } = metric;
  const labels = Object.entries(rest)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([k, v]) => `${k}=${JSON.stringify(v)}`);
  return `${name ?? ''}{${labels.join(', ')}}`;
}

/** How many series and samples an answer holds (the inspector's counts). */
export function countResult(data: QueryData): { series: number; samples: number } {
  switch (data.resultType) {
    case 'matrix':
      return { series: data.result.length, samples: data.result.reduce((n, s) => n + (s.values?.length ?? 0) + (s.histograms?.length ?? 0), 0) };
    case 'vector':
      return { series: data.result.length, samples: data.result.length };
    default:
      return { series: 1, samples: 1 };
  }
}

/** One exemplar as `query_exemplars` answers it: its labels (e.g. `trace_id`), value and time (unix seconds). */
export interface ExemplarPoint {
  readonly seriesLabels: Metric;
  readonly labels: Metric;
  readonly value: number;
  readonly timeS: number;
}

/** `query_exemplars` for the selectors of `expr` between `startS` and `endS` (unix seconds), flattened. */
export async function queryExemplars(uid: string, org: string, expr: string, startS: number, endS: number, signal?: AbortSignal): Promise<ExemplarPoint[]> {
  const { body } = await proxyGet<Envelope<{ seriesLabels: Metric; exemplars: { labels: Metric; value: string; timestamp: number }[] }[]>>(
    uid,
    org,
    'api/v1/query_exemplars',
    { query: expr, start: String(startS), end: String(endS) },
    signal,
  );
  return body.data.flatMap((s) => s.exemplars.map((e) => ({ seriesLabels: s.seriesLabels, labels: e.labels, value: Number(e.value), timeS: e.timestamp })));
}

/** Label names (`api/v1/labels`) or the values of one label (`api/v1/label/NAME/values`), for the metric browser. */
export async function promLabels(uid: string, org: string, name?: string, signal?: AbortSignal): Promise<string[]> {
  const path = name === undefined ? 'api/v1/labels' : `api/v1/label/${encodeURIComponent(name)}/values`;
  const { body } = await proxyGet<Envelope<string[]>>(uid, org, path, {}, signal);
  return body.data;
}
