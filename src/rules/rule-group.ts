import { METRIC_NAME_LABEL, STALE_NAN, labelsKey, quoteGo } from '../model/index.ts';
import type { Labels, MetricRecord, NotifiableAlert, TenantId } from '../model/index.ts';
import type { Appendable } from '../storage/index.ts';
import { AlertingRule } from './alerting-rule.ts';
import type { OutputSample, RestoreOptions } from './alerting-rule.ts';
import type { MatrixSeries, VectorSample } from './query-result.ts';
import type { RuleGroupSpec, RuleLanguage, RuleSpec } from './rule-file.ts';

/** Runs instant queries for the ruler in a tenant's data, in either language. */
export interface RuleQuerier {
  /** An instant vector (or scalar) query in `language` at `atMs`. */
  vector(language: RuleLanguage, tenant: TenantId, expr: string, atMs: number, signal?: AbortSignal): Promise<VectorSample[]>;
  /** A PromQL range-vector selector evaluated at `atMs` (`ALERTS_FOR_STATE{...}[1h]`), for `for` restoration. */
  matrix(tenant: TenantId, expr: string, atMs: number): Promise<MatrixSeries[]>;
}

/** What every group of a ruler shares. */
export interface RuleGroupContext {
  readonly querier: RuleQuerier;
  readonly appendable: Appendable<MetricRecord>;
  readonly externalLabels: Readonly<Record<string, string>>;
  readonly externalUrl: string;
  readonly resendDelayMs: number;
  readonly restore: RestoreOptions;
  /** Receives the alerts due for sending after each evaluation (an Alertmanager client, a built-in notifier). */
  readonly notify: (tenant: TenantId, alerts: NotifiableAlert[]) => void;
  readonly onEvaluated: (group: RuleGroup, durationMs: number, failures: number) => void;
  readonly onMissed: (group: RuleGroup, missed: number) => void;
  readonly logError: (group: RuleGroup, rule: string, err: unknown) => void;
}

/** A rule's health after its last evaluation, as `/api/v1/rules` reports it. */
export interface RuleStatus {
  health: 'unknown' | 'ok' | 'err';
  lastError: string;
  lastEvaluationMs: number;
  evaluationTimeMs: number;
}

/** One rule of a running group: its spec, its status, and (for alerting rules) its alerts. */
export interface RunningRule {
  readonly spec: RuleSpec;
  readonly status: RuleStatus;
  readonly alerting?: AlertingRule;
  /** Series written by the last evaluation, to mark stale when they disappear (Prometheus' staleness). */
  previousSeries: Map<string, Labels>;
}

/** Identifies a group: tenant, where it came from, namespace (Prometheus' `file`) and name. */
export interface GroupId {
  readonly tenant: TenantId;
  readonly source: string;
  readonly namespace: string;
  readonly language: RuleLanguage;
}

/**
 * A rule group evaluated on schedule: every interval, at a per-group offset (so groups spread over the
 * interval, as Prometheus' `EvalTimestamp` does), the rules run in order; samples of all rules are appended
 * in one commit. A late evaluation skips the slots it missed and counts them. One evaluation at a time.
 */
export class RuleGroup {
  readonly rules: RunningRule[];
  readonly intervalMs: number;
  lastEvaluationMs = 0;
  lastDurationMs = 0;
  private timer?: NodeJS.Timeout;
  private running?: Promise<void>;
  private stopped = false;
  private readonly controller = new AbortController();

  constructor(
    readonly id: GroupId,
    readonly spec: RuleGroupSpec,
    defaultIntervalMs: number,
    private readonly ctx: RuleGroupContext,
  ) {
    this.intervalMs = spec.intervalMs > 0 ? spec.intervalMs : defaultIntervalMs;
    this.rules = spec.rules.map((r) => ({
      spec: r,
      status: { health: 'unknown', lastError: '', lastEvaluationMs: 0, evaluationTimeMs: 0 },
      ...(r.alert !== undefined ? { alerting: new AlertingRule(r) } : {}),
      previousSeries: new Map(),
    }));
  }

  /** Takes over alert state and staleness tracking of the same rules from the group this one replaces. */
  copyState(old: RuleGroup): void {
    const byName = new Map(old.rules.map((r) => [`${r.spec.alert ?? r.spec.record}\0${labelsKey(r.spec.labels)}`, r]));
    for (const r of this.rules) {
      const prev = byName.get(`${r.spec.alert ?? r.spec.record}\0${labelsKey(r.spec.labels)}`);
      if (!prev) continue;
      if (r.alerting && prev.alerting) r.alerting.copyState(prev.alerting);
      r.previousSeries = prev.previousSeries;
    }
  }

  /** Starts the schedule. */
  start(): void {
    this.schedule(Date.now());
  }

  /** Stops the schedule and waits for a running evaluation. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    this.controller.abort();
    await this.running;
  }

  private offsetMs(): number {
    let h = 2166136261;
    for (const c of `${this.id.tenant}\0${this.id.namespace}\0${this.spec.name}`) h = Math.imul(h ^ c.charCodeAt(0), 16777619) >>> 0;
    return h % this.intervalMs;
  }

  /** The next evaluation slot strictly after `afterMs`. */
  private nextSlot(afterMs: number): number {
    const offset = this.offsetMs();
    return Math.floor((afterMs - offset) / this.intervalMs) * this.intervalMs + offset + this.intervalMs;
  }

  private schedule(afterMs: number): void {
    if (this.stopped) return;
    const slot = this.nextSlot(afterMs);
    this.timer = setTimeout(() => {
      // query_offset evaluates the whole group that far in the past (queries, written samples and alert state).
      this.running = this.evaluate(slot - this.spec.queryOffsetMs).finally(() => {
        this.running = undefined;
        const now = Date.now();
        const missed = Math.floor((now - slot) / this.intervalMs);
        if (missed > 0) this.ctx.onMissed(this, missed);
        this.schedule(Math.max(now, slot));
      });
    }, Math.max(0, slot - Date.now()));
    this.timer.unref?.();
  }

  /** Evaluates every rule at `ts` (milliseconds), writes the samples, and hands due alerts to the notifier. */
  async evaluate(ts: number): Promise<void> {
    const t0 = performance.now();
    const { tenant } = this.id;
    const written: OutputSample[] = [];
    const alerts: NotifiableAlert[] = [];
    let failures = 0;
    for (const rule of this.rules) {
      if (this.stopped) return;
      const r0 = performance.now();
      const name = rule.spec.alert ?? rule.spec.record ?? '';
      let samples: OutputSample[] = [];
      try {
        const result = await this.ctx.querier.vector(this.id.language, tenant, rule.spec.expr, ts, this.controller.signal);
        if (rule.alerting) {
          const alerting = rule.alerting;
          samples = await alerting.apply(result, {
            timestampMs: ts,
            externalLabels: this.ctx.externalLabels,
            externalUrl: this.ctx.externalUrl,
            limit: this.spec.limit,
            templateQuery: async (expr) =>
              (await this.ctx.querier.vector(this.id.language, tenant, expr, ts)).map((s) => ({ Labels: { ...s.labels }, Value: s.value })),
          });
          if (!alerting.restored) {
            const stored = await this.ctx.querier.matrix(tenant, forStateSelector(name, this.ctx.restore.outageToleranceMs), ts);
            alerting.restore(stored, ts, this.ctx.restore);
            samples = alerting.stateSamples();
          }
          alerts.push(...alerting.alertsToSend(ts, this.ctx.resendDelayMs, this.intervalMs, this.ctx.externalLabels, this.generatorUrl(rule.spec.expr)));
        } else {
          samples = recordingSamples(rule.spec, result, this.spec.limit);
        }
        rule.status.health = 'ok';
        rule.status.lastError = '';
      } catch (err) {
        failures++;
        rule.status.health = 'err';
        rule.status.lastError = (err as Error).message;
        this.ctx.logError(this, name, err);
      }
      rule.status.lastEvaluationMs = ts;
      rule.status.evaluationTimeMs = performance.now() - r0;
      const current = new Map<string, Labels>();
      for (const s of samples) {
        current.set(labelsKey(s.labels), s.labels);
        written.push(s);
      }
      // A series the rule no longer produces gets a staleness marker, so queries stop seeing it at once.
      for (const [key, labels] of rule.previousSeries) if (!current.has(key)) written.push({ labels, value: STALE_NAN });
      rule.previousSeries = current;
    }
    try {
      await this.write(written, ts);
    } catch (err) {
      failures++;
      this.ctx.logError(this, '', err);
    }
    if (alerts.length > 0) this.ctx.notify(tenant, alerts);
    this.lastEvaluationMs = ts;
    this.lastDurationMs = performance.now() - t0;
    this.ctx.onEvaluated(this, this.lastDurationMs, failures);
  }

  private async write(samples: readonly OutputSample[], ts: number): Promise<void> {
    if (samples.length === 0) return;
    const appender = this.ctx.appendable.appender(this.id.tenant);
    for (const s of samples) {
      const outcome = appender.append({ labels: s.labels, samples: [{ timestampMs: ts, value: s.value }] });
      const rejected = outcome.rejections[0];
      if (rejected) {
        appender.rollback();
        throw new Error(`writing rule results: ${rejected.message}`);
      }
    }
    await appender.commit();
  }

  private generatorUrl(expr: string): string {
    return `${this.ctx.externalUrl.replace(/\/$/, '')}/graph?g0.expr=${encodeURIComponent(expr)}&g0.tab=1`;
  }
}

/** The series a recording rule writes: the result renamed to `record`, with the rule's labels set. */
function recordingSamples(spec: RuleSpec, result: readonly VectorSample[], limit: number): OutputSample[] {
  const out = new Map<string, OutputSample>();
  for (const s of result) {
    const labels: Record<string, string> = { ...s.labels, [METRIC_NAME_LABEL]: spec.record! };
    for (const [k, v] of Object.entries(spec.labels)) {
      if (v === '') delete labels[k];
      else labels[k] = v;
    }
    const key = labelsKey(labels);
    if (out.has(key)) throw new Error('vector contains metrics with the same labelset after applying rule labels');
    out.set(key, { labels, value: s.value });
  }
  if (limit > 0 && out.size > limit) throw new Error(`exceeded limit of ${limit} with ${out.size} series`);
  return [...out.values()];
}

function forStateSelector(alertname: string, toleranceMs: number): string {
  return `ALERTS_FOR_STATE{alertname=${quoteGo(alertname)}}[${Math.max(1, Math.round(toleranceMs / 1000))}s]`;
}
