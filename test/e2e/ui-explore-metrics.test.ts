// The web UI's Explore for metrics in a real browser against the real binary: PromQL typed into the editor,
// the plotted values read back from the graph's legend under the cursor, series toggling, the table and the
// inspector; several queries, stacked, exemplars, the metric browser, zoom by drag and the split view, all
// reproduced from the URL; and the org switcher, each org seeing only its tenants' series. Code that runs in the page is
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
    // Series "a" carries three exemplars (trace ids), drawn on the graph when Exemplars is ticked.
    const exemplars = s.series === 'a' ? [10, 30, 50].map((i) => ({ labels: { trace_id: `trace-${i}` }, value: s.value, timestampMs: times[i]! })) : [];
    const w = await remoteWrite(heimdall.httpUrl, s.tenant, 'ui_probe', { series: s.series }, times, times.map(() => s.value), exemplars);
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

/** Hovers the middle of the first graph of `scope` and returns its legend's values by series name. */
async function hoverLegend(page: Page, scope = page.locator('body')): Promise<Map<string, string>> {
  const graph = scope.getByTestId('time-series-graph').first();
  await graph.locator('canvas').waitFor();
  const box = (await graph.locator('.u-over').boundingBox())!;
  await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
  await graph.locator('.u-legend .u-series:nth-child(2) .u-value').filter({ hasText: /\d/ }).waitFor();
  const rows = await graph.locator('.u-legend .u-series').evaluateAll((els) => els.map((el) => [el.querySelector('.u-label')?.textContent ?? '', el.querySelector('.u-value')?.textContent ?? ''] as const));
  return new Map(rows.slice(1));
}

test('several queries at once, stacked: both drawn, the legend keeps each own value; a third query is added', async () => {
  const { page } = browser;
  const a = encodeURIComponent('ui_probe{series="a"}');
  const b = encodeURIComponent('ui_probe{series="b"}');
  await page.goto(`${heimdall.httpUrl}/explore?org=team-alpha&from=now-30m&to=now&queries=A,B&expr=${a}&expr.B=${b}&stack=1`);
  await page.locator('[data-testid=time-series-graph][data-stacked=true]').waitFor();
  assert.equal(await page.getByTestId('query-row').count(), 2);
  assert.deepEqual(await hoverLegend(page), new Map([['ui_probe{series="a"}', '7'], ['ui_probe{series="b"}', '21']]));
  await page.getByTestId('add-query').click();
  await page.waitForURL(/queries=A%2CB%2CC/);
  await page.getByTestId('query-row').nth(2).waitFor();
});

test('exemplars from query_exemplars are drawn on the graph', async () => {
  const { page } = browser;
  await page.goto(`${heimdall.httpUrl}/explore?org=team-alpha&from=now-30m&to=now&expr=ui_probe&exemplars=1`);
  await page.locator('[data-testid=time-series-graph][data-markers="3"]').waitFor();
  const listed = (await page.getByTestId('exemplars').textContent()) ?? '';
  for (const id of ['trace-10', 'trace-30', 'trace-50']) assert.match(listed, new RegExp(`trace_id=${id}`));
  await browser.screenshot('explore-metrics-exemplars');
});

test('the metric browser builds a selector from a metric and a label value', async () => {
  const { page } = browser;
  await page.goto(`${heimdall.httpUrl}/explore?org=team-alpha&from=now-30m&to=now`);
  await page.getByTestId('open-browser').click();
  await page.getByTestId('browser-value').filter({ hasText: /^ui_probe$/ }).click();
  await page.getByTestId('browser-label').filter({ hasText: /^series$/ }).click();
  await page.getByTestId('browser-value').filter({ hasText: /^b$/ }).click();
  assert.equal(await page.getByTestId('browser-selector').textContent(), 'ui_probe{series="b"}');
  await page.getByTestId('browser-use').click();
  await page.waitForURL(/expr=ui_probe%7Bseries%3D%22b%22%7D/);
  assert.deepEqual([...(await hoverLegend(page)).keys()], ['ui_probe{series="b"}']);
});

test('zoom by drag sets an absolute range in the URL; split view shows a second pane, reproduced by the link', async () => {
  const { page } = browser;
  await page.goto(`${heimdall.httpUrl}/explore?org=team-alpha&from=now-30m&to=now&expr=ui_probe`);
  const over = page.getByTestId('time-series-graph').locator('.u-over');
  await page.getByTestId('time-series-graph').locator('canvas').waitFor();
  const box = (await over.boundingBox())!;
  await page.mouse.move(box.x + box.width * 0.25, box.y + box.height / 2);
  await page.mouse.down();
  await page.mouse.move(box.x + box.width * 0.75, box.y + box.height / 2, { steps: 5 });
  await page.mouse.up();
  await page.waitForURL(/from=\d{13}&to=\d{13}/);
  const url = new URL(page.url());
  const span = Number(url.searchParams.get('to')) - Number(url.searchParams.get('from'));
  assert.ok(span > 10 * 60_000 && span < 20 * 60_000, `half of the 30 minutes, got ${span} ms`);

  await page.getByTestId('split-open').click();
  const right = page.getByTestId('pane-right');
  await right.waitFor();
  await right.getByTestId('datasource-picker').selectOption('heimdall-logs');
  await page.waitForURL(/r\.ds=heimdall-logs/);
  assert.equal(await right.getAttribute('data-ds-type'), 'loki');
  // The link alone brings back both panes with their queries.
  const link = `${heimdall.httpUrl}/explore?org=team-alpha&from=now-30m&to=now&expr=ui_probe&r.ds=heimdall-metrics&r.expr=${encodeURIComponent('ui_probe{series="a"}')}`;
  await page.goto(link);
  assert.deepEqual([...(await hoverLegend(page, page.getByTestId('pane-left'))).keys()], ['ui_probe{series="a"}', 'ui_probe{series="b"}']);
  assert.deepEqual([...(await hoverLegend(page, page.getByTestId('pane-right'))).keys()], ['ui_probe{series="a"}']);
  await browser.screenshot('explore-split');
  await page.getByTestId('split-close').click();
  await page.waitForURL((u) => !u.search.includes('r.'));
});
