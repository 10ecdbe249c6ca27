import { z } from 'zod';
import { stripUndefined } from './tenant-overrides.ts';
import { bytesSchema, durationSchema } from './units.ts';

const bucketsSchema = z.array(z.number().positive()).min(1).refine((b) => b.every((v, i) => i === 0 || v > b[i - 1]!), 'buckets must be ascending');

/** Per-tenant trace limits, named as Tempo names them (its `overrides`); 0 turns an ingest limit off. */
const tracesLimitFields = {
  /** How long a tenant's trace blocks are kept (Tempo's `block_retention`); whole blocks are dropped. */
  block_retention: durationSchema,
  /** Bytes one trace may reach while it is live; spans past it are refused (`trace_too_large`). */
  max_bytes_per_trace: bytesSchema,
  /** Attribute keys and string values longer than this are truncated to it (Tempo's distributor setting). */
  max_attribute_bytes: bytesSchema,
  /** Span bytes per second a tenant may write (local strategy); a batch over it gets 429 + Retry-After. */
  ingestion_rate_limit_bytes: bytesSchema,
  /** The burst of that rate: the largest batch a tenant can send at once. */
  ingestion_burst_size_bytes: bytesSchema,
  /** Traces a tenant may have live (receiving spans within `store.trace_idle_period`); more are refused (`live_traces_exceeded`). */
  max_traces_per_user: z.number().int().nonnegative(),
  /** The metrics-generator processors run for the tenant (Tempo's `metrics_generator_processors`); [] turns it off. */
  metrics_generator_processors: z.array(z.enum(['span-metrics', 'service-graphs'])),
  /** Span or resource attributes added as labels to span metrics (`.` becomes `_`). */
  metrics_generator_processor_span_metrics_dimensions: z.array(z.string().min(1)),
  /** Span-metrics latency buckets in seconds. */
  metrics_generator_processor_span_metrics_histogram_buckets: bucketsSchema,
  /** Span or resource attributes added as `client_<x>`/`server_<x>` labels to service-graph metrics. */
  metrics_generator_processor_service_graphs_dimensions: z.array(z.string().min(1)),
  /** Service-graph request buckets in seconds. */
  metrics_generator_processor_service_graphs_histogram_buckets: bucketsSchema,
  /** Attributes that name the server of a client span nothing answered (a virtual node), tried in order. */
  metrics_generator_processor_service_graphs_peer_attributes: z.array(z.string().min(1)),
};

const TRACES_LIMIT_DEFAULTS = {
  block_retention: '7d',
  max_bytes_per_trace: 5_000_000,
  max_attribute_bytes: 2048,
  ingestion_rate_limit_bytes: 15_000_000,
  ingestion_burst_size_bytes: 20_000_000,
  max_traces_per_user: 10_000,
  metrics_generator_processors: ['service-graphs', 'span-metrics'],
  metrics_generator_processor_span_metrics_dimensions: [],
  metrics_generator_processor_span_metrics_histogram_buckets: [0.002, 0.004, 0.008, 0.016, 0.032, 0.064, 0.128, 0.256, 0.512, 1.024, 2.048, 4.096],
  metrics_generator_processor_service_graphs_dimensions: [],
  metrics_generator_processor_service_graphs_histogram_buckets: [0.1, 0.2, 0.4, 0.8, 1.6, 3.2, 6.4, 12.8],
  metrics_generator_processor_service_graphs_peer_attributes: ['peer.service', 'db.name', 'db.system'],
};

export const tracesLimitsSchema = z.object(tracesLimitFields).partial().strict().prefault({})
  .transform((v) => ({ ...defaultTracesLimits(), ...stripUndefined(v) }));

function defaultTracesLimits(): TracesLimits {
  return z.object(tracesLimitFields).strict().parse(TRACES_LIMIT_DEFAULTS);
}

export const tracesConfigSchema = z
  .object({
    limits: tracesLimitsSchema,
    /** Per-tenant overrides of `limits`: only the keys given replace the defaults. */
    overrides: z.record(z.string(), z.object(tracesLimitFields).partial().strict()).prefault({}),
    /** Largest OTLP traces or Zipkin body accepted after decompression. */
    max_decompressed_bytes: bytesSchema.prefault('100MiB'),
    /** The metrics-generator (Tempo's `metrics_generator` block; per-tenant settings are in `limits`). */
    metrics_generator: z
      .object({
        /** How often each tenant's generated series are written to its metrics store. */
        collection_interval: durationSchema.prefault('15s'),
        /** Generated series not updated for this long are dropped from memory (Tempo's `stale_duration`). */
        stale_duration: durationSchema.prefault('15m'),
        /** How long a client or server span waits for its other half (Tempo's service graphs `wait`). */
        service_graphs_wait: durationSchema.prefault('10s'),
        /** Unpaired edges held per tenant; spans past it are dropped and counted (Tempo's `max_items`). */
        service_graphs_max_items: z.number().int().nonnegative().default(10_000),
      })
      .strict()
      .prefault({}),
    /** TraceQL limits of the Tempo API (searches, tag values with `q`, metrics queries); not per tenant. */
    query: z
      .object({
        /** Longest a TraceQL search or metrics query may run (a request's shorter `timeout` wins); beyond: 504. */
        timeout: durationSchema.prefault('1m'),
        /** Most series one TraceQL metrics query may produce; beyond, the query fails naming this setting. */
        max_series: z.number().int().positive().default(10_000),
      })
      .strict()
      .prefault({}),
    /** The trace store's engine settings (not per tenant). */
    store: z
      .object({
        /**
         * A trace with no new span for this long is complete and may be cut into a block (Tempo's
         * `trace_idle_period`). Spans arriving later still land, in a later block, and reads assemble them.
         */
        trace_idle_period: durationSchema.prefault('10s'),
        /**
         * Longest a trace stays in the head however busy it is (Tempo's `max_block_duration`): past it the
         * trace's spans so far are cut into a block.
         */
        max_block_duration: durationSchema.prefault('30m'),
        /** Width of a block's time window (per tenant); retention drops whole blocks. Must divide a day. */
        block_window: durationSchema
          .refine((ms) => ms >= 60_000 && 86_400_000 % ms === 0, { message: 'must divide a day and be at least 1m' })
          .prefault('1h'),
        /**
         * Span bytes the head (the in-memory part, durable in the WAL) holds before complete traces are cut
         * early; at twice this, commits are refused with a retryable 429 until a cut catches up. The memory bound.
         */
        head_max_bytes: bytesSchema.prefault('64MiB'),
        /** Spans per Parquet row group in blocks: the unit a search's read of a block loads. */
        row_group_spans: z.number().int().positive().default(20_000),
        /** Memory for blocks' trace-id indexes (bloom filters, trace records indexes), least recently used dropped first. */
        index_cache_bytes: bytesSchema.prefault('64MiB'),
        /**
         * Compaction merges a window's small blocks into blocks of up to this many spans (so a search reads few
         * blocks); blocks of half of it or more are never rewritten. 0 turns it off.
         */
        compaction_target_spans: z.number().int().nonnegative().default(1_000_000),
        /** How often retention runs. */
        retention_interval: durationSchema.prefault('10m'),
      })
      .strict()
      .prefault({}),
  })
  .strict()
  .prefault({});

export type TracesConfig = z.output<typeof tracesConfigSchema>;
export type TracesLimits = { [K in keyof typeof tracesLimitFields]: z.output<(typeof tracesLimitFields)[K]> };
