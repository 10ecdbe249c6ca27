import { METRIC_NAME_LABEL, STALE_NAN, setOwnLabel } from '../model/index.ts';
import type {
  DiscardReason,
  Exemplar,
  Labels,
  MetricMetadata,
  MetricRecord,
  MetricType,
  NativeHistogram,
  Rejection,
} from '../model/index.ts';
import { anyValueToString } from './otlp-attributes.ts';
import type { OtlpBytes, OtlpInt64, OtlpKeyValue } from './otlp-attributes.ts';
import {
  DEFAULT_ZERO_THRESHOLD,
  MAX_NATIVE_SCHEMA,
  MIN_NATIVE_SCHEMA,
  convertExponentialBuckets,
} from './otlp-metrics-exponential.ts';
import { buildLabelName, buildMetricName } from './otlp-metrics-naming.ts';
import type { OtlpMetricKind } from './otlp-metrics-naming.ts';
import { ExportMetricsServiceRequest } from './otlp-metrics-proto.ts';
import { MAX_EXEMPLAR_LABEL_RUNES, metadataRecord, runeCount } from './remote-write-series.ts';
import type { MetricDecodeResult } from './remote-write-series.ts';

/** The shape shared by protobufjs-decoded messages and OTLP/JSON objects (camelCase, every field optional). */
export interface OtlpExemplar {
  filteredAttributes?: OtlpKeyValue[] | null;
  timeUnixNano?: OtlpInt64;
  asDouble?: number | null;
  asInt?: OtlpInt64;
  spanId?: OtlpBytes;
  traceId?: OtlpBytes;
}

interface OtlpPointBase {
  attributes?: OtlpKeyValue[] | null;
  startTimeUnixNano?: OtlpInt64;
  timeUnixNano?: OtlpInt64;
  flags?: number | null;
  exemplars?: OtlpExemplar[] | null;
}

export interface OtlpNumberDataPoint extends OtlpPointBase {
  asDouble?: number | string | null;
  asInt?: OtlpInt64;
}

export interface OtlpHistogramDataPoint extends OtlpPointBase {
  count?: OtlpInt64;
  sum?: number | string | null;
  bucketCounts?: OtlpInt64[] | null;
  explicitBounds?: (number | string)[] | null;
}

export interface OtlpExponentialHistogramDataPoint extends OtlpPointBase {
  count?: OtlpInt64;
  sum?: number | string | null;
  scale?: number | null;
  zeroCount?: OtlpInt64;
  zeroThreshold?: number | string | null;
  positive?: { offset?: number | null; bucketCounts?: OtlpInt64[] | null } | null;
  negative?: { offset?: number | null; bucketCounts?: OtlpInt64[] | null } | null;
}

export interface OtlpSummaryDataPoint extends OtlpPointBase {
  count?: OtlpInt64;
  sum?: number | string | null;
  quantileValues?: { quantile?: number | string | null; value?: number | string | null }[] | null;
}

type Temporality = number | string | null | undefined;

export interface OtlpMetric {
  name?: string | null;
  description?: string | null;
  unit?: string | null;
  gauge?: { dataPoints?: OtlpNumberDataPoint[] | null } | null;
  sum?: { dataPoints?: OtlpNumberDataPoint[] | null; aggregationTemporality?: Temporality; isMonotonic?: boolean | null } | null;
  histogram?: { dataPoints?: OtlpHistogramDataPoint[] | null; aggregationTemporality?: Temporality } | null;
  exponentialHistogram?: { dataPoints?: OtlpExponentialHistogramDataPoint[] | null; aggregationTemporality?: Temporality } | null;
  summary?: { dataPoints?: OtlpSummaryDataPoint[] | null } | null;
}

export interface OtlpExportMetricsRequest {
  resourceMetrics?:
    | {
        resource?: { attributes?: OtlpKeyValue[] | null } | null;
        scopeMetrics?: { metrics?: OtlpMetric[] | null }[] | null;
      }[]
    | null;
}

/** Translation options; the defaults are those of Prometheus' OTLP receiver. */
export interface OtlpMetricsOptions {
  /**
   * Accept delta-temporality sums and histograms as they are (Prometheus' `otlp-native-delta-ingestion`).
   * Default false: they are rejected, as Prometheus and Mimir do unless configured otherwise.
   */
  readonly allowDeltaTemporality?: boolean;
}

/** The decoded records plus what the OTLP endpoints need to answer and to pick tenants. */
export interface OtlpMetricsDecodeResult extends MetricDecodeResult {
  /** The `k8s.namespace.name` resource attribute of each record's resource, where it had one. */
  readonly namespaces: ReadonlyMap<MetricRecord, string>;
  /** Data points in the request (the unit of `partial_success.rejected_data_points`). */
  readonly dataPoints: number;
  /** The data point (an index in the request) each series record came from; a histogram point makes many. */
  readonly pointOf: ReadonlyMap<MetricRecord, number>;
}

/** The resource attribute naming a record's Kubernetes namespace, used for tenancy by namespace. */
const K8S_NAMESPACE_ATTRIBUTE = 'k8s.namespace.name';

const SERVICE_NAME = 'service.name';
const SERVICE_NAMESPACE = 'service.namespace';
const SERVICE_INSTANCE_ID = 'service.instance.id';
const IDENTIFYING_ATTRIBUTES = [SERVICE_NAMESPACE, SERVICE_NAME, SERVICE_INSTANCE_ID];
const TARGET_INFO = 'target_info';
const NO_RECORDED_VALUE = 1;
/** Half the default PromQL lookback delta: target_info is repeated at this step so it never goes stale mid-range. */
const TARGET_INFO_STEP_MS = 150_000;
/** At most this many target_info samples per resource and request (bounds a request spanning years). */
const MAX_TARGET_INFO_SAMPLES = 120;
const AGGREGATION_DELTA = 1;
const AGGREGATION_CUMULATIVE = 2;

/** Decodes an OTLP/protobuf `ExportMetricsServiceRequest` and translates it. Never throws for bad data. */
export function decodeOtlpMetricsProtobuf(body: Uint8Array, options: OtlpMetricsOptions = {}): OtlpMetricsDecodeResult {
  let request: OtlpExportMetricsRequest;
  try {
    request = ExportMetricsServiceRequest.decode(body) as unknown as OtlpExportMetricsRequest;
  } catch (err) {
    return malformed(`cannot decode ExportMetricsServiceRequest: ${(err as Error).message}`);
  }
  try {
    return translateOtlpMetrics(request, options);
  } catch (err) {
    // Attribute values nested deeper than the stack allows.
    if (err instanceof RangeError) return malformed(`cannot translate ExportMetricsServiceRequest: ${err.message}`);
    throw err;
  }
}

/** Decodes an OTLP/JSON `ExportMetricsServiceRequest` and translates it. Never throws for bad data. */
export function decodeOtlpMetricsJson(body: Uint8Array, options: OtlpMetricsOptions = {}): OtlpMetricsDecodeResult {
  let request: unknown;
  try {
    request = JSON.parse(Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString('utf8'));
  } catch (err) {
    return malformed(`cannot parse OTLP/JSON body: ${(err as Error).message}`);
  }
  if (typeof request !== 'object' || request === null || Array.isArray(request)) {
    return malformed('OTLP/JSON body is not an ExportMetricsServiceRequest object');
  }
  try {
    return translateOtlpMetrics(request, options);
  } catch (err) {
    // A JSON document of the wrong shape (a string where a list belongs, ...) is a malformed request.
    if (err instanceof TypeError || err instanceof SyntaxError || err instanceof RangeError) {
      return malformed(`OTLP/JSON body does not match ExportMetricsServiceRequest: ${err.message}`);
    }
    throw err;
  }
}

function malformed(message: string): OtlpMetricsDecodeResult {
  return { records: [], rejections: [], malformed: message, namespaces: new Map(), dataPoints: 0, pointOf: new Map() };
}

/**
 * Translates an `ExportMetricsServiceRequest` (protobufjs message or OTLP/JSON object) the way Prometheus'
 * OTLP receiver does by default: names per {@link buildMetricName}, attributes → labels per
 * {@link buildLabelName} (colliding names joined with `;`), `job` = `[service.namespace/]service.name`,
 * `instance` = `service.instance.id`, other resource attributes on a `target_info` series, gauges and
 * non-monotonic sums as gauges, monotonic sums as counters, explicit histograms as classic `_bucket`/`_sum`/
 * `_count` series (exemplars placed in their buckets), exponential histograms as native histograms, summaries
 * with `quantile` series, exemplars with `trace_id`/`span_id`, and the no-recorded-value flag as a stale
 * marker. Metadata goes out as metadata-only records, one per metric family.
 */
function translateOtlpMetrics(request: OtlpExportMetricsRequest, options: OtlpMetricsOptions = {}): OtlpMetricsDecodeResult {
  const t = new Translator(options);
  for (const rm of list(request.resourceMetrics)) {
    t.resource(list(rm?.resource?.attributes), rm?.scopeMetrics);
  }
  return { records: t.records, rejections: t.rejections, namespaces: t.namespaces, dataPoints: t.dataPoints, pointOf: t.pointOf };
}

interface ResourceContext {
  readonly attrs: Record<string, string>;
  readonly job: string | undefined;
  readonly instance: string | undefined;
  readonly namespace: string | undefined;
  minMs: number;
  maxMs: number;
}

class Translator {
  readonly records: MetricRecord[] = [];
  readonly rejections: Rejection[] = [];
  readonly namespaces = new Map<MetricRecord, string>();
  readonly pointOf = new Map<MetricRecord, number>();
  dataPoints = 0;
  /** The index of the data point being translated. */
  private point = -1;
  private readonly families = new Set<string>();
  private readonly options: OtlpMetricsOptions;
  private res!: ResourceContext;

  constructor(options: OtlpMetricsOptions) {
    this.options = options;
  }

  resource(attributes: readonly OtlpKeyValue[], scopeMetrics: { metrics?: OtlpMetric[] | null }[] | null | undefined): void {
    const attrs: Record<string, string> = {};
    for (const kv of attributes) {
      if (kv?.key) setOwnLabel(attrs, kv.key, anyValueToString(kv.value));
    }
    const serviceName = Object.hasOwn(attrs, SERVICE_NAME) ? attrs[SERVICE_NAME] : undefined;
    const serviceNamespace = Object.hasOwn(attrs, SERVICE_NAMESPACE) ? attrs[SERVICE_NAMESPACE] : undefined;
    const job = serviceName === undefined ? undefined : serviceNamespace !== undefined ? `${serviceNamespace}/${serviceName}` : serviceName;
    const instance = Object.hasOwn(attrs, SERVICE_INSTANCE_ID) ? attrs[SERVICE_INSTANCE_ID] : undefined;
    const ns = attrs[K8S_NAMESPACE_ATTRIBUTE];
    this.res = { attrs, job, instance, namespace: ns === undefined || ns === '' ? undefined : ns, minMs: Infinity, maxMs: -Infinity };
    for (const sm of list(scopeMetrics)) {
      for (const metric of list(sm?.metrics)) {
        if (metric) this.metric(metric);
      }
    }
    this.targetInfo();
  }

  private metric(m: OtlpMetric): void {
    const name = m.name ?? '';
    const unit = m.unit ?? '';
    let kind: OtlpMetricKind;
    let points: readonly OtlpPointBase[];
    let temporality: Temporality = AGGREGATION_CUMULATIVE;
    let type: MetricType;
    if (m.gauge) {
      kind = 'gauge';
      type = 'gauge';
      points = list(m.gauge.dataPoints);
    } else if (m.sum) {
      const monotonic = m.sum.isMonotonic === true;
      kind = monotonic ? 'monotonic_counter' : 'non_monotonic_counter';
      type = monotonic ? 'counter' : 'gauge';
      points = list(m.sum.dataPoints);
      temporality = m.sum.aggregationTemporality;
    } else if (m.histogram) {
      kind = 'histogram';
      type = 'histogram';
      points = list(m.histogram.dataPoints);
      temporality = m.histogram.aggregationTemporality;
    } else if (m.exponentialHistogram) {
      kind = 'exponential_histogram';
      type = 'histogram';
      points = list(m.exponentialHistogram.dataPoints);
      temporality = m.exponentialHistogram.aggregationTemporality;
    } else if (m.summary) {
      kind = 'summary';
      type = 'summary';
      points = list(m.summary.dataPoints);
    } else {
      this.reject('unsupported', `metric "${name}" has no data of a supported type (gauge, sum, histogram, exponential histogram, summary)`, 1);
      this.dataPoints++;
      return;
    }
    const n = points.length;
    this.dataPoints += n;
    if (n === 0) return;
    if (name === '') {
      this.reject('missing_metric_name', `received a metric without a name (${n} data points)`, n);
      return;
    }
    const temp = temporalityOf(temporality);
    if (temp !== AGGREGATION_CUMULATIVE && !(temp === AGGREGATION_DELTA && this.options.allowDeltaTemporality)) {
      this.reject(
        'unsupported',
        `invalid temporality and type combination for metric "${name}": ${temp === AGGREGATION_DELTA ? 'delta' : 'unspecified'} temporality is not accepted (send cumulative temporality)`,
        n,
      );
      return;
    }
    const family = buildMetricName(name, unit, kind);
    if (family === undefined) {
      this.reject('invalid_metric_name', `metric name "${name}" has no characters left after translation to a Prometheus name`, n);
      return;
    }
    this.metadata(family, { type, help: m.description ?? '', unit });
    const delta = temp === AGGREGATION_DELTA;
    switch (kind) {
      case 'gauge':
      case 'non_monotonic_counter':
      case 'monotonic_counter':
        for (const p of points as OtlpNumberDataPoint[]) this.numberPoint(family, p, kind === 'monotonic_counter' && !delta);
        break;
      case 'histogram':
        for (const p of points as OtlpHistogramDataPoint[]) this.histogramPoint(family, p, delta);
        break;
      case 'exponential_histogram':
        for (const p of points as OtlpExponentialHistogramDataPoint[]) this.exponentialPoint(family, name, p, delta);
        break;
      case 'summary':
        for (const p of points as OtlpSummaryDataPoint[]) this.summaryPoint(family, p);
        break;
    }
  }

  /** Widens the resource's time span (for `target_info`) by a written point's time. */
  private noteTime(ms: number): void {
    if (ms < this.res.minMs) this.res.minMs = ms;
    if (ms > this.res.maxMs) this.res.maxMs = ms;
  }

  private metadata(family: string, meta: MetricMetadata): void {
    if (this.families.has(family)) return;
    this.families.add(family);
    this.records.push(metadataRecord(family, meta));
  }

  /** Builds the labels of one data point, or rejects it (returns undefined). */
  private pointLabels(p: OtlpPointBase, family: string): Record<string, string> | undefined {
    this.point++;
    const labels = attributeLabels(list(p.attributes));
    if (typeof labels === 'string') {
      this.reject('invalid_label_name', `attribute "${labels}" of metric "${family}" cannot be translated to a label name`, 1);
      return undefined;
    }
    if (this.res.job !== undefined) setLabel(labels, 'job', this.res.job);
    if (this.res.instance !== undefined) setLabel(labels, 'instance', this.res.instance);
    return labels;
  }

  /**
   * Adds a record of the current data point (or, with `ofPoint` false, `target_info`). Only written points
   * widen the resource's span, so a resource whose points were all refused gets no `target_info`.
   */
  private push(record: MetricRecord, ofPoint = true): void {
    this.records.push(record);
    if (this.res.namespace !== undefined) this.namespaces.set(record, this.res.namespace);
    if (!ofPoint) return;
    this.pointOf.set(record, this.point);
    for (const s of record.samples ?? []) this.noteTime(s.timestampMs);
    for (const h of record.histograms ?? []) this.noteTime(h.timestampMs);
  }

  private series(base: Labels, name: string, extraName?: string, extraValue?: string): Labels {
    const labels: Record<string, string> = { ...base };
    if (extraName !== undefined && extraValue !== undefined) setLabel(labels, extraName, extraValue);
    labels[METRIC_NAME_LABEL] = name;
    return labels;
  }

  private numberPoint(family: string, p: OtlpNumberDataPoint, cumulativeCounter: boolean): void {
    const base = this.pointLabels(p, family);
    if (!base) return;
    const timestampMs = nanosToMs(p.timeUnixNano);
    let value: number;
    if (isStale(p)) value = STALE_NAN;
    else if (has(p, 'asDouble')) value = toFloat(p.asDouble);
    else if (has(p, 'asInt')) value = toNumber(p.asInt);
    else value = 0;
    const record: { -readonly [K in keyof MetricRecord]: MetricRecord[K] } = {
      labels: this.series(base, family),
      samples: [{ timestampMs, value }],
    };
    const exemplars = convertExemplars(list(p.exemplars));
    if (exemplars.length > 0) record.exemplars = exemplars;
    if (cumulativeCounter) this.created(record, p, timestampMs);
    this.push(record);
  }

  /** Records the start time of a cumulative point as its series' created timestamp, when it is set and sane. */
  private created(record: { createdTimestampMs?: number }, p: OtlpPointBase, timestampMs: number): void {
    const start = createdMs(p, timestampMs);
    if (start !== undefined) record.createdTimestampMs = start;
  }

  private histogramPoint(family: string, p: OtlpHistogramDataPoint, delta: boolean): void {
    const base = this.pointLabels(p, family);
    if (!base) return;
    const timestampMs = nanosToMs(p.timeUnixNano);
    const stale = isStale(p);
    const count = toNumber(p.count);
    const sample = (v: number) => [{ timestampMs, value: stale ? STALE_NAN : v }];
    const start = delta ? undefined : createdMs(p, timestampMs);
    const withCreated = (r: { -readonly [K in keyof MetricRecord]: MetricRecord[K] }) => {
      if (start !== undefined) r.createdTimestampMs = start;
      return r;
    };
    if (has(p, 'sum')) this.push(withCreated({ labels: this.series(base, `${family}_sum`), samples: sample(toFloat(p.sum)) }));
    this.push(withCreated({ labels: this.series(base, `${family}_count`), samples: sample(count) }));
    const exemplars = convertExemplars(list(p.exemplars)).sort((a, b) => a.value - b.value);
    let next = 0;
    const bounds = list(p.explicitBounds).map(toFloat);
    const counts = list(p.bucketCounts);
    let cumulative = 0;
    for (let i = 0; i < bounds.length && i < counts.length; i++) {
      const bound = bounds[i]!;
      cumulative += toNumber(counts[i]);
      const mine: Exemplar[] = [];
      while (next < exemplars.length && exemplars[next]!.value <= bound) mine.push(exemplars[next++]!);
      const r: { -readonly [K in keyof MetricRecord]: MetricRecord[K] } = {
        labels: this.series(base, `${family}_bucket`, 'le', formatFloat(bound)),
        samples: sample(cumulative),
      };
      if (mine.length > 0) r.exemplars = mine;
      this.push(withCreated(r));
    }
    const inf: { -readonly [K in keyof MetricRecord]: MetricRecord[K] } = {
      labels: this.series(base, `${family}_bucket`, 'le', '+Inf'),
      samples: sample(count),
    };
    if (next < exemplars.length) inf.exemplars = exemplars.slice(next);
    this.push(withCreated(inf));
  }

  private exponentialPoint(family: string, name: string, p: OtlpExponentialHistogramDataPoint, delta: boolean): void {
    let scale = p.scale ?? 0;
    if (scale < MIN_NATIVE_SCHEMA) {
      this.reject('unsupported', `cannot convert exponential histogram "${name}" to a native histogram: scale must be >= ${MIN_NATIVE_SCHEMA}, was ${scale}`, 1);
      return;
    }
    const base = this.pointLabels(p, family);
    if (!base) return;
    let scaleDown = 0;
    if (scale > MAX_NATIVE_SCHEMA) {
      scaleDown = scale - MAX_NATIVE_SCHEMA;
      scale = MAX_NATIVE_SCHEMA;
    }
    const pos = convertExponentialBuckets(list(p.positive?.bucketCounts).map(toNumber), p.positive?.offset ?? 0, scaleDown);
    const neg = convertExponentialBuckets(list(p.negative?.bucketCounts).map(toNumber), p.negative?.offset ?? 0, scaleDown);
    const stale = isStale(p);
    const zt = has(p, 'zeroThreshold') ? toFloat(p.zeroThreshold) : 0;
    const histogram: NativeHistogram = {
      schema: scale,
      zeroThreshold: zt > 0 ? zt : DEFAULT_ZERO_THRESHOLD,
      zeroCount: toNumber(p.zeroCount),
      count: stale ? STALE_NAN : toNumber(p.count),
      sum: stale ? STALE_NAN : has(p, 'sum') ? toFloat(p.sum) : 0,
      positiveSpans: pos.spans,
      positiveBuckets: pos.buckets,
      negativeSpans: neg.spans,
      negativeBuckets: neg.buckets,
      // Unknown for cumulative (always safe: storage detects resets); gauge for delta, which never resets.
      resetHint: delta ? 3 : 0,
    };
    const record: { -readonly [K in keyof MetricRecord]: MetricRecord[K] } = {
      labels: this.series(base, family),
      histograms: [{ timestampMs: nanosToMs(p.timeUnixNano), histogram }],
    };
    const exemplars = convertExemplars(list(p.exemplars));
    if (exemplars.length > 0) record.exemplars = exemplars;
    if (!delta) this.created(record, p, record.histograms![0]!.timestampMs);
    this.push(record);
  }

  private summaryPoint(family: string, p: OtlpSummaryDataPoint): void {
    const base = this.pointLabels(p, family);
    if (!base) return;
    const timestampMs = nanosToMs(p.timeUnixNano);
    const stale = isStale(p);
    const start = createdMs(p, timestampMs);
    const sample = (v: number) => [{ timestampMs, value: stale ? STALE_NAN : v }];
    const rec = (labels: Labels, v: number): MetricRecord => (start !== undefined ? { labels, samples: sample(v), createdTimestampMs: start } : { labels, samples: sample(v) });
    this.push(rec(this.series(base, `${family}_sum`), has(p, 'sum') ? toFloat(p.sum) : 0));
    this.push(rec(this.series(base, `${family}_count`), toNumber(p.count)));
    for (const q of list(p.quantileValues)) {
      if (!q) continue;
      this.push(rec(this.series(base, family, 'quantile', formatFloat(toFloat(q.quantile ?? 0))), toFloat(q.value ?? 0)));
    }
  }

  private targetInfo(): void {
    const r = this.res;
    if (r.minMs === Infinity) return;
    const others = Object.keys(r.attrs).filter((k) => !IDENTIFYING_ATTRIBUTES.includes(k));
    if (others.length === 0) return;
    const kvs: OtlpKeyValue[] = others.map((key) => ({ key, value: { stringValue: r.attrs[key]! } }));
    const labels = attributeLabels(kvs);
    if (typeof labels === 'string') {
      this.reject('invalid_label_name', `resource attribute "${labels}" cannot be translated to a label name (target_info dropped)`, 1);
      return;
    }
    if (r.job !== undefined) setLabel(labels, 'job', r.job);
    if (r.instance !== undefined) setLabel(labels, 'instance', r.instance);
    if (labels['job'] === undefined && labels['instance'] === undefined) return;
    labels[METRIC_NAME_LABEL] = TARGET_INFO;
    const samples: { timestampMs: number; value: number }[] = [];
    const first = Math.max(r.minMs, r.maxMs - TARGET_INFO_STEP_MS * (MAX_TARGET_INFO_SAMPLES - 1));
    for (let ts = first; ts < r.maxMs && samples.length < MAX_TARGET_INFO_SAMPLES - 1; ts += TARGET_INFO_STEP_MS) {
      samples.push({ timestampMs: ts, value: 1 });
    }
    samples.push({ timestampMs: r.maxMs, value: 1 });
    this.metadata(TARGET_INFO, { type: 'gauge', help: 'Target metadata', unit: '' });
    this.push({ labels, samples }, false);
  }

  private reject(reason: DiscardReason, message: string, count: number): void {
    const subject = this.res?.job !== undefined ? `job="${this.res.job}"` : undefined;
    this.rejections.push(subject === undefined ? { signal: 'metrics', reason, message, count } : { signal: 'metrics', reason, message, count, subject });
  }
}

/**
 * Turns attributes into labels: keys sorted, translated by {@link buildLabelName}, values of keys that
 * translate to the same name joined with `;` in key order, empty values dropped. Returns the offending
 * key as a string when one cannot be translated.
 */
function attributeLabels(attributes: readonly OtlpKeyValue[]): Record<string, string> | string {
  const pairs: [string, string][] = [];
  for (const kv of attributes) {
    if (!kv) continue;
    const key = kv.key ?? '';
    pairs.push([key, anyValueToString(kv.value)]);
  }
  pairs.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  const out: Record<string, string> = {};
  for (const [key, value] of pairs) {
    const name = buildLabelName(key);
    if (name === undefined) return key;
    const existing = Object.hasOwn(out, name) ? out[name]! : '';
    if (existing !== '') setLabel(out, name, `${existing};${value}`);
    else setLabel(out, name, value);
  }
  return out;
}

/** Sets a label, deleting it for an empty value (as Prometheus' label builder does). */
function setLabel(labels: Record<string, string>, name: string, value: string): void {
  if (value === '') {
    delete labels[name];
    return;
  }
  setOwnLabel(labels, name, value);
}

function convertExemplars(exemplars: readonly (OtlpExemplar | null | undefined)[]): Exemplar[] {
  const out: Exemplar[] = [];
  for (const e of exemplars) {
    if (!e) continue;
    const labels: Record<string, string> = {};
    let runes = 0;
    const traceId = bytesToHex(e.traceId);
    if (traceId !== '') {
      labels['trace_id'] = traceId;
      runes += 8 + traceId.length;
    }
    const spanId = bytesToHex(e.spanId);
    if (spanId !== '') {
      labels['span_id'] = spanId;
      runes += 7 + spanId.length;
    }
    const attrs = list(e.filteredAttributes);
    const pairs: [string, string][] = [];
    for (const kv of attrs) {
      if (!kv?.key) continue;
      const v = anyValueToString(kv.value);
      runes += runeCount(kv.key) + runeCount(v);
      pairs.push([kv.key, v]);
    }
    // Filtered attributes only fit if the whole label set stays within the OpenMetrics limit.
    if (runes <= MAX_EXEMPLAR_LABEL_RUNES) {
      for (const [k, v] of pairs) if (v !== '') setLabel(labels, k, v);
    }
    const value = has(e, 'asDouble') ? toFloat(e.asDouble) : has(e, 'asInt') ? toNumber(e.asInt) : 0;
    out.push({ labels, value, timestampMs: nanosToMs(e.timeUnixNano) });
  }
  return out;
}

function list<T>(v: readonly T[] | null | undefined): readonly T[] {
  if (v === null || v === undefined) return [];
  if (!Array.isArray(v)) throw new TypeError(`expected a list, got ${typeof v}`);
  return v;
}

/** A point's start time in ms when set (non-zero) and not after the point itself. */
function createdMs(p: OtlpPointBase, timestampMs: number): number | undefined {
  const start = nanosToMs(p.startTimeUnixNano);
  return start > 0 && start <= timestampMs ? start : undefined;
}

/**
 * Whether a field was sent. protobufjs puts proto3 defaults on message prototypes (an unset `as_double`
 * reads 0), so only own properties count; OTLP/JSON objects have only own properties anyway.
 */
function has(o: object, key: string): boolean {
  return Object.hasOwn(o, key) && (o as Record<string, unknown>)[key] !== null && (o as Record<string, unknown>)[key] !== undefined;
}

function isStale(p: OtlpPointBase): boolean {
  return ((p.flags ?? 0) & NO_RECORDED_VALUE) !== 0;
}

function temporalityOf(t: Temporality): number {
  if (typeof t === 'number') return t;
  if (t === 'AGGREGATION_TEMPORALITY_DELTA') return AGGREGATION_DELTA;
  if (t === 'AGGREGATION_TEMPORALITY_CUMULATIVE') return AGGREGATION_CUMULATIVE;
  if (typeof t === 'string' && /^\d+$/.test(t)) return Number(t);
  return 0;
}

const TWO_32 = 4294967296;

/** A 64-bit integer (Long, decimal string or number) as a JS number (exact below 2^53). */
function toNumber(v: OtlpInt64): number {
  if (v === null || v === undefined) return 0;
  if (typeof v === 'number') return v;
  if (typeof v === 'string') {
    const n = Number(v);
    if (Number.isNaN(n)) throw new TypeError(`not an integer: "${v}"`);
    return n;
  }
  const hi = v.unsigned ? v.high >>> 0 : v.high | 0;
  return hi * TWO_32 + (v.low >>> 0);
}

/** A double as protobuf gives it (number) or OTLP/JSON may (number, or "NaN"/"Infinity"/"-Infinity" strings). */
function toFloat(v: number | string | null | undefined): number {
  if (typeof v === 'number') return v;
  if (v === null || v === undefined) return 0;
  const n = Number(v);
  if (Number.isNaN(n) && v !== 'NaN') throw new TypeError(`not a number: "${v}"`);
  return n;
}

/** Nanoseconds since the epoch → whole milliseconds (truncated, as Prometheus' receiver divides). */
export function nanosToMs(v: OtlpInt64): number {
  if (v === null || v === undefined) return 0;
  if (typeof v === 'number') return Math.trunc(v / 1e6);
  if (typeof v === 'string') {
    if (!/^-?\d+$/.test(v)) throw new TypeError(`not an integer timestamp: "${v}"`);
    return Number(BigInt(v) / 1_000_000n);
  }
  // Exact for unsigned 64-bit: hi * 2^32 = hi * 4294 * 1e6 + hi * 967296, each part below 2^53.
  const hi = v.high >>> 0;
  const lo = v.low >>> 0;
  return hi * 4294 + Math.floor((hi * 967296 + lo) / 1e6);
}

function bytesToHex(v: OtlpBytes): string {
  if (v === null || v === undefined) return '';
  let hex: string;
  if (typeof v === 'string') {
    hex = v.toLowerCase();
  } else {
    if (v.length === 0) return '';
    hex = Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('hex');
  }
  return /^0*$/.test(hex) ? '' : hex;
}

/** Formats a bucket bound or quantile as Go's strconv.FormatFloat(f, 'f', -1, 64) does. */
function formatFloat(f: number): string {
  if (f === Infinity) return '+Inf';
  if (f === -Infinity) return '-Inf';
  if (Number.isNaN(f)) return 'NaN';
  const s = String(f);
  if (!/e/i.test(s)) return s;
  // Expand exponent notation: 'f' format never uses it.
  const [mant, expStr] = s.toLowerCase().split('e') as [string, string];
  const exp = Number(expStr);
  const neg = mant.startsWith('-');
  const digits = mant.replace('-', '').replace('.', '');
  const point = (mant.replace('-', '').indexOf('.') < 0 ? mant.replace('-', '').length : mant.replace('-', '').indexOf('.')) + exp;
  let out: string;
  if (point <= 0) out = `0.${'0'.repeat(-point)}${digits}`;
  else if (point >= digits.length) out = digits + '0'.repeat(point - digits.length);
  else out = `${digits.slice(0, point)}.${digits.slice(point)}`;
  return neg ? `-${out}` : out;
}
