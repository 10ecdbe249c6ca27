import { useState } from 'react';
import { compareNs, lokiQueryRange } from '../datasource/loki.ts';
import type { LogLine } from '../datasource/loki.ts';
import { LogLines } from './logs-pane.tsx';

/** Lines shown on each side of the line. */
const CONTEXT_LINES = 10;
/** How far before and after the line the context is looked for. */
const CONTEXT_WINDOW_MS = 3_600_000;

/** `{a="x", b="y"}`: the selector of exactly the line's stream. */
export function streamSelector(stream: Readonly<Record<string, string>>): string {
  return `{${Object.entries(stream).map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(', ')}}`;
}

/**
 * "Show context": the {@link CONTEXT_LINES} lines of the same stream just before and just after a line (as
 * Grafana's log context does, over the stream's labels only), oldest first with the line itself between them.
 */
export function LogContext(props: { datasourceUid: string; org: string; line: LogLine }): React.JSX.Element {
  const [state, setState] = useState<{ lines: LogLine[] } | { error: string } | 'loading' | undefined>();
  const { line } = props;
  const show = async (): Promise<void> => {
    setState('loading');
    const tsMs = Number(line.timestampNs.slice(0, -6));
    const expr = streamSelector(line.stream);
    try {
      const [before, after] = await Promise.all([
        lokiQueryRange(props.datasourceUid, props.org, expr, { startMs: tsMs - CONTEXT_WINDOW_MS, endMs: tsMs + 1, limit: CONTEXT_LINES + 5, direction: 'backward' }),
        lokiQueryRange(props.datasourceUid, props.org, expr, { startMs: tsMs, endMs: tsMs + CONTEXT_WINDOW_MS, limit: CONTEXT_LINES + 5, direction: 'forward' }),
      ]);
      const same = (l: LogLine): boolean => l.timestampNs === line.timestampNs && l.line === line.line;
      const older = (before.kind === 'logs' ? before.lines : []).filter((l) => !same(l) && compareNs(l.timestampNs, line.timestampNs) <= 0).slice(0, CONTEXT_LINES).reverse();
      const newer = (after.kind === 'logs' ? after.lines : []).filter((l) => !same(l) && compareNs(l.timestampNs, line.timestampNs) > 0).slice(0, CONTEXT_LINES);
      setState({ lines: [...older, line, ...newer] });
    } catch (err) {
      setState({ error: (err as Error).message });
    }
  };
  return (
    <div className="log-context">
      <button type="button" className="btn" data-testid="show-context" onClick={() => void show()} disabled={state === 'loading'}>
        {state === undefined ? 'Show context' : 'Reload context'}
      </button>
      {state !== undefined && state !== 'loading' && (
        <div data-testid="log-context">
          {'error' in state ? <div className="error-box">{state.error}</div> : <LogLines lines={state.lines} highlight={line} />}
        </div>
      )}
    </div>
  );
}
