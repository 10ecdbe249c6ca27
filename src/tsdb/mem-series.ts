import type { Exemplar, Labels, NativeHistogram } from '../model/index.ts';

/** Exemplars kept per series in memory; older ones are dropped first (Prometheus keeps a bounded ring too). */
export const MAX_EXEMPLARS_PER_SERIES = 16;

/**
 * One series as the head knows it: its labels, its in-memory (not yet flushed) samples and what ingest
 * needs to validate the next sample (`maxT`, `lastValue`) even after the samples moved to a block.
 *
 * Samples are kept in two parallel growable Float64Arrays sorted by time (values keep exact NaN bits).
 */
export class MemSeries {
  /** Newest float sample timestamp ever accepted (-Infinity if none): the out-of-order reference. */
  maxT = -Infinity;
  /** Value at `maxT`, to tell a duplicate from a conflicting sample. */
  lastValue = 0;
  /** Oldest and newest timestamps over all data (head and blocks), for range pruning. */
  minDataT = Infinity;
  maxDataT = -Infinity;
  /** Whether a SERIES record for this series is in the WAL or a checkpoint. */
  walLogged = false;

  ts: Float64Array | null = null;
  vs: Float64Array | null = null;
  n = 0;

  histTs: number[] | null = null;
  hists: NativeHistogram[] | null = null;
  maxHistT = -Infinity;

  exemplars: Exemplar[] | null = null;

  constructor(
    readonly ref: number,
    readonly tenant: string,
    /** Keys in byte order; treat as immutable. */
    readonly labels: Labels,
    readonly hash: number,
  ) {}

  /** Adds a float sample in time order; an equal timestamp replaces the stored value. */
  insert(t: number, v: number): void {
    if (this.ts === null || this.vs === null) {
      this.ts = new Float64Array(8);
      this.vs = new Float64Array(8);
    } else if (this.n === this.ts.length) {
      const cap = this.ts.length * 2;
      const ts = new Float64Array(cap);
      ts.set(this.ts);
      const vs = new Float64Array(cap);
      vs.set(this.vs);
      this.ts = ts;
      this.vs = vs;
    }
    const ts = this.ts;
    const vs = this.vs;
    const n = this.n;
    if (n === 0 || ts[n - 1]! < t) {
      ts[n] = t;
      vs[n] = v;
      this.n = n + 1;
    } else {
      const i = lowerBound(ts, n, t);
      if (i < n && ts[i] === t) {
        vs[i] = v;
      } else {
        ts.copyWithin(i + 1, i, n);
        vs.copyWithin(i + 1, i, n);
        ts[i] = t;
        vs[i] = v;
        this.n = n + 1;
      }
    }
    if (t > this.maxT) {
      this.maxT = t;
      this.lastValue = v;
    } else if (t === this.maxT) {
      this.lastValue = v;
    }
    if (t < this.minDataT) this.minDataT = t;
    if (t > this.maxDataT) this.maxDataT = t;
  }

  insertHistogram(t: number, h: NativeHistogram): void {
    if (this.histTs === null || this.hists === null) {
      this.histTs = [];
      this.hists = [];
    }
    const n = this.histTs.length;
    if (n === 0 || this.histTs[n - 1]! < t) {
      this.histTs.push(t);
      this.hists.push(h);
    } else {
      let i = 0;
      while (i < n && this.histTs[i]! < t) i++;
      if (this.histTs[i] === t) this.hists[i] = h;
      else {
        this.histTs.splice(i, 0, t);
        this.hists.splice(i, 0, h);
      }
    }
    if (t > this.maxHistT) this.maxHistT = t;
    if (t < this.minDataT) this.minDataT = t;
    if (t > this.maxDataT) this.maxDataT = t;
  }

  addExemplar(e: Exemplar): void {
    const list = (this.exemplars ??= []);
    const n = list.length;
    if (n > 0 && list[n - 1]!.timestampMs >= e.timestampMs) {
      // Same exemplar re-sent (remote_write retries): keep one.
      if (list.some((x) => x.timestampMs === e.timestampMs)) return;
      let i = 0;
      while (i < n && list[i]!.timestampMs < e.timestampMs) i++;
      list.splice(i, 0, e);
    } else {
      list.push(e);
    }
    if (list.length > MAX_EXEMPLARS_PER_SERIES) list.shift();
  }

  /** Samples with `mint ≤ t ≤ maxt` as copies. */
  range(mint: number, maxt: number): { ts: Float64Array; vs: Float64Array } {
    if (this.ts === null || this.vs === null || this.n === 0) return { ts: EMPTY, vs: EMPTY };
    const lo = lowerBound(this.ts, this.n, mint);
    const hi = upperBound(this.ts, this.n, maxt);
    return { ts: this.ts.slice(lo, hi), vs: this.vs.slice(lo, hi) };
  }

  /** Drops head samples older than `t` (after they moved to a block or expired). */
  dropBefore(t: number): void {
    if (this.ts === null || this.vs === null) return;
    const i = lowerBound(this.ts, this.n, t);
    if (i === 0) return;
    if (i >= this.n) {
      this.ts = null;
      this.vs = null;
      this.n = 0;
      return;
    }
    this.ts.copyWithin(0, i, this.n);
    this.vs.copyWithin(0, i, this.n);
    this.n -= i;
  }
}

const EMPTY = new Float64Array(0);

/** First index in `a[0..n)` whose value is ≥ `t`. */
export function lowerBound(a: Float64Array, n: number, t: number): number {
  let lo = 0;
  let hi = n;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (a[mid]! < t) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** First index in `a[0..n)` whose value is > `t`. */
export function upperBound(a: Float64Array, n: number, t: number): number {
  let lo = 0;
  let hi = n;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (a[mid]! <= t) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
