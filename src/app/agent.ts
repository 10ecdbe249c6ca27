import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import { NodeAgent, RecordSink } from '../agent/index.ts';
import type { AgentConfig } from '../config/index.ts';
import { SelfMetrics } from '../selfobs/index.ts';
import { TenantResolver } from '../tenant/index.ts';
import { openForwarders } from './forwarding.ts';
import { splitAddress } from './listen-address.ts';

/** A running node agent: its collectors and the forwarding queues they write to. */
export interface RunningAgent {
  readonly parts: readonly string[];
  /** Where the agent's own `/metrics` is served (`self_metrics.listen_address`, its port resolved), if anywhere. */
  readonly selfMetricsAddress: string | undefined;
  stop(): Promise<void>;
}

/**
 * Composes the node agent: the forwarding queues of `forward` (the gateway's machinery, queues under
 * `<data_dir>/forward/`), a sink that gives each record its namespace's tenant, and the collectors.
 */
export async function launchAgent(config: AgentConfig, logger: Logger): Promise<RunningAgent> {
  const selfMetrics = new SelfMetrics();
  const forwarders = await openForwarders({ data_dir: config.data_dir, gateway: { forward: config.forward } }, selfMetrics, logger, 'forward');
  const tenants = new TenantResolver({
    multitenancy: true,
    fromNamespace: true,
    defaultTenant: config.tenancy.default_tenant,
    namespaceMap: config.tenancy.namespace_map,
  });
  const sink = new RecordSink(tenants, logger, forwarders.metrics, forwarders.logs);
  let agent: NodeAgent;
  let server: http.Server | undefined;
  try {
    agent = await NodeAgent.start(config, sink, logger);
  } catch (err) {
    await forwarders.stop();
    throw err;
  }
  try {
    if (config.self_metrics.listen_address !== '') server = await serveSelfMetrics(config.self_metrics.listen_address, selfMetrics);
  } catch (err) {
    await agent.stop();
    await forwarders.stop();
    throw err;
  }
  const addr = server?.address() as AddressInfo | undefined;
  return {
    parts: agent.partNames,
    selfMetricsAddress: addr === undefined ? undefined : `${addr.address}:${addr.port}`,
    async stop() {
      if (server !== undefined) await new Promise<void>((resolve) => server.close(() => resolve()));
      await agent.stop();
      await forwarders.stop();
    },
  };
}

/** Serves the agent's self-metrics (Prometheus text format) on `GET /metrics` at `address`; anything else is a 404. */
async function serveSelfMetrics(address: string, selfMetrics: SelfMetrics): Promise<http.Server> {
  const server = http.createServer((req, res) => {
    if (req.method !== 'GET' || (req.url ?? '').split('?')[0] !== '/metrics') {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('the agent serves only GET /metrics\n');
      return;
    }
    selfMetrics.registry.metrics().then(
      (text) => res.writeHead(200, { 'content-type': selfMetrics.registry.contentType }).end(text),
      (err: unknown) => res.writeHead(500, { 'content-type': 'text/plain' }).end(`collecting self-metrics failed: ${(err as Error).message}\n`),
    );
  });
  server.keepAliveTimeout = 5000;
  const [host, port] = splitAddress(address);
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err) => reject(new Error(`self_metrics.listen_address ${address}: ${err.message}`, { cause: err })));
    server.listen(port, host, resolve);
  });
  return server;
}
