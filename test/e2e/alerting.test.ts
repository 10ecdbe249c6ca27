// Alerting end to end on the real binary with the built-in notifier: rules loaded through the Mimir ruler
// API, data pushed with remote_write, an alert going pending → firing → resolved with its notifications at
// the right loopback receiver (the team's webhook, critical alerts at a PagerDuty stand-in), a silence
// created through the Alertmanager API suppressing, an inhibited warning, and a restart in between that
// keeps silences and the notification log (no duplicate notification).
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { startReceiver, waitFor } from '../support/loopback-receiver.ts';
import type { LoopbackReceiver, ReceivedRequest } from '../support/loopback-receiver.ts';
import { remoteWrite } from '../support/write-clients.ts';
import { startHeimdall } from './harness.ts';
import type { HeimdallProcess } from './harness.ts';

const RULES = `
name: availability
interval: 1s
rules:
  - alert: InstanceDown
    expr: test_up == 0
    for: 2s
    labels:
      severity: critical
    annotations:
      summary: "{{ $labels.instance }} is down"
  - alert: InstanceFlapping
    expr: test_up == 0
    for: 5s
    labels:
      severity: warning
  - alert: NoisyCheck
    expr: test_up == 0
    labels:
      severity: info
`;

interface WebhookBody {
  status: string;
  receiver: string;
  groupLabels: Record<string, string>;
  alerts: { status: string; labels: Record<string, string>; annotations: Record<string, string> }[];
}
interface AmAlert {
  labels: Record<string, string>;
  status: { state: string; silencedBy: string[]; inhibitedBy: string[] };
  receivers: { name: string }[];
}

let heimdall: HeimdallProcess;
let receiver: LoopbackReceiver;
const dataDir = mkdtempSync(path.join(os.tmpdir(), 'al-alerting-e2e-'));
const amConfig = path.join(dataDir, 'alertmanager.yml');

const hooks = (alertname: string, status?: string): WebhookBody[] =>
  receiver.bodies
    .filter((b: ReceivedRequest) => b.path === '/hook/team-a')
    .map((b) => b.body as WebhookBody)
    .filter((b) => b.groupLabels['alertname'] === alertname && (status === undefined || b.status === status));
const pages = (action: string): ReceivedRequest[] => receiver.bodies.filter((b) => b.path === '/pagerduty' && (b.body as { event_action: string }).event_action === action);
const start = (): Promise<HeimdallProcess> =>
  startHeimdall({ dataDir, config: { rules: { evaluation_interval: '1s', resend_delay: '1s' }, alertmanager: { config_file: amConfig } } });
const amAlerts = async (): Promise<AmAlert[]> => (await (await fetch(`${heimdall.httpUrl}/alertmanager/api/v2/alerts`)).json()) as AmAlert[];

before(async () => {
  receiver = await startReceiver();
  writeFileSync(
    amConfig,
    `
route:
  receiver: default
  group_by: [namespace, alertname]
  group_wait: 500ms
  group_interval: 1s
  repeat_interval: 1h
  routes:
    - matchers: ['severity="critical"']
      receiver: pagerduty
      continue: true
    - matchers: ['namespace="team-a"']
      receiver: team-a
inhibit_rules:
  - source_matchers: ['severity="critical"']
    target_matchers: ['severity="warning"']
    equal: [namespace, instance]
receivers:
  - name: default
  - name: pagerduty
    pagerduty_configs:
      - routing_key: e2e-routing-key
        url: ${receiver.url}/pagerduty
  - name: team-a
    webhook_configs:
      - url: ${receiver.url}/hook/team-a
`,
  );
  heimdall = await start();
});

after(async () => {
  await heimdall?.stop({ keepData: true });
  await receiver?.close();
  rmSync(dataDir, { recursive: true, force: true });
});

test('pending → firing → resolved through the built-in notifier, with a silence, inhibition and a restart', async () => {
  const posted = await fetch(`${heimdall.httpUrl}/prometheus/config/v1/rules/team-a`, { method: 'POST', body: RULES, headers: { 'content-type': 'application/yaml' } });
  assert.equal(posted.status, 202);

  // A silence for NoisyCheck, made before it fires; a bad one is refused with Alertmanager's message.
  const bad = await fetch(`${heimdall.httpUrl}/alertmanager/api/v2/silences`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ matchers: [], startsAt: new Date().toISOString(), endsAt: new Date(Date.now() + 3_600_000).toISOString(), createdBy: 'e2e', comment: 'x' }),
  });
  assert.equal(bad.status, 400);
  assert.match(await bad.text(), /at least one matcher/);
  const created = await fetch(`${heimdall.httpUrl}/alertmanager/api/v2/silences`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      matchers: [{ name: 'alertname', value: 'NoisyCheck', isRegex: false, isEqual: true }],
      startsAt: new Date().toISOString(),
      endsAt: new Date(Date.now() + 3_600_000).toISOString(),
      createdBy: 'e2e',
      comment: 'known noisy',
    }),
  });
  assert.equal(created.status, 200);
  const { silenceID } = (await created.json()) as { silenceID: string };

  const now = Date.now();
  assert.equal((await remoteWrite(heimdall.httpUrl, 'anonymous', 'test_up', { job: 'shop', instance: 'i1', namespace: 'team-a' }, [now], [0])).status, 204);
  await waitFor('InstanceDown pending', async () => {
    const res = (await (await fetch(`${heimdall.httpUrl}/prometheus/api/v1/alerts`)).json()) as { data: { alerts: { labels: Record<string, string>; state: string }[] } };
    return res.data.alerts.find((a) => a.labels['alertname'] === 'InstanceDown' && a.state === 'pending');
  });

  // Firing: the team's webhook and PagerDuty are notified.
  const firing = await waitFor('the InstanceDown webhook', () => hooks('InstanceDown', 'firing')[0]);
  assert.equal(firing.receiver, 'team-a');
  assert.equal(firing.alerts[0]!.annotations['summary'], 'i1 is down');
  const page = await waitFor('the PagerDuty trigger', () => pages('trigger')[0]);
  assert.equal((page.body as { routing_key: string }).routing_key, 'e2e-routing-key');

  // The silenced and the inhibited alerts are held, with the reason, and not notified.
  const held = await waitFor('NoisyCheck and InstanceFlapping in the Alertmanager API', async () => {
    const list = await amAlerts();
    const noisy = list.find((a) => a.labels['alertname'] === 'NoisyCheck');
    const flapping = list.find((a) => a.labels['alertname'] === 'InstanceFlapping');
    return noisy && flapping ? { noisy, flapping } : undefined;
  });
  assert.deepEqual(held.noisy.status, { state: 'suppressed', silencedBy: [silenceID], inhibitedBy: [], mutedBy: [] });
  assert.equal(held.flapping.status.state, 'suppressed');
  assert.equal(held.flapping.status.inhibitedBy.length, 1);
  assert.deepEqual(held.flapping.receivers, [{ name: 'team-a' }]);

  // Restart while the alert fires: silences and the notification log survive; no second firing notification.
  await heimdall.stop({ keepData: true });
  heimdall = await start();
  const silence = (await (await fetch(`${heimdall.httpUrl}/alertmanager/api/v2/silence/${silenceID}`)).json()) as { status: { state: string }; comment: string };
  assert.deepEqual([silence.status.state, silence.comment], ['active', 'known noisy']);
  await waitFor('InstanceDown back in the Alertmanager API', async () => (await amAlerts()).find((a) => a.labels['alertname'] === 'InstanceDown'));
  // Several group flushes pass (group_interval 1s) without a repeat.
  await sleep(3000);
  assert.equal(hooks('InstanceDown', 'firing').length, 1);
  assert.equal(pages('trigger').length, 1);
  assert.equal(hooks('NoisyCheck').length + hooks('InstanceFlapping').length, 0);

  // The instance comes back: resolved notifications at both receivers.
  assert.equal((await remoteWrite(heimdall.httpUrl, 'anonymous', 'test_up', { job: 'shop', instance: 'i1', namespace: 'team-a' }, [Date.now()], [1])).status, 204);
  const resolved = await waitFor('the resolved webhook', () => hooks('InstanceDown', 'resolved')[0]);
  assert.equal(resolved.alerts[0]!.status, 'resolved');
  await waitFor('the PagerDuty resolve', () => pages('resolve')[0]);

  // Expiring the silence through the API.
  assert.equal((await fetch(`${heimdall.httpUrl}/alertmanager/api/v2/silence/${silenceID}`, { method: 'DELETE' })).status, 200);
  const listed = (await (await fetch(`${heimdall.httpUrl}/alertmanager/api/v2/silences`)).json()) as { id: string; status: { state: string } }[];
  assert.equal(listed.find((s) => s.id === silenceID)?.status.state, 'expired');
  const metrics = await (await fetch(`${heimdall.httpUrl}/metrics`)).text();
  assert.match(metrics, /^heimdall_alertmanager_notifications_total\{integration="webhook"\} [1-9]/m);
});

test("a tenant's own Alertmanager configuration through Mimir's /api/v1/alerts: validated, run with its template files, kept across a restart, deleted", async () => {
  // The restart below moves Heimdall to a new port: the URL is taken each time.
  const configApi = (): string => `${heimdall.httpUrl}/api/v1/alerts`;
  assert.equal((await fetch(configApi())).status, 404);
  const bad = await fetch(configApi(), { method: 'POST', body: 'alertmanager_config: |\n  route: { receiver: nobody }\n  receivers: [{ name: somebody }]\n' });
  assert.equal(bad.status, 400);
  assert.match(await bad.text(), /undefined receiver "nobody" used in route/);
  assert.equal((await fetch(configApi())).status, 404, 'a refused configuration is not stored');

  const own = `route:
  receiver: own
  group_by: [alertname]
  group_wait: 200ms
  group_interval: 1s
templates: [own.tmpl]
receivers:
  - name: own
    slack_configs:
      - api_url: ${receiver.url}/slack-own
        channel: '#own'
        title: '{{ template "own.title" . }}'
`;
  const body = `template_files:\n  own.tmpl: '{{ define "own.title" }}{{ .Alerts.Firing | len }} firing in {{ .CommonLabels.namespace }}{{ end }}'\nalertmanager_config: |\n${own.replace(/^/gm, '  ')}`;
  const posted = await fetch(configApi(), { method: 'POST', body, headers: { 'content-type': 'application/yaml' } });
  assert.equal(posted.status, 201, await posted.text());

  // The tenant now runs its own routing: an alert goes to its Slack receiver with its template.
  const alert = [{ labels: { alertname: 'OwnConfig', namespace: 'team-own' }, annotations: {} }];
  assert.equal((await fetch(`${heimdall.httpUrl}/alertmanager/api/v2/alerts`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(alert) })).status, 200);
  const message = await waitFor('the Slack message of the own configuration', () => receiver.bodies.find((b) => b.path === '/slack-own'));
  assert.equal((message.body as { attachments: { title: string }[] }).attachments[0]!.title, '1 firing in team-own');

  // Kept across a restart, and shown by the status API.
  await heimdall.stop({ keepData: true });
  heimdall = await start();
  const got = await fetch(configApi());
  assert.equal(got.status, 200);
  const text = await got.text();
  assert.match(text, /alertmanager_config: \|/);
  assert.match(text, /own\.tmpl:/);
  const status = (await (await fetch(`${heimdall.httpUrl}/alertmanager/api/v2/status`)).json()) as { config: { original: string } };
  assert.match(status.config.original, /slack-own/);

  // Deleted: the fallback configuration (the file's) runs again.
  assert.equal((await fetch(configApi(), { method: 'DELETE' })).status, 200);
  assert.equal((await fetch(configApi())).status, 404);
  const after = (await (await fetch(`${heimdall.httpUrl}/alertmanager/api/v2/status`)).json()) as { config: { original: string } };
  assert.doesNotMatch(after.config.original, /slack-own/);
});
