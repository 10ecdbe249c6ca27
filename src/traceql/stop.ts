import { HeimdallError } from '../model/index.ts';
import type { QueryDeadline, QueryStopReason } from '../storage/index.ts';

/** The error a TraceQL query ends with when its deadline passes or its caller cancels it. */
export function stopError(reason: QueryStopReason): HeimdallError {
  return reason === 'canceled'
    ? new HeimdallError('canceled', 'the query was canceled', { code: 'query_canceled' })
    : new HeimdallError('timeout', 'the query timed out (traces.query.timeout)', { code: 'query_timeout' });
}

/**
 * Reads a storage selection under a deadline: stops before the first batch when the query is already over,
 * and turns whatever storage throws after a cancel or timeout (an AbortError) into the query's stop error.
 */
export async function* stoppable<T>(source: AsyncIterable<T>, deadline: QueryDeadline): AsyncGenerator<T> {
  const before = deadline.poll();
  if (before !== undefined) throw stopError(before);
  try {
    for await (const item of source) yield item;
  } catch (err) {
    const stop = deadline.poll();
    if (stop !== undefined) throw stopError(stop);
    throw err;
  }
}
