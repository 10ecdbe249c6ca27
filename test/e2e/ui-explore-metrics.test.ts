// The web UI's Explore for metrics in a real browser against the real binary: PromQL typed into the editor,
// the plotted values read back from the graph's legend under the cursor, series toggling, the table and the
// inspector; and the org switcher, each org seeing only its tenants' series. Code that runs in the page is
// written as strings: this file is type-checked against Node's types, not the DOM's.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Page } from 'playwright-core';
import { launchBrowser } from '../support/browser.ts';
import type { TestBrowser } from '../support/browser.ts';
import { remoteWrite } from '../support/write-clients.ts';
import { startHeimdall } from './harness.ts';
import type { HeimdallProcess } from './harness.ts';

let heimdall: HeimdallProcess;
let browser: TestBrowser;

/** Every sample of the seed sits in the last 30 minutes, 30 s apart. */
const POINTS = 60;

/** One constant series per (tenant, series label): what the graph and the table must show. */
const SEED = [
  { tenant: 'team-alpha', series: 'a', value: 7 },
  { tenant: 'team-alpha', series: 'b', value: 21 },
  { tenant: 'team-beta', series: 'c', value: 13 },
] as const;

before(async () => {
  heimdall = await startHeimdall({
    args: ['--multitenancy'],
    config: {
      ui: {
        orgs: [
          { name: 'team-alpha', tenants: ['team-alpha'] },
          { name: 'team-beta', tenants: ['team-beta'] },
          { name: 'platform', tenants: ['team-alpha', 'team-beta'] },
        ],
      },
    },
  });
  const endMs = Math.floor(Date.now() / 1000) * 1000 - 5_000;
  const times = Array.from({ length: POINTS }, (_, i) => endMs - (POINTS - 1 - i) * 30_000);
  for (const s of SEED) {
    const w = await remoteWrite(heimdall.httpUrl, s.tenant, 'ui_probe', { series: s.series }, times, times.map(() => s.value));
    assert.equal(w.status, 204, w.body);
  }
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await heimdall?.stop();
});

/** Types `expr` into the PromQL editor and runs it with the button. */
async function runQuery(page: Page, expr: string): Promise<void> {
  const editor = page.locator('[data-testid=promql-editor] .cm-content');
  await editor.click();
  await page.keyboard.press('Control+A');
  await page.keyboard.type(expr);
  await page.keyboard.press('Escape'); // closes the completion list
  await page.getByTestId('run-query').click();
}

/** The legend's values under the cursor, by series name (uPlot's live legend). */
async function legendValues(page: Page): Promise<Map<string, string>> {
  const rows = await page.locator('[data-testid=time-series-graph] .u-legend .u-series').evaluateAll((els) =>
    els.map((el) => [el.querySelector('.u-label')?.textContent ?? '', el.querySelector('.u-value')?.textContent ?? '', el.classList.contains('u-off')] as const),
  );
  return new Map(rows.slice(1).map(([label, value, off]) => [label, off ? `off:${value}` : value]));
}

test('a PromQL range query is plotted: the legend under the cursor reads the seeded values, series toggle, table and inspector agree', async () => {
  const { page } = browser;
  await page.goto(`${heimdall.httpUrl}/explore?org=team-alpha&from=now-30m&to=now`);
  await runQuery(page, 'ui_probe');
  const graph = page.getByTestId('time-series-graph');
  await graph.locator('canvas').waitFor();
  assert.match(page.url(), /expr=ui_probe/, 'the query is in the URL');

  // Hover the middle of the plot: the legend shows each series' value at that time.
  const over = graph.locator('.u-over');
  const box = (await over.boundingBox())!;
  await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
  await page.waitForFunction(`document.querySelector('[data-testid=time-series-graph] .u-legend .u-series:nth-child(2) .u-value')?.textContent === '7'`);
  const values = await legendValues(page);
  assert.deepEqual(values, new Map([['ui_probe{series="a"}', '7'], ['ui_probe{series="b"}', '21']]));
  await browser.screenshot('explore-metrics-graph');

  // A click on a legend entry hides that series; a second shows it again.
  const legendB = graph.locator('.u-legend .u-series', { hasText: 'series="b"' });
  await legendB.click();
  await page.waitForFunction(`[...document.querySelectorAll('.u-legend .u-series')].some((el) => el.classList.contains('u-off'))`);
  assert.equal((await legendValues(page)).get('ui_probe{series="b"}')?.startsWith('off:'), true);
  await legendB.click();
  await page.waitForFunction(`![...document.querySelectorAll('.u-legend .u-series')].some((el) => el.classList.contains('u-off'))`);

  // The table view: the last value of each series.
  await page.getByRole('tab', { name: 'Table' }).click();
  const table = page.getByTestId('result-table');
  await table.waitFor();
  const rows = await table.locator('tbody tr').evaluateAll((trs) =>
    trs.map((tr) => [tr.querySelector('[data-column=series]')?.textContent, tr.querySelector('[data-column=Value]')?.textContent]),
  );
  assert.deepEqual(rows.sort(), [['a', '7'], ['b', '21']]);

  // The inspector counts what came back: 2 series of POINTS samples each (the step divides the 30 s spacing).
  await page.getByRole('tab', { name: 'Query inspector' }).click();
  assert.equal(await page.getByTestId('inspector-series').textContent(), '2');
  const samples = Number(await page.getByTestId('inspector-samples').textContent());
  assert.ok(samples >= 2 * (POINTS - 2), `samples ${samples}`);
  assert.match((await page.getByTestId('query-inspector').textContent()) ?? '', /query_range/);
});

test('a PromQL parse error is shown with its position, and no graph', async () => {
  const { page } = browser;
  await page.goto(`${heimdall.httpUrl}/explore?org=team-alpha`);
  await runQuery(page, 'ui_probe +');
  const error = page.getByTestId('query-error');
  await error.waitFor();
  assert.match((await error.textContent()) ?? '', /1:11: parse error: unexpected end of input/);
  assert.equal(await page.getByTestId('time-series-graph').count(), 0);
});

/** The `series` column of the table view after the org switcher chose `org`. */
async function seriesSeenAs(page: Page, org: string): Promise<string[]> {
  await page.getByTestId('org-switcher').selectOption(org);
  await page.waitForFunction(`new URL(window.location.href).searchParams.get('org') === ${JSON.stringify(org)}`);
  const table = page.getByTestId('result-table');
  await table.waitFor();
  await page.locator(`[data-testid=query-status][data-state=done][data-org="${org}"]`).waitFor();
  return (await table.locator('tbody [data-column=series]').allTextContents()).sort();
}

test('the org switcher: each org sees only its tenants; the platform org federates both with __tenant_id__', async () => {
  const { page } = browser;
  await page.goto(`${heimdall.httpUrl}/explore?org=team-alpha&expr=ui_probe&view=table&from=now-30m&to=now`);
  await page.getByTestId('result-table').waitFor();
  assert.deepEqual(await seriesSeenAs(page, 'team-beta'), ['c']);
  assert.deepEqual(await seriesSeenAs(page, 'team-alpha'), ['a', 'b']);
  assert.deepEqual(await seriesSeenAs(page, 'platform'), ['a', 'b', 'c']);
  const tenants = (await page.getByTestId('result-table').locator('tbody [data-column=__tenant_id__]').allTextContents()).sort();
  assert.deepEqual(tenants, ['team-alpha', 'team-alpha', 'team-beta']);
  await browser.screenshot('explore-metrics-platform-org');
});
