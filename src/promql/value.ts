import { METRIC_NAME_LABEL, labelsKey } from '../model/index.ts';
import type { Labels } from '../model/index.ts';
import type { FloatHistogram } from './histogram.ts';

/** Presence of a value at a step: absent, a float, or a native histogram. */
export const ABSENT = 0;
export const FLOAT = 1;
export const HIST = 2;

/**
 * One series of an instant vector evaluated over all steps of a query, columnar: `vals[k]` and `pres[k]`
 * describe step k. `hists[k]` holds the histogram where `pres[k] === HIST`.
 * `dropName` marks series whose metric name is removed at the end of evaluation (Prometheus' delayed
 * `__name__` removal).
 */
export interface StepSeries {
  labels: Labels;
  dropName: boolean;
  readonly vals: Float64Array;
  readonly pres: Uint8Array;
  hists: (FloatHistogram | undefined)[] | undefined;
}

/** An empty sample array shared by every series without samples of a kind (it has nothing to write to). */
export const NO_SAMPLES = new Float64Array(0);
/** The histograms of a series without any (shared; never appended to). */
export const NO_HISTOGRAMS: readonly FloatHistogram[] = Object.freeze([]);

/** One series' raw samples in time order (a range vector element), stale markers removed. */
export interface RawSeries {
  readonly labels: Labels;
  readonly dropName?: boolean;
  readonly ft: Float64Array;
  readonly fv: Float64Array;
  readonly ht: Float64Array;
  readonly hv: readonly FloatHistogram[];
}

export type EvalValue =
  | { readonly kind: 'vector'; readonly series: StepSeries[] }
  | { readonly kind: 'scalar'; readonly vals: Float64Array }
  | { readonly kind: 'string'; readonly value: string }
  | { readonly kind: 'matrix'; readonly series: RawSeries[] };

/**
 * Step arrays are carved from shared slabs: a query makes one `vals`/`pres` pair per series, and a fresh
 * ArrayBuffer each (an off-heap allocation tracked by the GC) cost a fifth of a range query's CPU in the
 * metrics bench's profile. Views into a zero-filled slab are cheaper and never shared, so each is as new.
 *
 * Slabs are recycled between evaluations: megabytes of new ArrayBuffers per query (18 MiB for a `rate()`
 * over 8,400 series) drove V8 into "external memory pressure" collections. The engine calls
 * {@link recycleStepSlabs} once an evaluation's result has been copied out of its step series, and the next
 * evaluation reuses those slabs (zeroed again). Only a bounded number are tracked and kept.
 */
const SLAB_BYTES = 1 << 20;
/** Slabs handed out since the last recycling (at most MAX_TRACKED; later ones are left to the GC). */
const handedOut: ArrayBuffer[] = [];
const MAX_TRACKED = 32;
/** Recycled slabs, zeroed when taken. */
const spare: ArrayBuffer[] = [];
const MAX_SPARE = 16;
let slab = new ArrayBuffer(0);
let slabUsed = 0;

function nextSlab(): ArrayBuffer {
  const reused = spare.pop();
  const next = reused ?? new ArrayBuffer(SLAB_BYTES);
  if (reused) new Uint8Array(reused).fill(0);
  if (handedOut.length < MAX_TRACKED) handedOut.push(next);
  return next;
}

/**
 * Makes the slabs of every step series created so far reusable. Call only when none of those series can be
 * read again: the engine does once an evaluation's result is built (results copy their values out).
 */
export function recycleStepSlabs(): void {
  for (const s of handedOut) if (spare.length < MAX_SPARE) spare.push(s);
  handedOut.length = 0;
  slab = new ArrayBuffer(0);
  slabUsed = 0;
}

/** Creates an empty step series. */
export function newStepSeries(labels: Labels, numSteps: number, dropName = false): StepSeries {
  const bytes = (numSteps * 9 + 7) & ~7;
  if (bytes > SLAB_BYTES >> 4) {
    return { labels, dropName, vals: new Float64Array(numSteps), pres: new Uint8Array(numSteps), hists: undefined };
  }
  if (slabUsed + bytes > slab.byteLength) {
    slab = nextSlab();
    slabUsed = 0;
  }
  const at = slabUsed;
  slabUsed += bytes;
  return {
    labels,
    dropName,
    vals: new Float64Array(slab, at, numSteps),
    pres: new Uint8Array(slab, at + numSteps * 8, numSteps),
    hists: undefined,
  };
}

/** Sets a histogram value at step k. */
export function setHist(s: StepSeries, k: number, h: FloatHistogram, numSteps: number): void {
  if (!s.hists) s.hists = new Array<FloatHistogram | undefined>(numSteps);
  s.hists[k] = h;
  s.pres[k] = HIST;
}

/**
 * Labels without the metric name and the other metadata labels (`__type__`, `__unit__`), which Prometheus
 * drops together (`DropReserved(schema.IsMetadataLabel)`).
 */
export function dropMetricName(labels: Labels): Labels {
  if (!(METRIC_NAME_LABEL in labels) && !('__type__' in labels) && !('__unit__' in labels)) return labels;
  const out: Record<string, string> = {};
  for (const k in labels) if (k !== METRIC_NAME_LABEL && k !== '__type__' && k !== '__unit__') out[k] = labels[k]!;
  return out;
}

/** A canonical identity string for a label set. */
export function keyOf(labels: Labels): string {
  return labelsKey(labels);
}

