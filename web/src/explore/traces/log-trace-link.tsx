import type { LogLine } from '../../datasource/loki.ts';
import type { DatasourceCorrelations } from '../../shell/settings.ts';
import { traceIdOfLogLine, traceLink } from '../correlations.ts';
import { ExploreAnchor } from '../explore-link.tsx';

const AROUND_MS = 3_600_000;

/**
 * "Open trace …" for a log line that names a trace (label, structured metadata, parsed field or in the text, as
 * the logs source's correlations say), in the traces source they name.
 */
export function LogTraceLink(props: { line: LogLine; org: string; correlations: DatasourceCorrelations }): React.JSX.Element | null {
  const l = props.line;
  const traceId = traceIdOfLogLine([l.structuredMetadata, l.parsed, l.stream], l.line, props.correlations);
  if (!traceId) return null;
  // The way back keeps the line's time: the trace view's range is an hour either side of it.
  const atMs = Number(l.timestampNs.slice(0, -6));
  return (
    <ExploreAnchor link={traceLink(props.org, traceId, { from: String(atMs - AROUND_MS), to: String(atMs + AROUND_MS) }, props.correlations.traces_uid)} className="btn correlation-link" testId="log-trace-link">
      Open trace {traceId}
    </ExploreAnchor>
  );
}
