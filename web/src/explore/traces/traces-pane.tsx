import { Suspense, lazy, useCallback, useEffect, useMemo, useState } from 'react';
import { fetchTrace, formatDurationNs, normalizeTraceId, searchTraces, traceMetricsRange, traceTagNames, traceTagValues } from '../../datasource/tempo.ts';
import type { SearchResult, TraceSearchHit, TraceSpan } from '../../datasource/tempo.ts';
import { autoStepS, formatLocal, resolveRange } from '../../time/time-range.ts';
import type { RawTimeRange } from '../../time/time-range.ts';
import { QueryInspector } from '../query-inspector.tsx';
import { toGraphFrame } from '../result-frames.ts';
import { TimeSeriesGraph } from '../time-series-graph.tsx';
import type { GraphMarker, GraphSeries } from '../time-series-graph.tsx';
import { isTraceqlMetricsQuery, traceMetricsFrame } from './trace-metrics.ts';
import { RedPanels } from './red-panels.tsx';
import { ServiceGraph } from './service-graph.tsx';
import { TraceSearchForm } from './trace-search-form.tsx';
import type { TagSource } from './traceql-completion.ts';
import { TraceView } from './trace-view.tsx';
import type { CorrelationTargets } from '../correlations.ts';
import { toggled } from '../toggle-set.ts';

const TraceqlEditor = lazy(() => import('./traceql-editor.tsx'));

/** The traces query of an Explore pane, as its URL parameters hold it. */
export interface TracesQueryState {
  readonly expr: string;
  readonly limit: number;
  /** The trace open in the trace view, if any. */
  readonly traceId: string;
  readonly view: 'table' | 'inspect' | 'servicegraph';
  /** The service of the RED panels beside the service graph (empty: the first one). */
  readonly redService: string;
}

type Outcome<T> = { state: 'idle' } | { state: 'running' } | { state: 'done'; result: T } | { state: 'error'; message: string };

/**
 * Explore for a Tempo data source: the TraceQL editor and the search form, the matching traces in a table (each
 * expandable to its matched spans), and the trace view of the trace picked (or linked, `trace=` in the URL).
 */
export default function TracesPane(props: {
  datasourceUid: string;
  org: string;
  range: RawTimeRange;
  query: TracesQueryState;
  runCount: number;
  targets: CorrelationTargets;
  onQueryChange: (change: Partial<TracesQueryState>) => void;
  /** A drag across the TraceQL metrics graph: the page sets the (shared) time range. */
  onZoom: (range: RawTimeRange) => void;
}): React.JSX.Element {
  const { query, datasourceUid, org } = props;
  const [draft, setDraft] = useState(query.expr);
  const [search, setSearch] = useState<Outcome<SearchResult>>({ state: 'idle' });
  const [trace, setTrace] = useState<Outcome<TraceSpan[]>>({ state: 'idle' });
  const [metrics, setMetrics] = useState<Outcome<{ timesS: number[]; series: GraphSeries[]; markers: GraphMarker[]; durationMs: number }>>({ state: 'idle' });
  const isMetrics = isTraceqlMetricsQuery(query.expr);
  useEffect(() => setDraft(query.expr), [query.expr]);

  const rangeMs = useMemo(() => {
    const r = resolveRange(props.range, Date.now());
    return 'error' in r ? undefined : { startMs: r.fromMs, endMs: r.toMs };
    // runCount re-resolves a relative range ("now") on every run.
  }, [props.range, props.runCount]);
  // The metrics graph's x axis (one array per range, so the graph is not redrawn on every render).
  const graphRangeS = useMemo(() => (rangeMs ? ([rangeMs.startMs / 1000, rangeMs.endMs / 1000] as const) : undefined), [rangeMs]);

  // One cache per data source and org: completions and the form's choices ask each tag once.
  const tags = useMemo<TagSource>(() => {
    let names: Promise<Record<string, string[]>> | undefined;
    const values = new Map<string, Promise<{ type: string; value: string }[]>>();
    return {
      tagNames: () => (names ??= traceTagNames(datasourceUid, org, undefined)),
      tagValues: (tag) => {
        let v = values.get(tag);
        if (!v) {
          v = traceTagValues(datasourceUid, org, tag, undefined);
          values.set(tag, v);
        }
        return v;
      },
    };
  }, [datasourceUid, org]);
  const loadValues = useCallback(async (tag: string) => (await tags.tagValues(tag)).map((v) => v.value).sort(), [tags]);

  // A TraceQL metrics query is drawn as a graph, its exemplars as points that open their trace.
  useEffect(() => {
    if (!isMetrics || !rangeMs) {
      setMetrics({ state: 'idle' });
      return undefined;
    }
    const abort = new AbortController();
    setMetrics({ state: 'running' });
    const stepS = autoStepS(rangeMs.startMs, rangeMs.endMs, window.innerWidth - 48);
    traceMetricsRange(datasourceUid, org, query.expr, { ...rangeMs, stepS }, abort.signal).then(
      ({ series, record }) => {
        const { data, markers } = traceMetricsFrame(series);
        setMetrics({ state: 'done', result: { ...toGraphFrame(data), markers, durationMs: record.durationMs } });
      },
      (err: unknown) => {
        if (!abort.signal.aborted) setMetrics({ state: 'error', message: (err as Error).message });
      },
    );
    return () => abort.abort();
  }, [datasourceUid, org, rangeMs, query.expr, isMetrics]);

  useEffect(() => {
    if (query.expr.trim() === '' || isMetrics) {
      setSearch({ state: 'idle' });
      return undefined;
    }
    if (!rangeMs) {
      setSearch({ state: 'error', message: 'invalid time range' });
      return undefined;
    }
    const abort = new AbortController();
    setSearch({ state: 'running' });
    searchTraces(datasourceUid, org, query.expr, { ...rangeMs, limit: query.limit }, abort.signal).then(
      (result) => setSearch({ state: 'done', result }),
      (err: unknown) => {
        if (!abort.signal.aborted) setSearch({ state: 'error', message: (err as Error).message });
      },
    );
    return () => abort.abort();
  }, [datasourceUid, org, rangeMs, query.expr, query.limit]);

  useEffect(() => {
    if (!query.traceId) {
      setTrace({ state: 'idle' });
      return undefined;
    }
    const abort = new AbortController();
    setTrace({ state: 'running' });
    fetchTrace(datasourceUid, org, query.traceId, abort.signal).then(
      ({ spans }) => setTrace(spans.length === 0 ? { state: 'error', message: `trace ${query.traceId} not found` } : { state: 'done', result: spans }),
      (err: unknown) => {
        if (!abort.signal.aborted) setTrace({ state: 'error', message: (err as Error).message });
      },
    );
    return () => abort.abort();
  }, [datasourceUid, org, query.traceId, props.runCount]);

  const run = (expr: string): void => props.onQueryChange({ expr });
  const result = search.state === 'done' ? search.result : undefined;

  return (
    <div className="pane traces-pane">
      <div className="query-row">
        <Suspense fallback={<div className="query-editor loading">Loading editor…</div>}>
          <TraceqlEditor value={draft} onChange={setDraft} onRun={run} tags={tags} />
        </Suspense>
        <button type="button" className="btn primary" data-testid="run-query" onClick={() => (draft === query.expr ? props.onQueryChange({}) : run(draft))}>
          Run query
        </button>
      </div>
      <TraceSearchForm loadValues={loadValues} onSearch={run} />
      <div className="options-row">
        <label className="inline">
          Limit
          <input type="text" size={4} defaultValue={String(query.limit)} aria-label="Trace limit" onBlur={(e) => props.onQueryChange({ limit: Number(e.target.value) || 20 })} />
        </label>
        <div className="segmented" role="tablist" aria-label="View">
          {(['table', 'servicegraph', 'inspect'] as const).map((v) => (
            <button key={v} type="button" role="tab" aria-selected={query.view === v} className={query.view === v ? 'active' : ''} onClick={() => props.onQueryChange({ view: v })}>
              {v === 'table' ? 'Traces' : v === 'servicegraph' ? 'Service graph' : 'Query inspector'}
            </button>
          ))}
        </div>
        <span className="status" data-testid="query-status" data-state={isMetrics ? metrics.state : search.state} data-org={org}>
          {search.state === 'running' || metrics.state === 'running'
            ? 'Searching…'
            : result
              ? `${result.traces.length} traces, ${result.record.durationMs} ms`
              : metrics.state === 'done'
                ? `${metrics.result.series.length} series, ${metrics.result.durationMs} ms`
                : ''}
        </span>
      </div>
      {(search.state === 'error' || metrics.state === 'error') && (
        <div className="error-box" role="alert" data-testid="query-error">
          {search.state === 'error' ? search.message : metrics.state === 'error' ? metrics.message : ''}
        </div>
      )}
      {metrics.state === 'done' &&
        query.view !== 'servicegraph' &&
        (metrics.result.series.length === 0 ? (
          <div className="empty">No data</div>
        ) : (
          <TimeSeriesGraph
            timesS={metrics.result.timesS}
            series={metrics.result.series}
            markers={metrics.result.markers}
            {...(graphRangeS ? { xRange: graphRangeS } : {})}
            onZoom={(fromMs, toMs) => props.onZoom({ from: String(fromMs), to: String(toMs) })}
            onMarkerClick={(m) => {
              if (m.traceId) props.onQueryChange({ traceId: m.traceId });
            }}
          />
        ))}
      {query.traceId && (
        <section className="trace-section">
          {trace.state === 'running' && <div className="loading-page">Loading trace {query.traceId}…</div>}
          {trace.state === 'error' && (
            <div className="error-box" role="alert" data-testid="trace-error">
              {trace.message}
            </div>
          )}
          {trace.state === 'done' && <TraceView traceId={query.traceId} spans={trace.result} targets={props.targets} onClose={() => props.onQueryChange({ traceId: '' })} />}
        </section>
      )}
      {result && query.view === 'inspect' && <QueryInspector inspection={{ record: result.record, series: result.traces.length, samples: result.traces.reduce((n, t) => n + matchedOf(t), 0), warnings: [], raw: result.traces }} />}
      {query.view === 'servicegraph' && (
        <>
          <ServiceGraph metricsUid={props.targets.metricsUid} org={org} range={rangeMs} onService={(service) => props.onQueryChange({ expr: `{ resource.service.name = ${JSON.stringify(service)} }`, view: 'table' })} />
          <RedPanels metricsUid={props.targets.metricsUid} org={org} range={rangeMs} service={query.redService} onService={(redService) => props.onQueryChange({ redService })} />
        </>
      )}
      {result && query.view === 'table' && <TraceTable traces={result.traces} openId={query.traceId} onOpen={(id) => props.onQueryChange({ traceId: id })} />}
    </div>
  );
}

function matchedOf(t: TraceSearchHit): number {
  return (t.spanSets ?? (t.spanSet ? [t.spanSet] : [])).reduce((n, s) => n + (s.matched ?? 0), 0);
}

/** The search hits: a row per trace; the matched spans of its span sets unfold under it. */
function TraceTable(props: { traces: readonly TraceSearchHit[]; openId: string; onOpen: (traceId: string) => void }): React.JSX.Element {
  const [expanded, setExpanded] = useState<ReadonlySet<string>>(new Set());
  if (props.traces.length === 0) return <div className="empty">No traces match in this range</div>;
  const toggle = (id: string): void => setExpanded(toggled(expanded, id));
  return (
    <table className="result-table trace-table" data-testid="trace-results">
      <thead>
        <tr>
          <th />
          <th>Trace ID</th>
          <th>Root service</th>
          <th>Root span</th>
          <th>Start</th>
          <th>Duration</th>
          <th>Matched spans</th>
        </tr>
      </thead>
      <tbody>
        {props.traces.flatMap((t) => {
          const id = normalizeTraceId(t.traceID);
          const spans = (t.spanSets ?? (t.spanSet ? [t.spanSet] : [])).flatMap((s) => s.spans ?? []);
          const rows = [
            <tr key={id} data-trace-id={id} className={props.openId === id ? 'selected' : ''}>
              <td>
                {spans.length > 0 && (
                  <button type="button" className="tree-toggle" onClick={() => toggle(id)} aria-label={expanded.has(id) ? 'Hide matched spans' : 'Show matched spans'}>
                    {expanded.has(id) ? '▾' : '▸'}
                  </button>
                )}
              </td>
              <td>
                <button type="button" className="link-button" data-testid="trace-link" onClick={() => props.onOpen(id)}>
                  {id}
                </button>
              </td>
              <td data-column="service">{t.rootServiceName ?? ''}</td>
              <td data-column="name">{t.rootTraceName ?? ''}</td>
              <td>{formatLocal(Number(BigInt(t.startTimeUnixNano) / 1_000_000n))}</td>
              <td>{t.durationMs === undefined ? '' : formatDurationNs(t.durationMs * 1_000_000)}</td>
              <td data-column="matched">{matchedOf(t)}</td>
            </tr>,
          ];
          if (expanded.has(id)) {
            for (const s of spans) {
              rows.push(
                <tr key={`${id}-${s.spanID}`} className="matched-span">
                  <td />
                  <td className="muted">{s.spanID}</td>
                  <td colSpan={2}>
                    {s.name ?? ''}
                    {(s.attributes ?? []).length > 0 && <span className="muted"> {(s.attributes ?? []).map((a) => `${a.key}=${Object.values(a.value ?? {})[0] as string}`).join(' ')}</span>}
                  </td>
                  <td>{formatLocal(Number(BigInt(s.startTimeUnixNano) / 1_000_000n))}</td>
                  <td>{formatDurationNs(Number(s.durationNanos))}</td>
                  <td />
                </tr>,
              );
            }
          }
          return rows;
        })}
      </tbody>
    </table>
  );
}
