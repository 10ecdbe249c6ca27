import { useMemo } from 'react';
import { lineLevel } from '../datasource/loki.ts';
import { TimeSeriesGraph, seriesColor } from '../explore/time-series-graph.tsx';
import type { AnnotationEvent } from './annotations.ts';
import type { GraphSeries } from '../explore/time-series-graph.tsx';
import { formatLocal } from '../time/time-range.ts';
import type { FieldDefaults, Panel } from './dashboard-model.ts';
import { alignSeries, reduce } from './panel-data.ts';
import type { PanelData, Series } from './panel-data.ts';
import { renderMarkdown, sanitizeHtml } from './sanitize.ts';
import { isNumericColumn, tableOf } from './table-frame.ts';
import { cssColor, displayValue, fieldConfigFor, formatUnit } from './units.ts';

/** Props every panel body gets: the panel model, its data, its size and the interpolation of its text. */
export interface PanelBodyProps {
  readonly panel: Panel;
  readonly data: PanelData;
  readonly width: number;
  readonly height: number;
  readonly text: (s: string) => string;
  /** The dashboard's annotation events (time series panels draw them as vertical lines). */
  readonly annotations?: readonly AnnotationEvent[];
}

const defaultsOf = (p: Panel): FieldDefaults => p.fieldConfig?.defaults ?? {};
const fieldOf = (p: Panel, s: Series): FieldDefaults => {
  const f = fieldConfigFor(defaultsOf(p), p.fieldConfig?.overrides, s.name, s.refId);
  return f;
};
const nameOf = (p: Panel, s: Series, text: (x: string) => string): string => {
  const dn = fieldOf(p, s).displayName;
  return dn ? text(dn.replace(/\$\{__field\.labels\.([\w]+)\}/g, (_m, n: string) => s.labels[n] ?? '').replace(/\$\{__series\.name\}/g, s.name)) : s.name;
};

/** The calculation of a stat-like panel (`reduceOptions.calcs[0]`, Grafana's default `lastNotNull`). */
function calcOf(p: Panel): string {
  const calcs = (p.options?.reduceOptions as { calcs?: string[] } | undefined)?.calcs;
  return calcs?.[0] ?? 'lastNotNull';
}

/** One reduced value per series, with its display name, field config and displayed text and colour. */
function reducedValues(p: Panel, data: PanelData, text: (s: string) => string): { name: string; value: number | null; field: FieldDefaults; shown: { text: string; color: string | undefined } }[] {
  const calc = calcOf(p);
  return data.series.map((s) => {
    const field = fieldOf(p, s);
    const value = reduce(s.values, calc);
    return { name: nameOf(p, s, text), value, field, shown: displayValue(value, field) };
  });
}

export function TimeSeriesPanel(props: PanelBodyProps): React.JSX.Element {
  const { panel, data } = props;
  const frame = useMemo(() => {
    const { timesS, columns } = alignSeries(data.series);
    const series: GraphSeries[] = data.series.map((s, i) => {
      const f = fieldOf(panel, s);
      const fixedColor = f.color?.mode === 'fixed' ? cssColor(f.color.fixedColor) : undefined;
      return { name: nameOf(panel, s, props.text), values: columns[i]!, ...(fixedColor ? { color: fixedColor } : {}) };
    });
    return { timesS, series };
  }, [data, panel, props.text]);
  const defaults = defaultsOf(panel);
  const formatValue = useMemo(() => (v: number) => formatUnit(v, defaults.unit, defaults.decimals), [defaults.unit, defaults.decimals]);
  const legend = panel.options?.legend as { showLegend?: boolean; displayMode?: string } | undefined;
  const hideLegend = legend?.showLegend === false || legend?.displayMode === 'hidden';
  if (data.series.length === 0) return <div className="panel-empty">No data</div>;
  const bars = (defaults.custom?.drawStyle as string | undefined) === 'bars';
  return (
    <TimeSeriesGraph
      timesS={frame.timesS}
      series={frame.series}
      height={Math.max(60, props.height - (hideLegend ? 8 : Math.min(90, 14 + 22 * Math.ceil(frame.series.length / 3))))}
      bars={bars}
      formatValue={formatValue}
      hideLegend={hideLegend}
      {...(props.annotations ? { events: props.annotations } : {})}
      {...(defaults.min !== undefined ? { yMin: defaults.min } : {})}
      {...(defaults.max !== undefined ? { yMax: defaults.max } : {})}
    />
  );
}

export function StatPanel(props: PanelBodyProps): React.JSX.Element {
  const values = reducedValues(props.panel, props.data, props.text);
  if (values.length === 0) return <div className="panel-empty">No data</div>;
  const background = props.panel.options?.colorMode === 'background';
  const fontPx = Math.max(12, Math.min(props.height * 0.45, (props.width / values.length) * 0.22));
  return (
    <div className="stat-panel">
      {values.map((v, i) => (
        <div key={i} className="stat-value" data-testid="stat-value" style={background ? { background: v.shown.color ?? 'transparent', color: '#fff' } : { color: v.shown.color ?? 'var(--text)' }}>
          {values.length > 1 && <div className="stat-name">{v.name}</div>}
          <span style={{ fontSize: `${fontPx}px` }}>{v.shown.text}</span>
        </div>
      ))}
    </div>
  );
}

export function GaugePanel(props: PanelBodyProps): React.JSX.Element {
  const values = reducedValues(props.panel, props.data, props.text);
  if (values.length === 0) return <div className="panel-empty">No data</div>;
  return (
    <div className="stat-panel">
      {values.map((v, i) => {
        const min = v.field.min ?? 0;
        const max = v.field.max ?? (v.field.unit === 'percent' ? 100 : v.field.unit === 'percentunit' ? 1 : Math.max(100, v.value ?? 0));
        const frac = v.value === null ? 0 : Math.max(0, Math.min(1, (v.value - min) / (max - min || 1)));
        const a = Math.PI * (1 - frac);
        return (
          <div key={i} className="gauge" data-testid="stat-value">
            <svg viewBox="0 0 100 60" preserveAspectRatio="xMidYMid meet">
              <path d="M10 55 A40 40 0 0 1 90 55" stroke="#2c3038" strokeWidth="10" fill="none" />
              {frac > 0 && <path d={`M10 55 A40 40 0 0 1 ${50 + 40 * Math.cos(a)} ${55 - 40 * Math.sin(a)}`} stroke={v.shown.color ?? '#73bf69'} strokeWidth="10" fill="none" />}
              <text x="50" y="52" textAnchor="middle" fill={v.shown.color ?? '#d8d9da'} fontSize="13">
                {v.shown.text}
              </text>
            </svg>
            {values.length > 1 && <div className="stat-name">{v.name}</div>}
          </div>
        );
      })}
    </div>
  );
}

export function BarGaugePanel(props: PanelBodyProps): React.JSX.Element {
  const values = reducedValues(props.panel, props.data, props.text);
  if (values.length === 0) return <div className="panel-empty">No data</div>;
  const maxAll = Math.max(...values.map((v) => v.value ?? 0));
  return (
    <div className="bargauge">
      {values.map((v, i) => {
        const min = v.field.min ?? 0;
        const max = v.field.max ?? maxAll;
        const frac = v.value === null ? 0 : Math.max(0, Math.min(1, (v.value - min) / (max - min || 1)));
        return (
          <div key={i} className="bargauge-row" data-testid="stat-value">
            <span className="bargauge-name">{v.name}</span>
            <span className="bargauge-bar">
              <span style={{ width: `${frac * 100}%`, background: v.shown.color ?? '#73bf69' }} />
            </span>
            <span className="bargauge-text" style={{ color: v.shown.color }}>
              {v.shown.text}
            </span>
          </div>
        );
      })}
    </div>
  );
}

/** `barchart`: one bar per series' reduced value (Prometheus answers have no category field to group by). */
export function BarChartPanel(props: PanelBodyProps): React.JSX.Element {
  return <BarGaugePanel {...props} />;
}

export function PieChartPanel(props: PanelBodyProps): React.JSX.Element {
  const values = reducedValues(props.panel, props.data, props.text).filter((v) => (v.value ?? 0) > 0);
  if (values.length === 0) return <div className="panel-empty">No data</div>;
  const total = values.reduce((a, v) => a + (v.value ?? 0), 0);
  let angle = -Math.PI / 2;
  return (
    <div className="piechart">
      <svg viewBox="-50 -50 100 100" width={Math.min(props.width * 0.55, props.height - 8)} height={props.height - 8}>
        {values.map((v, i) => {
          const sweep = ((v.value ?? 0) / total) * Math.PI * 2;
          const [x1, y1] = [45 * Math.cos(angle), 45 * Math.sin(angle)];
          angle += sweep;
          const [x2, y2] = [45 * Math.cos(angle), 45 * Math.sin(angle)];
          const color = v.field.color?.mode === 'fixed' ? cssColor(v.field.color.fixedColor) : seriesColor(i);
          return values.length === 1 ? (
            <circle key={i} r="45" fill={color} />
          ) : (
            <path key={i} d={`M0 0 L${x1} ${y1} A45 45 0 ${sweep > Math.PI ? 1 : 0} 1 ${x2} ${y2} Z`} fill={color} />
          );
        })}
      </svg>
      <ul className="pie-legend">
        {values.map((v, i) => (
          <li key={i} data-testid="stat-value">
            <span className="swatch" style={{ background: v.field.color?.mode === 'fixed' ? cssColor(v.field.color.fixedColor) : seriesColor(i) }} /> {v.name}: {v.shown.text}
          </li>
        ))}
      </ul>
    </div>
  );
}

export function TablePanel(props: PanelBodyProps): React.JSX.Element {
  const frame = useMemo(() => tableOf(props.panel, props.data.series), [props.panel, props.data]);
  if (frame.rows.length === 0) return <div className="panel-empty">No data</div>;
  const defaults = defaultsOf(props.panel);
  return (
    <div className="table-wrap">
      {frame.unsupported.length > 0 && <div className="panel-warning">transformation {frame.unsupported.join(', ')} is not supported; shown without it</div>}
      <table className="result-table" data-testid="panel-table">
        <thead>
          <tr>
            {frame.columns.map((c) => (
              <th key={c}>{c}</th>
            ))}
          </tr>
        </thead>
        <tbody>
          {frame.rows.map((r, i) => (
            <tr key={i}>
              {r.map((cell, j) => {
                const col = frame.columns[j]!;
                if (col === 'Time' && typeof cell === 'number') return <td key={j}>{formatLocal(cell)}</td>;
                if (typeof cell === 'number' || (cell === null && isNumericColumn(col))) {
                  const f = fieldConfigFor(defaults, props.panel.fieldConfig?.overrides, col);
                  const shown = displayValue(cell, f);
                  return (
                    <td key={j} className="num" style={{ color: shown.color }}>
                      {shown.text}
                    </td>
                  );
                }
                return <td key={j}>{cell}</td>;
              })}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

export function TextPanel(props: PanelBodyProps): React.JSX.Element {
  const opts = props.panel.options as { content?: string; mode?: string } | undefined;
  const content = props.text(opts?.content ?? props.panel.content ?? '');
  const mode = opts?.mode ?? props.panel.mode ?? 'markdown';
  const html = mode === 'html' ? sanitizeHtml(content) : mode === 'markdown' ? renderMarkdown(content) : undefined;
  return html !== undefined ? <div className="text-panel" dangerouslySetInnerHTML={{ __html: html }} /> : <pre className="text-panel">{content}</pre>;
}

export function LogsPanel(props: PanelBodyProps): React.JSX.Element {
  const lines = props.data.logs;
  if (lines.length === 0) return <div className="panel-empty">No logs</div>;
  const ascending = (props.panel.options?.sortOrder as string | undefined) === 'Ascending';
  const shown = ascending ? [...lines].reverse() : lines;
  const showTime = props.panel.options?.showTime !== false;
  return (
    <div className="panel-logs" data-testid="panel-logs">
      {shown.map((l, i) => (
        <div key={i} className={`log-line level-${lineLevel(l)}`}>
          {showTime && <span className="log-time">{formatLocal(Number(l.timestampNs.slice(0, -6)))}</span>} <span className="log-text">{l.line}</span>
        </div>
      ))}
    </div>
  );
}

/** `state-timeline`: a band per series, coloured by value mappings or thresholds, with the mapped text. */
export function StateTimelinePanel(props: PanelBodyProps): React.JSX.Element {
  const { timesS, columns } = useMemo(() => alignSeries(props.data.series), [props.data]);
  if (props.data.series.length === 0 || timesS.length === 0) return <div className="panel-empty">No data</div>;
  const t0 = timesS[0]!;
  const span = Math.max(1, timesS[timesS.length - 1]! - t0);
  return (
    <div className="state-timeline">
      {props.data.series.map((s, i) => {
        const f = fieldOf(props.panel, s);
        const col = columns[i]!;
        const segments: { from: number; to: number; v: number | null }[] = [];
        col.forEach((v, j) => {
          const last = segments[segments.length - 1];
          if (last && last.v === v) last.to = timesS[j + 1] ?? timesS[j]!;
          else segments.push({ from: timesS[j]!, to: timesS[j + 1] ?? timesS[j]!, v });
        });
        return (
          <div key={i} className="state-row">
            <span className="state-name">{nameOf(props.panel, s, props.text)}</span>
            <span className="state-band">
              {segments.map((seg, k) => {
                const shown = displayValue(seg.v, f);
                return (
                  <span key={k} title={shown.text} style={{ left: `${((seg.from - t0) / span) * 100}%`, width: `${Math.max(0.5, ((seg.to - seg.from) / span) * 100)}%`, background: seg.v === null ? 'transparent' : (shown.color ?? seriesColor(i)) }}>
                    {shown.text}
                  </span>
                );
              })}
            </span>
          </div>
        );
      })}
    </div>
  );
}

/**
 * `heatmap` of Prometheus buckets (a series per `le`, as `format: heatmap` queries give): a cell per time and
 * bucket, darker for more; other series are drawn the same way, a row per series.
 */
export function HeatmapPanel(props: PanelBodyProps): React.JSX.Element {
  const { timesS, columns } = useMemo(() => alignSeries(props.data.series), [props.data]);
  if (props.data.series.length === 0 || timesS.length === 0) return <div className="panel-empty">No data</div>;
  const order = props.data.series.map((s, i) => ({ i, le: s.labels.le === '+Inf' ? Infinity : Number(s.labels.le ?? i) })).sort((a, b) => a.le - b.le);
  // Cumulative buckets become per-bucket counts.
  const rows = order.map((o, k) => columns[o.i]!.map((v, t) => (v === null ? null : v - (k > 0 && props.data.series[order[k - 1]!.i]!.labels.le !== undefined ? (columns[order[k - 1]!.i]![t] ?? 0) : 0))));
  const max = Math.max(1e-12, ...rows.flat().filter((v): v is number => v !== null));
  const h = Math.max(30, props.height - 20);
  const cellH = h / rows.length;
  const cellW = Math.max(1, (props.width - 60) / timesS.length);
  return (
    <svg className="heatmap" width={props.width} height={h + 4} data-testid="heatmap">
      {rows.map((r, y) =>
        r.map((v, x) =>
          v === null || v <= 0 ? null : <rect key={`${y}-${x}`} x={60 + x * cellW} y={h - (y + 1) * cellH} width={cellW + 0.5} height={cellH + 0.5} fill="#fade2a" fillOpacity={0.1 + 0.9 * (v / max)} />,
        ),
      )}
      {rows.map((_r, y) => (
        <text key={y} x={56} y={h - y * cellH - cellH / 2 + 4} textAnchor="end" fontSize="10" fill="#8e939c">
          {props.data.series[order[y]!.i]!.labels.le ?? props.data.series[order[y]!.i]!.name}
        </text>
      ))}
    </svg>
  );
}

/** The panel bodies by Grafana panel type. */
export const PANEL_BODIES: Record<string, (props: PanelBodyProps) => React.JSX.Element> = {
  timeseries: TimeSeriesPanel,
  stat: StatPanel,
  gauge: GaugePanel,
  bargauge: BarGaugePanel,
  barchart: BarChartPanel,
  piechart: PieChartPanel,
  table: TablePanel,
  text: TextPanel,
  logs: LogsPanel,
  'state-timeline': StateTimelinePanel,
  heatmap: HeatmapPanel,
};
