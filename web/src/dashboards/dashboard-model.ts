/**
 * The Grafana dashboard JSON model, as far as the renderer reads it. Imported JSON is kept whole in the store;
 * these types name the fields drawn, and `migrateDashboard` brings older models (schemaVersion < 27: `rows[]`,
 * `graph`, `singlestat`, `table-old`) to the shape the panels read.
 */
export interface DatasourceRefJson {
  readonly type?: string;
  readonly uid?: string;
}

export interface Target {
  refId?: string;
  expr?: string;
  legendFormat?: string;
  instant?: boolean;
  range?: boolean;
  format?: string;
  interval?: string;
  intervalFactor?: number;
  hide?: boolean;
  maxLines?: number;
  datasource?: DatasourceRefJson | string | null;
  queryType?: string;
  /** Tempo: a trace id or a TraceQL query. */
  query?: string;
  limit?: number;
  /** Pyroscope: the profile type and the label selector. */
  profileTypeId?: string;
  labelSelector?: string;
}

export interface Threshold {
  readonly value: number | null;
  readonly color: string;
}

export interface FieldDefaults {
  unit?: string;
  decimals?: number;
  min?: number;
  max?: number;
  thresholds?: { mode?: string; steps?: Threshold[] };
  mappings?: ValueMapping[];
  displayName?: string;
  color?: { mode?: string; fixedColor?: string };
  custom?: Record<string, unknown>;
}

export type ValueMapping =
  | { type: 'value'; options: Record<string, { text?: string; color?: string }> }
  | { type: 'range'; options: { from: number | null; to: number | null; result: { text?: string; color?: string } } }
  | { type: 'regex'; options: { pattern: string; result: { text?: string; color?: string } } }
  | { type: 'special'; options: { match: string; result: { text?: string; color?: string } } };

export interface Override {
  matcher: { id: string; options?: unknown };
  properties: { id: string; value?: unknown }[];
}

export interface Panel {
  id?: number;
  type: string;
  title?: string;
  description?: string;
  gridPos: { x: number; y: number; w: number; h: number };
  datasource?: DatasourceRefJson | string | null;
  targets?: Target[];
  fieldConfig?: { defaults?: FieldDefaults; overrides?: Override[] };
  options?: Record<string, unknown>;
  transformations?: { id: string; options?: Record<string, unknown>; disabled?: boolean }[];
  collapsed?: boolean;
  panels?: Panel[];
  repeat?: string;
  repeatDirection?: 'h' | 'v';
  maxPerRow?: number;
  interval?: string;
  maxDataPoints?: number;
  /** Only in the old `text` panel and the `options.content` of the new one. */
  content?: string;
  mode?: string;
}

export interface VariableModel {
  type: string;
  name: string;
  label?: string;
  hide?: number;
  query?: unknown;
  definition?: string;
  datasource?: DatasourceRefJson | string | null;
  regex?: string;
  multi?: boolean;
  includeAll?: boolean;
  allValue?: string | null;
  current?: { text?: unknown; value?: unknown };
  options?: { text: string; value: string; selected?: boolean }[];
  sort?: number;
  auto?: boolean;
  auto_count?: number;
  auto_min?: string;
}

export interface DashboardJson {
  uid?: string;
  title?: string;
  version?: number;
  schemaVersion?: number;
  tags?: string[];
  time?: { from: string; to: string };
  refresh?: string | false;
  panels?: Panel[];
  rows?: { title?: string; collapse?: boolean; showTitle?: boolean; height?: string | number; panels?: Panel[]; repeat?: string }[];
  templating?: { list?: VariableModel[] };
  __inputs?: { name: string; label?: string; type: string; pluginId?: string }[];
  [key: string]: unknown;
}

/** Panel types this renderer draws; anything else says so in place. */
export const SUPPORTED_PANELS = new Set(['timeseries', 'stat', 'gauge', 'bargauge', 'table', 'text', 'logs', 'heatmap', 'barchart', 'piechart', 'state-timeline', 'row', 'flamegraph', 'traces', 'nodeGraph']);

/** Panels of traces and profiles: they query their Tempo or Pyroscope source themselves (a chunk of their own). */
export const SIGNAL_PANELS = new Set(['flamegraph', 'traces', 'nodeGraph']);

/** Old panel types and what they became in Grafana. */
const PANEL_MIGRATIONS: Record<string, string> = { graph: 'timeseries', singlestat: 'stat', 'grafana-singlestat-panel': 'stat', 'table-old': 'table', 'grafana-piechart-panel': 'piechart' };

/** Old row heights were pixels (or "250px"); a grid unit is 30 px plus an 8 px gap. */
function rowHeightUnits(height: string | number | undefined): number {
  const px = typeof height === 'number' ? height : Number.parseInt(height ?? '250', 10) || 250;
  return Math.max(3, Math.ceil(px / 38));
}

/**
 * Brings a dashboard to the shape the renderer reads, on a copy: `rows[]` become row panels with gridPos
 * (old `span` of 12 columns to 24), old panel types are renamed and their main options carried over
 * (`format` → unit, `thresholds` "a,b" and `colors` → threshold steps, `valueMaps` → value mappings,
 * `decimals`, `min`/`max` of the y axis), and panels without gridPos are laid out in order.
 */
export function migrateDashboard(input: DashboardJson): DashboardJson {
  const d = structuredClone(input);
  if (!Array.isArray(d.panels) && Array.isArray(d.rows)) {
    const panels: Panel[] = [];
    let y = 0;
    let id = 1000;
    const showRows = d.rows.length > 1 || d.rows.some((r) => r.showTitle);
    for (const row of d.rows) {
      const h = rowHeightUnits(row.height);
      const inner: Panel[] = [];
      let x = 0;
      let rowY = y + (showRows ? 1 : 0);
      for (const p of row.panels ?? []) {
        const rawSpan = (p as Panel & { span?: unknown }).span;
        const span = typeof rawSpan === 'number' ? rawSpan : 12;
        const w = Math.max(1, Math.min(24, Math.round(span * 2)));
        if (x + w > 24) {
          x = 0;
          rowY += h;
        }
        inner.push({ ...p, gridPos: { x, y: rowY, w, h } });
        x += w;
      }
      const rowEnd = inner.length ? Math.max(...inner.map((p) => p.gridPos.y + p.gridPos.h)) : rowY;
      if (showRows) {
        const collapsed = row.collapse === true;
        panels.push({ type: 'row', id: id++, title: row.title ?? '', gridPos: { x: 0, y, w: 24, h: 1 }, collapsed, panels: collapsed ? inner : [], ...(row.repeat ? { repeat: row.repeat } : {}) });
        if (!collapsed) panels.push(...inner);
      } else {
        panels.push(...inner);
      }
      y = rowEnd;
    }
    d.panels = panels;
    delete d.rows;
  }
  d.panels = (d.panels ?? []).map(migratePanel);
  // Every panel gets an id (the editor finds panels by it); old models may lack them or repeat them.
  const seen = new Set<number>();
  let next = 1 + Math.max(0, ...allPanels(d.panels).map((p) => p.id ?? 0));
  for (const p of allPanels(d.panels)) {
    if (p.id === undefined || seen.has(p.id)) p.id = next++;
    seen.add(p.id);
  }
  return d;
}

/** Every panel of a dashboard, those inside collapsed rows included. */
export function allPanels(panels: readonly Panel[]): Panel[] {
  return panels.flatMap((p) => [p, ...(p.panels ?? [])]);
}

function migratePanel(p: Panel): Panel {
  const old = p as Panel & Record<string, unknown>;
  const type = PANEL_MIGRATIONS[p.type] ?? p.type;
  const panel: Panel = { ...p, type, gridPos: p.gridPos ?? { x: 0, y: 0, w: 12, h: 8 } };
  if (p.panels) panel.panels = p.panels.map(migratePanel);
  if (type === p.type) return panel;
  const defaults: FieldDefaults = { ...(p.fieldConfig?.defaults ?? {}) };
  if (p.type === 'graph') {
    const yaxes = old.yaxes as { format?: string; min?: number | string | null; max?: number | string | null; decimals?: number }[] | undefined;
    const left = yaxes?.[0];
    if (left?.format && defaults.unit === undefined) defaults.unit = left.format;
    if (left?.min !== undefined && left.min !== null && left.min !== '') defaults.min = Number(left.min);
    if (left?.max !== undefined && left.max !== null && left.max !== '') defaults.max = Number(left.max);
    if (typeof old.stack === 'boolean' && old.stack) defaults.custom = { ...(defaults.custom ?? {}), stacking: { mode: 'normal' } };
    if (old.bars === true && old.lines === false) defaults.custom = { ...(defaults.custom ?? {}), drawStyle: 'bars' };
  }
  if (p.type === 'singlestat' || p.type === 'grafana-singlestat-panel') {
    if (typeof old.format === 'string' && defaults.unit === undefined) defaults.unit = old.format;
    if (typeof old.decimals === 'number') defaults.decimals = old.decimals;
    const colors = Array.isArray(old.colors) ? (old.colors as string[]) : [];
    const cuts = typeof old.thresholds === 'string' && old.thresholds.trim() !== '' ? old.thresholds.split(',').map(Number) : [];
    if (cuts.length > 0 && (old.colorValue === true || old.colorBackground === true)) {
      defaults.thresholds = { mode: 'absolute', steps: [{ value: null, color: colors[0] ?? 'green' }, ...cuts.map((v, i) => ({ value: v, color: colors[i + 1] ?? 'red' }))] };
    }
    const maps = Array.isArray(old.valueMaps) ? (old.valueMaps as { value: string; text: string; op?: string }[]) : [];
    if (maps.length > 0) defaults.mappings = [{ type: 'value', options: Object.fromEntries(maps.map((m) => [m.value, { text: m.text }])) }];
    if ((old.gauge as { show?: boolean } | undefined)?.show) {
      panel.type = 'gauge';
      const g = old.gauge as { minValue?: number; maxValue?: number };
      if (g.minValue !== undefined) defaults.min = g.minValue;
      if (g.maxValue !== undefined) defaults.max = g.maxValue;
    }
    const calc = typeof old.valueName === 'string' ? ({ current: 'lastNotNull', avg: 'mean', total: 'sum' } as Record<string, string>)[old.valueName] ?? old.valueName : 'lastNotNull';
    panel.options = { ...(p.options ?? {}), reduceOptions: { calcs: [calc] }, colorMode: old.colorBackground ? 'background' : 'value' };
  }
  panel.fieldConfig = { defaults, overrides: p.fieldConfig?.overrides ?? [] };
  return panel;
}
