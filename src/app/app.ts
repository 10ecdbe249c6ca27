import os from 'node:os';
import type { Server as GrpcServer } from '@grpc/grpc-js';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { HeimdallConfig } from '../config/index.ts';
import { DataDirLock, DataDirMonitor } from '../datadir/index.ts';
import { QueryWorkerPool } from '../query/index.ts';
import { SelfMetrics } from '../selfobs/index.ts';
import { TenantResolver } from '../tenant/index.ts';
import { StaticSite, WEB_DIST_DIR, registerUiRoutes } from '../ui/index.ts';
import type { UiRoutes } from '../ui/index.ts';
import { createGrpcServer, listenGrpc, shutdownGrpc } from './grpc-server.ts';
import type { GrpcListener } from './grpc-server.ts';
import { createHttpServer } from './http-server.ts';
import { boundAddress, formatAddress, splitAddress } from './listen-address.ts';
import type { HttpServerOptions } from './http-server.ts';
import { grpcListenerLimits, httpListenerLimits } from './listener-limits.ts';
import type { RoleDefinition, RoleInstance, RoleOutputs } from './role.ts';
import { resolveStartOrder, roleNames } from './role-order.ts';
import { withForwarding } from './forwarding.ts';
import { registerStatusRoutes } from './status-routes.ts';

/** Where the listeners ended up (ports resolved when configured as 0). */
export interface ListenAddresses {
  readonly http: string;
  readonly otlpHttp: string;
  readonly otlpGrpc: string;
}

type AppState = 'starting' | 'running' | 'stopping' | 'stopped';

/**
 * The composition root at run time: creates the servers, starts the roles of `--target` in dependency
 * order, opens the listeners, and on `stop` drains requests then stops roles in reverse order.
 */
export class HeimdallApp {
  readonly config: HeimdallConfig;
  readonly logger: Logger;
  readonly selfMetrics: SelfMetrics;
  private readonly http: FastifyInstance;
  private readonly otlpHttp: FastifyInstance;
  private readonly grpc: GrpcServer;
  private grpcListener?: GrpcListener;
  private readonly started: { role: RoleDefinition; instance: RoleInstance }[] = [];
  private state: AppState = 'starting';
  private stopping?: Promise<void>;
  private lock?: DataDirLock;
  private uiRoutes?: UiRoutes;
  private dataDir?: DataDirMonitor;
  private queryPool?: QueryWorkerPool;
  addresses?: ListenAddresses;

  private constructor(
    config: HeimdallConfig,
    logger: Logger,
    selfMetrics: SelfMetrics,
    http: FastifyInstance,
    otlpHttp: FastifyInstance,
    grpc: GrpcServer,
  ) {
    this.config = config;
    this.selfMetrics = selfMetrics;
    this.logger = logger;
    this.http = http;
    this.otlpHttp = otlpHttp;
    this.grpc = grpc;
  }

  /**
   * Starts Heimdall. On failure everything started so far is stopped again and the error is rethrown,
   * so a failed start leaves no open database or port behind.
   */
  static async start(config: HeimdallConfig, logger: Logger, registry: readonly RoleDefinition[]): Promise<HeimdallApp> {
    const order = resolveStartOrder(config.target, withForwarding(registry, config));
    const selfMetrics = new SelfMetrics();
    const serverOpts = { logger, selfMetrics, maxRequestBodyBytes: config.server.max_request_body_bytes, limits: httpListenerLimits(config.server) };
    const app = new HeimdallApp(
      config,
      logger,
      selfMetrics,
      await createHttpServer({ ...serverOpts, name: 'http', ...(config.ui.enabled ? { pageFallback: uiPages(logger) } : {}) }),
      await createHttpServer({ ...serverOpts, name: 'otlp-http' }),
      // A message is judged by its decompressed size, which grpc-js checks while inflating.
      createGrpcServer(Math.max(config.metrics.max_decompressed_bytes, config.logs.max_decompressed_bytes), grpcListenerLimits(config.server)),
    );
    try {
      // Before any engine opens a file: a second process on this directory stops here, naming the holder.
      app.lock = await DataDirLock.acquire(config.data_dir, (stale) =>
        logger.warn({ stalePid: stale.pid, since: stale.since }, `taking over the stale data directory lock of PID ${stale.pid} (no longer running)`),
      );
      app.dataDir = await DataDirMonitor.start({
        dir: config.data_dir,
        logger,
        onRefusal: (reason) => selfMetrics.storageUnavailableWrites.inc({ reason }),
      });
      await app.startRoles(order, app.dataDir);
      const apis = app.started.flatMap(({ instance }) => instance.serves ?? []);
      registerStatusRoutes(app.http, {
        selfMetrics,
        notReadyReason: () => app.notReadyReason(),
        roles: roleNames(order),
        apis,
      });
      if (config.ui.enabled) app.uiRoutes = await registerUiRoutes(app.http, config, logger);
      app.addresses = await app.listen();
      app.state = 'running';
      logger.info(
        { http: app.addresses.http, otlpHttp: app.addresses.otlpHttp, otlpGrpc: app.addresses.otlpGrpc, roles: roleNames(order), apis, dataDir: config.data_dir, pid: process.pid },
        `Heimdall ready: http on ${app.addresses.http}, OTLP/HTTP on ${app.addresses.otlpHttp}, OTLP/gRPC on ${app.addresses.otlpGrpc}; roles ${roleNames(order).join(',')}` +
          (apis.length > 0 ? `; serving ${apis.join(', ')}` : ''),
      );
      return app;
    } catch (err) {
      await app.stop().catch((stopErr: unknown) => logger.error({ err: stopErr }, 'cleanup after failed start failed'));
      throw err;
    }
  }

  /** True once every role is ready, the data directory is usable and the app is not shutting down. */
  isReady(): boolean {
    return this.notReadyReason() === undefined;
  }

  /** Why `/ready` answers 503 (starting, shutting down, the data directory lost or unwritable), or undefined. */
  notReadyReason(): string | undefined {
    if (this.state === 'starting') return 'starting';
    if (this.state !== 'running') return 'shutting down';
    const dataDir = this.dataDir?.notReadyReason();
    if (dataDir !== undefined) return dataDir;
    const waiting = this.started.find(({ instance }) => !(instance.ready?.() ?? true));
    return waiting ? `role ${waiting.role.name} is starting` : undefined;
  }

  private async startRoles(order: readonly RoleDefinition[], dataDir: DataDirMonitor): Promise<void> {
    const provided: RoleOutputs = {};
    const tenants = new TenantResolver({
      multitenancy: this.config.multitenancy,
      fromNamespace: this.config.tenancy.from_namespace,
      defaultTenant: this.config.tenancy.default_tenant,
      namespaceMap: this.config.tenancy.namespace_map,
    });
    for (const role of order) {
      const t0 = Date.now();
      let instance: RoleInstance;
      try {
        instance = await role.start({
          config: this.config,
          logger: this.logger.child({ role: role.name }),
          http: this.http,
          otlpHttp: this.otlpHttp,
          grpc: this.grpc,
          selfMetrics: this.selfMetrics,
          tenants,
          dataDir,
          provided,
          queryPool: () => (this.queryPool ??= createQueryPool(this.config, this.logger)),
        });
      } catch (err) {
        throw new Error(`starting role ${role.name}: ${(err as Error).message}`, { cause: err });
      }
      this.started.push({ role, instance });
      Object.assign(provided, instance.provides ?? {});
      this.logger.debug({ role: role.name, ms: Date.now() - t0 }, 'role started');
    }
  }

  private async listen(): Promise<ListenAddresses> {
    const [httpHost, httpPort] = splitAddress(this.config.http_address);
    const [otlpHost, otlpPort] = splitAddress(this.config.otlp_http_address);
    await this.http.listen({ host: httpHost, port: httpPort });
    await this.otlpHttp.listen({ host: otlpHost, port: otlpPort });
    const [grpcHost, grpcPort] = splitAddress(this.config.otlp_grpc_address);
    this.grpcListener = await listenGrpc(this.grpc, grpcHost, grpcPort, grpcListenerLimits(this.config.server), this.logger);
    return {
      http: boundAddress(this.http, httpHost),
      otlpHttp: boundAddress(this.otlpHttp, otlpHost),
      otlpGrpc: formatAddress(grpcHost, this.grpcListener.port),
    };
  }

  /**
   * Drains and stops: `/ready` turns 503, listeners stop accepting, in-flight requests finish (up to
   * `server.shutdown_timeout`), then roles stop in reverse start order (closing storage cleanly).
   * Safe to call more than once.
   */
  stop(): Promise<void> {
    this.stopping ??= this.doStop();
    return this.stopping;
  }

  private async doStop(): Promise<void> {
    this.state = 'stopping';
    const timeoutMs = this.config.server.shutdown_timeout;
    await Promise.allSettled([
      // Running queries are canceled (answered 503, retryable) rather than waited for: they may run for minutes.
      this.queryPool?.close(),
      withTimeout(this.http.close(), timeoutMs),
      withTimeout(this.otlpHttp.close(), timeoutMs),
      this.grpcListener?.close(),
      shutdownGrpc(this.grpc, timeoutMs),
    ]);
    for (const { role, instance } of [...this.started].reverse()) {
      try {
        await instance.stop();
      } catch (err) {
        this.logger.error({ err, role: role.name }, 'stopping role failed');
      }
    }
    this.started.length = 0;
    this.uiRoutes?.stop();
    this.dataDir?.stop();
    await this.lock?.release().catch((err: unknown) => this.logger.error({ err }, 'releasing the data directory lock failed'));
    this.state = 'stopped';
  }
}

/** The query worker pool as `query.*` configures it; `workers: 0` is one per core, at least 2 and at most 8. */
function createQueryPool(config: HeimdallConfig, logger: Logger): QueryWorkerPool {
  const q = config.query;
  return new QueryWorkerPool({
    workers: q.workers > 0 ? q.workers : Math.min(8, Math.max(2, os.availableParallelism())),
    workerHeapBytes: q.worker_memory_limit,
    maxConcurrentPerTenant: q.max_concurrent_per_tenant,
    maxQueuedPerTenant: q.max_queued_per_tenant,
    queueTimeoutMs: q.queue_timeout,
    cancelGraceMs: q.cancel_grace_period,
    logger: logger.child({ component: 'query-pool' }),
  });
}

/**
 * The web UI's pages for the HTTP server's not-found path: files of the Vite build and `index.html` for client
 * routes; API prefixes are left to their 404. Without a build (`npm run build` never ran) `/` says so with a 503.
 */
function uiPages(logger: Logger): NonNullable<HttpServerOptions['pageFallback']> {
  const site = StaticSite.load(WEB_DIST_DIR);
  if (!site) logger.warn({ dir: WEB_DIST_DIR }, 'the web UI is not built (run npm run build); / answers 503 until it is');
  return (request, reply, path) => {
    if (!StaticSite.isPagePath(path)) return undefined;
    if (!site) return reply.code(503).type('text/plain; charset=utf-8').send(`the web UI is not built: run \`npm run build\` (expected ${WEB_DIST_DIR})`);
    return site.serve(request, reply, path);
  };
}

async function withTimeout(p: Promise<unknown>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([p, new Promise((resolve) => (timer = setTimeout(resolve, ms)))]);
  clearTimeout(timer);
}
