import type { RoleDefinition } from './role.ts';

/**
 * Every role Heimdall can run, in the order `--target all` lists them (start order follows dependencies).
 * A role's module (its engine, query language and API, DuckDB with them) is imported only when the role
 * starts, so `heimdall --help` and a configuration error answer at once and a subset target loads only its
 * own roles.
 */
export const ROLE_REGISTRY: readonly RoleDefinition[] = [
  {
    name: 'metrics',
    dependsOn: [],
    description: 'metrics storage (TSDB) and the Prometheus/Mimir query API under /prometheus/api/v1',
    start: async (ctx) => (await import('./roles/metrics-role.ts')).metricsRole.start(ctx),
  },
  {
    name: 'logs',
    dependsOn: [],
    description: 'log storage (DuckDB + Parquet) and the Loki query API under /loki/api/v1',
    start: async (ctx) => (await import('./roles/logs-role.ts')).logsRole.start(ctx),
  },
  {
    name: 'traces',
    dependsOn: [],
    description: 'trace storage (WAL + head, DuckDB + Parquet blocks) and the Tempo query API under /tempo',
    start: async (ctx) => (await import('./roles/traces-role.ts')).tracesRole.start(ctx),
  },
  {
    name: 'profiles',
    dependsOn: [],
    description: 'profile storage (WAL + in-memory head) and the Pyroscope query API under /pyroscope',
    start: async (ctx) => (await import('./roles/profiles-role.ts')).profilesRole.start(ctx),
  },
  {
    name: 'gateway',
    dependsOn: ['metrics', 'logs', 'traces', 'profiles'],
    description: 'ingest: remote_write, OTLP (HTTP :4318, gRPC :4317, /otlp/v1/*), Loki push, Zipkin, Pyroscope /ingest and Push',
    start: async (ctx) => (await import('./roles/gateway-role.ts')).gatewayRole.start(ctx),
  },
  {
    name: 'ruler',
    dependsOn: ['metrics'],
    description: 'recording and alerting rules (PromQL, and LogQL when logs run), the Mimir/Loki ruler APIs, alerts to Alertmanager',
    start: async (ctx) => (await import('./roles/ruler-role.ts')).rulerRole.start(ctx),
  },
];
