import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import nodemailer from 'nodemailer';
import type { ChatIntegration, EmailIntegration, HttpAuth, Integration, OpsgenieIntegration, PagerdutyIntegration, SlackIntegration, WebhookIntegration } from './am-config.ts';
import { defaultTemplates, renderTemplate } from './notification-templates.ts';
import type { NotificationData } from './notification-templates.ts';

/** A delivery failure; `retryable` says whether trying again may help (network errors, 429, 5xx). */
export class DeliveryError extends Error {
  constructor(
    message: string,
    readonly retryable: boolean,
  ) {
    super(message);
  }
}

/** What one delivery needs besides the alerts: the group key (Alertmanager's, for webhook and PagerDuty). */
interface DeliveryContext {
  readonly groupKey: string;
  readonly timeoutMs: number;
}

/** Delivers one notification through `integration`. Throws {@link DeliveryError}. */
export async function deliver(integration: Integration, data: NotificationData, ctx: DeliveryContext): Promise<void> {
  switch (integration.kind) {
    case 'webhook':
      return postJson(integration.url, webhookPayload(integration, data, ctx.groupKey), integration.http, ctx.timeoutMs);
    case 'slack':
      return postJson(integration.apiUrl, slackPayload(integration, data), integration.http, ctx.timeoutMs);
    case 'pagerduty':
      return postJson(integration.url, pagerdutyPayload(integration, data, ctx.groupKey), integration.http, ctx.timeoutMs);
    case 'email':
      return sendEmail(integration, data, ctx.timeoutMs);
    case 'discord':
    case 'msteams':
    case 'msteamsv2':
    case 'webex':
      return postJson(await chatUrl(integration), chatPayload(integration, data), integration.http, ctx.timeoutMs);
    case 'opsgenie':
      for (const req of await opsgenieRequests(integration, data, ctx.groupKey)) {
        await postJson(req.url, req.body, { authorization: req.authorization }, ctx.timeoutMs, req.method);
      }
      return;
  }
}

/** Alertmanager's requests to Opsgenie's Alert API: close by alias when resolved; else create (and update message and description with `update_alerts`). */
async function opsgenieRequests(o: OpsgenieIntegration, d: NotificationData, groupKey: string): Promise<{ method: 'POST' | 'PUT'; url: string; body: unknown; authorization: string }[]> {
  const t = (field: string): string => (o.templates[field] === undefined ? '' : renderTemplate(o.templates[field], d));
  const split = (s: string): string[] => s.trim().split(',').filter((x) => x !== '');
  const alias = createHash('sha256').update(groupKey).digest('hex');
  let key: string;
  if ('key' in o.apiKey) key = renderTemplate(o.apiKey.key, d);
  else {
    try {
      key = renderTemplate(await readFile(o.apiKey.file, 'utf8'), d).trim();
    } catch (err) {
      throw new DeliveryError(`read key_file error: ${(err as Error).message}`, false);
    }
  }
  const authorization = `GenieKey ${key}`;
  const byAlias = (suffix: string): string => `${o.apiUrl}v2/alerts/${alias}/${suffix}?identifierType=alias`;
  if (!d.alerts.some((a) => a.status === 'firing')) return [{ method: 'POST', url: byAlias('close'), body: { source: t('source') }, authorization }];
  const details: Record<string, string> = { ...d.commonLabels };
  for (const [k, v] of Object.entries(o.details)) details[k] = renderTemplate(v, d);
  const responders: Record<string, string>[] = [];
  for (const r of o.responders) {
    const one = omitEmpty({ id: renderTemplate(r.id ?? '', d), name: renderTemplate(r.name ?? '', d), username: renderTemplate(r.username ?? '', d), type: renderTemplate(r.type, d) }, ['type']) as Record<string, string>;
    if (Object.values(one).every((v) => v === '')) continue;
    // `teams` names several teams, comma-separated: one responder each.
    if (one['type'] === 'teams') for (const team of split(one['name'] ?? '')) responders.push({ name: renderTemplate(team, d), type: 'team' });
    else responders.push(one);
  }
  const create = omitEmpty(
    {
      alias,
      message: truncateRunes(t('message'), 130),
      description: t('description'),
      details,
      source: t('source'),
      responders: responders.length > 0 ? responders : undefined,
      tags: split(t('tags')).length > 0 ? split(t('tags')) : undefined,
      note: t('note'),
      priority: t('priority'),
      entity: t('entity'),
      actions: split(t('actions')).length > 0 ? split(t('actions')) : undefined,
    },
    ['alias', 'message', 'details', 'source'],
  );
  const out: { method: 'POST' | 'PUT'; url: string; body: unknown; authorization: string }[] = [{ method: 'POST', url: `${o.apiUrl}v2/alerts`, body: create, authorization }];
  if (o.updateAlerts) {
    out.push({ method: 'PUT', url: byAlias('message'), body: omitEmpty({ message: create.message }, []), authorization });
    out.push({ method: 'PUT', url: byAlias('description'), body: omitEmpty({ description: create.description }, []), authorization });
  }
  return out;
}

async function chatUrl(c: ChatIntegration): Promise<string> {
  if ('url' in c.webhookUrl) return c.webhookUrl.url;
  try {
    return (await readFile(c.webhookUrl.file, 'utf8')).trim();
  } catch (err) {
    throw new DeliveryError(`read webhook_url_file: ${(err as Error).message}`, false);
  }
}

/** Alertmanager's `TruncateInRunes`: at most `n` code points, the last one `…` when cut. */
function truncateRunes(s: string, n: number): string {
  const runes = [...s];
  if (runes.length <= n) return s;
  return n <= 3 ? runes.slice(0, n).join('') : `${runes.slice(0, n - 1).join('')}…`;
}

/** Alertmanager's `TruncateInBytes`: at most `n` UTF-8 bytes, ending in `…` when cut, never splitting a character. */
function truncateBytes(s: string, n: number): string {
  if (Buffer.byteLength(s) <= n) return s;
  if (n <= 3) return n === 3 ? '…' : '.'.repeat(n);
  let runes = [...s].slice(0, n - 3);
  while (Buffer.byteLength(runes.join('')) > n - 3) runes = runes.slice(0, -1);
  return `${runes.join('')}…`;
}

/** The message Alertmanager's Discord, MS Teams (MessageCard), Teams Workflows (Adaptive Card) and Webex notifiers post. */
function chatPayload(c: ChatIntegration, d: NotificationData): unknown {
  const t = (field: string): string => renderTemplate(c.templates[field] ?? '', d);
  const firing = d.alerts.some((a) => a.status === 'firing');
  switch (c.kind) {
    case 'discord':
      return {
        content: truncateRunes(t('content'), 2000),
        embeds: [{ title: truncateRunes(t('title'), 256), description: truncateRunes(t('message'), 4096), color: firing ? 0x992d22 : 0x2ecc71 }],
        ...(c.username ? { username: c.username } : {}),
        ...(c.avatarUrl && URL.canParse(c.avatarUrl) ? { avatar_url: c.avatarUrl } : {}),
      };
    case 'webex':
      return omitEmpty({ markdown: truncateBytes(t('message'), 7439), roomId: t('room_id') }, ['markdown']);
    case 'msteams':
      return { '@context': 'http://schema.org/extensions', type: 'MessageCard', title: t('title'), summary: t('summary'), text: t('text'), themeColor: firing ? '8C1A1A' : '2DC72D' };
    case 'msteamsv2':
      return {
        type: 'message',
        attachments: [
          {
            contentType: 'application/vnd.microsoft.card.adaptive',
            contentUrl: null,
            content: {
              $schema: 'http://adaptivecards.io/schemas/adaptive-card.json',
              type: 'AdaptiveCard',
              version: '1.2',
              body: [
                { type: 'TextBlock', text: t('title'), weight: 'Bolder', size: 'Medium', wrap: true, style: 'heading', color: firing ? 'Attention' : 'Good' },
                { type: 'TextBlock', text: t('text'), wrap: true },
              ],
              msteams: { width: 'full' },
            },
          },
        ],
      };
  }
}

/** Alertmanager's webhook body, version 4; `max_alerts` truncates the list and counts the rest. */
function webhookPayload(w: WebhookIntegration, d: NotificationData, groupKey: string): unknown {
  const alerts = w.maxAlerts > 0 ? d.alerts.slice(0, w.maxAlerts) : d.alerts;
  return {
    receiver: d.receiver,
    status: d.status,
    alerts: alerts.map((a) => ({ ...a })),
    groupLabels: d.groupLabels,
    commonLabels: d.commonLabels,
    commonAnnotations: d.commonAnnotations,
    externalURL: d.externalURL,
    version: '4',
    groupKey,
    truncatedAlerts: d.alerts.length - alerts.length,
  };
}

/** Slack's incoming-webhook message with one attachment, fields as Alertmanager fills them. */
function slackPayload(s: SlackIntegration, d: NotificationData): unknown {
  const t = (field: keyof SlackIntegration['templates'], dflt: string): string => {
    const src = s.templates[field];
    return src === undefined ? dflt : renderTemplate(src, d);
  };
  const subject = defaultTemplates.subject(d);
  const link = defaultTemplates.alertmanagerURL(d);
  const attachment = omitEmpty(
    {
      title: [...t('title', subject)].slice(0, 1024).join(''),
      title_link: t('title_link', link),
      pretext: t('pretext', ''),
      text: t('text', ''),
      fallback: t('fallback', `${subject} | ${link}`),
      callback_id: t('callback_id', ''),
      footer: t('footer', ''),
      color: t('color', d.status === 'firing' ? 'danger' : 'good'),
      mrkdwn_in: ['fallback', 'pretext', 'text'],
    },
    ['text', 'fallback', 'callback_id', 'footer'],
  );
  return omitEmpty(
    {
      username: t('username', 'Alertmanager'),
      icon_emoji: t('icon_emoji', ''),
      icon_url: t('icon_url', ''),
      attachments: [attachment],
      channel: s.channel === undefined ? '' : renderTemplate(s.channel, d),
    },
    ['attachments'],
  );
}

/** A PagerDuty Events API v2 event: trigger while any alert fires, resolve when all resolved; one incident per group. */
function pagerdutyPayload(p: PagerdutyIntegration, d: NotificationData, groupKey: string): unknown {
  const t = (field: keyof PagerdutyIntegration['templates'], dflt: string): string => {
    const src = p.templates[field];
    return src === undefined ? dflt : renderTemplate(src, d);
  };
  const client = t('client', 'Alertmanager');
  const firing = d.alerts.filter((a) => a.status === 'firing');
  const resolved = d.alerts.filter((a) => a.status === 'resolved');
  const details: Record<string, string> = {
    firing: goJson(firing),
    resolved: goJson(resolved),
    num_firing: String(firing.length),
    num_resolved: String(resolved.length),
  };
  for (const [k, v] of Object.entries(p.details)) details[k] = renderTemplate(v, d);
  const payload = omitEmpty(
    {
      summary: [...t('description', defaultTemplates.subject(d))].slice(0, 1024).join(''),
      source: t('source', client),
      severity: t('severity', 'error'),
      class: t('class', ''),
      component: t('component', ''),
      group: t('group', ''),
      custom_details: details,
    },
    ['summary', 'source', 'severity'],
  );
  return omitEmpty(
    {
      routing_key: renderTemplate(p.routingKey, d),
      dedup_key: createHash('sha256').update(groupKey).digest('hex'),
      event_action: d.status === 'firing' ? 'trigger' : 'resolve',
      payload,
      client,
      client_url: t('client_url', defaultTemplates.alertmanagerURL(d)),
    },
    ['event_action', 'payload'],
  );
}

/** The alert list as Alertmanager's `toJson` prints `template.Alert`s (capitalised Go field names). */
function goJson(alerts: NotificationData['alerts']): string {
  return JSON.stringify(
    alerts.map((a) => ({ Status: a.status, Labels: a.labels, Annotations: a.annotations, StartsAt: a.startsAt, EndsAt: a.endsAt, GeneratorURL: a.generatorURL, Fingerprint: a.fingerprint })),
  );
}

/** Builds the message Alertmanager's email integration sends: the default subject and an HTML and text body. */
function emailMessage(e: EmailIntegration, d: NotificationData): { from: string; to: string; subject: string; html: string; text: string; headers: Record<string, string> } {
  const subject = e.headers['Subject'] === undefined ? defaultTemplates.subject(d) : renderTemplate(e.headers['Subject'], d);
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(e.headers)) if (k !== 'Subject' && k !== 'To' && k !== 'From') headers[k] = renderTemplate(v, d);
  const firing = d.alerts.filter((a) => a.status === 'firing');
  const resolved = d.alerts.filter((a) => a.status === 'resolved');
  const text =
    e.text !== undefined
      ? renderTemplate(e.text, d)
      : `${subject}\n\nView in Alertmanager: ${defaultTemplates.alertmanagerURL(d)}\n\n` +
        (firing.length > 0 ? `[${firing.length}] Firing\n${defaultTemplates.textAlertList(firing)}\n` : '') +
        (resolved.length > 0 ? `[${resolved.length}] Resolved\n${defaultTemplates.textAlertList(resolved)}` : '');
  const esc = (s: string): string => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
  const html =
    e.html !== undefined
      ? renderTemplate(e.html, d)
      : `<!DOCTYPE html><html><head><meta charset="UTF-8"><title>${esc(subject)}</title></head><body>` +
        `<p><a href="${esc(defaultTemplates.alertmanagerURL(d))}">View in Alertmanager</a></p>` +
        [
          ['Firing', firing],
          ['Resolved', resolved],
        ]
          .filter(([, list]) => (list as typeof firing).length > 0)
          .map(([name, list]) => `<h3>[${(list as typeof firing).length}] ${name as string}</h3><pre>${esc(defaultTemplates.textAlertList(list as typeof firing))}</pre>`)
          .join('') +
        `</body></html>`;
  return { from: e.from, to: e.to, subject, html, text, headers };
}

async function sendEmail(e: EmailIntegration, d: NotificationData, timeoutMs: number): Promise<void> {
  const transport = nodemailer.createTransport({
    host: e.smarthost.host,
    port: e.smarthost.port,
    secure: e.smarthost.port === 465,
    requireTLS: e.requireTls,
    ignoreTLS: !e.requireTls,
    name: e.hello,
    connectionTimeout: timeoutMs,
    greetingTimeout: timeoutMs,
    socketTimeout: timeoutMs,
    ...(e.authUsername !== undefined ? { auth: { user: e.authUsername, pass: e.authPassword ?? '' } } : {}),
  });
  try {
    await transport.sendMail(emailMessage(e, d));
  } catch (err) {
    const code = (err as { responseCode?: number }).responseCode;
    // SMTP 5xx replies are permanent; 4xx replies and connection problems are worth retrying.
    throw new DeliveryError(`email to ${e.to} via ${e.smarthost.host}:${e.smarthost.port}: ${(err as Error).message}`, code === undefined || code < 500);
  } finally {
    transport.close();
  }
}

async function postJson(url: string, body: unknown, auth: HttpAuth, timeoutMs: number, method: 'POST' | 'PUT' = 'POST'): Promise<void> {
  let res: Response;
  try {
    res = await fetch(url, {
      method,
      headers: { 'content-type': 'application/json', 'user-agent': 'Alertmanager/0.35.0 (Heimdall)', ...(auth.authorization ? { authorization: auth.authorization } : {}) },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(timeoutMs),
    });
  } catch (err) {
    throw new DeliveryError(`${method} ${redact(url)}: ${(err as Error).message}`, true);
  }
  const text = await res.text().catch(() => '');
  if (res.ok) return;
  // As Alertmanager: 5xx and 429 are retried, other 4xx are not.
  throw new DeliveryError(`${method} ${redact(url)}: HTTP ${res.status} ${text.slice(0, 200)}`, res.status >= 500 || res.status === 429);
}

/** Slack and similar URLs carry their secret in the path: log only scheme and host. */
function redact(url: string): string {
  const u = new URL(url);
  return `${u.protocol}//${u.host}/<redacted>`;
}

function omitEmpty<T extends Record<string, unknown>>(o: T, keep: readonly string[]): Partial<T> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(o)) if (keep.includes(k) || (v !== '' && v !== undefined)) out[k] = v;
  return out as Partial<T>;
}
