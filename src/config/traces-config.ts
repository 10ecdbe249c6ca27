import { z } from 'zod';
import { stripUndefined } from './tenant-overrides.ts';
import { bytesSchema, durationSchema } from './units.ts';

/** Per-tenant trace limits, named as Tempo names them (its `overrides`). */
const tracesLimitFields = {
  /** How long a tenant's trace blocks are kept (Tempo's `block_retention`); whole blocks are dropped. */
  block_retention: durationSchema,
};

const TRACES_LIMIT_DEFAULTS = {
  block_retention: '7d',
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
        /** Spans per Parquet row group in blocks: the unit a trace-by-id read loads. */
        row_group_spans: z.number().int().positive().default(20_000),
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
