// The UI's server side on a real Fastify server with real sockets: settings, the data-source proxy to the
// embedded APIs (in process) and to a remote upstream (a real HTTP server on loopback that records what it got),
// and the static site's fallback and caching.
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { IncomingHttpHeaders, Server } from 'node:http';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import formbody from '@fastify/formbody';
import Fastify from 'fastify';
import type { FastifyInstance } from 'fastify';
import pino from 'pino';
import { configSchema } from '../config/index.ts';
import type { HeimdallConfigInput } from '../config/index.ts';
import { resolveOrgs } from './orgs.ts';
import { StaticSite } from './static-site.ts';
import { registerUiRoutes } from './ui-routes.ts';

interface Seen {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: string;
}

let upstream: Server;
let upstreamUrl: string;
const seen: Seen[] = [];

before(async () => {
  upstream = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body });
      res.writeHead(200, { 'content-type': 'application/json', 'x-secret-upstream-header': 'no' });
      res.end('{"status":"success","data":{"resultType":"vector","result":[]}}');
    });
  });
  await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
  const addr = upstream.address();
  upstreamUrl = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`;
});

after(() => upstream.close());

/** A Fastify server with formbody (as Heimdall's has), stand-in API routes that echo the tenant, and the UI routes. */
async function serverWith(ui: HeimdallConfigInput['ui'], multitenancy = true): Promise<FastifyInstance> {
  const app = Fastify();
  await app.register(formbody);
  app.all('/prometheus/api/v1/query', async (req) => ({ tenant: req.headers['x-scope-orgid'], body: req.body ?? null, query: req.query }));
  app.get('/loki/api/v1/labels', async (req) => ({ status: 'success', data: [req.headers['x-scope-orgid']] }));
  app.get('/tempo/api/v2/search/tags', async (req) => ({ tenant: req.headers['x-scope-orgid'], query: req.query }));
  app.post('/pyroscope/querier.v1.QuerierService/ProfileTypes', async (req) => ({ tenant: req.headers['x-scope-orgid'], body: req.body ?? null }));
  // The dashboard store opens under data_dir: a temp directory removed with the server.
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'ui-routes-'));
  const config = configSchema.parse({ multitenancy, ui, data_dir: dataDir });
  const routes = await registerUiRoutes(app, config, pino({ level: 'silent' }));
  app.addHook('onClose', async () => {
    routes.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  return app;
}

/** A loopback port nothing listens on (bound, then released). */
async function closedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const addr = s.address();
  await new Promise((resolve) => s.close(resolve));
  return typeof addr === 'object' && addr ? addr.port : 0;
}

function base(app: FastifyInstance): string {
  const addr = app.server.address();
  return `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`;
}

const ORGS = [
  { name: 'team-alpha', tenants: ['team-alpha'] },
  { name: 'platform', tenants: ['a', 'b', 'c'] },
];

test('settings list orgs and data sources without URLs or credentials', async () => {
  const app = await serverWith({
    orgs: ORGS,
    datasources: [{ uid: 'mimir', name: 'Mimir', type: 'prometheus', url: upstreamUrl, headers: { authorization: 'Bearer s3cret' } }],
  });
  try {
    const text = await (await fetch(`${base(app)}/api/frontend/settings`)).text();
    assert.doesNotMatch(text, /s3cret|127\.0\.0\.1/);
    const settings = JSON.parse(text) as { orgs: unknown; datasources: { correlations: Record<string, unknown> }[] };
    assert.deepEqual(settings.orgs, ORGS);
    const [{ correlations, ...mimir }] = settings.datasources as [{ correlations: Record<string, unknown> }];
    assert.deepEqual(mimir, { uid: 'mimir', name: 'Mimir', type: 'prometheus', embedded: false });
    // Its correlations with the defaults, the target uids of the types configured filled in (only metrics here).
    assert.equal(correlations.metrics_uid, 'mimir');
    assert.equal(correlations.traces_uid, undefined);
    assert.equal(correlations.exemplar_trace_id_label, 'trace_id');
  } finally {
    await app.close();
  }
});

test('the default org reads anonymous (multitenancy off) or the default tenant; default sources are the embedded engines', async () => {
  for (const [multitenancy, tenant] of [[false, 'anonymous'], [true, 'default']] as const) {
    const app = await serverWith(undefined, multitenancy);
    try {
      const s = (await (await fetch(`${base(app)}/api/frontend/settings`)).json()) as { orgs: unknown; datasources: { uid: string; embedded: boolean }[] };
      assert.deepEqual(s.orgs, [{ name: 'default', tenants: [tenant] }]);
      assert.deepEqual(s.datasources.map((d) => [d.uid, d.embedded]), [
        ['heimdall-metrics', true],
        ['heimdall-logs', true],
        ['heimdall-traces', true],
        ['heimdall-profiles', true],
      ]);
    } finally {
      await app.close();
    }
  }
});

test('embedded sources are answered in process with the org’s tenants as X-Scope-OrgID; the browser’s own header is dropped', async () => {
  const app = await serverWith({ orgs: ORGS });
  try {
    const res = await fetch(`${base(app)}/api/datasources/proxy/uid/heimdall-metrics/api/v1/query?query=up`, {
      headers: { 'x-heimdall-org': 'platform', 'x-scope-orgid': 'someone-else' },
    });
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), { tenant: 'a|b|c', body: null, query: { query: 'up' } });
    // A POST form body goes through unchanged.
    const post = await fetch(`${base(app)}/api/datasources/proxy/uid/heimdall-metrics/api/v1/query`, {
      method: 'POST',
      headers: { 'x-heimdall-org': 'team-alpha', 'content-type': 'application/x-www-form-urlencoded' },
      body: 'query=sum(up)',
    });
    assert.deepEqual(await post.json(), { tenant: 'team-alpha', body: { query: 'sum(up)' }, query: {} });
    const logs = await fetch(`${base(app)}/api/datasources/proxy/uid/heimdall-logs/loki/api/v1/labels`, { headers: { 'x-heimdall-org': 'team-alpha' } });
    assert.deepEqual(await logs.json(), { status: 'success', data: ['team-alpha'] });
    const tags = await fetch(`${base(app)}/api/datasources/proxy/uid/heimdall-traces/api/v2/search/tags?scope=span`, { headers: { 'x-heimdall-org': 'platform' } });
    assert.deepEqual(await tags.json(), { tenant: 'a|b|c', query: { scope: 'span' } });
    // Pyroscope's Connect queries are POSTs with a JSON body; the proxy passes them on as they are.
    const types = await fetch(`${base(app)}/api/datasources/proxy/uid/heimdall-profiles/querier.v1.QuerierService/ProfileTypes`, {
      method: 'POST',
      headers: { 'x-heimdall-org': 'team-alpha', 'content-type': 'application/json' },
      body: '{"start":1}',
    });
    assert.deepEqual(await types.json(), { tenant: 'team-alpha', body: { start: 1 } });
    const push = await fetch(`${base(app)}/api/datasources/proxy/uid/heimdall-profiles/push.v1.PusherService/Push`, { method: 'POST', headers: { 'x-heimdall-org': 'team-alpha' }, body: '{}' });
    assert.equal(push.status, 404, 'writes are never forwarded');
  } finally {
    await app.close();
  }
});

test('a remote source gets the configured credentials and the org tenant; the browser gets the answer, not the credentials', async () => {
  const app = await serverWith({
    orgs: ORGS,
    datasources: [
      { uid: 'mimir', name: 'Mimir', type: 'prometheus', url: `${upstreamUrl}/prometheus/`, headers: { 'x-extra': 'yes' }, basic_auth: { username: 'u', password: 'p' } },
      { uid: 'fixed', name: 'Fixed tenant', type: 'prometheus', url: upstreamUrl, tenant: 'ops' },
    ],
  });
  try {
    seen.length = 0;
    const res = await fetch(`${base(app)}/api/datasources/proxy/uid/mimir/api/v1/query?query=up&time=1`, {
      headers: { 'x-heimdall-org': 'platform', cookie: 'session=1', authorization: 'Bearer from-browser' },
    });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('x-secret-upstream-header'), null);
    assert.deepEqual(await res.json(), { status: 'success', data: { resultType: 'vector', result: [] } });
    const got = seen[0]!;
    assert.equal(got.url, '/prometheus/api/v1/query?query=up&time=1');
    assert.equal(got.headers['x-scope-orgid'], 'a|b|c');
    assert.equal(got.headers['x-extra'], 'yes');
    assert.equal(got.headers.authorization, `Basic ${Buffer.from('u:p').toString('base64')}`);
    assert.equal(got.headers.cookie, undefined);

    await fetch(`${base(app)}/api/datasources/proxy/uid/fixed/api/v1/labels`, { headers: { 'x-heimdall-org': 'team-alpha' } });
    assert.equal(seen[1]!.headers['x-scope-orgid'], 'ops');
    assert.equal(seen[1]!.headers.authorization, undefined);
  } finally {
    await app.close();
  }
});

test('proxy refusals name the problem: unknown source, missing or unknown org, a path it does not forward, an unreachable upstream', async () => {
  const app = await serverWith({
    orgs: ORGS,
    datasources: [
      { uid: 'heimdall-metrics', name: 'm', type: 'prometheus' },
      { uid: 'down', name: 'Down', type: 'loki', url: `http://127.0.0.1:${await closedPort()}` },
    ],
  });
  const get = async (p: string, org?: string): Promise<[number, string]> => {
    const res = await fetch(`${base(app)}${p}`, { headers: org ? { 'x-heimdall-org': org } : {} });
    return [res.status, await res.text()];
  };
  try {
    assert.deepEqual(await get('/api/datasources/proxy/uid/nope/api/v1/query', 'platform'), [404, 'unknown data source uid "nope"; configured: heimdall-metrics, down']);
    assert.deepEqual(await get('/api/datasources/proxy/uid/heimdall-metrics/api/v1/query'), [400, 'missing x-heimdall-org header: name the org the request is for']);
    assert.deepEqual(await get('/api/datasources/proxy/uid/heimdall-metrics/api/v1/query', 'x'), [400, 'unknown org "x"; configured: team-alpha, platform']);
    assert.deepEqual(await get('/api/datasources/proxy/uid/heimdall-metrics/api/v1/push', 'platform'), [404, 'the prometheus data source proxy does not forward "api/v1/push"']);
    assert.deepEqual(await get('/api/datasources/proxy/uid/heimdall-metrics/api/v1/label/%2E%2E/values', 'platform'), [404, 'the prometheus data source proxy does not forward "api/v1/values"'] /* the client normalises the dots */);
    const [status, text] = await get('/api/datasources/proxy/uid/down/loki/api/v1/labels', 'platform');
    assert.equal(status, 502);
    assert.match(text, /^data source "Down" at http:\/\/127\.0\.0\.1:\d+ is unreachable: ECONNREFUSED/);
  } finally {
    await app.close();
  }
});

test('invalid ui config is refused with the key path', () => {
  const refusal = (ui: unknown): string => {
    const r = configSchema.safeParse({ ui });
    if (r.success) assert.fail('accepted');
    return r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('\n');
  };
  assert.match(refusal({ orgs: [{ name: 'a', tenants: [] }] }), /^ui\.orgs\.0\.tenants: /);
  assert.match(refusal({ orgs: [{ name: 'a', tenants: ['x'] }, { name: 'a', tenants: ['y'] }] }), /^ui\.orgs\.1\.name: duplicate org name "a"/);
  assert.match(refusal({ orgs: [{ name: 'a|b', tenants: ['x'] }] }), /^ui\.orgs\.0\.name: /);
  assert.match(refusal({ datasources: [{ uid: 'x', name: 'x', type: 'jaeger' }] }), /^ui\.datasources\.0\.type: /);
  assert.match(refusal({ datasources: [{ uid: 'x', name: 'x', type: 'loki', url: 'ftp://x' }] }), /^ui\.datasources\.0\.url: /);
  // Tenant ids follow the upstream rules; a bad one stops start-up naming the org.
  assert.throws(() => resolveOrgs(configSchema.parse({ ui: { orgs: [{ name: 'a', tenants: ['no spaces'] }] } })), /org "a" has an invalid tenant "no spaces"/);
});

test('static site: client routes get index.html (no-cache, ETag, 304), hashed assets are immutable and gzipped, API paths are not pages', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'heimdall-site-'));
  try {
    mkdirSync(path.join(dir, 'assets'));
    writeFileSync(path.join(dir, 'index.html'), '<!doctype html><title>t</title>');
    writeFileSync(path.join(dir, 'assets', 'app-abc123.js'), 'console.log(1);\n'.repeat(200));
    const site = StaticSite.load(dir)!;
    const app = Fastify();
    app.setNotFoundHandler((req, reply) => {
      const p = req.url.split('?')[0]!;
      return StaticSite.isPagePath(p) ? site.serve(req, reply, p) : reply.code(404).send('api 404');
    });
    const page = await app.inject({ url: '/explore?x=1' });
    assert.equal(page.statusCode, 200);
    assert.equal(page.headers['cache-control'], 'no-cache');
    assert.equal(page.body, '<!doctype html><title>t</title>');
    const again = await app.inject({ url: '/', headers: { 'if-none-match': String(page.headers.etag) } });
    assert.equal(again.statusCode, 304);
    const asset = await app.inject({ url: '/assets/app-abc123.js', headers: { 'accept-encoding': 'gzip, br' } });
    assert.equal(asset.headers['cache-control'], 'public, max-age=31536000, immutable');
    assert.equal(asset.headers['content-encoding'], 'gzip');
    assert.equal(asset.headers['content-type'], 'text/javascript; charset=utf-8');
    assert.equal((await app.inject({ url: '/assets/gone-old.js' })).statusCode, 404);
    for (const p of ['/api/x', '/prometheus/api/v1/x', '/loki/api/v1/x', '/metrics']) assert.equal(StaticSite.isPagePath(p), false, p);
    assert.equal(StaticSite.load(path.join(dir, 'missing')), undefined);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
