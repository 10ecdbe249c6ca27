import { useEffect, useState } from 'react';
import type { LogLine } from '../datasource/loki.ts';
import { proxyBase } from '../datasource/proxy-fetch.ts';
import { LogLines } from './logs-pane.tsx';

/** Lines kept on screen while tailing (the oldest go). */
const MAX_LIVE_LINES = 1000;

type TailFrame = { streams?: { stream: Record<string, string>; values: [string, string, Record<string, string>?][] }[]; dropped_entries?: unknown[] };

/**
 * Live tail: the query's new lines as they arrive, newest first, over Loki's tail WebSocket through Heimdall's
 * proxy (the org goes in the URL: a browser's WebSocket carries no custom headers). Closes when unmounted.
 */
export function LiveTail(props: { datasourceUid: string; org: string; expr: string }): React.JSX.Element {
  const [lines, setLines] = useState<LogLine[]>([]);
  const [status, setStatus] = useState<'connecting' | 'live' | string>('connecting');
  useEffect(() => {
    setLines([]);
    setStatus('connecting');
    const url = new URL(`${proxyBase(props.datasourceUid)}/loki/api/v1/tail`, window.location.href);
    url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
    url.search = new URLSearchParams({ org: props.org, query: props.expr, limit: '100' }).toString();
    const socket = new WebSocket(url);
    socket.onopen = () => setStatus('live');
    socket.onmessage = (e: MessageEvent<string>) => {
      const frame = JSON.parse(e.data) as TailFrame;
      const fresh: LogLine[] = [];
      for (const s of frame.streams ?? []) {
        for (const [timestampNs, line, sm] of s.values) fresh.push({ timestampNs, line, stream: s.stream, structuredMetadata: sm ?? {}, parsed: {} });
      }
      fresh.sort((a, b) => (a.timestampNs < b.timestampNs ? 1 : -1));
      if (fresh.length > 0) setLines((old) => [...fresh, ...old].slice(0, MAX_LIVE_LINES));
    };
    socket.onclose = (e) => setStatus(e.code === 1000 || e.code === 1005 ? 'closed' : `closed: ${e.reason || e.code}`);
    return () => socket.close();
  }, [props.datasourceUid, props.org, props.expr]);
  return (
    <div className="live-tail" data-testid="live-tail" data-status={status}>
      <div className="status">{status === 'live' ? `Live: ${lines.length} lines` : status}</div>
      {lines.length > 0 ? <LogLines lines={lines} /> : <div className="empty">Waiting for new lines…</div>}
    </div>
  );
}
