import { useEffect, useState } from 'react';
import { profileTypes, selectFlameGraph } from '../datasource/pyroscope.ts';
import { fetchTrace, formatDurationNs, normalizeTraceId, searchTraces } from '../datasource/tempo.ts';
import type { TraceSearchHit, TraceSpan } from '../datasource/tempo.ts';
import { correlationTargets, traceLink } from '../explore/correlations.ts';
import { ExploreAnchor } from '../explore/explore-link.tsx';
import '../explore/signal-pane.css';
import { ServiceGraph } from '../explore/traces/service-graph.tsx';
import { TraceView } from '../explore/traces/trace-view.tsx';
import { FlameGraph } from '../flamegraph/flame-graph.tsx';
import { decodeFlameGraph } from '../flamegraph/flame-model.ts';
import type { FlameGraphModel } from '../flamegraph/flame-model.ts';
import type { DatasourceRef } from '../shell/settings.ts';
import type { Panel, Target } from './dashboard-model.ts';
import { resolveDatasource } from './variables.ts';
import type { VariableState } from './variables.ts';

/** What a traces or profiles panel needs: it queries its own source (these answers are not series). */
interface SignalPanelProps {
  readonly panel: Panel;
  readonly org: string;
  readonly datasources: readonly DatasourceRef[];
  readonly vars: ReadonlyMap<string, VariableState>;
  /** A target's text with the dashboard's variables filled. */
  readonly text: (s: string) => string;
  readonly fromMs: number;
  readonly toMs: number;
  readonly tick: number;
}

type Outcome<T> = { state: 'loading' } | { state: 'done'; result: T } | { state: 'error'; message: string };

const TRACE_ID = /^[0-9a-fA-F]{1,32}$/;

/** The panel's first visible target and its data source of `type` (Grafana's `grafana-pyroscope-datasource` is ours `pyroscope`). */
function targetOf(props: SignalPanelProps, type: string): { target: Target; ds: DatasourceRef | undefined } {
  const target = (props.panel.targets ?? []).find((t) => !t.hide) ?? {};
  const panelDs = typeof props.panel.datasource === 'object' && props.panel.datasource?.uid === '-- Mixed --' ? undefined : props.panel.datasource;
  const ds = resolveDatasource(target.datasource ?? panelDs, props.datasources, props.vars, type);
  return { target, ds: ds?.type === type ? ds : undefined };
}

/** Runs `load` whenever `key` changes, keeping its outcome (aborted when the panel goes or asks again). */
function useLoad<T>(key: string, load: (signal: AbortSignal) => Promise<T>): Outcome<T> {
  const [outcome, setOutcome] = useState<Outcome<T>>({ state: 'loading' });
  useEffect(() => {
    const abort = new AbortController();
    setOutcome({ state: 'loading' });
    load(abort.signal).then(
      (result) => setOutcome({ state: 'done', result }),
      (err: unknown) => {
        if (!abort.signal.aborted) setOutcome({ state: 'error', message: (err as Error).message });
      },
    );
    return () => abort.abort();
    // key stands for everything load reads.
  }, [key]);
  return outcome;
}

function Shown<T>(props: { outcome: Outcome<T>; children: (result: T) => React.ReactNode }): React.JSX.Element {
  if (props.outcome.state === 'loading') return <div className="panel-empty">Loading…</div>;
  if (props.outcome.state === 'error') return <div className="panel-error" data-testid="panel-error">{props.outcome.message}</div>;
  return <>{props.children(props.outcome.result)}</>;
}

/** `flamegraph`: the merged profile of a Pyroscope target (`profileTypeId`, `labelSelector`) over the range. */
function FlameGraphPanel(props: SignalPanelProps): React.JSX.Element {
  const { target, ds } = targetOf(props, 'pyroscope');
  const selector = props.text(target.labelSelector ?? '{}') || '{}';
  const range = { startMs: props.fromMs, endMs: props.toMs };
  const outcome = useLoad<{ model: FlameGraphModel | undefined; unit: string }>(JSON.stringify([ds?.uid, target.profileTypeId, selector, range, props.tick, props.org]), async (signal) => {
    if (!ds) throw new Error('no Pyroscope data source is configured');
    const types = await profileTypes(ds.uid, props.org, range, signal);
    const type = types.find((t) => t.ID === target.profileTypeId) ?? types.find((t) => t.ID.startsWith('process_cpu:cpu')) ?? types[0];
    if (!type) return { model: undefined, unit: '' };
    const r = await selectFlameGraph(ds.uid, props.org, { profileTypeID: type.ID, labelSelector: selector, ...range, maxNodes: 1024 }, signal);
    return { model: r.flamegraph?.levels?.length ? decodeFlameGraph(r.flamegraph, false) : undefined, unit: type.sampleUnit };
  });
  return <Shown outcome={outcome}>{(r) => (r.model ? <FlameGraph model={r.model} unit={r.unit} /> : <div className="panel-empty">No data</div>)}</Shown>;
}

/** `traces`: the trace a Tempo target names (`query` a trace id), or the traces its TraceQL finds, as in Explore. */
function TracesPanel(props: SignalPanelProps): React.JSX.Element {
  const { target, ds } = targetOf(props, 'tempo');
  const query = props.text(target.query ?? '').trim();
  const outcome = useLoad<{ spans: TraceSpan[] } | { hits: TraceSearchHit[] }>(JSON.stringify([ds?.uid, query, props.fromMs, props.toMs, props.tick, props.org]), async (signal) => {
    if (!ds) throw new Error('no Tempo data source is configured');
    if (TRACE_ID.test(query)) return { spans: (await fetchTrace(ds.uid, props.org, query, signal)).spans };
    return { hits: (await searchTraces(ds.uid, props.org, query || '{}', { startMs: props.fromMs, endMs: props.toMs, limit: target.limit ?? 20 }, signal)).traces };
  });
  const range = { from: String(props.fromMs), to: String(props.toMs) };
  return (
    <Shown outcome={outcome}>
      {(r) =>
        'spans' in r ? (
          r.spans.length === 0 || !ds ? (
            <div className="panel-empty">trace {query} not found</div>
          ) : (
            <TraceView traceId={normalizeTraceId(query)} spans={r.spans} targets={correlationTargets(props.org, ds.uid, ds.correlations)} />
          )
        ) : (
          <table className="result-table trace-table" data-testid="trace-results">
            <tbody>
              {r.hits.map((t) => (
                <tr key={t.traceID}>
                  <td>
                    <ExploreAnchor link={traceLink(props.org, normalizeTraceId(t.traceID), range, ds?.uid)}>{normalizeTraceId(t.traceID)}</ExploreAnchor>
                  </td>
                  <td>{t.rootServiceName ?? ''}</td>
                  <td>{t.rootTraceName ?? ''}</td>
                  <td>{t.durationMs === undefined ? '' : formatDurationNs(t.durationMs * 1_000_000)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )
      }
    </Shown>
  );
}

/** `nodeGraph`: the service graph (a Tempo `serviceMap` target) from the metrics-generator's series. */
function NodeGraphPanel(props: SignalPanelProps): React.JSX.Element {
  const { ds } = targetOf(props, 'tempo');
  const metricsUid = ds?.correlations.metrics_uid ?? props.datasources.find((d) => d.type === 'prometheus')?.uid;
  return <ServiceGraph metricsUid={metricsUid} org={props.org} range={{ startMs: props.fromMs, endMs: props.toMs }} onService={() => undefined} />;
}

/** The traces and profiles panel types of a dashboard. */
export default function SignalPanel(props: SignalPanelProps): React.JSX.Element {
  return (
    <div className="signal-panel" data-testid="signal-panel">
      {props.panel.type === 'flamegraph' ? <FlameGraphPanel {...props} /> : props.panel.type === 'traces' ? <TracesPanel {...props} /> : <NodeGraphPanel {...props} />}
    </div>
  );
}
