import { z } from 'zod';
import { addressSchema, bytesSchema } from './units.ts';

/**
 * `faro`: the Faro receiver (Alloy's `faro.receiver`) for browser telemetry from `@grafana/faro-web-sdk`.
 * `POST /collect` is always served on the HTTP address when the gateway runs; `listen_address` adds a listener
 * of its own (Alloy's `:12347`).
 */
export const faroConfigSchema = z
  .object({
    /** A listener for `/collect` only, e.g. `0.0.0.0:12347`; empty (the default) opens none. */
    listen_address: z.union([z.literal(''), addressSchema]).default(''),
    /** When set, a request must carry it as `x-api-key` (401 otherwise), as Alloy's `api_key`. */
    api_key: z.string().optional(),
    /** Origins a browser may send from (CORS); `*` (the default) allows any, as Alloy's empty list does. */
    cors_allowed_origins: z.array(z.string()).default(['*']),
    /** Largest payload taken (413 beyond), Alloy's `max_allowed_payload_size`. */
    max_allowed_payload_size: bytesSchema.prefault('5MiB'),
    /** Payloads per second across all senders, with a burst (429 with `Retry-After` beyond), Alloy's defaults. */
    rate_limiting: z
      .object({
        enabled: z.boolean().default(true),
        rate: z.number().positive().default(50),
        burst_size: z.number().positive().default(100),
      })
      .strict()
      .prefault({}),
  })
  .strict()
  .prefault({});

export type FaroConfig = z.output<typeof faroConfigSchema>;
