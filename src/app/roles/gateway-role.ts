import { limitsForTenant } from '../../config/index.ts';
import {
  InflightBudget,
  UNSUPPORTED_OTLP_SIGNALS,
  registerLogsIngest,
  registerMetricsIngest,
  registerTracesIngest,
  registerUnsupportedOtlp,
} from '../../gateway/index.ts';
import type { GatewayDeps } from '../../gateway/index.ts';
import { teeCommittedSpans } from '../../metricsgen/index.ts';
import { startMetricsGenerator } from '../metrics-generator.ts';
import type { RoleModule } from '../role.ts';

/**
 * The ingest endpoints of every signal (remote_write, OTLP HTTP and gRPC, Loki push, Zipkin), with one
 * in-flight write budget across them; OTLP profiles answer "not supported yet" until their engine lands.
 * Committed spans also feed the metrics-generator, which writes span metrics and service graphs to the
 * metrics store. In one process it appends to the local engines, which it therefore depends on; forwarding
 * to remote engines over the same protocols (the split deployment) is not built yet.
 */
export const gatewayRole: RoleModule = {
  async start(ctx) {
    const { metricsStorage, logsStorage, tracesStorage } = ctx.provided;
    if (!metricsStorage || !logsStorage || !tracesStorage) {
      throw new Error('the gateway needs the metrics, logs and traces roles in the same process');
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
    const traces = ctx.config.traces;
    const generator = startMetricsGenerator(traces, metricsStorage, ctx.selfMetrics, ctx.logger);
    await registerMetricsIngest(deps, metricsStorage, ctx.config.metrics.max_decompressed_bytes);
    await registerLogsIngest(deps, logsStorage, ctx.config.logs);
    await registerTracesIngest(deps, {
      appendable: teeCommittedSpans(tracesStorage, (tenant, records) => generator.consume(tenant, records)),
      maxDecompressedBytes: traces.max_decompressed_bytes,
      limitsFor: (tenant) => limitsForTenant(traces, tenant),
      traceIdleMs: traces.store.trace_idle_period,
    });
    for (const signal of UNSUPPORTED_OTLP_SIGNALS) await registerUnsupportedOtlp(deps, signal);
    // Stops before the metrics role (it started after it): the last collection is written while the store is open.
    return { stop: () => generator.stop() };
  },
};
