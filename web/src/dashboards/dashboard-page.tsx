import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import { navigate, useLocation } from '../shell/router.ts';
import type { DatasourceRef } from '../shell/settings.ts';
import { TimeRangePicker } from '../time/time-range-picker.tsx';
import { parseDurationS, resolveRange } from '../time/time-range.ts';
import type { RawTimeRange } from '../time/time-range.ts';
import { downloadJson, getDashboard, saveDashboard } from './dashboard-api.ts';
import type { DashboardMeta } from './dashboard-api.ts';
import { allPanels, migrateDashboard } from './dashboard-model.ts';
import { FolderSelect } from './folder-select.tsx';
import type { DashboardJson, Panel, VariableModel } from './dashboard-model.ts';
import { layoutDashboard } from './layout.ts';
import { loadAnnotations } from './annotations.ts';
import type { AnnotationEvent, AnnotationQuery } from './annotations.ts';
import { PanelView } from './panel-view.tsx';
import { ALL, loadOptions, referencedVariables, variableQueryText } from './variables.ts';
import type { VariableState } from './variables.ts';

const ROW_PX = 30;
const GAP_PX = 8;
const REFRESH_CHOICES = ['', '5s', '10s', '30s', '1m', '5m', '15m', '30m', '1h'];

/** The values a variable's model says are current (`current.value`, a string or a list). */
function modelCurrent(m: VariableModel): string[] {
  const v = m.current?.value;
  if (Array.isArray(v)) return v.map(String);
  if (typeof v === 'string' && v !== '') return [v];
  if (m.type === 'textbox' || m.type === 'constant') return [typeof m.query === 'string' ? m.query : ''];
  return [];
}

/** The variables' names the model of `m` refers to (its query, data source and regex). */
function dependsOn(m: VariableModel): Set<string> {
  return referencedVariables(`${variableQueryText(m)} ${JSON.stringify(m.datasource ?? '')} ${m.regex ?? ''}`);
}

/** Picks the current values after the options changed: the wanted ones that remain (or All), else the first option. */
function pickCurrent(m: VariableModel, options: readonly { text: string; value: string }[], wanted: readonly string[]): string[] {
  if (m.type === 'textbox') return wanted.length ? [...wanted] : [''];
  if (wanted.includes(ALL) && m.includeAll) return [ALL];
  const byValueOrText = wanted.map((w) => options.find((o) => o.value === w || o.text === w)?.value).filter((v): v is string => v !== undefined);
  if (byValueOrText.length > 0) return m.multi ? byValueOrText : [byValueOrText[0]!];
  if (m.type === 'custom' && wanted.length > 0 && options.length === 0) return [...wanted];
  const first = options[0];
  return first ? [first.value] : m.includeAll ? [ALL] : [];
}

/**
 * A dashboard page (`/d/<uid>`): variables (in the URL as `var-name=value`), time range (`from`/`to`), refresh
 * (`refresh`), the panels laid out on Grafana's 24-column grid with collapsible and repeated rows, and the
 * editing tools: a side panel for one panel's queries and options, the JSON model, save (title, folder) and
 * export. Provisioned dashboards are read-only: saving makes a copy.
 */
export default function DashboardPage(props: { org: string; datasources: readonly DatasourceRef[]; uid: string }): React.JSX.Element {
  const { params } = useLocation();
  const [model, setModel] = useState<DashboardJson | undefined>();
  const [meta, setMeta] = useState<DashboardMeta | undefined>();
  const [loadError, setLoadError] = useState<string | undefined>();
  const [vars, setVars] = useState<ReadonlyMap<string, VariableState>>(new Map());
  const [varsReady, setVarsReady] = useState(false);
  const [collapsed, setCollapsed] = useState<ReadonlySet<number>>(new Set());
  const [tick, setTick] = useState(0);
  const [editing, setEditing] = useState<number | undefined>();
  const [dialog, setDialog] = useState<'json' | 'save' | undefined>();
  const [dirty, setDirty] = useState(false);
  const gridRef = useRef<HTMLDivElement>(null);
  const [gridWidth, setGridWidth] = useState(1200);

  useEffect(() => {
    let live = true;
    getDashboard(props.org, props.uid).then(
      (r) => {
        if (!live) return;
        const m = migrateDashboard(r.dashboard);
        setModel(m);
        setMeta(r.meta);
        setCollapsed(new Set((m.panels ?? []).filter((p) => p.type === 'row' && p.collapsed).map((p) => p.id ?? -1)));
      },
      (err: unknown) => live && setLoadError((err as Error).message),
    );
    return () => {
      live = false;
    };
  }, [props.org, props.uid]);

  useEffect(() => {
    const node = gridRef.current;
    if (!node) return undefined;
    const ro = new ResizeObserver(() => setGridWidth(node.clientWidth));
    ro.observe(node);
    setGridWidth(node.clientWidth);
    return () => ro.disconnect();
  }, [model !== undefined]);

  const range: RawTimeRange = { from: params.get('from') ?? model?.time?.from ?? 'now-6h', to: params.get('to') ?? model?.time?.to ?? 'now' };
  const refresh = params.get('refresh') ?? (typeof model?.refresh === 'string' ? model.refresh : '');
  // `now`-relative ranges move with each refresh tick.
  const resolved = useMemo(() => resolveRange(range, Date.now()), [range.from, range.to, tick]);
  const fromMs = 'error' in resolved ? Date.now() - 3_600_000 : resolved.fromMs;
  const toMs = 'error' in resolved ? Date.now() : resolved.toMs;
  const [annotations, setAnnotations] = useState<readonly AnnotationEvent[]>([]);
  const annotationList = (model?.annotations as { list?: AnnotationQuery[] } | undefined)?.list;
  useEffect(() => {
    if (!varsReady) return undefined;
    const ctrl = new AbortController();
    loadAnnotations(annotationList, { org: props.org, datasources: props.datasources, vars, fromMs, toMs, signal: ctrl.signal }).then(setAnnotations, () => undefined);
    return () => ctrl.abort();
  }, [annotationList, varsReady, vars, fromMs, toMs, props.org, props.datasources]);

  useEffect(() => {
    const s = parseDurationS(refresh);
    if (!s) return undefined;
    const t = setInterval(() => setTick((n) => n + 1), Math.max(5, s) * 1000);
    return () => clearInterval(t);
  }, [refresh]);

  /** Loads options of the variables from `from` on (all at start), keeping chosen values that remain valid. */
  const refreshVariables = useCallback(
    async (list: readonly VariableModel[], start: Map<string, VariableState>, wanted: Map<string, string[]>, changed: Set<string> | undefined): Promise<Map<string, VariableState>> => {
      const next = new Map(start);
      const touched = new Set(changed ?? []);
      for (const m of list) {
        if (changed && (touched.has(m.name) || ![...dependsOn(m)].some((d) => touched.has(d)))) continue;
        let options: { text: string; value: string }[] = [];
        let error: string | undefined;
        try {
          options = await loadOptions(m, { org: props.org, datasources: props.datasources, vars: next, builtins: { fromMs, toMs, intervalS: 15 } });
        } catch (err) {
          error = (err as Error).message;
        }
        const prev = next.get(m.name);
        const current = pickCurrent(m, options, wanted.get(m.name) ?? prev?.current ?? modelCurrent(m));
        next.set(m.name, { model: m, options: m.includeAll ? [{ text: 'All', value: ALL }, ...options] : options, current, ...(error ? { error } : {}) });
        touched.add(m.name);
        if (changed) setVars(new Map(next));
      }
      return next;
    },
    [props.org, props.datasources, fromMs, toMs],
  );

  // Variables load once the model is there, from the URL's `var-*` values first.
  useEffect(() => {
    if (!model) return;
    const list = model.templating?.list ?? [];
    const wanted = new Map<string, string[]>();
    for (const m of list) {
      const fromUrl = params.getAll(`var-${m.name}`);
      if (fromUrl.length) wanted.set(m.name, fromUrl.map((v) => (v === 'All' || v === '$__all' ? ALL : v)));
    }
    let live = true;
    void refreshVariables(list, new Map(), wanted, undefined).then((v) => {
      if (!live) return;
      setVars(v);
      setVarsReady(true);
      writeUrl(v);
    });
    return () => {
      live = false;
    };
    // Only a new model reloads every variable; changes go through setVariable.
  }, [model === undefined, props.org]);

  const writeUrl = (v: ReadonlyMap<string, VariableState>, changes: Record<string, string | undefined> = {}): void => {
    const p = new URLSearchParams(window.location.search);
    for (const [name, s] of v) {
      if (s.model.type === 'constant' || s.model.hide === 2) continue;
      p.delete(`var-${name}`);
      for (const value of s.current) p.append(`var-${name}`, value === ALL ? 'All' : value);
    }
    for (const [k, val] of Object.entries(changes)) {
      if (val === undefined || val === '') p.delete(k);
      else p.set(k, val);
    }
    navigate(`${window.location.pathname}?${p.toString()}`, { replace: true });
  };

  const setVariable = async (name: string, current: string[]): Promise<void> => {
    const s = vars.get(name);
    if (!s || !model) return;
    const next = new Map(vars).set(name, { ...s, current });
    setVars(next);
    const updated = await refreshVariables(model.templating?.list ?? [], next, new Map(), new Set([name]));
    setVars(updated);
    writeUrl(updated);
  };

  const placed = useMemo(() => (model && varsReady ? layoutDashboard(model.panels ?? [], vars, collapsed) : []), [model, vars, varsReady, collapsed]);

  const updatePanel = (id: number, change: (p: Panel) => Panel): void => {
    if (!model) return;
    const apply = (ps: Panel[]): Panel[] => ps.map((p) => (p.id === id ? change(p) : p.panels ? { ...p, panels: apply(p.panels) } : p));
    setModel({ ...model, panels: apply(model.panels ?? []) });
    setDirty(true);
  };

  if (loadError) return <div className="page error-box">Dashboard {props.uid} could not be loaded: {loadError}</div>;
  if (!model || !meta) return <div className="loading-page">Loading dashboard…</div>;
  const editPanel = editing !== undefined ? allPanels(model.panels ?? []).find((p) => p.id === editing) : undefined;
  const colPx = (gridWidth + GAP_PX) / 24;
  const height = placed.reduce((h, p) => Math.max(h, (p.y + p.h) * (ROW_PX + GAP_PX)), 0);

  return (
    <div className="page dashboard-page" data-testid="dashboard-page">
      <div className="toolbar dash-toolbar">
        <h1 data-testid="dashboard-title">
          <span className="muted">{meta.folderTitle} / </span>
          {model.title}
          {meta.provisioned && <span className="badge" title={`provisioned from ${meta.provisionedExternalId ?? 'a file'}: read-only, save makes a copy`}>provisioned</span>}
          {dirty && <span className="badge">unsaved</span>}
        </h1>
        <div className="spacer" />
        <TimeRangePicker value={range} onChange={(r) => writeUrl(vars, { from: r.from, to: r.to })} />
        <button type="button" className="btn" onClick={() => setTick((n) => n + 1)} data-testid="refresh-button">
          Refresh
        </button>
        <select aria-label="Refresh interval" value={refresh} onChange={(e) => writeUrl(vars, { refresh: e.target.value })}>
          {REFRESH_CHOICES.map((r) => (
            <option key={r} value={r}>
              {r === '' ? 'Off' : r}
            </option>
          ))}
        </select>
        <button type="button" className="btn" onClick={() => setDialog('json')}>
          JSON model
        </button>
        <button type="button" className="btn" onClick={() => downloadJson(withCurrentValues(model, vars))} data-testid="export-button">
          Export
        </button>
        <button type="button" className="btn primary" onClick={() => setDialog('save')} data-testid="save-button">
          {meta.provisioned ? 'Save as copy' : 'Save'}
        </button>
      </div>
      <div className="variables" data-testid="variables">
        {[...vars.values()]
          .filter((v) => v.model.hide !== 2 && v.model.type !== 'constant')
          .map((v) => (
            <VariablePicker key={v.model.name} state={v} onChange={(cur) => void setVariable(v.model.name, cur)} />
          ))}
      </div>
      <div className="dash-grid" ref={gridRef} style={{ height }}>
        {placed.map((p) => {
          const style = { left: p.x * colPx, top: p.y * (ROW_PX + GAP_PX), width: p.w * colPx - GAP_PX, height: p.h * (ROW_PX + GAP_PX) - GAP_PX };
          if (p.rowId !== undefined) {
            return (
              <button
                type="button"
                key={p.key}
                className="dash-row"
                style={style}
                data-testid="dashboard-row"
                onClick={() => setCollapsed((c) => (c.has(p.rowId!) ? new Set([...c].filter((x) => x !== p.rowId)) : new Set([...c, p.rowId!])))}
              >
                {p.collapsed ? '▸' : '▾'} {interpolateTitle(p.panel.title ?? '', p.scoped, vars)}
                {p.collapsed && <span className="muted"> ({p.panel.panels?.length ?? 0} panels)</span>}
              </button>
            );
          }
          return (
            <div key={p.key} className="dash-cell" style={style}>
              <PanelView
                panel={p.panel}
                scoped={p.scoped}
                org={props.org}
                datasources={props.datasources}
                vars={vars}
                fromMs={fromMs}
                toMs={toMs}
                tick={tick}
                widthPx={style.width}
                heightPx={style.height}
                onEdit={() => setEditing(p.panel.id)}
                annotations={annotations}
              />
            </div>
          );
        })}
      </div>
      {editPanel && <PanelEditor panel={editPanel} datasources={props.datasources} onApply={(p) => {
            updatePanel(editPanel.id!, () => p);
            setEditing(undefined);
          }} onClose={() => setEditing(undefined)} />}
      {dialog === 'json' && (
        <JsonModelDialog
          model={withCurrentValues(model, vars)}
          onApply={(m) => {
            setModel(migrateDashboard(m));
            setDirty(true);
            setDialog(undefined);
          }}
          onClose={() => setDialog(undefined)}
        />
      )}
      {dialog === 'save' && (
        <SaveDialog
          org={props.org}
          model={withCurrentValues(model, vars)}
          meta={meta}
          onSaved={(uid, version, saved) => {
            setDialog(undefined);
            setDirty(false);
            if (uid !== props.uid) navigate(`/d/${encodeURIComponent(uid)}?org=${encodeURIComponent(props.org)}`);
            else {
              setModel({ ...saved, version });
              setMeta({ ...meta, version });
            }
          }}
          onClose={() => setDialog(undefined)}
        />
      )}
    </div>
  );
}

function interpolateTitle(title: string, scoped: ReadonlyMap<string, string>, vars: ReadonlyMap<string, VariableState>): string {
  return title.replace(/\$\{?(\w+)\}?/g, (whole, n: string) => scoped.get(n) ?? vars.get(n)?.current.join(', ') ?? whole);
}

/** The model with each variable's current value written back (what Save and Export keep). */
function withCurrentValues(model: DashboardJson, vars: ReadonlyMap<string, VariableState>): DashboardJson {
  const list = (model.templating?.list ?? []).map((m) => {
    const s = vars.get(m.name);
    if (!s) return m;
    const text = s.current.map((c) => (c === ALL ? 'All' : (s.options.find((o) => o.value === c)?.text ?? c)));
    return { ...m, current: { text: m.multi ? text : (text[0] ?? ''), value: m.multi ? [...s.current] : (s.current[0] ?? '') } };
  });
  return { ...model, templating: { ...(model.templating ?? {}), list } };
}

/** A variable's picker: a text box, a single choice, or a list of checkboxes for a multi-value variable. */
function VariablePicker(props: { state: VariableState; onChange: (current: string[]) => void }): React.JSX.Element {
  const { model, options, current } = props.state;
  const [open, setOpen] = useState(false);
  const label = model.label || model.name;
  if (model.type === 'textbox') {
    return (
      <label className="variable">
        {label}
        <input type="text" defaultValue={current[0] ?? ''} aria-label={label} data-testid={`var-${model.name}`} onKeyDown={(e) => e.key === 'Enter' && props.onChange([(e.target as HTMLInputElement).value])} onBlur={(e) => e.target.value !== (current[0] ?? '') && props.onChange([e.target.value])} />
      </label>
    );
  }
  if (!model.multi) {
    return (
      <label className="variable" title={props.state.error}>
        {label}
        <select aria-label={label} data-testid={`var-${model.name}`} value={current[0] ?? ''} onChange={(e) => props.onChange([e.target.value])}>
          {options.length === 0 && <option value="">{props.state.error ? 'error' : 'no values'}</option>}
          {options.map((o) => (
            <option key={o.value} value={o.value}>
              {o.text}
            </option>
          ))}
        </select>
      </label>
    );
  }
  const shown = current.map((c) => (c === ALL ? 'All' : (options.find((o) => o.value === c)?.text ?? c))).join(' + ') || 'none';
  const toggle = (value: string): void => {
    if (value === ALL) return props.onChange([ALL]);
    const without = current.filter((c) => c !== ALL);
    const next = without.includes(value) ? without.filter((c) => c !== value) : [...without, value];
    props.onChange(next.length ? next : model.includeAll ? [ALL] : []);
  };
  return (
    <div className="variable" title={props.state.error}>
      {label}
      <button type="button" className="btn" data-testid={`var-${model.name}`} onClick={() => setOpen(!open)}>
        {shown}
      </button>
      {open && (
        <div className="variable-menu" role="listbox">
          {options.map((o) => (
            <label key={o.value}>
              <input type="checkbox" checked={current.includes(o.value)} onChange={() => toggle(o.value)} /> {o.text}
            </label>
          ))}
          <button type="button" className="link" onClick={() => setOpen(false)}>
            Close
          </button>
        </div>
      )}
    </div>
  );
}

/** The side panel editing one panel: title, type, unit, decimals, min/max and each query's expression and legend. */
function PanelEditor(props: { panel: Panel; datasources: readonly DatasourceRef[]; onApply: (p: Panel) => void; onClose: () => void }): React.JSX.Element {
  const [draft, setDraft] = useState<Panel>(structuredClone(props.panel));
  useEffect(() => setDraft(structuredClone(props.panel)), [props.panel]);
  const defaults = draft.fieldConfig?.defaults ?? {};
  const setDefaults = (change: Record<string, unknown>): void =>
    setDraft({ ...draft, fieldConfig: { defaults: { ...defaults, ...change }, overrides: draft.fieldConfig?.overrides ?? [] } });
  const num = (s: string): number | undefined => (s.trim() === '' ? undefined : Number(s));
  return (
    <aside className="side-panel" data-testid="panel-editor" aria-label="Edit panel">
      <h2>Edit panel</h2>
      <label>
        Title <input type="text" value={draft.title ?? ''} onChange={(e) => setDraft({ ...draft, title: e.target.value })} aria-label="Panel title" />
      </label>
      <label>
        Type
        <select value={draft.type} onChange={(e) => setDraft({ ...draft, type: e.target.value })} aria-label="Panel type">
          {['timeseries', 'stat', 'gauge', 'bargauge', 'table', 'text', 'logs', 'heatmap', 'barchart', 'piechart', 'state-timeline'].map((t) => (
            <option key={t}>{t}</option>
          ))}
        </select>
      </label>
      <label>
        Unit <input type="text" value={defaults.unit ?? ''} onChange={(e) => setDefaults({ unit: e.target.value || undefined })} aria-label="Unit" placeholder="short, bytes, s, percent…" />
      </label>
      <label>
        Decimals <input type="text" value={defaults.decimals ?? ''} onChange={(e) => setDefaults({ decimals: num(e.target.value) })} aria-label="Decimals" />
      </label>
      <label>
        Min <input type="text" value={defaults.min ?? ''} onChange={(e) => setDefaults({ min: num(e.target.value) })} aria-label="Min" />
      </label>
      <label>
        Max <input type="text" value={defaults.max ?? ''} onChange={(e) => setDefaults({ max: num(e.target.value) })} aria-label="Max" />
      </label>
      {(draft.targets ?? []).map((t, i) => (
        <fieldset key={i}>
          <legend>Query {t.refId ?? String.fromCharCode(65 + i)}</legend>
          <textarea
            rows={3}
            value={t.expr ?? ''}
            aria-label={`Query ${t.refId ?? i}`}
            data-testid="panel-editor-expr"
            onChange={(e) => setDraft({ ...draft, targets: (draft.targets ?? []).map((x, j) => (j === i ? { ...x, expr: e.target.value } : x)) })}
          />
          <label>
            Legend <input type="text" value={t.legendFormat ?? ''} onChange={(e) => setDraft({ ...draft, targets: (draft.targets ?? []).map((x, j) => (j === i ? { ...x, legendFormat: e.target.value } : x)) })} aria-label="Legend" />
          </label>
        </fieldset>
      ))}
      <button type="button" className="link" onClick={() => setDraft({ ...draft, targets: [...(draft.targets ?? []), { refId: String.fromCharCode(65 + (draft.targets?.length ?? 0)), expr: '' }] })}>
        + Add query
      </button>
      <div className="toolbar">
        <button type="button" className="btn primary" onClick={() => props.onApply(draft)} data-testid="panel-editor-apply">
          Apply
        </button>
        <button type="button" className="btn" onClick={props.onClose}>
          Close
        </button>
      </div>
    </aside>
  );
}

function JsonModelDialog(props: { model: DashboardJson; onApply: (m: DashboardJson) => void; onClose: () => void }): React.JSX.Element {
  const [text, setText] = useState(() => JSON.stringify(props.model, null, 2));
  const [error, setError] = useState<string | undefined>();
  return (
    <div className="modal" role="dialog" aria-label="JSON model">
      <h2>JSON model</h2>
      <textarea className="json-model" value={text} onChange={(e) => setText(e.target.value)} spellCheck={false} data-testid="json-model" />
      {error && <div className="error-text">{error}</div>}
      <div className="toolbar">
        <button
          type="button"
          className="btn primary"
          onClick={() => {
            try {
              props.onApply(JSON.parse(text) as DashboardJson);
            } catch (err) {
              setError(`not valid JSON: ${(err as Error).message}`);
            }
          }}
        >
          Apply
        </button>
        <button type="button" className="btn" onClick={props.onClose}>
          Close
        </button>
      </div>
    </div>
  );
}

function SaveDialog(props: { org: string; model: DashboardJson; meta: DashboardMeta; onSaved: (uid: string, version: number, saved: DashboardJson) => void; onClose: () => void }): React.JSX.Element {
  const copy = props.meta.provisioned;
  const [title, setTitle] = useState(copy ? `${props.model.title ?? ''} copy` : (props.model.title ?? ''));
  const [folderUid, setFolderUid] = useState(copy ? '' : props.meta.folderUid);
  const [error, setError] = useState<{ message: string; conflict: boolean } | undefined>();
  const save = async (overwrite: boolean): Promise<void> => {
    const dashboard: DashboardJson = copy ? { ...props.model, title, uid: undefined, version: undefined } : { ...props.model, title, version: props.meta.version };
    try {
      const r = await saveDashboard(props.org, dashboard, folderUid, overwrite);
      props.onSaved(r.uid, r.version, { ...dashboard, uid: r.uid });
    } catch (err) {
      setError({ message: (err as Error).message, conflict: (err as { status?: number }).status === 412 });
    }
  };
  return (
    <div className="modal" role="dialog" aria-label="Save dashboard">
      <h2>{copy ? 'Save a copy' : 'Save dashboard'}</h2>
      <label>
        Title <input type="text" value={title} onChange={(e) => setTitle(e.target.value)} aria-label="Dashboard title" />
      </label>
      <FolderSelect org={props.org} value={folderUid} onChange={setFolderUid} label="Folder" />
      {error && (
        <div className="error-text" data-testid="save-error">
          {error.message}
          {error.conflict && (
            <button type="button" className="btn" onClick={() => void save(true)}>
              Overwrite
            </button>
          )}
        </div>
      )}
      <div className="toolbar">
        <button type="button" className="btn primary" onClick={() => void save(false)} data-testid="save-confirm">
          Save
        </button>
        <button type="button" className="btn" onClick={props.onClose}>
          Cancel
        </button>
      </div>
    </div>
  );
}
