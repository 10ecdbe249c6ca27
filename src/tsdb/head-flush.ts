import type { Exemplar, NativeHistogram } from '../model/index.ts';
import { BLOCK_DAY_MS } from './block-store.ts';
import type { ExemplarRows, FloatColumns, HistogramRows } from './block-store.ts';
import type { ExemplarStore } from './exemplar-store.ts';
import type { Head } from './head.ts';
import { lowerBound } from './mem-series.ts';

/** Flushed samples of one series, kept visible to queries until the manifest lists their blocks. */
export interface FrozenPart {
  ts?: Float64Array;
  vs?: Float64Array;
  hts?: number[];
  hs?: NativeHistogram[];
  es?: Exemplar[];
}

/** Column builder for one tenant-day of a flush. */
class FloatBuilder implements FloatColumns {
  refs = new Uint32Array(1024);
  ts = new Float64Array(1024);
  vs = new Float64Array(1024);
  n = 0;

  add(ref: number, ts: Float64Array, vs: Float64Array, from: number, to: number): void {
    const need = this.n + (to - from);
    if (need > this.ts.length) {
      let cap = this.ts.length * 2;
      while (cap < need) cap *= 2;
      const refs = new Uint32Array(cap);
      refs.set(this.refs.subarray(0, this.n));
      const t = new Float64Array(cap);
      t.set(this.ts.subarray(0, this.n));
      const v = new Float64Array(cap);
      v.set(this.vs.subarray(0, this.n));
      this.refs = refs;
      this.ts = t;
      this.vs = v;
    }
    this.refs.fill(ref, this.n, need);
    this.ts.set(ts.subarray(from, to), this.n);
    this.vs.set(vs.subarray(from, to), this.n);
    this.n = need;
  }
}

/** What {@link cutHead} took out of the head: the blocks to write, per tenant and UTC day. */
export interface HeadCut {
  /** By series ref, for queries while the blocks are written. */
  readonly frozen: Map<number, FrozenPart>;
  readonly floats: { tenant: string; dayStartMs: number; cols: FloatBuilder }[];
  readonly histograms: { tenant: string; dayStartMs: number; rows: HistogramRows }[];
  readonly exemplars: { tenant: string; dayStartMs: number; rows: ExemplarRows }[];
  /** Float samples moved. */
  readonly moved: number;
}

/**
 * Moves every head sample and exemplar older than `beforeMs` out of the head (synchronously, so the
 * snapshot is consistent), grouped into tenant-day columns. `head.samples` is reduced by the moved count.
 */
export function cutHead(head: Head, exemplars: ExemplarStore, beforeMs: number): HeadCut {
  const frozen = new Map<number, FrozenPart>();
  const floatBuilders = new Map<string, { tenant: string; dayStartMs: number; cols: FloatBuilder }>();
  const histBuilders = new Map<string, { tenant: string; dayStartMs: number; rows: HistogramRows }>();
  const exemplarBuilders = new Map<string, { tenant: string; dayStartMs: number; rows: { refs: number[]; es: Exemplar[] } }>();
  const key = (tenant: string, day: number): string => `${day}\u0000${tenant}`;
  let moved = 0;
  for (const s of head.series) {
    if (!s) continue;
    if (s.n > 0 && s.firstT() < beforeMs) {
      const cut = beforeMs === Infinity ? s.n : lowerBound(s.timestamps(), s.n, beforeMs);
      const ts = s.timestamps().slice(0, cut);
      const vs = s.values().slice(0, cut);
      frozen.set(s.ref, { ts, vs });
      let from = 0;
      while (from < cut) {
        const day = Math.floor(ts[from]! / BLOCK_DAY_MS) * BLOCK_DAY_MS;
        const to = Math.min(cut, lowerBound(ts, cut, day + BLOCK_DAY_MS));
        const k = key(s.tenant, day);
        let b = floatBuilders.get(k);
        if (!b) floatBuilders.set(k, (b = { tenant: s.tenant, dayStartMs: day, cols: new FloatBuilder() }));
        b.cols.add(s.ref, ts, vs, from, to);
        from = to;
      }
      s.dropBefore(beforeMs);
      moved += cut;
    }
    if (s.histTs && s.hists && s.histTs.length > 0 && s.histTs[0]! < beforeMs) {
      let cut = 0;
      while (cut < s.histTs.length && s.histTs[cut]! < beforeMs) cut++;
      const hts = s.histTs.splice(0, cut);
      const hs = s.hists.splice(0, cut);
      const fz = frozen.get(s.ref) ?? {};
      fz.hts = hts;
      fz.hs = hs;
      frozen.set(s.ref, fz);
      for (let i = 0; i < hts.length; i++) {
        const day = Math.floor(hts[i]! / BLOCK_DAY_MS) * BLOCK_DAY_MS;
        const k = key(s.tenant, day);
        let b = histBuilders.get(k);
        if (!b) histBuilders.set(k, (b = { tenant: s.tenant, dayStartMs: day, rows: { refs: [], ts: [], hs: [] } }));
        b.rows.refs.push(s.ref);
        b.rows.ts.push(hts[i]!);
        b.rows.hs.push(hs[i]!);
      }
    }
    const es = exemplars.takeBefore(s.ref, beforeMs);
    if (es.length > 0) {
      const fz = frozen.get(s.ref) ?? {};
      fz.es = es;
      frozen.set(s.ref, fz);
      for (const e of es) {
        const day = Math.floor(e.timestampMs / BLOCK_DAY_MS) * BLOCK_DAY_MS;
        const k = key(s.tenant, day);
        let b = exemplarBuilders.get(k);
        if (!b) exemplarBuilders.set(k, (b = { tenant: s.tenant, dayStartMs: day, rows: { refs: [], es: [] } }));
        b.rows.refs.push(s.ref);
        b.rows.es.push(e);
      }
    }
  }
  head.samples -= moved;
  return {
    frozen,
    floats: [...floatBuilders.values()],
    histograms: [...histBuilders.values()],
    exemplars: [...exemplarBuilders.values()],
    moved,
  };
}

/** Puts a failed flush's samples and exemplars back into the head (the WAL still holds them). */
export function restoreCut(head: Head, exemplars: ExemplarStore, cut: HeadCut): void {
  for (const [ref, fz] of cut.frozen) {
    const s = head.series[ref];
    if (!s) continue;
    if (fz.ts && fz.vs) for (let i = 0; i < fz.ts.length; i++) s.insert(fz.ts[i]!, fz.vs[i]!);
    if (fz.hts && fz.hs) for (let i = 0; i < fz.hts.length; i++) s.insertHistogram(fz.hts[i]!, fz.hs[i]!);
    if (fz.es) exemplars.restore(ref, fz.es);
  }
  head.samples += cut.moved;
}
