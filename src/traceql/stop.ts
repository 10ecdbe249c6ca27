import { HeimdallError } from '../model/index.ts';
import type { QueryStopReason } from '../storage/index.ts';

/** The error a TraceQL query ends with when its deadline passes or its caller cancels it. */
export function stopError(reason: QueryStopReason): HeimdallError {
  return reason === 'canceled'
    ? new HeimdallError('canceled', 'the query was canceled', { code: 'query_canceled' })
    : new HeimdallError('timeout', 'the query timed out (traces.query_timeout)', { code: 'query_timeout' });
}
