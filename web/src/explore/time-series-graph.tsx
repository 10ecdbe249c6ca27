import { useEffect, useRef } from 'react';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';

/** One line of the graph: its legend name and a value (or null for a gap) per timestamp of the x axis. */
export interface GraphSeries {
  readonly name: string;
  readonly values: readonly (number | null)[];
  /** Overrides the palette colour (e.g. a log level's colour). */
  readonly color?: string;
}

const PALETTE = ['#7eb26d', '#eab839', '#6ed0e0', '#ef843c', '#e24d42', '#1f78c1', '#ba43a9', '#705da0', '#508642', '#cca300'];

/** A colour per series index, the same on every render (Grafana's classic palette). */
export function seriesColor(i: number): string {
  return PALETTE[i % PALETTE.length]!;
}

/**
 * A uPlot time-series graph: legend with live values under the cursor, a click on a legend entry hides or
 * shows its series, and a drag across the plot selects a range that `onZoom` receives (epoch ms).
 * `timesS` are unix seconds, sorted; every series has one value per timestamp.
 */
export function TimeSeriesGraph(props: {
  timesS: readonly number[];
  series: readonly GraphSeries[];
  height?: number;
  /** Draw bars instead of lines (the log volume histogram), stacked visually by drawing order. */
  bars?: boolean;
  onZoom?: (fromMs: number, toMs: number) => void;
  /** How values read on the y axis and in the legend (a dashboard panel's unit); plain numbers without it. */
  formatValue?: (v: number) => string;
  /** Hide the legend (a dashboard panel's `legend.showLegend: false`). */
  hideLegend?: boolean;
  /** Fixed y range ends (a panel's min/max). */
  yMin?: number;
  yMax?: number;
}): React.JSX.Element {
  const container = useRef<HTMLDivElement>(null);
  const onZoom = useRef(props.onZoom);
  onZoom.current = props.onZoom;

  useEffect(() => {
    const el = container.current;
    if (!el) return undefined;
    const fmt = props.formatValue;
    const opts: uPlot.Options = {
      width: Math.max(120, el.clientWidth),
      height: props.height ?? 320,
      series: [
        { label: 'Time' },
        ...props.series.map((s, i) => ({
          label: s.name,
          stroke: s.color ?? seriesColor(i),
          width: props.bars ? 0 : 1.5,
          spanGaps: false,
          ...(fmt ? { value: (_u: uPlot, v: number | null) => (v === null ? '' : fmt(v)) } : {}),
          ...(props.bars ? { fill: s.color ?? seriesColor(i), paths: uPlot.paths.bars!({ size: [0.8, 40] }), points: { show: false } } : { points: { show: props.timesS.length < 60 } }),
        })),
      ],
      axes: [{ stroke: '#9aa0a6', grid: { stroke: '#2a2e35' }, ticks: { stroke: '#2a2e35' } }, { stroke: '#9aa0a6', grid: { stroke: '#2a2e35' }, ticks: { stroke: '#2a2e35' }, size: 70, ...(fmt ? { values: (_u: uPlot, splits: number[]) => splits.map(fmt) } : {}) }],
      legend: { live: true, show: !props.hideLegend },
      ...(props.yMin !== undefined || props.yMax !== undefined
        ? { scales: { y: { range: (_u: uPlot, lo: number, hi: number): uPlot.Range.MinMax => [props.yMin ?? Math.min(0, lo), props.yMax ?? hi] } } }
        : {}),
      cursor: { drag: { x: true, y: false } },
      hooks: {
        setSelect: [
          (u) => {
            if (u.select.width < 2) return;
            const from = u.posToVal(u.select.left, 'x');
            const to = u.posToVal(u.select.left + u.select.width, 'x');
            u.setSelect({ left: 0, top: 0, width: 0, height: 0 }, false);
            onZoom.current?.(Math.round(from * 1000), Math.round(to * 1000));
          },
        ],
      },
    };
    const data = [props.timesS as number[], ...props.series.map((s) => s.values as (number | null)[])] as uPlot.AlignedData;
    const plot = new uPlot(opts, data, el);
    // Zooming is the URL's job (onZoom sets the range and the query re-runs); keep uPlot's own scale.
    plot.over.addEventListener('dblclick', (e) => e.stopPropagation(), true);
    const resize = new ResizeObserver(() => plot.setSize({ width: Math.max(120, el.clientWidth), height: props.height ?? 320 }));
    resize.observe(el);
    return () => {
      resize.disconnect();
      plot.destroy();
    };
  }, [props.timesS, props.series, props.height, props.bars, props.formatValue, props.hideLegend, props.yMin, props.yMax]);

  return <div ref={container} className="graph" data-testid="time-series-graph" />;
}
