import { useEffect, useState } from 'react';
import { navigate } from '../shell/router.ts';
import type { DatasourceRef } from '../shell/settings.ts';
import { createFolder, saveDashboard, searchDashboards } from './dashboard-api.ts';
import type { SearchHit } from './dashboard-api.ts';
import { FolderSelect } from './folder-select.tsx';
import type { DashboardJson } from './dashboard-model.ts';

/** `/dashboards`: search, the dashboards grouped by folder, a new folder, and import. */
export default function DashboardsListPage(props: { org: string; datasources: readonly DatasourceRef[] }): React.JSX.Element {
  const [query, setQuery] = useState('');
  const [hits, setHits] = useState<SearchHit[] | undefined>();
  const [error, setError] = useState<string | undefined>();
  const [importing, setImporting] = useState(false);
  const [reload, setReload] = useState(0);
  useEffect(() => {
    let live = true;
    searchDashboards(props.org, query).then(
      (h) => live && setHits(h),
      (err: unknown) => live && setError((err as Error).message),
    );
    return () => {
      live = false;
    };
  }, [props.org, query, reload]);
  const open = (uid: string) => (e: React.MouseEvent) => {
    e.preventDefault();
    navigate(`/d/${encodeURIComponent(uid)}?org=${encodeURIComponent(props.org)}`);
  };
  const dashboards = (hits ?? []).filter((h) => h.type === 'dash-db');
  const groups = new Map<string, SearchHit[]>();
  for (const d of dashboards) groups.set(d.folderTitle ?? 'General', [...(groups.get(d.folderTitle ?? 'General') ?? []), d]);
  const folderCount = (hits ?? []).filter((h) => h.type === 'dash-folder').length;
  return (
    <div className="page dashboards-page">
      <div className="toolbar">
        <h1>Dashboards</h1>
        <input type="text" placeholder="Search dashboards" value={query} onChange={(e) => setQuery(e.target.value)} aria-label="Search dashboards" />
        <div className="spacer" />
        <button
          type="button"
          className="btn"
          onClick={() => {
            const title = window.prompt('Folder name');
            if (title) void createFolder(props.org, title).then(() => setReload((n) => n + 1), (err: unknown) => setError((err as Error).message));
          }}
        >
          New folder
        </button>
        <button type="button" className="btn primary" onClick={() => setImporting(true)} data-testid="import-button">
          Import
        </button>
      </div>
      {error && <div className="error-box">{error}</div>}
      {importing && <ImportForm org={props.org} datasources={props.datasources} onClose={() => setImporting(false)} />}
      {hits === undefined ? (
        <div className="loading-page">Loading…</div>
      ) : dashboards.length === 0 ? (
        <div className="empty">No dashboards{query ? ` match "${query}"` : ''}.</div>
      ) : (
        [...groups].sort(([a], [b]) => (a === 'General' ? -1 : b === 'General' ? 1 : a.localeCompare(b))).map(([folder, list]) => (
          <section key={folder} className="dash-folder">
            <h2>{folder}</h2>
            <ul className="dash-list" data-testid="dashboard-list">
              {list.map((d) => (
                <li key={d.uid}>
                  <a href={`/d/${d.uid}`} onClick={open(d.uid)}>
                    {d.title}
                  </a>
                  {d.tags.map((t) => (
                    <span key={t} className="tag">
                      {t}
                    </span>
                  ))}
                  {d.provisioned && <span className="muted"> provisioned</span>}
                </li>
              ))}
            </ul>
          </section>
        ))
      )}
      <p className="muted">{folderCount} folder(s)</p>
    </div>
  );
}

/**
 * Replaces `${NAME}` of each `__inputs` data source with the uid chosen for it, everywhere in the model (as
 * Grafana's import does), and drops `__inputs`/`__requires`/`id`.
 */
export function applyInputs(model: DashboardJson, chosen: Record<string, string>): DashboardJson {
  let text = JSON.stringify(model);
  for (const [name, uid] of Object.entries(chosen)) text = text.split(`\${${name}}`).join(uid);
  const { __inputs: _i, __requires: _r, __elements: _e, id: _id, ...rest } = JSON.parse(text) as DashboardJson & { __requires?: unknown; __elements?: unknown; id?: unknown };
  return rest;
}

/** Import: paste or upload Grafana JSON, map its `__inputs` data sources onto ours, pick a folder, save. */
function ImportForm(props: { org: string; datasources: readonly DatasourceRef[]; onClose: () => void }): React.JSX.Element {
  const [text, setText] = useState('');
  const [parsed, setParsed] = useState<DashboardJson | undefined>();
  const [parseError, setParseError] = useState<string | undefined>();
  const [chosen, setChosen] = useState<Record<string, string>>({});
  const [folderUid, setFolderUid] = useState('');
  const [title, setTitle] = useState('');
  const [uid, setUid] = useState('');
  const [saveError, setSaveError] = useState<{ message: string; conflict: boolean } | undefined>();
  const load = (json: string): void => {
    setText(json);
    try {
      const d = JSON.parse(json) as DashboardJson;
      if (typeof d !== 'object' || d === null || (!Array.isArray(d.panels) && !Array.isArray(d.rows))) throw new Error('this is not a Grafana dashboard (no panels or rows)');
      setParsed(d);
      setTitle(d.title ?? '');
      setUid(d.uid ?? '');
      const picks: Record<string, string> = {};
      for (const input of d.__inputs ?? []) {
        if (input.type !== 'datasource') continue;
        picks[input.name] = props.datasources.find((ds) => ds.type === input.pluginId)?.uid ?? props.datasources[0]?.uid ?? '';
      }
      setChosen(picks);
      setParseError(undefined);
    } catch (err) {
      setParsed(undefined);
      setParseError((err as Error).message);
    }
  };
  const submit = async (overwrite: boolean): Promise<void> => {
    if (!parsed) return;
    const model = { ...applyInputs(parsed, chosen), title, uid: uid || undefined };
    delete model.version;
    try {
      const r = await saveDashboard(props.org, model, folderUid, overwrite);
      navigate(`/d/${encodeURIComponent(r.uid)}?org=${encodeURIComponent(props.org)}`);
    } catch (err) {
      setSaveError({ message: (err as Error).message, conflict: (err as { status?: number }).status === 412 });
    }
  };
  return (
    <div className="pane import-form" data-testid="import-form">
      <h2>Import a Grafana dashboard</h2>
      <label>
        Upload a JSON file{' '}
        <input
          type="file"
          accept=".json,application/json"
          aria-label="Upload dashboard JSON"
          onChange={(e) => {
            const f = e.target.files?.[0];
            if (f) void f.text().then(load);
          }}
        />
      </label>
      <textarea className="json-model" placeholder="…or paste the dashboard JSON here" value={text} onChange={(e) => load(e.target.value)} aria-label="Dashboard JSON" data-testid="import-json" />
      {parseError && text && <div className="error-text">{parseError}</div>}
      {parsed && (
        <div className="import-options">
          <label>
            Title <input type="text" value={title} onChange={(e) => setTitle(e.target.value)} aria-label="Import title" />
          </label>
          <label>
            UID <input type="text" value={uid} onChange={(e) => setUid(e.target.value)} aria-label="Import uid" placeholder="made for you when empty" />
          </label>
          <FolderSelect org={props.org} value={folderUid} onChange={setFolderUid} label="Import folder" />
          {(parsed.__inputs ?? [])
            .filter((i) => i.type === 'datasource')
            .map((input) => (
              <label key={input.name}>
                {input.label ?? input.name} ({input.pluginId})
                <select value={chosen[input.name] ?? ''} onChange={(e) => setChosen({ ...chosen, [input.name]: e.target.value })} aria-label={`Data source for ${input.name}`}>
                  {props.datasources
                    .filter((d) => !input.pluginId || d.type === input.pluginId)
                    .map((d) => (
                      <option key={d.uid} value={d.uid}>
                        {d.name}
                      </option>
                    ))}
                </select>
              </label>
            ))}
          {saveError && (
            <div className="error-text">
              {saveError.message}
              {saveError.conflict && (
                <button type="button" className="btn" onClick={() => void submit(true)}>
                  Import and overwrite
                </button>
              )}
            </div>
          )}
          <div className="toolbar">
            <button type="button" className="btn primary" onClick={() => void submit(false)} data-testid="import-confirm">
              Import
            </button>
            <button type="button" className="btn" onClick={props.onClose}>
              Cancel
            </button>
          </div>
        </div>
      )}
    </div>
  );
}
