import { METRIC_NAME_LABEL, labelsKey } from '../model/index.ts';
import type { Labels, NotifiableAlert } from '../model/index.ts';
import { expandTemplate } from './prom-template.ts';
import type { TemplateSample } from './prom-template.ts';
import type { MatrixSeries, VectorSample } from './query-result.ts';
import type { RuleSpec } from './rule-file.ts';

/** Prometheus' alert states. An inactive alert is one that was resolved and is kept to be sent as resolved. */
export type AlertState = 'inactive' | 'pending' | 'firing';

/** One alert of an alerting rule (Prometheus' `rules.Alert`). Times in milliseconds; 0 = never. */
export interface Alert {
  labels: Labels;
  annotations: Record<string, string>;
  value: number;
  state: AlertState;
  activeAtMs: number;
  firedAtMs: number;
  resolvedAtMs: number;
  lastSentAtMs: number;
  validUntilMs: number;
  keepFiringSinceMs: number;
}

/** A sample an evaluation writes: `ALERTS`, `ALERTS_FOR_STATE`, or a recording rule's series. */
export interface OutputSample {
  readonly labels: Labels;
  readonly value: number;
}

/** What an alerting rule needs from its group for one evaluation. */
export interface AlertEvalContext {
  readonly timestampMs: number;
  readonly externalLabels: Readonly<Record<string, string>>;
  readonly externalUrl: string;
  readonly limit: number;
  /** Instant query at the evaluation time in the rule's language, for `query` in templates. */
  readonly templateQuery: (expr: string) => Promise<TemplateSample[]>;
}

/** Options of `for`-state restoration (Prometheus' `--rules.alert.for-outage-tolerance`/`for-grace-period`). */
export interface RestoreOptions {
  readonly outageToleranceMs: number;
  readonly forGracePeriodMs: number;
}

/** How long a resolved alert is kept (and resent as resolved), as Prometheus' `resolvedRetention`. */
const RESOLVED_RETENTION_MS = 15 * 60_000;

/**
 * An alerting rule with Prometheus' state machine: each result sample is an alert that turns pending, then
 * firing once it has been active for `for`; an alert gone from the result turns inactive (resolved) unless
 * `keep_firing_for` holds it firing. Not safe for concurrent evaluations (the group runs one at a time).
 */
export class AlertingRule {
  readonly name: string;
  readonly active = new Map<string, Alert>();
  /** False until `for` state was restored from `ALERTS_FOR_STATE` after a (re)start. */
  restored: boolean;

  constructor(readonly spec: RuleSpec) {
    this.name = spec.alert!;
    this.restored = spec.forMs === 0;
  }

  /**
   * Applies one evaluation's result at `ctx.timestampMs` and returns the `ALERTS`/`ALERTS_FOR_STATE` samples
   * to write (none before `for` state is restored, as Prometheus writes none on its first evaluation).
   * Throws (and clears every alert) when the result breaks the group's `limit` or labels collide.
   */
  async apply(result: readonly VectorSample[], ctx: AlertEvalContext): Promise<OutputSample[]> {
    const ts = ctx.timestampMs;
    const seen = new Map<string, Alert>();
    for (const s of result) {
      const templateLabels = withoutName(s.labels);
      const data = { labels: templateLabels, externalLabels: ctx.externalLabels, externalUrl: ctx.externalUrl, value: s.value };
      const labels: Record<string, string> = { ...templateLabels };
      for (const [k, text] of Object.entries(this.spec.labels)) {
        const v = await expandTemplate(`__alert_${this.name}`, text, data, ctx.templateQuery);
        if (v === '') delete labels[k];
        else labels[k] = v;
      }
      labels.alertname = this.name;
      const annotations: Record<string, string> = {};
      for (const [k, text] of Object.entries(this.spec.annotations)) {
        annotations[k] = await expandTemplate(`__alert_${this.name}`, text, data, ctx.templateQuery);
      }
      const key = labelsKey(labels);
      if (seen.has(key)) {
        this.active.clear();
        throw new Error('vector contains metrics with the same labelset after applying alert labels');
      }
      seen.set(key, { labels, annotations, value: s.value } as Alert);
    }

    for (const [key, fresh] of seen) {
      const a = this.active.get(key);
      if (a && a.state !== 'inactive') {
        a.value = fresh.value;
        a.annotations = fresh.annotations;
        a.labels = fresh.labels;
        continue;
      }
      this.active.set(key, {
        labels: fresh.labels,
        annotations: fresh.annotations,
        value: fresh.value,
        state: 'pending',
        activeAtMs: ts,
        firedAtMs: 0,
        resolvedAtMs: 0,
        lastSentAtMs: 0,
        validUntilMs: 0,
        keepFiringSinceMs: 0,
      });
    }

    let activeCount = 0;
    for (const [key, a] of this.active) {
      if (!seen.has(key)) {
        let keepFiring = false;
        if (a.state === 'firing' && this.spec.keepFiringForMs > 0) {
          if (a.keepFiringSinceMs === 0) a.keepFiringSinceMs = ts;
          if (ts - a.keepFiringSinceMs < this.spec.keepFiringForMs) keepFiring = true;
        }
        if (a.state === 'pending' || (a.resolvedAtMs !== 0 && ts - a.resolvedAtMs > RESOLVED_RETENTION_MS)) {
          this.active.delete(key);
        }
        if (a.state !== 'inactive' && !keepFiring) {
          a.state = 'inactive';
          a.resolvedAtMs = ts;
        }
        if (!keepFiring) continue;
      } else {
        a.keepFiringSinceMs = 0;
      }
      activeCount++;
      if (a.state === 'pending' && ts - a.activeAtMs >= this.spec.forMs) {
        a.state = 'firing';
        a.firedAtMs = ts;
      }
    }
    if (ctx.limit > 0 && activeCount > ctx.limit) {
      this.active.clear();
      throw new Error(`exceeded limit of ${ctx.limit} with ${activeCount} alerts`);
    }
    return this.restored ? this.stateSamples() : [];
  }

  /** The `ALERTS` and `ALERTS_FOR_STATE` samples of the alerts now pending or firing. */
  stateSamples(): OutputSample[] {
    const out: OutputSample[] = [];
    for (const a of this.active.values()) {
      if (a.state === 'inactive') continue;
      out.push({ labels: { ...a.labels, [METRIC_NAME_LABEL]: 'ALERTS', alertstate: a.state }, value: 1 });
      out.push({ labels: { ...a.labels, [METRIC_NAME_LABEL]: 'ALERTS_FOR_STATE' }, value: Math.floor(a.activeAtMs / 1000) });
    }
    return out;
  }

  /**
   * Restores `for` state after a restart from the `ALERTS_FOR_STATE` series of this rule (Prometheus'
   * `RestoreForState`): a pending alert that was active before keeps its activation time, moved forward by
   * the downtime, and one that would fire within the grace period gets the grace period.
   */
  restore(stored: readonly MatrixSeries[], nowMs: number, opts: RestoreOptions): void {
    const byKey = new Map<string, MatrixSeries>();
    for (const s of stored) byKey.set(labelsKey(withoutName(s.labels)), s);
    for (const [key, a] of this.active) {
      const series = byKey.get(key);
      const last = series?.points[series.points.length - 1];
      if (a.state !== 'pending' || last === undefined) continue;
      const [downAtMs, activeAtSec] = last;
      let restoredActiveAtMs = activeAtSec * 1000;
      const remainingMs = this.spec.forMs - (downAtMs - restoredActiveAtMs);
      if (remainingMs <= 0) {
        // It was already firing: keep the activation time, it fires on the next evaluation.
      } else if (remainingMs < opts.forGracePeriodMs) {
        restoredActiveAtMs = nowMs + opts.forGracePeriodMs - this.spec.forMs;
      } else {
        restoredActiveAtMs += nowMs - downAtMs;
      }
      a.activeAtMs = restoredActiveAtMs;
    }
    this.restored = true;
  }

  /**
   * The alerts due to be sent at `ts` (Prometheus' `sendAlerts`: firing ones every `resendDelayMs`, resolved
   * ones once), marking them sent. `endsAt` of a firing alert is four resend periods ahead.
   */
  alertsToSend(ts: number, resendDelayMs: number, intervalMs: number, externalLabels: Readonly<Record<string, string>>, generatorURL: string): NotifiableAlert[] {
    const out: NotifiableAlert[] = [];
    for (const a of this.active.values()) {
      if (a.state === 'pending') continue;
      // Never sent counts as sent at the zero time, long ago (Prometheus compares with a zero time.Time).
      const due = a.resolvedAtMs > a.lastSentAtMs || a.lastSentAtMs === 0 || a.lastSentAtMs + resendDelayMs < ts;
      if (!due) continue;
      if (a.state === 'firing') a.validUntilMs = ts + 4 * Math.max(resendDelayMs, intervalMs);
      a.lastSentAtMs = ts;
      out.push({
        labels: { ...externalLabels, ...a.labels },
        annotations: { ...a.annotations },
        startsAt: new Date(a.firedAtMs || a.activeAtMs).toISOString(),
        endsAt: new Date(a.resolvedAtMs !== 0 ? a.resolvedAtMs : a.validUntilMs).toISOString(),
        generatorURL,
      });
    }
    return out;
  }

  /** Takes over the alerts of the same rule from a group being replaced (Prometheus' `CopyState`). */
  copyState(from: AlertingRule): void {
    for (const [k, a] of from.active) this.active.set(k, a);
    this.restored = from.restored;
  }
}

function withoutName(labels: Labels): Record<string, string> {
  const out: Record<string, string> = { ...labels };
  delete out[METRIC_NAME_LABEL];
  return out;
}
