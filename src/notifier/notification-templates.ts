import { GoTemplate, GoTemplateSet } from '../model/index.ts';
import type { GoValue, MethodLookup, TemplateFunc } from '../model/index.ts';

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
  /** The configuration's template set (its `templates:` files); undefined = Alertmanager's defaults only. */
  readonly templates?: NotificationTemplates;
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

/** The named default templates a config may call with `{{ template "NAME" . }}` (a user `define` replaces one). */
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
  match: (pattern, text) => new RegExp(String(pattern)).test(String(text)),
  safeHtml: (s) => s ?? '',
  safeUrl: (s) => s ?? '',
  urlUnescape: (s) => decodeURIComponent(String(s).replace(/\+/g, ' ')),
  stringSlice: (...items) => items.map(String),
  toJson: (v) => JSON.stringify(v),
  reReplaceAll: (pattern, repl, text) => String(text).replace(new RegExp(String(pattern), 'g'), String(repl).replace(/\$(\d+)/g, '$$$1')),
};

/*
 * Alertmanager's data types have methods templates call: `Alerts.Firing`/`.Resolved`, and on label and
 * annotation sets (`KV`) `.SortedPairs` (a list of `.Name`/`.Value`), `.Names`, `.Values` and `.Remove NAMES`.
 * The objects built here are marked so the methods apply to them only, never to a user's map with such a key.
 */
const ALERT_LISTS = new WeakSet<object>();
const KV_SETS = new WeakSet<object>();
const PAIR_LISTS = new WeakSet<object>();

function kv(labels: Readonly<Record<string, string>>): GoValue {
  const out: Record<string, GoValue> = { ...labels };
  KV_SETS.add(out);
  return out;
}

const sortedKeys = (o: object): string[] => Object.keys(o).sort();

const METHODS: MethodLookup = (receiver, name) => {
  if (receiver === null || typeof receiver !== 'object') return undefined;
  if (ALERT_LISTS.has(receiver) && (name === 'Firing' || name === 'Resolved')) {
    const status = name.toLowerCase();
    return () => alertList((receiver as GoValue[]).filter((a) => (a as Record<string, GoValue>)['Status'] === status));
  }
  if (PAIR_LISTS.has(receiver) && (name === 'Names' || name === 'Values')) {
    const field = name === 'Names' ? 'Name' : 'Value';
    return () => (receiver as Record<string, GoValue>[]).map((p) => p[field]);
  }
  if (!KV_SETS.has(receiver)) return undefined;
  const set = receiver as Record<string, GoValue>;
  switch (name) {
    case 'SortedPairs':
      return () => {
        const pairs = sortedKeys(set).map((k) => ({ Name: k, Value: set[k] }));
        PAIR_LISTS.add(pairs);
        return pairs;
      };
    case 'Names':
      return () => sortedKeys(set);
    case 'Values':
      return () => sortedKeys(set).map((k) => set[k]);
    case 'Remove':
      return (names) => {
        const drop = new Set(Array.isArray(names) ? names.map(String) : []);
        const kept: Record<string, string> = {};
        for (const k of Object.keys(set)) if (!drop.has(k)) kept[k] = String(set[k]);
        return kv(kept);
      };
  }
  return undefined;
};

function alertList(alerts: GoValue[]): GoValue {
  ALERT_LISTS.add(alerts);
  return alerts;
}

/*
 * Defaults of the chat receivers, as Go templates over the named defaults above (their output matches
 * Alertmanager v0.35's template/default.tmpl, Apache-2.0, whose names they keep so user files can override them).
 */
const CHAT_DEFAULTS = `
{{ define "__text_alert_list_markdown" }}{{ range . }}
Labels:
{{ range .Labels.SortedPairs }}  - {{ .Name }} = {{ .Value }}
{{ end }}
Annotations:
{{ range .Annotations.SortedPairs }}  - {{ .Name }} = {{ .Value }}
{{ end }}
Source: {{ .GeneratorURL }}
{{ end }}
{{ end }}
{{ define "__firing_resolved_text" }}
{{ if gt (len .Alerts.Firing) 0 }}
Alerts Firing:
{{ template "__text_alert_list" .Alerts.Firing }}
{{ end }}
{{ if gt (len .Alerts.Resolved) 0 }}
Alerts Resolved:
{{ template "__text_alert_list" .Alerts.Resolved }}
{{ end }}
{{ end }}
{{ define "__firing_resolved_markdown" }}
{{ if gt (len .Alerts.Firing) 0 }}
# Alerts Firing:
{{ template "__text_alert_list_markdown" .Alerts.Firing }}
{{ end }}
{{ if gt (len .Alerts.Resolved) 0 }}
# Alerts Resolved:
{{ template "__text_alert_list_markdown" .Alerts.Resolved }}
{{ end }}
{{ end }}
{{ define "opsgenie.default.message" }}{{ template "__subject" . }}{{ end }}
{{ define "opsgenie.default.description" }}{{ .CommonAnnotations.SortedPairs.Values | join " " }}
{{ if gt (len .Alerts.Firing) 0 -}}
Alerts Firing:
{{ template "__text_alert_list" .Alerts.Firing }}
{{- end }}
{{ if gt (len .Alerts.Resolved) 0 -}}
Alerts Resolved:
{{ template "__text_alert_list" .Alerts.Resolved }}
{{- end }}
{{- end }}
{{ define "opsgenie.default.source" }}{{ template "__alertmanagerURL" . }}{{ end }}
{{ define "webex.default.message" }}{{ .CommonAnnotations.SortedPairs.Values | join " " }}{{ template "__firing_resolved_text" . }}{{ end }}
{{ define "discord.default.content" }}{{ end }}
{{ define "discord.default.title" }}{{ template "__subject" . }}{{ end }}
{{ define "discord.default.message" }}{{ template "__firing_resolved_text" . }}{{ end }}
{{ define "msteams.default.summary" }}{{ template "__subject" . }}{{ end }}
{{ define "msteams.default.title" }}{{ template "__subject" . }}{{ end }}
{{ define "msteams.default.text" }}{{ template "__firing_resolved_markdown" . }}{{ end }}
{{ define "msteamsv2.default.title" }}{{ template "__subject" . }}{{ end }}
{{ define "msteamsv2.default.text" }}{{ template "__firing_resolved_markdown" . }}{{ end }}
`;

/** The configuration's templates: Alertmanager's defaults plus the `define`s of its `templates:` files. */
export class NotificationTemplates {
  private readonly set = new GoTemplateSet(
    FUNCS,
    {
      ...Object.fromEntries(Object.entries(NAMED).map(([k, fn]) => [k, (dot: GoValue) => fn(dataOf(dot))])),
      // Its dot is a list of alerts (`{{ template "__text_alert_list" .Alerts.Firing }}`), not the whole data.
      __text_alert_list: (dot: GoValue) => defaultTemplates.textAlertList(dataOf({ Alerts: dot }).alerts),
    },
    METHODS,
  );
  private readonly cache = new Map<string, GoTemplate>();

  constructor() {
    this.set.addFile('default.tmpl', CHAT_DEFAULTS);
  }

  /** Adds a template file; throws the Go-style parse error naming the file and line. */
  addFile(name: string, source: string): void {
    this.set.addFile(name, source);
  }

  /** Parses (once) a receiver field's template; throws the parse error. */
  compile(source: string): GoTemplate {
    let t = this.cache.get(source);
    if (!t) {
      t = new GoTemplate('notification', source, FUNCS, this.set);
      if (this.cache.size > 1000) this.cache.clear();
      this.cache.set(source, t);
    }
    return t;
  }
}

const DEFAULTS = new NotificationTemplates();

/**
 * Renders a template string from a receiver's config on the Go template interpreter, with dot holding
 * Alertmanager's data (`.Status`, `.Receiver`, `.GroupLabels.x`, `.CommonLabels`, `.CommonAnnotations`,
 * `.Alerts` (`.Labels`, `.Annotations`, `.Status`, `.StartsAt`, ...; `.Alerts.Firing`), `.ExternalURL`), and
 * the named templates of Alertmanager's defaults and of the config's `templates:` files.
 */
export function renderTemplate(source: string, d: NotificationData): string {
  if (!source.includes('{{')) return source;
  return (d.templates ?? DEFAULTS).compile(source).execute(goData(d));
}

function goData(d: NotificationData): GoValue {
  return {
    Receiver: d.receiver,
    Status: d.status,
    Alerts: alertList(
      d.alerts.map((a) => ({
        Status: a.status,
        Labels: kv(a.labels),
        Annotations: kv(a.annotations),
        StartsAt: a.startsAt,
        EndsAt: a.endsAt,
        GeneratorURL: a.generatorURL,
        Fingerprint: a.fingerprint,
      })),
    ),
    GroupLabels: kv(d.groupLabels),
    CommonLabels: kv(d.commonLabels),
    CommonAnnotations: kv(d.commonAnnotations),
    ExternalURL: d.externalURL,
  };
}

/** The inverse of {@link goData}, for the defaults written in TypeScript when a template calls them. */
function dataOf(dot: GoValue): NotificationData {
  const o = (dot ?? {}) as Record<string, GoValue>;
  const labels = (v: GoValue): Record<string, string> => Object.fromEntries(Object.entries((v ?? {}) as Record<string, GoValue>).map(([k, x]) => [k, String(x)]));
  const alerts = (Array.isArray(o['Alerts']) ? o['Alerts'] : []) as Record<string, GoValue>[];
  return {
    receiver: String(o['Receiver'] ?? ''),
    status: o['Status'] === 'resolved' ? 'resolved' : 'firing',
    alerts: alerts.map((a) => ({
      status: a['Status'] === 'resolved' ? 'resolved' : 'firing',
      labels: labels(a['Labels']),
      annotations: labels(a['Annotations']),
      startsAt: String(a['StartsAt'] ?? ''),
      endsAt: String(a['EndsAt'] ?? ''),
      generatorURL: String(a['GeneratorURL'] ?? ''),
      fingerprint: String(a['Fingerprint'] ?? ''),
    })),
    groupLabels: labels(o['GroupLabels']),
    commonLabels: labels(o['CommonLabels']),
    commonAnnotations: labels(o['CommonAnnotations']),
    externalURL: String(o['ExternalURL'] ?? ''),
  };
}
