import { limitsForTenant } from '../../config/index.ts';
import {
  InflightBudget,
  UNSUPPORTED_OTLP_SIGNALS,
  registerLogsIngest,
  registerMetricsIngest,
  registerFaroReceiver,
  registerProfilesIngest,
  registerTracesIngest,
  registerUnsupportedOtlp,
} from '../../gateway/index.ts';
import type { GatewayDeps } from '../../gateway/index.ts';
import { teeCommittedSpans } from '../../metricsgen/index.ts';
import type { FastifyInstance } from 'fastify';
import { openForwarders } from '../forwarding.ts';
import { createHttpServer } from '../http-server.ts';
import { boundAddress, splitAddress } from '../listen-address.ts';
import { httpListenerLimits } from '../listener-limits.ts';
import { startMetricsGenerator } from '../metrics-generator.ts';
import type { RoleModule } from '../role.ts';

/**
 * The ingest endpoints of every signal (remote_write, OTLP HTTP and gRPC, Loki push, Zipkin, Pyroscope `/ingest` and Push,
 * Faro `/collect`), with one
 * in-flight write budget across them; OTLP profiles answer "not supported yet" until their engine lands.
 * A signal listed in `gateway.forward` is written to an on-disk queue per remote endpoint and sent from there
 * (remote_write, Loki push, OTLP, Pyroscope push); any other signal goes to its local engine, which the gateway then depends on.
 * Committed spans also feed the metrics-generator when traces are stored locally (with traces forwarded, the
 * backend that stores them generates their metrics, as Tempo's generator does).
 */
export const gatewayRole: RoleModule = {
  async start(ctx) {
    const forwarders = await openForwarders(ctx.config, ctx.selfMetrics, ctx.logger);
    let faroServer: FastifyInstance | undefined;
    try {
      const metrics = forwarders.metrics ?? ctx.provided.metricsStorage;
      const logs = forwarders.logs ?? ctx.provided.logsStorage;
      const tracesStorage = ctx.provided.tracesStorage;
      if (!metrics || !logs || !(forwarders.traces ?? tracesStorage)) {
        throw new Error('the gateway needs, for each signal not in gateway.forward, its storage role in the same process');
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
      const generator = forwarders.traces || !tracesStorage ? undefined : startMetricsGenerator(traces, metrics, ctx.selfMetrics, ctx.logger);
      const tracesAppendable =
        forwarders.traces ?? teeCommittedSpans(tracesStorage!, (tenant, records) => generator?.consume(tenant, records));
      await registerMetricsIngest(deps, metrics, ctx.config.metrics.max_decompressed_bytes);
      const logsIngest = await registerLogsIngest(deps, logs, ctx.config.logs);
      const tracesIngest = await registerTracesIngest(deps, {
        appendable: tracesAppendable,
        maxDecompressedBytes: traces.max_decompressed_bytes,
        limitsFor: (tenant) => limitsForTenant(traces, tenant),
        traceIdleMs: traces.store.trace_idle_period,
      });
      const profiles = forwarders.profiles ?? ctx.provided.profilesStorage;
      if (profiles) await registerProfilesIngest(deps, profiles, ctx.config.profiles);
      for (const signal of UNSUPPORTED_OTLP_SIGNALS) await registerUnsupportedOtlp(deps, signal);
      // The Faro receiver answers on the HTTP address and, when configured, on a listener of its own (Alloy's :12347).
      const faro = ctx.config.faro;
      if (faro.listen_address !== '') {
        faroServer = await createHttpServer({
          name: 'faro',
          logger: ctx.logger,
          selfMetrics: ctx.selfMetrics,
          maxRequestBodyBytes: Math.max(faro.max_allowed_payload_size, 1),
          limits: httpListenerLimits(ctx.config.server),
        });
      }
      await registerFaroReceiver(deps, faroServer ? [ctx.http, faroServer] : [ctx.http], { logs: logsIngest, traces: tracesIngest }, faro);
      if (faroServer) {
        const [host, port] = splitAddress(faro.listen_address);
        await faroServer.listen({ host, port });
        ctx.logger.info({ faro: boundAddress(faroServer, host) }, `Faro receiver listening on ${boundAddress(faroServer, host)} (POST /collect)`);
      }
      const listener = faroServer;
      return {
        // Stops before the storage roles (it started after them): the generator's last collection is written while
        // the metrics store is open, then the forwarding queues close (what is unsent stays on disk for the next start).
        async stop() {
          await listener?.close();
          await generator?.stop();
          await forwarders.stop();
        },
      };
    } catch (err) {
      await faroServer?.close();
      await forwarders.stop();
      throw err;
    }
  },
};
