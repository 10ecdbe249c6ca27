import { useEffect, useRef } from 'react';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import type { GraphMarker, GraphSeries } from './graph-types.ts';

export type { GraphMarker, GraphSeries } from './graph-types.ts';

/** At most this many exemplar points are drawn (each is a DOM element, hoverable and clickable). */
const MAX_MARKERS = 1000;

/** Running sums of the series, bottom first: what a stacked graph draws (a gap counts as 0 below others). */
export function stackValues(series: readonly GraphSeries[]): (number | null)[][] {
  const out: (number | null)[][] = [];
  let below: number[] = [];
  for (const s of series) {
    const sums = s.values.map((v, i) => (v === null ? null : v + (below[i] ?? 0)));
    below = sums.map((v, i) => v ?? below[i] ?? 0);
    out.push(sums);
  }
  return out;
}

/**
 * The y axis' width from its longest label, so formatted values ("512.00 MiB", "1.25 ms") are never cut off at
 * the graph's left edge. uPlot calls it on each layout cycle; after the second it keeps the size it has, as its
 * own auto-size demo does, so labels and size cannot feed back into each other forever.
 */
function yAxisSize(u: uPlot, values: string[] | null, axisIdx: number, cycleNum: number): number {
  const axis = u.axes[axisIdx]!;
  if (cycleNum > 1) return (axis as { _size?: number })._size ?? 50;
  const longest = (values ?? []).reduce((acc, v) => (v.length > acc.length ? v : acc), '');
  let size = (axis.ticks?.size ?? 10) + (axis.gap ?? 5) + 8;
  if (longest !== '') {
    u.ctx.font = (axis.font as unknown as [string] | undefined)?.[0] ?? u.ctx.font;
    size += u.ctx.measureText(longest).width / devicePixelRatio;
  }
  return Math.max(40, Math.ceil(size));
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
  /** The x axis' ends in unix seconds (the query's range), so points between the last sample and the range's end show. */
  xRange?: readonly [number, number];
  /** Fixed y range ends (a panel's min/max). */
  yMin?: number;
  yMax?: number;
  /** Stack the series (each drawn on top of the ones before it, filled); the legend keeps each own value. */
  stacked?: boolean;
  /** Points drawn over the lines (exemplars): each names its labels on hover. */
  markers?: readonly GraphMarker[];
  /** A click on a point (an exemplar naming a trace opens it). */
  onMarkerClick?: (marker: GraphMarker) => void;
  /** Vertical lines at event times (a dashboard's annotations), each in its colour. */
  events?: readonly { readonly timeMs: number; readonly color: string }[];
}): React.JSX.Element {
  const container = useRef<HTMLDivElement>(null);
  const onZoom = useRef(props.onZoom);
  onZoom.current = props.onZoom;
  const onMarkerClick = useRef(props.onMarkerClick);
  onMarkerClick.current = props.onMarkerClick;

  useEffect(() => {
    const el = container.current;
    if (!el) return undefined;
    const fmt = props.formatValue;
    const stacked = props.stacked ? stackValues(props.series) : undefined;
    const markers = (props.markers ?? []).slice(0, MAX_MARKERS);
    // Exemplars are elements over the plot (uPlot's `over` layer, in CSS pixels of the plotting area), so a
    // hover names them and a click opens their trace; the draw hook keeps them where their time and value are.
    const points: HTMLElement[] = [];
    const placePoints = (u: uPlot): void => {
      points.forEach((el, i) => {
        const m = markers[i]!;
        const x = u.valToPos(m.timeS, 'x');
        const y = u.valToPos(m.value, 'y');
        const inside = Number.isFinite(x) && Number.isFinite(y) && x >= 0 && y >= 0 && x <= u.over.clientWidth && y <= u.over.clientHeight;
        el.style.display = inside ? '' : 'none';
        el.style.left = `${x}px`;
        el.style.top = `${y}px`;
      });
    };
    const events = props.events ?? [];
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
          // A stacked series' legend shows its own value, not the running sum it is drawn at.
          ...(fmt || stacked
            ? {
              value: (_u: uPlot, v: number | null, _si: number, idx: number | null): string => {
                const own = stacked && idx !== null ? s.values[idx] ?? null : v;
                return own === null ? '' : fmt ? fmt(own) : own.toLocaleString('en-US', { maximumFractionDigits: 3 });
              },
            }
            : {}),
          ...(stacked ? { fill: `${s.color ?? seriesColor(i)}40` } : {}),
          ...(props.bars ? { fill: s.color ?? seriesColor(i), paths: uPlot.paths.bars!({ size: [0.8, 40] }), points: { show: false } } : { points: { show: props.timesS.length < 60 } }),
        })),
      ],
      axes: [{ stroke: '#9aa0a6', grid: { stroke: '#2a2e35' }, ticks: { stroke: '#2a2e35' } }, { stroke: '#9aa0a6', grid: { stroke: '#2a2e35' }, ticks: { stroke: '#2a2e35' }, size: yAxisSize, ...(fmt ? { values: (_u: uPlot, splits: number[]) => splits.map(fmt) } : {}) }],
      legend: { live: true, show: !props.hideLegend },
      scales: {
        ...(props.xRange ? { x: { time: true, range: (): uPlot.Range.MinMax => [props.xRange![0], props.xRange![1]] } } : {}),
        ...(props.yMin !== undefined || props.yMax !== undefined
          ? { y: { range: (_u: uPlot, lo: number, hi: number): uPlot.Range.MinMax => [props.yMin ?? Math.min(0, lo), props.yMax ?? hi] } }
          : markers.length > 0
            ? {
              // Exemplars outside the lines' values (a latency beside a quantile) widen the y axis to show.
              y: {
                range: (_u: uPlot, lo: number, hi: number): uPlot.Range.MinMax => {
                  const values = markers.map((m) => m.value).filter(Number.isFinite);
                  const min = Math.min(lo, ...values);
                  const max = Math.max(hi, ...values);
                  const pad = (max - min) * 0.05 || Math.abs(max) * 0.05 || 1;
                  return [min - pad, max + pad];
                },
              },
            }
            : {}),
      },
      cursor: { drag: { x: true, y: false } },
      hooks: {
        draw: [
          (u) => {
            placePoints(u);
            const ctx = u.ctx;
            ctx.save();
            for (const e of events) {
              const x = u.valToPos(e.timeMs / 1000, 'x', true);
              if (!Number.isFinite(x) || x < u.bbox.left || x > u.bbox.left + u.bbox.width) continue;
              ctx.strokeStyle = e.color;
              ctx.setLineDash([4 * devicePixelRatio, 4 * devicePixelRatio]);
              ctx.beginPath();
              ctx.moveTo(x, u.bbox.top);
              ctx.lineTo(x, u.bbox.top + u.bbox.height);
              ctx.stroke();
            }
            ctx.restore();
          },
        ],
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
    const data = [props.timesS as number[], ...(stacked ?? props.series.map((s) => s.values as (number | null)[]))] as uPlot.AlignedData;
    const plot = new uPlot(opts, data, el);
    for (const m of markers) {
      const point = document.createElement('button');
      point.type = 'button';
      point.className = m.traceId ? 'exemplar-point has-trace' : 'exemplar-point';
      point.title = m.traceId ? `${m.title}\n(click: open the trace)` : m.title;
      point.dataset.testid = 'exemplar-point';
      if (m.traceId) point.dataset.traceId = m.traceId;
      // uPlot starts a drag selection on mousedown in its layer; a click on a point is not a zoom.
      point.addEventListener('mousedown', (e) => e.stopPropagation());
      point.addEventListener('click', () => onMarkerClick.current?.(m));
      plot.over.appendChild(point);
      points.push(point);
    }
    placePoints(plot);
    // Zooming is the URL's job (onZoom sets the range and the query re-runs); keep uPlot's own scale.
    plot.over.addEventListener('dblclick', (e) => e.stopPropagation(), true);
    const resize = new ResizeObserver(() => plot.setSize({ width: Math.max(120, el.clientWidth), height: props.height ?? 320 }));
    resize.observe(el);
    return () => {
      resize.disconnect();
      plot.destroy();
    };
  }, [props.timesS, props.series, props.height, props.bars, props.formatValue, props.hideLegend, props.yMin, props.yMax, props.stacked, props.markers, props.events, props.xRange]);

  return <div ref={container} className="graph" data-testid="time-series-graph" data-stacked={props.stacked ? 'true' : undefined} data-markers={props.markers?.length ?? 0} data-events={props.events?.length ?? 0} />;
}
