import { lokiQueryRange } from '../datasource/loki.ts';
import type { LogLine } from '../datasource/loki.ts';
import { formatMetric, queryInstant, queryRange } from '../datasource/prometheus.ts';
import type { Metric, QueryData } from '../datasource/prometheus.ts';
import { sampleValue } from '../explore/result-frames.ts';
import type { DatasourceRef } from '../shell/settings.ts';
import { parseDurationS } from '../time/time-range.ts';
import type { Panel, Target } from './dashboard-model.ts';
import { interpolate, resolveDatasource } from './variables.ts';
import type { Builtins, VariableState } from './variables.ts';

/** One series of a panel's answer: its display name, labels, the query it came from and its samples. */
export interface Series {
  readonly name: string;
  readonly labels: Metric;
  readonly refId: string;
  readonly timesS: readonly number[];
  readonly values: readonly (number | null)[];
}

/** What a panel draws: series (metric queries) and log lines (log queries), or the first error. */
export interface PanelData {
  readonly series: readonly Series[];
  readonly logs: readonly LogLine[];
  readonly error?: string;
  readonly intervalS: number;
}

/** How many panel queries run at once on a dashboard: the rest wait their turn (Grafana's browsers allow ~6). */
const MAX_CONCURRENT = 6;
let running = 0;
const waiting: (() => void)[] = [];

async function withSlot<T>(fn: () => Promise<T>, signal: AbortSignal): Promise<T> {
  if (running >= MAX_CONCURRENT) {
    await new Promise<void>((resolve, reject) => {
      const go = (): void => {
        signal.removeEventListener('abort', abort);
        resolve();
      };
      const abort = (): void => {
        const i = waiting.indexOf(go);
        if (i >= 0) waiting.splice(i, 1);
        reject(new DOMException('aborted', 'AbortError'));
      };
      signal.addEventListener('abort', abort, { once: true });
      waiting.push(go);
    });
  }
  running++;
  try {
    return await fn();
  } finally {
    running--;
    waiting.shift()?.();
  }
}

const NICE_S = [0.001, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 15, 20, 30, 60, 120, 300, 600, 900, 1200, 1800, 3600, 7200, 10800, 21600, 43200, 86400, 604800];

/**
 * The panel's interval as Grafana computes it: the range over max data points (the panel's width in pixels or
 * `maxDataPoints`), not under the min interval (`panel.interval`, else the data source's 15 s), rounded to a
 * step people read easily.
 */
export function panelIntervalS(panel: Panel, fromMs: number, toMs: number, widthPx: number, vars: ReadonlyMap<string, VariableState>): number {
  const maxPoints = panel.maxDataPoints ?? Math.max(100, Math.round(widthPx));
  const raw = (toMs - fromMs) / 1000 / maxPoints;
  const minText = panel.interval ? interpolate(panel.interval, vars, undefined).replace(/^>/, '') : '';
  const min = parseDurationS(minText) ?? 15;
  const nice = NICE_S.find((s) => s >= raw) ?? Math.ceil(raw);
  return Math.max(min, nice);
}

/** `{{label}}` in a legend format, filled from the series' labels; `__auto` and empty give the series name. */
export function legendName(format: string | undefined, metric: Metric, expr: string): string {
  if (format && format !== '__auto') return format.replace(/\{\{\s*([\w.]+)\s*\}\}/g, (_m, n: string) => metric[n] ?? '');
  const name = formatMetric(metric);
  return name === '{}' ? expr : name;
}

function seriesOf(data: QueryData, target: Target, refId: string, expr: string): Series[] {
  const mk = (metric: Metric, pairs: readonly (readonly [number, string])[]): Series => ({
    name: legendName(target.legendFormat, metric, expr),
    labels: metric,
    refId,
    timesS: pairs.map((p) => p[0]),
    values: pairs.map((p) => {
      const v = sampleValue(p[1]);
      return Number.isNaN(v) ? null : v;
    }),
  });
  switch (data.resultType) {
    case 'matrix':
      return data.result.map((s) => mk(s.metric, s.values ?? []));
    case 'vector':
      return data.result.map((s) => mk(s.metric, s.value ? [s.value] : []));
    case 'scalar':
      return [mk({}, [data.result])];
    default:
      return [];
  }
}

/**
 * Runs the panel's visible targets on their data sources (the target's own, else the panel's; mixed panels
 * allowed) with variables and built-ins interpolated, at most {@link MAX_CONCURRENT} at a time across the
 * page. Range targets use the panel interval as step; `instant` ones ask at the range's end; Loki log queries
 * give lines (for `logs` panels), Loki metric queries give series.
 */
export async function runPanelQueries(
  panel: Panel,
  ctx: { org: string; datasources: readonly DatasourceRef[]; vars: ReadonlyMap<string, VariableState>; scoped: ReadonlyMap<string, string>; fromMs: number; toMs: number; widthPx: number; signal: AbortSignal },
): Promise<PanelData> {
  const intervalS = panelIntervalS(panel, ctx.fromMs, ctx.toMs, ctx.widthPx, ctx.vars);
  const builtins: Builtins = { fromMs: ctx.fromMs, toMs: ctx.toMs, intervalS };
  const targets = (panel.targets ?? []).filter((t) => !t.hide && typeof t.expr === 'string' && t.expr.trim() !== '');
  const results = await Promise.all(
    targets.map(async (t, i) => {
      const refId = t.refId ?? String.fromCharCode(65 + i);
      const panelDs = typeof panel.datasource === 'object' && panel.datasource?.uid === '-- Mixed --' ? undefined : panel.datasource;
      const ds = resolveDatasource(t.datasource ?? panelDs, ctx.datasources, ctx.vars);
      if (!ds) throw new Error('no data source of this panel’s type is configured');
      const targetInterval = t.interval ? parseDurationS(interpolate(t.interval, ctx.vars, builtins, ctx.scoped).replace(/^>/, '')) : undefined;
      const stepS = Math.max(intervalS, targetInterval ?? 0) * (t.intervalFactor ?? 1);
      const expr = interpolate(t.expr!, ctx.vars, { ...builtins, intervalS: stepS }, ctx.scoped);
      const startS = Math.floor(ctx.fromMs / 1000 / stepS) * stepS;
      const endS = Math.ceil(ctx.toMs / 1000);
      return withSlot(async () => {
        if (ds.type === 'loki') {
          const isInstant = t.queryType === 'instant' || t.instant === true;
          const r = await lokiQueryRange(ds.uid, ctx.org, expr, { startMs: ctx.fromMs, endMs: ctx.toMs, ...(isInstant ? {} : { stepS }), limit: t.maxLines ?? 1000, direction: 'backward' }, ctx.signal);
          return r.kind === 'logs' ? { series: [] as Series[], logs: r.lines } : { series: seriesOf(r.data, t, refId, expr), logs: [] };
        }
        if (t.instant === true && t.range !== true) {
          const r = await queryInstant(ds.uid, ctx.org, expr, endS, ctx.signal);
          return { series: seriesOf(r.data, t, refId, expr), logs: [] };
        }
        const r = await queryRange(ds.uid, ctx.org, expr, startS, endS, stepS, ctx.signal);
        return { series: seriesOf(r.data, t, refId, expr), logs: [] };
      }, ctx.signal);
    }),
  );
  return { series: results.flatMap((r) => r.series), logs: results.flatMap((r) => r.logs), intervalS };
}

/** Series on one time axis for the graph: the union of timestamps, null where a series has no sample. */
export function alignSeries(series: readonly Series[]): { timesS: number[]; columns: (number | null)[][] } {
  const times = new Set<number>();
  for (const s of series) for (const t of s.timesS) times.add(t);
  const timesS = [...times].sort((a, b) => a - b);
  const index = new Map(timesS.map((t, i) => [t, i]));
  const columns = series.map((s) => {
    const col = new Array<number | null>(timesS.length).fill(null);
    s.timesS.forEach((t, i) => {
      const v = s.values[i] ?? null;
      col[index.get(t)!] = v !== null && Number.isFinite(v) ? v : null;
    });
    return col;
  });
  return { timesS, columns };
}

/** Grafana's reducers over a series' values (`lastNotNull`, `last`, `mean`, `max`, `min`, `sum`, `count`, `first`, `firstNotNull`, `range`, `delta`, `diff`). */
export function reduce(values: readonly (number | null)[], calc: string): number | null {
  const nn = values.filter((v): v is number => v !== null && !Number.isNaN(v));
  switch (calc) {
    case 'last':
      return values.length ? (values[values.length - 1] ?? null) : null;
    case 'first':
      return values[0] ?? null;
    case 'firstNotNull':
      return nn[0] ?? null;
    case 'mean':
    case 'avg':
      return nn.length ? nn.reduce((a, b) => a + b, 0) / nn.length : null;
    case 'max':
      return nn.length ? Math.max(...nn) : null;
    case 'min':
      return nn.length ? Math.min(...nn) : null;
    case 'sum':
    case 'total':
      return nn.length ? nn.reduce((a, b) => a + b, 0) : null;
    case 'count':
      return nn.length;
    case 'range':
      return nn.length ? Math.max(...nn) - Math.min(...nn) : null;
    case 'delta': {
      let d = 0;
      for (let i = 1; i < nn.length; i++) d += Math.max(0, nn[i]! - nn[i - 1]!);
      return nn.length ? d : null;
    }
    case 'diff':
      return nn.length ? nn[nn.length - 1]! - nn[0]! : null;
    case 'lastNotNull':
    default:
      return nn.length ? nn[nn.length - 1]! : null;
  }
}
