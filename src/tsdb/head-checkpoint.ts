import { ByteWriter } from '../objstore/index.ts';
import type { ExemplarStore } from './exemplar-store.ts';
import type { Head } from './head.ts';
import type { MetadataStore } from './metadata-store.ts';
import { encodeExemplar, encodeHistogram, encodeMetadata, encodeSamples, encodeSeries, encodeSeriesState } from './wal-records.ts';

/** Samples per checkpoint frame. */
const CHECKPOINT_SAMPLES_PER_FRAME = 262_144;
/** A frame is cut once it holds more than this many bytes. */
const CHECKPOINT_FRAME_BYTES = 8 << 20;

/**
 * Serialises what a checkpoint must hold, as WAL records in frames of bounded size: every series with its
 * state, the head's samples and histograms, exemplars and metadata.
 */
export function encodeHeadCheckpoint(head: Head, exemplars: ExemplarStore, metadata: MetadataStore): Buffer[] {
  const frames: Buffer[] = [];
  let w = new ByteWriter(1 << 20);
  const cut = (): void => {
    if (w.length > CHECKPOINT_FRAME_BYTES) {
      frames.push(w.toBuffer());
      w = new ByteWriter(1 << 20);
    }
  };
  for (const s of head.series) {
    if (!s) continue;
    encodeSeries(w, s.ref, s.tenant, s.labels);
    encodeSeriesState(w, s.ref, s);
    cut();
  }
  const refs = new Uint32Array(CHECKPOINT_SAMPLES_PER_FRAME);
  const ts = new Float64Array(CHECKPOINT_SAMPLES_PER_FRAME);
  const vs = new Float64Array(CHECKPOINT_SAMPLES_PER_FRAME);
  let n = 0;
  const drain = (): void => {
    if (n === 0) return;
    encodeSamples(w, refs, ts, vs, n);
    n = 0;
    cut();
  };
  for (const s of head.series) {
    if (!s || s.n === 0) continue;
    const sts = s.timestamps();
    const svs = s.values();
    for (let i = 0; i < s.n; i++) {
      refs[n] = s.ref;
      ts[n] = sts[i]!;
      vs[n] = svs[i]!;
      if (++n === CHECKPOINT_SAMPLES_PER_FRAME) drain();
    }
  }
  drain();
  for (const s of head.series) {
    if (!s) continue;
    if (s.histTs && s.hists) for (let i = 0; i < s.histTs.length; i++) encodeHistogram(w, s.ref, s.histTs[i]!, s.hists[i]!);
    cut();
  }
  for (const { ref, exemplar } of exemplars.all()) {
    encodeExemplar(w, ref, exemplar);
    cut();
  }
  for (const { tenant, metric, meta } of metadata.entries()) encodeMetadata(w, tenant, metric, meta);
  if (w.length > 0) frames.push(w.toBuffer());
  return frames;
}
