import { Suspense, lazy, useMemo, useState } from 'react';
import { updateParams, useLocation } from '../shell/router.ts';
import type { DatasourceRef } from '../shell/settings.ts';
import { TimeRangePicker } from '../time/time-range-picker.tsx';
import type { RawTimeRange } from '../time/time-range.ts';
import { LogsPane } from './logs-pane.tsx';
import type { LogsQueryState } from './logs-pane.tsx';
import { MetricsPane } from './metrics-pane.tsx';
import type { MetricsQueryState } from './metrics-pane.tsx';

/** Traces and profiles (Tempo and Pyroscope sources) with their own URL parameters, loaded when first shown. */
const SignalPane = lazy(() => import('./signal-pane.tsx'));

/**
 * Explore: pick a data source, write a query, see the answer. Everything that defines the view (org, data
 * source, query, range, mode, step, view) is in the URL, so a link reproduces it.
 */
export default function ExplorePage(props: { org: string; datasources: readonly DatasourceRef[] }): React.JSX.Element {
  const { params } = useLocation();
  const [runCount, setRunCount] = useState(0);
  // Links between signals may name a type instead of a source (`type=loki`, or `trace=ID`): its first source.
  const wantedType = params.get('type') ?? (params.has('trace') ? 'tempo' : 'prometheus');
  const ds = props.datasources.find((d) => d.uid === params.get('ds')) ?? props.datasources.find((d) => d.type === wantedType) ?? props.datasources[0];
  const from = params.get('from') ?? 'now-1h';
  const to = params.get('to') ?? 'now';
  const range = useMemo<RawTimeRange>(() => ({ from, to }), [from, to]);
  const query: MetricsQueryState = {
    expr: params.get('expr') ?? '',
    mode: params.get('mode') === 'instant' ? 'instant' : 'range',
    step: params.get('step') ?? '',
    view: params.get('view') === 'table' ? 'table' : params.get('view') === 'inspect' ? 'inspect' : 'graph',
  };

  const logsQuery: LogsQueryState = {
    expr: query.expr,
    limit: Math.min(5000, Math.max(1, Number(params.get('limit')) || 100)),
    direction: params.get('direction') === 'forward' ? 'forward' : 'backward',
    view: query.view,
  };

  const onQueryChange = (change: Partial<MetricsQueryState & LogsQueryState>): void => {
    if (Object.keys(change).length === 0 || change.expr === query.expr) setRunCount((n) => n + 1);
    updateParams({
      ...('expr' in change ? { expr: change.expr } : {}),
      ...('mode' in change ? { mode: change.mode === 'range' ? undefined : change.mode } : {}),
      ...('step' in change ? { step: change.step } : {}),
      ...('view' in change ? { view: change.view === 'graph' ? undefined : change.view } : {}),
      ...('limit' in change ? { limit: change.limit === 100 ? undefined : String(change.limit) } : {}),
      ...('direction' in change ? { direction: change.direction === 'backward' ? undefined : change.direction } : {}),
    });
  };
  const setRange = (r: RawTimeRange): void => updateParams({ from: r.from, to: r.to });

  if (!ds) return <div className="page empty">No data sources are configured (ui.datasources).</div>;
  return (
    <div className="page explore">
      <div className="toolbar">
        <h1>Explore</h1>
        <label className="inline">
          Data source
          <select value={ds.uid} onChange={(e) => updateParams({ ds: e.target.value, expr: undefined })} data-testid="datasource-picker" aria-label="Data source">
            {props.datasources.map((d) => (
              <option key={d.uid} value={d.uid}>
                {d.name} ({d.type})
              </option>
            ))}
          </select>
        </label>
        <div className="spacer" />
        <TimeRangePicker value={range} onChange={setRange} />
        <button type="button" className="btn" onClick={() => setRunCount((n) => n + 1)} title="Run again">
          ↻
        </button>
      </div>
      {ds.type === 'prometheus' ? (
        <MetricsPane datasourceUid={ds.uid} org={props.org} range={range} query={query} runCount={runCount} onQueryChange={onQueryChange} onZoom={setRange} />
      ) : ds.type === 'loki' ? (
        <LogsPane datasourceUid={ds.uid} org={props.org} range={range} query={logsQuery} runCount={runCount} onQueryChange={onQueryChange} onZoom={setRange} />
      ) : ds.type === 'tempo' || ds.type === 'pyroscope' ? (
        <Suspense fallback={<div className="loading-page">Loading…</div>}>
          <SignalPane datasource={ds} datasources={props.datasources} org={props.org} range={range} runCount={runCount} onQueryChange={onQueryChange} onZoom={setRange} />
        </Suspense>
      ) : (
        <div className="empty">Explore for {ds.type} data sources is not built yet.</div>
      )}
    </div>
  );
}
