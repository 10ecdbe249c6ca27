import { createHash } from 'node:crypto';
import { existsSync, watch } from 'node:fs';
import type { FSWatcher } from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Logger } from 'pino';
import type { DashboardModel } from './dashboard-store.ts';
import { slugify } from './dashboard-store.ts';

/** The built-in dashboards shipped in the repository (`dashboards/builtin/`, the same path from src/ and dist/). */
export const BUILTIN_DASHBOARDS_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'dashboards', 'builtin');

/** A dashboard read from a file: read-only in the UI and the API, as Grafana's provisioned dashboards are. */
export interface ProvisionedDashboard {
  readonly uid: string;
  readonly title: string;
  readonly tags: readonly string[];
  readonly folderUid: string;
  readonly folderTitle: string;
  /** The file it came from (Grafana's `provisionedExternalId`), relative to its source directory. */
  readonly file: string;
  readonly updated: string;
  readonly dashboard: DashboardModel;
}

/** A directory of dashboards: JSON files, a subdirectory's files in a folder named after it. */
export interface ProvisioningSource {
  readonly dir: string;
  /** The folder of the directory's top-level files; '' is General. */
  readonly folderTitle: string;
  /** Reload on changes (a ConfigMap sidecar writes files while Heimdall runs). */
  readonly watch: boolean;
}

/** The folder uid of a provisioned folder title: stable across restarts, apart from saved folders' random uids. */
function provisionedFolderUid(title: string): string {
  return title === '' ? '' : `p-${slugify(title).slice(0, 38) || createHash('sha1').update(title).digest('hex').slice(0, 12)}`;
}

/**
 * Dashboards from directories, for every org: the built-ins and `ui.dashboards_dir`. Files are re-read when a
 * watched directory changes (debounced); a file that is not a dashboard is skipped with a warning naming it and
 * the rest still load. Two files with one uid: the first in path order wins, the other is reported.
 */
export class ProvisionedDashboards {
  private byUid = new Map<string, ProvisionedDashboard>();
  private readonly watchers: FSWatcher[] = [];
  private timer: NodeJS.Timeout | undefined;
  private reloading: Promise<void> = Promise.resolve();
  /** Problems of the last load, by file (shown by the API so a broken file is not silently missing). */
  problems: { file: string; error: string }[] = [];

  private constructor(
    private readonly sources: readonly ProvisioningSource[],
    private readonly logger: Logger,
  ) {}

  static async start(sources: readonly ProvisioningSource[], logger: Logger): Promise<ProvisionedDashboards> {
    const p = new ProvisionedDashboards(sources, logger);
    await p.reload();
    for (const s of sources) {
      if (!s.watch) continue;
      if (!existsSync(s.dir)) {
        logger.warn({ dir: s.dir }, 'ui.dashboards_dir does not exist; no dashboards are provisioned from it until it does and Heimdall restarts');
        continue;
      }
      const w = watch(s.dir, { recursive: true }, () => p.scheduleReload());
      w.on('error', (err) => logger.warn({ err, dir: s.dir }, 'watching the dashboards directory failed; changes need a restart'));
      p.watchers.push(w);
    }
    return p;
  }

  private scheduleReload(): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.reloading = this.reloading.then(() => this.reload()).catch((err: unknown) => this.logger.error({ err }, 'reloading provisioned dashboards failed'));
    }, 250);
  }

  /** Waits for a reload that a change started (tests use it after writing a file). */
  async settled(): Promise<void> {
    await this.reloading;
  }

  /** Re-reads every source. */
  async reload(): Promise<void> {
    const next = new Map<string, ProvisionedDashboard>();
    const problems: { file: string; error: string }[] = [];
    for (const source of this.sources) {
      for (const file of await jsonFiles(source.dir)) {
        const rel = path.relative(source.dir, file);
        const sub = path.dirname(rel);
        const folderTitle = sub === '.' ? source.folderTitle : sub.split(path.sep).join('/');
        try {
          const model = JSON.parse(await fsp.readFile(file, 'utf8')) as unknown;
          if (typeof model !== 'object' || model === null || Array.isArray(model)) throw new Error('not a JSON object');
          const dash = model as DashboardModel;
          if (typeof dash.title !== 'string' || dash.title === '') throw new Error('the dashboard has no title');
          if (!Array.isArray(dash.panels) && !Array.isArray(dash.rows)) throw new Error('the dashboard has neither panels nor rows');
          const uid = typeof dash.uid === 'string' && dash.uid !== '' ? dash.uid : `f-${createHash('sha1').update(file).digest('hex').slice(0, 20)}`;
          const taken = next.get(uid);
          if (taken) throw new Error(`uid "${uid}" is already provisioned by ${taken.file}`);
          const stat = await fsp.stat(file);
          next.set(uid, {
            uid,
            title: dash.title,
            tags: Array.isArray(dash.tags) ? dash.tags.filter((t): t is string => typeof t === 'string') : [],
            folderTitle,
            folderUid: provisionedFolderUid(folderTitle),
            file: rel,
            updated: stat.mtime.toISOString(),
            dashboard: { ...dash, uid },
          });
        } catch (err) {
          problems.push({ file, error: (err as Error).message });
          this.logger.warn({ file, err: (err as Error).message }, 'skipping a provisioned dashboard file');
        }
      }
    }
    this.byUid = next;
    this.problems = problems;
  }

  get(uid: string): ProvisionedDashboard | undefined {
    return this.byUid.get(uid);
  }

  list(): ProvisionedDashboard[] {
    return [...this.byUid.values()];
  }

  /** The folders the provisioned dashboards sit in (General excepted). */
  folders(): { uid: string; title: string }[] {
    const seen = new Map<string, string>();
    for (const d of this.byUid.values()) if (d.folderUid !== '') seen.set(d.folderUid, d.folderTitle);
    return [...seen].map(([uid, title]) => ({ uid, title }));
  }

  stop(): void {
    clearTimeout(this.timer);
    for (const w of this.watchers) w.close();
  }
}

/** Every `*.json` below `dir`, sorted; none when it does not exist. */
async function jsonFiles(dir: string): Promise<string[]> {
  let entries;
  try {
    entries = await fsp.readdir(dir, { withFileTypes: true, recursive: true });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  return entries
    // A ConfigMap mounted as a volume holds symlinks to its files.
    .filter((e) => (e.isFile() || e.isSymbolicLink()) && e.name.endsWith('.json') && !e.name.startsWith('.'))
    .map((e) => path.join(e.parentPath, e.name))
    .filter((f) => !f.split(path.sep).some((seg) => seg.startsWith('..')))
    .sort();
}
