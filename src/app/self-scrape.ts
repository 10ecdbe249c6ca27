import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { labelsKey, METRIC_NAME_LABEL, STALE_NAN } from '../model/index.ts';
import type { Labels, MetricRecord, MetricType, TenantId } from '../model/index.ts';
import type { Appendable } from '../storage/index.ts';

/** What the self-scrape writes where, and how the target is named (as a Prometheus scrape config would name it). */
export interface SelfScrapeOptions {
  readonly registry: Registry;
  readonly metrics: Appendable<MetricRecord>;
  readonly tenant: TenantId;
  readonly intervalMs: number;
  readonly job: string;
  /** The target's `instance` label: the HTTP address `/metrics` is served on, known once the server listens. */
  readonly instance: () => string;
  readonly logger: Logger;
  readonly now?: () => number;
}

/** The prom-client shape of one metric family (`Registry.getMetricsAsJSON()`). */
interface FamilyJson {
  readonly name: string;
  readonly help: string;
  readonly type: string;
  readonly values: ReadonlyArray<{ readonly labels: Readonly<Record<string, string | number>>; readonly value: number; readonly metricName?: string }>;
}

const FAMILY_TYPES: ReadonlySet<string> = new Set(['counter', 'gauge', 'histogram', 'summary']);

/**
 * Turns one reading of the registry into series records at `timestampMs`, each labelled with `job` and
 * `instance` as Prometheus labels a scraped target (a label of the same name in the metric is kept as
 * `exported_<name>`, Prometheus' `honor_labels: false`). Histograms and summaries become their `_bucket`,
 * `_sum`, `_count` (and quantile) series, as the text exposition shows them.
 */
export function recordsFromFamilies(families: readonly FamilyJson[], target: Labels, timestampMs: number): MetricRecord[] {
  const records: MetricRecord[] = [];
  for (const family of families) {
    const type = (FAMILY_TYPES.has(family.type) ? family.type : 'unknown') as MetricType;
    const metadata = { type, help: family.help, unit: '' };
    for (const v of family.values) {
      const labels: Record<string, string> = { [METRIC_NAME_LABEL]: v.metricName ?? family.name };
      for (const [k, val] of Object.entries(v.labels)) labels[k in target ? `exported_${k}` : k] = String(val);
      Object.assign(labels, target);
      records.push({ labels, samples: [{ timestampMs, value: v.value }], metadata });
    }
  }
  return records;
}

/**
 * Heimdall scraping its own `/metrics` into its own TSDB, as a Prometheus pointed at it would: every interval
 * it reads the self-metrics registry (the text `/metrics` serves), writes each series with `job` and
 * `instance`, adds `up`, `scrape_duration_seconds`, `scrape_samples_scraped` and
 * `scrape_series_added`, and writes a staleness marker for a series that disappeared since the previous
 * scrape. It reads the registry in process (no HTTP round trip, so no authentication or listener is needed).
 * A failed write is logged and the next scrape writes again; `stop` waits for a running scrape.
 */
export class SelfScraper {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> = Promise.resolve();
  private previous = new Map<string, Labels>();
  private readonly now: () => number;

  constructor(private readonly opts: SelfScrapeOptions) {
    this.now = opts.now ?? Date.now;
  }

  /** Starts scraping every interval; the first scrape follows one interval after start, as in Prometheus. */
  start(): void {
    this.timer = setInterval(() => {
      this.running = this.running.then(() => this.scrapeOnce());
    }, this.opts.intervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.running;
  }

  /** One scrape and write; never rejects (a failure is logged and counts as `up` 0). */
  async scrapeOnce(): Promise<void> {
    const startedMs = this.now();
    const target: Labels = { job: this.opts.job, instance: this.opts.instance() };
    let records: MetricRecord[] = [];
    let up = 1;
    try {
      records = recordsFromFamilies((await this.opts.registry.getMetricsAsJSON()) as unknown as FamilyJson[], target, startedMs);
    } catch (err) {
      up = 0;
      this.opts.logger.warn({ err }, 'self-scrape: reading the self-metrics registry failed; up is 0 for this scrape');
    }
    const current = new Map(records.map((r) => [labelsKey(r.labels), r.labels]));
    const stale: MetricRecord[] = [];
    for (const [key, labels] of this.previous) {
      if (!current.has(key)) stale.push({ labels, samples: [{ timestampMs: startedMs, value: STALE_NAN }] });
    }
    const added = [...current.keys()].filter((k) => !this.previous.has(k)).length;
    const synthetic = (name: string, value: number, help: string): MetricRecord => ({
      labels: { [METRIC_NAME_LABEL]: name, ...target },
      samples: [{ timestampMs: startedMs, value }],
      metadata: { type: 'gauge', help, unit: '' },
    });
    const all = [
      ...records,
      ...stale,
      synthetic('up', up, 'Whether the last scrape of the target succeeded (1) or failed (0).'),
      synthetic('scrape_duration_seconds', (this.now() - startedMs) / 1000, 'How long the scrape took.'),
      synthetic('scrape_samples_scraped', records.length, 'Samples the target exposed.'),
      synthetic('scrape_series_added', added, 'Series new since the previous scrape.'),
    ];
    const appender = this.opts.metrics.appender(this.opts.tenant);
    try {
      let refused = 0;
      for (const r of all) refused += appender.append(r).rejections.length;
      // A tenant's limits (e.g. max_global_series_per_user) can refuse self-metrics; say so rather than lose them silently.
      if (refused > 0) this.opts.logger.warn({ refused, tenant: this.opts.tenant }, 'self-scrape: the tenant\'s limits refused some self-metrics series');
      await appender.commit();
      this.previous = current;
    } catch (err) {
      appender.rollback();
      this.opts.logger.warn({ err, tenant: this.opts.tenant }, 'self-scrape: writing the scraped samples failed; the next scrape writes again');
    }
  }
}
