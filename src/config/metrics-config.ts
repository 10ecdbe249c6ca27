import { z } from 'zod';
import { stripUndefined } from './tenant-overrides.ts';
import { bytesSchema, durationSchema } from './units.ts';

/** Per-tenant metrics limits, named as Mimir names them. */
const metricsLimitFields = {
  max_global_series_per_user: z.number().int().nonnegative(),
  max_label_names_per_series: z.number().int().positive(),
  max_label_name_length: z.number().int().positive(),
  max_label_value_length: z.number().int().positive(),
  /** Samples older than this relative to now are refused (0 = no limit, Mimir's default). */
  past_grace_period: durationSchema,
  /** Samples further than this in the future are refused. */
  creation_grace_period: durationSchema,
  /** Out-of-order samples within this window of the series' newest sample are accepted; 0 rejects them. */
  out_of_order_time_window: durationSchema,
  retention_period: durationSchema,
};

const METRICS_LIMIT_DEFAULTS = {
  max_global_series_per_user: 150_000,
  max_label_names_per_series: 30,
  max_label_name_length: 1024,
  max_label_value_length: 2048,
  past_grace_period: 0,
  creation_grace_period: '10m',
  out_of_order_time_window: 0,
  retention_period: '15d',
};

export const metricsLimitsSchema = z.object(metricsLimitFields).partial().strict().prefault({})
  .transform((v) => ({ ...defaultMetricsLimits(), ...stripUndefined(v) }));

function defaultMetricsLimits(): MetricsLimits {
  return z.object(metricsLimitFields).strict().parse(METRICS_LIMIT_DEFAULTS);
}

export const metricsConfigSchema = z
  .object({
    limits: metricsLimitsSchema,
    /** Per-tenant overrides of `limits`: only the keys given replace the defaults. */
    overrides: z.record(z.string(), z.object(metricsLimitFields).partial().strict()).prefault({}),
    query: z
      .object({
        timeout: durationSchema.prefault('2m'),
        max_samples: z.number().int().positive().prefault(50_000_000),
        lookback_delta: durationSchema.prefault('5m'),
        /** Bytes a query may produce: label values built by label_join/label_replace/count_values, and its result. */
        max_result_bytes: bytesSchema.prefault('256MiB'),
      })
      .strict()
      .prefault({}),
    /**
     * Exemplars kept in memory, all series and tenants together (Prometheus' `storage.exemplars.max_exemplars`):
     * one circular buffer whose oldest exemplar is overwritten when it is full; 0 stores none. Head flushes
     * move exemplars into blocks, which keep them for the retention period.
     */
    max_exemplars: z.number().int().nonnegative().prefault(100_000),
    /**
     * Heimdall scraping its own `/metrics` into this TSDB (job `heimdall`, instance = the HTTP address), so the
     * built-in self-monitoring dashboard has data. With multitenancy off it writes to `anonymous`, whatever
     * `tenant` says.
     */
    self_scrape: z
      .object({
        enabled: z.boolean().prefault(true),
        interval: durationSchema.prefault('15s'),
        tenant: z.string().min(1).prefault('anonymous'),
        job: z.string().min(1).prefault('heimdall'),
      })
      .strict()
      .prefault({}),
    /** Largest remote_write / OTLP body accepted after decompression. */
    max_decompressed_bytes: bytesSchema.prefault('100MiB'),
  })
  .strict()
  .prefault({});

export type MetricsConfig = z.output<typeof metricsConfigSchema>;
export type MetricsLimits = { [K in keyof typeof metricsLimitFields]: z.output<(typeof metricsLimitFields)[K]> };
