import type { Logger } from 'pino';
import type { ScrapeConfig } from '../../config/index.ts';
import type { Labels } from '../../model/index.ts';
import type { RecordSink } from '../record-sink.ts';
import { compileRelabels } from './relabel.ts';
import type { CompiledRelabel } from './relabel.ts';
import { ScrapeClient } from './scrape-client.ts';
import { ScrapeLoop } from './scrape-loop.ts';
import { populateTarget } from './scrape-target.ts';

/** One scrape config's compiled parts. */
interface Job {
  readonly config: ScrapeConfig;
  readonly intervalMs: number;
  readonly timeoutMs: number;
  readonly relabels: readonly CompiledRelabel[];
  readonly metricRelabels: readonly CompiledRelabel[];
  /** Running loops by target key. */
  readonly loops: Map<string, ScrapeLoop>;
  readonly client: ScrapeClient;
}

export interface ScrapeDefaults {
  readonly scrapeIntervalMs: number;
  readonly scrapeTimeoutMs: number;
  readonly externalLabels: Labels;
}

/**
 * Runs the scrape configs: discovery hands it each job's discovered label sets (static configs once,
 * Kubernetes discovery on every refresh), it relabels them into targets and keeps one {@link ScrapeLoop} per
 * target, starting loops for new targets and stopping (with staleness markers) those that went away.
 */
export class ScrapeManager {
  private readonly jobs = new Map<string, Job>();

  constructor(
    configs: readonly ScrapeConfig[],
    private readonly defaults: ScrapeDefaults,
    private readonly sink: RecordSink,
    private readonly logger: Logger,
  ) {
    for (const config of configs) {
      const intervalMs = config.scrape_interval ?? defaults.scrapeIntervalMs;
      const timeoutMs = Math.min(config.scrape_timeout ?? defaults.scrapeTimeoutMs, intervalMs);
      this.jobs.set(config.job_name, {
        config,
        intervalMs,
        timeoutMs,
        relabels: compileRelabels(config.relabel_configs),
        metricRelabels: compileRelabels(config.metric_relabel_configs),
        loops: new Map(),
        client: new ScrapeClient(config),
      });
    }
  }

  /** The static targets of a job as discovered label sets (`__address__` plus the group's labels). */
  static staticGroups(config: ScrapeConfig): Labels[] {
    return config.static_configs.flatMap((g) => g.targets.map((t) => ({ ...g.labels, __address__: t })));
  }

  /** Replaces the targets of `jobName` with what `discovered` relabels into. */
  async sync(jobName: string, discovered: readonly Labels[]): Promise<void> {
    const job = this.jobs.get(jobName);
    if (job === undefined) return;
    const wanted = new Map<string, ReturnType<typeof populateTarget> & object>();
    for (const d of discovered) {
      const t = populateTarget(d, job.config, job.intervalMs, job.timeoutMs, job.relabels);
      if (t !== undefined) wanted.set(t.key, t);
    }
    const gone = [...job.loops].filter(([key]) => !wanted.has(key));
    for (const [key] of gone) job.loops.delete(key);
    for (const [key, target] of wanted) {
      if (job.loops.has(key)) continue;
      job.loops.set(
        key,
        new ScrapeLoop(target, {
          config: job.config,
          intervalMs: job.intervalMs,
          timeoutMs: job.timeoutMs,
          metricRelabels: job.metricRelabels,
          externalLabels: this.defaults.externalLabels,
          sink: this.sink,
          logger: this.logger,
          client: job.client,
        }),
      );
    }
    await Promise.all(gone.map(([, loop]) => loop.stop(true)));
  }

  /** Every job's current targets (for logs and tests). */
  targets(): { job: string; url: string; labels: Labels }[] {
    return [...this.jobs].flatMap(([job, j]) => [...j.loops.values()].map((l) => ({ job, url: l.target.url, labels: l.target.labels })));
  }

  async stop(): Promise<void> {
    const loops = [...this.jobs.values()].flatMap((j) => [...j.loops.values()]);
    for (const j of this.jobs.values()) j.loops.clear();
    await Promise.allSettled(loops.map((l) => l.stop(false)));
    for (const j of this.jobs.values()) j.client.close();
  }
}
