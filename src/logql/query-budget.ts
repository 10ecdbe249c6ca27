import { QueryDeadline } from '../storage/index.ts';
import { LogqlError } from './errors.ts';
import type { PipelineBudget } from './pipeline.ts';

/**
 * The budgets one LogQL query enforces while it runs: its wall time and cancellation (checked per line and
 * inside templates, since evaluation runs in synchronous stretches no timer can interrupt) and the size of
 * lines and labels its formatters produce. One per query; not shared.
 */
export class LogqlBudget {
  /** What the query's pipelines enforce per entry. */
  readonly pipeline: PipelineBudget;
  private readonly deadline: QueryDeadline;
  private points = 0;

  /**
   * @param maxPoints step slots the query may allocate over its life (`logs.query.max_samples`): evaluation
   * holds every series over the whole step grid, so series × steps is its memory.
   */
  constructor(
    private readonly timeoutMs: number,
    signal: AbortSignal | undefined,
    maxLineBytes: number,
    private readonly maxPoints = Infinity,
  ) {
    this.deadline = QueryDeadline.after(timeoutMs, signal);
    this.pipeline = { maxLineBytes, tick: () => this.check() };
  }

  /** Counts one entry; now and then looks at the clock and the signal, and throws if the query must stop. */
  tick(): void {
    const stop = this.deadline.tick();
    if (stop) throw this.stopError(stop);
  }

  /** Charges `n` step slots about to be allocated; throws before the allocation once past the budget. */
  hold(n: number): void {
    this.points += n;
    if (this.points > this.maxPoints) {
      throw new LogqlError(
        'bad_data',
        `the query would hold too many points (limit ${this.maxPoints}, series × steps); add stream selectors or aggregate, shorten the range, use a longer step, or raise logs.query.max_samples`,
      );
    }
  }

  /** Throws now if the query must stop. */
  check(): void {
    const stop = this.deadline.poll();
    if (stop) throw this.stopError(stop);
  }

  private stopError(stop: 'timeout' | 'canceled'): LogqlError {
    if (stop === 'canceled') return new LogqlError('canceled', 'the query was canceled');
    return new LogqlError('timeout', `query timed out after ${this.timeoutMs / 1000}s (logs.query.timeout)`);
  }
}
