import { useState } from 'react';
import './signal-pane.css';
import { correlationTargets } from './correlations.ts';
import type { PaneProps } from './pane-kinds.ts';
import ProfilesPane from './profiles/profiles-pane.tsx';
import type { ProfilesQueryState } from './profiles/profiles-pane.tsx';
import TracesPane from './traces/traces-pane.tsx';
import type { TracesQueryState } from './traces/traces-pane.tsx';

/**
 * Explore's traces and profiles panes (Tempo and Pyroscope sources), a chunk of their own: each keeps its
 * query in its pane's URL keys (`expr`, `view`, `limit`, `trace`, `red` for traces; `expr`, `ptype`, `span`, `diff`
 * and `base` for profiles), so a split view and a link between signals both reproduce it.
 */
export default function SignalPane(props: PaneProps): React.JSX.Element {
  const { params } = props;
  const ds = props.datasource;
  // Running an unchanged query again re-runs it (as the ↻ of the page does).
  const [reruns, setReruns] = useState(0);
  const runCount = props.runCount + reruns;
  const setExpr = (expr: string, current: string): void => {
    if (expr === current) setReruns((n) => n + 1);
    else params.update({ expr });
  };
  if (ds.type === 'tempo') {
    const query: TracesQueryState = {
      expr: params.get('expr') ?? '',
      limit: Math.min(500, Math.max(1, Number(params.get('limit')) || 20)),
      traceId: (params.get('trace') ?? '').toLowerCase(),
      view: params.get('view') === 'inspect' ? 'inspect' : params.get('view') === 'servicegraph' ? 'servicegraph' : 'table',
      redService: params.get('red') ?? '',
    };
    const onChange = (c: Partial<TracesQueryState>): void => {
      const own: Record<string, string | undefined> = {};
      if ('traceId' in c) own.trace = c.traceId;
      if (c.limit !== undefined) own.limit = c.limit === 20 ? undefined : String(c.limit);
      if (c.view !== undefined) own.view = c.view === 'table' ? undefined : c.view;
      if ('redService' in c) own.red = c.redService;
      if (Object.keys(own).length > 0) params.update(own);
      if (Object.keys(c).length === 0 || 'expr' in c) setExpr(c.expr ?? query.expr, query.expr);
    };
    return (
      <TracesPane
        datasourceUid={ds.uid}
        org={props.org}
        range={props.range}
        query={query}
        runCount={runCount}
        targets={correlationTargets(props.org, ds.uid, ds.correlations)}
        onQueryChange={onChange}
        onZoom={props.onZoom}
      />
    );
  }
  const query: ProfilesQueryState = {
    expr: params.get('expr') ?? '',
    profileType: params.get('ptype') ?? '',
    spanId: params.get('span') ?? '',
    diff: params.get('diff') ?? '',
    baseSelector: params.get('base') ?? '',
  };
  const onChange = (c: Partial<ProfilesQueryState>): void => {
    const own: Record<string, string | undefined> = {};
    if ('profileType' in c) own.ptype = c.profileType;
    if ('spanId' in c) own.span = c.spanId;
    if ('diff' in c) own.diff = c.diff;
    if ('baseSelector' in c) own.base = c.baseSelector;
    if (Object.keys(own).length > 0) params.update(own);
    if ('expr' in c) setExpr(c.expr ?? '', query.expr);
  };
  return <ProfilesPane datasourceUid={ds.uid} org={props.org} range={props.range} query={query} runCount={runCount} onQueryChange={onChange} onZoom={props.onZoom} />;
}
