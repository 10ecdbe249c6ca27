import { z } from 'zod';
import { ROLE_NAMES } from './role-names.ts';
import { faroConfigSchema } from './faro-config.ts';
import { gatewayConfigSchema } from './gateway-config.ts';
import { logsConfigSchema } from './logs-config.ts';
import { metricsConfigSchema } from './metrics-config.ts';
import { uiConfigSchema } from './ui-config.ts';
import { profilesConfigSchema } from './profiles-config.ts';
import { tracesConfigSchema } from './traces-config.ts';
import { alertmanagerConfigSchema } from './alertmanager-config.ts';
import { rulesConfigSchema } from './rules-config.ts';
import { addressSchema, bytesSchema, durationSchema } from './units.ts';

const targetSchema = z
  .string()
  .transform((v) => v.split(',').map((s) => s.trim()).filter((s) => s.length > 0))
  .superRefine((roles, ctx) => {
    if (roles.length === 0) ctx.addIssue({ code: 'custom', message: 'empty target list' });
    for (const r of roles) {
      if (r !== 'all' && !(ROLE_NAMES as readonly string[]).includes(r)) {
        ctx.addIssue({ code: 'custom', message: `unknown role "${r}": allowed are all, ${ROLE_NAMES.join(', ')}` });
      }
    }
  });

/** The whole configuration: YAML keys, with `HEIMDALL_*` variables and flags layered on top. */
export const configSchema = z
  .object({
    data_dir: z.string().min(1).default('./data'),
    target: targetSchema.default(['all']),
    http_address: addressSchema.default('127.0.0.1:3000'),
    otlp_grpc_address: addressSchema.default('127.0.0.1:4317'),
    otlp_http_address: addressSchema.default('127.0.0.1:4318'),
    multitenancy: z.boolean().default(false),
    log_level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
    server: z
      .object({
        /** Largest request body read off the wire (compressed size). */
        max_request_body_bytes: bytesSchema.prefault('64MiB'),
        /**
         * Write-request bytes (wire plus decompressed) processed at once across every write path (HTTP and
         * gRPC, all signals); past it a write gets 429 with `Retry-After` before its body is read.
         */
        max_inflight_push_bytes: bytesSchema.prefault('64MiB'),
        /** How long SIGTERM waits for in-flight requests before closing storage anyway. */
        shutdown_timeout: durationSchema.prefault('30s'),
        /** Time for a request's headers to arrive on an HTTP listener (Go's ReadHeaderTimeout); 0 = no limit. */
        http_read_header_timeout: durationSchema.prefault('30s'),
        /** Time for a whole request, body included, to arrive (Loki/Mimir `http_server_read_timeout`); 0 = no limit. */
        http_read_timeout: durationSchema.prefault('30s'),
        /** How long a keep-alive connection may idle between requests (Loki/Mimir `http_server_idle_timeout`). */
        http_idle_timeout: durationSchema.prefault('2m'),
        /** Open connections per HTTP listener (Prometheus' `--web.max-connections`); 0 = no limit. */
        http_max_connections: z.number().int().nonnegative().default(512),
        /** After this long without activity the server pings a gRPC client (grpc-go's keepalive Time). */
        grpc_keepalive_time: durationSchema.prefault('2h'),
        /** A ping unanswered for this long closes the gRPC connection (grpc-go's keepalive Timeout). */
        grpc_keepalive_timeout: durationSchema.prefault('20s'),
        /** A gRPC connection with no call for this long is closed with GOAWAY (clients reconnect); 0 = never. */
        grpc_max_connection_idle: durationSchema.prefault('5m'),
        /** Open connections on the OTLP/gRPC listener; 0 = no limit. */
        grpc_max_connections: z.number().int().nonnegative().default(512),
      })
      .strict()
      .superRefine((server, ctx) => {
        // Node refuses a header timeout longer than the whole-request timeout.
        if (server.http_read_timeout > 0 && server.http_read_header_timeout > server.http_read_timeout) {
          ctx.addIssue({
            code: 'custom',
            path: ['http_read_header_timeout'],
            message: `must not exceed server.http_read_timeout (${server.http_read_timeout / 1000}s): the headers are part of the request`,
          });
        }
      })
      .prefault({}),
    tenancy: z
      .object({
        /** Derive a write's tenant from `k8s.namespace.name` / `namespace` when no header names one. */
        from_namespace: z.boolean().default(false),
        /** The tenant of records that carry no namespace (with `from_namespace`). */
        default_tenant: z.string().default('default'),
        /** Namespace → tenant renames, e.g. `kube-system: infrastructure`. */
        namespace_map: z.record(z.string(), z.string()).default({}),
      })
      .strict()
      .prefault({}),
    storage: z
      .object({
        /** DuckDB memory limit per engine; queries spill to disk beyond it. */
        memory_limit: bytesSchema.prefault('1GiB'),
        /** DuckDB worker threads per engine (0 = number of cores). */
        threads: z.number().int().nonnegative().default(0),
      })
      .strict()
      .prefault({}),
    query: z
      .object({
        /**
         * Worker threads that evaluate PromQL and LogQL off the serving thread (0 = one per core, at least 2,
         * at most 8). Each runs one query at a time.
         */
        workers: z.number().int().nonnegative().default(0),
        /** V8 heap limit of each query worker; a query that needs more fails alone and its worker is replaced. */
        worker_memory_limit: bytesSchema.prefault('1GiB'),
        /** Queries of one tenant (or one federated `a|b` read) evaluated at once; the rest wait in its queue. */
        max_concurrent_per_tenant: z.number().int().positive().default(4),
        /** Queries of one tenant waiting for a worker; beyond it a query gets 429 (Mimir's max outstanding requests). */
        max_queued_per_tenant: z.number().int().nonnegative().default(100),
        /** How long a query may wait in its tenant's queue before it gets 503 with `Retry-After`. */
        queue_timeout: durationSchema.prefault('30s'),
        /** How long a canceled or timed-out query may take to stop before its worker is terminated and replaced. */
        cancel_grace_period: durationSchema.prefault('5s'),
      })
      .strict()
      .prefault({}),
    metrics: metricsConfigSchema,
    logs: logsConfigSchema,
    ui: uiConfigSchema,
    traces: tracesConfigSchema,
    profiles: profilesConfigSchema,
    gateway: gatewayConfigSchema,
    faro: faroConfigSchema,
    rules: rulesConfigSchema,
    alertmanager: alertmanagerConfigSchema,
  })
  .strict();

export type HeimdallConfig = z.output<typeof configSchema>;
export type HeimdallConfigInput = z.input<typeof configSchema>;
