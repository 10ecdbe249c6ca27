// The whole chain in a real browser, from data an instrumented app sends the way apps do (testdata/correlated-app.mjs:
// the OpenTelemetry JS SDK, the Pyroscope Node SDK with span ids on its samples, pino through pino-loki with the trace
// and span ids as structured metadata): the metrics-generator's span-metrics exemplar → the trace (split view, same
// range) → the span's logs → back to the trace from a log line → the span's own profile. Screenshots of each step are
// kept in test-results/ui/ (CI keeps them as artifacts). Code that runs in the page is written as strings: this file
// is type-checked against Node's types, not the DOM's.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { after, before, test } from 'node:test';
import { waitFor } from '../support/bounds.ts';
import { launchBrowser } from '../support/browser.ts';
import type { TestBrowser } from '../support/browser.ts';
import { REPO, startHeimdall } from './harness.ts';
import type { HeimdallProcess } from './harness.ts';

const APP = fileURLToPath(new URL('./testdata/correlated-app.mjs', import.meta.url));
const LATENCY = 'traces_spanmetrics_latency_bucket{service="shop", span_name="chargeCard"}';

let heimdall: HeimdallProcess;
let app: ChildProcess;
let browser: TestBrowser;

async function getJson<T>(path: string): Promise<T> {
  const res = await fetch(`${heimdall.httpUrl}${path}`);
  assert.equal(res.status, 200, `${path}: ${await res.clone().text()}`);
  return (await res.json()) as T;
}

/** A Pyroscope query method with the JSON codec over the last ten minutes. */
async function pyroscope(method: string, body: Record<string, unknown>): Promise<Record<string, unknown>> {
  const res = await fetch(`${heimdall.httpUrl}/pyroscope/querier.v1.QuerierService/${method}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ start: Date.now() - 600_000, end: Date.now() + 60_000, ...body }),
  });
  assert.equal(res.status, 200, `${method}: ${await res.clone().text()}`);
  return (await res.json()) as Record<string, unknown>;
}

before(async () => {
  // The metrics-generator writes its series (and their exemplars) every second instead of every 15 s.
  heimdall = await startHeimdall({ config: { traces: { metrics_generator: { collection_interval: '1s' } } } });
  app = spawn(process.execPath, [APP, heimdall.httpUrl, heimdall.otlpHttpUrl], { cwd: REPO, stdio: 'ignore' });
  const range = (): string => `start=${Math.floor(Date.now() / 1000) - 600}&end=${Math.ceil(Date.now() / 1000) + 60}`;
  // Wait for all three signals: an exemplar of the span metrics, a log line with a trace id, a profile with span ids.
  await waitFor('a span-metrics exemplar', async () => {
    const r = await getJson<{ data: { exemplars: unknown[] }[] }>(`/prometheus/api/v1/query_exemplars?query=${encodeURIComponent(LATENCY)}&${range()}`);
    return r.data.some((s) => s.exemplars.length > 0) ? true : undefined;
  });
  await waitFor('a log line of the shop', async () => {
    const r = await getJson<{ data: { result: unknown[] } }>(`/loki/api/v1/query_range?query=${encodeURIComponent('{service_name="shop"}')}&${range()}&limit=1`);
    return r.data.result.length > 0 ? true : undefined;
  });
  await waitFor('a profile of the shop', async () => (((await pyroscope('LabelValues', { name: 'service_name' })).names as string[] | undefined)?.includes('shop') ? true : undefined));
  browser = await launchBrowser();
});

after(async () => {
  app?.kill('SIGTERM');
  await browser?.close();
  await heimdall?.stop();
});

/** Whether the span's own profile (samples the SDK labelled with its id) names chargeCard. */
async function spanHasProfile(spanId: string): Promise<boolean> {
  const types = ((await pyroscope('ProfileTypes', {})).profileTypes ?? []) as { ID: string }[];
  const cpu = types.find((t) => /cpu/.test(t.ID));
  if (!cpu) return false;
  const fg = (await pyroscope('SelectMergeSpanProfile', { profileTypeID: cpu.ID, labelSelector: '{service_name="shop"}', spanSelector: [spanId] })).flamegraph as { names?: string[] } | undefined;
  return fg?.names?.some((n) => n.includes('chargeCard')) ?? false;
}

/** The id of the chargeCard span of a trace, from the Tempo API (OTLP JSON, ids in hex or base64). */
async function chargeCardSpan(traceId: string): Promise<string | undefined> {
  const res = await fetch(`${heimdall.httpUrl}/tempo/api/v2/traces/${traceId}`);
  if (res.status !== 200) return undefined;
  const body = (await res.json()) as { trace?: { resourceSpans?: { scopeSpans?: { spans?: { name: string; spanId: string }[] }[] }[] } };
  for (const rs of body.trace?.resourceSpans ?? []) {
    for (const ss of rs.scopeSpans ?? []) {
      const span = ss.spans?.find((x) => x.name === 'chargeCard');
      if (span) return /^[0-9a-f]{16}$/.test(span.spanId) ? span.spanId : Buffer.from(span.spanId, 'base64').toString('hex');
    }
  }
  return undefined;
}

const params = (cond: string): string => `(() => { const p = new URL(location.href).searchParams; return ${cond}; })()`;

test('exemplar → trace → span logs → trace again → span profile, each opening beside the last over the same range', async () => {
  const { page } = browser;
  // The p95 latency of chargeCard, its exemplars (span-metrics observations naming their trace) on the line.
  const p95 = `histogram_quantile(0.95, sum by (le) (rate(${LATENCY}[1m])))`;
  await page.goto(`${heimdall.httpUrl}/explore?from=now-15m&to=now&exemplars=1&expr=${encodeURIComponent(p95)}`);
  // The chain ends at the clicked span's own profile: a span whose profile push was lost (the SDK pushes every
  // second and a loaded machine can time one out) cannot end it, so the test clicks an exemplar whose chargeCard
  // span has profile samples (found through the APIs; the page is not asked until one has).
  const points = page.locator('[data-testid=exemplar-point].has-trace');
  await points.first().waitFor();
  const traceId = await waitFor('an exemplar whose span has a profile', async () => {
    const ids = new Set((await points.evaluateAll((els) => els.map((e) => e.getAttribute('data-trace-id') ?? ''))).filter((id) => id !== ''));
    for (const id of [...ids].reverse()) {
      const span = await chargeCardSpan(id);
      if (span !== undefined && (await spanHasProfile(span))) return id;
    }
    return undefined;
  });
  // Points close in time overlap: the chosen one gets the click itself, wherever it is drawn.
  await points.and(page.locator(`[data-trace-id="${traceId}"]`)).first().dispatchEvent('click');
  await page.waitForFunction(params(`p.get('r.trace') === '${traceId}' && p.get('from') === 'now-15m' && p.get('expr') === ${JSON.stringify(p95)}`));
  const right = page.getByTestId('pane-right');
  await right.getByTestId('trace-view').waitFor();
  const names = await right.locator('[data-testid=span-row] .span-name').allTextContents();
  assert.deepEqual(names, ['GET /checkout', 'chargeCard']);
  await browser.screenshot('correlated-1-exemplar-to-trace');

  // Span → its logs: the trace moves left, the lines of this trace open on the right.
  await right.locator('[data-testid=span-row]', { hasText: 'chargeCard' }).click();
  const spanId = (await right.locator('[data-testid=span-row]', { hasText: 'chargeCard' }).getAttribute('data-span-id'))!;
  await right.getByTestId('span-logs-link').click();
  await page.waitForFunction(params(`p.get('trace') === '${traceId}' && p.get('r.ds') === 'heimdall-logs'`));
  await right.locator('[data-testid=query-status][data-state=done]').waitFor();
  const lines = await right.locator('[data-testid=log-lines] .log-text').allTextContents();
  assert.equal(lines.length, 1, `one line names the trace: ${JSON.stringify(lines)}`);
  assert.match(lines[0]!, /charged card for order \d+/);
  await right.locator('[data-testid=log-lines] .log-line').first().click();
  assert.match((await right.getByTestId('log-details').textContent()) ?? '', new RegExp(`span_id${spanId}`));
  await browser.screenshot('correlated-2-span-logs');

  // Log line → the trace: the logs move left, the trace opens on the right.
  await right.getByTestId('log-trace-link').click();
  await page.waitForFunction(params(`p.get('r.trace') === '${traceId}' && p.get('ds') === 'heimdall-logs'`));
  await right.getByTestId('trace-view').waitFor();

  // Span → its own profile (the samples the Pyroscope SDK labelled with its span id). The SDK pushes every second:
  // wait until the span's samples are in before asking the page.
  assert.ok(await spanHasProfile(spanId), `span ${spanId} has profile samples`);
  await right.locator('[data-testid=span-row]', { hasText: 'chargeCard' }).click();
  await right.getByTestId('span-profile-link').click();
  await page.waitForFunction(params(`p.get('r.span') === '${spanId}' && p.get('r.ds') === 'heimdall-profiles' && p.get('trace') === '${traceId}'`));
  await right.getByTestId('span-profile-notice').waitFor();
  await right.locator('[data-testid=flame-top-table] tr[data-symbol*=chargeCard]').waitFor();
  const symbols = await right.locator('[data-testid=flame-top-table] tbody tr').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-symbol') ?? ''));
  assert.ok(symbols.some((s) => s.includes('chargeCard')), `the span's profile names chargeCard: ${JSON.stringify(symbols)}`);
  await browser.screenshot('correlated-3-span-profile');
});
