import path from 'node:path';
import type { Logger } from 'pino';
import type { ForwardEndpointConfig, ForwardedSignal, HeimdallConfig, MetricsForwardEndpointConfig, TracesForwardEndpointConfig } from '../config/index.ts';
import {
  ForwardMetrics,
  SignalForwarder,
  logsQueueCodec,
  lokiPushWire,
  metricsQueueCodec,
  otlpGrpcTracesWire,
  otlpHttpWire,
  profilesQueueCodec,
  pyroscopePushWire,
  remoteWriteV1Wire,
  remoteWriteV2Wire,
  tracesQueueCodec,
} from '../forward/index.ts';
import type { QueueCodec, WireFormat } from '../forward/index.ts';
import type { LogRecord, MetricRecord, Profile, SpanRecord } from '../model/index.ts';
import type { SelfMetrics } from '../selfobs/index.ts';
import type { RoleDefinition } from './role.ts';

const VERSION = process.env.npm_package_version ?? '0.1.0';

/** The signals that `gateway.forward` sends to remote endpoints (a signal with at least one endpoint). */
export function forwardedSignals(config: ForwardingConfig): ForwardedSignal[] {
  const f = config.gateway.forward;
  return (Object.keys(f) as ForwardedSignal[]).filter((s) => f[s].length > 0);
}

/**
 * The role registry as this config needs it: a forwarded signal's storage role is no dependency of the gateway,
 * so `--target gateway` with every signal forwarded opens no storage (a pure gateway). A signal without remotes
 * still needs its local engine, which the gateway then pulls in as before.
 */
export function withForwarding(registry: readonly RoleDefinition[], config: HeimdallConfig): RoleDefinition[] {
  const forwarded = new Set<string>(forwardedSignals(config));
  if (forwarded.size === 0) return [...registry];
  return registry.map((r) => (r.name === 'gateway' ? { ...r, dependsOn: r.dependsOn.filter((d) => !forwarded.has(d)) } : r));
}

/** The forwarding appendables of the forwarded signals; `stop` drains nothing (queues are durable) and closes them. */
export interface Forwarders {
  readonly metrics?: SignalForwarder<MetricRecord>;
  readonly logs?: SignalForwarder<LogRecord>;
  readonly traces?: SignalForwarder<SpanRecord>;
  readonly profiles?: SignalForwarder<Profile>;
  stop(): Promise<void>;
}

function metricsWire(e: ForwardEndpointConfig): WireFormat {
  return (e as MetricsForwardEndpointConfig).protocol === 'remote_write_v2' ? remoteWriteV2Wire : remoteWriteV1Wire;
}

function tracesWire(e: ForwardEndpointConfig): WireFormat {
  return (e as TracesForwardEndpointConfig).protocol === 'grpc' ? otlpGrpcTracesWire : otlpHttpWire;
}

/** What forwarding reads of a config: the server's and the node agent's both have these keys. */
export type ForwardingConfig = Pick<HeimdallConfig, 'data_dir'> & { readonly gateway: Pick<HeimdallConfig['gateway'], 'forward'> };

/**
 * Opens a forwarder (queues under `<data_dir>/forward/<signal>/`, one sender per endpoint) for each forwarded
 * signal; `configKey` is where the endpoints were configured (`forward` in the agent's file), for messages.
 */
export async function openForwarders(config: ForwardingConfig, selfMetrics: SelfMetrics, logger: Logger, configKey = 'gateway.forward'): Promise<Forwarders> {
  const signals = forwardedSignals(config);
  if (signals.length === 0) return { stop: async () => {} };
  const metrics = new ForwardMetrics(selfMetrics);
  const opened: { stop(): Promise<void> }[] = [];
  const open = async <R>(signal: ForwardedSignal, codec: QueueCodec<R>, wireFor: (e: ForwardEndpointConfig) => WireFormat): Promise<SignalForwarder<R> | undefined> => {
    const endpoints = config.gateway.forward[signal];
    if (endpoints.length === 0) return undefined;
    const f = await SignalForwarder.open({
      codec,
      dir: path.join(config.data_dir, 'forward', signal),
      endpoints,
      configKey,
      wireFor,
      metrics,
      logger,
      userAgent: `Heimdall/${VERSION}`,
    });
    opened.push(f);
    return f;
  };
  const stop = async (): Promise<void> => {
    await Promise.allSettled(opened.map((f) => f.stop()));
  };
  try {
    const m = await open('metrics', metricsQueueCodec, metricsWire);
    const l = await open('logs', logsQueueCodec, () => lokiPushWire);
    const t = await open('traces', tracesQueueCodec, tracesWire);
    const p = await open('profiles', profilesQueueCodec, () => pyroscopePushWire);
    logger.info({ signals }, `forwarding ${signals.join(', ')} to remote endpoints (${configKey})`);
    return { ...(m ? { metrics: m } : {}), ...(l ? { logs: l } : {}), ...(t ? { traces: t } : {}), ...(p ? { profiles: p } : {}), stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
