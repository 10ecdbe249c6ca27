import { z } from 'zod';
import { stripUndefined } from './tenant-overrides.ts';
import { bytesSchema, durationSchema } from './units.ts';

/**
 * One per-stream retention rule in Loki's `retention_stream` shape. A stream matched by several rules takes
 * the one with the highest `priority`, and among equal priorities the longest `period`; a stream matched by
 * none keeps the tenant's `retention_period`.
 */
const retentionStreamSchema = z
  .object({
    /** A LogQL stream selector, e.g. `{log_source="audit"}` (label matchers only). */
    selector: z.string().min(2),
    priority: z.number().int().default(0),
    period: durationSchema,
  })
  .strict();

/** Per-tenant log limits, named as Loki names them. */
const logsLimitFields = {
  max_line_size: bytesSchema,
  max_label_names_per_series: z.number().int().positive(),
  max_label_name_length: z.number().int().positive(),
  max_label_value_length: z.number().int().positive(),
  reject_old_samples: z.boolean(),
  reject_old_samples_max_age: durationSchema,
  creation_grace_period: durationSchema,
  retention_period: durationSchema,
  retention_stream: z.array(retentionStreamSchema),
  /**
   * Stream labels tried, in order, to name a stream's `service_name` when it has none (Loki 3's
   * `discover_service_name`); empty turns discovery off. Streams matching none get `unknown_service`.
   */
  discover_service_name: z.array(z.string()),
  /** Adds `detected_level` structured metadata from the OTLP severity or the line (Loki 3's `discover_log_levels`). */
  discover_log_levels: z.boolean(),
};

const LOGS_LIMIT_DEFAULTS = {
  max_line_size: '256KiB',
  max_label_names_per_series: 15,
  max_label_name_length: 1024,
  max_label_value_length: 2048,
  reject_old_samples: true,
  reject_old_samples_max_age: '7d',
  creation_grace_period: '10m',
  retention_period: '7d',
  retention_stream: [],
  discover_service_name: [
    'service', 'app', 'application', 'app_name', 'name', 'app_kubernetes_io_name', 'container', 'container_name',
    'k8s_container_name', 'component', 'workload', 'job', 'k8s_job_name',
  ],
  discover_log_levels: true,
};

const logsLimitsSchema = z.object(logsLimitFields).partial().strict().prefault({})
  .transform((v) => ({ ...defaultLogsLimits(), ...stripUndefined(v) }));

function defaultLogsLimits(): LogsLimits {
  return z.object(logsLimitFields).strict().parse(LOGS_LIMIT_DEFAULTS);
}

export const logsConfigSchema = z
  .object({
    limits: logsLimitsSchema,
    /** Per-tenant overrides of `limits`: only the keys given replace the defaults. */
    overrides: z.record(z.string(), z.object(logsLimitFields).partial().strict()).prefault({}),
    max_decompressed_bytes: bytesSchema.prefault('100MiB'),
    /** The log store's engine settings (not per tenant). */
    store: z
      .object({
        /** Width of a time partition; retention drops whole partitions, so it is also retention's granularity. */
        partition_window: durationSchema
          .refine((ms) => ms >= 60_000 && 86_400_000 % ms === 0, { message: 'must divide a day and be at least 1m' })
          .prefault('1h'),
        /** Raw line bytes the write-ahead head table holds before it is compacted into Parquet blocks. */
        head_max_bytes: bytesSchema.prefault('64MiB'),
        /** Oldest data the head holds before it is compacted, so recent partitions reach their compact form. */
        head_max_age: durationSchema.prefault('5m'),
        /** How often retention runs. */
        retention_interval: durationSchema.prefault('10m'),
      })
      .strict()
      .prefault({}),
    /** LogQL query limits (Loki's names and defaults). */
    query: z
      .object({
        /** The largest `limit` a log query may ask for. */
        max_entries_limit_per_query: z.number().int().positive().default(5000),
        /** Series a metric query may return. */
        max_query_series: z.number().int().positive().default(500),
        /** How long one query may run. */
        timeout: durationSchema.prefault('1m'),
        /** The longest time range a query may cover (0 = unlimited). */
        max_query_length: durationSchema.prefault('721h'),
        /** Samples a metric query may extract from log lines (a memory bound). */
        max_samples: z.number().int().positive().default(20_000_000),
      })
      .strict()
      .prefault({}),
  })
  .strict()
  .prefault({});

export type LogsConfig = z.output<typeof logsConfigSchema>;
export type RetentionStreamRule = z.output<typeof retentionStreamSchema>;
export type LogsLimits = { [K in keyof typeof logsLimitFields]: z.output<(typeof logsLimitFields)[K]> };
