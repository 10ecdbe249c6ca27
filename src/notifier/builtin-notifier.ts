import fsp from 'node:fs/promises';
import path from 'node:path';
import { Counter } from 'prom-client';
import type { Registry } from 'prom-client';
import type { Logger } from 'pino';
import { stringify } from 'yaml';
import type { NotifiableAlert } from '../model/index.ts';
import { parseAlertmanagerConfig } from './am-config.ts';
import type { AlertmanagerConfig } from './am-config.ts';
import { JsonStateFile } from './state-file.ts';
import { TenantAlertmanager } from './tenant-alertmanager.ts';
import type { NotifierCounters } from './tenant-alertmanager.ts';

/** Settings of the built-in notifier (`notifier.*` config). */
export interface BuiltinNotifierOptions {
  /** The Alertmanager configuration a tenant runs until it sets its own (Mimir's fallback configuration). */
  readonly config: AlertmanagerConfig;
  /** State lives under `<dir>/<tenant>/` (silences and the notification log). */
  readonly dir: string;
  readonly externalUrl: string;
  readonly retentionMs: number;
  readonly deliveryTimeoutMs: number;
  readonly retryInitialMs: number;
  readonly logger: Logger;
  readonly registry: Registry;
}

/** What the default configuration is made of (`notifier.teams`, `notifier.pagerduty_*`). */
export interface DefaultRoutingOptions {
  /** Per namespace (a team), the receiver its alerts go to, in Alertmanager's receiver syntax without `name`. */
  readonly teams: Readonly<Record<string, Record<string, unknown>>>;
  readonly pagerdutyRoutingKey?: string;
  readonly pagerdutyUrl?: string;
  readonly groupWait: string;
  readonly groupInterval: string;
  readonly repeatInterval: string;
}

/**
 * The seeds' routing written as an Alertmanager configuration: alerts are grouped by namespace and alert
 * name; `severity="critical"` pages PagerDuty (when a routing key is set) and continues, so the team hears of
 * it too; each namespace listed in `teams` goes to the receiver named after it; the rest goes to `default`,
 * which has no integration (the alerts stay visible in the API and the UI). The text is a valid Alertmanager
 * file: the same routing moves to a real Alertmanager unchanged.
 */
export function defaultAlertmanagerConfig(o: DefaultRoutingOptions): string {
  const routes: Record<string, unknown>[] = [];
  const receivers: Record<string, unknown>[] = [{ name: 'default' }];
  if (o.pagerdutyRoutingKey) {
    routes.push({ matchers: ['severity="critical"'], receiver: 'pagerduty', continue: true });
    receivers.push({ name: 'pagerduty', pagerduty_configs: [{ routing_key: o.pagerdutyRoutingKey, ...(o.pagerdutyUrl ? { url: o.pagerdutyUrl } : {}) }] });
  }
  for (const [namespace, receiver] of Object.entries(o.teams)) {
    routes.push({ matchers: [`namespace=${JSON.stringify(namespace)}`], receiver: namespace });
    receivers.push({ name: namespace, ...receiver });
  }
  return stringify({
    route: {
      receiver: 'default',
      group_by: ['namespace', 'alertname'],
      group_wait: o.groupWait,
      group_interval: o.groupInterval,
      repeat_interval: o.repeatInterval,
      ...(routes.length > 0 ? { routes } : {}),
    },
    receivers,
  });
}

/** A tenant's own configuration as Mimir's `/api/v1/alerts` takes and returns it. */
export interface TenantAlertmanagerConfig {
  readonly alertmanager_config: string;
  readonly template_files: Readonly<Record<string, string>>;
}

/**
 * Alertmanager inside Heimdall: one {@link TenantAlertmanager} per tenant (opened on first use, state under
 * `dir/<tenant>`), each running its own configuration when it set one through Mimir's API (durable in
 * `dir/<tenant>/config.json`), else the configuration of the options. The ruler hands it alerts with {@link send}; the
 * Alertmanager v2 API under `/alertmanager/api/v2` reaches tenants through {@link tenant}.
 */
export class BuiltinNotifier {
  private readonly tenants = new Map<string, Promise<TenantAlertmanager>>();
  private readonly configFiles = new Map<string, JsonStateFile<TenantAlertmanagerConfig>>();
  private readonly counters: NotifierCounters;
  private stopped = false;

  constructor(private readonly options: BuiltinNotifierOptions) {
    const registers = [options.registry];
    const notifications = new Counter({ name: 'heimdall_alertmanager_notifications_total', help: 'Notifications attempted by the built-in notifier (after retries).', labelNames: ['integration'], registers });
    const failed = new Counter({ name: 'heimdall_alertmanager_notifications_failed_total', help: 'Notifications that failed after every retry.', labelNames: ['integration'], registers });
    const requests = new Counter({ name: 'heimdall_alertmanager_notification_requests_total', help: 'Delivery attempts (each retry counts).', labelNames: ['integration'], registers });
    const requestsFailed = new Counter({ name: 'heimdall_alertmanager_notification_requests_failed_total', help: 'Delivery attempts that failed.', labelNames: ['integration'], registers });
    const suppressed = new Counter({
      name: 'heimdall_alertmanager_alerts_suppressed_total',
      help: 'Alerts a group flush held back from its receiver, by reason (Alertmanager: alertmanager_notifications_suppressed_total).',
      labelNames: ['reason'],
      registers,
    });
    for (const integration of ['webhook', 'slack', 'pagerduty', 'email', 'discord', 'msteams', 'msteamsv2', 'opsgenie', 'webex']) {
      for (const c of [notifications, failed, requests, requestsFailed]) c.inc({ integration }, 0);
    }
    this.counters = {
      notification(integration, outcome) {
        notifications.inc({ integration });
        if (outcome === 'failed') failed.inc({ integration });
      },
      request(integration, outcome) {
        requests.inc({ integration });
        if (outcome === 'failed') requestsFailed.inc({ integration });
      },
      suppressed(reason, alerts) {
        suppressed.inc({ reason }, alerts);
      },
    };
  }

  get config(): AlertmanagerConfig {
    return this.options.config;
  }

  /** The tenant's Alertmanager, opening its state on first use. */
  tenant(tenant: string): Promise<TenantAlertmanager> {
    let t = this.tenants.get(tenant);
    if (!t) {
      t = this.open(tenant);
      this.tenants.set(tenant, t);
      t.catch(() => this.tenants.delete(tenant));
    }
    return t;
  }

  /** The tenant's own configuration, or undefined when it runs the fallback one. */
  async userConfig(tenant: string): Promise<TenantAlertmanagerConfig | undefined> {
    return this.configFile(tenant).load();
  }

  /**
   * Validates and stores the tenant's own configuration, then runs it. Throws {@link AlertmanagerConfigError}
   * (nothing stored) when it does not parse.
   */
  async setUserConfig(tenant: string, config: TenantAlertmanagerConfig): Promise<void> {
    const parsed = parseAlertmanagerConfig(config.alertmanager_config, { templateFiles: config.template_files });
    const am = await this.tenant(tenant);
    await this.configFile(tenant).save(() => config);
    am.reconfigure(parsed);
  }

  /** Forgets the tenant's own configuration: it runs the fallback one again. */
  async deleteUserConfig(tenant: string): Promise<void> {
    const am = await this.tenant(tenant);
    await fsp.rm(this.configFile(tenant).file, { force: true });
    am.reconfigure(this.options.config);
  }

  /** One state file per tenant, so its saves are serialized (two POSTs at once never race on the file). */
  private configFile(tenant: string): JsonStateFile<TenantAlertmanagerConfig> {
    let f = this.configFiles.get(tenant);
    if (!f) this.configFiles.set(tenant, (f = new JsonStateFile(path.join(this.options.dir, encodeURIComponent(tenant), 'config.json'))));
    return f;
  }

  private async open(tenant: string): Promise<TenantAlertmanager> {
    const own = await this.userConfig(tenant);
    let config = this.options.config;
    if (own) {
      try {
        config = parseAlertmanagerConfig(own.alertmanager_config, { templateFiles: own.template_files });
      } catch (err) {
        // It parsed when it was stored; a newer Heimdall may refuse it. The tenant keeps being notified.
        this.options.logger.error({ tenant, err: (err as Error).message }, 'the tenant\'s Alertmanager configuration no longer loads; running the fallback configuration');
      }
    }
    return TenantAlertmanager.open(tenant, path.join(this.options.dir, encodeURIComponent(tenant)), config, {
      externalUrl: this.options.externalUrl,
      retentionMs: this.options.retentionMs,
      deliveryTimeoutMs: this.options.deliveryTimeoutMs,
      retryInitialMs: this.options.retryInitialMs,
      logger: this.options.logger,
      counters: this.counters,
    });
  }

  /** Opens the tenants that have state on disk, so their silences apply before the first alert. */
  async openExisting(): Promise<void> {
    await fsp.mkdir(this.options.dir, { recursive: true });
    for (const d of await fsp.readdir(this.options.dir, { withFileTypes: true })) {
      if (d.isDirectory()) await this.tenant(decodeURIComponent(d.name));
    }
  }

  /** Hands alerts from the ruler to the tenant's Alertmanager (as its `POST /api/v2/alerts`). */
  send(tenant: string, alerts: readonly NotifiableAlert[]): void {
    if (this.stopped) return;
    this.tenant(tenant).then(
      (t) => {
        const problems = t.put(alerts);
        if (problems.length > 0) this.options.logger.warn({ tenant, problems }, 'the built-in notifier refused alerts');
      },
      (err: unknown) => this.options.logger.error({ tenant, err: (err as Error).message }, 'opening the notifier state failed'),
    );
  }

  async stop(): Promise<void> {
    this.stopped = true;
    const all = await Promise.allSettled(this.tenants.values());
    await Promise.all(all.map((r) => (r.status === 'fulfilled' ? r.value.stop() : undefined)));
  }
}
