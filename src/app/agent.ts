import type { Logger } from 'pino';
import { NodeAgent, RecordSink } from '../agent/index.ts';
import type { AgentConfig } from '../config/index.ts';
import { SelfMetrics } from '../selfobs/index.ts';
import { TenantResolver } from '../tenant/index.ts';
import { openForwarders } from './forwarding.ts';

/** A running node agent: its collectors and the forwarding queues they write to. */
export interface RunningAgent {
  readonly parts: readonly string[];
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
  try {
    agent = await NodeAgent.start(config, sink, logger);
  } catch (err) {
    await forwarders.stop();
    throw err;
  }
  return {
    parts: agent.partNames,
    async stop() {
      await agent.stop();
      await forwarders.stop();
    },
  };
}
