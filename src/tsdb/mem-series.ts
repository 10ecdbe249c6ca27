import type { Labels, NativeHistogram } from '../model/index.ts';
import { STATE_SLOTS, SampleArena } from './sample-arena.ts';

const INITIAL_STATE: readonly number[] = [-Infinity, 0, Infinity, -Infinity, -Infinity];

/** See {@link MemSeries.reservation}. */
export interface AppendReservation {
  /** Newest float timestamp accepted so far, committed or not. */
  maxT: number;
  /** Value at `maxT`. */
  lastValue: number;
  /** Newest histogram timestamp accepted so far. */
  maxHistT: number;
  /** Open transactions holding it; it is dropped (the committed state rules again) when this reaches 0. */
  holders: number;
}

/**
 * One series as the head knows it: its labels, its in-memory (not yet flushed) samples and what ingest
 * needs to validate the next sample (`maxT`, `lastValue`) even after the samples moved to a block.
 *
 * Float samples live in a block of the engine's {@link SampleArena}: `n` timestamps (ascending) followed,
 * at `capacity`, by their values (exact bits).
 */
export class MemSeries {
  /** Whether a SERIES record for this series is in the WAL or a checkpoint. */
  walLogged = false;
  /** Position among its tenant's series sorted by labels (maintained by `TenantIndex.ordered`). */
  rank = 0;

  /** Arena block of the head samples: page (-1 when there are none), offset and size class. */
  private page = -1;
  private off = 0;
  private cls = 0;
  /** Head float samples. */
  n = 0;

  histTs: number[] | null = null;
  hists: NativeHistogram[] | null = null;

  /**
   * The newest sample state including uncommitted transactions, shared by every appender holding samples
   * of this series (null when none does). Appenders validate against it and advance it in the same
   * synchronous step, so two concurrent requests cannot both accept overlapping times.
   */
  reservation: AppendReservation | null = null;

  constructor(
    readonly ref: number,
    readonly tenant: string,
    /** Keys in byte order; treat as immutable. */
    readonly labels: Labels,
    readonly hash: number,
    private readonly arena: SampleArena,
  ) {
    arena.initState(ref, INITIAL_STATE);
  }

  /** Newest float sample timestamp ever accepted (-Infinity if none): the out-of-order reference. */
  get maxT(): number {
    return this.arena.state[this.ref * STATE_SLOTS]!;
  }
  set maxT(v: number) {
    this.arena.state[this.ref * STATE_SLOTS] = v;
  }

  /** Value at `maxT` (exact bits), to tell a duplicate from a conflicting sample. */
  get lastValue(): number {
    return this.arena.state[this.ref * STATE_SLOTS + 1]!;
  }
  set lastValue(v: number) {
    this.arena.state[this.ref * STATE_SLOTS + 1] = v;
  }

  /** Oldest timestamp over all data (head and blocks), for range pruning. */
  get minDataT(): number {
    return this.arena.state[this.ref * STATE_SLOTS + 2]!;
  }
  set minDataT(v: number) {
    this.arena.state[this.ref * STATE_SLOTS + 2] = v;
  }

  /** Newest timestamp over all data (head and blocks). */
  get maxDataT(): number {
    return this.arena.state[this.ref * STATE_SLOTS + 3]!;
  }
  set maxDataT(v: number) {
    this.arena.state[this.ref * STATE_SLOTS + 3] = v;
  }

  /** Newest histogram sample timestamp ever accepted. */
  get maxHistT(): number {
    return this.arena.state[this.ref * STATE_SLOTS + 4]!;
  }
  set maxHistT(v: number) {
    this.arena.state[this.ref * STATE_SLOTS + 4] = v;
  }

  /**
   * Joins (or starts) the series' reservation for an open transaction; pair with {@link releaseReservation}
   * once the transaction is committed (its samples are in the head) or abandoned.
   */
  acquireReservation(): AppendReservation {
    const r = this.reservation;
    if (r !== null) {
      r.holders++;
      return r;
    }
    return (this.reservation = { maxT: this.maxT, lastValue: this.lastValue, maxHistT: this.maxHistT, holders: 1 });
  }

  /** Leaves the reservation; the last holder drops it, so an abandoned transaction reserves nothing. */
  releaseReservation(): void {
    const r = this.reservation;
    if (r !== null && --r.holders === 0) this.reservation = null;
  }

  /** Oldest head timestamp (only when `n > 0`). */
  firstT(): number {
    return this.arena.pages[this.page]![this.off]!;
  }

  /** Newest head timestamp (only when `n > 0`). */
  lastT(): number {
    return this.arena.pages[this.page]![this.off + this.n - 1]!;
  }

  /** The head timestamps as a view, valid until the next change to this series. */
  timestamps(): Float64Array {
    if (this.n === 0) return EMPTY;
    return this.arena.pages[this.page]!.subarray(this.off, this.off + this.n);
  }

  /** The head values as a view, valid until the next change to this series. */
  values(): Float64Array {
    if (this.n === 0) return EMPTY;
    const at = this.off + SampleArena.capacityOf(this.cls);
    return this.arena.pages[this.page]!.subarray(at, at + this.n);
  }

  /** Makes room for one more sample, moving to a bigger block when full. */
  private grow(): void {
    if (this.page < 0) {
      const b = this.arena.alloc(0);
      this.page = b.page;
      this.off = b.offset;
      this.cls = 0;
      return;
    }
    const cap = SampleArena.capacityOf(this.cls);
    if (this.n < cap) return;
    const nextCls = this.cls + 1;
    const b = this.arena.alloc(nextCls);
    const src = this.arena.pages[this.page]!;
    const dst = this.arena.pages[b.page]!;
    const nextCap = SampleArena.capacityOf(nextCls);
    dst.set(src.subarray(this.off, this.off + this.n), b.offset);
    dst.set(src.subarray(this.off + cap, this.off + cap + this.n), b.offset + nextCap);
    this.arena.release(this.cls, { page: this.page, offset: this.off });
    this.page = b.page;
    this.off = b.offset;
    this.cls = nextCls;
  }

  /** Adds a float sample in time order; an equal timestamp replaces the stored value. */
  insert(t: number, v: number): void {
    this.grow();
    const a = this.arena.pages[this.page]!;
    const base = this.off;
    const vbase = base + SampleArena.capacityOf(this.cls);
    const n = this.n;
    if (n === 0 || a[base + n - 1]! < t) {
      a[base + n] = t;
      a[vbase + n] = v;
      this.n = n + 1;
    } else {
      let lo = 0;
      let hi = n;
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        if (a[base + mid]! < t) lo = mid + 1;
        else hi = mid;
      }
      if (a[base + lo] === t) {
        a[vbase + lo] = v;
      } else {
        a.copyWithin(base + lo + 1, base + lo, base + n);
        a.copyWithin(vbase + lo + 1, vbase + lo, vbase + n);
        a[base + lo] = t;
        a[vbase + lo] = v;
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

  /** Index of the first head sample with timestamp ≥ `t`. */
  lowerIndex(t: number): number {
    // Searched in place: a view per call was most of a query's per-series loading cost (tens of thousands of series).
    return this.n === 0 ? 0 : lowerBoundFrom(this.arena.pages[this.page]!, this.off, this.n, t);
  }

  /** Index of the first head sample with timestamp > `t`. */
  upperIndex(t: number): number {
    return this.n === 0 ? 0 : upperBoundFrom(this.arena.pages[this.page]!, this.off, this.n, t);
  }

  /** Copies head samples `[lo, hi)` into `ts`/`vs` at `at`. */
  copyTo(lo: number, hi: number, ts: Float64Array, vs: Float64Array, at: number): void {
    if (hi <= lo) return;
    const a = this.arena.pages[this.page]!;
    const vbase = this.off + SampleArena.capacityOf(this.cls);
    if (hi - lo <= SMALL_COPY) {
      // A short run is copied element by element: cheaper than the two views `set` needs.
      for (let i = lo; i < hi; i++, at++) {
        ts[at] = a[this.off + i]!;
        vs[at] = a[vbase + i]!;
      }
      return;
    }
    ts.set(a.subarray(this.off + lo, this.off + hi), at);
    vs.set(a.subarray(vbase + lo, vbase + hi), at);
  }

  /** Samples with `mint ≤ t ≤ maxt` as copies. */
  range(mint: number, maxt: number): { ts: Float64Array; vs: Float64Array } {
    if (this.n === 0) return { ts: EMPTY, vs: EMPTY };
    const ts = this.timestamps();
    const lo = lowerBound(ts, this.n, mint);
    const hi = upperBound(ts, this.n, maxt);
    if (hi <= lo) return { ts: EMPTY, vs: EMPTY };
    return { ts: ts.slice(lo, hi), vs: this.values().slice(lo, hi) };
  }

  /** Drops head samples older than `t` (after they moved to a block or expired). */
  dropBefore(t: number): void {
    if (this.n === 0) return;
    const i = lowerBound(this.timestamps(), this.n, t);
    if (i === 0) return;
    if (i >= this.n) {
      this.releaseAll();
      return;
    }
    const a = this.arena.pages[this.page]!;
    const vbase = this.off + SampleArena.capacityOf(this.cls);
    a.copyWithin(this.off, this.off + i, this.off + this.n);
    a.copyWithin(vbase, vbase + i, vbase + this.n);
    this.n -= i;
  }

  /** Frees the head samples' block (the series is dropped or flushed whole). */
  releaseAll(): void {
    if (this.page >= 0) this.arena.release(this.cls, { page: this.page, offset: this.off });
    this.page = -1;
    this.n = 0;
  }
}

const EMPTY = new Float64Array(0);
/** Runs up to this many samples are copied by a loop rather than through two views and `set`. */
const SMALL_COPY = 32;

/** First index in `a[0..n)` whose value is ≥ `t`. */
export function lowerBound(a: Float64Array, n: number, t: number): number {
  return lowerBoundFrom(a, 0, n, t);
}

/** First index `i` in `[0, n)` with `a[base + i] >= t` (n when none). */
function lowerBoundFrom(a: Float64Array, base: number, n: number, t: number): number {
  let lo = 0;
  let hi = n;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (a[base + mid]! < t) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** First index in `a[0..n)` whose value is > `t`. */
function upperBound(a: Float64Array, n: number, t: number): number {
  return upperBoundFrom(a, 0, n, t);
}

/** First index `i` in `[0, n)` with `a[base + i] > t` (n when none). */
function upperBoundFrom(a: Float64Array, base: number, n: number, t: number): number {
  let lo = 0;
  let hi = n;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (a[base + mid]! <= t) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
