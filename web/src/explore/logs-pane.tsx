import { Suspense, lazy, useCallback, useEffect, useMemo, useState } from 'react';
import { lineLevel, lokiLabels, lokiQueryRange } from '../datasource/loki.ts';
import type { LogLine, LogsResult } from '../datasource/loki.ts';
import { countResult } from '../datasource/prometheus.ts';
import type { DatasourceCorrelations } from '../shell/settings.ts';
import { autoStepS, formatLocal, resolveRange } from '../time/time-range.ts';
import { LabelBrowser } from './label-browser.tsx';
import { LiveTail } from './live-tail.tsx';
import { LogContext } from './log-context.tsx';
import type { PaneProps } from './pane-kinds.ts';
import { QueryInspector } from './query-inspector.tsx';
import { LogTraceLink } from './traces/log-trace-link.tsx';
import { toGraphFrame } from './result-frames.ts';
import { ResultTable } from './result-table.tsx';
import { TimeSeriesGraph } from './time-series-graph.tsx';
import type { GraphSeries } from './time-series-graph.tsx';
import { toggled } from './toggle-set.ts';

const LogqlEditor = lazy(() => import('./logql-editor.tsx'));

/** The logs query of an Explore pane, as its URL parameters hold it. */
interface LogsQueryState {
  readonly expr: string;
  readonly limit: number;
  readonly direction: 'backward' | 'forward';
  readonly view: 'graph' | 'table' | 'inspect';
}

/** The pane's query state from its URL parameters (`expr`, `limit`, `direction`, `view`). */
function readLogsQuery(params: PaneProps['params']): LogsQueryState {
  const view = params.get('view');
  return {
    expr: params.get('expr') ?? '',
    limit: Math.min(5000, Math.max(1, Number(params.get('limit')) || 100)),
    direction: params.get('direction') === 'forward' ? 'forward' : 'backward',
    view: view === 'table' || view === 'inspect' ? view : 'graph',
  };
}

/** Level colours as Grafana draws them. */
export const LEVEL_COLORS: Record<string, string> = {
  critical: '#705da0', fatal: '#705da0', error: '#e24d42', warn: '#eab839', warning: '#eab839', info: '#7eb26d', debug: '#1f78c1', trace: '#6ed0e0', unknown: '#8e939c',
};

type Outcome = { state: 'idle' } | { state: 'running' } | { state: 'done'; result: LogsResult } | { state: 'error'; message: string };

/**
 * Explore for a Loki data source: the LogQL editor with a label browser, limit and order, the log volume by
 * level over the range, and the lines (level colour, expandable labels, structured metadata and parsed fields,
 * the context around a line); a metric query is drawn as a graph instead; "Live" tails the query over Loki's
 * WebSocket (`live=1` in the URL).
 */
export default function LogsPane(props: PaneProps): React.JSX.Element {
  const { params } = props;
  const query = readLogsQuery(params);
  const uid = props.datasource.uid;
  const live = params.get('live') === '1';
  const [runCount, setRunCount] = useState(0);
  const [browsing, setBrowsing] = useState(false);
  const fetchLabels = useCallback((name?: string) => lokiLabels(uid, props.org, name), [uid, props.org]);
  const onQueryChange = (change: Partial<LogsQueryState>): void => {
    if (Object.keys(change).length === 0 || change.expr === query.expr) setRunCount((n) => n + 1);
    params.update({
      ...('expr' in change ? { expr: change.expr } : {}),
      ...('view' in change ? { view: change.view === 'graph' ? undefined : change.view } : {}),
      ...('limit' in change ? { limit: change.limit === 100 ? undefined : String(change.limit) } : {}),
      ...('direction' in change ? { direction: change.direction === 'backward' ? undefined : change.direction } : {}),
    });
  };
  const [draft, setDraft] = useState(query.expr);
  const [outcome, setOutcome] = useState<Outcome>({ state: 'idle' });
  const [volume, setVolume] = useState<GraphSeries[] | undefined>();
  const [volumeTimes, setVolumeTimes] = useState<number[]>([]);
  useEffect(() => setDraft(query.expr), [query.expr]);

  useEffect(() => {
    setVolume(undefined);
    if (query.expr.trim() === '' || live) {
      setOutcome({ state: 'idle' });
      return undefined;
    }
    const range = resolveRange(props.range, Date.now());
    if ('error' in range) {
      setOutcome({ state: 'error', message: range.error });
      return undefined;
    }
    const abort = new AbortController();
    const stepS = autoStepS(range.fromMs, range.toMs, window.innerWidth / 4);
    setOutcome({ state: 'running' });
    const base = { startMs: range.fromMs, endMs: range.toMs, limit: query.limit, direction: query.direction };
    lokiQueryRange(uid, props.org, query.expr, { ...base, stepS }, abort.signal).then(
      (result) => {
        setOutcome({ state: 'done', result });
        if (result.kind !== 'logs') return;
        // The volume histogram counts every matching line by level, not only the `limit` shown.
        const volumeExpr = `sum by (detected_level) (count_over_time(${query.expr} [${stepS}s]))`;
        lokiQueryRange(uid, props.org, volumeExpr, { ...base, stepS }, abort.signal).then(
          (v) => {
            if (v.kind !== 'metric') return;
            const frame = toGraphFrame(v.data);
            setVolumeTimes(frame.timesS);
            setVolume(frame.series.map((s) => {
              const level = /detected_level="([^"]*)"/.exec(s.name)?.[1] ?? 'unknown';
              return { ...s, name: level, color: LEVEL_COLORS[level] ?? LEVEL_COLORS.unknown };
            }));
          },
          () => setVolume([]), // the lines are the answer; a volume that fails is only not drawn
        );
      },
      (err: unknown) => {
        if (!abort.signal.aborted) setOutcome({ state: 'error', message: (err as Error).message });
      },
    );
    return () => abort.abort();
  }, [uid, props.org, props.range, query.expr, query.limit, query.direction, props.runCount, runCount, live]);

  const frame = useMemo(() => (outcome.state === 'done' && outcome.result.kind === 'metric' ? toGraphFrame(outcome.result.data) : undefined), [outcome]);
  const run = (expr: string): void => onQueryChange({ expr });
  const result = outcome.state === 'done' ? outcome.result : undefined;

  return (
    <div className="pane">
      <div className="query-row">
        <Suspense fallback={<div className="query-editor loading">Loading editor…</div>}>
          <LogqlEditor value={draft} onChange={setDraft} onRun={run} datasourceUid={uid} org={props.org} />
        </Suspense>
        <button type="button" className="btn primary" data-testid="run-query" onClick={() => (draft === query.expr ? onQueryChange({}) : run(draft))}>
          Run query
        </button>
      </div>
      {browsing && (
        <LabelBrowser
          fetchLabels={fetchLabels}
          metricName={false}
          onUse={(selector) => {
            setBrowsing(false);
            run(selector);
          }}
        />
      )}
      <div className="options-row">
        <button type="button" className={browsing ? 'btn active' : 'btn'} data-testid="open-browser" onClick={() => setBrowsing(!browsing)}>
          Label browser
        </button>
        <button type="button" className={live ? 'btn active' : 'btn'} data-testid="live-toggle" aria-pressed={live} onClick={() => params.update({ live: live ? undefined : '1' })}>
          {live ? '■ Stop live' : '▶ Live'}
        </button>
        <label className="inline">
          Limit
          <input type="text" size={5} defaultValue={String(query.limit)} aria-label="Line limit" onBlur={(e) => onQueryChange({ limit: Number(e.target.value) || 100 })} />
        </label>
        <div className="segmented" role="group" aria-label="Order">
          {(['backward', 'forward'] as const).map((d) => (
            <button key={d} type="button" className={query.direction === d ? 'active' : ''} onClick={() => onQueryChange({ direction: d })}>
              {d === 'backward' ? 'Newest first' : 'Oldest first'}
            </button>
          ))}
        </div>
        <div className="segmented" role="tablist" aria-label="View">
          {(['graph', 'table', 'inspect'] as const).map((v) => (
            <button key={v} type="button" role="tab" aria-selected={query.view === v} className={query.view === v ? 'active' : ''} onClick={() => onQueryChange({ view: v })}>
              {v === 'graph' ? (result?.kind === 'metric' ? 'Graph' : 'Logs') : v === 'table' ? 'Table' : 'Query inspector'}
            </button>
          ))}
        </div>
        <span className="status" data-testid="query-status" data-state={outcome.state} data-org={props.org}>
          {outcome.state === 'running' ? 'Running…' : result ? `${result.kind === 'logs' ? `${result.lines.length} lines` : `${countResult(result.data).series} series`}, ${result.record.durationMs} ms` : ''}
        </span>
      </div>
      {live && query.expr.trim() !== '' && <LiveTail datasourceUid={uid} org={props.org} expr={query.expr} />}
      {!live && outcome.state === 'error' && (
        <div className="error-box" role="alert" data-testid="query-error">
          {outcome.message}
        </div>
      )}
      {!live && result && query.view === 'inspect' && (
        <QueryInspector
          inspection={{
            record: result.record,
            ...(result.kind === 'logs' ? { series: new Set(result.lines.map((l) => JSON.stringify(l.stream))).size, samples: result.lines.length } : countResult(result.data)),
            warnings: [],
            raw: result.kind === 'logs' ? result.lines : result.data,
          }}
        />
      )}
      {result?.kind === 'metric' && query.view === 'table' && <ResultTable data={result.data} />}
      {result?.kind === 'metric' && query.view === 'graph' && frame && (frame.series.length === 0 ? <div className="empty">No data</div> : <TimeSeriesGraph timesS={frame.timesS} series={frame.series} onZoom={(f, t) => props.onZoom({ from: String(f), to: String(t) })} />)}
      {!live && result?.kind === 'logs' && query.view !== 'inspect' && (
        <>
          {volume && volume.length > 0 && (
            <div className="volume" data-testid="log-volume">
              <TimeSeriesGraph timesS={volumeTimes} series={volume} height={140} bars onZoom={(f, t) => props.onZoom({ from: String(f), to: String(t) })} />
            </div>
          )}
          <LogLines lines={result.lines} datasourceUid={uid} org={props.org} correlations={props.datasource.correlations} />
        </>
      )}
    </div>
  );
}

/**
 * The lines, each with its level's colour; a click shows its labels, structured metadata and parsed fields,
 * and a "Show context" button (given a data source) for the lines of its stream around it.
 */
export function LogLines(props: { lines: readonly LogLine[]; datasourceUid?: string; org?: string; correlations?: DatasourceCorrelations; highlight?: LogLine }): React.JSX.Element {
  const [open, setOpen] = useState<ReadonlySet<number>>(new Set());
  if (props.lines.length === 0) return <div className="empty">No log lines in this range</div>;
  const toggle = (i: number): void => setOpen(toggled(open, i));
  return (
    <div className="log-lines" data-testid="log-lines">
      {props.lines.map((l, i) => {
        const level = lineLevel(l);
        return (
          <div key={`${l.timestampNs}-${i}`} className={l === props.highlight ? 'log-row highlight' : 'log-row'} data-level={level}>
            <button type="button" className="log-line" onClick={() => toggle(i)} style={{ borderLeftColor: LEVEL_COLORS[level] ?? LEVEL_COLORS.unknown }}>
              <span className="log-time">{formatLocal(Number(l.timestampNs.slice(0, -6)))}</span>
              <span className={`log-level level-${level}`}>{level}</span>
              <span className="log-text">{l.line}</span>
            </button>
            {open.has(i) && (
              <div className="log-details" data-testid="log-details">
                {props.org !== undefined && props.correlations && <LogTraceLink line={l} org={props.org} correlations={props.correlations} />}
                <FieldTable title="Labels" fields={l.stream} />
                <FieldTable title="Structured metadata" fields={l.structuredMetadata} />
                <FieldTable title="Parsed fields" fields={l.parsed} />
                {props.datasourceUid !== undefined && props.org !== undefined && <LogContext datasourceUid={props.datasourceUid} org={props.org} line={l} />}
              </div>
            )}
          </div>
        );
      })}
    </div>
  );
}

/** A titled two-column table of fields (labels, metadata, attributes), sorted by name; nothing when empty. */
export function FieldTable(props: { title: string; fields: Readonly<Record<string, string>> }): React.JSX.Element | null {
  const entries = Object.entries(props.fields).sort(([a], [b]) => (a < b ? -1 : 1));
  if (entries.length === 0) return null;
  return (
    <table className="fields" data-kind={props.title}>
      <caption>{props.title}</caption>
      <tbody>
        {entries.map(([k, v]) => (
          <tr key={k}>
            <th>{k}</th>
            <td>{v}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

