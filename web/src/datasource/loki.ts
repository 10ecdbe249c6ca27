import type { Metric, QueryData } from './prometheus.ts';
import { proxyGet } from './proxy-fetch.ts';
import type { RequestRecord } from './proxy-fetch.ts';

/** One log line: nanosecond timestamp (as text, it exceeds 2^53), the line, and its label categories. */
export interface LogLine {
  readonly timestampNs: string;
  readonly line: string;
  readonly stream: Metric;
  readonly structuredMetadata: Metric;
  readonly parsed: Metric;
}

type Categorized = { structuredMetadata?: Metric; parsed?: Metric };
type LokiData =
  | { resultType: 'streams'; result: { stream: Metric; values: [string, string, Categorized?][] }[] }
  | QueryData;

/** A LogQL answer: log lines (newest or oldest first, as asked) or, for a metric query, Prometheus-shaped data. */
export type LogsResult =
  | { kind: 'logs'; lines: LogLine[]; record: RequestRecord }
  | { kind: 'metric'; data: QueryData; record: RequestRecord };

/**
 * `query_range` of a LogQL query through the proxy, asking Loki's `categorize-labels` encoding so structured
 * metadata and parsed labels come apart from the stream's labels.
 */
export async function lokiQueryRange(
  uid: string,
  org: string,
  expr: string,
  opts: { startMs: number; endMs: number; stepS?: number; limit: number; direction: 'backward' | 'forward' },
  signal?: AbortSignal,
): Promise<LogsResult> {
  const params: Record<string, string> = {
    query: expr,
    start: `${opts.startMs}000000`,
    end: `${opts.endMs}000000`,
    limit: String(opts.limit),
    direction: opts.direction,
  };
  if (opts.stepS !== undefined) params.step = String(opts.stepS);
  const { body, record } = await proxyGet<{ data: LokiData }>(uid, org, 'loki/api/v1/query_range', params, signal, {
    'X-Loki-Response-Encoding-Flags': 'categorize-labels',
  });
  const data = body.data;
  if (data.resultType !== 'streams') return { kind: 'metric', data, record };
  const lines: LogLine[] = [];
  for (const s of data.result) {
    for (const [timestampNs, line, cat] of s.values) {
      lines.push({ timestampNs, line, stream: s.stream, structuredMetadata: cat?.structuredMetadata ?? {}, parsed: cat?.parsed ?? {} });
    }
  }
  // Streams come one after another; the page shows one timeline.
  const cmp = (a: LogLine, b: LogLine): number => compareNs(a.timestampNs, b.timestampNs);
  lines.sort(opts.direction === 'backward' ? (a, b) => cmp(b, a) : cmp);
  return { kind: 'logs', lines: lines.slice(0, opts.limit), record };
}

/** Orders decimal nanosecond strings without losing precision. */
export function compareNs(a: string, b: string): number {
  return a.length !== b.length ? a.length - b.length : a < b ? -1 : a > b ? 1 : 0;
}

/** A line's level: `detected_level`/`level` from structured metadata, parsed labels or stream labels. */
export function lineLevel(l: LogLine): string {
  for (const src of [l.structuredMetadata, l.parsed, l.stream]) {
    const v = src.detected_level ?? src.level ?? src.severity;
    if (v) return v.toLowerCase();
  }
  return 'unknown';
}

/** Label names (`labels`) or the values of one label (`label/NAME/values`) over the last `sinceMs`, for the label browser. */
export async function lokiLabels(uid: string, org: string, name?: string, signal?: AbortSignal): Promise<string[]> {
  const path = name === undefined ? 'loki/api/v1/labels' : `loki/api/v1/label/${encodeURIComponent(name)}/values`;
  const { body } = await proxyGet<{ data?: string[] }>(uid, org, path, {}, signal);
  return body.data ?? [];
}
