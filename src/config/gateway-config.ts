import { z } from 'zod';
import { bytesSchema, durationSchema } from './units.ts';

/** HTTP basic authentication, as Prometheus' `basic_auth` block (`password_file` is read at start). */
const basicAuthSchema = z
  .object({
    username: z.string(),
    password: z.string().optional(),
    /** A file holding the password (trailing newline trimmed), e.g. a mounted Kubernetes secret. */
    password_file: z.string().optional(),
  })
  .strict()
  .refine((b) => !(b.password !== undefined && b.password_file !== undefined), 'give password or password_file, not both');

/** Credentials sent with every request of one endpoint, or of one tenant of it. */
const credentialFields = {
  /** Extra request headers, e.g. `{ X-Custom: value }`. A header named here wins over the computed ones. */
  headers: z.record(z.string(), z.string()).optional(),
  basic_auth: basicAuthSchema.optional(),
  /** Sent as `Authorization: Bearer <token>`. */
  bearer_token: z.string().optional(),
  /** A file holding the bearer token, re-read at start. */
  bearer_token_file: z.string().optional(),
};

function checkOneAuth(c: { basic_auth?: unknown; bearer_token?: unknown; bearer_token_file?: unknown }, ctx: z.RefinementCtx): void {
  const set = [c.basic_auth, c.bearer_token, c.bearer_token_file].filter((v) => v !== undefined).length;
  if (set > 1) ctx.addIssue({ code: 'custom', message: 'give at most one of basic_auth, bearer_token, bearer_token_file' });
}

const credentialsSchema = z.object(credentialFields).strict().superRefine(checkOneAuth);

/** TLS options of an `https://` endpoint (files in PEM). */
/** TLS settings of an HTTPS client (Prometheus' `tls_config`): forwarding endpoints and the agent's scrapes. */
export const tlsSchema = z
  .object({
    ca_file: z.string().optional(),
    cert_file: z.string().optional(),
    key_file: z.string().optional(),
    /** The server name to verify (SNI), when it differs from the URL's host. */
    server_name: z.string().optional(),
    insecure_skip_verify: z.boolean().default(false),
  })
  .strict()
  .refine((t) => (t.cert_file === undefined) === (t.key_file === undefined), 'cert_file and key_file go together')
  .prefault({});

/**
 * One remote endpoint a signal is forwarded to. Every batch the gateway accepts is written to a queue on disk
 * for each endpoint before the client gets its 2xx, then sent from there.
 */
const endpointFields = {
  /**
   * The push URL: Mimir/Prometheus `.../api/v1/push`, Loki `.../loki/api/v1/push`, OTLP `.../v1/traces`,
   * Pyroscope `.../push.v1.PusherService/Push`.
   */
  url: z.url({ protocol: /^https?$/, error: 'expected an http:// or https:// URL' }),
  /**
   * Names the endpoint in self-metrics and its queue directory (`<data_dir>/forward/<signal>/<name>`);
   * defaults to a hash of the URL, so reordering the list keeps each queue.
   */
  name: z
    .string()
    .regex(/^[A-Za-z0-9_.-]{1,64}$/, 'letters, digits, _ . - (at most 64)')
    .optional(),
  ...credentialFields,
  tls: tlsSchema,
  tenant: z
    .object({
      /** The header naming a record's tenant (Mimir, Loki, Tempo: `X-Scope-OrgID`); `""` sends none. */
      header: z.string().default('X-Scope-OrgID'),
      /**
       * Per-tenant credentials (e.g. one Grafana Cloud stack per namespace): a tenant listed here is sent with
       * these headers/auth instead of the endpoint's; other tenants use the endpoint's.
       */
      credentials: z.record(z.string(), credentialsSchema).default({}),
    })
    .strict()
    .prefault({}),
  /** A batch is sent once it holds this many bytes (encoded, before compression) ... */
  batch_max_bytes: bytesSchema.prefault('1MiB'),
  /** ... or this many records (samples, log entries, spans) ... */
  batch_max_records: z.number().int().positive().default(10_000),
  /** ... or its first record has waited this long. */
  batch_max_wait: durationSchema.prefault('1s'),
  /** Requests in flight to this endpoint at once. */
  concurrency: z.number().int().positive().max(256).default(4),
  /** First retry delay after a 429, a 5xx or a network error; doubles per attempt with jitter, up to `max_backoff`. */
  min_backoff: durationSchema.prefault('100ms'),
  max_backoff: durationSchema.prefault('30s'),
  /** How long one request may take before it counts as a network error and is retried. */
  timeout: durationSchema.prefault('30s'),
  /** Bytes the on-disk queue may hold; past it writes are answered 429 with `Retry-After` (nothing grows in memory). */
  queue_max_bytes: bytesSchema.prefault('1GiB'),
};

function checkBackoff(e: { min_backoff: number; max_backoff: number }, ctx: z.RefinementCtx): void {
  if (e.min_backoff <= 0 || e.max_backoff < e.min_backoff) {
    ctx.addIssue({ code: 'custom', path: ['max_backoff'], message: 'need 0 < min_backoff <= max_backoff' });
  }
}

const endpointSchema = z.object(endpointFields).strict().superRefine(checkOneAuth).superRefine(checkBackoff);

const metricsEndpointSchema = z
  .object({
    ...endpointFields,
    /** Prometheus remote_write 1.0 (Mimir, Prometheus, every receiver) or 2.0 (Prometheus 3 with `--web.enable-remote-write-receiver`, Heimdall). */
    protocol: z.enum(['remote_write_v1', 'remote_write_v2']).default('remote_write_v1'),
  })
  .strict()
  .superRefine(checkOneAuth)
  .superRefine(checkBackoff);

const tracesEndpointSchema = z
  .object({
    ...endpointFields,
    /**
     * OTLP over HTTP (protobuf POSTs to the URL, e.g. `http://tempo:4318/v1/traces`) or gRPC (`TraceService/Export`
     * calls to the URL's host and port, e.g. `http://tempo:4317`; `https://` for TLS), the OTel exporters' names.
     */
    protocol: z.enum(['http/protobuf', 'grpc']).default('http/protobuf'),
  })
  .strict()
  .superRefine(checkOneAuth)
  .superRefine(checkBackoff);

function uniqueNames(list: readonly { url: string; name?: string | undefined }[], ctx: z.RefinementCtx): void {
  const seen = new Set<string>();
  for (const [i, e] of list.entries()) {
    const key = e.name ?? e.url;
    if (seen.has(key)) ctx.addIssue({ code: 'custom', path: [i], message: `endpoint ${key} is listed twice (give each a distinct name)` });
    seen.add(key);
  }
}

/** `gateway.forward`: per signal, the remote endpoints its writes go to instead of the local engine. */
export const gatewayConfigSchema = z
  .object({
    forward: z
      .object({
        metrics: z.array(metricsEndpointSchema).superRefine(uniqueNames).default([]),
        logs: z.array(endpointSchema).superRefine(uniqueNames).default([]),
        traces: z.array(tracesEndpointSchema).superRefine(uniqueNames).default([]),
        /** Pyroscope (or Heimdall) `.../push.v1.PusherService/Push`, sent as Connect protobuf. */
        profiles: z.array(endpointSchema).superRefine(uniqueNames).default([]),
      })
      .strict()
      .prefault({}),
  })
  .strict()
  .prefault({});

export type GatewayConfig = z.output<typeof gatewayConfigSchema>;
export type ForwardEndpointConfig = z.output<typeof endpointSchema>;
export type MetricsForwardEndpointConfig = z.output<typeof metricsEndpointSchema>;
export type TracesForwardEndpointConfig = z.output<typeof tracesEndpointSchema>;
export type ForwardCredentials = z.output<typeof credentialsSchema>;
export type TlsConfig = z.output<typeof tlsSchema>;
/** The signals the gateway can forward. */
export type ForwardedSignal = keyof GatewayConfig['forward'];
