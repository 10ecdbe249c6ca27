// The web UI's Explore for logs in a real browser against the real binary: a LogQL query typed into the editor
// shows the seeded lines newest first (oldest first on request), coloured by level, with labels and structured
// metadata on expansion, a volume histogram, and a metric LogQL query drawn as a graph; completion in the editor, the label browser, the
// context around a line, and live tail over the proxied WebSocket (only the org's tenant's lines). Code that runs in the
// page is written as strings: this file is type-checked against Node's types, not the DOM's.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Page } from 'playwright-core';
import { launchBrowser } from '../support/browser.ts';
import type { TestBrowser } from '../support/browser.ts';
import { lokiPush } from '../support/write-clients.ts';
import { startHeimdall } from './harness.ts';
import type { HeimdallProcess } from './harness.ts';

let heimdall: HeimdallProcess;
let browser: TestBrowser;

const LINES = ['level=info msg="service started"', 'level=warn msg="slow request" path=/a', 'level=error msg="disk full" path=/b', 'level=info msg="request served" path=/c'];

before(async () => {
  heimdall = await startHeimdall({ args: ['--multitenancy'], config: { ui: { orgs: [{ name: 'team-alpha', tenants: ['team-alpha'] }, { name: 'team-beta', tenants: ['team-beta'] }] } } });
  const startNs = BigInt(Date.now() - 10 * 60_000) * 1_000_000n;
  const w = await lokiPush(heimdall.httpUrl, 'team-alpha', { app: 'ui-logs', env: 'test' }, startNs, LINES, {
    stepNs: 60_000_000_000n,
    metadata: LINES.map((_, i) => ({ trace_id: `trace-${i}` })),
  });
  assert.equal(w.status, 204, w.body);
  const other = await lokiPush(heimdall.httpUrl, 'team-beta', { app: 'ui-logs', env: 'test' }, startNs, ['level=info msg="beta only"']);
  assert.equal(other.status, 204, other.body);
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await heimdall?.stop();
});

async function runLogql(page: Page, expr: string): Promise<void> {
  await page.locator('[data-testid=logql-editor] .cm-content').click();
  await page.keyboard.press('Control+A');
  await page.keyboard.type(expr);
  await page.getByTestId('run-query').click();
}

async function shownLines(page: Page): Promise<{ text: string; level: string }[]> {
  await page.locator('[data-testid=query-status][data-state=done]').waitFor();
  return page.locator('[data-testid=log-lines] .log-row').evaluateAll((rows) =>
    rows.map((r) => ({ text: r.querySelector('.log-text')?.textContent ?? '', level: r.getAttribute('data-level') ?? '' })),
  );
}

test('a LogQL query shows the tenant’s lines newest first with their levels, metadata on expansion, and a volume histogram', async () => {
  const { page } = browser;
  await page.goto(`${heimdall.httpUrl}/explore?org=team-alpha&ds=heimdall-logs&from=now-30m&to=now`);
  // The closing brace is typed by the editor's bracket closing.
  await runLogql(page, '{app="ui-logs"');
  const lines = await shownLines(page);
  assert.deepEqual(lines, [...LINES].reverse().map((text) => ({ text, level: /level=(\w+)/.exec(text)![1]! })));
  await page.getByTestId('log-volume').locator('canvas').waitFor();

  await page.locator('[data-testid=log-lines] .log-row', { hasText: 'disk full' }).locator('.log-line').click();
  const details = page.getByTestId('log-details');
  await details.waitFor();
  const text = (await details.textContent()) ?? '';
  assert.match(text, /appui-logs/);
  assert.match(text, /trace_idtrace-2/);
  assert.match(text, /detected_levelerror/);
  await browser.screenshot('explore-logs');

  // Oldest first, and a line filter.
  await page.getByRole('button', { name: 'Oldest first' }).click();
  await page.waitForFunction(`new URL(location.href).searchParams.get('direction') === 'forward'`);
  await page.locator('[data-testid=query-status][data-state=done]').waitFor();
  assert.deepEqual((await shownLines(page)).map((l) => l.text), LINES);
  await runLogql(page, '{app="ui-logs"} |= "path=/b"');
  await page.waitForFunction(`document.querySelectorAll('[data-testid=log-lines] .log-row').length === 1`);
  assert.deepEqual((await shownLines(page)).map((l) => l.text), ['level=error msg="disk full" path=/b']);
});

test('a metric LogQL query is drawn as a graph; the other org sees only its own lines', async () => {
  const { page } = browser;
  await page.goto(`${heimdall.httpUrl}/explore?org=team-alpha&ds=heimdall-logs&from=now-30m&to=now`);
  await runLogql(page, 'sum(count_over_time({app="ui-logs"} [30m]');
  await page.getByTestId('time-series-graph').locator('canvas').waitFor();
  await page.getByRole('tab', { name: 'Table' }).click();
  const values = await page.getByTestId('result-table').locator('tbody [data-column=Value]').allTextContents();
  assert.ok(values.length === 1 && Number(values[0]) >= 1 && Number(values[0]) <= LINES.length, `values ${values.join(',')}`);

  await page.goto(`${heimdall.httpUrl}/explore?org=team-beta&ds=heimdall-logs&from=now-30m&to=now&expr=${encodeURIComponent('{app="ui-logs"}')}`);
  assert.deepEqual((await shownLines(page)).map((l) => l.text), ['level=info msg="beta only"']);
});

test('the LogQL editor completes label names and values from the Loki API and pipeline stages after a pipe', async () => {
  const { page } = browser;
  await page.goto(`${heimdall.httpUrl}/explore?org=team-alpha&ds=heimdall-logs&from=now-30m&to=now`);
  await page.locator('[data-testid=logql-editor] .cm-content').click();
  await page.keyboard.type('{ap');
  // Options are picked by click: Enter right after the list opens is the editor's (CodeMirror's interaction delay).
  const completions = page.locator('.cm-tooltip-autocomplete');
  await completions.getByText('app', { exact: true }).click();
  await page.keyboard.type('=');
  await page.keyboard.press('Control+Space');
  await completions.getByText('"ui-logs"').click();
  await page.keyboard.press('End');
  await page.keyboard.type(' | ');
  await page.keyboard.press('Control+Space');
  await completions.getByText('logfmt').click();
  assert.equal(await page.locator('[data-testid=logql-editor] .cm-content').textContent(), '{app="ui-logs"} | logfmt');
});

test('the label browser builds a stream selector and runs it', async () => {
  const { page } = browser;
  await page.goto(`${heimdall.httpUrl}/explore?org=team-alpha&ds=heimdall-logs&from=now-30m&to=now`);
  await page.getByTestId('open-browser').click();
  await page.getByTestId('browser-label').filter({ hasText: /^app$/ }).click();
  await page.getByTestId('browser-value').filter({ hasText: /^ui-logs$/ }).click();
  assert.equal(await page.getByTestId('browser-selector').textContent(), '{app="ui-logs"}');
  await page.getByTestId('browser-use').click();
  await page.waitForURL(/expr=%7Bapp%3D%22ui-logs%22%7D/);
  assert.equal((await shownLines(page)).length, LINES.length);
});

test('show context: the lines of the same stream around a line, oldest first', async () => {
  const { page } = browser;
  await page.goto(`${heimdall.httpUrl}/explore?org=team-alpha&ds=heimdall-logs&from=now-30m&to=now&expr=${encodeURIComponent('{app="ui-logs"} |= "slow request"')}`);
  await page.locator('[data-testid=log-lines] .log-row', { hasText: 'slow request' }).locator('.log-line').click();
  await page.getByTestId('show-context').click();
  const context = page.getByTestId('log-context');
  await context.locator('.log-row').nth(LINES.length - 1).waitFor();
  assert.deepEqual(await context.locator('.log-text').allTextContents(), LINES);
  assert.equal(await context.locator('.log-row.highlight .log-text').textContent(), LINES[1]);
});

test('live tail: lines pushed after the tail opened arrive; another tenant’s do not', async () => {
  const { page } = browser;
  await page.goto(`${heimdall.httpUrl}/explore?org=team-alpha&ds=heimdall-logs&from=now-30m&to=now&live=1&expr=${encodeURIComponent('{app="live"}')}`);
  const tail = page.locator('[data-testid=live-tail][data-status=live]');
  await tail.waitFor();
  const nowNs = (): bigint => BigInt(Date.now()) * 1_000_000n;
  const beta = await lokiPush(heimdall.httpUrl, 'team-beta', { app: 'live' }, nowNs(), ['beta tail line']);
  assert.equal(beta.status, 204, beta.body);
  const alpha = await lokiPush(heimdall.httpUrl, 'team-alpha', { app: 'live' }, nowNs(), ['alpha tail line']);
  assert.equal(alpha.status, 204, alpha.body);
  await tail.locator('.log-text', { hasText: 'alpha tail line' }).waitFor();
  assert.deepEqual(await tail.locator('.log-text').allTextContents(), ['alpha tail line']);
  await page.getByTestId('live-toggle').click();
  await page.waitForURL((u) => !u.search.includes('live='));
});

test('the tail proxy refuses before the upgrade: 400 without an org, 404 for a source that is not Loki', async () => {
  const base = `${heimdall.httpUrl}/api/datasources/proxy/uid`;
  const noOrg = await fetch(`${base}/heimdall-logs/loki/api/v1/tail?query=${encodeURIComponent('{app="x"}')}`);
  assert.equal(noOrg.status, 400);
  assert.match(await noOrg.text(), /org/);
  const notLoki = await fetch(`${base}/heimdall-metrics/loki/api/v1/tail?org=team-alpha&query=${encodeURIComponent('{app="x"}')}`);
  assert.equal(notLoki.status, 404);
});
