// Traces and profiles in Explore, in a real browser against the real binary, with correlated data: a trace sent
// by the OpenTelemetry JS SDK (frontend → payment, an error with an event), a log line of the payment service
// carrying the trace id as structured metadata, and a CPU profile of the payment service. The search form finds
// the trace, the trace view shows its spans in tree order with the error marked, a span's details link to its
// logs, the log line links back to the trace, a span links to its service's profile whose flame graph names the
// expected frames, and the previous-period diff renders. The service graph, from the metrics-generator's series,
// shows the frontend → payment edge. Code that runs in the page is written as strings: this
// file is type-checked against Node's types, not the DOM's.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { after, before, test } from 'node:test';
import { ROOT_CONTEXT, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import type { Page } from 'playwright-core';
import { GENEROUS_MS } from '../support/bounds.ts';
import { launchBrowser } from '../support/browser.ts';
import type { TestBrowser } from '../support/browser.ts';
import { decodePprof } from '../../src/ingest/pprof.ts';
import { lokiPush, remoteWrite } from '../support/write-clients.ts';
import { startHeimdall } from './harness.ts';
import type { HeimdallProcess } from './harness.ts';

let heimdall: HeimdallProcess;
let browser: TestBrowser;
let traceId: string;

function provider(service: string): BasicTracerProvider {
  return new BasicTracerProvider({
    resource: resourceFromAttributes({ 'service.name': service }),
    spanProcessors: [new SimpleSpanProcessor(new OTLPTraceExporter({ url: `${heimdall.otlpHttpUrl}/v1/traces` }))],
  });
}

/** frontend `GET /checkout` → frontend `POST /pay` → payment `POST /pay` (error, event) → payment `SELECT cards`. */
async function sendCheckout(): Promise<string> {
  const front = provider('frontend');
  const pay = provider('payment');
  const ft = front.getTracer('shop-frontend');
  const pt = pay.getTracer('shop-payment', '3.4.0');
  const root = ft.startSpan('GET /checkout', { kind: SpanKind.SERVER });
  const call = ft.startSpan('POST /pay', { kind: SpanKind.CLIENT }, trace.setSpan(ROOT_CONTEXT, root));
  const server = pt.startSpan('POST /pay', { kind: SpanKind.SERVER, attributes: { 'card.brand': 'visa' } }, trace.setSpan(ROOT_CONTEXT, call));
  server.addEvent('card declined', { reason: 'insufficient funds' });
  const db = pt.startSpan('SELECT cards', { kind: SpanKind.CLIENT, attributes: { 'db.system': 'postgresql' } }, trace.setSpan(ROOT_CONTEXT, server));
  await new Promise((r) => setTimeout(r, 5));
  db.end();
  server.setStatus({ code: SpanStatusCode.ERROR, message: 'card declined' });
  server.end();
  call.end();
  root.end();
  for (const p of [front, pay]) {
    await p.forceFlush();
    await p.shutdown();
  }
  return root.spanContext().traceId;
}

before(async () => {
  // The metrics-generator writes the service graph's series every second instead of every 15 s.
  // The logs source finds trace ids in lines with a regex of its own (ui.datasources[].correlations); the
  // other sources keep the default correlations.
  const datasources = [
    { uid: 'heimdall-metrics', name: 'Heimdall metrics', type: 'prometheus' },
    { uid: 'heimdall-logs', name: 'Heimdall logs', type: 'loki', correlations: { trace_id_regex: 'txn=([0-9a-f]{32})' } },
    { uid: 'heimdall-traces', name: 'Heimdall traces', type: 'tempo' },
    { uid: 'heimdall-profiles', name: 'Heimdall profiles', type: 'pyroscope' },
  ];
  heimdall = await startHeimdall({ config: { traces: { metrics_generator: { collection_interval: '1s' } }, ui: { datasources } } });
  traceId = await sendCheckout();
  const nowNs = BigInt(Date.now()) * 1_000_000n;
  const logs = await lokiPush(heimdall.httpUrl, 'anonymous', { service_name: 'payment' }, nowNs, ['level=error msg="card declined"', 'level=info msg="unrelated"'], {
    metadata: [{ trace_id: traceId }, { trace_id: 'ffffffffffffffffffffffffffffffff' }],
  });
  assert.equal(logs.status, 204, logs.body);
  const txnLog = await lokiPush(heimdall.httpUrl, 'anonymous', { service_name: 'billing' }, nowNs, [`charged txn=${traceId} ok`]);
  assert.equal(txnLog.status, 204, txnLog.body);
  const now = Math.floor(Date.now() / 1000);
  const profile = await fetch(`${heimdall.httpUrl}/ingest?name=payment.cpu&sampleRate=100&from=${now}&until=${now + 10}`, {
    method: 'POST',
    body: 'main;handlePayment;chargeCard 30\nmain;handlePayment;validateCard 10\nmain;idle 5\n',
  });
  assert.equal(profile.status, 200, await profile.text());
  // The frontend's profile: the baseline of a diff between two label selections.
  const frontendProfile = await fetch(`${heimdall.httpUrl}/ingest?name=frontend.cpu&sampleRate=100&from=${now}&until=${now + 10}`, { method: 'POST', body: 'main;render 20\n' });
  assert.equal(frontendProfile.status, 200, await frontendProfile.text());
  // The payment service's latency, a sample every 15 s over the last 5 minutes, one exemplar naming the trace.
  const times = Array.from({ length: 21 }, (_, i) => Date.now() - 300_000 + i * 15_000);
  const latency = await remoteWrite(heimdall.httpUrl, 'anonymous', 'checkout_duration_seconds', { service_name: 'payment' }, times, times.map(() => 0.25), [
    { labels: { trace_id: traceId }, value: 0.25, timestampMs: times[10]! },
  ]);
  assert.equal(latency.status, 204, latency.body);
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await heimdall?.stop();
});

async function spanRows(page: Page): Promise<{ service: string; name: string; error: boolean }[]> {
  await page.getByTestId('trace-view').waitFor();
  return page.getByTestId('span-row').evaluateAll((rows) =>
    rows.map((r) => ({ service: r.getAttribute('data-service') ?? '', name: r.querySelector('.span-name')?.textContent ?? '', error: r.getAttribute('data-error') === 'true' })),
  );
}

test('search form → results → trace view with the spans in tree order; a span’s logs; the log line back to the trace', async () => {
  const { page } = browser;
  await page.goto(`${heimdall.httpUrl}/explore?ds=heimdall-traces&from=now-30m&to=now`);
  await page.getByLabel('Service name').locator('option', { hasText: 'payment' }).waitFor({ state: 'attached' });
  await page.getByLabel('Service name').selectOption('payment');
  await page.getByLabel('Status').selectOption('error');
  await page.getByTestId('trace-search-submit').click();
  await page.waitForFunction(`new URL(location.href).searchParams.get('expr') === '{ resource.service.name = "payment" && status = error }'`);
  const results = page.getByTestId('trace-results');
  await results.waitFor();
  const row = results.locator(`tr[data-trace-id="${traceId}"]`);
  assert.equal(await row.locator('[data-column=service]').textContent(), 'frontend');
  assert.equal(await row.locator('[data-column=name]').textContent(), 'GET /checkout');
  assert.equal(await row.locator('[data-column=matched]').textContent(), '1');

  await row.getByTestId('trace-link').click();
  assert.deepEqual(await spanRows(page), [
    { service: 'frontend', name: 'GET /checkout', error: false },
    { service: 'frontend', name: 'POST /pay', error: false },
    { service: 'payment', name: 'POST /pay', error: true },
    { service: 'payment', name: 'SELECT cards', error: false },
  ]);
  // Collapsing the payment server span hides its child.
  const paymentRow = page.locator('[data-testid=span-row][data-service=payment][data-error=true]');
  await paymentRow.getByRole('button', { name: 'Collapse' }).click();
  assert.equal((await spanRows(page)).length, 3);
  await paymentRow.getByRole('button', { name: 'Expand' }).click();

  await paymentRow.click();
  const details = page.getByTestId('span-details');
  assert.equal(await details.getByTestId('span-status').textContent(), 'error: card declined');
  const text = (await details.textContent()) ?? '';
  assert.match(text, /card\.brandvisa/);
  assert.match(text, /card declined.*reason=insufficient funds/);
  assert.match(text, /service\.namepayment/);
  assert.match(text, /nameshop-payment/);
  await browser.screenshot('explore-trace-view');

  // The span-level flame graph of the trace: a frame per service and operation, self time in the table.
  await page.getByRole('tab', { name: 'Flame graph' }).click();
  const traceFlame = page.getByTestId('trace-flame-graph');
  const frames = await traceFlame.locator('[data-testid=flame-top-table] tbody tr').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-symbol')));
  assert.deepEqual([...frames].sort(), ['frontend: GET /checkout', 'frontend: POST /pay', 'payment: POST /pay', 'payment: SELECT cards']);
  await browser.screenshot('explore-trace-flamegraph');
  await page.getByRole('tab', { name: 'Waterfall' }).click();

  // Span → its logs, in the split view beside the trace over the same range: the payment service's lines that
  // carry this trace id.
  await details.getByTestId('span-logs-link').click();
  await page.waitForFunction(`(() => { const p = new URL(location.href).searchParams; return p.get('r.ds') === 'heimdall-logs' && p.get('trace') === '${traceId}' && p.get('from') === 'now-30m'; })()`);
  const right = page.getByTestId('pane-right');
  await right.locator('[data-testid=query-status][data-state=done]').waitFor();
  const lines = await right.locator('[data-testid=log-lines] .log-text').allTextContents();
  assert.deepEqual(lines, ['level=error msg="card declined"']);

  // Log line → the trace: the logs move to the left pane, the trace opens on the right.
  await right.locator('[data-testid=log-lines] .log-line').first().click();
  await right.getByTestId('log-trace-link').click();
  await page.waitForFunction(`(() => { const p = new URL(location.href).searchParams; return p.get('r.trace') === '${traceId}' && p.get('ds') === 'heimdall-logs'; })()`);
  assert.equal((await spanRows(page)).length, 4);
});

test('a log source’s own trace id regex (its correlation settings) links a line to its trace', async () => {
  const { page } = browser;
  await page.goto(`${heimdall.httpUrl}/explore?ds=heimdall-logs&from=now-30m&to=now&expr=${encodeURIComponent('{service_name="billing"}')}`);
  await page.locator('[data-testid=log-lines] .log-line').first().click();
  await page.getByTestId('log-trace-link').click();
  await page.waitForFunction(`(() => { const p = new URL(location.href).searchParams; return p.get('r.trace') === '${traceId}' && p.get('r.ds') === 'heimdall-traces'; })()`);
  assert.equal((await spanRows(page)).length, 4);
});

test('the TraceQL editor completes attributes and their values from the tag APIs', async () => {
  const { page } = browser;
  await page.goto(`${heimdall.httpUrl}/explore?ds=heimdall-traces&from=now-30m&to=now`);
  await page.locator('[data-testid=traceql-editor] .cm-content').click();
  await page.keyboard.type('{ resource.serv');
  const completions = page.locator('.cm-tooltip-autocomplete');
  await completions.getByText('resource.service.name').waitFor();
  await page.keyboard.press('Enter');
  await page.keyboard.type(' = ');
  await completions.getByText('"payment"').waitFor();
  await page.keyboard.press('Escape');
  assert.match((await page.locator('[data-testid=traceql-editor] .cm-content').textContent()) ?? '', /\{ resource\.service\.name = \s*\}?/);
});

test('a span links to its service’s profile: the flame graph and top table name the frames; the previous-period diff renders', async () => {
  const { page } = browser;
  await page.goto(`${heimdall.httpUrl}/explore?ds=heimdall-traces&from=now-30m&to=now&trace=${traceId}`);
  await page.locator('[data-testid=span-row][data-service=payment][data-error=true]').click();
  await page.getByRole('link', { name: 'Profile of payment around it' }).click();
  await page.waitForFunction(`new URL(location.href).searchParams.get('r.ds') === 'heimdall-profiles'`);
  const flame = page.getByTestId('flame-graph');
  await flame.locator('canvas').waitFor();
  const symbols = await flame.locator('[data-testid=flame-top-table] tbody tr').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-symbol')));
  // Sorted by self: chargeCard 300 ms, validateCard 100 ms, idle 50 ms; main and handlePayment have no self time.
  assert.deepEqual(symbols.slice(0, 3), ['chargeCard', 'validateCard', 'idle']);
  assert.deepEqual([...symbols].sort(), ['chargeCard', 'handlePayment', 'idle', 'main', 'validateCard']);
  await flame.getByRole('button', { name: /^Total/ }).click();
  assert.equal(await flame.locator('[data-testid=flame-top-table] tbody tr').first().getAttribute('data-symbol'), 'main');
  // Focus on a function from the table.
  await flame.locator('[data-testid=flame-top-table] tr[data-symbol=handlePayment]').click();
  assert.equal(await flame.getAttribute('data-focus'), 'handlePayment');
  await browser.screenshot('explore-profiles-flamegraph');
  // The sandwich view of the focused function: its callers and callees, each totalling its 400 ms.
  await flame.getByTestId('flame-sandwich').click();
  assert.equal(await flame.getByTestId('flame-callers').getAttribute('data-total'), '400000000');
  assert.equal(await flame.getByTestId('flame-callees').getAttribute('data-total'), '400000000');
  await browser.screenshot('explore-profiles-sandwich');
  await flame.getByTestId('flame-sandwich-off').click();

  // Export: the merged profile as a gzipped pprof naming the pushed functions.
  const [download] = await Promise.all([page.waitForEvent('download'), page.getByTestId('export-pprof').click()]);
  assert.match(download.suggestedFilename(), /^payment\..*\.pb\.gz$/);
  const pprof = decodePprof(await readFile(await download.path()), 1 << 20);
  assert.ok(typeof pprof !== 'string', String(pprof));
  assert.deepEqual([...pprof.functions.values()].map((f) => f.name).sort(), ['chargeCard', 'handlePayment', 'idle', 'main', 'validateCard']);

  await page.getByTestId('diff-previous').click();
  await page.getByTestId('diff-notice').waitFor();
  await page.locator('[data-testid=flame-graph] canvas').waitFor();
  assert.match((await page.getByTestId('flame-graph').textContent()) ?? '', /baseline 0 ns → comparison 450\.00 ms/);

  // A diff between two label selections over the same range: the frontend's profile as the baseline.
  await page.getByTestId('diff-off').click();
  await page.getByTestId('diff-base-selector').fill('{service_name="frontend"}');
  await page.getByTestId('diff-selectors').click();
  await page.waitForFunction(`new URL(location.href).searchParams.get('r.base') === '{service_name="frontend"}'`);
  await page.getByTestId('diff-notice').waitFor();
  await page.waitForFunction(`/baseline 200\\.00 ms → comparison 450\\.00 ms/.test(document.querySelector('[data-testid=flame-graph]')?.textContent ?? '')`);
  await browser.screenshot('explore-profiles-diff-selections');
});

test('an exemplar on a metrics graph opens its trace in the split view over the same range; the graph links to its service’s profiles', async () => {
  const { page } = browser;
  await page.goto(`${heimdall.httpUrl}/explore?from=now-30m&to=now&expr=checkout_duration_seconds&exemplars=1`);
  const point = page.locator(`[data-testid=exemplar-point][data-trace-id="${traceId}"]`);
  await point.hover();
  assert.match((await point.getAttribute('title')) ?? '', new RegExp(`trace_id=${traceId}`));
  await point.click();
  await page.waitForFunction(
    `(() => { const p = new URL(location.href).searchParams; return p.get('r.trace') === '${traceId}' && p.get('r.ds') === 'heimdall-traces' && p.get('expr') === 'checkout_duration_seconds' && p.get('from') === 'now-30m'; })()`,
  );
  assert.equal((await spanRows(page)).length, 4);
  await browser.screenshot('explore-exemplar-to-trace');

  // Metrics → profiles: the series' service_name names the service whose profiles open on the right.
  await page.getByTestId('pane-left').getByTestId('series-profile-link').filter({ hasText: 'payment' }).click();
  await page.waitForFunction(`(() => { const p = new URL(location.href).searchParams; return p.get('r.ds') === 'heimdall-profiles' && p.get('r.expr') === '{service_name="payment"}' && p.get('to') === 'now'; })()`);
  const top = page.getByTestId('pane-right').locator('[data-testid=flame-top-table] tbody tr').first();
  assert.equal(await top.getAttribute('data-symbol'), 'chargeCard');
});

test('a TraceQL metrics query is drawn as a graph whose exemplars open their trace', async () => {
  const { page } = browser;
  const q = encodeURIComponent('{ resource.service.name = "payment" } | count_over_time()');
  await page.goto(`${heimdall.httpUrl}/explore?ds=heimdall-traces&from=now-30m&to=now&expr=${q}`);
  await page.getByTestId('time-series-graph').waitFor();
  const point = page.locator(`[data-testid=exemplar-point][data-trace-id="${traceId}"]`).first();
  await point.click();
  await page.waitForFunction(`new URL(location.href).searchParams.get('trace') === '${traceId}'`);
  assert.equal((await spanRows(page)).length, 4);
  await browser.screenshot('explore-traceql-metrics');
});

test('the service graph shows the frontend → payment edge from the metrics-generator’s series; a service opens its traces', async () => {
  const { page } = browser;
  const edge = page.locator('[data-testid=service-graph-edge][data-client=frontend][data-server=payment]');
  // rate() needs two samples of the generated counter: reload until the generator has written them.
  const deadline = Date.now() + GENEROUS_MS;
  for (;;) {
    await page.goto(`${heimdall.httpUrl}/explore?ds=heimdall-traces&view=servicegraph&from=now-30m&to=now`);
    await page.locator('[data-testid=service-graph], [data-testid=service-graph-empty]').first().waitFor();
    if ((await edge.count()) === 1 || Date.now() > deadline) break;
    await new Promise((r) => setTimeout(r, 1000));
  }
  assert.equal(await edge.count(), 1);
  assert.match((await edge.textContent()) ?? '', /req\/s/);
  await browser.screenshot('explore-service-graph');
  // RED panels of a service from the span metrics, by operation.
  await page.getByTestId('red-service').selectOption('payment');
  await page.waitForFunction(`new URL(location.href).searchParams.get('red') === 'payment'`);
  for (const title of ['Rate', 'Errors', 'Duration (p95)']) await page.locator(`[data-testid=red-panel][data-title="${title}"]`).waitFor();
  assert.equal(await page.locator('[data-testid=red-panels][data-service=payment] [data-testid=red-panel][data-title=Rate] [data-testid=time-series-graph]').count(), 1);
  await browser.screenshot('explore-red-panels');
  await page.locator('[data-testid=service-graph-node][data-service=payment]').click();
  await page.waitForFunction(`new URL(location.href).searchParams.get('expr') === '{ resource.service.name = "payment" }'`);
  await page.locator(`[data-testid=trace-results] tr[data-trace-id="${traceId}"]`).waitFor();
});

test('a dashboard draws the flamegraph, traces and nodeGraph panel types from Grafana JSON', async () => {
  const { page } = browser;
  const dashboard = {
    uid: 'signals',
    title: 'Signals',
    schemaVersion: 41,
    time: { from: 'now-30m', to: 'now' },
    panels: [
      {
        id: 1,
        type: 'flamegraph',
        title: 'Payment CPU',
        gridPos: { x: 0, y: 0, w: 24, h: 10 },
        datasource: { type: 'grafana-pyroscope-datasource', uid: 'pyro' },
        targets: [{ refId: 'A', queryType: 'profile', profileTypeId: 'process_cpu:cpu:nanoseconds:cpu:nanoseconds', labelSelector: '{service_name="payment"}' }],
      },
      { id: 2, type: 'traces', title: 'Checkout trace', gridPos: { x: 0, y: 10, w: 24, h: 10 }, datasource: { type: 'tempo', uid: 'tempo' }, targets: [{ refId: 'A', queryType: 'traceql', query: traceId }] },
      { id: 3, type: 'nodeGraph', title: 'Service map', gridPos: { x: 0, y: 20, w: 24, h: 8 }, datasource: { type: 'tempo', uid: 'tempo' }, targets: [{ refId: 'A', queryType: 'serviceMap' }] },
    ],
  };
  const saved = await fetch(`${heimdall.httpUrl}/api/dashboards/db`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ dashboard, overwrite: true }) });
  assert.equal(saved.status, 200, await saved.text());
  await page.goto(`${heimdall.httpUrl}/d/signals`);
  const panel = (type: string): ReturnType<Page['locator']> => page.locator(`[data-testid=dashboard-panel][data-panel-type=${type}]`);
  await panel('flamegraph').locator('[data-testid=flame-top-table] tr[data-symbol=chargeCard]').waitFor();
  await panel('traces').scrollIntoViewIfNeeded();
  await panel('traces').getByTestId('trace-view').waitFor();
  assert.equal(await panel('traces').getByTestId('span-row').count(), 4);
  await panel('nodeGraph').scrollIntoViewIfNeeded();
  await panel('nodeGraph').locator('[data-testid=service-graph-edge][data-client=frontend][data-server=payment]').waitFor();
  await browser.screenshot('dashboard-signal-panels');
});
