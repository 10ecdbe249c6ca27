import path from 'node:path';
import type { Logger } from 'pino';
import type { AlertmanagerConfig, Integration, Route } from './am-config.ts';
import { DeliveryError, deliver } from './integrations.ts';
import { fingerprint, formatLabelSet, matchesAll } from './matchers.ts';
import { NotificationLog, needsUpdate } from './notification-log.ts';
import type { AlertData, NotificationData, NotificationTemplates } from './notification-templates.ts';
import { Silences } from './silences.ts';
import { routeTimeMutes } from './time-intervals.ts';

/** An alert as a client posts it (Alertmanager's `PostableAlert`). */
export interface PostableAlert {
  readonly labels: Readonly<Record<string, string>>;
  readonly annotations?: Readonly<Record<string, string>>;
  readonly startsAt?: string;
  readonly endsAt?: string;
  readonly generatorURL?: string;
}

/** An alert held by the notifier. */
export interface HeldAlert {
  readonly fingerprint: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly annotations: Readonly<Record<string, string>>;
  readonly startsAtMs: number;
  readonly endsAtMs: number;
  readonly generatorURL: string;
  readonly updatedAtMs: number;
}

/** Counters the notifier keeps across tenants (`heimdall_alertmanager_*`). */
export interface NotifierCounters {
  notification(integration: string, outcome: 'sent' | 'failed'): void;
  request(integration: string, outcome: 'ok' | 'failed'): void;
  /** Alerts a flush held back, by Alertmanager's reason (`silence`, `inhibition`, `mute_time_interval`, `active_time_interval`). */
  suppressed(reason: string, alerts: number): void;
}

/** Settings shared by every tenant's notifier. */
export interface TenantAlertmanagerOptions {
  readonly externalUrl: string;
  readonly retentionMs: number;
  readonly deliveryTimeoutMs: number;
  /** First retry delay of a failed delivery; doubled on each retry up to 30 s (bounded by the group interval). */
  readonly retryInitialMs: number;
  readonly logger: Logger;
  readonly counters: NotifierCounters;
}

interface AggregationGroup {
  readonly route: Route;
  readonly key: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly alerts: Map<string, HeldAlert>;
  timer?: NodeJS.Timeout;
  hasFlushed: boolean;
  flushing?: Promise<void>;
}

/**
 * One tenant's Alertmanager: holds the alerts posted to it, routes them through the route tree into
 * aggregation groups, and flushes each group on Alertmanager's timers (`group_wait` after the group appears,
 * then every `group_interval`), dropping inhibited and silenced alerts and notifying each integration of the
 * group's receiver only when the notification log says something changed or `repeat_interval` passed.
 * Failed deliveries are retried with exponential backoff until the group interval is over; the next flush
 * tries again. Silences and the notification log are durable under `dir`; alerts are not (as in Alertmanager,
 * senders resend firing alerts, and the log keeps them from being notified twice).
 */
export class TenantAlertmanager {
  private readonly alerts = new Map<string, HeldAlert>();
  private readonly groups = new Map<string, AggregationGroup>();
  private stopped = false;
  private readonly stopController = new AbortController();

  private constructor(
    readonly tenant: string,
    private config: AlertmanagerConfig,
    readonly silences: Silences,
    private readonly nflog: NotificationLog,
    private readonly options: TenantAlertmanagerOptions,
  ) {}

  static async open(tenant: string, dir: string, config: AlertmanagerConfig, options: TenantAlertmanagerOptions): Promise<TenantAlertmanager> {
    const silences = await Silences.open(path.join(dir, 'silences.json'), options.retentionMs);
    const nflog = await NotificationLog.open(path.join(dir, 'nflog.json'), options.retentionMs);
    return new TenantAlertmanager(tenant, config, silences, nflog, options);
  }

  get currentConfig(): AlertmanagerConfig {
    return this.config;
  }

  /**
   * Takes alerts as `POST /api/v2/alerts` does: a missing `startsAt` is now, a missing `endsAt` is now plus
   * `resolve_timeout`; an alert already held with an overlapping time range is merged (earliest start, the
   * newest end). Returns the problems of alerts that were refused (no labels, bad label names or times).
   */
  put(posted: readonly PostableAlert[], nowMs = Date.now()): string[] {
    const problems: string[] = [];
    for (const [i, p] of posted.entries()) {
      const problem = checkAlert(p);
      if (problem) {
        problems.push(`alert ${i}: ${problem}`);
        continue;
      }
      const startsAtMs = p.startsAt ? Date.parse(p.startsAt) : nowMs;
      const endsAtMs = p.endsAt && !p.endsAt.startsWith('0001-') ? Date.parse(p.endsAt) : Math.max(startsAtMs, nowMs) + this.config.resolveTimeoutMs;
      const fp = fingerprint(p.labels);
      const old = this.alerts.get(fp);
      const overlaps = old !== undefined && old.endsAtMs >= startsAtMs && old.startsAtMs <= endsAtMs;
      const alert: HeldAlert = {
        fingerprint: fp,
        labels: { ...p.labels },
        annotations: { ...(p.annotations ?? {}) },
        startsAtMs: overlaps ? Math.min(old.startsAtMs, startsAtMs) : startsAtMs,
        endsAtMs,
        generatorURL: p.generatorURL ?? '',
        updatedAtMs: nowMs,
      };
      this.alerts.set(fp, alert);
      this.route(alert, nowMs);
    }
    return problems;
  }

  /** Every held alert with what mutes it, for `GET /api/v2/alerts`. */
  list(nowMs = Date.now()): { alert: HeldAlert; receivers: string[]; silencedBy: string[]; inhibitedBy: string[] }[] {
    this.gc(nowMs);
    return [...this.alerts.values()].map((alert) => ({
      alert,
      receivers: [...new Set(matchRoutes(this.config.route, alert.labels).map((r) => r.receiver))],
      silencedBy: this.silences.mutes(alert.labels, nowMs),
      inhibitedBy: this.inhibitedBy(alert, nowMs),
    }));
  }

  /**
   * The aggregation groups with their alerts (for `GET /api/v2/alerts/groups`): each group's route, labels and
   * the time intervals muting its route now, alerts as {@link list} gives them.
   */
  alertGroups(nowMs = Date.now()): { route: Route; labels: Readonly<Record<string, string>>; mutedBy: string[]; alerts: ReturnType<TenantAlertmanager['list']> }[] {
    const byFingerprint = new Map(this.list(nowMs).map((x) => [x.alert.fingerprint, x]));
    const out: ReturnType<TenantAlertmanager['alertGroups']> = [];
    for (const g of this.groups.values()) {
      const alerts = [...g.alerts.keys()].flatMap((fp) => byFingerprint.get(fp) ?? []);
      const { inactive, muting } = routeTimeMutes(g.route, this.config.timeIntervals, nowMs);
      out.push({ route: g.route, labels: g.labels, mutedBy: [...inactive, ...muting], alerts });
    }
    return out;
  }

  /** Replaces the configuration: groups are rebuilt from the held alerts (as Alertmanager's reload). */
  reconfigure(config: AlertmanagerConfig): void {
    this.config = config;
    for (const g of this.groups.values()) clearTimeout(g.timer);
    this.groups.clear();
    const now = Date.now();
    for (const a of this.alerts.values()) this.route(a, now);
  }

  /** Stops the timers and waits for running flushes (their retries end at once). */
  async stop(): Promise<void> {
    this.stopped = true;
    this.stopController.abort();
    for (const g of this.groups.values()) clearTimeout(g.timer);
    await Promise.all([...this.groups.values()].map((g) => g.flushing));
  }

  private route(alert: HeldAlert, nowMs: number): void {
    if (this.stopped) return;
    for (const route of matchRoutes(this.config.route, alert.labels)) {
      const labels: Record<string, string> = {};
      if (route.groupBy === 'all') Object.assign(labels, alert.labels);
      else for (const n of route.groupBy) if (alert.labels[n] !== undefined && alert.labels[n] !== '') labels[n] = alert.labels[n]!;
      const key = `${route.key}:${formatLabelSet(labels)}`;
      let group = this.groups.get(key);
      if (!group) {
        group = { route, key, labels, alerts: new Map(), hasFlushed: false };
        this.groups.set(key, group);
        this.schedule(group, route.groupWaitMs);
      }
      group.alerts.set(alert.fingerprint, alert);
      // An alert that started longer than group_wait ago is not held back (Alertmanager flushes at once).
      if (!group.hasFlushed && alert.startsAtMs + route.groupWaitMs < nowMs) this.schedule(group, 0);
    }
  }

  private schedule(group: AggregationGroup, delayMs: number): void {
    if (this.stopped) return;
    clearTimeout(group.timer);
    group.timer = setTimeout(() => {
      group.timer = undefined;
      if (group.flushing) return this.schedule(group, group.route.groupIntervalMs);
      group.flushing = this.flush(group)
        .catch((err: unknown) => this.options.logger.error({ tenant: this.tenant, group: group.key, err: (err as Error).message }, 'alert group flush failed'))
        .finally(() => {
          group.flushing = undefined;
          if (group.alerts.size === 0) this.groups.delete(group.key);
          else this.schedule(group, group.route.groupIntervalMs);
        });
    }, delayMs);
  }

  private async flush(group: AggregationGroup): Promise<void> {
    group.hasFlushed = true;
    const nowMs = Date.now();
    const snapshot = [...group.alerts.values()].map((a) => this.alerts.get(a.fingerprint) ?? a);
    const live = snapshot.filter((a) => this.inhibitedBy(a, nowMs).length === 0);
    // Alertmanager's order: inhibition, the route's time intervals, then silences. A muted flush succeeds
    // without notifying and without logging, so the firing alerts are notified once the mute is over.
    const { inactive, muting } = routeTimeMutes(group.route, this.config.timeIntervals, nowMs);
    const muted = inactive.length > 0 || muting.length > 0;
    if (snapshot.length > live.length) this.options.counters.suppressed('inhibition', snapshot.length - live.length);
    if (muted && live.length > 0) this.options.counters.suppressed(inactive.length > 0 ? 'active_time_interval' : 'mute_time_interval', live.length);
    const visible = muted ? [] : live.filter((a) => this.silences.mutes(a.labels, nowMs).length === 0);
    if (!muted && live.length > visible.length) this.options.counters.suppressed('silence', live.length - visible.length);
    const receiver = this.config.receivers.get(group.route.receiver);
    let allDelivered = true;
    if (receiver && visible.length > 0) {
      const results = await Promise.all(receiver.integrations.map((integration, i) => this.notify(group, receiver.name, integration, i, visible, nowMs)));
      allDelivered = results.every(Boolean);
    }
    if (!allDelivered) return;
    // Resolved alerts that were part of a delivered flush and not updated since leave the group.
    for (const a of snapshot) {
      const cur = this.alerts.get(a.fingerprint);
      if (a.endsAtMs <= nowMs && (!cur || cur.updatedAtMs === a.updatedAtMs)) group.alerts.delete(a.fingerprint);
    }
    this.gc(nowMs);
  }

  /** Runs one integration's dedup, delivery with retries and logging; true when nothing is left to do. */
  private async notify(group: AggregationGroup, receiver: string, integration: Integration, index: number, alerts: readonly HeldAlert[], nowMs: number): Promise<boolean> {
    const firing = new Set(alerts.filter((a) => a.endsAtMs > nowMs).map((a) => a.fingerprint));
    const resolved = new Set(alerts.filter((a) => a.endsAtMs <= nowMs).map((a) => a.fingerprint));
    const integrationKey = `${receiver}/${integration.kind}/${index}`;
    const entry = this.nflog.get(group.key, integrationKey, nowMs);
    if (!needsUpdate(entry, firing, resolved, integration.sendResolved, group.route.repeatIntervalMs, nowMs)) return true;
    const toSend = integration.sendResolved ? alerts : alerts.filter((a) => firing.has(a.fingerprint));
    if (toSend.length > 0) {
      const data = notificationData(receiver, group.labels, toSend, nowMs, this.options.externalUrl, this.config.templates);
      const ok = await this.deliverWithRetry(integration, data, group);
      this.options.counters.notification(integration.kind, ok ? 'sent' : 'failed');
      if (!ok) return false;
    }
    await this.nflog.log(group.key, integrationKey, { firing: [...firing], resolved: [...resolved], timestampMs: nowMs });
    return true;
  }

  private async deliverWithRetry(integration: Integration, data: NotificationData, group: AggregationGroup): Promise<boolean> {
    const deadline = Date.now() + group.route.groupIntervalMs;
    let delayMs = this.options.retryInitialMs;
    for (let attempt = 1; ; attempt++) {
      try {
        await deliver(integration, data, { groupKey: group.key, timeoutMs: this.options.deliveryTimeoutMs });
        this.options.counters.request(integration.kind, 'ok');
        return true;
      } catch (err) {
        this.options.counters.request(integration.kind, 'failed');
        const retryable = err instanceof DeliveryError ? err.retryable : true;
        const log = { tenant: this.tenant, receiver: data.receiver, integration: integration.kind, attempt, err: (err as Error).message };
        if (!retryable || this.stopped || Date.now() + delayMs >= deadline) {
          this.options.logger.warn(log, retryable ? 'notification failed; the next group flush tries again' : 'notification failed and is not retryable');
          return false;
        }
        this.options.logger.info(log, 'notification failed; retrying');
        await sleep(delayMs, this.stopController.signal);
        delayMs = Math.min(delayMs * 2, 30_000);
      }
    }
  }

  /** Fingerprints of the firing alerts that inhibit `alert` (an alert never inhibits itself). */
  private inhibitedBy(alert: HeldAlert, nowMs: number): string[] {
    const by = new Set<string>();
    for (const rule of this.config.inhibitRules) {
      if (!matchesAll(rule.target, alert.labels)) continue;
      // An alert matching both sides is inhibited only by sources that do not also match the target.
      const twoSided = matchesAll(rule.source, alert.labels);
      for (const src of this.alerts.values()) {
        if (src.fingerprint === alert.fingerprint || src.endsAtMs <= nowMs || !matchesAll(rule.source, src.labels)) continue;
        if (twoSided && matchesAll(rule.target, src.labels)) continue;
        if (rule.equal.every((n) => (src.labels[n] ?? '') === (alert.labels[n] ?? ''))) by.add(src.fingerprint);
      }
    }
    return [...by].sort();
  }

  /** Drops resolved alerts no group holds any more (Alertmanager's alert GC). */
  private gc(nowMs: number): void {
    const held = new Set<string>();
    for (const g of this.groups.values()) for (const fp of g.alerts.keys()) held.add(fp);
    for (const [fp, a] of this.alerts) if (a.endsAtMs <= nowMs && !held.has(fp)) this.alerts.delete(fp);
  }
}

/** The routes an alert goes to: the deepest matching routes, siblings after a match only with `continue`. */
function matchRoutes(route: Route, labels: Readonly<Record<string, string>>): Route[] {
  if (!matchesAll(route.matchers, labels)) return [];
  const out: Route[] = [];
  for (const child of route.routes) {
    const m = matchRoutes(child, labels);
    out.push(...m);
    if (m.length > 0 && !child.continue) break;
  }
  return out.length > 0 ? out : [route];
}

function notificationData(
  receiver: string,
  groupLabels: Readonly<Record<string, string>>,
  alerts: readonly HeldAlert[],
  nowMs: number,
  externalUrl: string,
  templates: NotificationTemplates,
): NotificationData {
  const data: AlertData[] = alerts.map((a) => ({
    status: a.endsAtMs <= nowMs ? 'resolved' : 'firing',
    labels: a.labels,
    annotations: a.annotations,
    startsAt: new Date(a.startsAtMs).toISOString(),
    endsAt: new Date(a.endsAtMs).toISOString(),
    generatorURL: a.generatorURL,
    fingerprint: a.fingerprint,
  }));
  const common = (pick: (a: AlertData) => Readonly<Record<string, string>>): Record<string, string> => {
    const out: Record<string, string> = { ...pick(data[0]!) };
    for (const a of data.slice(1)) for (const k of Object.keys(out)) if (pick(a)[k] !== out[k]) delete out[k];
    return out;
  };
  return {
    receiver,
    status: data.some((a) => a.status === 'firing') ? 'firing' : 'resolved',
    alerts: data,
    groupLabels,
    commonLabels: common((a) => a.labels),
    commonAnnotations: common((a) => a.annotations),
    externalURL: externalUrl,
    templates,
  };
}

const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

function checkAlert(p: PostableAlert): string | undefined {
  if (p === null || typeof p !== 'object' || p.labels === null || typeof p.labels !== 'object') return 'labels missing';
  const names = Object.keys(p.labels);
  if (names.length === 0) return 'at least one label pair required';
  for (const n of names) {
    if (!LABEL_NAME.test(n)) return `invalid label name ${JSON.stringify(n)}`;
    if (typeof p.labels[n] !== 'string') return `label ${n}: value must be a string`;
  }
  for (const k of ['startsAt', 'endsAt'] as const) {
    const v = p[k];
    if (v !== undefined && (typeof v !== 'string' || Number.isNaN(Date.parse(v)))) return `${k} is not an RFC 3339 time`;
  }
  if (p.startsAt && p.endsAt && !p.endsAt.startsWith('0001-') && Date.parse(p.endsAt) < Date.parse(p.startsAt)) return 'start time must be before end time';
  return undefined;
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const t = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => {
      clearTimeout(t);
      resolve();
    }, { once: true });
  });
}
