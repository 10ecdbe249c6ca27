import { useEffect, useMemo, useRef, useState } from 'react';
import { formatProfileValue, sandwich, topTable } from './flame-model.ts';
import type { FlameGraphModel, FlameNode, TopEntry } from './flame-model.ts';

const ROW_PX = 20;
const MIN_TEXT_PX = 24;

/** A stable warm colour per frame name (package-ish prefix), as Pyroscope colours them. */
function nameColor(name: string): string {
  const key = name.split(/[./:]/)[0] ?? name;
  let h = 0;
  for (let i = 0; i < key.length; i++) h = (h * 31 + key.charCodeAt(i)) | 0;
  const hue = 10 + (Math.abs(h) % 50);
  return `hsl(${hue}, 70%, ${48 + (Math.abs(h >> 8) % 14)}%)`;
}

/** Diff colours: red where the comparison (right) spends a larger share than the baseline, green smaller. */
function diffColor(n: FlameNode, ticks: { leftTicks: number; rightTicks: number }): string {
  const l = ticks.leftTicks > 0 ? (n.left?.total ?? 0) / ticks.leftTicks : 0;
  const r = ticks.rightTicks > 0 ? (n.right?.total ?? 0) / ticks.rightTicks : 0;
  const change = l === 0 ? (r > 0 ? 1 : 0) : (r - l) / l;
  const strength = Math.min(1, Math.abs(change));
  if (Math.abs(change) < 0.05) return 'hsl(220, 8%, 55%)';
  return change > 0 ? `hsl(0, ${40 + strength * 50}%, ${60 - strength * 18}%)` : `hsl(120, ${40 + strength * 40}%, ${55 - strength * 18}%)`;
}

/**
 * A flame graph on a canvas beside its top table. Click a frame (or a table row) to focus on it, search to
 * highlight frames by name, sort the table by self or total; "Sandwich" shows the focused function's callers and
 * callees. In a diff (`model.diff`) frames are coloured by how their share changed from the baseline.
 */
export function FlameGraph(props: { model: FlameGraphModel; unit: string; toolbar?: React.ReactNode }): React.JSX.Element {
  const { model, unit } = props;
  const [focus, setFocus] = useState<FlameNode | undefined>();
  const [sandwichOf, setSandwichOf] = useState<string | undefined>();
  const [search, setSearch] = useState('');
  useEffect(() => {
    setFocus(undefined);
    setSandwichOf(undefined);
  }, [model]);
  const needle = search.trim().toLowerCase();
  const sandwiched = useMemo(() => (sandwichOf ? sandwich(model, sandwichOf) : undefined), [model, sandwichOf]);

  const focusByName = (name: string): void => {
    // The widest frame of that name.
    let best: FlameNode | undefined;
    for (const level of model.levels) for (const n of level) if (n.name === name && (!best || n.total > best.total)) best = n;
    setFocus(best);
    if (sandwichOf) setSandwichOf(name);
  };

  return (
    <div className="flamegraph" data-testid="flame-graph" data-focus={focus?.name ?? ''} data-sandwich={sandwichOf ?? ''}>
      <div className="options-row">
        <input type="search" placeholder="Search frames" value={search} onChange={(e) => setSearch(e.target.value)} aria-label="Search frames" data-testid="flame-search" />
        {focus && (
          <button type="button" className="btn" onClick={() => setFocus(undefined)} data-testid="flame-reset">
            Reset focus ({focus.name})
          </button>
        )}
        {sandwichOf ? (
          <button type="button" className="btn active" onClick={() => setSandwichOf(undefined)} data-testid="flame-sandwich-off">
            Back to the flame graph
          </button>
        ) : (
          focus &&
          !model.diff && (
            <button type="button" className="btn" onClick={() => setSandwichOf(focus.name)} data-testid="flame-sandwich">
              Sandwich view of {focus.name}
            </button>
          )
        )}
        {props.toolbar}
        <span className="muted">
          total {formatProfileValue(model.total, unit)}
          {model.diff && ` · baseline ${formatProfileValue(model.diff.leftTicks, unit)} → comparison ${formatProfileValue(model.diff.rightTicks, unit)} (red: more, green: less)`}
        </span>
      </div>
      <div className="flamegraph-body">
        <TopTable entries={useMemo(() => topTable(model), [model])} unit={unit} search={needle} onFocus={focusByName} focused={sandwichOf ?? focus?.name} />
        {sandwiched ? (
          <div className="flamegraph-sandwich">
            <div className="muted">Callers of {sandwichOf} (each caller below the function it called)</div>
            <FlameCanvas model={sandwiched.callers} unit={unit} search={needle} testId="flame-callers" />
            <div className="muted">Callees of {sandwichOf}</div>
            <FlameCanvas model={sandwiched.callees} unit={unit} search={needle} testId="flame-callees" />
          </div>
        ) : (
          <FlameCanvas model={model} unit={unit} search={needle} focus={focus} onFocus={setFocus} />
        )}
      </div>
    </div>
  );
}

/** The canvas of a flame graph with its hover details; a click focuses a frame (when `onFocus` is given). */
function FlameCanvas(props: {
  model: FlameGraphModel;
  unit: string;
  search: string;
  focus?: FlameNode | undefined;
  onFocus?: (node: FlameNode | undefined) => void;
  testId?: string;
}): React.JSX.Element {
  const { model, unit, focus } = props;
  const canvas = useRef<HTMLCanvasElement>(null);
  const [hover, setHover] = useState<{ node: FlameNode; x: number; y: number } | undefined>();
  const [width, setWidth] = useState(800);
  const viewX = focus?.x ?? 0;
  const viewW = focus?.total ?? model.total;
  const needle = props.search;

  useEffect(() => {
    const el = canvas.current;
    if (!el) return undefined;
    const resize = new ResizeObserver(() => setWidth(Math.max(200, el.parentElement?.clientWidth ?? 800)));
    resize.observe(el.parentElement ?? el);
    return () => resize.disconnect();
  }, []);

  useEffect(() => {
    const el = canvas.current;
    const ctx = el?.getContext('2d');
    if (!el || !ctx) return;
    const dpr = window.devicePixelRatio || 1;
    const height = model.levels.length * ROW_PX;
    el.width = width * dpr;
    el.height = height * dpr;
    el.style.width = `${width}px`;
    el.style.height = `${height}px`;
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, width, height);
    ctx.font = '12px ui-monospace, SFMono-Regular, Menlo, monospace';
    ctx.textBaseline = 'middle';
    const scale = width / (viewW || 1);
    for (const level of model.levels) {
      for (const n of level) {
        // Frames outside the focused one are hidden, except its ancestors which span the whole width.
        const isAncestor = focus !== undefined && n.level < focus.level && n.x <= viewX && n.x + n.total >= viewX + viewW;
        if (n.x + n.total <= viewX || n.x >= viewX + viewW) continue;
        const x = isAncestor ? 0 : (n.x - viewX) * scale;
        const w = isAncestor ? width : n.total * scale;
        if (w < 0.5) continue;
        const y = n.level * ROW_PX;
        const dim = (needle !== '' && !n.name.toLowerCase().includes(needle)) || isAncestor;
        ctx.globalAlpha = dim ? 0.35 : 1;
        ctx.fillStyle = model.diff ? diffColor(n, model.diff) : n.level === 0 ? '#6e7380' : nameColor(n.name);
        ctx.fillRect(x, y, Math.max(0.5, w - 1), ROW_PX - 1);
        if (w > MIN_TEXT_PX) {
          ctx.fillStyle = '#111217';
          const label = n.name;
          const maxChars = Math.floor((w - 6) / 7.2);
          ctx.fillText(label.length > maxChars ? `${label.slice(0, Math.max(1, maxChars - 1))}…` : label, x + 3, y + ROW_PX / 2, w - 6);
        }
      }
    }
    ctx.globalAlpha = 1;
  }, [model, focus, needle, width, viewX, viewW]);

  const nodeAt = (px: number, py: number): FlameNode | undefined => {
    const level = model.levels[Math.floor(py / ROW_PX)];
    if (!level) return undefined;
    const value = viewX + (px / width) * viewW;
    return level.find((n) => n.x <= value && value < n.x + n.total);
  };
  const onMove = (e: React.MouseEvent<HTMLCanvasElement>): void => {
    const r = e.currentTarget.getBoundingClientRect();
    const node = nodeAt(e.clientX - r.left, e.clientY - r.top);
    setHover(node ? { node, x: e.clientX - r.left, y: e.clientY - r.top } : undefined);
  };
  const onClick = (e: React.MouseEvent<HTMLCanvasElement>): void => {
    const r = e.currentTarget.getBoundingClientRect();
    const node = nodeAt(e.clientX - r.left, e.clientY - r.top);
    props.onFocus?.(node && node.level > 0 ? node : undefined);
  };
  const pct = (v: number): string => `${((v / (model.total || 1)) * 100).toFixed(2)}%`;
  return (
    <div className="flamegraph-canvas" data-testid={props.testId} data-total={model.total}>
      <canvas ref={canvas} onMouseMove={onMove} onMouseLeave={() => setHover(undefined)} onClick={onClick} role="img" aria-label="Flame graph" />
      {hover && (
        <div className="flame-tooltip" style={{ left: Math.min(hover.x + 12, width - 260), top: hover.y + 16 }} data-testid="flame-tooltip">
          <strong>{hover.node.name}</strong>
          <div>
            total {formatProfileValue(hover.node.total, unit)} ({pct(hover.node.total)}), self {formatProfileValue(hover.node.self, unit)}
          </div>
          {hover.node.left && hover.node.right && model.diff && (
            <div>
              baseline {formatProfileValue(hover.node.left.total, unit)} → {formatProfileValue(hover.node.right.total, unit)}
            </div>
          )}
        </div>
      )}
    </div>
  );
}

/** Functions by self or total (click a header to sort), filtered by the search; a click focuses the function. */
function TopTable(props: { entries: readonly TopEntry[]; unit: string; search: string; focused: string | undefined; onFocus: (name: string) => void }): React.JSX.Element {
  const [sortBy, setSortBy] = useState<'self' | 'total'>('self');
  const rows = props.entries.filter((e) => props.search === '' || e.name.toLowerCase().includes(props.search)).sort((a, b) => b[sortBy] - a[sortBy] || (a.name < b.name ? -1 : 1));
  return (
    <div className="top-table-wrap">
      <table className="result-table top-table" data-testid="flame-top-table">
        <thead>
          <tr>
            <th>Symbol</th>
            {(['self', 'total'] as const).map((k) => (
              <th key={k} aria-sort={sortBy === k ? 'descending' : 'none'}>
                <button type="button" className="link-button" onClick={() => setSortBy(k)}>
                  {k === 'self' ? 'Self' : 'Total'}
                  {sortBy === k ? ' ▾' : ''}
                </button>
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {rows.slice(0, 500).map((e) => (
            <tr key={e.name} className={props.focused === e.name ? 'selected' : ''} onClick={() => props.onFocus(e.name)} data-symbol={e.name}>
              <td className="symbol" title={e.name}>
                {e.name}
              </td>
              <td data-column="self">{formatProfileValue(e.self, props.unit)}</td>
              <td data-column="total">{formatProfileValue(e.total, props.unit)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
