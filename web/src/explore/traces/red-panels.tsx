import { useEffect, useState } from 'react';
import { queryInstant, queryRange } from '../../datasource/prometheus.ts';
import { autoStepS } from '../../time/time-range.ts';
import { toGraphFrame } from '../result-frames.ts';
import { TimeSeriesGraph } from '../time-series-graph.tsx';
import type { GraphSeries } from '../time-series-graph.tsx';

/** The RED queries of a service over the metrics-generator's span metrics (Tempo's names), by operation. */
function redQueries(service: string, rateWindowS: number): { title: string; expr: string; unit: 'reqps' | 's' }[] {
  const sel = `service=${JSON.stringify(service)}`;
  const w = `${rateWindowS}s`;
  return [
    { title: 'Rate', expr: `sum by (span_name) (rate(traces_spanmetrics_calls_total{${sel}}[${w}]))`, unit: 'reqps' },
    { title: 'Errors', expr: `sum by (span_name) (rate(traces_spanmetrics_calls_total{${sel}, status_code="STATUS_CODE_ERROR"}[${w}]))`, unit: 'reqps' },
    { title: 'Duration (p95)', expr: `histogram_quantile(0.95, sum by (le, span_name) (rate(traces_spanmetrics_latency_bucket{${sel}}[${w}])))`, unit: 's' },
  ];
}

function formatUnit(unit: 'reqps' | 's'): (v: number) => string {
  return unit === 's' ? (v) => (v >= 1 ? `${v.toFixed(2)} s` : `${(v * 1000).toFixed(1)} ms`) : (v) => `${v.toLocaleString('en-US', { maximumFractionDigits: 3 })} req/s`;
}

type Panel = { title: string; timesS: number[]; series: GraphSeries[]; unit: 'reqps' | 's' };

/**
 * RED panels (rate, errors, duration) of one service from the span metrics, each by operation, over the range;
 * the service is picked among those the span metrics name (`red` in the URL, so a span can link here).
 */
export function RedPanels(props: { metricsUid: string | undefined; org: string; range: { startMs: number; endMs: number } | undefined; service: string; onService: (s: string) => void }): React.JSX.Element | null {
  const { metricsUid, org, range } = props;
  const [services, setServices] = useState<string[]>([]);
  const [panels, setPanels] = useState<Panel[] | { error: string } | undefined>();
  const service = props.service || services[0] || '';

  useEffect(() => {
    if (!metricsUid || !range) return undefined;
    const abort = new AbortController();
    const windowS = Math.max(60, Math.round((range.endMs - range.startMs) / 1000));
    queryInstant(metricsUid, org, `sum by (service) (count_over_time(traces_spanmetrics_calls_total[${windowS}s]))`, range.endMs / 1000, abort.signal).then(
      (r) => setServices(r.data.resultType === 'vector' ? r.data.result.map((s) => s.metric.service ?? '').filter((s) => s !== '').sort() : []),
      () => setServices([]),
    );
    return () => abort.abort();
  }, [metricsUid, org, range]);

  useEffect(() => {
    if (!metricsUid || !range || !service) return undefined;
    const abort = new AbortController();
    setPanels(undefined);
    const stepS = autoStepS(range.startMs, range.endMs, window.innerWidth / 3);
    // The rate window spans a few steps, so a counter scraped each step still has two samples in it.
    const rateWindowS = Math.max(60, stepS * 4);
    Promise.all(
      redQueries(service, rateWindowS).map(async (q) => ({ title: q.title, unit: q.unit, ...toGraphFrame((await queryRange(metricsUid, org, q.expr, range.startMs / 1000, range.endMs / 1000, stepS, abort.signal)).data) })),
    ).then(setPanels, (err: unknown) => {
      if (!abort.signal.aborted) setPanels({ error: (err as Error).message });
    });
    return () => abort.abort();
  }, [metricsUid, org, range, service]);

  if (!metricsUid) return null;
  return (
    <section className="red-panels" data-testid="red-panels" data-service={service}>
      <div className="options-row">
        <h3>RED metrics of</h3>
        <select value={service} onChange={(e) => props.onService(e.target.value)} aria-label="RED service" data-testid="red-service">
          {[...new Set([service, ...services])].filter((s) => s !== '').map((s) => (
            <option key={s}>{s}</option>
          ))}
        </select>
        <span className="muted">from the span metrics (traces_spanmetrics_*), by operation</span>
      </div>
      {panels && 'error' in panels && <div className="error-box" role="alert">{panels.error}</div>}
      {!service && <div className="empty">No span metrics in this range.</div>}
      {Array.isArray(panels) && (
        <div className="red-grid">
          {panels.map((p) => (
            <div key={p.title} className="red-panel" data-testid="red-panel" data-title={p.title} data-series={p.series.length}>
              <h4>{p.title}</h4>
              {p.series.length === 0 ? <div className="empty">No data</div> : <TimeSeriesGraph timesS={p.timesS} series={p.series} height={160} formatValue={formatUnit(p.unit)} />}
            </div>
          ))}
        </div>
      )}
    </section>
  );
}
