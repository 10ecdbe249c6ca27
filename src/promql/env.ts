import type { Annotations } from './annotations.ts';

/** The evaluation timestamps of one (sub)query: `n` steps from `start` to `end` every `interval` ms. */
export interface Steps {
  readonly start: number;
  readonly end: number;
  readonly interval: number;
  readonly n: number;
}

/** Creates the step grid; `interval` must be positive. */
export function makeSteps(start: number, end: number, interval: number): Steps {
  const n = end < start ? 0 : Math.floor((end - start) / interval) + 1;
  return { start, end, interval, n };
}

/** Services every evaluation stage uses: annotations, sample accounting, deadline checks. */
export interface EvalEnv {
  readonly annos: Annotations;
  /** Accounts `n` more samples held in memory; throws Prometheus' too-many-samples error past the limit. */
  track(n: number): void;
  /** Releases `n` samples (their holder was consumed). */
  release(n: number): void;
  /**
   * Throws the timeout or cancellation error if the query must stop. Cheap (a counter; the clock is read
   * every few calls): call it per series, and every few thousand steps inside a loop over steps.
   */
  checkDeadline(): void;
  /**
   * Accounts `n` bytes of label values the query produced (label_join, label_replace, count_values); throws
   * past the result-bytes budget. Call it before building the value, so an oversized one is never built.
   */
  trackLabelBytes(n: number): void;
}
