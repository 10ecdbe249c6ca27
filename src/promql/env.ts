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
  /** Throws the timeout or cancellation error if the query must stop. */
  checkDeadline(): void;
}
