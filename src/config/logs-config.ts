import { z } from 'zod';
import { bytesSchema, durationSchema } from './units.ts';

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
};

export const logsLimitsSchema = z.object(logsLimitFields).partial().strict().prefault({})
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
  })
  .strict()
  .prefault({});

export type LogsConfig = z.output<typeof logsConfigSchema>;
export type LogsLimits = { [K in keyof typeof logsLimitFields]: z.output<(typeof logsLimitFields)[K]> };

/** The effective limits for one tenant: the defaults with that tenant's overrides applied. */
export function logsLimitsFor(config: LogsConfig, tenant: string): LogsLimits {
  const o = config.overrides[tenant];
  return o ? { ...config.limits, ...stripUndefined(o) } : config.limits;
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
