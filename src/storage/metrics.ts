import type {
  Exemplar,
  LabelMatcher,
  Labels,
  MetricMetadata,
  MetricRecord,
  NativeHistogram,
  TenantId,
  TimeRange,
} from '../model/index.ts';
import type { Appendable } from './append.ts';

/**
 * One series' data in a range, columnar: `timestampsMs[i]` pairs with `values[i]`, ascending by time.
 * Staleness markers are present as the stale NaN. Native histogram samples, if any, are in `histograms`
 * (timestamps in `histogramTimestampsMs`), separate from the float samples.
 */
export interface SeriesData {
  readonly labels: Labels;
  readonly timestampsMs: Float64Array;
  readonly values: Float64Array;
  readonly histogramTimestampsMs?: Float64Array;
  readonly histograms?: readonly NativeHistogram[];
}

/** Hints a query engine may pass to narrow what a `select` loads. Engines may ignore them. */
export interface SelectHints {
  /** Only series labels are needed (e.g. `/series`, `count by`): samples may be left empty. */
  readonly labelsOnly?: boolean;
  /** Stop after this many series. */
  readonly limit?: number;
  /** The caller's cancellation. */
  readonly signal?: AbortSignal;
}

/**
 * Reads metrics for a fixed set of tenants and time range.
 *
 * Contract: `select` yields batches of whole series, each series exactly once, sorted by labels within a
 * batch and across batches. Call `close` when done (it releases connections and snapshots); a querier is
 * not safe for concurrent `select` calls.
 */
export interface MetricQuerier {
  select(matchers: readonly LabelMatcher[], hints?: SelectHints): AsyncIterable<readonly SeriesData[]>;
  /** Label names present on series matching all `matchers` (all series if empty), sorted. */
  labelNames(matchers?: readonly LabelMatcher[], limit?: number): Promise<string[]>;
  /** Values of label `name` on series matching `matchers`, sorted. */
  labelValues(name: string, matchers?: readonly LabelMatcher[], limit?: number): Promise<string[]>;
  close(): Promise<void>;
}

/** Hands out metric queriers. The tenant list is required: a read without a tenant cannot be written. */
export interface MetricQueryable {
  querier(tenants: readonly TenantId[], range: TimeRange): Promise<MetricQuerier>;
}

export interface SeriesExemplars {
  readonly seriesLabels: Labels;
  readonly exemplars: readonly Exemplar[];
}

/** Reads stored exemplars (for `/api/v1/query_exemplars`). */
export interface ExemplarQueryable {
  exemplars(
    tenants: readonly TenantId[],
    range: TimeRange,
    matcherSets: readonly (readonly LabelMatcher[])[],
  ): Promise<SeriesExemplars[]>;
}

/** Reads stored metric metadata (for `/api/v1/metadata`). */
export interface MetadataQueryable {
  metadata(
    tenants: readonly TenantId[],
    metric?: string,
    limit?: number,
  ): Promise<Map<string, MetricMetadata[]>>;
}

/** Everything the metrics engine offers through seams; what `app/` hands to the gateway and the API. */
export interface MetricsStorage extends Appendable<MetricRecord>, MetricQueryable, ExemplarQueryable, MetadataQueryable {}
