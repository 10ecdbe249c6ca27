import os from 'node:os';
import path from 'node:path';
import type { Logger } from 'pino';
import type { AgentConfig } from '../config/index.ts';
import { compileRe2 } from '../model/index.ts';
import type { Labels } from '../model/index.ts';
import { collectHost, hostRecords } from './host/host-metrics.ts';
import type { HostEnv } from './host/host-sample.ts';
import { KubernetesEvents } from './events/kubernetes-events.ts';
import { logTargetDiscovery } from './logs/log-sources.ts';
import { LogTailer } from './logs/log-tailer.ts';
import { PodLabels } from './logs/pod-labels.ts';
import { Positions } from './logs/positions.ts';
import { runEvery } from './periodic.ts';
import { KubernetesDiscovery } from './scrape/kubernetes-discovery.ts';
import { ScrapeManager } from './scrape/scrape-manager.ts';
import type { RecordSink } from './record-sink.ts';

/** A part of the agent that runs on its own schedule. */
interface AgentPart {
  readonly name: string;
  stop(): Promise<void>;
}

/**
 * The node agent (the DaemonSet role): tails pod and system logs, collects host metrics and scrapes
 * Prometheus targets, writing everything to a {@link RecordSink}. Parts whose signal has nowhere to go stay off.
 */
export class NodeAgent {
  private constructor(
    private readonly parts: readonly AgentPart[],
    private readonly logger: Logger,
  ) {}

  /** The node name: the config's, or the host name (a DaemonSet passes `spec.nodeName` as `HEIMDALL_NODE_NAME`). */
  static nodeName(config: AgentConfig): string {
    return config.node_name ?? os.hostname();
  }

  static async start(config: AgentConfig, sink: RecordSink, logger: Logger): Promise<NodeAgent> {
    const parts: AgentPart[] = [];
    const node = NodeAgent.nodeName(config);
    try {
      if (sink.sendsLogs && (config.pod_logs.enabled || config.system_logs.paths.length > 0)) {
        const positions = await Positions.load(path.join(config.data_dir, 'positions.json'));
        let podLabels: PodLabels | undefined;
        const api = config.pod_logs.kubernetes_api;
        if (config.pod_logs.enabled && api.enabled) {
          const labels = new PodLabels(api, node);
          podLabels = labels;
          const labelsLogger = logger.child({ part: 'pod_labels' });
          // The first answer comes before tailing starts, so a pod's streams carry its API labels from its first line.
          await labels.refresh().catch((err: unknown) => labelsLogger.warn({ err }, `listing this node's pods failed (labels from the path until it works): ${(err as Error).message}`));
          const loop = runEvery(api.refresh_interval, () => labels.refresh(), labelsLogger, "listing this node's pods for their labels", api.refresh_interval);
          parts.push({ name: 'pod_labels', stop: () => loop.stop() });
        }
        const tailer = new LogTailer({
          discover: logTargetDiscovery({
            podsDir: config.pod_logs.enabled ? config.pod_logs.pods_dir : path.join(config.data_dir, 'no-pod-logs'),
            node,
            defaultLogSource: config.pod_logs.default_log_source,
            systemLogPaths: config.system_logs.paths,
            maxLineBytes: config.tailing.max_line_bytes,
            ...(podLabels !== undefined ? { podLabels: (uid: string) => podLabels.get(uid) } : {}),
          }),
          send: (records) => sink.writeLogs(records),
          positions,
          pollIntervalMs: config.tailing.poll_interval,
          maxReadBytesPerPoll: config.tailing.max_read_bytes_per_poll,
          logger: logger.child({ part: 'logs' }),
        });
        tailer.start();
        parts.push({ name: 'logs', stop: () => tailer.stop() });
      }
      if (sink.sendsLogs && config.kubernetes_events.enabled) {
        const events = new KubernetesEvents(config.kubernetes_events, (records) => sink.writeLogs(records), logger.child({ part: 'kubernetes_events' }));
        events.start();
        parts.push({ name: 'kubernetes_events', stop: () => events.stop() });
      }
      if (sink.sendsMetrics && config.host_metrics.enabled) {
        const h = config.host_metrics;
        const env = hostEnv(config);
        const hostLogger = logger.child({ part: 'host_metrics' });
        const loop = runEvery(
          h.interval,
          async () => {
            const at = Date.now();
            const samples = await collectHost(env, h.collectors, hostLogger);
            await sink.writeMetrics(hostRecords(samples, at, { job: h.job, instance: node }));
          },
          hostLogger,
          'host metrics collection',
        );
        parts.push({ name: 'host_metrics', stop: () => loop.stop() });
      }
      if (sink.sendsMetrics && config.scrape_configs.length > 0) {
        const manager = new ScrapeManager(
          config.scrape_configs,
          { scrapeIntervalMs: config.global.scrape_interval, scrapeTimeoutMs: config.global.scrape_timeout, externalLabels: config.global.external_labels },
          sink,
          logger.child({ part: 'scrape' }),
        );
        parts.push({ name: 'scrape', stop: () => manager.stop() });
        for (const sc of config.scrape_configs) {
          const staticGroups = ScrapeManager.staticGroups(sc);
          // The last good list of each discovery: a failed refresh keeps the targets it had.
          const latest: Labels[][] = sc.kubernetes_sd_configs.map(() => []);
          const syncJob = (): Promise<void> => manager.sync(sc.job_name, [...staticGroups, ...latest.flat()]);
          await syncJob();
          for (const [i, sd] of sc.kubernetes_sd_configs.entries()) {
            const discovery = new KubernetesDiscovery(sd);
            const loop = runEvery(
              sd.refresh_interval,
              async () => {
                latest[i] = await discovery.discover();
                await syncJob();
              },
              logger.child({ part: 'discovery', job: sc.job_name, role: sd.role }),
              `kubernetes discovery (role ${sd.role}) of job ${sc.job_name}`,
            );
            parts.push({ name: `kubernetes_sd:${sc.job_name}:${sd.role}`, stop: () => loop.stop() });
          }
        }
      }
    } catch (err) {
      for (const p of parts.reverse()) await p.stop().catch(() => undefined);
      throw err;
    }
    return new NodeAgent(parts, logger);
  }

  /** The parts running, for the ready line. */
  get partNames(): string[] {
    return this.parts.map((p) => p.name);
  }

  /** Stops the parts in reverse start order (discovery before the scrape loops it feeds). */
  async stop(): Promise<void> {
    for (const p of [...this.parts].reverse()) {
      try {
        await p.stop();
      } catch (err) {
        this.logger.error({ err, part: p.name }, 'an agent part failed to stop cleanly');
      }
    }
  }
}

/** The host paths and node_exporter filters of `host_metrics`. */
export function hostEnv(config: AgentConfig): HostEnv {
  const h = config.host_metrics;
  return {
    procRoot: h.proc_root,
    sysRoot: h.sys_root,
    rootfsRoot: h.rootfs_root,
    mountPointsExclude: compileRe2(h.mount_points_exclude),
    fsTypesExclude: compileRe2(h.fs_types_exclude),
    diskDeviceExclude: compileRe2(h.disk_device_exclude),
    vmstatFields: compileRe2(h.vmstat_fields),
  };
}
