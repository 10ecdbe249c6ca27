import type { NativeHistogram } from '../model/index.ts';
import type { ReadPart } from './block-store.ts';
import { lowerBound } from './mem-series.ts';

/** Histogram samples of one series from one source, ascending by time. */
export interface HistogramPart {
  ts: number[];
  hs: NativeHistogram[];
}

const EMPTY = new Float64Array(0);

/** The samples of `ts[0..n)` / `vs` with `minT ≤ t ≤ maxT`, as views. */
export function sliceRange(ts: Float64Array, vs: Float64Array, n: number, minT: number, maxT: number): ReadPart {
  const lo = lowerBound(ts, n, minT);
  let hi = lo;
  while (hi < n && ts[hi]! <= maxT) hi++;
  return { ts: ts.subarray(lo, hi), vs: vs.subarray(lo, hi) };
}

/** The histogram samples with `minT ≤ t ≤ maxT`, copied. */
export function sliceHist(ts: number[], hs: NativeHistogram[], minT: number, maxT: number): HistogramPart {
  const out: HistogramPart = { ts: [], hs: [] };
  for (let i = 0; i < ts.length; i++) {
    if (ts[i]! >= minT && ts[i]! <= maxT) {
      out.ts.push(ts[i]!);
      out.hs.push(hs[i]!);
    }
  }
  return out;
}

/**
 * Merges sorted parts (oldest source first) into one ascending run. On equal timestamps the later part
 * wins, so the head overrides blocks.
 */
export function mergeParts(parts: readonly ReadPart[]): { ts: Float64Array; vs: Float64Array } {
  const nonEmpty = parts.filter((p) => p.ts.length > 0);
  if (nonEmpty.length === 0) return { ts: EMPTY, vs: EMPTY };
  // Parts are fresh copies (head ranges, block reads) or frozen flush snapshots, never mutated afterwards.
  if (nonEmpty.length === 1) return { ts: nonEmpty[0]!.ts, vs: nonEmpty[0]!.vs };
  let total = 0;
  let ordered = true;
  let last = -Infinity;
  for (const p of nonEmpty) {
    total += p.ts.length;
    if (p.ts[0]! <= last) ordered = false;
    last = p.ts[p.ts.length - 1]!;
  }
  const ts = new Float64Array(total);
  const vs = new Float64Array(total);
  if (ordered) {
    let pos = 0;
    for (const p of nonEmpty) {
      ts.set(p.ts, pos);
      vs.set(p.vs, pos);
      pos += p.ts.length;
    }
    return { ts, vs };
  }
  // Overlapping sources (late samples, a flush racing a query): sort by (time, source), keep the last.
  const idx: [number, number, number][] = [];
  nonEmpty.forEach((p, pi) => {
    for (let i = 0; i < p.ts.length; i++) idx.push([p.ts[i]!, pi, i]);
  });
  idx.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  let n = 0;
  for (let k = 0; k < idx.length; k++) {
    const [t, pi, i] = idx[k]!;
    if (k + 1 < idx.length && idx[k + 1]![0] === t) continue;
    ts[n] = t;
    vs[n] = nonEmpty[pi]!.vs[i]!;
    n++;
  }
  return { ts: ts.slice(0, n), vs: vs.slice(0, n) };
}

/** Merges histogram parts (oldest source first); on equal timestamps the later part wins. */
export function mergeHistParts(parts: readonly HistogramPart[]): HistogramPart {
  const byT = new Map<number, NativeHistogram>();
  for (const p of parts) for (let i = 0; i < p.ts.length; i++) byT.set(p.ts[i]!, p.hs[i]!);
  const ts = [...byT.keys()].sort((a, b) => a - b);
  return { ts, hs: ts.map((t) => byT.get(t)!) };
}
