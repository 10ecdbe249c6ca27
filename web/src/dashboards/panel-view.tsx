import { Suspense, lazy, useEffect, useMemo, useRef, useState } from 'react';
import type { DatasourceRef } from '../shell/settings.ts';
import { SIGNAL_PANELS, SUPPORTED_PANELS } from './dashboard-model.ts';
import type { AnnotationEvent } from './annotations.ts';
import type { Panel } from './dashboard-model.ts';
import { runPanelQueries } from './panel-data.ts';
import type { PanelData } from './panel-data.ts';
import { PANEL_BODIES } from './panels.tsx';
import { interpolate } from './variables.ts';
import type { VariableState } from './variables.ts';

const SignalPanel = lazy(() => import('./signal-panels.tsx'));

type Outcome = { state: 'waiting' } | { state: 'loading'; data?: PanelData } | { state: 'done'; data: PanelData } | { state: 'error'; message: string };

/**
 * One panel: its header (title with variables filled, edit button) and its body. It queries only once it is
 * on screen (an IntersectionObserver), and again when what it asks changes: the range, the refresh tick, or a
 * variable its queries use (the interpolated queries are the key). A type it cannot draw says so in place.
 */
export function PanelView(props: {
  panel: Panel;
  scoped: ReadonlyMap<string, string>;
  org: string;
  datasources: readonly DatasourceRef[];
  vars: ReadonlyMap<string, VariableState>;
  fromMs: number;
  toMs: number;
  tick: number;
  widthPx: number;
  heightPx: number;
  onEdit?: () => void;
  annotations?: readonly AnnotationEvent[];
}): React.JSX.Element {
  const { panel } = props;
  const el = useRef<HTMLDivElement>(null);
  const [visible, setVisible] = useState(false);
  const [outcome, setOutcome] = useState<Outcome>({ state: 'waiting' });
  const text = useMemo(() => (s: string) => interpolate(s, props.vars, { fromMs: props.fromMs, toMs: props.toMs, intervalS: 15 }, props.scoped), [props.vars, props.fromMs, props.toMs, props.scoped]);
  const supported = SUPPORTED_PANELS.has(panel.type);
  const isSignal = SIGNAL_PANELS.has(panel.type);
  const needsData = supported && panel.type !== 'text' && !isSignal;

  useEffect(() => {
    const node = el.current;
    if (!node || visible) return undefined;
    const io = new IntersectionObserver((entries) => {
      if (entries.some((e) => e.isIntersecting)) setVisible(true);
    }, { rootMargin: '200px' });
    io.observe(node);
    return () => io.disconnect();
  }, [visible]);

  // What the panel would ask: when this is unchanged, a variable change elsewhere does not re-run it.
  const queryKey = useMemo(
    () => JSON.stringify([(panel.targets ?? []).map((t) => [t.expr ? interpolate(t.expr, props.vars, undefined, props.scoped) : '', t.datasource, t.instant, t.hide, t.legendFormat, t.interval]), panel.datasource, props.fromMs, props.toMs, props.tick, panel.interval, props.org]),
    [panel, props.vars, props.scoped, props.fromMs, props.toMs, props.tick, props.org],
  );

  useEffect(() => {
    if (!visible || !needsData) return undefined;
    const ctrl = new AbortController();
    setOutcome((o) => ({ state: 'loading', ...(o.state === 'done' ? { data: o.data } : {}) }));
    runPanelQueries(panel, { org: props.org, datasources: props.datasources, vars: props.vars, scoped: props.scoped, fromMs: props.fromMs, toMs: props.toMs, widthPx: props.widthPx, signal: ctrl.signal }).then(
      (data) => setOutcome({ state: 'done', data }),
      (err: unknown) => {
        if ((err as Error).name !== 'AbortError') setOutcome({ state: 'error', message: (err as Error).message });
      },
    );
    return () => ctrl.abort();
    // queryKey stands for everything the queries depend on.
  }, [visible, needsData, queryKey]);

  const Body = PANEL_BODIES[panel.type];
  const data = outcome.state === 'done' ? outcome.data : outcome.state === 'loading' ? outcome.data : undefined;
  const bodyHeight = props.heightPx - 28;
  // A refresh keeps what was drawn on screen (the spinner says it is re-running): the panel stays 'done'.
  const state = !supported ? 'unsupported' : outcome.state === 'error' ? 'error' : panel.type === 'text' || isSignal || data !== undefined ? 'done' : 'loading';
  return (
    <div ref={el} className="dash-panel" data-testid="dashboard-panel" data-panel-type={panel.type} data-state={state} data-panel-id={panel.id}>
      <div className="dash-panel-header">
        <span className="dash-panel-title" title={panel.description}>
          {text(panel.title ?? '')}
        </span>
        {outcome.state === 'loading' && <span className="spinner" aria-label="loading" />}
        {props.onEdit && (
          <button type="button" className="link panel-edit" onClick={props.onEdit} aria-label={`Edit ${panel.title ?? 'panel'}`}>
            Edit
          </button>
        )}
      </div>
      <div className="dash-panel-body" style={{ height: bodyHeight }}>
        {!supported ? (
          <div className="panel-unsupported">panel type {panel.type} is not supported</div>
        ) : isSignal ? (
          visible && (
            <Suspense fallback={<div className="panel-empty">Loading…</div>}>
              <SignalPanel panel={panel} org={props.org} datasources={props.datasources} vars={props.vars} text={text} fromMs={props.fromMs} toMs={props.toMs} tick={props.tick} />
            </Suspense>
          )
        ) : outcome.state === 'error' ? (
          <div className="panel-error" data-testid="panel-error">
            {outcome.message}
          </div>
        ) : Body && (panel.type === 'text' || data) ? (
          <Body panel={panel} data={data ?? { series: [], logs: [], intervalS: 0 }} width={props.widthPx} height={bodyHeight} text={text} {...(props.annotations ? { annotations: props.annotations } : {})} />
        ) : null}
      </div>
    </div>
  );
}
