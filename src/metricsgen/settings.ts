/** Tempo's default span-metrics latency buckets, in seconds. */
export const DEFAULT_SPAN_METRICS_BUCKETS: readonly number[] = [0.002, 0.004, 0.008, 0.016, 0.032, 0.064, 0.128, 0.256, 0.512, 1.024, 2.048, 4.096];

/** Tempo's default service-graph request buckets, in seconds. */
export const DEFAULT_SERVICE_GRAPH_BUCKETS: readonly number[] = [0.1, 0.2, 0.4, 0.8, 1.6, 3.2, 6.4, 12.8];

/** Tempo's default attributes that name the far side of a client span nothing answered (a virtual node). */
export const DEFAULT_PEER_ATTRIBUTES: readonly string[] = ['peer.service', 'db.name', 'db.system'];

/** The processors, named as Tempo's `metrics_generator_processors` names them. */
export type ProcessorName = 'span-metrics' | 'service-graphs';

/**
 * One tenant's metrics-generator settings (Tempo's per-tenant `metrics_generator_*` overrides). `app/` fills
 * them from the configuration; the generator reads them on every batch, so a changed setting applies at once.
 */
export interface TenantGeneratorSettings {
  readonly processors: readonly ProcessorName[];
  /** Span or resource attributes added as labels to span metrics (`.` becomes `_`). */
  readonly spanMetricsDimensions: readonly string[];
  readonly spanMetricsBuckets: readonly number[];
  /** Span or resource attributes added as `client_<x>` and `server_<x>` labels to service-graph metrics. */
  readonly serviceGraphDimensions: readonly string[];
  readonly serviceGraphBuckets: readonly number[];
  readonly peerAttributes: readonly string[];
}

/** Process-wide generator settings (Tempo's `metrics_generator` block). */
export interface GeneratorSettings {
  /** How often each tenant's series are written to the metrics store (Tempo's `collection_interval`). */
  readonly collectionIntervalMs: number;
  /** Series not updated for this long are dropped (Tempo's `stale_duration`). */
  readonly staleMs: number;
  /** How long a client or server span waits for its other half (Tempo's service graphs `wait`). */
  readonly edgeWaitMs: number;
  /** Unpaired edges held per tenant; spans past it are dropped and counted (Tempo's `max_items`). */
  readonly maxEdges: number;
  readonly tenant: (tenant: string) => TenantGeneratorSettings;
}
