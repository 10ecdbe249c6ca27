import { Suspense, lazy, useEffect, useMemo, useState } from 'react';
import { countResult, queryInstant, queryRange } from '../datasource/prometheus.ts';
import type { QueryResult } from '../datasource/prometheus.ts';
import { DatasourceError } from '../datasource/proxy-fetch.ts';
import { autoStepS, parseDurationS, resolveRange } from '../time/time-range.ts';
import type { RawTimeRange } from '../time/time-range.ts';
import { QueryInspector } from './query-inspector.tsx';
import type { Inspection } from './query-inspector.tsx';
import { toGraphFrame } from './result-frames.ts';
import { ResultTable } from './result-table.tsx';
import { TimeSeriesGraph } from './time-series-graph.tsx';

const PromqlEditor = lazy(() => import('./promql-editor.tsx'));

/** The metrics query of an Explore pane, as its URL parameters hold it. */
export interface MetricsQueryState {
  readonly expr: string;
  readonly mode: 'range' | 'instant';
  /** A duration (`15s`, `1m`) or empty for the automatic step. */
  readonly step: string;
  readonly view: 'graph' | 'table' | 'inspect';
}

type Outcome = { state: 'idle' } | { state: 'running' } | { state: 'done'; result: QueryResult; stepS?: number } | { state: 'error'; message: string; inspection?: Inspection };

/**
 * Explore for a Prometheus data source: the PromQL editor, range or instant, step, and the answer as a graph,
 * a table or in the inspector. Runs whenever the committed query, the range, the org or `runCount` changes.
 */
export function MetricsPane(props: {
  datasourceUid: string;
  org: string;
  range: RawTimeRange;
  query: MetricsQueryState;
  runCount: number;
  onQueryChange: (change: Partial<MetricsQueryState>) => void;
  onZoom: (range: RawTimeRange) => void;
}): React.JSX.Element {
  const { query } = props;
  const [draft, setDraft] = useState(query.expr);
  const [outcome, setOutcome] = useState<Outcome>({ state: 'idle' });
  useEffect(() => setDraft(query.expr), [query.expr]);

  useEffect(() => {
    if (query.expr.trim() === '') {
      setOutcome({ state: 'idle' });
      return undefined;
    }
    const range = resolveRange(props.range, Date.now());
    if ('error' in range) {
      setOutcome({ state: 'error', message: range.error });
      return undefined;
    }
    let stepS: number | undefined;
    if (query.mode === 'range') {
      stepS = query.step ? parseDurationS(query.step) : autoStepS(range.fromMs, range.toMs, window.innerWidth - 48);
      if (stepS === undefined || stepS <= 0) {
        setOutcome({ state: 'error', message: `invalid step "${query.step}": use e.g. 15s, 1m or a number of seconds` });
        return undefined;
      }
    }
    const abort = new AbortController();
    setOutcome({ state: 'running' });
    const run =
      query.mode === 'range'
        ? queryRange(props.datasourceUid, props.org, query.expr, range.fromMs / 1000, range.toMs / 1000, stepS!, abort.signal)
        : queryInstant(props.datasourceUid, props.org, query.expr, range.toMs / 1000, abort.signal);
    run.then(
      (result) => setOutcome({ state: 'done', result, ...(stepS !== undefined ? { stepS } : {}) }),
      (err: unknown) => {
        if (abort.signal.aborted) return;
        setOutcome({
          state: 'error',
          message: (err as Error).message,
          ...(err instanceof DatasourceError ? { inspection: { record: err.record, series: 0, samples: 0, warnings: [] } } : {}),
        });
      },
    );
    return () => abort.abort();
  }, [props.datasourceUid, props.org, props.range, query.expr, query.mode, query.step, props.runCount]);

  const frame = useMemo(() => (outcome.state === 'done' ? toGraphFrame(outcome.result.data) : undefined), [outcome]);
  const inspection: Inspection | undefined =
    outcome.state === 'done'
      ? { record: outcome.result.record, ...countResult(outcome.result.data), warnings: outcome.result.warnings, raw: outcome.result.data }
      : outcome.state === 'error'
        ? outcome.inspection
        : undefined;
  const run = (expr: string): void => props.onQueryChange({ expr });
  const view = query.mode === 'instant' && query.view === 'graph' ? 'table' : query.view;

  return (
    <div className="pane">
      <div className="query-row">
        <Suspense fallback={<div className="query-editor loading">Loading editor…</div>}>
          <PromqlEditor value={draft} onChange={setDraft} onRun={run} datasourceUid={props.datasourceUid} org={props.org} />
        </Suspense>
        <button type="button" className="btn primary" data-testid="run-query" onClick={() => (draft === query.expr ? props.onQueryChange({}) : run(draft))}>
          Run query
        </button>
      </div>
      <div className="options-row">
        <div className="segmented" role="group" aria-label="Query type">
          {(['range', 'instant'] as const).map((m) => (
            <button key={m} type="button" className={query.mode === m ? 'active' : ''} onClick={() => props.onQueryChange({ mode: m })}>
              {m === 'range' ? 'Range' : 'Instant'}
            </button>
          ))}
        </div>
        {query.mode === 'range' && (
          <label className="inline">
            Step
            <input
              type="text"
              size={6}
              placeholder={outcome.state === 'done' && outcome.stepS !== undefined ? `auto (${outcome.stepS}s)` : 'auto'}
              defaultValue={query.step}
              aria-label="Step"
              onBlur={(e) => props.onQueryChange({ step: e.target.value.trim() })}
              onKeyDown={(e) => {
                if (e.key === 'Enter') props.onQueryChange({ step: (e.target as HTMLInputElement).value.trim() });
              }}
            />
          </label>
        )}
        <div className="segmented" role="tablist" aria-label="View">
          {(['graph', 'table', 'inspect'] as const).map((v) => (
            <button key={v} type="button" role="tab" aria-selected={view === v} className={view === v ? 'active' : ''} disabled={v === 'graph' && query.mode === 'instant'} onClick={() => props.onQueryChange({ view: v })}>
              {v === 'graph' ? 'Graph' : v === 'table' ? 'Table' : 'Query inspector'}
            </button>
          ))}
        </div>
        <span className="status" data-testid="query-status" data-state={outcome.state} data-org={props.org}>
          {outcome.state === 'running' ? 'Running…' : outcome.state === 'done' ? `${countResult(outcome.result.data).series} series, ${outcome.result.record.durationMs} ms` : ''}
        </span>
      </div>
      {outcome.state === 'error' && (
        <div className="error-box" role="alert" data-testid="query-error">
          {outcome.message}
        </div>
      )}
      {outcome.state === 'done' && outcome.result.warnings.length > 0 && <div className="warning-box">{outcome.result.warnings.join('; ')}</div>}
      {view === 'inspect' && inspection && <QueryInspector inspection={inspection} />}
      {outcome.state === 'done' && view === 'table' && <ResultTable data={outcome.result.data} />}
      {outcome.state === 'done' && view === 'graph' && frame && (frame.series.length === 0 ? <div className="empty">No data</div> : <TimeSeriesGraph timesS={frame.timesS} series={frame.series} onZoom={(fromMs, toMs) => props.onZoom({ from: String(fromMs), to: String(toMs) })} />)}
    </div>
  );
}
