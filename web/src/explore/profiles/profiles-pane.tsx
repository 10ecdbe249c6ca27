import { useEffect, useMemo, useState } from 'react';
import { diffFlameGraph, exportPprof, profileLabelValues, profileTypes, selectFlameGraph, selectSeries } from '../../datasource/pyroscope.ts';
import type { ProfileSeries, ProfileType } from '../../datasource/pyroscope.ts';
import { FlameGraph } from '../../flamegraph/flame-graph.tsx';
import { decodeFlameGraph, formatProfileValue } from '../../flamegraph/flame-model.ts';
import type { FlameGraphModel } from '../../flamegraph/flame-model.ts';
import { autoStepS, formatLocal, resolveRange } from '../../time/time-range.ts';
import type { RawTimeRange } from '../../time/time-range.ts';
import { TimeSeriesGraph } from '../time-series-graph.tsx';
import type { GraphSeries } from '../time-series-graph.tsx';

/** The profiles query of an Explore pane, as its URL parameters hold it. */
export interface ProfilesQueryState {
  /** A label selector, `{service_name="api"}`. */
  readonly expr: string;
  readonly profileType: string;
  /** Only the samples of this span (a span profile, linked from a trace). */
  readonly spanId: string;
  /** The baseline range of a diff as `fromMs,toMs`; empty: the selected range. */
  readonly diff: string;
  /** The baseline label selector of a diff; empty: the same selector. A diff runs when either is set. */
  readonly baseSelector: string;
}

const MAX_NODES = 2048;

type Outcome<T> = { state: 'idle' } | { state: 'running' } | { state: 'done'; result: T } | { state: 'error'; message: string };

/**
 * Explore for a Pyroscope data source: profile type and label selection (service choices from the label values
 * API), the profile type's series over the range, and the merged flame graph with its top table; optionally the
 * diff against a baseline range (the previous period), or only one span's samples.
 */
export default function ProfilesPane(props: {
  datasourceUid: string;
  org: string;
  range: RawTimeRange;
  query: ProfilesQueryState;
  runCount: number;
  onQueryChange: (change: Partial<ProfilesQueryState>) => void;
  onZoom: (range: RawTimeRange) => void;
}): React.JSX.Element {
  const { datasourceUid, org, query } = props;
  const [types, setTypes] = useState<ProfileType[] | undefined>();
  const [services, setServices] = useState<string[]>([]);
  const [draft, setDraft] = useState(query.expr);
  const [baseDraft, setBaseDraft] = useState(query.baseSelector);
  const [exportError, setExportError] = useState<string | undefined>();
  const [series, setSeries] = useState<{ timesS: number[]; series: GraphSeries[] } | undefined>();
  const [flame, setFlame] = useState<Outcome<FlameGraphModel | undefined>>({ state: 'idle' });
  useEffect(() => setDraft(query.expr), [query.expr]);
  useEffect(() => setBaseDraft(query.baseSelector), [query.baseSelector]);

  const range = useMemo(() => {
    const r = resolveRange(props.range, Date.now());
    return 'error' in r ? undefined : { startMs: r.fromMs, endMs: r.toMs };
  }, [props.range, props.runCount]);

  useEffect(() => {
    if (!range) return undefined;
    const abort = new AbortController();
    profileTypes(datasourceUid, org, range, abort.signal).then(setTypes, () => setTypes([]));
    profileLabelValues(datasourceUid, org, 'service_name', [], range, abort.signal).then(setServices, () => setServices([]));
    return () => abort.abort();
  }, [datasourceUid, org, range]);

  // The URL's type, else a CPU type, else the first there is.
  const type = types?.find((t) => t.ID === query.profileType) ?? types?.find((t) => t.ID.startsWith('process_cpu:cpu')) ?? types?.find((t) => /cpu/.test(t.ID)) ?? types?.[0];
  const selector = query.expr.trim() || '{}';

  useEffect(() => {
    if (!type || !range) {
      setFlame(types && types.length === 0 ? { state: 'error', message: 'No profiles in this range' } : { state: 'idle' });
      return undefined;
    }
    const abort = new AbortController();
    setFlame({ state: 'running' });
    setSeries(undefined);
    const stepS = autoStepS(range.startMs, range.endMs, window.innerWidth / 4);
    selectSeries(datasourceUid, org, type.ID, selector, range, stepS, selector === '{}' ? ['service_name'] : [], abort.signal).then(
      (r) => setSeries(alignSeries(r.series, range)),
      () => setSeries({ timesS: [], series: [] }),
    );
    const baseline = baselineOf(query, selector, range);
    const request = baseline
      ? diffFlameGraph(datasourceUid, org, { profileTypeID: type.ID, ...baseline }, { profileTypeID: type.ID, labelSelector: selector, ...range }, MAX_NODES, abort.signal)
      : selectFlameGraph(datasourceUid, org, { profileTypeID: type.ID, labelSelector: selector, ...range, maxNodes: MAX_NODES, ...(query.spanId ? { spanIds: [query.spanId] } : {}) }, abort.signal);
    request.then(
      (r) => setFlame({ state: 'done', result: r.flamegraph?.levels?.length ? decodeFlameGraph(r.flamegraph, baseline !== undefined) : undefined }),
      (err: unknown) => {
        if (!abort.signal.aborted) setFlame({ state: 'error', message: (err as Error).message });
      },
    );
    return () => abort.abort();
  }, [datasourceUid, org, type?.ID, selector, range, query.diff, query.baseSelector, query.spanId]);

  const previousPeriod = (): void => {
    if (range) props.onQueryChange({ diff: `${2 * range.startMs - range.endMs},${range.startMs}` });
  };
  const baseline = range ? baselineOf(query, selector, range) : undefined;
  const exportProfile = (): void => {
    if (!type || !range) return;
    setExportError(undefined);
    exportPprof(datasourceUid, org, type.ID, selector, range).then(
      (blob) => {
        const a = document.createElement('a');
        a.href = URL.createObjectURL(blob);
        a.download = `${/service_name="([^"]+)"/.exec(selector)?.[1] ?? 'profile'}.${type.name}.pb.gz`.replace(/[^\w.-]+/g, '_');
        a.click();
        setTimeout(() => URL.revokeObjectURL(a.href), 60_000);
      },
      (err: unknown) => setExportError(`export failed: ${(err as Error).message}`),
    );
  };

  return (
    <div className="pane profiles-pane">
      <div className="options-row">
        <label className="inline">
          Profile type
          <select value={type?.ID ?? ''} onChange={(e) => props.onQueryChange({ profileType: e.target.value })} aria-label="Profile type" data-testid="profile-type">
            {(types ?? []).map((t) => (
              <option key={t.ID} value={t.ID}>
                {t.name} · {t.sampleType} ({t.sampleUnit})
              </option>
            ))}
          </select>
        </label>
        <label className="inline">
          Service
          <select
            value={/^\{service_name="([^"]*)"\}$/.exec(selector)?.[1] ?? ''}
            onChange={(e) => props.onQueryChange({ expr: e.target.value ? `{service_name=${JSON.stringify(e.target.value)}}` : '{}' })}
            aria-label="Service"
            data-testid="profile-service"
          >
            <option value="">all</option>
            {services.map((s) => (
              <option key={s}>{s}</option>
            ))}
          </select>
        </label>
        <form
          className="inline"
          onSubmit={(e) => {
            e.preventDefault();
            props.onQueryChange({ expr: draft });
          }}
        >
          <input type="text" className="label-selector" size={40} value={draft} onChange={(e) => setDraft(e.target.value)} aria-label="Label selector" placeholder='{service_name="api"}' data-testid="label-selector" />
          <button type="submit" className="btn primary" data-testid="run-query">
            Run query
          </button>
        </form>
        {baseline ? (
          <button type="button" className="btn" onClick={() => props.onQueryChange({ diff: '', baseSelector: '' })} data-testid="diff-off">
            Stop comparing
          </button>
        ) : (
          <button type="button" className="btn" onClick={previousPeriod} data-testid="diff-previous">
            Compare with the previous period
          </button>
        )}
        <form
          className="inline"
          onSubmit={(e) => {
            e.preventDefault();
            props.onQueryChange({ baseSelector: baseDraft.trim() });
          }}
        >
          <input type="text" className="label-selector" size={28} value={baseDraft} onChange={(e) => setBaseDraft(e.target.value)} aria-label="Baseline selector" placeholder="baseline {…}" data-testid="diff-base-selector" />
          <button type="submit" className="btn" data-testid="diff-selectors">
            Compare selections
          </button>
        </form>
        <button type="button" className="btn" onClick={exportProfile} disabled={!type || query.spanId !== ''} title={query.spanId ? 'a span profile cannot be exported yet' : 'the merged profile as a gzipped pprof'} data-testid="export-pprof">
          Export pprof
        </button>
        <span className="status" data-testid="query-status" data-state={flame.state} data-org={org}>
          {flame.state === 'running' ? 'Running…' : ''}
        </span>
      </div>
      {query.spanId && (
        <div className="notice" data-testid="span-profile-notice">
          Only the samples of span <code>{query.spanId}</code> (span profile).{' '}
          <button type="button" className="link-button" onClick={() => props.onQueryChange({ spanId: '' })}>
            Show the whole service
          </button>
        </div>
      )}
      {baseline && (
        <div className="notice" data-testid="diff-notice">
          Diff: baseline <code>{baseline.labelSelector}</code> from {formatLocal(baseline.startMs)} to {formatLocal(baseline.endMs)} against <code>{selector}</code> over the selected range.
        </div>
      )}
      {exportError && (
        <div className="error-box" role="alert">
          {exportError}
        </div>
      )}
      {series && series.series.length > 0 && (
        <TimeSeriesGraph timesS={series.timesS} series={series.series} height={160} bars formatValue={(v) => formatProfileValue(v, type?.sampleUnit ?? '')} onZoom={(f, t) => props.onZoom({ from: String(f), to: String(t) })} />
      )}
      {flame.state === 'error' && (
        <div className="error-box" role="alert" data-testid="query-error">
          {flame.message}
        </div>
      )}
      {flame.state === 'done' && (flame.result ? <FlameGraph model={flame.result} unit={type?.sampleUnit ?? ''} /> : <div className="empty">No samples for this selection in this range</div>)}
    </div>
  );
}

function parseDiff(text: string): { startMs: number; endMs: number } | undefined {
  const m = /^(\d+),(\d+)$/.exec(text);
  return m ? { startMs: Number(m[1]), endMs: Number(m[2]) } : undefined;
}

/** The baseline of a diff: another range, another selector, or both; undefined when neither is asked. */
function baselineOf(query: ProfilesQueryState, selector: string, range: { startMs: number; endMs: number }): { labelSelector: string; startMs: number; endMs: number } | undefined {
  const other = parseDiff(query.diff);
  if (!other && !query.baseSelector) return undefined;
  return { labelSelector: query.baseSelector || selector, ...(other ?? range) };
}

/** SelectSeries' points on one time axis (uPlot's aligned data), one graph series per label set. */
function alignSeries(list: readonly ProfileSeries[], range: { startMs: number; endMs: number }): { timesS: number[]; series: GraphSeries[] } {
  // The range's ends are on the axis too, so a lone point is drawn in the range rather than a scale of its own.
  const times = [...new Set([range.startMs, range.endMs, ...list.flatMap((s) => (s.points ?? []).map((p) => Number(p.timestamp)))])].sort((a, b) => a - b);
  const index = new Map(times.map((t, i) => [t, i]));
  const series = list.map((s) => {
    const values: (number | null)[] = times.map(() => null);
    for (const p of s.points ?? []) values[index.get(Number(p.timestamp))!] = Number(p.value ?? 0);
    return { name: (s.labels ?? []).map((l) => `${l.name}=${l.value}`).join(', ') || 'total', values };
  });
  return { timesS: times.map((t) => t / 1000), series };
}
