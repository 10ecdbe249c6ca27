// Heimdall's built-in notifier beside a real Alertmanager v0.35 on one configuration: the same alerts posted to
// both give the same `GET /api/v2/alerts/groups` (groups, receivers, states and the time intervals muting each
// group: fixed ones and ones computed from the current time in other time zones), and the same Slack message
// rendered from user templates (`templates:` files with `define`, `.Alerts.Firing`, `.SortedPairs`, `.Remove`)
// mixed with Alertmanager's default templates.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startReceiver, waitFor } from '../support/loopback-receiver.ts';
import type { LoopbackReceiver } from '../support/loopback-receiver.ts';
import { executable, findGoTool, skipUnlessFound, startGoPeer } from './go-tools.ts';
import type { GoPeerProcess } from './go-tools.ts';
import { startHeimdall } from './harness.ts';
import type { HeimdallProcess } from './harness.ts';

const ALERTMANAGER = process.env.ALERTMANAGER_BIN ?? findGoTool('alertmanager');
const SKIP = skipUnlessFound(ALERTMANAGER && executable(ALERTMANAGER) ? ALERTMANAGER : undefined, 'Alertmanager v0.35.0', 'see .ci/run');

const WEEKDAYS = ['sunday', 'monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday'];
/** Today's weekday in `zone`, so an interval naming it holds now there (and only there, most days). */
function weekdayIn(zone: string): string {
  return new Intl.DateTimeFormat('en-US', { timeZone: zone, weekday: 'long' }).format(Date.now()).toLowerCase();
}
const otherDay = (day: string): string => WEEKDAYS[(WEEKDAYS.indexOf(day) + 3) % 7]!;

/** A team's templates file: what users put next to their Alertmanager config. */
const TEMPLATES = `
{{ define "team.title" }}[{{ .Status | toUpper }}{{ if eq .Status "firing" }}:{{ .Alerts.Firing | len }}{{ end }}] {{ .CommonLabels.alertname }} on {{ .GroupLabels.SortedPairs.Values | join ", " }}{{ end }}
{{ define "team.text" }}{{ range .Alerts.Firing }}*{{ .Labels.severity | toUpper }}* {{ .Annotations.summary }}
{{ range .Labels.SortedPairs }}  {{ .Name }}={{ .Value }}
{{ end }}{{ end }}Common beyond the group: {{ with .CommonLabels.Remove .GroupLabels.Names }}{{ .Names | join "," }}{{ end }}
{{ template "team.footer" . }}{{ end }}
{{ define "team.footer" }}{{ len .Alerts }} alert(s) for {{ .Receiver }}{{ end }}
`;

const config = (base: string): string => `
templates: ['templates/*.tmpl']
route:
  receiver: default
  group_by: [alertname]
  group_wait: 1h
  routes:
    - { matchers: ['case="always"'], receiver: muted, mute_time_intervals: [always] }
    - { matchers: ['case="never"'], receiver: muted, mute_time_intervals: [never] }
    - { matchers: ['case="inactive"'], receiver: active, active_time_intervals: [never] }
    - { matchers: ['case="active"'], receiver: active, active_time_intervals: [always, never] }
    - { matchers: ['case="tokyo"'], receiver: muted, mute_time_intervals: [today-in-tokyo, other-day-in-la] }
    - { matchers: ['case="both"'], receiver: both, active_time_intervals: [never], mute_time_intervals: [always, end-of-month] }
    - { matchers: ['case="slack"'], receiver: slack, group_by: [alertname, cluster], group_wait: 200ms, group_interval: 1s }
time_intervals:
  - name: always
    time_intervals: [{}]
  - name: today-in-tokyo
    time_intervals: [{ location: Asia/Tokyo, weekdays: ['${weekdayIn('Asia/Tokyo')}'] }]
  - name: other-day-in-la
    time_intervals: [{ location: America/Los_Angeles, weekdays: ['${otherDay(weekdayIn('America/Los_Angeles'))}'] }]
  - name: end-of-month
    time_intervals: [{ days_of_month: ['-3:-1'], times: [{ start_time: '00:00', end_time: '24:00' }] }]
mute_time_intervals:
  - name: never
    time_intervals: [{ years: ['1999:2001'] }]
receivers:
  - { name: default }
  - { name: muted }
  - { name: active }
  - { name: both }
  - name: slack
    slack_configs:
      - api_url: ${base}/slack
        channel: '#team'
        title: '{{ template "team.title" . }}'
        text: '{{ template "team.text" . }}'
        pretext: '{{ template "__subject" . }}'
        fallback: '{{ template "slack.default.fallback" . }}'
    discord_configs:
      - webhook_url: ${base}/discord
        username: heimdall-bot
      - webhook_url: ${base}/discord-custom
        title: '{{ template "team.title" . }}'
        content: 'on call: {{ .CommonLabels.team }}'
    msteams_configs:
      - webhook_url: ${base}/msteams
    msteamsv2_configs:
      - webhook_url: ${base}/msteamsv2
    webex_configs:
      - api_url: ${base}/webex
        room_id: 'room-{{ .CommonLabels.team }}'
        http_config: { authorization: { credentials: webex-token } }
    opsgenie_configs:
      - api_url: ${base}/opsgenie
        api_key: 'key-{{ .CommonLabels.team }}'
        update_alerts: true
        priority: '{{ if eq .CommonLabels.severity "critical" }}P1{{ else }}P3{{ end }}'
        tags: 'latency, {{ .CommonLabels.team }},'
        details: { cluster: '{{ .CommonLabels.cluster }}', runbook: 'https://runbooks.example/latency' }
        responders:
          - { name: 'sre,{{ .CommonLabels.team }}', type: teams }
          - { username: oncall@example.com, type: User }
`;

interface Group {
  labels: Record<string, string>;
  receiver: { name: string };
  alerts: { labels: Record<string, string>; fingerprint: string; status: { state: string; mutedBy: string[]; silencedBy: string[]; inhibitedBy: string[] } }[];
}

/** A group as both servers should describe it (order-free). */
function summary(groups: Group[]): string[] {
  return groups
    .map((g) => JSON.stringify([g.receiver.name, g.labels, g.alerts.map((a) => [a.labels['case'], a.fingerprint, a.status.state, a.status.mutedBy.slice().sort()])]))
    .sort();
}

describe('the built-in notifier beside Alertmanager v0.35', { skip: SKIP }, () => {
  let am: GoPeerProcess | undefined;
  let heimdall: HeimdallProcess | undefined;
  let slack: LoopbackReceiver | undefined;
  const dir = mkdtempSync(path.join(os.tmpdir(), 'heimdall-am-compat-'));
  const EXTERNAL = 'http://alerts.example/alerting';

  before(async () => {
    slack = await startReceiver();
    mkdirSync(path.join(dir, 'templates'));
    writeFileSync(path.join(dir, 'templates', 'team.tmpl'), TEMPLATES);
    // One file per server, differing only in where its Slack messages go.
    writeFileSync(path.join(dir, 'am.yml'), config(`${slack.url}/from-alertmanager`));
    writeFileSync(path.join(dir, 'heimdall.yml'), config(`${slack.url}/from-heimdall`));
    am = await startGoPeer(
      'alertmanager',
      ALERTMANAGER!,
      (d, port) => [`--config.file=${path.join(dir, 'am.yml')}`, `--storage.path=${d}`, `--web.listen-address=127.0.0.1:${port}`, '--cluster.listen-address=', `--web.external-url=${EXTERNAL}`, '--web.route-prefix=/'],
      '/-/ready',
    );
    heimdall = await startHeimdall({ config: { alertmanager: { config_file: path.join(dir, 'heimdall.yml'), external_url: EXTERNAL } } });
  });
  after(async () => {
    await heimdall?.stop();
    await am?.stop();
    await slack?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('Slack, Discord, MS Teams, Teams Workflows, Webex and Opsgenie messages from user and default templates are the same, character for character, firing and resolved', async () => {
    const alerts = [
      { labels: { alertname: 'HighLatency', cluster: 'eu-1', case: 'slack', severity: 'critical', instance: 'api-1', team: 'payments' }, annotations: { summary: 'p99 above 2s' } },
      { labels: { alertname: 'HighLatency', cluster: 'eu-1', case: 'slack', severity: 'warning', instance: 'api-2', team: 'payments' }, annotations: { summary: 'p99 above 1s' } },
    ];
    for (const base of [`${am!.url}/api/v2`, `${heimdall!.httpUrl}/alertmanager/api/v2`]) {
      const res = await fetch(`${base}/alerts`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(alerts) });
      assert.equal(res.status, 200, await res.text());
    }
    type Slack = { channel: string; username: string; attachments: Record<string, unknown>[] };
    const sent = (from: string, receiver: string, nth = 0): Promise<unknown> =>
      waitFor(`message ${nth + 1} to ${receiver} from ${from}`, () => slack!.bodies.filter((b) => b.path === `/from-${from}/${receiver}`)[nth]?.body);
    const message = async (from: string): Promise<Slack> => (await sent(from, 'slack')) as Slack;
    const theirs = await message('alertmanager');
    const ours = await message('heimdall');
    const fields = (m: Slack): Record<string, unknown> => {
      const a = m.attachments[0]!;
      return { channel: m.channel, username: m.username, title: a['title'], text: a['text'], pretext: a['pretext'], fallback: a['fallback'], color: a['color'] };
    };
    assert.deepEqual(fields(ours), fields(theirs));
    assert.match(String(theirs.attachments[0]!['text']), /\*CRITICAL\* p99 above 2s\n {2}alertname=HighLatency/);
    // The other receivers' whole payloads, defaults and overrides.
    const chat = ['discord', 'discord-custom', 'msteams', 'msteamsv2', 'webex'];
    for (const r of chat) assert.deepEqual(await sent('heimdall', r), await sent('alertmanager', r), r);
    // Opsgenie: a create and, with update_alerts, two updates by alias; the same paths, keys and bodies.
    const opsgenie = async (from: string, count: number): Promise<unknown[]> => {
      const calls = await waitFor(`${count} Opsgenie calls from ${from}`, () => {
        const got = slack!.bodies.filter((b) => b.path.startsWith(`/from-${from}/opsgenie/`));
        return got.length >= count ? got : undefined;
      });
      return calls.map((c) => [c.path.slice(`/from-${from}`.length), c.headers['authorization'], c.body]);
    };
    assert.deepEqual(await opsgenie('heimdall', 3), await opsgenie('alertmanager', 3));

    // Resolved: both send the resolved messages (send_resolved is on by default for these receivers).
    const resolved = alerts.map((a) => ({ ...a, endsAt: new Date(Date.now() - 1000).toISOString() }));
    for (const base of [`${am!.url}/api/v2`, `${heimdall!.httpUrl}/alertmanager/api/v2`]) {
      const res = await fetch(`${base}/alerts`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(resolved) });
      assert.equal(res.status, 200, await res.text());
    }
    for (const r of chat) assert.deepEqual(await sent('heimdall', r, 1), await sent('alertmanager', r, 1), `${r} resolved`);
    // Resolved closes the Opsgenie alert by alias.
    assert.deepEqual(await opsgenie('heimdall', 4), await opsgenie('alertmanager', 4));
    assert.match(JSON.stringify(await sent('alertmanager', 'msteams', 1)), /# Alerts Resolved:/);
  });

  test('GET /api/v2/alerts/groups with time intervals: the same groups, receivers, states and mutedBy', async () => {
    const cases = ['always', 'never', 'inactive', 'active', 'tokyo', 'both', 'unrouted'];
    const alerts = cases.map((c) => ({ labels: { alertname: `A-${c}`, case: c }, annotations: { summary: c } }));
    const urls = { alertmanager: `${am!.url}/api/v2`, heimdall: `${heimdall!.httpUrl}/alertmanager/api/v2` };
    for (const base of Object.values(urls)) {
      const res = await fetch(`${base}/alerts`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(alerts) });
      assert.equal(res.status, 200, await res.text());
    }
    const groupsOf = async (base: string, query = ''): Promise<Group[] | undefined> => {
      // Only this test's groups (the other test's group may still be there, or resolved and gone).
      const groups = ((await (await fetch(`${base}/alerts/groups${query}`)).json()) as Group[]).filter((g) => g.labels['alertname']?.startsWith('A-'));
      return groups.length === cases.length ? groups : undefined;
    };
    const theirs = await waitFor('Alertmanager groups every alert', () => groupsOf(urls.alertmanager));
    const ours = await waitFor('Heimdall groups every alert', () => groupsOf(urls.heimdall));
    assert.deepEqual(summary(ours), summary(theirs));
    // The case this test is about actually varies: some groups are muted and some are not.
    const muted = theirs.filter((g) => g.alerts[0]!.status.mutedBy.length > 0).map((g) => g.labels['alertname']);
    assert.ok(muted.includes('A-always') && muted.includes('A-inactive') && muted.includes('A-tokyo') && !muted.includes('A-never'), muted.join());

    // `muted=false` leaves the muted groups out, a filter and a receiver narrow the rest, on both.
    for (const query of ['?muted=false', '?filter=case%3D~%22(always|never)%22', '?receiver=active']) {
      const mine = async (base: string): Promise<Group[]> =>
        ((await (await fetch(`${base}/alerts/groups${query}`)).json()) as Group[]).filter((g) => g.labels['alertname']?.startsWith('A-'));
      const a = await mine(urls.alertmanager);
      const h = await mine(urls.heimdall);
      assert.deepEqual(summary(h), summary(a), query);
    }
  });
});
