// The dashboard API on a real Fastify server over real sockets, with the store in a temp data directory: Grafana's
// shapes and codes (412 on a stale version, provisioned dashboards read-only), per-org separation, search and
// folders, saved dashboards surviving a reopen of the store, and a watched provisioning directory.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import Fastify from 'fastify';
import type { FastifyInstance } from 'fastify';
import pino from 'pino';
import { DashboardStore, ProvisionedDashboards } from '../dashboards/index.ts';
import { BUILTIN_DASHBOARDS_DIR } from '../dashboards/index.ts';
import { registerDashboardRoutes } from './dashboard-routes.ts';

let tmp: string;
before(() => {
  tmp = mkdtempSync(path.join(os.tmpdir(), 'ui4-dash-'));
});
after(() => rmSync(tmp, { recursive: true, force: true }));

const ORGS = [
  { name: 'team-alpha', tenants: ['team-alpha'] },
  { name: 'team-beta', tenants: ['team-beta'] },
];

async function serve(dataDir: string, provDir: string): Promise<{ app: FastifyInstance; base: string; provisioned: ProvisionedDashboards }> {
  const app = Fastify();
  const store = await DashboardStore.open(dataDir);
  const provisioned = await ProvisionedDashboards.start(
    [
      { dir: BUILTIN_DASHBOARDS_DIR, folderTitle: 'Heimdall', watch: false },
      { dir: provDir, folderTitle: '', watch: true },
    ],
    pino({ level: 'silent' }),
  );
  app.addHook('onClose', async () => provisioned.stop());
  registerDashboardRoutes(app, { orgs: ORGS, store, provisioned });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const addr = app.server.address();
  return { app, base: `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`, provisioned };
}

/** Loose JSON for reading answers in assertions. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- answers are checked field by field by the assertions
type Json = any;

async function call(base: string, method: string, url: string, org: string | undefined, body?: unknown): Promise<{ status: number; json: Json }> {
  const res = await fetch(`${base}${url}`, {
    method,
    headers: { ...(org ? { 'x-heimdall-org': org } : {}), ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  return { status: res.status, json: await res.json() };
}

test('save, read, version conflicts, search, folders and delete as Grafana answers them; orgs are apart; saves survive a reopen', async () => {
  const dataDir = path.join(tmp, 'a-data');
  const provDir = path.join(tmp, 'a-prov');
  mkdirSync(provDir);
  let { app, base } = await serve(dataDir, provDir);
  try {
    const folder = await call(base, 'POST', '/api/folders', 'team-alpha', { title: 'Ops' });
    assert.equal(folder.status, 200);
    assert.equal((await call(base, 'POST', '/api/folders', 'team-alpha', { title: 'ops' })).status, 409);

    const first = await call(base, 'POST', '/api/dashboards/db', 'team-alpha', { dashboard: { title: 'CPU', panels: [], id: 12 }, folderUid: folder.json.uid });
    assert.equal(first.status, 200, JSON.stringify(first.json));
    assert.equal(first.json.status, 'success');
    assert.equal(first.json.version, 1);
    const uid = first.json.uid as string;
    assert.equal(first.json.url, `/d/${uid}/cpu`);

    const got = await call(base, 'GET', `/api/dashboards/uid/${uid}`, 'team-alpha');
    assert.equal(got.json.dashboard.title, 'CPU');
    assert.equal(got.json.dashboard.id, undefined, 'numeric ids are not kept');
    assert.equal(got.json.meta.folderTitle, 'Ops');
    assert.equal(got.json.meta.provisioned, false);

    // Another org does not see it.
    assert.equal((await call(base, 'GET', `/api/dashboards/uid/${uid}`, 'team-beta')).status, 404);
    assert.equal((await call(base, 'GET', `/api/dashboards/uid/${uid}`, 'nobody')).status, 400);

    // A save from version 1 succeeds; a second save still naming version 1 is stale: 412 version-mismatch.
    const second = await call(base, 'POST', '/api/dashboards/db', 'team-alpha', { dashboard: { ...got.json.dashboard, title: 'CPU usage' }, folderUid: folder.json.uid });
    assert.equal(second.json.version, 2);
    const stale = await call(base, 'POST', '/api/dashboards/db', 'team-alpha', { dashboard: { ...got.json.dashboard, title: 'CPU old' }, folderUid: folder.json.uid });
    assert.equal(stale.status, 412);
    assert.equal(stale.json.status, 'version-mismatch');
    const forced = await call(base, 'POST', '/api/dashboards/db', 'team-alpha', { dashboard: { ...got.json.dashboard, title: 'CPU forced' }, folderUid: folder.json.uid, overwrite: true });
    assert.equal(forced.json.version, 3);

    // A new dashboard with a title taken in the folder: 412 name-exists.
    const dup = await call(base, 'POST', '/api/dashboards/db', 'team-alpha', { dashboard: { title: 'cpu forced', panels: [] }, folderUid: folder.json.uid });
    assert.equal(dup.status, 412);
    assert.equal(dup.json.status, 'name-exists');
    assert.equal((await call(base, 'POST', '/api/dashboards/db', 'team-alpha', { dashboard: { panels: [] } })).status, 400, 'no title');
    assert.equal((await call(base, 'POST', '/api/dashboards/db', 'team-alpha', { dashboard: { title: 'x', uid: 'bad uid!' } })).status, 400);
    assert.equal((await call(base, 'POST', '/api/dashboards/db', 'team-alpha', { nothing: true })).status, 400);

    const search = await call(base, 'GET', '/api/search?query=forced', 'team-alpha');
    assert.deepEqual(
      search.json.map((h: Json) => [h.type, h.title, h.folderTitle]),
      [['dash-db', 'CPU forced', 'Ops']],
    );
    const builtins = await call(base, 'GET', '/api/search?type=dash-db', 'team-beta');
    assert.ok(builtins.json.some((h: Json) => h.uid === 'heimdall-host-overview' && h.folderTitle === 'Heimdall' && h.provisioned === true));
    assert.ok(!builtins.json.some((h: Json) => h.uid === uid));

    assert.equal((await call(base, 'DELETE', `/api/folders/${folder.json.uid}`, 'team-alpha')).status, 400, 'a folder with dashboards is kept');
  } finally {
    await app.close();
  }
  // Reopened: the saved dashboard and folder are read back from the files.
  ({ app, base } = await serve(dataDir, provDir));
  try {
    const search = await call(base, 'GET', '/api/search', 'team-alpha');
    assert.ok(search.json.some((h: Json) => h.type === 'dash-folder' && h.title === 'Ops'));
    const hit = search.json.find((h: Json) => h.title === 'CPU forced');
    assert.ok(hit);
    assert.equal((await call(base, 'GET', `/api/dashboards/uid/${hit.uid}`, 'team-alpha')).json.meta.version, 3);
    const del = await call(base, 'DELETE', `/api/dashboards/uid/${hit.uid}`, 'team-alpha');
    assert.equal(del.json.title, 'CPU forced');
    assert.equal((await call(base, 'GET', `/api/dashboards/uid/${hit.uid}`, 'team-alpha')).status, 404);
    assert.equal((await call(base, 'DELETE', `/api/dashboards/uid/${hit.uid}`, 'team-alpha')).status, 404);
    // Without the org header the API acts in the first org, as Grafana's acts in the caller's current org.
    assert.ok((await call(base, 'GET', '/api/search?type=dash-folder', undefined)).json.some((h: Json) => h.title === 'Ops'));
  } finally {
    await app.close();
  }
});

test('provisioned dashboards: read-only, folders from subdirectories, a broken file reported and skipped, changes picked up while running', async () => {
  const provDir = path.join(tmp, 'b-prov');
  mkdirSync(path.join(provDir, 'Team A'), { recursive: true });
  writeFileSync(path.join(provDir, 'top.json'), JSON.stringify({ uid: 'prov-top', title: 'Top', panels: [] }));
  writeFileSync(path.join(provDir, 'Team A', 'nested.json'), JSON.stringify({ title: 'Nested', panels: [] }));
  writeFileSync(path.join(provDir, 'broken.json'), '{ not json');
  const { app, base, provisioned } = await serve(path.join(tmp, 'b-data'), provDir);
  try {
    const top = await call(base, 'GET', '/api/dashboards/uid/prov-top', 'team-beta');
    assert.equal(top.json.meta.provisioned, true);
    assert.equal(top.json.meta.canSave, false);
    assert.equal(top.json.meta.provisionedExternalId, 'top.json');
    const save = await call(base, 'POST', '/api/dashboards/db', 'team-beta', { dashboard: top.json.dashboard, overwrite: true });
    assert.equal(save.status, 400);
    assert.match(save.json.message, /provisioned/);
    assert.equal((await call(base, 'DELETE', '/api/dashboards/uid/prov-top', 'team-beta')).status, 400);

    const hits = await call(base, 'GET', '/api/search?query=nested', 'team-alpha');
    assert.deepEqual(hits.json.map((h: Json) => [h.title, h.folderTitle]), [['Nested', 'Team A']]);
    const problems = await call(base, 'GET', '/api/dashboards/provisioning-problems', 'team-alpha');
    assert.deepEqual(problems.json.map((p: Json) => path.basename(p.file)), ['broken.json']);

    // A file written while running shows up; one removed goes.
    writeFileSync(path.join(provDir, 'later.json'), JSON.stringify({ uid: 'prov-later', title: 'Later', panels: [] }));
    rmSync(path.join(provDir, 'top.json'));
    for (let i = 0; i < 200; i++) {
      await provisioned.settled();
      if (provisioned.get('prov-later') && !provisioned.get('prov-top')) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.equal((await call(base, 'GET', '/api/dashboards/uid/prov-later', 'team-alpha')).status, 200);
    assert.equal((await call(base, 'GET', '/api/dashboards/uid/prov-top', 'team-alpha')).status, 404);
  } finally {
    await app.close();
  }
});
