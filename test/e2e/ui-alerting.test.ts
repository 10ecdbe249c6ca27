// The web UI's Alerting page in a real browser against the real binary: a rule group loaded through the
// Mimir ruler API over remote_write data, its alert shown firing with labels and annotations and linking to
// Explore with the rule's query, a silence created and expired through the form, and the built-in notifier's
// contact points and routing tree. Code that runs in the page is written as strings: this file is
// type-checked against Node's types, not the DOM's.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { launchBrowser } from '../support/browser.ts';
import type { TestBrowser } from '../support/browser.ts';
import { remoteWrite } from '../support/write-clients.ts';
import { startHeimdall } from './harness.ts';
import type { HeimdallProcess } from './harness.ts';

let heimdall: HeimdallProcess;
let browser: TestBrowser;
const dir = mkdtempSync(path.join(os.tmpdir(), 'al-ui-alerting-'));

before(async () => {
  const amConfig = path.join(dir, 'alertmanager.yml');
  writeFileSync(
    amConfig,
    `
route:
  receiver: default
  group_by: [namespace, alertname]
  routes:
    - matchers: ['namespace="shop"']
      receiver: shop-team
receivers:
  - name: default
  - name: shop-team
    webhook_configs:
      - url: http://127.0.0.1:9/hook
`,
  );
  heimdall = await startHeimdall({ config: { rules: { evaluation_interval: '1s', resend_delay: '1s' }, alertmanager: { config_file: amConfig } } });
  const rules = `
name: shop-availability
interval: 1s
rules:
  - alert: ShopDown
    expr: ui_shop_up == 0
    labels:
      severity: critical
    annotations:
      summary: "{{ $labels.instance }} is down"
  - record: shop:up:sum
    expr: sum(ui_shop_up)
`;
  const posted = await fetch(`${heimdall.httpUrl}/prometheus/config/v1/rules/shop`, { method: 'POST', body: rules, headers: { 'content-type': 'application/yaml' } });
  assert.equal(posted.status, 202);
  const w = await remoteWrite(heimdall.httpUrl, 'anonymous', 'ui_shop_up', { namespace: 'shop', instance: 'web-1' }, [Date.now()], [0]);
  assert.equal(w.status, 204, w.body);
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await heimdall?.stop();
  rmSync(dir, { recursive: true, force: true });
});

test('the Alerting page: firing alert with labels and Explore link, rule groups, silences, contact points and routing', async () => {
  const { page } = browser;
  await page.goto(`${heimdall.httpUrl}/?org=default`);
  await page.getByRole('link', { name: 'Alerting' }).click();
  await page.getByTestId('alerting-page').waitFor();

  // The alert fires within a few evaluations; Refresh until it shows.
  const firing = page.locator('[data-testid=alert-row][data-state=firing]');
  for (let i = 0; (await firing.count()) === 0; i++) {
    if (i > 300) throw new Error('ShopDown never showed as firing');
    await page.getByRole('button', { name: 'Refresh' }).click();
    await page.waitForTimeout(300);
  }
  const row = firing.first();
  const text = (await row.textContent()) ?? '';
  assert.match(text, /ShopDown/);
  assert.match(text, /instance=web-1/);
  assert.match(text, /severity=critical/);
  assert.match(text, /summary=web-1 is down/);

  // The rule group lists both rules with their state.
  const group = page.getByTestId('rule-group').filter({ hasText: 'shop-availability' });
  assert.equal(await group.getByTestId('rule-row').count(), 2);
  assert.match((await group.textContent()) ?? '', /shop:up:sum/);

  // Contact points and the routing tree come from the notifier's configuration.
  const points = page.getByTestId('contact-point');
  await points.first().waitFor();
  assert.deepEqual(await points.allTextContents(), ['defaultnone', 'shop-teamwebhook (127.0.0.1:9)']);
  assert.match((await page.getByTestId('route-tree').textContent()) ?? '', /every alert → default.*namespace="shop" → shop-team/s);

  // A silence made through the form shows active, and expires with its button.
  await page.getByLabel('Matchers').fill('alertname="ShopDown"');
  await page.getByLabel('Comment').fill('deploying');
  await page.getByRole('button', { name: 'Create silence' }).click();
  const silence = page.locator('[data-testid=silence-row][data-state=active]');
  await silence.waitFor();
  assert.match((await silence.textContent()) ?? '', /alertname="ShopDown".*deploying/);
  await browser.screenshot('alerting-page');
  await silence.getByRole('button', { name: 'Expire' }).click();
  await page.locator('[data-testid=silence-row][data-state=expired]').waitFor();

  // The alert links to Explore with its rule's query.
  await row.getByTestId('alert-explore-link').click();
  await page.waitForURL(/\/explore\?/);
  assert.equal(new URL(page.url()).searchParams.get('expr'), 'ui_shop_up == 0');
  await page.locator('[data-testid=promql-editor] .cm-content', { hasText: 'ui_shop_up == 0' }).waitFor();
});
