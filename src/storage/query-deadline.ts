/** Why a running query must stop: its wall-time budget ran out, or its caller cancelled it. */
export type QueryStopReason = 'timeout' | 'canceled';

/**
 * The wall-time budget of one running query, checked from inside the engines' evaluation loops.
 *
 * Engines evaluate in long synchronous stretches (a batch of lines, a step grid), during which neither
 * timers nor abort events can run: a query has to look at the clock and at its `AbortSignal` itself. `tick()`
 * is cheap enough for an inner loop (a counter decrement; the clock is read once every `every` calls), so
 * a loop calls it once per iteration and the query still ends within milliseconds of its deadline.
 *
 * Not shared between queries; not thread-safe (one query runs on one thread).
 */
export class QueryDeadline {
  private countdown: number;

  /**
   * @param deadlineMs absolute `Date.now()` time after which the query has timed out (Infinity: never).
   * @param signal cancellation by the caller (client disconnect, shutdown); checked at the same points.
   * @param every how many `tick()` calls pass between two looks at the clock.
   */
  constructor(
    readonly deadlineMs: number,
    readonly signal?: AbortSignal,
    private readonly every = 1024,
  ) {
    this.countdown = every;
  }

  /** A deadline `timeoutMs` from now. */
  static after(timeoutMs: number, signal?: AbortSignal): QueryDeadline {
    return new QueryDeadline(Date.now() + timeoutMs, signal);
  }

  /** Counts one unit of work; every `every` calls, returns why the query must stop (else undefined). */
  tick(): QueryStopReason | undefined {
    if (--this.countdown > 0) return undefined;
    this.countdown = this.every;
    return this.poll();
  }

  /** Looks at the signal and the clock now. Cancellation wins over a timeout that happens at the same time. */
  poll(): QueryStopReason | undefined {
    if (this.signal?.aborted) return 'canceled';
    if (Date.now() > this.deadlineMs) return 'timeout';
    return undefined;
  }
}
