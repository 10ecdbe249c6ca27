import type { Logger } from 'pino';
import type { HostCollectorName } from '../../config/index.ts';
import { METRIC_NAME_LABEL } from '../../model/index.ts';
import type { MetricRecord } from '../../model/index.ts';
import { filesystemCollector, timeCollector } from './fs-time-collectors.ts';
import type { HostCollector, HostEnv, HostSample } from './host-sample.ts';
import { sample } from './host-sample.ts';
import { cpuCollector, diskstatsCollector, loadavgCollector, meminfoCollector, netdevCollector, pressureCollector, statCollector, vmstatCollector } from './proc-collectors.ts';

const COLLECTORS: Record<HostCollectorName, HostCollector> = {
  cpu: cpuCollector,
  meminfo: meminfoCollector,
  loadavg: loadavgCollector,
  filesystem: filesystemCollector,
  diskstats: diskstatsCollector,
  netdev: netdevCollector,
  stat: statCollector,
  pressure: pressureCollector,
  vmstat: vmstatCollector,
  time: timeCollector,
};

/**
 * Runs the named collectors once, as one node_exporter scrape: their samples plus
 * `node_scrape_collector_success` and `node_scrape_collector_duration_seconds` per collector (a collector that
 * fails reports success 0 and nothing else, the others are unaffected).
 */
export async function collectHost(env: HostEnv, names: readonly HostCollectorName[], logger?: Logger): Promise<HostSample[]> {
  const out: HostSample[] = [];
  for (const collector of names) {
    const started = performance.now();
    let ok = 1;
    try {
      out.push(...(await COLLECTORS[collector](env)));
    } catch (err) {
      ok = 0;
      logger?.warn({ err, collector }, `host metrics collector ${collector} failed: ${(err as Error).message}`);
    }
    out.push(
      sample('node_scrape_collector_duration_seconds', 'gauge', 'node_exporter: Duration of a collector scrape.', (performance.now() - started) / 1000, { collector }),
      sample('node_scrape_collector_success', 'gauge', 'node_exporter: Whether a collector succeeded.', ok, { collector }),
    );
  }
  return out;
}

/** Samples as metric records at `timestampMs`, with `job` and `instance` as a scrape of node_exporter would carry. */
export function hostRecords(samples: readonly HostSample[], timestampMs: number, target: { job: string; instance: string }): MetricRecord[] {
  return samples.map((s) => ({
    labels: { ...s.labels, job: target.job, instance: target.instance, [METRIC_NAME_LABEL]: s.name },
    samples: [{ timestampMs, value: s.value }],
    metadata: { type: s.type, help: s.help, unit: '' },
  }));
}
