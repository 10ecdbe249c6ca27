import { z } from 'zod';
import { stripUndefined } from './tenant-overrides.ts';
import { bytesSchema, durationSchema } from './units.ts';

/** Per-tenant profile limits, named as Pyroscope names them where it has them; 0 turns a limit off. */
const profilesLimitFields = {
  /** How long a tenant's profiles are kept; whole windows (`store.window`) are dropped. 0 keeps everything. */
  retention_period: durationSchema,
  /** Largest uncompressed pprof accepted; a bigger profile is refused (`profile_too_large`). */
  max_profile_size_bytes: bytesSchema,
  /** Samples kept per profile and type (the largest values); the rest are dropped, as Pyroscope does. */
  max_profile_stacktrace_samples: z.number().int().nonnegative(),
  /** Frames kept per stack (the root side); deeper stacks end in one `other` frame. */
  max_profile_stacktrace_depth: z.number().int().nonnegative(),
  /** Function and file names are cut to this many characters. */
  max_profile_symbol_value_length: z.number().int().nonnegative(),
  /** Labels a series may have, the profile-type labels (`__name__`, `__profile_type__`, ...) included. */
  max_label_names_per_series: z.number().int().nonnegative(),
  max_label_name_length: z.number().int().nonnegative(),
  max_label_value_length: z.number().int().nonnegative(),
  /** Uncompressed profile bytes per second a tenant may write; a request over it gets 429 + Retry-After. */
  ingestion_rate_limit_bytes: bytesSchema,
  /** The burst of that rate: the most a tenant can send at once. */
  ingestion_burst_size_bytes: bytesSchema,
};

const PROFILES_LIMIT_DEFAULTS = {
  retention_period: '7d',
  max_profile_size_bytes: '4MiB',
  max_profile_stacktrace_samples: 16_000,
  max_profile_stacktrace_depth: 1000,
  max_profile_symbol_value_length: 65_535,
  max_label_names_per_series: 30,
  max_label_name_length: 1024,
  max_label_value_length: 2048,
  ingestion_rate_limit_bytes: '4MiB',
  ingestion_burst_size_bytes: '8MiB',
};

const profilesLimitsSchema = z.object(profilesLimitFields).partial().strict().prefault({})
  .transform((v) => ({ ...defaultProfilesLimits(), ...stripUndefined(v) }));

function defaultProfilesLimits(): ProfilesLimits {
  return z.object(profilesLimitFields).strict().parse(PROFILES_LIMIT_DEFAULTS);
}

export const profilesConfigSchema = z
  .object({
    limits: profilesLimitsSchema,
    /** Per-tenant overrides of `limits`: only the keys given replace the defaults. */
    overrides: z.record(z.string(), z.object(profilesLimitFields).partial().strict()).prefault({}),
    /** Largest ingest body (`/ingest`, Push) accepted after Content-Encoding decompression. */
    max_decompressed_bytes: bytesSchema.prefault('64MiB'),
    /** The profile store's engine settings (not per tenant). */
    store: z
      .object({
        /** Width of a block's time window (per tenant); retention drops whole blocks. Must divide a day. */
        window: durationSchema
          .refine((ms) => ms >= 60_000 && 86_400_000 % ms === 0, { message: 'must divide a day and be at least 1m' })
          .prefault('1h'),
        /**
         * Estimated bytes of profiles the head (the in-memory part, durable in the WAL) holds before open windows
         * are cut into blocks early; at twice this, commits are refused with a retryable 429 until a cut catches
         * up. The memory bound.
         */
        head_max_bytes: bytesSchema.prefault('256MiB'),
        /** How long after a window ends its profiles are cut into a block (later arrivals get a later block). */
        cut_delay: durationSchema.prefault('1m'),
        /** How often retention runs. */
        retention_interval: durationSchema.prefault('10m'),
      })
      .strict()
      .prefault({}),
  })
  .strict()
  .prefault({});

export type ProfilesConfig = z.output<typeof profilesConfigSchema>;
export type ProfilesLimits = { [K in keyof typeof profilesLimitFields]: z.output<(typeof profilesLimitFields)[K]> };
