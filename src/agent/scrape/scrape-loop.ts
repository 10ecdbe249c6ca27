import type { Logger } from 'pino';
import type { ScrapeConfig } from '../../config/index.ts';
import { METRIC_NAME_LABEL, STALE_NAN, labelsKey } from '../../model/index.ts';
import type { Labels, MetricRecord } from '../../model/index.ts';
import { runEvery } from '../periodic.ts';
import type { Periodic } from '../periodic.ts';
import type { RecordSink } from '../record-sink.ts';
import { familyMetadata, parseExposition } from './exposition-parser.ts';
import { relabel } from './relabel.ts';
import type { CompiledRelabel } from './relabel.ts';
import type { ScrapeClient } from './scrape-client.ts';
import type { ScrapeTarget } from './scrape-target.ts';

/** What Prometheus asks for: OpenMetrics first, then the text format. */
const ACCEPT = 'application/openmetrics-text;version=1.0.0;q=0.5,text/plain;version=0.0.4;q=0.4,*/*;q=0.1';

export interface ScrapeLoopSettings {
  readonly config: ScrapeConfig;
  readonly intervalMs: number;
  readonly timeoutMs: number;
  readonly metricRelabels: readonly CompiledRelabel[];
  /** Added to every series unless it has the label (Prometheus' `external_labels` on remote_write). */
  readonly externalLabels: Labels;
  readonly sink: RecordSink;
  readonly logger: Logger;
  /** The job's HTTP(S) client (TLS settings and credentials). */
  readonly client: ScrapeClient;
}

/** The labels of a scraped series: its own merged with the target's as `honor_labels` says. */
function mergeTargetLabels(scraped: Record<string, string>, target: Labels, honor: boolean): Record<string, string> {
  const out = { ...scraped };
  for (const [k, v] of Object.entries(target)) {
    if (honor) {
      if (out[k] === undefined || out[k] === '') out[k] = v;
      continue;
    }
    const existing = out[k];
    if (existing !== undefined && existing !== '') out[`exported_${k}`] = existing;
    out[k] = v;
  }
  for (const [k, v] of Object.entries(out)) if (v === '') delete out[k];
  return out;
}

/**
 * Scrapes one target every interval, as Prometheus' scrape loop does: its samples (labels merged per
 * `honor_labels`, `metric_relabel_configs` applied, `sample_limit` enforced), the report series `up`,
 * `scrape_duration_seconds`, `scrape_samples_scraped`, `scrape_samples_post_metric_relabeling`,
 * `scrape_series_added`, and staleness markers for series that went away, for every series after a failed
 * scrape, and for everything when the target itself goes away ({@link stop}).
 */
export class ScrapeLoop {
  /** Series written by the last scrape, by key, for staleness markers. */
  private lastSeries = new Map<string, Labels>();
  private readonly periodic: Periodic;

  constructor(
    readonly target: ScrapeTarget,
    private readonly s: ScrapeLoopSettings,
  ) {
    this.periodic = runEvery(s.intervalMs, () => this.scrapeOnce(), s.logger, `scrape of ${target.url}`);
  }

  private withExternal(labels: Record<string, string>): Record<string, string> {
    for (const [k, v] of Object.entries(this.s.externalLabels)) if (labels[k] === undefined) labels[k] = v;
    return labels;
  }

  private async scrapeOnce(): Promise<void> {
    const startMs = Date.now();
    const cfg = this.s.config;
    const records: MetricRecord[] = [];
    const current = new Map<string, Labels>();
    let scraped = 0;
    let up = 1;
    try {
      const headers: Record<string, string> = { accept: ACCEPT, 'x-prometheus-scrape-timeout-seconds': String(this.s.timeoutMs / 1000), 'user-agent': 'Heimdall-agent' };
      const res = await this.s.client.get(this.target.url, headers, this.s.timeoutMs);
      if (res.status !== 200) throw new Error(`server returned HTTP status ${res.status}`);
      const openMetrics = res.contentType.startsWith('application/openmetrics-text');
      const parsed = parseExposition(res.body, openMetrics);
      scraped = parsed.samples.length;
      for (const smp of parsed.samples) {
        const merged = mergeTargetLabels(smp.labels, this.target.labels, cfg.honor_labels);
        const labels = this.s.metricRelabels.length > 0 ? relabel(merged, this.s.metricRelabels) : merged;
        if (labels === undefined || labels[METRIC_NAME_LABEL] === undefined) continue;
        this.withExternal(labels);
        const key = labelsKey(labels);
        if (current.has(key)) continue;
        current.set(key, labels);
        const timestampMs = cfg.honor_timestamps && smp.timestampMs !== undefined ? smp.timestampMs : startMs;
        const metadata = familyMetadata(parsed.metadata, labels[METRIC_NAME_LABEL]);
        records.push({ labels, samples: [{ timestampMs, value: smp.value }], ...(metadata ? { metadata } : {}) });
      }
      if (cfg.sample_limit > 0 && records.length > cfg.sample_limit) {
        throw new Error(`sample_limit exceeded: ${records.length} samples after metric relabeling, limit ${cfg.sample_limit}`);
      }
    } catch (err) {
      up = 0;
      records.length = 0;
      current.clear();
      this.s.logger.debug({ err, target: this.target.url }, `scrape failed: ${(err as Error).message}`);
    }
    let added = 0;
    for (const key of current.keys()) if (!this.lastSeries.has(key)) added++;
    for (const [key, labels] of this.lastSeries) if (!current.has(key)) records.push({ labels, samples: [{ timestampMs: startMs, value: STALE_NAN }] });
    const postRelabel = current.size;
    const report = (name: string, value: number): MetricRecord => ({
      labels: this.withExternal({ ...this.target.labels, [METRIC_NAME_LABEL]: name }),
      samples: [{ timestampMs: startMs, value }],
    });
    records.push(
      report('up', up),
      report('scrape_duration_seconds', (Date.now() - startMs) / 1000),
      report('scrape_samples_scraped', scraped),
      report('scrape_samples_post_metric_relabeling', postRelabel),
      report('scrape_series_added', added),
    );
    await this.s.sink.writeMetrics(records);
    this.lastSeries = current;
  }

  /**
   * Stops scraping. With `markStale` (the target went away) every series of the target is marked stale; the
   * agent's own shutdown does not, so a restart of the agent leaves no gap in series that go on.
   */
  async stop(markStale: boolean): Promise<void> {
    await this.periodic.stop();
    if (!markStale) return;
    const at = Date.now();
    const records: MetricRecord[] = [...this.lastSeries.values()].map((labels) => ({ labels, samples: [{ timestampMs: at, value: STALE_NAN }] }));
    for (const name of ['up', 'scrape_duration_seconds', 'scrape_samples_scraped', 'scrape_samples_post_metric_relabeling', 'scrape_series_added']) {
      records.push({ labels: this.withExternal({ ...this.target.labels, [METRIC_NAME_LABEL]: name }), samples: [{ timestampMs: at, value: STALE_NAN }] });
    }
    this.lastSeries.clear();
    await this.s.sink.writeMetrics(records);
  }
}
