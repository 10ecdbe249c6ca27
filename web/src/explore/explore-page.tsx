import { Suspense, useMemo, useState } from 'react';
import { updateParams, useLocation } from '../shell/router.ts';
import type { DatasourceRef } from '../shell/settings.ts';
import { TimeRangePicker } from '../time/time-range-picker.tsx';
import type { RawTimeRange } from '../time/time-range.ts';
import { PANE_PREFIXES } from './correlations.ts';
import type { PanePrefix } from './correlations.ts';
import { PaneContext } from './explore-link.tsx';
import { PANE_KINDS, paneParams } from './pane-kinds.ts';

/**
 * Explore: pick a data source, write queries, see the answers; "Split" opens a second pane beside the first
 * (its own data source and queries, the same time range). Everything that defines the view (org, panes, their
 * data sources and queries, range, options) is in the URL, so a link reproduces it.
 */
export default function ExplorePage(props: { org: string; datasources: readonly DatasourceRef[] }): React.JSX.Element {
  const { params } = useLocation();
  const [runCount, setRunCount] = useState(0);
  const from = params.get('from') ?? 'now-1h';
  const to = params.get('to') ?? 'now';
  const range = useMemo<RawTimeRange>(() => ({ from, to }), [from, to]);
  const setRange = (r: RawTimeRange): void => updateParams({ from: r.from, to: r.to });
  // A link between signals may name the right pane's source by type only (`r.type=tempo`).
  const split = [...params.keys()].some((k) => k.startsWith('r.'));

  if (props.datasources.length === 0) return <div className="page empty">No data sources are configured (ui.datasources).</div>;
  const closeRight = (): void => updateParams(Object.fromEntries([...params.keys()].filter((k) => k.startsWith('r.')).map((k) => [k, undefined])));
  return (
    <div className="page explore">
      <div className="toolbar">
        <h1>Explore</h1>
        <div className="spacer" />
        <TimeRangePicker value={range} onChange={setRange} />
        <button type="button" className="btn" onClick={() => setRunCount((n) => n + 1)} title="Run again">
          ↻
        </button>
        {split ? (
          <button type="button" className="btn" data-testid="split-close" onClick={closeRight}>
            Close split
          </button>
        ) : (
          <button type="button" className="btn" data-testid="split-open" onClick={() => updateParams({ 'r.ds': datasourceOf(params.get('ds'), props.datasources).uid })}>
            Split
          </button>
        )}
      </div>
      <div className={split ? 'explore-panes split' : 'explore-panes'}>
        {PANE_PREFIXES.filter((p) => p === '' || split).map((prefix) => (
          <ExplorePane key={prefix} prefix={prefix} params={params} org={props.org} datasources={props.datasources} range={range} runCount={runCount} onZoom={setRange} />
        ))}
      </div>
    </div>
  );
}

/**
 * A pane's data source: the one its `ds` names; else, for links between signals that name a type rather than
 * a source (`type=loki`, or `trace=ID`), the first of that type; else the first Prometheus source.
 */
function datasourceOf(uid: string | null, datasources: readonly DatasourceRef[], wantedType?: string | null): DatasourceRef {
  return (
    datasources.find((d) => d.uid === uid) ??
    (wantedType ? datasources.find((d) => d.type === wantedType) : undefined) ??
    datasources.find((d) => d.type === 'prometheus') ??
    datasources[0]!
  );
}

/** One pane: its data source picker and the pane kind of that source's type. */
function ExplorePane(props: {
  prefix: PanePrefix;
  params: URLSearchParams;
  org: string;
  datasources: readonly DatasourceRef[];
  range: RawTimeRange;
  runCount: number;
  onZoom: (r: RawTimeRange) => void;
}): React.JSX.Element {
  const { prefix } = props;
  const wantedType = props.params.get(`${prefix}type`) ?? (props.params.has(`${prefix}trace`) ? 'tempo' : null);
  const ds = datasourceOf(props.params.get(`${prefix}ds`), props.datasources, wantedType);
  const pane = paneParams(props.params, prefix, (c) => updateParams(c));
  const Kind = PANE_KINDS[ds.type];
  // A different source type keeps nothing of the old query; the keys of this pane are cleared.
  const pickSource = (uid: string): void => {
    const own = [...props.params.keys()].filter((k) => (prefix === '' ? !k.startsWith('r.') && !['org', 'from', 'to'].includes(k) : k.startsWith(prefix)));
    updateParams({ ...Object.fromEntries(own.map((k) => [k, undefined])), [`${prefix}ds`]: uid });
  };
  return (
    <section className="explore-pane" data-testid={prefix === '' ? 'pane-left' : 'pane-right'} data-ds-type={ds.type}>
      <label className="inline">
        Data source
        <select value={ds.uid} onChange={(e) => pickSource(e.target.value)} data-testid="datasource-picker" aria-label="Data source">
          {props.datasources.map((d) => (
            <option key={d.uid} value={d.uid}>
              {d.name} ({d.type})
            </option>
          ))}
        </select>
      </label>
      {Kind ? (
        <PaneContext.Provider value={prefix}>
          <Suspense fallback={<div className="empty">Loading…</div>}>
            <Kind key={ds.uid} datasource={ds} datasources={props.datasources} org={props.org} range={props.range} params={pane} runCount={props.runCount} onZoom={props.onZoom} />
          </Suspense>
        </PaneContext.Provider>
      ) : (
        <div className="empty">Explore for {ds.type} data sources is not built yet.</div>
      )}
    </section>
  );
}
