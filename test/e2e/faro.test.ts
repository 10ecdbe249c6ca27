// The Faro receiver with the real `@grafana/faro-web-sdk` (and `@grafana/faro-web-tracing`) in headless Chromium: a
// page served on one loopback port sends to Heimdall's Faro listener on another (so CORS preflights are real),
// with an API key; its log, exception (with stack trace), event and measurement come back through the Loki API
// as Alloy's logfmt lines with the kind/app labels, and its spans through the Tempo API.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { build } from 'esbuild';
import { launchBrowser } from '../support/browser.ts';
import type { TestBrowser } from '../support/browser.ts';
import { GENEROUS_MS } from '../support/bounds.ts';
import { REPO, startHeimdall } from './harness.ts';
import type { HeimdallProcess } from './harness.ts';

const API_KEY = 'faro-e2e-key';

/** Polls `probe` until it returns a value `accept` takes; fails after the generous bound with the last value. */
async function eventually<T>(what: string, probe: () => Promise<T>, accept: (v: T) => boolean): Promise<T> {
  const deadline = Date.now() + GENEROUS_MS;
  let last: T | undefined;
  for (;;) {
    last = await probe().catch(() => undefined);
    if (last !== undefined && accept(last)) return last;
    if (Date.now() > deadline) assert.fail(`${what}: last saw ${JSON.stringify(last)}`);
    await sleep(250);
  }
}

interface Stream {
  stream: Record<string, string>;
  values: [string, string][];
}

async function lokiStreams(url: string, query: string): Promise<Stream[]> {
  const res = await fetch(`${url}/loki/api/v1/query_range?query=${encodeURIComponent(query)}&start=${(Date.now() - 3_600_000) * 1e6}&end=${(Date.now() + 60_000) * 1e6}`);
  const body = (await res.json()) as { data: { result: Stream[] } };
  return body.data.result;
}

describe('Faro receiver with the Faro Web SDK in Chromium', () => {
  let heimdall: HeimdallProcess;
  let faroUrl = '';
  let site: http.Server;
  let siteUrl = '';
  let bundleDir = '';
  let browser: TestBrowser | undefined;

  before(async () => {
    heimdall = await startHeimdall({ config: { faro: { listen_address: '127.0.0.1:0', api_key: API_KEY } } });
    await heimdall.waitForOutput(/Faro receiver listening on 127\.0\.0\.1:\d+/);
    faroUrl = `http://${/Faro receiver listening on (127\.0\.0\.1:\d+)/.exec(heimdall.output())![1]}`;
    bundleDir = mkdtempSync(path.join(os.tmpdir(), 'faro-page-'));
    await build({
      entryPoints: [path.join(REPO, 'test/e2e/testdata/faro-page.mjs')],
      bundle: true,
      format: 'iife',
      platform: 'browser',
      target: 'chrome120',
      outfile: path.join(bundleDir, 'page.js'),
      logLevel: 'silent',
    });
    const script = readFileSync(path.join(bundleDir, 'page.js'));
    site = http.createServer((req, res) => {
      if (req.url === '/page.js') return void res.writeHead(200, { 'content-type': 'text/javascript' }).end(script);
      const config = JSON.stringify({ url: `${faroUrl}/collect`, apiKey: API_KEY });
      res.writeHead(200, { 'content-type': 'text/html' }).end(`<!doctype html><title>shop</title><script>window.faroTest = ${config};</script><script src="/page.js"></script><p>cart</p>`);
    });
    await new Promise<void>((resolve) => site.listen(0, '127.0.0.1', resolve));
    siteUrl = `http://127.0.0.1:${(site.address() as AddressInfo).port}/`;
  });

  after(async () => {
    await browser?.close().catch(() => undefined);
    site?.close();
    await heimdall?.stop();
    if (bundleDir) rmSync(bundleDir, { recursive: true, force: true });
  });

  test('logs, exceptions with stack traces, events and measurements become logfmt lines; spans reach the trace store', async () => {
    browser = await launchBrowser();
    const collected: number[] = [];
    browser.page.on('response', (r) => {
      if (r.url().startsWith(`${faroUrl}/collect`) && r.request().method() === 'POST') collected.push(r.status());
    });
    await browser.page.goto(siteUrl);
    await browser.page.waitForFunction('window.faroTest.done === true');

    const byKind = async (kind: string): Promise<Stream[]> => lokiStreams(heimdall.httpUrl, `{app_name="shop", kind="${kind}"}`);
    const has = (streams: Stream[]): boolean => streams.some((s) => s.values.length > 0);
    const log = await eventually('the log line', () => byKind('log'), has);
    assert.deepEqual(log[0]!.stream.app_version, '1.2.3');
    assert.deepEqual(log[0]!.stream.environment, 'e2e');
    const logLine = log.flatMap((s) => s.values.map((v) => v[1])).find((l) => l.includes('hello from the browser'))!;
    assert.match(logLine, /^timestamp="\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(\.\d+)? \+0000 UTC" kind=log message="hello from the browser" level=log context_page=cart /);
    assert.match(logLine, / sdk_name=faro-web sdk_version=\S+ app_name=shop /);
    assert.match(logLine, / app_name=shop app_version=1\.2\.3 app_environment=e2e /);
    assert.match(logLine, / session_id=\S+ /);
    assert.match(logLine, / page_url=http:\/\/127\.0\.0\.1:\d+\/ /);
    assert.match(logLine, / browser_name="Chrome Headless" /);

    const exception = await eventually('the exception', () => byKind('exception'), has);
    const exceptionLine = exception[0]!.values[0]![1];
    assert.match(exceptionLine, / kind=exception type=Error value="payment declined" stacktrace="Error: payment declined\\n {2}at checkout \(http:\/\/127\.0\.0\.1:\d+\/page\.js:\d+:\d+\)/);

    // Besides the page's own event, the SDK's instrumentations send theirs (faro.performance.navigation, ...).
    const events = await eventually('the event', async () => (await byKind('event')).flatMap((s) => s.values.map((v) => v[1])), (lines) =>
      lines.some((l) => l.includes('event_name=checkout_started')),
    );
    assert.match(events.find((l) => l.includes('event_name=checkout_started'))!, / kind=event event_name=checkout_started (event_domain=\S+ )?event_data_step=pay /);
    assert.ok(events.some((l) => l.includes('event_name=faro.performance.navigation')));

    const measurement = await eventually('the measurement', async () => (await byKind('measurement')).flatMap((s) => s.values.map((v) => v[1])), (lines) =>
      lines.some((l) => l.includes('type=cart')),
    );
    assert.match(measurement.find((l) => l.includes('type=cart'))!, / kind=measurement type=cart items=3\.000000 .*value_items=3\b/);

    // The browser's spans (the manual one, and the document-load ones of the tracing instrumentation).
    const search = await eventually(
      'spans of service shop',
      async () => {
        const q = encodeURIComponent('{ resource.service.name = "shop" && name = "render cart" }');
        const res = await fetch(`${heimdall.httpUrl}/tempo/api/search?q=${q}&start=${Math.floor(Date.now() / 1000) - 3600}&end=${Math.ceil(Date.now() / 1000) + 60}`);
        return ((await res.json()) as { traces: { rootServiceName: string }[] }).traces;
      },
      (traces) => traces.length > 0,
    );
    assert.equal(search[0]!.rootServiceName, 'shop');
    assert.ok(collected.length > 0 && collected.every((s) => s === 202), `collect answers: ${collected.join(',')}`);
  });

  test('CORS preflight, API key, malformed payloads and the size limit answer as Alloy does', async () => {
    const preflight = await fetch(`${faroUrl}/collect`, {
      method: 'OPTIONS',
      headers: { origin: 'http://example.test', 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type, x-api-key' },
    });
    assert.equal(preflight.status, 204);
    assert.equal(preflight.headers.get('access-control-allow-origin'), '*');
    assert.match(preflight.headers.get('access-control-allow-headers') ?? '', /x-api-key/);
    const post = (body: string, headers: Record<string, string> = { 'x-api-key': API_KEY }): Promise<Response> =>
      fetch(`${heimdall.httpUrl}/collect`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });
    const noKey = await post('{}', {});
    assert.equal(noKey.status, 401);
    assert.match(await noKey.text(), /api key/);
    const bad = await post('{"logs": [');
    assert.equal(bad.status, 400);
    assert.match(await bad.text(), /malformed Faro payload/);
    const ok = await post(JSON.stringify({ logs: [{ message: 'direct', level: 'info', timestamp: '2024-01-02T03:04:05.600Z' }], meta: { app: { name: 'direct' } } }));
    assert.equal(ok.status, 202);
    assert.equal(await ok.text(), 'ok');
    const lines = await eventually('the direct line', () => lokiStreams(heimdall.httpUrl, '{app_name="direct"}'), (s) => s.length > 0);
    assert.equal(lines[0]!.values[0]![1], 'timestamp="2024-01-02 03:04:05.6 +0000 UTC" kind=log message=direct level=info app_name=direct browser_mobile=false');
    const tooLarge = await post(JSON.stringify({ logs: [{ message: 'x'.repeat(6 * 1024 * 1024) }] }));
    assert.equal(tooLarge.status, 413);
  });
});
