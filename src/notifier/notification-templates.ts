import { GoTemplate } from '../model/index.ts';
import type { GoValue, TemplateFunc } from '../model/index.ts';

/** One alert as notification templates and payloads see it (Alertmanager's `template.Alert`). */
export interface AlertData {
  readonly status: 'firing' | 'resolved';
  readonly labels: Readonly<Record<string, string>>;
  readonly annotations: Readonly<Record<string, string>>;
  readonly startsAt: string;
  readonly endsAt: string;
  readonly generatorURL: string;
  readonly fingerprint: string;
}

/** The data of one notification (Alertmanager's `template.Data`). */
export interface NotificationData {
  readonly receiver: string;
  readonly status: 'firing' | 'resolved';
  readonly alerts: readonly AlertData[];
  readonly groupLabels: Readonly<Record<string, string>>;
  readonly commonLabels: Readonly<Record<string, string>>;
  readonly commonAnnotations: Readonly<Record<string, string>>;
  readonly externalURL: string;
}

const sortedValues = (labels: Readonly<Record<string, string>>): string[] =>
  Object.keys(labels)
    .sort()
    .map((k) => labels[k]!);

/** Go's `url.QueryEscape` (the `urlquery` of Alertmanager's templates): form encoding, spaces as `+`. */
function queryEscape(s: string): string {
  return new URLSearchParams({ x: s }).toString().slice(2);
}

/**
 * Alertmanager's default templates (`template/default.tmpl` of v0.35), written out: the subject line
 * `[FIRING:2] <group label values> (<other common label values>)`, the link to the receiver's alerts,
 * and the plain-text alert list. Their output is character for character what the Go templates print.
 */
export const defaultTemplates = {
  subject(d: NotificationData): string {
    const firing = d.alerts.filter((a) => a.status === 'firing').length;
    let s = `[${d.status.toUpperCase()}${d.status === 'firing' ? `:${firing}` : ''}] ${sortedValues(d.groupLabels).join(' ')} `;
    if (Object.keys(d.commonLabels).length > Object.keys(d.groupLabels).length) {
      const rest: Record<string, string> = {};
      for (const [k, v] of Object.entries(d.commonLabels)) if (!(k in d.groupLabels)) rest[k] = v;
      s += `(${sortedValues(rest).join(' ')})`;
    }
    return s;
  },
  alertmanagerURL(d: NotificationData): string {
    return `${d.externalURL}/#/alerts?receiver=${queryEscape(d.receiver)}`;
  },
  textAlertList(alerts: readonly AlertData[]): string {
    const pairs = (l: Readonly<Record<string, string>>): string =>
      Object.keys(l)
        .sort()
        .map((k) => ` - ${k} = ${l[k]}\n`)
        .join('');
    return alerts.map((a) => `Labels:\n${pairs(a.labels)}Annotations:\n${pairs(a.annotations)}Source: ${a.generatorURL}\n`).join('');
  },
};

/** The named default templates a config may call with `{{ template "NAME" . }}`. */
const NAMED: Record<string, (d: NotificationData) => string> = {
  __alertmanager: () => 'Alertmanager',
  __alertmanagerURL: (d) => defaultTemplates.alertmanagerURL(d),
  __subject: (d) => defaultTemplates.subject(d),
  'slack.default.title': (d) => defaultTemplates.subject(d),
  'slack.default.username': () => 'Alertmanager',
  'slack.default.fallback': (d) => `${defaultTemplates.subject(d)} | ${defaultTemplates.alertmanagerURL(d)}`,
  'slack.default.titlelink': (d) => defaultTemplates.alertmanagerURL(d),
  'slack.default.color': (d) => (d.status === 'firing' ? 'danger' : 'good'),
  'slack.default.callbackid': () => '',
  'slack.default.pretext': () => '',
  'slack.default.iconemoji': () => '',
  'slack.default.iconurl': () => '',
  'slack.default.text': () => '',
  'slack.default.footer': () => '',
  'pagerduty.default.description': (d) => defaultTemplates.subject(d),
  'pagerduty.default.client': () => 'Alertmanager',
  'pagerduty.default.clientURL': (d) => defaultTemplates.alertmanagerURL(d),
  'pagerduty.default.instances': (d) => defaultTemplates.textAlertList(d.alerts),
  'email.default.subject': (d) => defaultTemplates.subject(d),
};

const FUNCS: Record<string, TemplateFunc> = {
  toUpper: (s) => String(s).toUpperCase(),
  toLower: (s) => String(s).toLowerCase(),
  title: (s) => String(s).replace(/\b\w/g, (c) => c.toUpperCase()),
  trimSpace: (s) => String(s).trim(),
  join: (sep, items) => (Array.isArray(items) ? items.map(String).join(String(sep)) : ''),
  safeHtml: (s) => s ?? '',
  toJson: (v) => JSON.stringify(v),
  reReplaceAll: (pattern, repl, text) => String(text).replace(new RegExp(String(pattern), 'g'), String(repl).replace(/\$(\d+)/g, '$$$1')),
};

const TEMPLATE_CALL = /\{\{-?\s*template\s+"([^"]+)"\s+\.\s*-?\}\}/g;
const cache = new Map<string, GoTemplate>();

/**
 * Renders a template string from a receiver's config. `{{ template "NAME" . }}` of Alertmanager's default
 * templates is replaced by their output; the rest runs on the Go template interpreter with dot holding
 * Alertmanager's data fields (`.Status`, `.Receiver`, `.GroupLabels.x`, `.CommonLabels`, `.CommonAnnotations`,
 * `.Alerts` (a list of `.Labels`, `.Annotations`, `.Status`, `.StartsAt`, ...), `.ExternalURL`).
 */
export function renderTemplate(source: string, d: NotificationData): string {
  const expanded = source.replace(TEMPLATE_CALL, (whole, name: string) => {
    const fn = NAMED[name];
    if (!fn) throw new Error(`template "${name}" is not one of Alertmanager's default templates the built-in notifier knows`);
    const out = fn(d);
    return out.includes('`') ? `{{ ${JSON.stringify(out)} }}` : `{{\`${out}\`}}`;
  });
  if (!expanded.includes('{{')) return expanded;
  let t = cache.get(expanded);
  if (!t) {
    t = new GoTemplate('notification', expanded, FUNCS);
    if (cache.size > 1000) cache.clear();
    cache.set(expanded, t);
  }
  return t.execute(goData(d));
}

function goData(d: NotificationData): GoValue {
  return {
    Receiver: d.receiver,
    Status: d.status,
    Alerts: d.alerts.map((a) => ({
      Status: a.status,
      Labels: { ...a.labels },
      Annotations: { ...a.annotations },
      StartsAt: a.startsAt,
      EndsAt: a.endsAt,
      GeneratorURL: a.generatorURL,
      Fingerprint: a.fingerprint,
    })),
    GroupLabels: { ...d.groupLabels },
    CommonLabels: { ...d.commonLabels },
    CommonAnnotations: { ...d.commonAnnotations },
    ExternalURL: d.externalURL,
  };
}
