import { Suspense, lazy, useCallback, useEffect, useMemo, useState } from 'react';
import { countResult, promLabels, queryExemplars, queryInstant, queryRange } from '../datasource/prometheus.ts';
import type { ExemplarPoint, QueryData, QueryResult } from '../datasource/prometheus.ts';
import { DatasourceError } from '../datasource/proxy-fetch.ts';
import { navigate } from '../shell/router.ts';
import { autoStepS, parseDurationS, resolveRange } from '../time/time-range.ts';
import { serviceProfileLink, servicesOfSeries, traceIdOfFields, traceLink } from './correlations.ts';
import { ExploreAnchor, useExploreHref } from './explore-link.tsx';
import { LabelBrowser } from './label-browser.tsx';
import type { PaneProps } from './pane-kinds.ts';
import { QueryInspector } from './query-inspector.tsx';
import type { Inspection } from './query-inspector.tsx';
import { exprKey, nextRefId, queriesParam, readQueries } from './query-refs.ts';
import { toGraphFrame } from './result-frames.ts';
import { ResultTable } from './result-table.tsx';
import { TimeSeriesGraph } from './time-series-graph.tsx';
import type { GraphMarker } from './time-series-graph.tsx';

const PromqlEditor = lazy(() => import('./promql-editor.tsx'));

type View = 'graph' | 'table' | 'inspect';
type Outcome =
  | { state: 'idle' }
  | { state: 'running' }
  | { state: 'done'; results: QueryResult[]; data: QueryData; stepS?: number; exemplars: ExemplarPoint[]; rangeS: readonly [number, number] }
  | { state: 'error'; message: string; inspection?: Inspection };

/** The answers of several queries as one: matrices (or vectors) side by side, as one graph or table shows them. */
function mergeData(results: readonly QueryResult[]): QueryData {
  const first = results[0]!.data;
  if (results.length === 1 || (first.resultType !== 'matrix' && first.resultType !== 'vector')) return first;
  if (first.resultType === 'matrix') return { resultType: 'matrix', result: results.flatMap((r) => (r.data.resultType === 'matrix' ? r.data.result : [])) };
  return { resultType: 'vector', result: results.flatMap((r) => (r.data.resultType === 'vector' ? r.data.result : [])) };
}

/**
 * Explore for a Prometheus data source: one or more PromQL queries (A, B, …), range or instant, step, stacked
 * or not, exemplars, and the answers as one graph, a table or in the inspector; a metric browser builds a
 * selector. Runs whenever the committed queries, the range, the org or `runCount` change. Its state lives in
 * the pane's URL parameters: `queries`, `expr`/`expr.B`…, `mode`, `step`, `view`, `stack`, `exemplars`.
 */
export default function MetricsPane(props: PaneProps): React.JSX.Element {
  const { params } = props;
  const uid = props.datasource.uid;
  const queries = readQueries(params);
  const mode = params.get('mode') === 'instant' ? 'instant' : 'range';
  const step = params.get('step') ?? '';
  const stacked = params.get('stack') === '1';
  const showExemplars = params.get('exemplars') === '1';
  const rawView = params.get('view');
  const chosenView: View = rawView === 'table' || rawView === 'inspect' ? rawView : 'graph';
  const view: View = mode === 'instant' && chosenView === 'graph' ? 'table' : chosenView;
  const committed = queries.map((q) => `${q.refId}\u0000${q.expr}`).join('\u0001');

  const [drafts, setDrafts] = useState<Record<string, string>>({});
  const [outcome, setOutcome] = useState<Outcome>({ state: 'idle' });
  const [runCount, setRunCount] = useState(0);
  const [browsing, setBrowsing] = useState(false);
  useEffect(() => setDrafts(Object.fromEntries(queries.map((q) => [q.refId, q.expr]))), [committed]);

  useEffect(() => {
    const active = queries.filter((q) => q.expr.trim() !== '');
    if (active.length === 0) {
      setOutcome({ state: 'idle' });
      return undefined;
    }
    const range = resolveRange(props.range, Date.now());
    if ('error' in range) {
      setOutcome({ state: 'error', message: range.error });
      return undefined;
    }
    let stepS: number | undefined;
    if (mode === 'range') {
      stepS = step ? parseDurationS(step) : autoStepS(range.fromMs, range.toMs, window.innerWidth - 48);
      if (stepS === undefined || stepS <= 0) {
        setOutcome({ state: 'error', message: `invalid step "${step}": use e.g. 15s, 1m or a number of seconds` });
        return undefined;
      }
    }
    const abort = new AbortController();
    setOutcome({ state: 'running' });
    const [startS, endS] = [range.fromMs / 1000, range.toMs / 1000];
    const runs = active.map((q) =>
      mode === 'range' ? queryRange(uid, props.org, q.expr, startS, endS, stepS!, abort.signal) : queryInstant(uid, props.org, q.expr, endS, abort.signal),
    );
    // Exemplars are an extra: a source without them (or an error) leaves the lines drawn without points.
    const exemplars = showExemplars && mode === 'range'
      ? Promise.all(active.map((q) => queryExemplars(uid, props.org, q.expr, startS, endS, abort.signal).catch(() => []))).then((e) => e.flat())
      : Promise.resolve([]);
    Promise.all([Promise.all(runs), exemplars]).then(
      ([results, ex]) => setOutcome({ state: 'done', results, data: mergeData(results), exemplars: ex, rangeS: [startS, endS], ...(stepS !== undefined ? { stepS } : {}) }),
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
  }, [uid, props.org, props.range, committed, mode, step, showExemplars, props.runCount, runCount]);

  const frame = useMemo(() => (outcome.state === 'done' ? toGraphFrame(outcome.data) : undefined), [outcome]);
  const correlations = props.datasource.correlations;
  const markers = useMemo<GraphMarker[]>(
    () =>
      outcome.state === 'done'
        ? outcome.exemplars.map((e) => {
          const traceId = traceIdOfFields([e.labels], [correlations.exemplar_trace_id_label]);
          return { timeS: e.timeS, value: e.value, title: Object.entries(e.labels).map(([k, v]) => `${k}=${v}`).join(' '), ...(traceId ? { traceId } : {}) };
        })
        : [],
    [outcome, correlations],
  );
  const exploreHref = useExploreHref();
  const tracesUid = correlations.traces_uid;
  const profilesUid = correlations.profiles_uid;
  // An exemplar's trace, the graph's range around it (the split view keeps the page's range instead).
  const exemplarTrace = (m: GraphMarker): ReturnType<typeof traceLink> =>
    traceLink(props.org, m.traceId!, { from: String(Math.round(m.timeS * 1000) - 3_600_000), to: String(Math.round(m.timeS * 1000) + 3_600_000) }, tracesUid);
  const services = useMemo(
    () => (outcome.state === 'done' && outcome.data.resultType === 'matrix' ? servicesOfSeries(outcome.data.result.map((r) => r.metric), correlations.service_labels) : []),
    [outcome, correlations],
  );
  const inspection: Inspection | undefined =
    outcome.state === 'done'
      ? {
        record: outcome.results[0]!.record,
        ...countResult(outcome.data),
        warnings: outcome.results.flatMap((r) => r.warnings),
        raw: outcome.results.length === 1 ? outcome.data : outcome.results.map((r) => r.data),
      }
      : outcome.state === 'error'
        ? outcome.inspection
        : undefined;
  const fetchLabels = useCallback((name?: string) => promLabels(uid, props.org, name), [uid, props.org]);

  /** Commits every draft (the URL changes and the queries run); the same queries again run again. */
  const runAll = (next: Record<string, string> = drafts): void => {
    const changes: Record<string, string | undefined> = {};
    for (const q of queries) if ((next[q.refId] ?? '') !== q.expr) changes[exprKey(q.refId)] = next[q.refId] ?? '';
    if (Object.keys(changes).length === 0) setRunCount((n) => n + 1);
    else params.update(changes);
  };
  const setDraft = (refId: string, expr: string): void => setDrafts((d) => ({ ...d, [refId]: expr }));
  const addQuery = (): void => {
    const id = nextRefId(queries.map((q) => q.refId));
    if (id) params.update({ queries: queriesParam([...queries.map((q) => q.refId), id]) });
  };
  const removeQuery = (refId: string): void => params.update({ queries: queriesParam(queries.filter((q) => q.refId !== refId).map((q) => q.refId)), [exprKey(refId)]: undefined });

  return (
    <div className="pane">
      {queries.map((q) => (
        <div className="query-row" key={q.refId} data-testid="query-row" data-ref-id={q.refId}>
          <span className="ref-id">{q.refId}</span>
          <Suspense fallback={<div className="query-editor loading">Loading editor…</div>}>
            <PromqlEditor value={drafts[q.refId] ?? q.expr} onChange={(v) => setDraft(q.refId, v)} onRun={(v) => runAll({ ...drafts, [q.refId]: v })} datasourceUid={uid} org={props.org} />
          </Suspense>
          {queries.length > 1 && (
            <button type="button" className="btn" title={`Remove query ${q.refId}`} aria-label={`Remove query ${q.refId}`} onClick={() => removeQuery(q.refId)}>
              ✕
            </button>
          )}
        </div>
      ))}
      <div className="options-row">
        <button type="button" className="btn primary" data-testid="run-query" onClick={() => runAll()}>
          Run query
        </button>
        <button type="button" className="btn" data-testid="add-query" onClick={addQuery}>
          + Query
        </button>
        <button type="button" className={browsing ? 'btn active' : 'btn'} data-testid="open-browser" onClick={() => setBrowsing(!browsing)}>
          Metric browser
        </button>
        <div className="segmented" role="group" aria-label="Query type">
          {(['range', 'instant'] as const).map((m) => (
            <button key={m} type="button" className={mode === m ? 'active' : ''} onClick={() => params.update({ mode: m === 'range' ? undefined : m })}>
              {m === 'range' ? 'Range' : 'Instant'}
            </button>
          ))}
        </div>
        {mode === 'range' && (
          <label className="inline">
            Step
            <input
              type="text"
              size={6}
              placeholder={outcome.state === 'done' && outcome.stepS !== undefined ? `auto (${outcome.stepS}s)` : 'auto'}
              defaultValue={step}
              aria-label="Step"
              onBlur={(e) => params.update({ step: e.target.value.trim() })}
              onKeyDown={(e) => {
                if (e.key === 'Enter') params.update({ step: (e.target as HTMLInputElement).value.trim() });
              }}
            />
          </label>
        )}
        {mode === 'range' && (
          <>
            <label className="inline">
              <input type="checkbox" checked={stacked} onChange={(e) => params.update({ stack: e.target.checked ? '1' : undefined })} aria-label="Stacked" />
              Stacked
            </label>
            <label className="inline">
              <input type="checkbox" checked={showExemplars} onChange={(e) => params.update({ exemplars: e.target.checked ? '1' : undefined })} aria-label="Exemplars" />
              Exemplars
            </label>
          </>
        )}
        <div className="segmented" role="tablist" aria-label="View">
          {(['graph', 'table', 'inspect'] as const).map((v) => (
            <button key={v} type="button" role="tab" aria-selected={view === v} className={view === v ? 'active' : ''} disabled={v === 'graph' && mode === 'instant'} onClick={() => params.update({ view: v === 'graph' ? undefined : v })}>
              {v === 'graph' ? 'Graph' : v === 'table' ? 'Table' : 'Query inspector'}
            </button>
          ))}
        </div>
        <span className="status" data-testid="query-status" data-state={outcome.state} data-org={props.org}>
          {outcome.state === 'running' ? 'Running…' : outcome.state === 'done' ? `${countResult(outcome.data).series} series, ${Math.max(...outcome.results.map((r) => r.record.durationMs))} ms` : ''}
        </span>
      </div>
      {browsing && (
        <LabelBrowser
          fetchLabels={fetchLabels}
          metricName
          onUse={(selector) => {
            const last = queries[queries.length - 1]!;
            setBrowsing(false);
            runAll({ ...drafts, [last.refId]: selector });
          }}
        />
      )}
      {outcome.state === 'error' && (
        <div className="error-box" role="alert" data-testid="query-error">
          {outcome.message}
        </div>
      )}
      {outcome.state === 'done' && inspection && inspection.warnings.length > 0 && <div className="warning-box">{inspection.warnings.join('; ')}</div>}
      {view === 'inspect' && inspection && <QueryInspector inspection={inspection} />}
      {outcome.state === 'done' && view === 'table' && <ResultTable data={outcome.data} />}
      {outcome.state === 'done' && view === 'graph' && frame && (frame.series.length === 0 ? <div className="empty">No data</div> : (
        <>
          <TimeSeriesGraph
            timesS={frame.timesS}
            series={frame.series}
            stacked={stacked}
            markers={markers}
            xRange={outcome.rangeS}
            onMarkerClick={(m) => {
              if (m.traceId) navigate(exploreHref(exemplarTrace(m)));
            }}
            onZoom={(fromMs, toMs) => props.onZoom({ from: String(fromMs), to: String(toMs) })}
          />
          {services.length > 0 && (
            <div className="correlation-row" data-testid="series-profiles">
              Profiles of{' '}
              {services.map((svc) => (
                <ExploreAnchor key={svc} link={serviceProfileLink(props.org, svc, { from: props.range.from, to: props.range.to }, profilesUid)} className="btn correlation-link" testId="series-profile-link">
                  {svc}
                </ExploreAnchor>
              ))}
            </div>
          )}
          {markers.length > 0 && (
            <details className="exemplars" data-testid="exemplars">
              <summary>{markers.length} exemplars</summary>
              <ul>
                {markers.slice(0, 200).map((m, i) => (
                  <li key={i}>
                    {new Date(m.timeS * 1000).toISOString()} {m.value} {m.title}{' '}
                    {m.traceId && (
                      <ExploreAnchor link={exemplarTrace(m)} testId="exemplar-trace-link">
                        Open trace
                      </ExploreAnchor>
                    )}
                  </li>
                ))}
              </ul>
            </details>
          )}
        </>
      ))}
    </div>
  );
}
