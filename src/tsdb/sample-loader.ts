import type { Exemplar, NativeHistogram, TimeRange } from '../model/index.ts';
import type { BlockStore, ReadPart } from './block-store.ts';
import type { ExemplarStore } from './exemplar-store.ts';
import type { FrozenPart } from './head-flush.ts';
import type { MemSeries } from './mem-series.ts';
import type { SeriesSamples } from './querier.ts';
import { mergeHistParts, mergeParts, sliceHist, sliceRange } from './sample-merge.ts';
import type { HistogramPart } from './sample-merge.ts';

/**
 * Loads the samples of several series in `range` from every source — blocks, a flush in progress
 * (`frozen`), the head — oldest source first so newer sources win on equal timestamps. One entry per
 * input series, same order.
 */
export async function loadSamples(
  blocks: BlockStore,
  frozen: ReadonlyMap<number, FrozenPart> | null,
  series: readonly MemSeries[],
  range: TimeRange,
  signal?: AbortSignal,
): Promise<SeriesSamples[]> {
  const { startMs, endMs } = range;
  const parts = new Map<number, ReadPart[]>();
  const histParts = new Map<number, HistogramPart[]>();
  // Blocks first (oldest source), grouped by tenant.
  const byTenant = new Map<string, MemSeries[]>();
  for (const s of series) {
    if (s.minDataT > endMs || s.maxDataT < startMs) continue;
    const list = byTenant.get(s.tenant);
    if (list) list.push(s);
    else byTenant.set(s.tenant, [s]);
  }
  for (const [tenant, list] of byTenant) {
    const floatBlocks = blocks.select(tenant, 'floats', startMs, endMs);
    const histBlocks = blocks.select(tenant, 'histograms', startMs, endMs);
    if (floatBlocks.length === 0 && histBlocks.length === 0) continue;
    const refs = Uint32Array.from(list.map((s) => s.ref)).sort();
    const all = [...floatBlocks, ...histBlocks];
    blocks.acquire(all);
    try {
      await blocks.readFloats(floatBlocks, refs, startMs, endMs, (ref, part) => {
        const l = parts.get(ref);
        if (l) l.push(part);
        else parts.set(ref, [part]);
      }, signal);
      await blocks.readHistograms(histBlocks, refs, startMs, endMs, (ref, t, h: NativeHistogram) => {
        let l = histParts.get(ref);
        if (!l) histParts.set(ref, (l = []));
        let last = l[l.length - 1];
        if (!last) l.push((last = { ts: [], hs: [] }));
        last.ts.push(t);
        last.hs.push(h);
      });
    } finally {
      blocks.release(all);
    }
  }
  // Series whose samples are all in the head (the common case for recent data) are copied into two
  // arrays shared by the batch: one allocation per batch instead of two per series.
  const simple = series.map((s) => !parts.has(s.ref) && !histParts.has(s.ref) && !frozen?.has(s.ref) && s.histTs === null);
  const lo = new Uint32Array(series.length);
  const hi = new Uint32Array(series.length);
  let total = 0;
  for (let i = 0; i < series.length; i++) {
    if (!simple[i]) continue;
    const s = series[i]!;
    lo[i] = s.lowerIndex(startMs);
    hi[i] = Math.max(lo[i]!, s.upperIndex(endMs));
    total += hi[i]! - lo[i]!;
  }
  const batchTs = new Float64Array(total);
  const batchVs = new Float64Array(total);
  let at = 0;
  return series.map((s, i) => {
    if (simple[i]) {
      const n = hi[i]! - lo[i]!;
      s.copyTo(lo[i]!, hi[i]!, batchTs, batchVs, at);
      const out: SeriesSamples = { timestampsMs: batchTs.subarray(at, at + n), values: batchVs.subarray(at, at + n) };
      at += n;
      return out;
    }
    const list = parts.get(s.ref) ?? [];
    const hlist = histParts.get(s.ref) ?? [];
    const fz = frozen?.get(s.ref);
    if (fz?.ts && fz.vs) list.push(sliceRange(fz.ts, fz.vs, fz.ts.length, startMs, endMs));
    if (fz?.hts && fz.hs) hlist.push(sliceHist(fz.hts, fz.hs, startMs, endMs));
    if (s.n > 0) {
      const { ts, vs } = s.range(startMs, endMs);
      list.push({ ts, vs });
    }
    if (s.histTs && s.hists && s.histTs.length > 0) hlist.push(sliceHist(s.histTs, s.hists, startMs, endMs));
    const merged = mergeParts(list);
    const out: SeriesSamples = { timestampsMs: merged.ts, values: merged.vs };
    const hm = mergeHistParts(hlist);
    if (hm.ts.length > 0) {
      out.histogramTimestampsMs = Float64Array.from(hm.ts);
      out.histograms = hm.hs;
    }
    return out;
  });
}

/**
 * Loads the exemplars of several series in `range` from blocks, a flush in progress and the head's
 * exemplar storage; one list per input series, by time, each exemplar once (a WAL replay after a flush may
 * hold one in a block and in the head).
 */
export async function loadExemplars(
  blocks: BlockStore,
  frozen: ReadonlyMap<number, FrozenPart> | null,
  store: ExemplarStore,
  series: readonly MemSeries[],
  range: TimeRange,
): Promise<Exemplar[][]> {
  const { startMs, endMs } = range;
  const found = new Map<number, Exemplar[]>();
  const byTenant = new Map<string, MemSeries[]>();
  for (const s of series) {
    const list = byTenant.get(s.tenant);
    if (list) list.push(s);
    else byTenant.set(s.tenant, [s]);
  }
  for (const [tenant, list] of byTenant) {
    const selected = blocks.select(tenant, 'exemplars', startMs, endMs);
    if (selected.length === 0) continue;
    blocks.acquire(selected);
    try {
      await blocks.readExemplars(selected, Uint32Array.from(list.map((s) => s.ref)).sort(), startMs, endMs, (ref, e) => {
        const l = found.get(ref);
        if (l) l.push(e);
        else found.set(ref, [e]);
      });
    } finally {
      blocks.release(selected);
    }
  }
  return series.map((s) => {
    const all = found.get(s.ref) ?? [];
    for (const e of frozen?.get(s.ref)?.es ?? []) if (e.timestampMs >= startMs && e.timestampMs <= endMs) all.push(e);
    all.push(...store.select(s.ref, startMs, endMs));
    if (all.length <= 1) return all;
    all.sort((a, b) => a.timestampMs - b.timestampMs);
    const seen = new Set<string>();
    return all.filter((e) => {
      const key = `${e.timestampMs}\u0000${e.value}\u0000${JSON.stringify(e.labels)}`;
      if (seen.has(key)) return false;
      seen.add(key);
      return true;
    });
  });
}
