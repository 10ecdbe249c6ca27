import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { DashboardConflictError, slugify } from '../dashboards/index.ts';
import type { DashboardModel, DashboardStore, ProvisionedDashboards, StoredDashboard } from '../dashboards/index.ts';
import { ORG_HEADER } from './orgs.ts';
import type { UiOrg } from './orgs.ts';

/** A search hit as Grafana's `/api/search` answers it. */
interface SearchHit {
  uid: string;
  title: string;
  uri: string;
  url: string;
  slug: string;
  type: 'dash-db' | 'dash-folder';
  tags: readonly string[];
  isStarred: false;
  folderUid?: string;
  folderTitle?: string;
  folderUrl?: string;
  provisioned?: boolean;
}

const dashUrl = (uid: string, title: string): string => `/d/${encodeURIComponent(uid)}/${slugify(title)}`;
const folderUrl = (uid: string, title: string): string => `/dashboards/f/${encodeURIComponent(uid)}/${slugify(title)}`;

/**
 * Grafana's dashboard and folder HTTP API, per org (the org named by `X-Heimdall-Org`, else the first org, as
 * Grafana's API acts in the caller's current org): `GET/DELETE /api/dashboards/uid/:uid`, `POST
 * /api/dashboards/db`, `GET /api/search`, `GET/POST /api/folders`, `GET/DELETE /api/folders/:uid`. Saved
 * dashboards live in `store`; provisioned ones (built-ins and `ui.dashboards_dir`) are listed for every org and
 * refused for save and delete, as Grafana refuses them. Errors are Grafana's `{message, status?}` with its codes.
 */
export function registerDashboardRoutes(http: FastifyInstance, deps: { orgs: readonly UiOrg[]; store: DashboardStore; provisioned: ProvisionedDashboards }): void {
  const { store, provisioned } = deps;
  const orgs = new Map(deps.orgs.map((o) => [o.name, o]));
  const orgOf = (request: FastifyRequest, reply: FastifyReply): string | undefined => {
    const h = request.headers[ORG_HEADER];
    const name = Array.isArray(h) ? h[0] : h;
    if (name === undefined) return deps.orgs[0]?.name;
    if (orgs.has(name)) return name;
    void reply.code(400).send({ message: `unknown org "${name}"; configured: ${[...orgs.keys()].join(', ')}` });
    return undefined;
  };
  const folderTitles = async (org: string): Promise<Map<string, string>> =>
    new Map([...provisioned.folders(), ...(await store.folders(org))].map((f) => [f.uid, f.title]));

  http.get('/api/dashboards/uid/:uid', async (request, reply) => {
    const org = orgOf(request, reply);
    if (org === undefined) return reply;
    const { uid } = request.params as { uid: string };
    const titles = await folderTitles(org);
    const prov = provisioned.get(uid);
    if (prov) {
      return {
        dashboard: { ...prov.dashboard, version: 1 },
        meta: {
          ...metaOf(prov.uid, prov.title, prov.folderUid, titles),
          canSave: false,
          canEdit: true,
          canDelete: false,
          provisioned: true,
          provisionedExternalId: prov.file,
          created: prov.updated,
          updated: prov.updated,
          version: 1,
        },
      };
    }
    const d = await store.get(org, uid);
    if (!d) return reply.code(404).send({ message: 'Dashboard not found' });
    return {
      dashboard: d.dashboard,
      meta: { ...metaOf(d.uid, d.title, d.folderUid, titles), canSave: true, canEdit: true, canDelete: true, provisioned: false, created: d.created, updated: d.updated, version: d.version },
    };
  });

  http.post('/api/dashboards/db', async (request, reply) => {
    const org = orgOf(request, reply);
    if (org === undefined) return reply;
    const body = request.body as { dashboard?: unknown; folderUid?: unknown; overwrite?: unknown } | undefined;
    const model = body?.dashboard;
    if (typeof model !== 'object' || model === null || Array.isArray(model)) return reply.code(400).send({ message: 'the body needs a "dashboard" object (the dashboard JSON model)' });
    if (body?.folderUid !== undefined && typeof body.folderUid !== 'string') return reply.code(400).send({ message: '"folderUid" must be a string' });
    const dash = model as DashboardModel;
    const uid = typeof dash.uid === 'string' ? dash.uid : '';
    if (uid !== '' && provisioned.get(uid)) {
      return reply.code(400).send({ message: `Cannot save provisioned dashboard "${uid}" (from ${provisioned.get(uid)?.file}); save it under another uid` });
    }
    try {
      const saved = await store.save(org, dash, { folderUid: body?.folderUid ?? '', overwrite: body?.overwrite === true });
      return { uid: saved.uid, url: dashUrl(saved.uid, saved.title), status: 'success', version: saved.version, slug: slugify(saved.title), folderUid: saved.folderUid };
    } catch (err) {
      return conflict(reply, err);
    }
  });

  http.delete('/api/dashboards/uid/:uid', async (request, reply) => {
    const org = orgOf(request, reply);
    if (org === undefined) return reply;
    const { uid } = request.params as { uid: string };
    const prov = provisioned.get(uid);
    if (prov) return reply.code(400).send({ message: `provisioned dashboard "${prov.title}" cannot be deleted: remove ${prov.file} from its directory` });
    const gone = await store.delete(org, uid);
    if (!gone) return reply.code(404).send({ message: 'Dashboard not found' });
    return { title: gone.title, message: `Dashboard ${gone.title} deleted`, uid };
  });

  http.get('/api/search', async (request, reply) => {
    const org = orgOf(request, reply);
    if (org === undefined) return reply;
    const q = request.query as { query?: string; type?: string; folderUIDs?: string | string[]; tag?: string | string[]; limit?: string };
    const text = (q.query ?? '').toLowerCase();
    const tags = [q.tag ?? []].flat();
    const folderUids = [q.folderUIDs ?? []].flat().flatMap((f) => f.split(','));
    const titles = await folderTitles(org);
    const hits: SearchHit[] = [];
    if (q.type !== 'dash-db' && tags.length === 0 && folderUids.length === 0) {
      for (const [uid, title] of titles) {
        if (!title.toLowerCase().includes(text)) continue;
        const url = folderUrl(uid, title);
        hits.push({ uid, title, uri: `db/${slugify(title)}`, url, slug: slugify(title), type: 'dash-folder', tags: [], isStarred: false });
      }
    }
    if (q.type !== 'dash-folder') {
      const all: (Pick<StoredDashboard, 'uid' | 'title' | 'tags' | 'folderUid'> & { provisioned: boolean })[] = [
        ...provisioned.list().map((d) => ({ ...d, provisioned: true })),
        ...(await store.list(org)).filter((d) => !provisioned.get(d.uid)).map((d) => ({ ...d, provisioned: false })),
      ];
      for (const d of all) {
        if (!d.title.toLowerCase().includes(text)) continue;
        if (!tags.every((t) => d.tags.includes(t))) continue;
        if (folderUids.length > 0 && !folderUids.includes(d.folderUid === '' ? 'general' : d.folderUid)) continue;
        const folderTitle = titles.get(d.folderUid);
        hits.push({
          uid: d.uid,
          title: d.title,
          uri: `db/${slugify(d.title)}`,
          url: dashUrl(d.uid, d.title),
          slug: slugify(d.title),
          type: 'dash-db',
          tags: d.tags,
          isStarred: false,
          provisioned: d.provisioned,
          ...(folderTitle !== undefined ? { folderUid: d.folderUid, folderTitle, folderUrl: folderUrl(d.folderUid, folderTitle) } : {}),
        });
      }
    }
    hits.sort((a, b) => (a.type !== b.type ? (a.type === 'dash-folder' ? -1 : 1) : a.title.localeCompare(b.title)));
    const limit = Number(q.limit ?? 1000);
    return hits.slice(0, Number.isFinite(limit) && limit > 0 ? limit : 1000);
  });

  http.get('/api/folders', async (request, reply) => {
    const org = orgOf(request, reply);
    if (org === undefined) return reply;
    return [...provisioned.folders(), ...(await store.folders(org))].map((f) => ({ uid: f.uid, title: f.title, url: folderUrl(f.uid, f.title) }));
  });

  http.get('/api/folders/:uid', async (request, reply) => {
    const org = orgOf(request, reply);
    if (org === undefined) return reply;
    const { uid } = request.params as { uid: string };
    const f = [...provisioned.folders(), ...(await store.folders(org))].find((x) => x.uid === uid);
    if (!f) return reply.code(404).send({ message: 'folder not found' });
    return { uid: f.uid, title: f.title, url: folderUrl(f.uid, f.title) };
  });

  http.post('/api/folders', async (request, reply) => {
    const org = orgOf(request, reply);
    if (org === undefined) return reply;
    const body = request.body as { uid?: unknown; title?: unknown } | undefined;
    if (typeof body?.title !== 'string') return reply.code(400).send({ message: 'the body needs a "title" string' });
    if (body.uid !== undefined && typeof body.uid !== 'string') return reply.code(400).send({ message: '"uid" must be a string' });
    if (provisioned.folders().some((f) => f.uid === body.uid || f.title.toLowerCase() === String(body.title).trim().toLowerCase())) {
      return reply.code(409).send({ message: 'a provisioned folder with the same uid or name already exists' });
    }
    try {
      const f = await store.createFolder(org, { title: body.title, ...(typeof body.uid === 'string' && body.uid !== '' ? { uid: body.uid } : {}) });
      return { uid: f.uid, title: f.title, url: folderUrl(f.uid, f.title) };
    } catch (err) {
      if (err instanceof DashboardConflictError && err.grafanaStatus === 'name-exists') return reply.code(409).send({ message: err.message });
      return conflict(reply, err);
    }
  });

  http.delete('/api/folders/:uid', async (request, reply) => {
    const org = orgOf(request, reply);
    if (org === undefined) return reply;
    const { uid } = request.params as { uid: string };
    if (provisioned.folders().some((f) => f.uid === uid)) return reply.code(400).send({ message: 'a provisioned folder cannot be deleted' });
    try {
      const gone = await store.deleteFolder(org, uid);
      if (!gone) return reply.code(404).send({ message: 'folder not found' });
      return { title: gone.title, message: `Folder ${gone.title} deleted` };
    } catch (err) {
      return conflict(reply, err);
    }
  });

  http.get('/api/dashboards/provisioning-problems', async () => provisioned.problems);
}

function metaOf(uid: string, title: string, folderUid: string, titles: Map<string, string>): Record<string, unknown> {
  const folderTitle = folderUid === '' ? 'General' : (titles.get(folderUid) ?? 'General');
  return { type: 'db', slug: slugify(title), url: dashUrl(uid, title), folderUid, folderTitle, folderUrl: folderUid === '' ? '' : folderUrl(folderUid, folderTitle) };
}

function conflict(reply: FastifyReply, err: unknown): FastifyReply {
  if (err instanceof DashboardConflictError) return reply.code(err.httpStatus).send({ message: err.message, status: err.grafanaStatus });
  throw err;
}
