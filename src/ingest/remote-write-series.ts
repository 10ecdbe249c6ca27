import { METRIC_NAME_LABEL, formatSeries, setOwnLabel } from '../model/index.ts';
import type { DiscardReason, Labels, MetricMetadata, MetricRecord, MetricType, Rejection } from '../model/index.ts';

/**
 * What a metrics decoder returns. Records are valid series (labels checked, samples as sent); each refused
 * series or part of one is a counted {@link Rejection}. `malformed` is set instead when the body as a
 * whole could not be decoded (the gateway answers 400); records and rejections are then empty.
 *
 * A record with no samples, histograms or exemplars carries only `metadata`, for the metric family named
 * by its `__name__` label (remote_write 1.0 sends metadata apart from series). It creates no series.
 */
export interface MetricDecodeResult {
  readonly records: MetricRecord[];
  readonly rejections: Rejection[];
  readonly malformed?: string;
}

/** The metric types in the order of the remote_write enums (1.0 `MetricType`, 2.0 `METRIC_TYPE_*`). */
const METRIC_TYPES: readonly MetricType[] = [
  'unknown',
  'counter',
  'gauge',
  'histogram',
  'gaugehistogram',
  'summary',
  'info',
  'stateset',
];

/** Maps a remote_write metric type enum value to the model's type (unknown values → `unknown`). */
export function metricTypeFromEnum(n: number): MetricType {
  return METRIC_TYPES[n] ?? 'unknown';
}

/** A metadata-only record for metric family `family`. */
export function metadataRecord(family: string, metadata: MetricMetadata): MetricRecord {
  return { labels: { [METRIC_NAME_LABEL]: family }, metadata };
}

/**
 * The labels of one series as read from the wire, before validation. Reused across series (no per-series
 * arrays); `reset` before each series.
 */
export class LabelScratch {
  names: string[] = [];
  values: string[] = [];
  /** remote_write 2.0 label references of the current series. */
  refs: number[] = [];
  n = 0;
  /** Index of the first label whose name was not valid UTF-8, or -1. */
  badName = -1;
  /** Index of the first label whose value was not valid UTF-8, or -1. */
  badValue = -1;

  reset(): void {
    this.n = 0;
    this.badName = -1;
    this.badValue = -1;
  }

  push(name: string, value: string, nameInvalid: boolean, valueInvalid: boolean): void {
    const i = this.n++;
    this.names[i] = name;
    this.values[i] = value;
    if (nameInvalid && this.badName < 0) this.badName = i;
    if (valueInvalid && this.badValue < 0) this.badValue = i;
  }
}

/** A refused label set: the reason and the upstream-style message. A class, so `instanceof` tells it from labels. */
export class LabelProblem {
  readonly reason: DiscardReason;
  readonly message: string;
  /** The series as far as it could be read, for the message and `Rejection.subject`. */
  readonly series: string;
  constructor(reason: DiscardReason, message: string, series: string) {
    this.reason = reason;
    this.message = message;
    this.series = series;
  }
}

/**
 * Builds and validates a label set the way Prometheus 3 (UTF-8 names) and Mimir's distributor do:
 * `__name__` must be present and non-empty, names must be non-empty valid UTF-8, values valid UTF-8, no name
 * may repeat; labels with empty values are dropped (an empty value means "no such label"). Returns the
 * labels or the first problem found.
 */
export function buildLabels(s: LabelScratch): Labels | LabelProblem {
  const out: Record<string, string> = {};
  const names = s.names;
  const values = s.values;
  const n = s.n;
  let sorted = true;
  let emptyName = false;
  for (let i = 0; i < n; i++) {
    const name = names[i]!;
    if (name === '') emptyName = true;
    if (i > 0 && !(names[i - 1]! < name)) sorted = false;
    const value = values[i]!;
    if (value === '') continue;
    setOwnLabel(out, name, value);
  }
  if (!sorted) {
    const seen = new Set<string>();
    for (let i = 0; i < n; i++) {
      const name = names[i]!;
      if (seen.has(name)) {
        const series = formatSeries(out);
        return new LabelProblem('duplicate_label_names', `received a series with duplicate label name, label: '${name}' series: '${series}'`, series);
      }
      seen.add(name);
    }
  }
  const metricName = out[METRIC_NAME_LABEL];
  if (metricName === undefined) {
    const series = formatSeries(out);
    return new LabelProblem('missing_metric_name', `received series has no metric name: series: '${series}'`, series);
  }
  if (s.badValue >= 0 && names[s.badValue] === METRIC_NAME_LABEL) {
    const series = formatSeries(out);
    return new LabelProblem('invalid_metric_name', `received a series with invalid metric name (not valid UTF-8): '${metricName}'`, series);
  }
  if (emptyName || s.badName >= 0) {
    const series = formatSeries(out);
    const bad = emptyName ? '' : names[s.badName]!;
    return new LabelProblem('invalid_label_name', `received a series with an invalid label: '${bad}' (${emptyName ? 'empty name' : 'not valid UTF-8'}) series: '${series}'`, series);
  }
  if (s.badValue >= 0) {
    const series = formatSeries(out);
    return new LabelProblem('invalid_label_value', `received a series with invalid value in label '${names[s.badValue]}' (not valid UTF-8) series: '${series}'`, series);
  }
  return out;
}

/** Turns a label problem into a counted rejection standing for `count` records. */
export function labelRejection(p: LabelProblem, count: number): Rejection {
  return { signal: 'metrics', reason: p.reason, message: p.message, subject: p.series, count: Math.max(1, count) };
}

/** The longest exemplar label set OpenMetrics allows, in runes of names and values together. */
export const MAX_EXEMPLAR_LABEL_RUNES = 128;

/** Counts the runes (code points) of a string. */
export function runeCount(s: string): number {
  let n = s.length;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff) n--; // a surrogate pair is one rune
  }
  return n;
}
