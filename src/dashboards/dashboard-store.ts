import { randomBytes } from 'node:crypto';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { syncDir, writeFileDurably } from '../objstore/index.ts';

/** A Grafana dashboard model as JSON: kept whole, so what was imported is exported unchanged. */
export type DashboardModel = Record<string, unknown>;

/** A dashboard as stored: its model and what Grafana keeps beside it (`meta`). */
export interface StoredDashboard {
  readonly uid: string;
  readonly title: string;
  readonly tags: readonly string[];
  readonly folderUid: string;
  /** Counts saves from 1; a save naming an older version is refused (Grafana's 412 `version-mismatch`). */
  readonly version: number;
  readonly created: string;
  readonly updated: string;
  readonly dashboard: DashboardModel;
}

/** A folder of an org. */
export interface Folder {
  readonly uid: string;
  readonly title: string;
}

/** Why a save or delete was refused, with the HTTP status and the `status` word Grafana answers with. */
export class DashboardConflictError extends Error {
  constructor(
    message: string,
    readonly httpStatus: 400 | 404 | 412,
    readonly grafanaStatus: 'version-mismatch' | 'name-exists' | 'not-found' | 'invalid',
  ) {
    super(message);
    this.name = 'DashboardConflictError';
  }
}

/** Grafana's uid rule: letters, digits, `-` and `_`, at most 40. */
const UID_RE = /^[A-Za-z0-9_-]{1,40}$/;

/** A new random uid as Grafana makes them (14 url-safe characters). */
export function newUid(): string {
  return randomBytes(11).toString('base64url').slice(0, 14);
}

/** Grafana's slug: lower case, runs of anything but letters and digits become one `-`. */
export function slugify(title: string): string {
  return title
    .toLowerCase()
    .replace(/[^\p{L}\p{N}]+/gu, '-')
    .replace(/^-+|-+$/g, '');
}

interface OrgData {
  readonly dir: string;
  readonly dashboards: Map<string, StoredDashboard>;
  readonly folders: Map<string, Folder>;
}

/**
 * Dashboards and folders saved per org under `<dir>/org-<org>/`: one JSON file per dashboard
 * (`dashboards/<uid>.json`) and one for the org's folders (`folders.json`), each replaced durably (write, fsync,
 * rename, fsync the directory), so an acknowledged save survives `kill -9` and a crash leaves the old or the new
 * file, never a mix. The files are read once at start; an org's reads then come from memory (dashboards are a
 * few hundred KB each, a few hundred per org at most). Saves of one org are serialised so version checks and
 * file replaces never interleave.
 */
export class DashboardStore {
  private readonly orgs = new Map<string, OrgData>();
  private readonly queues = new Map<string, Promise<unknown>>();

  private constructor(private readonly dir: string) {}

  static async open(dir: string): Promise<DashboardStore> {
    const store = new DashboardStore(dir);
    await fsp.mkdir(dir, { recursive: true });
    for (const entry of await fsp.readdir(dir, { withFileTypes: true })) {
      if (!entry.isDirectory() || !entry.name.startsWith('org-')) continue;
      await store.loadOrg(decodeURIComponent(entry.name.slice(4)));
    }
    return store;
  }

  private orgDir(org: string): string {
    return path.join(this.dir, `org-${encodeURIComponent(org)}`);
  }

  private async loadOrg(org: string): Promise<OrgData> {
    const dir = this.orgDir(org);
    const data: OrgData = { dir, dashboards: new Map(), folders: new Map() };
    try {
      const folders = JSON.parse(await fsp.readFile(path.join(dir, 'folders.json'), 'utf8')) as Folder[];
      for (const f of folders) data.folders.set(f.uid, f);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw new Error(`reading ${path.join(dir, 'folders.json')}: ${(err as Error).message}`, { cause: err });
    }
    const dashDir = path.join(dir, 'dashboards');
    let names: string[] = [];
    try {
      names = await fsp.readdir(dashDir);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    for (const name of names) {
      // A `.tmp` is a save cut short by a crash: the file it was to replace is still whole.
      if (!name.endsWith('.json')) continue;
      const file = path.join(dashDir, name);
      try {
        const d = JSON.parse(await fsp.readFile(file, 'utf8')) as StoredDashboard;
        data.dashboards.set(d.uid, d);
      } catch (err) {
        throw new Error(`reading dashboard file ${file}: ${(err as Error).message}`, { cause: err });
      }
    }
    this.orgs.set(org, data);
    return data;
  }

  private async org(org: string): Promise<OrgData> {
    return this.orgs.get(org) ?? (await this.loadOrg(org));
  }

  /** Runs `fn` after every earlier write of `org` has finished. */
  private serial<T>(org: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.queues.get(org) ?? Promise.resolve();
    const next = prev.then(fn, fn);
    this.queues.set(
      org,
      next.catch(() => undefined),
    );
    return next;
  }

  async list(org: string): Promise<StoredDashboard[]> {
    return [...(await this.org(org)).dashboards.values()];
  }

  async get(org: string, uid: string): Promise<StoredDashboard | undefined> {
    return (await this.org(org)).dashboards.get(uid);
  }

  async folders(org: string): Promise<Folder[]> {
    return [...(await this.org(org)).folders.values()];
  }

  /**
   * Saves `model` in `folderUid` ('' is the General folder). Without `overwrite`, a model whose uid exists at
   * another version, or a new uid whose title is taken in the folder, is refused as Grafana refuses it (412).
   * The stored model carries its uid, the new version and no numeric id.
   */
  save(org: string, model: DashboardModel, opts: { folderUid: string; overwrite: boolean }): Promise<StoredDashboard> {
    return this.serial(org, async () => {
      const data = await this.org(org);
      const title = typeof model.title === 'string' ? model.title.trim() : '';
      if (!title) throw new DashboardConflictError('Dashboard title cannot be empty', 400, 'invalid');
      let uid = typeof model.uid === 'string' && model.uid !== '' ? model.uid : undefined;
      if (uid !== undefined && !UID_RE.test(uid)) throw new DashboardConflictError(`dashboard uid "${uid}" is invalid: letters, digits, - and _, at most 40`, 400, 'invalid');
      if (opts.folderUid !== '' && !data.folders.has(opts.folderUid)) throw new DashboardConflictError(`folder "${opts.folderUid}" not found`, 400, 'not-found');
      const existing = uid !== undefined ? data.dashboards.get(uid) : undefined;
      if (!opts.overwrite) {
        // As Grafana: the model must name the version it was loaded at (an import of a taken uid names none).
        if (existing && model.version !== existing.version) {
          throw new DashboardConflictError('The dashboard has been changed by someone else', 412, 'version-mismatch');
        }
        const sameName = [...data.dashboards.values()].find((d) => d.uid !== uid && d.folderUid === opts.folderUid && d.title.toLowerCase() === title.toLowerCase());
        if (sameName) throw new DashboardConflictError('A dashboard with the same name in the folder already exists', 412, 'name-exists');
      }
      uid ??= newUid();
      const now = new Date().toISOString();
      const version = (existing?.version ?? 0) + 1;
      const { id: _id, ...rest } = model;
      const stored: StoredDashboard = {
        uid,
        title,
        tags: Array.isArray(model.tags) ? model.tags.filter((t): t is string => typeof t === 'string') : [],
        folderUid: opts.folderUid,
        version,
        created: existing?.created ?? now,
        updated: now,
        dashboard: { ...rest, uid, title, version },
      };
      const dashDir = path.join(data.dir, 'dashboards');
      if (!existing) {
        await fsp.mkdir(dashDir, { recursive: true });
        await syncDir(data.dir);
        await syncDir(this.dir);
      }
      await writeFileDurably(path.join(dashDir, `${uid}.json`), JSON.stringify(stored));
      data.dashboards.set(uid, stored);
      return stored;
    });
  }

  /** Deletes a dashboard; undefined when there was none with `uid`. */
  delete(org: string, uid: string): Promise<StoredDashboard | undefined> {
    return this.serial(org, async () => {
      const data = await this.org(org);
      const existing = data.dashboards.get(uid);
      if (!existing) return undefined;
      await fsp.rm(path.join(data.dir, 'dashboards', `${uid}.json`), { force: true });
      await syncDir(path.join(data.dir, 'dashboards'));
      data.dashboards.delete(uid);
      return existing;
    });
  }

  /** Creates a folder (a uid is made when none is given); a taken uid or title is refused (412 name-exists). */
  createFolder(org: string, input: { uid?: string; title: string }): Promise<Folder> {
    return this.serial(org, async () => {
      const data = await this.org(org);
      const title = input.title.trim();
      if (!title) throw new DashboardConflictError('folder title cannot be empty', 400, 'invalid');
      if (input.uid !== undefined && !UID_RE.test(input.uid)) throw new DashboardConflictError(`folder uid "${input.uid}" is invalid: letters, digits, - and _, at most 40`, 400, 'invalid');
      if (input.uid !== undefined && data.folders.has(input.uid)) throw new DashboardConflictError(`a folder with uid "${input.uid}" already exists`, 412, 'name-exists');
      if ([...data.folders.values()].some((f) => f.title.toLowerCase() === title.toLowerCase())) {
        throw new DashboardConflictError('a folder with the same name already exists', 412, 'name-exists');
      }
      const folder: Folder = { uid: input.uid ?? newUid(), title };
      await this.writeFolders(data, [...data.folders.values(), folder]);
      data.folders.set(folder.uid, folder);
      return folder;
    });
  }

  /** Deletes an empty folder; a folder holding dashboards is refused (move or delete them first). */
  deleteFolder(org: string, uid: string): Promise<Folder | undefined> {
    return this.serial(org, async () => {
      const data = await this.org(org);
      const folder = data.folders.get(uid);
      if (!folder) return undefined;
      const inside = [...data.dashboards.values()].filter((d) => d.folderUid === uid).length;
      if (inside > 0) throw new DashboardConflictError(`folder "${folder.title}" holds ${inside} dashboard(s): move or delete them first`, 400, 'invalid');
      await this.writeFolders(data, [...data.folders.values()].filter((f) => f.uid !== uid));
      data.folders.delete(uid);
      return folder;
    });
  }

  private async writeFolders(data: OrgData, folders: Folder[]): Promise<void> {
    await fsp.mkdir(data.dir, { recursive: true });
    await syncDir(this.dir);
    await writeFileDurably(path.join(data.dir, 'folders.json'), JSON.stringify(folders));
  }
}
