import type { Labels } from '../model/index.ts';

/**
 * The evaluation grid of a metric query: `count` instants `startNs + i*stepNs` (an instant query has one).
 */
export interface StepGrid {
  readonly startNs: bigint;
  readonly stepNs: bigint;
  readonly count: number;
}

/** The instant of step `i`. */
export function stepAt(grid: StepGrid, i: number): bigint {
  return grid.startNs + BigInt(i) * grid.stepNs;
}

/**
 * One series over the grid: `values[i]` is meaningful only where `present[i]` is 1 (NaN is a real value in
 * LogQL, so absence needs its own mask).
 */
export interface StepSeries {
  labels: Labels;
  readonly values: Float64Array;
  readonly present: Uint8Array;
}

export function newStepSeries(labels: Labels, n: number): StepSeries {
  return { labels, values: new Float64Array(n), present: new Uint8Array(n) };
}

/** The value of an intermediate expression: a scalar, or a vector per step. */
export type EvalValue = { readonly kind: 'scalar'; readonly value: number } | { readonly kind: 'vector'; readonly series: StepSeries[] };
