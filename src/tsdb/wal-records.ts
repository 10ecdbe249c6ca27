import { setOwnLabel } from '../model/index.ts';
import type { Exemplar, Labels, MetricMetadata, MetricType, NativeHistogram } from '../model/index.ts';
import type { ByteReader, ByteWriter } from '../objstore/index.ts';

/**
 * WAL and checkpoint record types. A frame's payload is a sequence of records, each `[u8 type][body]`.
 * Bodies are documented in docs/formats/tsdb.md; never renumber.
 */
export const REC_SERIES = 1;
export const REC_SAMPLES = 2;
export const REC_EXEMPLARS = 3;
export const REC_METADATA = 4;
export const REC_HISTOGRAMS = 5;
/** Series whose data was dropped by retention: replay forgets them. */
export const REC_SERIES_DROPPED = 6;
/** Checkpoint only: a series' validation and pruning state (its samples may live in blocks). */
export const REC_SERIES_STATE = 7;

/** The per-series state a checkpoint carries beyond the labels. */
export interface SeriesState {
  readonly maxT: number;
  readonly lastValue: number;
  readonly maxHistT: number;
  readonly minDataT: number;
  readonly maxDataT: number;
}

const METRIC_TYPES: readonly MetricType[] = [
  'unknown', 'counter', 'gauge', 'histogram', 'gaugehistogram', 'summary', 'info', 'stateset',
];

/** Callbacks for {@link decodeRecords}. */
export interface RecordVisitor {
  series(ref: number, tenant: string, labels: Labels): void;
  samples(refs: Uint32Array, timestampsMs: Float64Array, values: Float64Array): void;
  exemplar(ref: number, exemplar: Exemplar): void;
  metadata(tenant: string, metric: string, meta: MetricMetadata): void;
  histogram(ref: number, timestampMs: number, h: NativeHistogram): void;
  seriesDropped(ref: number): void;
  seriesState(ref: number, state: SeriesState): void;
}

export function encodeSeries(w: ByteWriter, ref: number, tenant: string, labels: Labels): void {
  w.u8(REC_SERIES);
  w.uvarint(ref);
  w.str(tenant);
  const names = Object.keys(labels);
  w.uvarint(names.length);
  for (const n of names) {
    w.str(n);
    w.str(labels[n]!);
  }
}

export function encodeSeriesDropped(w: ByteWriter, ref: number): void {
  w.u8(REC_SERIES_DROPPED);
  w.uvarint(ref);
}

export function encodeSeriesState(w: ByteWriter, ref: number, st: SeriesState): void {
  w.u8(REC_SERIES_STATE);
  w.uvarint(ref);
  w.f64(st.maxT);
  w.f64(st.lastValue);
  w.f64(st.maxHistT);
  w.f64(st.minDataT);
  w.f64(st.maxDataT);
}

/** Writes `n` samples; values keep their exact bits. */
export function encodeSamples(
  w: ByteWriter,
  refs: Uint32Array,
  timestampsMs: Float64Array,
  values: Float64Array,
  n: number,
): void {
  w.u8(REC_SAMPLES);
  w.uvarint(n);
  w.ensure(n * 20);
  for (let i = 0; i < n; i++) w.u32(refs[i]!);
  for (let i = 0; i < n; i++) w.f64(timestampsMs[i]!);
  // Raw bytes (little-endian host) so NaN payloads such as the stale marker survive exactly.
  w.bytes(new Uint8Array(values.buffer, values.byteOffset, n * 8));
}

export function encodeExemplar(w: ByteWriter, ref: number, e: Exemplar): void {
  w.u8(REC_EXEMPLARS);
  w.uvarint(ref);
  w.f64(e.timestampMs);
  writeExemplarBody(w, e);
}

/** An exemplar without its timestamp: `f64 value`, `labels` (the WAL record's tail and an exemplar block's blob). */
export function writeExemplarBody(w: ByteWriter, e: Exemplar): void {
  w.f64(e.value);
  const names = Object.keys(e.labels);
  w.uvarint(names.length);
  for (const n of names) {
    w.str(n);
    w.str(e.labels[n]!);
  }
}

/** Reads what {@link writeExemplarBody} wrote. */
export function readExemplarBody(r: ByteReader, timestampMs: number): Exemplar {
  const value = r.f64();
  return { labels: readLabels(r), value, timestampMs };
}

export function encodeMetadata(w: ByteWriter, tenant: string, metric: string, m: MetricMetadata): void {
  w.u8(REC_METADATA);
  w.str(tenant);
  w.str(metric);
  w.u8(Math.max(0, METRIC_TYPES.indexOf(m.type)));
  w.str(m.help);
  w.str(m.unit);
}

export function encodeHistogram(w: ByteWriter, ref: number, timestampMs: number, h: NativeHistogram): void {
  w.u8(REC_HISTOGRAMS);
  w.uvarint(ref);
  w.f64(timestampMs);
  writeHistogram(w, h);
}

/** The histogram body shared by the WAL and block files. */
export function writeHistogram(w: ByteWriter, h: NativeHistogram): void {
  w.varint(h.schema);
  w.f64(h.zeroThreshold);
  w.f64(h.zeroCount);
  w.f64(h.count);
  w.f64(h.sum);
  writeSpans(w, h.positiveSpans);
  writeFloats(w, h.positiveBuckets);
  writeSpans(w, h.negativeSpans);
  writeFloats(w, h.negativeBuckets);
  w.u8(h.resetHint ?? 0);
  writeFloats(w, h.customValues ?? []);
}

export function readHistogram(r: ByteReader): NativeHistogram {
  const schema = r.varint();
  const zeroThreshold = r.f64();
  const zeroCount = r.f64();
  const count = r.f64();
  const sum = r.f64();
  const positiveSpans = readSpans(r);
  const positiveBuckets = readFloats(r);
  const negativeSpans = readSpans(r);
  const negativeBuckets = readFloats(r);
  const resetHint = r.u8();
  const customValues = readFloats(r);
  const h: NativeHistogram = {
    schema, zeroThreshold, zeroCount, count, sum, positiveSpans, positiveBuckets, negativeSpans, negativeBuckets,
    ...(resetHint !== 0 ? { resetHint } : {}),
    ...(customValues.length > 0 ? { customValues } : {}),
  };
  return h;
}

function writeSpans(w: ByteWriter, spans: readonly { offset: number; length: number }[]): void {
  w.uvarint(spans.length);
  for (const s of spans) {
    w.varint(s.offset);
    w.uvarint(s.length);
  }
}

function readSpans(r: ByteReader): { offset: number; length: number }[] {
  const n = r.uvarint();
  const out: { offset: number; length: number }[] = [];
  for (let i = 0; i < n; i++) out.push({ offset: r.varint(), length: r.uvarint() });
  return out;
}

function writeFloats(w: ByteWriter, xs: readonly number[]): void {
  w.uvarint(xs.length);
  for (const x of xs) w.f64(x);
}

function readFloats(r: ByteReader): number[] {
  const n = r.uvarint();
  const out: number[] = [];
  for (let i = 0; i < n; i++) out.push(r.f64());
  return out;
}

const exactScratch = new Float64Array(1);

/** Reads a double through a typed array so a NaN payload (the stale marker) keeps its bits. */
function readExactF64(r: ByteReader): number {
  new Uint8Array(exactScratch.buffer).set(r.bytes(8));
  return exactScratch[0]!;
}

function readLabels(r: ByteReader): Record<string, string> {
  const n = r.uvarint();
  const labels: Record<string, string> = {};
  for (let i = 0; i < n; i++) {
    setOwnLabel(labels, r.str(), r.str());
  }
  return labels;
}

/** Decodes every record of a payload, calling the visitor. Throws `WireFormatError` on a malformed payload. */
export function decodeRecords(r: ByteReader, v: RecordVisitor): void {
  while (r.remaining > 0) {
    const type = r.u8();
    switch (type) {
      case REC_SERIES: {
        const ref = r.uvarint();
        const tenant = r.str();
        v.series(ref, tenant, readLabels(r));
        break;
      }
      case REC_SAMPLES: {
        const n = r.uvarint();
        const refs = new Uint32Array(n);
        const ts = new Float64Array(n);
        const vs = new Float64Array(n);
        for (let i = 0; i < n; i++) refs[i] = r.u32();
        for (let i = 0; i < n; i++) ts[i] = r.f64();
        // Copy raw bytes so NaN payloads survive exactly.
        const raw = r.bytes(n * 8);
        new Uint8Array(vs.buffer).set(raw);
        v.samples(refs, ts, vs);
        break;
      }
      case REC_EXEMPLARS: {
        const ref = r.uvarint();
        const timestampMs = r.f64();
        v.exemplar(ref, readExemplarBody(r, timestampMs));
        break;
      }
      case REC_METADATA: {
        const tenant = r.str();
        const metric = r.str();
        const type = METRIC_TYPES[r.u8()] ?? 'unknown';
        const help = r.str();
        const unit = r.str();
        v.metadata(tenant, metric, { type, help, unit });
        break;
      }
      case REC_HISTOGRAMS: {
        const ref = r.uvarint();
        const ts = r.f64();
        v.histogram(ref, ts, readHistogram(r));
        break;
      }
      case REC_SERIES_DROPPED:
        v.seriesDropped(r.uvarint());
        break;
      case REC_SERIES_STATE: {
        const ref = r.uvarint();
        const maxT = r.f64();
        const lastValue = readExactF64(r);
        const maxHistT = r.f64();
        const minDataT = r.f64();
        const maxDataT = r.f64();
        v.seriesState(ref, { maxT, lastValue, maxHistT, minDataT, maxDataT });
        break;
      }
      default:
        throw new Error(`unknown metrics WAL record type ${type}`);
    }
  }
}
