import type { DiscardReason, Signal } from './signal.ts';

/**
 * Why one record (or part of it) was refused. `message` is the upstream-style text naming the offending
 * value, the limit and the setting that controls it; `subject` identifies the series or stream.
 */
export interface Rejection {
  readonly signal: Signal;
  readonly reason: DiscardReason;
  readonly message: string;
  readonly subject?: string;
  /** How many records this rejection stands for (samples of one series, entries of one stream). */
  readonly count: number;
}
