import { existsSync, readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { parsePromDuration } from '../model/index.ts';
import { amMatcher, formatMatchers, parseMatchers } from './matchers.ts';
import type { AmMatcher } from './matchers.ts';
import { NotificationTemplates } from './notification-templates.ts';
import { TimeIntervalError, parseTimeInterval } from './time-intervals.ts';
import type { TimeInterval } from './time-intervals.ts';

/** A node of the routing tree, with the settings it inherits already filled in. */
export interface Route {
  readonly receiver: string;
  /** Label names alerts are grouped by; `all` is Alertmanager's `group_by: ['...']` (every label). */
  readonly groupBy: readonly string[] | 'all';
  readonly groupWaitMs: number;
  readonly groupIntervalMs: number;
  readonly repeatIntervalMs: number;
  readonly matchers: readonly AmMatcher[];
  readonly continue: boolean;
  /** Names of time intervals in which this route sends nothing (not inherited by child routes, as in Alertmanager). */
  readonly muteTimeIntervals: readonly string[];
  /** Names of time intervals outside of which this route sends nothing; empty = always active. */
  readonly activeTimeIntervals: readonly string[];
  readonly routes: readonly Route[];
  /** Alertmanager's route key (`{}/{namespace="a"}`), the prefix of group keys. */
  readonly key: string;
}

/** HTTP client settings of a receiver (`http_config`): the authentication parts. */
export interface HttpAuth {
  readonly authorization?: string;
}

export interface WebhookIntegration {
  readonly kind: 'webhook';
  readonly sendResolved: boolean;
  readonly url: string;
  readonly maxAlerts: number;
  readonly http: HttpAuth;
}
export interface SlackIntegration {
  readonly kind: 'slack';
  readonly sendResolved: boolean;
  readonly apiUrl: string;
  readonly channel?: string;
  /** Templates given in the config; a missing one uses Alertmanager's default template. */
  readonly templates: Partial<Record<'username' | 'title' | 'title_link' | 'text' | 'pretext' | 'fallback' | 'footer' | 'color' | 'icon_emoji' | 'icon_url' | 'callback_id', string>>;
  readonly http: HttpAuth;
}
export interface PagerdutyIntegration {
  readonly kind: 'pagerduty';
  readonly sendResolved: boolean;
  readonly url: string;
  readonly routingKey: string;
  readonly templates: Partial<Record<'description' | 'client' | 'client_url' | 'severity' | 'source' | 'class' | 'component' | 'group', string>>;
  readonly details: Readonly<Record<string, string>>;
  readonly http: HttpAuth;
}
export interface EmailIntegration {
  readonly kind: 'email';
  readonly sendResolved: boolean;
  readonly to: string;
  readonly from: string;
  readonly smarthost: { host: string; port: number };
  readonly hello: string;
  readonly authUsername?: string;
  readonly authPassword?: string;
  readonly requireTls: boolean;
  readonly headers: Readonly<Record<string, string>>;
  readonly html?: string;
  readonly text?: string;
}
/** Discord, Microsoft Teams (Office 365 connector, `msteams`), Teams Workflows (`msteamsv2`) and Webex: a URL and message templates. */
export interface ChatIntegration {
  readonly kind: 'discord' | 'msteams' | 'msteamsv2' | 'webex';
  readonly sendResolved: boolean;
  /** The URL, or the file it is read from at each send (`webhook_url_file`). */
  readonly webhookUrl: { readonly url: string } | { readonly file: string };
  /** Field templates; every one has a default (`discord.default.title`, `msteams.default.text`, ...). */
  readonly templates: Readonly<Record<string, string>>;
  /** Discord's `username` and `avatar_url` (plain strings, not templates, as in Alertmanager). */
  readonly username?: string;
  readonly avatarUrl?: string;
  readonly http: HttpAuth;
}
/** Opsgenie's Alert API v2: create while any alert fires (alias = the group key's hash), close when all resolved. */
export interface OpsgenieIntegration {
  readonly kind: 'opsgenie';
  readonly sendResolved: boolean;
  /** Base URL ending in `/` (`https://api.opsgenie.com/`). */
  readonly apiUrl: string;
  readonly apiKey: { readonly key: string } | { readonly file: string };
  /** Field templates: message, description, source (with defaults), entity, actions, tags, note, priority. */
  readonly templates: Readonly<Record<string, string>>;
  readonly details: Readonly<Record<string, string>>;
  readonly responders: readonly { readonly id?: string; readonly name?: string; readonly username?: string; readonly type: string }[];
  readonly updateAlerts: boolean;
  readonly http: HttpAuth;
}
export type Integration = WebhookIntegration | SlackIntegration | PagerdutyIntegration | EmailIntegration | ChatIntegration | OpsgenieIntegration;

export interface Receiver {
  readonly name: string;
  readonly integrations: readonly Integration[];
}

export interface InhibitRule {
  readonly source: readonly AmMatcher[];
  readonly target: readonly AmMatcher[];
  readonly equal: readonly string[];
}

/** A parsed Alertmanager configuration (the subset the built-in notifier runs), with its original text. */
export interface AlertmanagerConfig {
  readonly route: Route;
  readonly receivers: ReadonlyMap<string, Receiver>;
  readonly inhibitRules: readonly InhibitRule[];
  /** Named time intervals (`time_intervals` and the deprecated `mute_time_intervals` sections). */
  readonly timeIntervals: ReadonlyMap<string, readonly TimeInterval[]>;
  /** Alertmanager's default templates plus the `define`s of the `templates:` files. */
  readonly templates: NotificationTemplates;
  readonly resolveTimeoutMs: number;
  readonly original: string;
}

/** A configuration that does not parse or uses what the built-in notifier does not run; the message names it. */
export class AlertmanagerConfigError extends Error {}

type Obj = Record<string, unknown>;

const RECEIVER_KINDS = ['webhook_configs', 'slack_configs', 'pagerduty_configs', 'email_configs', 'discord_configs', 'msteams_configs', 'msteamsv2_configs', 'opsgenie_configs', 'webex_configs'];

/** The message fields of the chat receivers and their default templates (Alertmanager's). */
const CHAT_FIELDS = {
  discord: { title: '{{ template "discord.default.title" . }}', message: '{{ template "discord.default.message" . }}', content: '{{ template "discord.default.content" . }}' },
  msteams: { title: '{{ template "msteams.default.title" . }}', summary: '{{ template "msteams.default.summary" . }}', text: '{{ template "msteams.default.text" . }}' },
  msteamsv2: { title: '{{ template "msteamsv2.default.title" . }}', text: '{{ template "msteamsv2.default.text" . }}' },
  webex: { message: '{{ template "webex.default.message" . }}', room_id: '' },
} as const;

/**
 * Parses Alertmanager's YAML configuration. Throws {@link AlertmanagerConfigError} naming the problem.
 * `templates:` entries name files under `baseDir` (the config file's directory, as in Alertmanager), or, when
 * `templateFiles` is given (a tenant's configuration from Mimir's API), entries of that map by name.
 */
export function parseAlertmanagerConfig(text: string, source: { readonly baseDir?: string; readonly templateFiles?: Readonly<Record<string, string>> } = {}): AlertmanagerConfig {
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (err) {
    throw new AlertmanagerConfigError(`alertmanager config: ${(err as Error).message}`, { cause: err });
  }
  const root = obj(doc, 'the configuration');
  known(root, ['global', 'route', 'receivers', 'inhibit_rules', 'templates', 'time_intervals', 'mute_time_intervals'], 'the configuration');
  const global = root['global'] === undefined ? {} : obj(root['global'], 'global');
  known(
    global,
    ['resolve_timeout', 'slack_api_url', 'pagerduty_url', 'opsgenie_api_url', 'opsgenie_api_key', 'opsgenie_api_key_file', 'webex_api_url', 'smtp_from', 'smtp_smarthost', 'smtp_hello', 'smtp_auth_username', 'smtp_auth_password', 'smtp_require_tls', 'http_config'],
    'global',
  );
  const receivers = new Map<string, Receiver>();
  for (const [i, r] of list(root['receivers'], 'receivers').entries()) {
    const rec = parseReceiver(obj(r, `receivers[${i}]`), global);
    if (receivers.has(rec.name)) throw new AlertmanagerConfigError(`receivers: "${rec.name}" is defined twice`);
    receivers.set(rec.name, rec);
  }
  if (root['route'] === undefined) throw new AlertmanagerConfigError('no route provided in config');
  const top = obj(root['route'], 'route');
  if (top['matchers'] !== undefined || top['match'] !== undefined || top['match_re'] !== undefined) {
    throw new AlertmanagerConfigError('root route must not have any matchers');
  }
  if (typeof top['receiver'] !== 'string' || top['receiver'] === '') throw new AlertmanagerConfigError('root route must specify a default receiver');
  if (list(top['mute_time_intervals'], 'route.mute_time_intervals').length > 0) throw new AlertmanagerConfigError('root route must not have any mute time intervals');
  if (list(top['active_time_intervals'], 'route.active_time_intervals').length > 0) throw new AlertmanagerConfigError('root route must not have any active time intervals');
  const timeIntervals = parseTimeIntervals(root);
  const templates = new NotificationTemplates();
  for (const [i, pattern] of list(root['templates'], 'templates').entries()) {
    const files = source.templateFiles
      ? templateFilesNamed(str(pattern, `templates[${i}]`), source.templateFiles)
      : globFiles(str(pattern, `templates[${i}]`), source.baseDir ?? process.cwd()).map((file) => ({ name: path.basename(file), read: () => readFileSync(file, 'utf8') }));
    for (const { name, read } of files) {
      try {
        templates.addFile(name, read());
      } catch (err) {
        throw new AlertmanagerConfigError(`templates[${i}] ${name}: ${(err as Error).message}`, { cause: err });
      }
    }
  }
  const defaults = { receiver: '', groupBy: [] as readonly string[] | 'all', groupWaitMs: 30_000, groupIntervalMs: 300_000, repeatIntervalMs: 4 * 3600_000, key: '' };
  const route = parseRoute(top, defaults, 'route', receivers, timeIntervals);
  const inhibitRules = list(root['inhibit_rules'], 'inhibit_rules').map((r, i) => parseInhibit(obj(r, `inhibit_rules[${i}]`), `inhibit_rules[${i}]`));
  return {
    route,
    receivers,
    inhibitRules,
    timeIntervals,
    templates,
    resolveTimeoutMs: duration(global['resolve_timeout'] ?? '5m', 'global.resolve_timeout'),
    original: text,
  };
}

/** The named intervals of both sections; a name may appear once across them (Alertmanager's check). */
function parseTimeIntervals(root: Obj): Map<string, TimeInterval[]> {
  const out = new Map<string, TimeInterval[]>();
  for (const section of ['mute_time_intervals', 'time_intervals'] as const) {
    for (const [i, entry] of list(root[section], section).entries()) {
      const where = `${section}[${i}]`;
      const o = obj(entry, where);
      known(o, ['name', 'time_intervals'], where);
      const name = str(o['name'], `${where}.name`);
      if (name === '') throw new AlertmanagerConfigError(`${where}: missing name in ${section === 'time_intervals' ? 'time' : 'mute time'} interval`);
      if (out.has(name)) throw new AlertmanagerConfigError(`${section === 'time_intervals' ? 'time' : 'mute time'} interval "${name}" is not unique`);
      out.set(
        name,
        list(o['time_intervals'], `${where}.time_intervals`).map((ti, j) => {
          try {
            return parseTimeInterval(ti);
          } catch (err) {
            if (err instanceof TimeIntervalError) throw new AlertmanagerConfigError(`${where}.time_intervals[${j}]: ${err.message}`, { cause: err });
            throw err;
          }
        }),
      );
    }
  }
  return out;
}

function intervalNames(v: unknown, where: string, timeIntervals: ReadonlyMap<string, unknown>): string[] {
  return list(v, where).map((n, i) => {
    const name = str(n, `${where}[${i}]`);
    if (!timeIntervals.has(name)) throw new AlertmanagerConfigError(`undefined time interval "${name}" used in route`);
    return name;
  });
}

function parseRoute(
  r: Obj,
  parent: Pick<Route, 'receiver' | 'groupBy' | 'groupWaitMs' | 'groupIntervalMs' | 'repeatIntervalMs' | 'key'>,
  where: string,
  receivers: Map<string, Receiver>,
  timeIntervals: ReadonlyMap<string, unknown>,
): Route {
  known(r, ['receiver', 'group_by', 'group_wait', 'group_interval', 'repeat_interval', 'matchers', 'match', 'match_re', 'continue', 'routes', 'mute_time_intervals', 'active_time_intervals'], where);
  const receiver = r['receiver'] === undefined ? parent.receiver : str(r['receiver'], `${where}.receiver`);
  if (!receivers.has(receiver)) throw new AlertmanagerConfigError(`${where}: undefined receiver "${receiver}" used in route`);
  const matchers: AmMatcher[] = [];
  for (const [i, m] of list(r['matchers'], `${where}.matchers`).entries()) {
    try {
      matchers.push(...parseMatchers(str(m, `${where}.matchers[${i}]`)));
    } catch (err) {
      throw new AlertmanagerConfigError(`${where}.matchers[${i}]: ${(err as Error).message}`, { cause: err });
    }
  }
  for (const [key, op] of [['match', '='], ['match_re', '=~']] as const) {
    if (r[key] === undefined) continue;
    for (const [name, value] of Object.entries(obj(r[key], `${where}.${key}`))) {
      try {
        matchers.push(amMatcher(name, op, String(value)));
      } catch (err) {
        throw new AlertmanagerConfigError(`${where}.${key}.${name}: ${(err as Error).message}`, { cause: err });
      }
    }
  }
  matchers.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : a.op < b.op ? -1 : a.op > b.op ? 1 : a.value < b.value ? -1 : a.value > b.value ? 1 : 0));
  let groupBy = parent.groupBy;
  if (r['group_by'] !== undefined) {
    const names = list(r['group_by'], `${where}.group_by`).map((n, i) => str(n, `${where}.group_by[${i}]`));
    if (names.includes('...')) {
      if (names.length > 1) throw new AlertmanagerConfigError(`${where}.group_by: cannot have wildcard group_by ('...') and other labels at the same time`);
      groupBy = 'all';
    } else groupBy = [...new Set(names)];
  }
  const key = parent.key === '' ? '{}' : `${parent.key}/${formatMatchers(matchers)}`;
  const self = {
    receiver,
    groupBy,
    groupWaitMs: r['group_wait'] === undefined ? parent.groupWaitMs : duration(r['group_wait'], `${where}.group_wait`),
    groupIntervalMs: r['group_interval'] === undefined ? parent.groupIntervalMs : duration(r['group_interval'], `${where}.group_interval`),
    repeatIntervalMs: r['repeat_interval'] === undefined ? parent.repeatIntervalMs : duration(r['repeat_interval'], `${where}.repeat_interval`),
    key,
  };
  if (self.groupIntervalMs <= 0) throw new AlertmanagerConfigError(`${where}.group_interval cannot be zero`);
  if (self.repeatIntervalMs <= 0) throw new AlertmanagerConfigError(`${where}.repeat_interval cannot be zero`);
  const children = list(r['routes'], `${where}.routes`);
  // Siblings with equal matchers get their index appended, so every route (and group) key is unique.
  const routes = children.map((c, i) => parseRoute(obj(c, `${where}.routes[${i}]`), self, `${where}.routes[${i}]`, receivers, timeIntervals));
  const seen = new Map<string, number>();
  const unique = routes.map((child) => {
    const n = seen.get(child.key) ?? 0;
    seen.set(child.key, n + 1);
    return n === 0 ? child : { ...child, key: `${child.key}/${n}` };
  });
  return {
    ...self,
    matchers,
    continue: r['continue'] === true,
    muteTimeIntervals: intervalNames(r['mute_time_intervals'], `${where}.mute_time_intervals`, timeIntervals),
    activeTimeIntervals: intervalNames(r['active_time_intervals'], `${where}.active_time_intervals`, timeIntervals),
    routes: unique,
  };
}

function parseInhibit(r: Obj, where: string): InhibitRule {
  known(r, ['source_matchers', 'target_matchers', 'source_match', 'source_match_re', 'target_match', 'target_match_re', 'equal'], where);
  const side = (which: 'source' | 'target'): AmMatcher[] => {
    const out: AmMatcher[] = [];
    try {
      for (const m of list(r[`${which}_matchers`], `${where}.${which}_matchers`)) out.push(...parseMatchers(str(m, `${where}.${which}_matchers`)));
      for (const [k, v] of Object.entries(r[`${which}_match`] === undefined ? {} : obj(r[`${which}_match`], where))) out.push(amMatcher(k, '=', String(v)));
      for (const [k, v] of Object.entries(r[`${which}_match_re`] === undefined ? {} : obj(r[`${which}_match_re`], where))) out.push(amMatcher(k, '=~', String(v)));
    } catch (err) {
      if (err instanceof AlertmanagerConfigError) throw err;
      throw new AlertmanagerConfigError(`${where}: ${(err as Error).message}`, { cause: err });
    }
    return out;
  };
  return { source: side('source'), target: side('target'), equal: list(r['equal'], `${where}.equal`).map((e) => str(e, `${where}.equal`)) };
}

function parseReceiver(r: Obj, global: Obj): Receiver {
  const name = str(r['name'], 'receivers[].name');
  const where = `receiver "${name}"`;
  for (const k of Object.keys(r)) {
    if (k !== 'name' && !RECEIVER_KINDS.includes(k)) {
      throw new AlertmanagerConfigError(`${where}: ${k} is not supported by the built-in notifier (supported: ${RECEIVER_KINDS.join(', ')})`);
    }
  }
  const integrations: Integration[] = [];
  const globalAuth = global['http_config'] === undefined ? {} : httpAuth(global['http_config'], 'global.http_config');
  for (const [i, c] of list(r['webhook_configs'], where).entries()) {
    const w = `${where} webhook_configs[${i}]`;
    const o = obj(c, w);
    known(o, ['url', 'send_resolved', 'max_alerts', 'http_config', 'timeout'], w);
    integrations.push({
      kind: 'webhook',
      sendResolved: bool(o['send_resolved'], true),
      url: url(o['url'], `${w}.url`),
      maxAlerts: o['max_alerts'] === undefined ? 0 : Number(o['max_alerts']),
      http: o['http_config'] === undefined ? globalAuth : httpAuth(o['http_config'], `${w}.http_config`),
    });
  }
  for (const [i, c] of list(r['slack_configs'], where).entries()) {
    const w = `${where} slack_configs[${i}]`;
    const o = obj(c, w);
    const fields = ['username', 'title', 'title_link', 'text', 'pretext', 'fallback', 'footer', 'color', 'icon_emoji', 'icon_url', 'callback_id'] as const;
    known(o, ['api_url', 'channel', 'send_resolved', 'http_config', 'mrkdwn_in', ...fields], w);
    const apiUrl = o['api_url'] ?? global['slack_api_url'];
    if (apiUrl === undefined) throw new AlertmanagerConfigError(`${w}: no global Slack API URL set either inline or in a file`);
    const templates: Partial<Record<(typeof fields)[number], string>> = {};
    for (const f of fields) if (o[f] !== undefined) templates[f] = str(o[f], `${w}.${f}`);
    integrations.push({
      kind: 'slack',
      sendResolved: bool(o['send_resolved'], false),
      apiUrl: url(apiUrl, `${w}.api_url`),
      ...(o['channel'] !== undefined ? { channel: str(o['channel'], `${w}.channel`) } : {}),
      templates,
      http: o['http_config'] === undefined ? globalAuth : httpAuth(o['http_config'], `${w}.http_config`),
    });
  }
  for (const [i, c] of list(r['pagerduty_configs'], where).entries()) {
    const w = `${where} pagerduty_configs[${i}]`;
    const o = obj(c, w);
    const fields = ['description', 'client', 'client_url', 'severity', 'source', 'class', 'component', 'group'] as const;
    known(o, ['routing_key', 'url', 'send_resolved', 'http_config', 'details', ...fields], w);
    if (o['routing_key'] === undefined) throw new AlertmanagerConfigError(`${w}: missing routing key in PagerDuty config (the built-in notifier speaks Events API v2 only)`);
    const templates: Partial<Record<(typeof fields)[number], string>> = {};
    for (const f of fields) if (o[f] !== undefined) templates[f] = str(o[f], `${w}.${f}`);
    const details: Record<string, string> = {};
    for (const [k, v] of Object.entries(o['details'] === undefined ? {} : obj(o['details'], `${w}.details`))) details[k] = String(v);
    integrations.push({
      kind: 'pagerduty',
      sendResolved: bool(o['send_resolved'], true),
      url: url(o['url'] ?? global['pagerduty_url'] ?? 'https://events.pagerduty.com/v2/enqueue', `${w}.url`),
      routingKey: str(o['routing_key'], `${w}.routing_key`),
      templates,
      details,
      http: o['http_config'] === undefined ? globalAuth : httpAuth(o['http_config'], `${w}.http_config`),
    });
  }
  for (const [i, c] of list(r['email_configs'], where).entries()) {
    const w = `${where} email_configs[${i}]`;
    const o = obj(c, w);
    known(o, ['to', 'from', 'smarthost', 'hello', 'auth_username', 'auth_password', 'require_tls', 'headers', 'html', 'text', 'send_resolved'], w);
    const smarthost = str(o['smarthost'] ?? global['smtp_smarthost'] ?? '', `${w}.smarthost`);
    const hp = /^(.*):(\d+)$/.exec(smarthost);
    if (!hp) throw new AlertmanagerConfigError(`${w}: no smarthost (host:port) set either inline or in global.smtp_smarthost`);
    const from = o['from'] ?? global['smtp_from'];
    if (from === undefined) throw new AlertmanagerConfigError(`${w}: no global SMTP from set either inline or in global.smtp_from`);
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(o['headers'] === undefined ? {} : obj(o['headers'], `${w}.headers`))) headers[k.toLowerCase() === 'subject' ? 'Subject' : k] = String(v);
    const user = o['auth_username'] ?? global['smtp_auth_username'];
    const pass = o['auth_password'] ?? global['smtp_auth_password'];
    integrations.push({
      kind: 'email',
      sendResolved: bool(o['send_resolved'], false),
      to: str(o['to'], `${w}.to`),
      from: str(from, `${w}.from`),
      smarthost: { host: hp[1]!.replace(/^\[(.*)\]$/, '$1'), port: Number(hp[2]) },
      hello: str(o['hello'] ?? global['smtp_hello'] ?? 'localhost', `${w}.hello`),
      ...(user !== undefined ? { authUsername: String(user) } : {}),
      ...(pass !== undefined ? { authPassword: String(pass) } : {}),
      requireTls: bool(o['require_tls'] ?? global['smtp_require_tls'], true),
      headers,
      ...(o['html'] !== undefined ? { html: str(o['html'], `${w}.html`) } : {}),
      ...(o['text'] !== undefined ? { text: str(o['text'], `${w}.text`) } : {}),
    });
  }
  for (const kind of ['discord', 'msteams', 'msteamsv2', 'webex'] as const) {
    for (const [i, c] of list(r[`${kind}_configs`], where).entries()) {
      const w = `${where} ${kind}_configs[${i}]`;
      const o = obj(c, w);
      const fields = CHAT_FIELDS[kind];
      const webex = kind === 'webex';
      known(o, [...(webex ? ['api_url'] : ['webhook_url', 'webhook_url_file']), 'send_resolved', 'http_config', ...Object.keys(fields), ...(kind === 'discord' ? ['username', 'avatar_url'] : [])], w);
      if (webex) {
        if (o['room_id'] === undefined || o['room_id'] === '') throw new AlertmanagerConfigError(`${w}: missing room_id on webex_config`);
        if (o['http_config'] === undefined || obj(o['http_config'], `${w}.http_config`)['authorization'] === undefined) throw new AlertmanagerConfigError(`${w}: missing webex_configs.http_config.authorization`);
      } else {
        if (o['webhook_url'] === undefined && o['webhook_url_file'] === undefined) throw new AlertmanagerConfigError(`${w}: one of webhook_url or webhook_url_file must be configured`);
        if (o['webhook_url'] !== undefined && o['webhook_url_file'] !== undefined) throw new AlertmanagerConfigError(`${w}: at most one of webhook_url & webhook_url_file must be configured`);
      }
      const templates: Record<string, string> = { ...fields };
      for (const f of Object.keys(fields)) if (o[f] !== undefined) templates[f] = str(o[f], `${w}.${f}`);
      integrations.push({
        kind,
        sendResolved: bool(o['send_resolved'], true),
        webhookUrl: webex
          ? { url: url(o['api_url'] ?? global['webex_api_url'] ?? 'https://webexapis.com/v1/messages', `${w}.api_url`) }
          : o['webhook_url'] !== undefined
            ? { url: url(o['webhook_url'], `${w}.webhook_url`) }
            : { file: str(o['webhook_url_file'], `${w}.webhook_url_file`) },
        templates,
        ...(o['username'] !== undefined ? { username: str(o['username'], `${w}.username`) } : {}),
        ...(o['avatar_url'] !== undefined ? { avatarUrl: str(o['avatar_url'], `${w}.avatar_url`) } : {}),
        http: o['http_config'] === undefined ? globalAuth : httpAuth(o['http_config'], `${w}.http_config`),
      });
    }
  }
  for (const [i, c] of list(r['opsgenie_configs'], where).entries()) {
    const w = `${where} opsgenie_configs[${i}]`;
    const o = obj(c, w);
    const fields = ['message', 'description', 'source', 'entity', 'actions', 'tags', 'note', 'priority'];
    known(o, ['api_key', 'api_key_file', 'api_url', 'details', 'responders', 'update_alerts', 'send_resolved', 'http_config', ...fields], w);
    if (o['api_key'] !== undefined && o['api_key_file'] !== undefined) throw new AlertmanagerConfigError(`${w}: at most one of api_key & api_key_file must be configured`);
    const key = o['api_key'] ?? (o['api_key_file'] === undefined ? global['opsgenie_api_key'] : undefined);
    const keyFile = o['api_key_file'] ?? (key === undefined ? global['opsgenie_api_key_file'] : undefined);
    if (key === undefined && keyFile === undefined) throw new AlertmanagerConfigError(`${w}: no global OpsGenie API Key set either inline or in a file`);
    const apiUrl = new URL(url(o['api_url'] ?? global['opsgenie_api_url'] ?? 'https://api.opsgenie.com/', `${w}.api_url`));
    if (!apiUrl.pathname.endsWith('/')) apiUrl.pathname += '/';
    const templates: Record<string, string> = {
      message: '{{ template "opsgenie.default.message" . }}',
      description: '{{ template "opsgenie.default.description" . }}',
      source: '{{ template "opsgenie.default.source" . }}',
    };
    for (const f of fields) if (o[f] !== undefined) templates[f] = str(o[f], `${w}.${f}`);
    const details: Record<string, string> = {};
    for (const [k, v] of Object.entries(o['details'] === undefined ? {} : obj(o['details'], `${w}.details`))) details[k] = String(v);
    const responders = list(o['responders'], `${w}.responders`).map((x, j) => {
      const rr = obj(x, `${w}.responders[${j}]`);
      known(rr, ['id', 'name', 'username', 'type'], `${w}.responders[${j}]`);
      const id = rr['id'] === undefined ? undefined : str(rr['id'], `${w}.responders[${j}].id`);
      const nm = rr['name'] === undefined ? undefined : str(rr['name'], `${w}.responders[${j}].name`);
      const username = rr['username'] === undefined ? undefined : str(rr['username'], `${w}.responders[${j}].username`);
      if (!id && !nm && !username) throw new AlertmanagerConfigError(`${w}.responders[${j}]: has to have at least one of id, username or name specified`);
      // Checked case-insensitively but sent as written (Alertmanager lower-cases a copy while validating).
      const type = str(rr['type'] ?? '', `${w}.responders[${j}].type`);
      if (!type.includes('{{')) {
        if (!/^(team|teams|user|escalation|schedule)$/.test(type.toLowerCase())) throw new AlertmanagerConfigError(`${w}.responders[${j}]: type does not match valid options ^(team|teams|user|escalation|schedule)$`);
      }
      return { ...(id ? { id } : {}), ...(nm ? { name: nm } : {}), ...(username ? { username } : {}), type };
    });
    integrations.push({
      kind: 'opsgenie',
      sendResolved: bool(o['send_resolved'], true),
      apiUrl: apiUrl.toString(),
      apiKey: key !== undefined ? { key: String(key) } : { file: String(keyFile) },
      templates,
      details,
      responders,
      updateAlerts: o['update_alerts'] === true,
      http: o['http_config'] === undefined ? globalAuth : httpAuth(o['http_config'], `${w}.http_config`),
    });
  }
  return { name, integrations };
}

function httpAuth(v: unknown, where: string): HttpAuth {
  const o = obj(v, where);
  known(o, ['authorization', 'basic_auth', 'bearer_token'], where);
  if (o['basic_auth'] !== undefined) {
    const b = obj(o['basic_auth'], `${where}.basic_auth`);
    return { authorization: `Basic ${Buffer.from(`${String(b['username'] ?? '')}:${String(b['password'] ?? '')}`).toString('base64')}` };
  }
  if (o['authorization'] !== undefined) {
    const a = obj(o['authorization'], `${where}.authorization`);
    return { authorization: `${String(a['type'] ?? 'Bearer')} ${String(a['credentials'] ?? '')}` };
  }
  if (o['bearer_token'] !== undefined) return { authorization: `Bearer ${String(o['bearer_token'])}` };
  return {};
}

/** The entries of a tenant's `template_files` a `templates:` entry names (a name, or a pattern over names). */
function templateFilesNamed(pattern: string, files: Readonly<Record<string, string>>): { name: string; read: () => string }[] {
  // Mimir stores the files in a directory of their own: a path in the entry means the file name.
  const name = path.basename(pattern);
  const re = fileNamePattern(name);
  const hits = Object.keys(files).filter((n) => re.test(n)).sort();
  if (hits.length === 0 && !/[*?[]/.test(name)) throw new AlertmanagerConfigError(`templates: ${pattern}: no such entry in template_files`);
  return hits.map((n) => ({ name: n, read: () => files[n]! }));
}

/** A file-name pattern of Go's `filepath.Match` (`*`, `?`, `[...]`) as a regular expression. */
function fileNamePattern(name: string): RegExp {
  return new RegExp(`^${name.replace(/[.+^${}()|\\]/g, '\\$&').replace(/\*/g, '[^/]*').replace(/\?/g, '[^/]')}$`);
}

/**
 * The files a `templates:` entry names, sorted: a path, or a pattern with `*`, `?` and `[...]` in its file
 * name (Go's `filepath.Glob`; a pattern that matches nothing is no error, as in Alertmanager). Wildcards in
 * directory names are refused with a message that says so.
 */
function globFiles(pattern: string, baseDir: string): string[] {
  const full = path.resolve(baseDir, pattern);
  const dir = path.dirname(full);
  const name = path.basename(full);
  if (/[*?[]/.test(dir)) throw new AlertmanagerConfigError(`templates: ${pattern}: wildcards are supported in the file name only`);
  if (!/[*?[]/.test(name)) {
    // Alertmanager ignores a missing file; a path without wildcards that names nothing is surely a mistake.
    if (!existsSync(full)) throw new AlertmanagerConfigError(`templates: ${pattern}: no such file (${full})`);
    return [full];
  }
  const re = fileNamePattern(name);
  let entries: string[];
  try {
    entries = readdirSync(dir);
  } catch {
    return [];
  }
  return entries.filter((e) => re.test(e)).sort().map((e) => path.join(dir, e));
}

function obj(v: unknown, where: string): Obj {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new AlertmanagerConfigError(`${where}: expected a mapping`);
  return v as Obj;
}
function list(v: unknown, where: string): unknown[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) throw new AlertmanagerConfigError(`${where}: expected a list`);
  return v;
}
function str(v: unknown, where: string): string {
  if (typeof v !== 'string' && typeof v !== 'number') throw new AlertmanagerConfigError(`${where}: expected a string`);
  return String(v);
}
function bool(v: unknown, dflt: boolean): boolean {
  return typeof v === 'boolean' ? v : dflt;
}
function url(v: unknown, where: string): string {
  const s = str(v, where);
  if (!URL.canParse(s)) throw new AlertmanagerConfigError(`${where}: invalid URL ${JSON.stringify(s)}`);
  return s;
}
function duration(v: unknown, where: string): number {
  const ns = parsePromDuration(str(v, where));
  if (ns === undefined) throw new AlertmanagerConfigError(`${where}: not a valid duration string: ${JSON.stringify(v)}`);
  return ns / 1e6;
}
function known(o: Obj, keys: readonly string[], where: string): void {
  for (const k of Object.keys(o)) {
    if (!keys.includes(k)) throw new AlertmanagerConfigError(`${where}: field ${k} is not supported by the built-in notifier`);
  }
}
