import { updateParams, useLocation } from '../shell/router.ts';
import './signal-pane.css';
import type { DatasourceRef } from '../shell/settings.ts';
import type { RawTimeRange } from '../time/time-range.ts';
import ProfilesPane from './profiles/profiles-pane.tsx';
import type { ProfilesQueryState } from './profiles/profiles-pane.tsx';
import TracesPane from './traces/traces-pane.tsx';
import type { TracesQueryState } from './traces/traces-pane.tsx';

/**
 * Explore's traces and profiles panes, a chunk of their own: each keeps its query in the URL (`expr` and `view`
 * through Explore's `onQueryChange`, which re-runs an unchanged query; its own parameters, `trace`, `ptype`,
 * `span`, `diff`, directly).
 */
export default function SignalPane(props: {
  datasource: DatasourceRef;
  datasources: readonly DatasourceRef[];
  org: string;
  range: RawTimeRange;
  runCount: number;
  onQueryChange: (change: { expr?: string }) => void;
  onZoom: (range: RawTimeRange) => void;
}): React.JSX.Element {
  const { params } = useLocation();
  const ds = props.datasource;
  if (ds.type === 'tempo') {
    const query: TracesQueryState = {
      expr: params.get('expr') ?? '',
      limit: Math.min(500, Math.max(1, Number(params.get('limit')) || 20)),
      traceId: (params.get('trace') ?? '').toLowerCase(),
      view: params.get('view') === 'inspect' ? 'inspect' : params.get('view') === 'servicegraph' ? 'servicegraph' : 'table',
    };
    const onChange = (c: Partial<TracesQueryState>): void => {
      const own: Record<string, string | undefined> = {};
      if ('traceId' in c) own.trace = c.traceId;
      if (c.limit !== undefined) own.limit = c.limit === 20 ? undefined : String(c.limit);
      if (c.view !== undefined) own.view = c.view === 'table' ? undefined : c.view;
      if (Object.keys(own).length > 0) updateParams(own);
      if (Object.keys(c).length === 0 || 'expr' in c) props.onQueryChange({ expr: c.expr ?? query.expr });
    };
    const first = (type: string): string | undefined => props.datasources.find((d) => d.type === type)?.uid;
    return (
      <TracesPane
        datasourceUid={ds.uid}
        org={props.org}
        range={props.range}
        query={query}
        runCount={props.runCount}
        targets={{ org: props.org, tracesUid: ds.uid, ...opt('logsUid', first('loki')), ...opt('profilesUid', first('pyroscope')), ...opt('metricsUid', first('prometheus')) }}
        onQueryChange={onChange}
      />
    );
  }
  const query: ProfilesQueryState = {
    expr: params.get('expr') ?? '',
    profileType: params.get('ptype') ?? '',
    spanId: params.get('span') ?? '',
    diff: params.get('diff') ?? '',
  };
  const onChange = (c: Partial<ProfilesQueryState>): void => {
    const own: Record<string, string | undefined> = {};
    if ('profileType' in c) own.ptype = c.profileType;
    if ('spanId' in c) own.span = c.spanId;
    if ('diff' in c) own.diff = c.diff;
    if (Object.keys(own).length > 0) updateParams(own);
    if ('expr' in c) props.onQueryChange({ expr: c.expr ?? '' });
  };
  return <ProfilesPane datasourceUid={ds.uid} org={props.org} range={props.range} query={query} runCount={props.runCount} onQueryChange={onChange} onZoom={props.onZoom} />;
}

function opt<K extends string>(key: K, value: string | undefined): Partial<Record<K, string>> {
  return value === undefined ? {} : ({ [key]: value } as Record<K, string>);
}
