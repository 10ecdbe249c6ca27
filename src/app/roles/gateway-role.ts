import { InflightBudget, UNSUPPORTED_OTLP_SIGNALS, registerLogsIngest, registerMetricsIngest, registerUnsupportedOtlp } from '../../gateway/index.ts';
import type { GatewayDeps } from '../../gateway/index.ts';
import type { RoleModule } from '../role.ts';

/**
 * The ingest endpoints of every signal (remote_write, OTLP HTTP and gRPC, Loki push), with one in-flight
 * write budget across them; OTLP traces and profiles answer "not supported yet" until their engines land.
 * In one process it appends to the local engines, which it therefore depends on; forwarding to remote
 * engines over the same protocols (the split deployment) is not built yet.
 */
export const gatewayRole: RoleModule = {
  async start(ctx) {
    const { metricsStorage, logsStorage } = ctx.provided;
    if (!metricsStorage || !logsStorage) {
      throw new Error('the gateway needs the metrics and logs roles in the same process');
    }
    const deps: GatewayDeps = {
      http: ctx.http,
      otlpHttp: ctx.otlpHttp,
      grpc: ctx.grpc,
      tenants: ctx.tenants,
      selfMetrics: ctx.selfMetrics,
      logger: ctx.logger,
      inflight: new InflightBudget(ctx.config.server.max_inflight_push_bytes),
    };
    await registerMetricsIngest(deps, metricsStorage, ctx.config.metrics.max_decompressed_bytes);
    await registerLogsIngest(deps, logsStorage, ctx.config.logs);
    for (const signal of UNSUPPORTED_OTLP_SIGNALS) await registerUnsupportedOtlp(deps, signal);
    return { stop: async () => {} };
  },
};
