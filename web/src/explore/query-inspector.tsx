import { useState } from 'react';
import type { RequestRecord } from '../datasource/proxy-fetch.ts';

/** What the inspector shows about the last run of a query. */
export interface Inspection {
  readonly record: RequestRecord;
  readonly series: number;
  readonly samples: number;
  readonly warnings: readonly string[];
  readonly raw?: unknown;
}

const RAW_LIMIT = 200_000;

/** The query inspector: the request sent, how long it took, status, size, series and sample counts, the raw answer. */
export function QueryInspector(props: { inspection: Inspection }): React.JSX.Element {
  const [showRaw, setShowRaw] = useState(false);
  const { record, series, samples, warnings } = props.inspection;
  const url = new URL(record.url, window.location.origin);
  const raw = showRaw ? JSON.stringify(props.inspection.raw, null, 2) : '';
  return (
    <div className="inspector" data-testid="query-inspector">
      <dl>
        <dt>Request</dt>
        <dd>
          <code>
            {record.method} {url.pathname}
          </code>
        </dd>
        {[...url.searchParams].map(([k, v]) => (
          <div key={k} className="param">
            <dt>{k}</dt>
            <dd>
              <code>{v}</code>
            </dd>
          </div>
        ))}
        <dt>Org</dt>
        <dd>{record.org}</dd>
        <dt>Status</dt>
        <dd>{record.status}</dd>
        <dt>Response time</dt>
        <dd data-testid="inspector-duration">{record.durationMs} ms</dd>
        <dt>Response size</dt>
        <dd>{record.responseBytes.toLocaleString()} bytes</dd>
        <dt>Series</dt>
        <dd data-testid="inspector-series">{series}</dd>
        <dt>Samples</dt>
        <dd data-testid="inspector-samples">{samples}</dd>
        {warnings.length > 0 && (
          <>
            <dt>Warnings</dt>
            <dd>{warnings.join('; ')}</dd>
          </>
        )}
      </dl>
      <button type="button" className="link" onClick={() => setShowRaw(!showRaw)}>
        {showRaw ? 'Hide' : 'Show'} response JSON
      </button>
      {showRaw && <pre className="raw">{raw.length > RAW_LIMIT ? `${raw.slice(0, RAW_LIMIT)}\n… (${raw.length - RAW_LIMIT} more characters)` : raw}</pre>}
    </div>
  );
}
