/** Doubles per shared arena page (8 MiB). */
const PAGE_DOUBLES = 1 << 20;
/** Largest class sharing pages: 2^18 samples (half a page); bigger blocks get a page of their own. */
const MAX_SHARED_CLASS = 32;
const EMPTY_PAGE = new Float64Array(0);
/** Doubles of per-series state (see {@link SampleArena.state}). */
export const STATE_SLOTS = 5;

/** Where a block lives. */
export interface BlockAddress {
  readonly page: number;
  readonly offset: number;
}

/**
 * Head sample storage shared by all series of one engine: blocks of `capacity` timestamps followed by
 * `capacity` values, carved out of 8 MiB Float64Array pages and recycled through per-size free lists.
 *
 * Why: a series with its own pair of typed arrays costs ~800 bytes of object and backing-store overhead
 * before its first sample; with churn (many short-lived series) that was the largest part of RSS per series.
 * A block here costs exactly its doubles. Values keep their exact bits (stale markers).
 *
 * Blocks are addressed by `(page, offset)` small integers so a series holds no typed array of its own.
 * Not thread-safe (one event loop).
 */
export class SampleArena {
  readonly pages: Float64Array[] = [];
  /** The shared page bump allocation carves from (-1 before the first). */
  private current = -1;
  private bump = PAGE_DOUBLES;
  private readonly free: BlockAddress[][] = Array.from({ length: MAX_SHARED_CLASS + 1 }, () => []);
  /** Doubles in live blocks, for stats. */
  usedDoubles = 0;
  /**
   * Per-series numeric state, `STATE_SLOTS` doubles per series ref (see `MemSeries`): kept here rather
   * than in object fields because V8 boxes every double field in its own heap number.
   */
  state = new Float64Array(STATE_SLOTS * 1024);

  /** Makes room for the state of `ref` and initialises it. */
  initState(ref: number, init: readonly number[]): void {
    const need = (ref + 1) * STATE_SLOTS;
    if (need > this.state.length) {
      let cap = this.state.length * 2;
      while (cap < need) cap *= 2;
      const next = new Float64Array(cap);
      next.set(this.state);
      this.state = next;
    }
    this.state.set(init, ref * STATE_SLOTS);
  }

  /** The smallest size class holding at least `samples`. */
  static classFor(samples: number): number {
    let cls = 0;
    while (SampleArena.capacityOf(cls) < samples) cls++;
    return cls;
  }

  /**
   * Samples a block of class `cls` holds: 4, 6, 8, 12, 16, 24, … (growth by 1.5× on average, so a series
   * wastes at most a third of its block).
   */
  static capacityOf(cls: number): number {
    return (cls & 1 ? 6 : 4) * 2 ** (cls >> 1);
  }

  /** Allocates a block of class `cls`. */
  alloc(cls: number): BlockAddress {
    const doubles = 2 * SampleArena.capacityOf(cls);
    this.usedDoubles += doubles;
    if (cls > MAX_SHARED_CLASS) {
      this.pages.push(new Float64Array(doubles));
      return { page: this.pages.length - 1, offset: 0 };
    }
    const reuse = this.free[cls]!.pop();
    if (reuse) return reuse;
    if (this.bump + doubles > PAGE_DOUBLES) {
      // Hand the old page's tail to smaller classes before starting a new page.
      if (this.current >= 0) {
        for (let c = cls - 1; c >= 0; c--) {
          const d = 2 * SampleArena.capacityOf(c);
          while (this.bump + d <= PAGE_DOUBLES) {
            this.free[c]!.push({ page: this.current, offset: this.bump });
            this.bump += d;
          }
        }
      }
      this.pages.push(new Float64Array(PAGE_DOUBLES));
      this.current = this.pages.length - 1;
      this.bump = 0;
    }
    const block = { page: this.current, offset: this.bump };
    this.bump += doubles;
    return block;
  }

  /** Returns a block to the arena; its contents may be overwritten by the next `alloc`. */
  release(cls: number, block: BlockAddress): void {
    this.usedDoubles -= 2 * SampleArena.capacityOf(cls);
    if (cls > MAX_SHARED_CLASS) this.pages[block.page] = EMPTY_PAGE;
    else this.free[cls]!.push(block);
  }

  /** Bytes of pages allocated from the system. */
  reservedBytes(): number {
    let n = 0;
    for (const p of this.pages) n += p.byteLength;
    return n;
  }
}
