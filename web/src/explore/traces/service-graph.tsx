import { useEffect, useState } from 'react';
import { queryInstant } from '../../datasource/prometheus.ts';
import type { QueryData } from '../../datasource/prometheus.ts';

/** A client → server edge of the service graph with its request rate, error rate and p95 latency over the range. */
export interface ServiceEdge {
  readonly client: string;
  readonly server: string;
  readonly ratePerS: number;
  readonly errorRatePerS: number;
  readonly p95S: number | undefined;
}

type Outcome = { state: 'running' } | { state: 'done'; edges: ServiceEdge[] } | { state: 'error'; message: string };

function byPair(data: QueryData): Map<string, number> {
  const out = new Map<string, number>();
  if (data.resultType !== 'vector') return out;
  for (const s of data.result) {
    const v = Number(s.value?.[1]);
    out.set(`${s.metric.client ?? ''}\u0000${s.metric.server ?? ''}`, Number.isFinite(v) ? v : 0);
  }
  return out;
}

/**
 * The edges of the service graph from the metrics-generator's `traces_service_graph_*` series in the metrics data
 * source, as Grafana's service map reads them: rates over the whole range at its end, p95 from the server-side
 * latency histogram.
 */
export async function loadServiceGraph(metricsUid: string, org: string, range: { startMs: number; endMs: number }, signal?: AbortSignal): Promise<ServiceEdge[]> {
  const windowS = Math.max(60, Math.round((range.endMs - range.startMs) / 1000));
  const at = range.endMs / 1000;
  const [rate, failed, p95] = await Promise.all([
    queryInstant(metricsUid, org, `sum by (client, server) (rate(traces_service_graph_request_total[${windowS}s]))`, at, signal),
    queryInstant(metricsUid, org, `sum by (client, server) (rate(traces_service_graph_request_failed_total[${windowS}s]))`, at, signal),
    queryInstant(metricsUid, org, `histogram_quantile(0.95, sum by (client, server, le) (rate(traces_service_graph_request_server_seconds_bucket[${windowS}s])))`, at, signal),
  ]);
  const failedBy = byPair(failed.data);
  const p95By = byPair(p95.data);
  return [...byPair(rate.data)].map(([key, ratePerS]) => {
    const [client, server] = key.split('\u0000') as [string, string];
    const p = p95By.get(key);
    return { client, server, ratePerS, errorRatePerS: failedBy.get(key) ?? 0, p95S: p === undefined || Number.isNaN(p) ? undefined : p };
  });
}

/** Columns by longest path from the services nobody calls (cycles cut), rows in name order. */
function layout(edges: readonly ServiceEdge[]): Map<string, { col: number; row: number }> {
  const nodes = [...new Set(edges.flatMap((e) => [e.client, e.server]))].sort();
  const depth = new Map(nodes.map((n) => [n, 0]));
  for (let pass = 0; pass < nodes.length; pass++) {
    let changed = false;
    for (const e of edges) {
      if (e.client === e.server) continue;
      const d = depth.get(e.client)! + 1;
      if (d > depth.get(e.server)! && d < nodes.length) {
        depth.set(e.server, d);
        changed = true;
      }
    }
    if (!changed) break;
  }
  const rows = new Map<number, number>();
  const out = new Map<string, { col: number; row: number }>();
  for (const n of nodes) {
    const col = depth.get(n)!;
    const row = rows.get(col) ?? 0;
    rows.set(col, row + 1);
    out.set(n, { col, row });
  }
  return out;
}

const COL_PX = 240;
const ROW_PX = 110;
const R = 28;

function formatRate(v: number): string {
  return v >= 100 ? v.toFixed(0) : v >= 1 ? v.toFixed(1) : v.toFixed(3);
}

/**
 * The service graph (a node graph): a circle per service (its incoming request rate, the red share its error rate),
 * an arrow per edge labelled with rate, error share and p95. A click on a service searches its traces.
 */
export function ServiceGraph(props: { metricsUid: string | undefined; org: string; range: { startMs: number; endMs: number } | undefined; onService: (service: string) => void }): React.JSX.Element {
  const [outcome, setOutcome] = useState<Outcome>({ state: 'running' });
  const { metricsUid, org, range } = props;
  useEffect(() => {
    if (!metricsUid || !range) return undefined;
    const abort = new AbortController();
    setOutcome({ state: 'running' });
    loadServiceGraph(metricsUid, org, range, abort.signal).then(
      (edges) => setOutcome({ state: 'done', edges }),
      (err: unknown) => {
        if (!abort.signal.aborted) setOutcome({ state: 'error', message: (err as Error).message });
      },
    );
    return () => abort.abort();
  }, [metricsUid, org, range]);
  if (!metricsUid) return <div className="empty">The service graph reads the metrics-generator's series: configure a Prometheus data source.</div>;
  if (outcome.state === 'running') return <div className="loading-page">Loading the service graph…</div>;
  if (outcome.state === 'error') return <div className="error-box" role="alert">{outcome.message}</div>;
  const edges = outcome.edges;
  if (edges.length === 0) return <div className="empty" data-testid="service-graph-empty">No service graph edges in this range (traces_service_graph_request_total).</div>;
  const pos = layout(edges);
  const at = (n: string): { x: number; y: number } => {
    const p = pos.get(n)!;
    return { x: 90 + p.col * COL_PX, y: 60 + p.row * ROW_PX };
  };
  const width = 180 + Math.max(...[...pos.values()].map((p) => p.col)) * COL_PX;
  const height = 120 + Math.max(...[...pos.values()].map((p) => p.row)) * ROW_PX;
  const incoming = new Map<string, { rate: number; errors: number }>();
  for (const e of edges) {
    const t = incoming.get(e.server) ?? { rate: 0, errors: 0 };
    t.rate += e.ratePerS;
    t.errors += e.errorRatePerS;
    incoming.set(e.server, t);
  }
  return (
    <svg className="service-graph" data-testid="service-graph" width={width} height={height} viewBox={`0 0 ${width} ${height}`}>
      <defs>
        <marker id="sg-arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse">
          <path d="M 0 0 L 10 5 L 0 10 z" fill="#8e939c" />
        </marker>
      </defs>
      {edges.map((e) => {
        const a = at(e.client);
        const b = at(e.server);
        const dx = b.x - a.x;
        const dy = b.y - a.y;
        const len = Math.hypot(dx, dy) || 1;
        const [x1, y1, x2, y2] = [a.x + (dx / len) * R, a.y + (dy / len) * R, b.x - (dx / len) * (R + 2), b.y - (dy / len) * (R + 2)];
        const errPct = e.ratePerS > 0 ? (e.errorRatePerS / e.ratePerS) * 100 : 0;
        return (
          <g key={`${e.client}->${e.server}`} className="sg-edge" data-testid="service-graph-edge" data-client={e.client} data-server={e.server}>
            <line x1={x1} y1={y1} x2={x2} y2={y2} stroke={errPct > 0 ? '#e24d42' : '#8e939c'} strokeWidth={1.5} markerEnd="url(#sg-arrow)" />
            <text x={(x1 + x2) / 2} y={(y1 + y2) / 2 - 6} textAnchor="middle">
              {formatRate(e.ratePerS)} req/s{errPct > 0 ? ` · ${errPct.toFixed(1)}% err` : ''}
              {/* With no requests in the window histogram_quantile has nothing to say; 0 would read as "fast". */}
              {e.p95S !== undefined && e.ratePerS > 0 ? ` · p95 ${(e.p95S * 1000).toFixed(0)} ms` : ''}
            </text>
          </g>
        );
      })}
      {[...pos.keys()].map((n) => {
        const p = at(n);
        const inc = incoming.get(n);
        const errShare = inc && inc.rate > 0 ? inc.errors / inc.rate : 0;
        const circumference = 2 * Math.PI * R;
        return (
          <g key={n} className="sg-node" data-testid="service-graph-node" data-service={n} onClick={() => props.onService(n)} role="button" aria-label={`Traces of ${n}`}>
            <circle cx={p.x} cy={p.y} r={R} fill="#181b1f" stroke="#7eb26d" strokeWidth={4} />
            {errShare > 0 && (
              <circle cx={p.x} cy={p.y} r={R} fill="none" stroke="#e24d42" strokeWidth={4} strokeDasharray={`${errShare * circumference} ${circumference}`} transform={`rotate(-90 ${p.x} ${p.y})`} />
            )}
            <text x={p.x} y={p.y + 4} textAnchor="middle" className="sg-rate">
              {inc ? formatRate(inc.rate) : '–'}
            </text>
            <text x={p.x} y={p.y + R + 16} textAnchor="middle">
              {n}
            </text>
          </g>
        );
      })}
    </svg>
  );
}
