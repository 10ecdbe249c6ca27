import type { Server as GrpcServer } from '@grpc/grpc-js';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { HeimdallConfig } from '../config/index.ts';
import type { DataDirMonitor } from '../datadir/index.ts';
import type { QueryWorkerPool } from '../query/index.ts';
import type { SelfMetrics } from '../selfobs/index.ts';
import type { LogQueryEngine, LogsStorage, MetricQueryEngine, MetricsStorage, ProfilesStorage, TracesStorage } from '../storage/index.ts';
import type { TenantResolver } from '../tenant/index.ts';

import type { RoleName } from '../config/index.ts';

/** What started roles hand to the roles that depend on them. */
export interface RoleOutputs {
  metricsStorage?: MetricsStorage;
  logsStorage?: LogsStorage;
  tracesStorage?: TracesStorage;
  /** The metrics role's PromQL engine (the worker pool), for the ruler. */
  metricQueryEngine?: MetricQueryEngine;
  /** The logs role's LogQL engine (the worker pool), for the ruler's log rules. */
  logQueryEngine?: LogQueryEngine;
  profilesStorage?: ProfilesStorage;
}

/**
 * Everything a role may use while starting. Servers are not listening yet: register routes and gRPC
 * services in `start`, never later.
 */
export interface RoleContext {
  readonly config: HeimdallConfig;
  readonly logger: Logger;
  /** The main HTTP server (`--http-address`): query APIs, Mimir/Loki write paths, UI. */
  readonly http: FastifyInstance;
  /** The OTLP/HTTP receiver (`--otlp-http-address`), serving `/v1/{metrics,logs,traces}`. */
  readonly otlpHttp: FastifyInstance;
  /** The OTLP/gRPC receiver (`--otlp-grpc-address`). */
  readonly grpc: GrpcServer;
  readonly selfMetrics: SelfMetrics;
  readonly tenants: TenantResolver;
  /** The data directory's monitor: engines take it as their `health`; roles `watch` their engine's directory. */
  readonly dataDir: DataDirMonitor;
  /**
   * The one pool of query workers (`query.*` config) that every query language evaluates on, created on
   * first use; the app cancels its queries when it starts stopping.
   */
  queryPool(): QueryWorkerPool;
  /** Outputs of the roles started before this one (its dependencies among them). */
  readonly provided: Readonly<RoleOutputs>;
}

/** A started role. `stop` runs in reverse start order after the servers stopped accepting requests. */
export interface RoleInstance {
  readonly provides?: RoleOutputs;
  /** The query APIs the role serves, as `name prefix` (e.g. `Tempo API /tempo`), for the startup line and `/api/health`. */
  readonly serves?: readonly string[];
  /** False while the role cannot serve yet (e.g. replaying a log); `/ready` answers 503 until all are true. */
  ready?(): boolean;
  stop(): Promise<void>;
}

/** A role: its name, the roles it needs started first, and how to start it. */
export interface RoleDefinition {
  readonly name: RoleName;
  readonly dependsOn: readonly RoleName[];
  readonly description: string;
  start(ctx: RoleContext): Promise<RoleInstance>;
}

/** What a role's own module (`roles/*-role.ts`) exports; the registry names it and imports it on first start. */
export type RoleModule = Pick<RoleDefinition, 'start'>;
