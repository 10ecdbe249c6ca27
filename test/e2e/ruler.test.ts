// The ruler end to end on the real binary: rule groups loaded through the Mimir and Loki ruler APIs, data
// pushed with remote_write and Loki push, an alert watched going pending → firing → resolved, a recording
// rule queried back through PromQL, a restart that keeps the rules and the `for` state, and the alerts
// arriving at a loopback Alertmanager v2 receiver and at a real Alertmanager v0.35.0 (built outside the repo
// by .ci/run; its part is skipped with a reason when the binary is absent outside CI).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { waitFor } from '../support/bounds.ts';
import { startReceiver } from '../support/loopback-receiver.ts';
import type { LoopbackReceiver as Receiver } from '../support/loopback-receiver.ts';
import { lokiPush, remoteWrite } from '../support/write-clients.ts';
import { executable, findGoTool, freePort, skipUnlessFound } from './go-tools.ts';
import { startHeimdall } from './harness.ts';
import type { HeimdallProcess } from './harness.ts';

/** Alertmanager v0.35.0: `ALERTMANAGER_BIN`, else `$(go env GOPATH)/bin` or PATH (.ci/run builds it there), else /work/peers. */
const ALERTMANAGER = process.env.ALERTMANAGER_BIN ?? findGoTool('alertmanager') ?? '/work/peers/alertmanager/alertmanager';
const AM_SKIP = skipUnlessFound(executable(ALERTMANAGER) ? ALERTMANAGER : undefined, 'Alertmanager v0.35.0', 'see .ci/run');

interface ApiAlert {
  labels: Record<string, string>;
  annotations: Record<string, string>;
  state: string;
  activeAt: string;
  value: string;
}

async function getJson<T>(url: string): Promise<T> {
  const res = await fetch(url);
  assert.equal(res.status, 200, `${url}: ${res.status}`);
  return (await res.json()) as T;
}

const alertsOf = async (h: HeimdallProcess): Promise<ApiAlert[]> =>
  (await getJson<{ data: { alerts: ApiAlert[] } }>(`${h.httpUrl}/prometheus/api/v1/alerts`)).data.alerts;

const METRIC_GROUP = `
name: availability
interval: 1s
rules:
  - record: job:test_up:sum
    expr: sum by (job) (test_up)
  - alert: InstanceDown
    expr: test_up == 0
    for: 2s
    labels:
      severity: critical
    annotations:
      summary: "{{ $labels.instance }} of {{ $labels.job }} is down (value {{ $value }})"
  - alert: SlowBurn
    expr: test_up == 0
    for: 1h
`;

const LOG_GROUP = `
name: log-errors
interval: 1s
rules:
  - alert: ErrorLogs
    expr: sum by (app) (count_over_time({app="shop"} |= "error" [5m])) > 2
    annotations:
      summary: "{{ $value }} errors in {{ $labels.app }}"
`;

async function postGroup(h: HeimdallProcess, path: string, yaml: string): Promise<Response> {
  return fetch(`${h.httpUrl}${path}`, { method: 'POST', body: yaml, headers: { 'content-type': 'application/yaml' } });
}

describe('ruler (real binary)', () => {
  let heimdall: HeimdallProcess;
  let fakeAm: Receiver;
  let webhook: Receiver;
  let am: ChildProcess | undefined;
  let amDir: string | undefined;
  let amUrl: string | undefined;
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'al-ruler-e2e-'));
  const config = (): Record<string, unknown> => ({
    rules: {
      evaluation_interval: '1s',
      resend_delay: '1s',
      external_labels: { cluster: 'e2e' },
      alertmanager_urls: [fakeAm.url, ...(amUrl ? [amUrl] : [])],
    },
  });

  before(async () => {
    fakeAm = await startReceiver();
    webhook = await startReceiver();
    if (AM_SKIP === false) {
      amDir = mkdtempSync(path.join(os.tmpdir(), 'al-alertmanager-'));
      const port = await freePort();
      writeFileSync(
        path.join(amDir, 'am.yml'),
        [
          'route:',
          '  receiver: hook',
          '  group_by: [alertname]',
          '  group_wait: 0s',
          '  group_interval: 1s',
          '  repeat_interval: 1h',
          'receivers:',
          '  - name: hook',
          '    webhook_configs:',
          `      - url: ${webhook.url}/hook`,
          '        send_resolved: true',
          '',
        ].join('\n'),
      );
      am = spawn(ALERTMANAGER, [`--config.file=${path.join(amDir, 'am.yml')}`, `--storage.path=${amDir}`, `--web.listen-address=127.0.0.1:${port}`, '--cluster.listen-address='], { stdio: 'ignore' });
      amUrl = `http://127.0.0.1:${port}`;
      await waitFor('Alertmanager ready', async () => ((await fetch(`${amUrl}/-/ready`).catch(() => undefined))?.status === 200 ? true : undefined));
    }
    heimdall = await startHeimdall({ dataDir, config: config() });
  });

  after(async () => {
    await heimdall?.stop();
    if (am && am.exitCode === null) {
      const exited = new Promise((r) => am!.once('exit', r));
      am.kill('SIGTERM');
      await exited;
    }
    await fakeAm?.close();
    await webhook?.close();
    rmSync(dataDir, { recursive: true, force: true });
    if (amDir) rmSync(amDir, { recursive: true, force: true });
  });

  test('invalid rules are refused with the parse error and its position', async () => {
    const res = await postGroup(heimdall, '/prometheus/config/v1/rules/team-a', 'name: bad\nrules:\n  - alert: X\n    expr: sum(rate(x[5m])\n');
    assert.equal(res.status, 400);
    assert.match(await res.text(), /^4:11: group "bad", rule 1, "X": could not parse expression: 1:4: parse error: unclosed left parenthesis/);
    const logSelector = await postGroup(heimdall, '/loki/api/v1/rules/team-a', 'name: bad\nrules:\n  - alert: X\n    expr: \'{app="x"}\'\n');
    assert.equal(logSelector.status, 400);
    assert.match(await logSelector.text(), /needs a metric query/);
    const unknownField = await postGroup(heimdall, '/prometheus/config/v1/rules/team-a', 'name: bad\nrules:\n  - record: a\n    expr: up\n    for: 1m\n');
    assert.equal(unknownField.status, 400);
    assert.match(await unknownField.text(), /invalid field 'for' in recording rule/);
  });

  test('pending → firing → resolved, recording rule, Loki rule, notifications, restart', async () => {
    const posted = await postGroup(heimdall, '/prometheus/config/v1/rules/team-a', METRIC_GROUP);
    assert.equal(posted.status, 202);
    assert.equal((await postGroup(heimdall, '/loki/api/v1/rules/team-logs', LOG_GROUP)).status, 202);
    const stored = await fetch(`${heimdall.httpUrl}/prometheus/config/v1/rules/team-a/availability`);
    assert.equal(stored.status, 200);
    assert.match(await stored.text(), /record: job:test_up:sum/);

    const build = await getJson<{ data: { features?: Record<string, string> } }>(`${heimdall.httpUrl}/prometheus/api/v1/status/buildinfo`);
    assert.equal(build.data.features?.ruler_config_api, 'true');

    // The instance is down: InstanceDown goes pending, then firing after `for`.
    const now = Date.now();
    assert.equal((await remoteWrite(heimdall.httpUrl, 'anonymous', 'test_up', { job: 'shop', instance: 'i1' }, [now], [0])).status, 204);
    const pending = await waitFor('InstanceDown pending', async () =>
      (await alertsOf(heimdall)).find((a) => a.labels.alertname === 'InstanceDown' && a.state === 'pending'),
    );
    assert.deepEqual(pending.labels, { job: 'shop', instance: 'i1', severity: 'critical', alertname: 'InstanceDown' });
    const firing = await waitFor('InstanceDown firing', async () =>
      (await alertsOf(heimdall)).find((a) => a.labels.alertname === 'InstanceDown' && a.state === 'firing'),
    );
    assert.equal(firing.annotations.summary, 'i1 of shop is down (value 0)');
    assert.equal(firing.value, '0e+00');

    // ALERTS through PromQL, the recording rule through PromQL.
    // The API shows an alert's new state as soon as it is evaluated; the group writes its samples (ALERTS firing,
    // the pending series' staleness marker) after its last rule, so the query may briefly still see pending.
    const alertStates = await waitFor('ALERTS firing only', async () => {
      const r = await getJson<{ data: { result: { metric: Record<string, string> }[] } }>(
        `${heimdall.httpUrl}/prometheus/api/v1/query?query=${encodeURIComponent('ALERTS{alertname="InstanceDown"}')}`,
      );
      const states = r.data.result.map((s) => s.metric.alertstate);
      return states.length === 1 && states[0] === 'firing' ? states : undefined;
    });
    assert.deepEqual(alertStates, ['firing']);
    const recorded = await waitFor('job:test_up:sum', async () => {
      const r = await getJson<{ data: { result: { metric: Record<string, string>; value: [number, string] }[] } }>(
        `${heimdall.httpUrl}/prometheus/api/v1/query?query=job:test_up:sum`,
      );
      return r.data.result[0];
    });
    assert.deepEqual(recorded.metric, { __name__: 'job:test_up:sum', job: 'shop' });
    assert.equal(recorded.value[1], '0');

    // The Alertmanager v2 POST arrives at the loopback receiver with external labels and Prometheus' endsAt.
    const sent = await waitFor('an alert POSTed to /api/v2/alerts', async () => {
      for (const b of fakeAm.bodies) {
        const hit = (b.body as { labels: Record<string, string>; startsAt: string; endsAt: string; generatorURL: string }[]).find(
          (a) => a.labels.alertname === 'InstanceDown',
        );
        if (b.path === '/api/v2/alerts' && hit) return hit;
      }
      return undefined;
    });
    assert.equal(sent.labels.cluster, 'e2e');
    assert.ok(Date.parse(sent.endsAt) > Date.now(), 'a firing alert is valid into the future');
    assert.match(sent.generatorURL, /\/graph\?g0\.expr=test_up%20%3D%3D%200/);

    // The log rule fires from pushed log lines.
    const ns = BigInt(Date.now()) * 1_000_000n;
    assert.equal((await lokiPush(heimdall.httpUrl, 'anonymous', { app: 'shop' }, ns, ['error a', 'error b', 'error c', 'ok'])).status, 204);
    const logAlert = await waitFor('ErrorLogs firing', async () => (await alertsOf(heimdall)).find((a) => a.labels.alertname === 'ErrorLogs' && a.state === 'firing'));
    assert.equal(logAlert.annotations.summary, '3 errors in shop');

    // The rules API lists both, filterable.
    const rules = await getJson<{ data: { groups: { name: string; file: string; rules: { name: string; type: string }[] }[] } }>(
      `${heimdall.httpUrl}/prometheus/api/v1/rules?type=alert&rule_group[]=availability`,
    );
    assert.deepEqual(rules.data.groups.map((g) => [g.file, g.name, g.rules.map((r) => `${r.type}:${r.name}`)]), [
      ['team-a', 'availability', ['alerting:InstanceDown', 'alerting:SlowBurn']],
    ]);

    // The real Alertmanager delivers the alert to its webhook receiver.
    if (amUrl) {
      const delivered = await waitFor('Alertmanager webhook firing', async () =>
        webhook.bodies.find((b) => (b.body as { status: string; commonLabels: Record<string, string> }).commonLabels?.alertname === 'InstanceDown'),
      );
      assert.equal((delivered.body as { status: string }).status, 'firing');
    }

    // Restart: the rules come back from the data dir and SlowBurn's `for` state is restored from ALERTS_FOR_STATE.
    const slowBefore = (await alertsOf(heimdall)).find((a) => a.labels.alertname === 'SlowBurn');
    assert.equal(slowBefore?.state, 'pending');
    await sleep(3000); // SlowBurn has been pending a while: a restored activeAt lies that far behind its first sample after the restart.
    const downAt = Date.now();
    await heimdall.stop({ keepData: true });
    heimdall = await startHeimdall({ dataDir, config: config() });
    const restored = await waitFor('SlowBurn pending again', async () =>
      (await alertsOf(heimdall)).find((a) => a.labels.alertname === 'SlowBurn' && a.state === 'pending'),
    );
    const forState = await waitFor('ALERTS_FOR_STATE after the restart', async () => {
      const r = await getJson<{ data: { result: { values: [number, string][] }[] } }>(
        `${heimdall.httpUrl}/prometheus/api/v1/query?query=${encodeURIComponent('ALERTS_FOR_STATE{alertname="SlowBurn"}[5m]')}&time=${(Date.now() / 1000).toFixed(3)}`,
      );
      return r.data.result[0]?.values.find(([t]) => t * 1000 > downAt);
    });
    const [firstTs, activeAt] = forState;
    assert.ok(firstTs - Number(activeAt) >= 3, `restored activeAt ${activeAt} lies ≥ 3 s before the first evaluation ${firstTs} after the restart`);
    // The API shows the restored activeAt once the restoring evaluation has run (the first pending answer may precede it).
    const restoredNow = (await alertsOf(heimdall)).find((a) => a.labels.alertname === 'SlowBurn');
    assert.equal(restored.state, 'pending');
    assert.equal(Date.parse(restoredNow!.activeAt) / 1000, Number(activeAt));

    // The instance is back: InstanceDown resolves, leaves the API, and is sent as resolved.
    assert.equal((await remoteWrite(heimdall.httpUrl, 'anonymous', 'test_up', { job: 'shop', instance: 'i1' }, [Date.now()], [1])).status, 204);
    await waitFor('InstanceDown resolved', async () => ((await alertsOf(heimdall)).some((a) => a.labels.alertname === 'InstanceDown') ? undefined : true));
    const resolvedSent = await waitFor('a resolved alert POSTed', async () => {
      for (const b of fakeAm.bodies) {
        const hit = (b.body as { labels: Record<string, string>; endsAt: string }[]).find(
          (a) => a.labels.alertname === 'InstanceDown' && Date.parse(a.endsAt) <= Date.now(),
        );
        if (hit) return hit;
      }
      return undefined;
    });
    assert.ok(Date.parse(resolvedSent.endsAt) > now);
    if (amUrl) {
      await waitFor('Alertmanager webhook resolved', async () =>
        webhook.bodies.find((b) => {
          const body = b.body as { status: string; commonLabels: Record<string, string> };
          return body.commonLabels?.alertname === 'InstanceDown' && body.status === 'resolved';
        }),
      );
    }

    // Deleting the group stops its rules.
    const del = await fetch(`${heimdall.httpUrl}/prometheus/config/v1/rules/team-a/availability`, { method: 'DELETE' });
    assert.equal(del.status, 202);
    assert.equal((await fetch(`${heimdall.httpUrl}/prometheus/config/v1/rules/team-a`)).status, 404);
  });

  test('the real Alertmanager part', { skip: AM_SKIP }, () => {
    assert.ok(amUrl, 'Alertmanager was started');
  });
});

describe('ruler rule files from rules.dir (real binary, multi-tenant)', () => {
  test('files load per tenant, reload on change, a broken file keeps the last good rules, tenants stay apart', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'al-rules-dir-'));
    const teamDir = path.join(dir, 'team-a');
    mkdirSync(teamDir);
    const file = path.join(teamDir, 'availability.yaml');
    writeFileSync(file, 'groups:\n  - name: g1\n    rules:\n      - record: one\n        expr: vector(1)\n');
    const h = await startHeimdall({ args: ['--multitenancy'], config: { rules: { evaluation_interval: '1s', dir, dir_poll_interval: '1s' } } });
    try {
      const groupsOf = async (tenant: string): Promise<{ name: string; file: string; rules: { name: string }[] }[]> => {
        const res = await fetch(`${h.httpUrl}/prometheus/api/v1/rules`, { headers: { 'x-scope-orgid': tenant } });
        assert.equal(res.status, 200);
        return ((await res.json()) as { data: { groups: { name: string; file: string; rules: { name: string }[] }[] } }).data.groups;
      };
      assert.deepEqual((await groupsOf('team-a')).map((g) => [g.file, g.name]), [['availability', 'g1']]);
      assert.deepEqual(await groupsOf('team-b'), [], 'another tenant sees none of them');
      // The recording rule writes into its tenant only.
      const recorded = await waitFor('one recorded for team-a', async () => {
        const r = await fetch(`${h.httpUrl}/prometheus/api/v1/query?query=one`, { headers: { 'x-scope-orgid': 'team-a' } });
        const body = (await r.json()) as { data: { result: unknown[] } };
        return body.data.result.length > 0 ? body.data.result : undefined;
      });
      assert.equal(recorded.length, 1);
      const other = await fetch(`${h.httpUrl}/prometheus/api/v1/query?query=one`, { headers: { 'x-scope-orgid': 'team-b' } });
      assert.deepEqual(((await other.json()) as { data: { result: unknown[] } }).data.result, []);

      writeFileSync(file, 'groups:\n  - name: g2\n    rules:\n      - record: two\n        expr: vector(2)\n');
      await waitFor('g2 loaded', async () => ((await groupsOf('team-a')).some((g) => g.name === 'g2') ? true : undefined));
      assert.deepEqual((await groupsOf('team-a')).map((g) => g.name), ['g2']);

      writeFileSync(file, 'groups:\n  - name: g3\n    rules:\n      - record: three\n        expr: sum(\n');
      await h.waitForOutput(/rule file not loaded; its previous rules keep running/);
      assert.deepEqual((await groupsOf('team-a')).map((g) => g.name), ['g2']);
    } finally {
      await h.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
