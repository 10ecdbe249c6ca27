import { useMemo, useState } from 'react';
import { formatDurationNs } from '../../datasource/tempo.ts';
import type { TraceSpan } from '../../datasource/tempo.ts';
import { formatLocal } from '../../time/time-range.ts';
import { spanLogsLink, spanMetricsLink, spanProfileLink, spanRedLink, traceLink } from '../correlations.ts';
import type { CorrelationTargets } from '../correlations.ts';
import { ExploreAnchor } from '../explore-link.tsx';
import { FieldTable } from '../logs-pane.tsx';
import { FlameGraph } from '../../flamegraph/flame-graph.tsx';
import { traceFlameGraph } from './trace-flame.ts';
import { buildTraceTree, serviceColor, visibleRows } from './trace-tree.ts';
import { toggled } from '../toggle-set.ts';

/**
 * The trace view: a header (root, duration, services), a search that highlights matching spans, and the waterfall:
 * span bars on the trace's time axis in a collapsible tree, coloured by service, errors marked, the critical path
 * outlined. A click on a span opens its details (attributes by scope, events, links, status, and links to its logs
 * and profile).
 */
export function TraceView(props: { traceId: string; spans: readonly TraceSpan[]; targets: CorrelationTargets; onClose?: () => void }): React.JSX.Element {
  const tree = useMemo(() => buildTraceTree(props.spans), [props.spans]);
  const [collapsed, setCollapsed] = useState<ReadonlySet<string>>(new Set());
  const [selected, setSelected] = useState<string | undefined>();
  const [search, setSearch] = useState('');
  const [asFlameGraph, setAsFlameGraph] = useState(false);
  const flame = useMemo(() => (asFlameGraph ? traceFlameGraph(tree.rows) : undefined), [asFlameGraph, tree]);
  const rows = visibleRows(tree.rows, collapsed);
  const totalNs = Number(tree.endNs - tree.startNs) || 1;
  const root = tree.rows[0]?.span;
  const needle = search.trim().toLowerCase();
  const matches = (s: TraceSpan): boolean =>
    needle !== '' &&
    (s.name.toLowerCase().includes(needle) ||
      s.serviceName.toLowerCase().includes(needle) ||
      s.spanId.includes(needle) ||
      Object.entries({ ...s.attributes, ...s.resource }).some(([k, v]) => k.toLowerCase().includes(needle) || v.toLowerCase().includes(needle)));
  const matchCount = needle ? props.spans.filter(matches).length : 0;
  const toggle = (id: string): void => setCollapsed(toggled(collapsed, id));
  const ticks = [0, 0.25, 0.5, 0.75, 1];

  return (
    <div className="trace-view" data-testid="trace-view" data-trace-id={props.traceId}>
      <div className="trace-header">
        <h2>
          {root ? (
            <>
              <span className="service-chip" style={{ background: serviceColor(root.serviceName) }} />
              {root.serviceName}: {root.name}
            </>
          ) : (
            'Trace'
          )}
        </h2>
        <span className="muted">
          <code>{props.traceId}</code> · {root ? formatLocal(Number(tree.startNs / 1_000_000n)) : ''} · {formatDurationNs(Number(tree.endNs - tree.startNs))} · {props.spans.length} spans ·{' '}
          {tree.services.length} services
        </span>
        <div className="spacer" />
        <div className="segmented" role="tablist" aria-label="Trace view">
          {(['Waterfall', 'Flame graph'] as const).map((v) => (
            <button key={v} type="button" role="tab" aria-selected={(v === 'Flame graph') === asFlameGraph} className={(v === 'Flame graph') === asFlameGraph ? 'active' : ''} onClick={() => setAsFlameGraph(v === 'Flame graph')}>
              {v}
            </button>
          ))}
        </div>
        <input type="search" placeholder="Find in trace" value={search} onChange={(e) => setSearch(e.target.value)} aria-label="Find in trace" data-testid="trace-search" />
        {needle && <span className="muted">{matchCount} found</span>}
        {props.onClose && (
          <button type="button" className="btn" onClick={props.onClose} aria-label="Close trace">
            ✕
          </button>
        )}
      </div>
      <TraceMinimap rows={tree.rows.map((r) => r.span)} startNs={tree.startNs} totalNs={totalNs} />
      {flame && (
        <div className="trace-flamegraph" data-testid="trace-flame-graph">
          <FlameGraph model={flame} unit="nanoseconds" />
        </div>
      )}
      <div className="waterfall" role="tree" hidden={asFlameGraph}>
        <div className="waterfall-axis">
          <div className="waterfall-name">Service &amp; operation</div>
          <div className="waterfall-timeline">
            {ticks.map((t) => (
              <span key={t} style={{ left: `${t * 100}%` }}>
                {formatDurationNs(Math.round(totalNs * t))}
              </span>
            ))}
          </div>
        </div>
        {rows.map((r) => {
          const s = r.span;
          const left = (Number(s.startNs - tree.startNs) / totalNs) * 100;
          const width = Math.max(0.2, (Number(s.endNs - s.startNs) / totalNs) * 100);
          const isOpen = selected === s.spanId;
          return (
            <div key={s.spanId} className="span-block">
              <div
                className={`span-row${isOpen ? ' selected' : ''}${matches(s) ? ' match' : ''}`}
                role="treeitem"
                aria-expanded={r.childCount > 0 ? !collapsed.has(s.spanId) : undefined}
                data-testid="span-row"
                data-span-id={s.spanId}
                data-service={s.serviceName}
                data-error={s.statusCode === 2 ? 'true' : undefined}
                onClick={() => setSelected(isOpen ? undefined : s.spanId)}
              >
                <div className="waterfall-name" style={{ paddingLeft: `${r.depth * 14 + 4}px` }}>
                  {r.childCount > 0 ? (
                    <button
                      type="button"
                      className="tree-toggle"
                      aria-label={collapsed.has(s.spanId) ? 'Expand' : 'Collapse'}
                      onClick={(e) => {
                        e.stopPropagation();
                        toggle(s.spanId);
                      }}
                    >
                      {collapsed.has(s.spanId) ? '▸' : '▾'} {r.childCount}
                    </button>
                  ) : (
                    <span className="tree-toggle-space" />
                  )}
                  <span className="service-chip" style={{ background: serviceColor(s.serviceName) }} />
                  {s.statusCode === 2 && (
                    <span className="span-error" title={s.statusMessage ?? 'error'}>
                      !
                    </span>
                  )}
                  <span className="span-service">{s.serviceName}</span> <span className="span-name">{s.name}</span>
                </div>
                <div className="waterfall-timeline">
                  <div
                    className={`span-bar${r.critical ? ' critical' : ''}`}
                    style={{ left: `${left}%`, width: `${width}%`, background: s.statusCode === 2 ? '#e24d42' : serviceColor(s.serviceName) }}
                    title={`${s.name}: ${formatDurationNs(Number(s.endNs - s.startNs))}`}
                  />
                  <span className="span-duration" style={{ left: `${Math.min(left + width, 92)}%` }}>
                    {formatDurationNs(Number(s.endNs - s.startNs))}
                  </span>
                </div>
              </div>
              {isOpen && <SpanDetails span={s} traceStartNs={tree.startNs} targets={props.targets} />}
            </div>
          );
        })}
      </div>
    </div>
  );
}

/** The whole trace in a strip: one thin bar per span, so the shape shows at a glance on long traces. */
function TraceMinimap(props: { rows: readonly TraceSpan[]; startNs: bigint; totalNs: number }): React.JSX.Element | null {
  if (props.rows.length < 2) return null;
  const h = Math.max(1, Math.min(4, 48 / props.rows.length));
  return (
    <svg className="trace-minimap" viewBox={`0 0 1000 ${props.rows.length * h}`} preserveAspectRatio="none" aria-hidden="true">
      {props.rows.map((s, i) => (
        <rect
          key={s.spanId}
          x={(Number(s.startNs - props.startNs) / props.totalNs) * 1000}
          y={i * h}
          width={Math.max(1, (Number(s.endNs - s.startNs) / props.totalNs) * 1000)}
          height={h}
          fill={s.statusCode === 2 ? '#e24d42' : serviceColor(s.serviceName)}
        />
      ))}
    </svg>
  );
}

/** One span's details: status, timing, attributes by scope, events, links, and where to go from here. */
export function SpanDetails(props: { span: TraceSpan; traceStartNs: bigint; targets: CorrelationTargets }): React.JSX.Element {
  const s = props.span;
  const t = props.targets;
  return (
    <div className="span-details" data-testid="span-details">
      <div className="span-links">
        <ExploreAnchor link={spanLogsLink(t, s, true)} testId="span-logs-link">
          Logs for this span
        </ExploreAnchor>
        <ExploreAnchor link={spanLogsLink(t, s, false)}>Logs of {s.serviceName} around it</ExploreAnchor>
        <ExploreAnchor link={spanProfileLink(t, s, true)} testId="span-profile-link">
          Profile of this span
        </ExploreAnchor>
        <ExploreAnchor link={spanProfileLink(t, s, false)}>Profile of {s.serviceName} around it</ExploreAnchor>
        <ExploreAnchor link={spanMetricsLink(t, s)} testId="span-metrics-link">
          Request rate of {s.serviceName}
        </ExploreAnchor>
        <ExploreAnchor link={spanRedLink(t, s)} testId="span-red-link">
          RED metrics of {s.serviceName}
        </ExploreAnchor>
      </div>
      <table className="fields" data-kind="Span">
        <caption>Span</caption>
        <tbody>
          <tr>
            <th>span id</th>
            <td>{s.spanId}</td>
          </tr>
          {s.parentSpanId && (
            <tr>
              <th>parent</th>
              <td>{s.parentSpanId}</td>
            </tr>
          )}
          <tr>
            <th>kind</th>
            <td>{s.kind}</td>
          </tr>
          <tr>
            <th>status</th>
            <td data-testid="span-status">{['unset', 'ok', 'error'][s.statusCode]}{s.statusMessage ? `: ${s.statusMessage}` : ''}</td>
          </tr>
          <tr>
            <th>start</th>
            <td>+{formatDurationNs(Number(s.startNs - props.traceStartNs))}</td>
          </tr>
          <tr>
            <th>duration</th>
            <td>{formatDurationNs(Number(s.endNs - s.startNs))}</td>
          </tr>
        </tbody>
      </table>
      <FieldTable title="Span attributes" fields={s.attributes} />
      <FieldTable title="Resource attributes" fields={s.resource} />
      <FieldTable title="Instrumentation scope" fields={s.scope.name ? { name: s.scope.name, ...(s.scope.version ? { version: s.scope.version } : {}) } : {}} />
      {s.events.length > 0 && (
        <table className="fields" data-kind="Events">
          <caption>Events</caption>
          <tbody>
            {s.events.map((e, i) => (
              <tr key={i}>
                <th>+{formatDurationNs(Number(e.timeNs - s.startNs))}</th>
                <td>
                  {e.name}
                  {Object.keys(e.attributes).length > 0 && <span className="muted"> {Object.entries(e.attributes).map(([k, v]) => `${k}=${v}`).join(' ')}</span>}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {s.links.length > 0 && (
        <table className="fields" data-kind="Links">
          <caption>Links</caption>
          <tbody>
            {s.links.map((l, i) => (
              <tr key={i}>
                <th>
                  <ExploreAnchor link={traceLink(t.org, l.traceId, { from: String(Number(s.startNs / 1_000_000n) - 3_600_000), to: String(Number(s.endNs / 1_000_000n) + 3_600_000) }, t.tracesUid)}>
                    {l.traceId}
                  </ExploreAnchor>
                </th>
                <td>
                  span {l.spanId} {Object.entries(l.attributes).map(([k, v]) => `${k}=${v}`).join(' ')}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </div>
  );
}
