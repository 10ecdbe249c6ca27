// The built-in notifier against real loopback receivers: an HTTP server standing in for a webhook, Slack and
// PagerDuty, and an SMTP server (smtp-server) receiving the email through nodemailer. Each payload is checked
// against the public format of its service; routing, grouping, send_resolved, silences, inhibition, retries
// and a restart that keeps silences and the notification log are exercised with short timers.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import pino from 'pino';
import { Registry } from 'prom-client';
import { SMTPServer } from 'smtp-server';
import { startReceiver, waitFor } from '../../test/support/loopback-receiver.ts';
import type { LoopbackReceiver, ReceivedRequest } from '../../test/support/loopback-receiver.ts';
import { parseAlertmanagerConfig } from './am-config.ts';
import { BuiltinNotifier, defaultAlertmanagerConfig } from './builtin-notifier.ts';
import { fingerprint } from './matchers.ts';
import type { PostableAlert } from './tenant-alertmanager.ts';

interface Mail {
  from: string;
  to: string[];
  data: string;
}

function startSmtp(): Promise<{ port: number; mails: Mail[]; close(): Promise<void> }> {
  const mails: Mail[] = [];
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    onData(stream, session, callback) {
      let data = '';
      stream.on('data', (c: Buffer) => (data += c.toString()));
      stream.on('end', () => {
        mails.push({ from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '', to: session.envelope.rcptTo.map((r) => r.address), data });
        callback();
      });
    },
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => {
      const port = (server.server.address() as { port: number }).port;
      resolve({ port, mails, close: () => new Promise((r) => server.close(() => r())) });
    }),
  );
}

const config = (http: string, smtpPort: number): string => `
global:
  resolve_timeout: 5m
  slack_api_url: ${http}/slack/T000/B000/XXXX
route:
  receiver: default
  group_by: [namespace, alertname]
  group_wait: 200ms
  group_interval: 500ms
  repeat_interval: 1h
  routes:
    - matchers: ['severity="critical"']
      receiver: pagerduty
      continue: true
    - match: { namespace: team-a }
      receiver: team-a
    - matchers: ['namespace=~"team-b|team-b2"']
      receiver: team-b
    - match_re: { namespace: team-c }
      receiver: team-c
      group_by: ['...']
inhibit_rules:
  - source_matchers: ['alertname="NodeDown"']
    target_matchers: ['severity="warning"']
    equal: [namespace]
receivers:
  - name: default
  - name: pagerduty
    pagerduty_configs:
      - routing_key: 0123456789abcdef0123456789abcdef
        url: ${http}/pagerduty/v2/enqueue
  - name: team-a
    webhook_configs:
      - url: ${http}/webhook/team-a
        http_config:
          authorization: { credentials: s3cret }
  - name: team-b
    slack_configs:
      - channel: '#team-b'
  - name: team-c
    email_configs:
      - to: oncall@team-c.example
        from: alertmanager@heimdall.example
        smarthost: 127.0.0.1:${smtpPort}
        require_tls: false
        send_resolved: true
`;

/** Alertmanager's webhook body (version 4). */
interface WebhookBody {
  version: string;
  status: string;
  receiver: string;
  groupKey: string;
  groupLabels: Record<string, string>;
  commonLabels: Record<string, string>;
  alerts: { status: string; labels: Record<string, string>; fingerprint: string }[];
}
/** A PagerDuty Events API v2 event. */
interface PagerdutyEvent {
  routing_key: string;
  event_action: string;
  dedup_key: string;
  payload: { summary: string; source: string; severity: string; custom_details: Record<string, string> };
  client: string;
  client_url: string;
}
/** A Slack incoming-webhook message. */
interface SlackMessage {
  channel: string;
  username: string;
  attachments: { title: string; title_link: string; color: string; fallback: string; text: string; mrkdwn_in: string[] }[];
}
const hook = (r: ReceivedRequest): WebhookBody => r.body as WebhookBody;
const pdEvent = (r: ReceivedRequest): PagerdutyEvent => r.body as PagerdutyEvent;

const ts = (ms: number): string => new Date(ms).toISOString();

function alert(labels: Record<string, string>, opts: { resolvedAtMs?: number; startsAtMs?: number } = {}): PostableAlert {
  const now = Date.now();
  return {
    labels,
    annotations: { summary: `${labels['alertname']} in ${labels['namespace']}` },
    startsAt: ts(opts.startsAtMs ?? now - 1000),
    endsAt: ts(opts.resolvedAtMs ?? now + 3_600_000),
    generatorURL: 'http://heimdall:3000/explore?expr=up',
  };
}

describe('built-in notifier', () => {
  let http: LoopbackReceiver;
  let smtp: Awaited<ReturnType<typeof startSmtp>>;
  let dir: string;
  let registry: Registry;
  let notifier: BuiltinNotifier;

  const open = (): BuiltinNotifier =>
    new BuiltinNotifier({
      config: parseAlertmanagerConfig(config(http.url, smtp.port)),
      dir,
      externalUrl: 'http://heimdall:3000/alerting',
      retentionMs: 120 * 3600_000,
      deliveryTimeoutMs: 10_000,
      retryInitialMs: 50,
      logger: pino({ level: 'silent' }),
      registry: (registry = new Registry()),
    });
  const at = (prefix: string): ReceivedRequest[] => http.bodies.filter((b) => b.path.startsWith(prefix));

  before(async () => {
    http = await startReceiver();
    smtp = await startSmtp();
    dir = mkdtempSync(path.join(os.tmpdir(), 'heimdall-notifier-'));
    notifier = open();
  });
  after(async () => {
    await notifier.stop();
    await http.close();
    await smtp.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('a critical alert pages PagerDuty (Events API v2) and its team webhook (v4 payload); resolving resolves both', async () => {
    const am = await notifier.tenant('tenant-1');
    const labels = { alertname: 'HighErrorRate', namespace: 'team-a', severity: 'critical', service: 'checkout' };
    am.put([alert(labels)]);
    const [pd] = await waitFor('the PagerDuty trigger', () => (at('/pagerduty').length > 0 ? at('/pagerduty') : undefined));
    const first = await waitFor('the team-a webhook', () => at('/webhook/team-a')[0]);

    // PagerDuty Events API v2: routing_key, event_action, dedup_key (≤255), payload.summary/source/severity.
    const event = pdEvent(pd!);
    assert.equal(event.routing_key, '0123456789abcdef0123456789abcdef');
    assert.equal(event.event_action, 'trigger');
    assert.match(event.dedup_key, /^[0-9a-f]{64}$/);
    assert.equal(event.payload.summary, '[FIRING:1] HighErrorRate team-a (checkout critical)');
    assert.equal(event.payload.source, 'Alertmanager');
    assert.ok(['critical', 'error', 'warning', 'info'].includes(event.payload.severity));
    assert.equal(event.payload.custom_details.num_firing, '1');
    assert.equal((JSON.parse(event.payload.custom_details['firing']!) as { Labels: Record<string, string> }[])[0]!.Labels['service'], 'checkout');
    assert.equal(event.client, 'Alertmanager');
    assert.equal(event.client_url, 'http://heimdall:3000/alerting/#/alerts?receiver=pagerduty');

    // Alertmanager's webhook JSON, version 4.
    assert.equal(first.headers['authorization'], 'Bearer s3cret');
    const body = hook(first);
    assert.deepEqual(Object.keys(body).sort(), ['alerts', 'commonAnnotations', 'commonLabels', 'externalURL', 'groupKey', 'groupLabels', 'receiver', 'status', 'truncatedAlerts', 'version']);
    assert.equal(body.version, '4');
    assert.equal(body.receiver, 'team-a');
    assert.equal(body.status, 'firing');
    assert.equal(body.groupKey, '{}/{namespace="team-a"}:{alertname="HighErrorRate", namespace="team-a"}');
    assert.deepEqual(body.groupLabels, { alertname: 'HighErrorRate', namespace: 'team-a' });
    assert.deepEqual(body.commonLabels, labels);
    assert.equal(body.alerts.length, 1);
    const a = body.alerts[0]!;
    assert.deepEqual(Object.keys(a).sort(), ['annotations', 'endsAt', 'fingerprint', 'generatorURL', 'labels', 'startsAt', 'status']);
    assert.equal(a.status, 'firing');
    assert.equal(a.fingerprint, fingerprint(labels));

    am.put([alert(labels, { resolvedAtMs: Date.now() })]);
    const resolve = await waitFor('the PagerDuty resolve', () => at('/pagerduty').find((b) => pdEvent(b).event_action === 'resolve'));
    assert.equal(pdEvent(resolve).dedup_key, event.dedup_key, 'the resolve closes the same incident');
    const resolvedHook = await waitFor('the resolved webhook', () => at('/webhook/team-a').find((b) => hook(b).status === 'resolved'));
    assert.equal(hook(resolvedHook).alerts[0]!.status, 'resolved');
    assert.equal(at('/webhook/team-a').length, 2, 'one firing and one resolved notification');
  });

  test('Slack gets an incoming-webhook message with the default title; no resolved message without send_resolved', async () => {
    const am = await notifier.tenant('tenant-1');
    const labels = { alertname: 'PodCrashLooping', namespace: 'team-b', severity: 'warning', pod: 'api-0' };
    am.put([alert(labels)]);
    const msg = await waitFor('the Slack message', () => at('/slack')[0]);
    assert.equal(msg.path, '/slack/T000/B000/XXXX');
    const body = msg.body as SlackMessage;
    assert.equal(body.channel, '#team-b');
    assert.equal(body.username, 'Alertmanager');
    assert.equal(body.attachments.length, 1);
    const att = body.attachments[0]!;
    assert.equal(att.title, '[FIRING:1] PodCrashLooping team-b (api-0 warning)');
    assert.equal(att.title_link, 'http://heimdall:3000/alerting/#/alerts?receiver=team-b');
    assert.equal(att.color, 'danger');
    assert.equal(att.fallback, `${att.title} | ${att.title_link}`);
    assert.deepEqual(att.mrkdwn_in, ['fallback', 'pretext', 'text']);
    assert.equal(typeof att.text, 'string');

    am.put([alert(labels, { resolvedAtMs: Date.now() })]);
    // The resolved alert leaves the group after a flush that sends nothing to Slack.
    await waitFor('the resolved alert to leave', () => (am.list().some((x) => x.alert.labels['pod'] === 'api-0') ? undefined : true));
    assert.equal(at('/slack').length, 1);
  });

  test('email through SMTP with the default subject; group_by "..." groups by every label', async () => {
    const am = await notifier.tenant('tenant-1');
    am.put([alert({ alertname: 'DiskFull', namespace: 'team-c', severity: 'warning', device: 'sda' }), alert({ alertname: 'DiskFull', namespace: 'team-c', severity: 'warning', device: 'sdb' })]);
    await waitFor('two emails', () => (smtp.mails.length >= 2 ? true : undefined));
    for (const m of smtp.mails) {
      assert.equal(m.from, 'alertmanager@heimdall.example');
      assert.deepEqual(m.to, ['oncall@team-c.example']);
      assert.match(m.data, /^Subject: \[FIRING:1\] DiskFull sd[ab] team-c warning $/m);
      assert.match(m.data, /Content-Type: text\/html/);
      assert.match(m.data, /Content-Type: text\/plain/);
    }
  });

  test('a silence suppresses, inhibition mutes warnings of a namespace whose node is down; the API shows why', async () => {
    const am = await notifier.tenant('tenant-2');
    const now = Date.now();
    await assert.rejects(am.silences.upsert({ matchers: [{ name: 'alertname', value: '.*', isRegex: true, isEqual: true }], startsAt: ts(now), endsAt: ts(now + 60_000), createdBy: 't', comment: 'c' }, now), /must not match the empty string/);
    const id = await am.silences.upsert({ matchers: [{ name: 'alertname', value: 'Noisy', isRegex: false, isEqual: true }], startsAt: ts(now), endsAt: ts(now + 3_600_000), createdBy: 'test', comment: 'maintenance' }, now);
    am.put([alert({ alertname: 'Noisy', namespace: 'team-a' })]);
    am.put([alert({ alertname: 'NodeDown', namespace: 'team-a' }), alert({ alertname: 'DiskSlow', namespace: 'team-a', severity: 'warning' })]);
    await waitFor('the NodeDown webhook', () => at('/webhook/team-a').find((b) => hook(b).groupLabels['alertname'] === 'NodeDown'));
    const listed = am.list();
    const noisy = listed.find((x) => x.alert.labels['alertname'] === 'Noisy')!;
    assert.deepEqual(noisy.silencedBy, [id]);
    const disk = listed.find((x) => x.alert.labels['alertname'] === 'DiskSlow')!;
    assert.deepEqual(disk.inhibitedBy, [fingerprint({ alertname: 'NodeDown', namespace: 'team-a' })]);
    // Both suppressed groups have flushed by now (they are older than the NodeDown group's first flush).
    await sleep(1200);
    const names = at('/webhook/team-a').map((b) => hook(b).groupLabels['alertname']);
    assert.ok(!names.includes('Noisy') && !names.includes('DiskSlow'), names.join());
  });

  test('a failed delivery is retried with backoff and counted', async () => {
    const am = await notifier.tenant('tenant-3');
    http.failNext(2, 503);
    am.put([alert({ alertname: 'Retried', namespace: 'team-a' })]);
    await waitFor('the retried webhook', () => at('/webhook/team-a').find((b) => hook(b).groupLabels['alertname'] === 'Retried'));
    const text = await registry.metrics();
    const failed = Number(/heimdall_alertmanager_notification_requests_failed_total\{integration="webhook"\} (\d+)/.exec(text)?.[1]);
    assert.ok(failed >= 2, text);
  });

  test('after a restart, silences hold and a still-firing alert is not notified again within repeat_interval', async () => {
    const am = await notifier.tenant('tenant-4');
    const now = Date.now();
    const silenceId = await am.silences.upsert({ matchers: [{ name: 'alertname', value: 'Quiet', isRegex: false, isEqual: true }], startsAt: ts(now), endsAt: ts(now + 3_600_000), createdBy: 'test', comment: 'kept' }, now);
    const firing = alert({ alertname: 'StillFiring', namespace: 'team-a' });
    am.put([firing]);
    await waitFor('the first notification', () => at('/webhook/team-a').find((b) => hook(b).groupLabels['alertname'] === 'StillFiring'));
    await notifier.stop();

    notifier = open();
    const again = await notifier.tenant('tenant-4');
    assert.equal(again.silences.get(silenceId, Date.now())?.state, 'active');
    // The ruler resends the firing alert; a new alert in another group shows the flushes have run.
    again.put([firing, alert({ alertname: 'Quiet', namespace: 'team-a' }), alert({ alertname: 'AfterRestart', namespace: 'team-a' })]);
    await waitFor('the new alert', () => at('/webhook/team-a').find((b) => hook(b).groupLabels['alertname'] === 'AfterRestart'));
    await sleep(1200);
    const names = at('/webhook/team-a').map((b) => hook(b).groupLabels['alertname']);
    assert.equal(names.filter((n) => n === 'StillFiring').length, 1, names.join());
    assert.ok(!names.includes('Quiet'));
  });
});

test('the default configuration routes each namespace to its team and critical alerts to PagerDuty', () => {
  const text = defaultAlertmanagerConfig({
    teams: { payments: { webhook_configs: [{ url: 'http://hooks.example/payments' }] }, search: { slack_configs: [{ api_url: 'http://slack.example/x', channel: '#search' }] } },
    pagerdutyRoutingKey: 'key',
    groupWait: '30s',
    groupInterval: '5m',
    repeatInterval: '4h',
  });
  const cfg = parseAlertmanagerConfig(text);
  assert.deepEqual(cfg.route.groupBy, ['namespace', 'alertname']);
  assert.deepEqual(
    cfg.route.routes.map((r) => [r.key, r.receiver, r.continue]),
    [
      ['{}/{severity="critical"}', 'pagerduty', true],
      ['{}/{namespace="payments"}', 'payments', false],
      ['{}/{namespace="search"}', 'search', false],
    ],
  );
  assert.deepEqual([...cfg.receivers.keys()], ['default', 'pagerduty', 'payments', 'search']);
  assert.throws(() => parseAlertmanagerConfig('route: {receiver: x}\nreceivers: [{name: y}]'), /undefined receiver "x"/);
  assert.throws(() => parseAlertmanagerConfig('route: {receiver: x}\nreceivers: [{name: x, telegram_configs: [{}]}]'), /telegram_configs is not supported/);
  assert.throws(() => parseAlertmanagerConfig('route: {receiver: x}\nreceivers: [{name: x, opsgenie_configs: [{}]}]'), /no global OpsGenie API Key set/);
  assert.throws(() => parseAlertmanagerConfig('route: {receiver: x}\nreceivers: [{name: x, opsgenie_configs: [{api_key: k, responders: [{type: team}]}]}]'), /at least one of id, username or name/);
  assert.throws(() => parseAlertmanagerConfig('route: {receiver: x}\nreceivers: [{name: x, discord_configs: [{}]}]'), /discord_configs\[0\]: one of webhook_url or webhook_url_file must be configured/);
  assert.throws(() => parseAlertmanagerConfig('route: {receiver: x}\nreceivers: [{name: x, msteams_configs: [{webhook_url: "http://a", webhook_url_file: "/f"}]}]'), /at most one of webhook_url & webhook_url_file/);
  assert.throws(() => parseAlertmanagerConfig('route: {receiver: x, routes: [{matchers: ["a=~\\"(\\""]}]}\nreceivers: [{name: x}]'), /route.routes\[0\].matchers\[0\]/);
});

test('time intervals: a muted or inactive route sends nothing and shows why; after the mute ends the firing alert is sent', async () => {
  const http = await startReceiver();
  const dir = mkdtempSync(path.join(os.tmpdir(), 'heimdall-notifier-ti-'));
  const config = (mutedRoute: string): string => `
route:
  receiver: default
  group_by: [alertname]
  group_wait: 100ms
  group_interval: 300ms
  repeat_interval: 1h
  routes:
    - matchers: ['team="muted"']
      receiver: hook
${mutedRoute}
    - matchers: ['team="inactive"']
      receiver: hook
      active_time_intervals: [never]
    - matchers: ['team="open"']
      receiver: hook
      mute_time_intervals: [never]
time_intervals:
  - name: always
    time_intervals: [{}]
  - name: never
    time_intervals: [{ years: ['1999'] }]
receivers:
  - name: default
  - name: hook
    webhook_configs: [{ url: ${http.url}/hook }]
`;
  const registry = new Registry();
  const notifier = new BuiltinNotifier({
    config: parseAlertmanagerConfig(config('      mute_time_intervals: [always]')),
    dir,
    externalUrl: 'http://heimdall:3000/alerting',
    retentionMs: 3600_000,
    deliveryTimeoutMs: 10_000,
    retryInitialMs: 50,
    logger: pino({ level: 'silent' }),
    registry,
  });
  try {
    const am = await notifier.tenant('t');
    am.put([alert({ alertname: 'Muted', team: 'muted' }), alert({ alertname: 'Inactive', team: 'inactive' }), alert({ alertname: 'Open', team: 'open' })]);
    const sent = (): string[] => http.bodies.map((b) => hook(b).groupLabels['alertname']!);
    await waitFor('the open route', () => sent().includes('Open') || undefined);
    // Several group intervals later the muted and inactive groups have flushed without notifying.
    for (const reason of ['active_time_interval', 'mute_time_interval']) {
      const counted = new RegExp(`heimdall_alertmanager_alerts_suppressed_total\\{reason="${reason}"\\} [1-9]`);
      await waitFor(`a flush held back by ${reason}`, async () => counted.test(await registry.metrics()) || undefined);
    }
    assert.deepEqual(sent(), ['Open']);
    const groups = am.alertGroups();
    const mutedBy = Object.fromEntries(groups.map((g) => [g.labels['alertname'], g.mutedBy]));
    assert.deepEqual(mutedBy, { Muted: ['always'], Inactive: ['never'], Open: [] });
    // The mute ends (a reload without it): the still-firing alert is notified at the next flush.
    am.reconfigure(parseAlertmanagerConfig(config('')));
    await waitFor('the formerly muted alert', () => sent().includes('Muted') || undefined);
    assert.ok(!sent().includes('Inactive'));
  } finally {
    await notifier.stop();
    await http.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
