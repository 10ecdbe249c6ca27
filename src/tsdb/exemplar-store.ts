import type { Exemplar } from '../model/index.ts';

/** What {@link ExemplarStore.add} did with an exemplar. */
export type ExemplarAddResult = 'added' | 'duplicate' | 'out_of_order' | 'disabled';

interface SeriesEntries {
  /** Ring slots of the series' oldest and newest exemplar; entries link from oldest to newest. */
  oldest: number;
  newest: number;
}

function sameLabels(a: Exemplar['labels'], b: Exemplar['labels']): boolean {
  const ka = Object.keys(a);
  if (ka.length !== Object.keys(b).length) return false;
  for (const k of ka) if (a[k] !== b[k]) return false;
  return true;
}

/**
 * The head's exemplars: Prometheus' circular exemplar storage. One ring of `capacity` exemplars shared by
 * every series of the engine (`max_exemplars`); when it is full the oldest exemplar written is overwritten,
 * whatever its series. Each series' exemplars are linked through the ring in time order, so a lookup
 * touches only that series' entries. A re-sent copy of a series' newest exemplar is ignored and an
 * exemplar older than it refused as out of order (Prometheus without an out-of-order window).
 * Capacity 0 stores nothing. Not thread-safe (one event loop).
 */
export class ExemplarStore {
  private readonly refs: Uint32Array;
  private readonly entries: (Exemplar | undefined)[];
  /** Next newer slot of the same series, -1 for the newest. */
  private readonly next: Int32Array;
  private readonly bySeries = new Map<number, SeriesEntries>();
  /** The slot written next (the oldest entry once the ring has wrapped). */
  private head = 0;
  private stored = 0;

  constructor(readonly capacity: number) {
    this.refs = new Uint32Array(capacity);
    this.entries = new Array<Exemplar | undefined>(capacity).fill(undefined);
    this.next = new Int32Array(capacity).fill(-1);
  }

  /** Exemplars held. */
  get size(): number {
    return this.stored;
  }

  /** Stores an exemplar of series `ref` (see the class comment for what is refused). */
  add(ref: number, e: Exemplar): ExemplarAddResult {
    if (this.capacity === 0) return 'disabled';
    const own = this.bySeries.get(ref);
    if (own !== undefined) {
      const newest = this.entries[own.newest]!;
      if (newest.timestampMs === e.timestampMs && sameBitsValue(newest.value, e.value) && sameLabels(newest.labels, e.labels)) {
        return 'duplicate';
      }
      if (e.timestampMs < newest.timestampMs) return 'out_of_order';
    }
    const slot = this.head;
    this.evict(slot);
    this.refs[slot] = ref;
    this.entries[slot] = e;
    this.next[slot] = -1;
    this.stored++;
    const series = this.bySeries.get(ref);
    if (series === undefined) this.bySeries.set(ref, { oldest: slot, newest: slot });
    else {
      this.next[series.newest] = slot;
      series.newest = slot;
    }
    this.head = slot + 1 === this.capacity ? 0 : slot + 1;
    return 'added';
  }

  /** The series' exemplars with `startMs ≤ t ≤ endMs`, oldest first. */
  select(ref: number, startMs: number, endMs: number): Exemplar[] {
    const out: Exemplar[] = [];
    const series = this.bySeries.get(ref);
    if (series === undefined) return out;
    for (let slot = series.oldest; slot !== -1; slot = this.next[slot]!) {
      const e = this.entries[slot]!;
      if (e.timestampMs > endMs) break;
      if (e.timestampMs >= startMs) out.push(e);
    }
    return out;
  }

  /** Every exemplar, per series oldest first (for checkpoints and flushes). */
  *all(): IterableIterator<{ ref: number; exemplar: Exemplar }> {
    for (const [ref, series] of this.bySeries) {
      for (let slot = series.oldest; slot !== -1; slot = this.next[slot]!) yield { ref, exemplar: this.entries[slot]! };
    }
  }

  /**
   * Removes and returns the series' exemplars older than `beforeMs` (a head flush moves them into blocks;
   * retention drops them). The ring slots they held are reused once the write position reaches them.
   */
  takeBefore(ref: number, beforeMs: number): Exemplar[] {
    const out: Exemplar[] = [];
    const series = this.bySeries.get(ref);
    if (series === undefined) return out;
    let slot = series.oldest;
    while (slot !== -1 && this.entries[slot]!.timestampMs < beforeMs) {
      out.push(this.entries[slot]!);
      const after = this.next[slot]!;
      this.clear(slot);
      slot = after;
    }
    if (slot === -1) this.bySeries.delete(ref);
    else series.oldest = slot;
    return out;
  }

  /**
   * Puts exemplars taken by {@link takeBefore} back as the series' oldest (a failed flush). They take the
   * next ring slots like new exemplars, so they are overwritten after the ones written since.
   */
  restore(ref: number, older: readonly Exemplar[]): void {
    if (this.capacity === 0 || older.length === 0) return;
    let first = -1;
    let last = -1;
    for (const e of older) {
      const slot = this.head;
      this.evict(slot);
      this.refs[slot] = ref;
      this.entries[slot] = e;
      this.next[slot] = -1;
      this.stored++;
      this.head = slot + 1 === this.capacity ? 0 : slot + 1;
      if (first === -1) first = slot;
      else this.next[last] = slot;
      last = slot;
    }
    const series = this.bySeries.get(ref);
    if (series === undefined) this.bySeries.set(ref, { oldest: first, newest: last });
    else {
      this.next[last] = series.oldest;
      series.oldest = first;
    }
  }

  /** Forgets a dropped series' exemplars. */
  dropSeries(ref: number): void {
    this.takeBefore(ref, Infinity);
  }

  /**
   * Frees the slot about to be written, unlinking the exemplar there from its series: normally the series'
   * oldest (slots are written in time order per series); after a {@link restore} it may sit further in.
   */
  private evict(slot: number): void {
    if (this.entries[slot] === undefined) return;
    const ref = this.refs[slot]!;
    const series = this.bySeries.get(ref);
    if (series !== undefined) {
      if (series.oldest === slot) {
        if (series.newest === slot) this.bySeries.delete(ref);
        else series.oldest = this.next[slot]!;
      } else {
        let prev = series.oldest;
        while (prev !== -1 && this.next[prev] !== slot) prev = this.next[prev]!;
        if (prev !== -1) {
          this.next[prev] = this.next[slot]!;
          if (series.newest === slot) series.newest = prev;
        }
      }
    }
    this.clear(slot);
  }

  private clear(slot: number): void {
    this.entries[slot] = undefined;
    this.next[slot] = -1;
    this.stored--;
  }
}

/** Equal values including NaN (exemplar values are compared as Prometheus' `Exemplar.Equals` does). */
function sameBitsValue(a: number, b: number): boolean {
  return a === b || (a !== a && b !== b);
}
