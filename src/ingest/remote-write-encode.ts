import protobuf from 'protobufjs';
import { METRIC_NAME_LABEL, isStaleNaN, sortedLabelNames } from '../model/index.ts';
import type { Exemplar, Labels, MetricMetadata, MetricRecord, MetricType, NativeHistogram } from '../model/index.ts';
import { familyName } from './remote-write-v2.ts';

/**
 * Encoders of remote_write 1.0 (`prometheus.WriteRequest`) and 2.0 (`io.prometheus.write.v2.Request`) bodies
 * from metric records: what the gateway sends when it forwards metrics. The output is the uncompressed
 * protobuf (senders snappy-compress it). Labels go out sorted by name, as the specification requires; the
 * staleness marker keeps its exact bit pattern (V8 may quieten a NaN that passes through a double write), so
 * Prometheus and Mimir recognise it. Histograms go out in float form (absolute counts), which both versions
 * carry.
 */

const METRIC_TYPE_ENUM: Readonly<Record<MetricType, number>> = {
  unknown: 0,
  counter: 1,
  gauge: 2,
  histogram: 3,
  gaugehistogram: 4,
  summary: 5,
  info: 6,
  stateset: 7,
};

/** Writes a double field; the stale marker as its exact bits (0x7ff0000000000002, little endian). */
function writeDouble(w: protobuf.Writer, field: number, v: number): void {
  w.uint32((field << 3) | 1);
  if (isStaleNaN(v)) w.fixed32(2).fixed32(0x7ff00000);
  else w.double(v);
}

function writeLabelPairs(w: protobuf.Writer, field: number, labels: Labels): void {
  for (const name of sortedLabelNames(labels)) {
    w.uint32((field << 3) | 2).fork();
    w.uint32(10).string(name);
    w.uint32(18).string(labels[name]!);
    w.ldelim();
  }
}

/** `Histogram` fields shared by 1.0 and 2.0 (same numbers in both), float form. */
function writeHistogramFields(w: protobuf.Writer, h: NativeHistogram, timestampMs: number): void {
  writeDouble(w, 2, h.count);
  writeDouble(w, 3, h.sum);
  w.uint32(4 << 3).sint32(h.schema);
  writeDouble(w, 5, h.zeroThreshold);
  writeDouble(w, 7, h.zeroCount);
  for (const s of h.negativeSpans) w.uint32((8 << 3) | 2).fork().uint32(1 << 3).sint32(s.offset).uint32(2 << 3).uint32(s.length).ldelim();
  if (h.negativeBuckets.length > 0) {
    w.uint32((10 << 3) | 2).fork();
    for (const c of h.negativeBuckets) w.double(c);
    w.ldelim();
  }
  for (const s of h.positiveSpans) w.uint32((11 << 3) | 2).fork().uint32(1 << 3).sint32(s.offset).uint32(2 << 3).uint32(s.length).ldelim();
  if (h.positiveBuckets.length > 0) {
    w.uint32((13 << 3) | 2).fork();
    for (const c of h.positiveBuckets) w.double(c);
    w.ldelim();
  }
  if (h.resetHint) w.uint32(14 << 3).uint32(h.resetHint);
  w.uint32(15 << 3).int64(timestampMs);
  if (h.customValues && h.customValues.length > 0) {
    w.uint32((16 << 3) | 2).fork();
    for (const c of h.customValues) w.double(c);
    w.ldelim();
  }
}

function hasData(r: MetricRecord): boolean {
  return (r.samples?.length ?? 0) > 0 || (r.histograms?.length ?? 0) > 0 || (r.exemplars?.length ?? 0) > 0;
}

/** The metric families' metadata of `records`, once per family (the last one seen wins). */
function familiesOf(records: readonly MetricRecord[]): Map<string, MetricMetadata> {
  const out = new Map<string, MetricMetadata>();
  for (const r of records) {
    const name = r.labels[METRIC_NAME_LABEL];
    if (r.metadata === undefined || name === undefined) continue;
    out.set(hasData(r) ? familyName(name, r.metadata.type) : name, r.metadata);
  }
  return out;
}

/** Encodes `records` as a remote_write 1.0 `WriteRequest` (series, then the families' metadata). */
export function encodeRemoteWriteV1(records: readonly MetricRecord[]): Uint8Array {
  const w = protobuf.Writer.create();
  for (const r of records) {
    if (!hasData(r)) continue;
    w.uint32((1 << 3) | 2).fork();
    writeLabelPairs(w, 1, r.labels);
    for (const s of r.samples ?? []) {
      w.uint32((2 << 3) | 2).fork();
      writeDouble(w, 1, s.value);
      w.uint32(2 << 3).int64(s.timestampMs);
      w.ldelim();
    }
    for (const e of r.exemplars ?? []) {
      w.uint32((3 << 3) | 2).fork();
      writeLabelPairs(w, 1, e.labels);
      writeDouble(w, 2, e.value);
      w.uint32(3 << 3).int64(e.timestampMs);
      w.ldelim();
    }
    for (const h of r.histograms ?? []) {
      w.uint32((4 << 3) | 2).fork();
      writeHistogramFields(w, h.histogram, h.timestampMs);
      w.ldelim();
    }
    w.ldelim();
  }
  for (const [family, md] of familiesOf(records)) {
    w.uint32((3 << 3) | 2).fork();
    w.uint32(1 << 3).uint32(METRIC_TYPE_ENUM[md.type]);
    w.uint32(18).string(family);
    if (md.help !== '') w.uint32(34).string(md.help);
    if (md.unit !== '') w.uint32(42).string(md.unit);
    w.ldelim();
  }
  return w.finish();
}

/** The 2.0 symbol table: `""` first, as the specification requires, each string once. */
class SymbolTable {
  readonly symbols: string[] = [''];
  private readonly refs = new Map<string, number>([['', 0]]);
  ref(s: string): number {
    let r = this.refs.get(s);
    if (r === undefined) {
      r = this.symbols.length;
      this.symbols.push(s);
      this.refs.set(s, r);
    }
    return r;
  }
}

function writeLabelRefs(w: protobuf.Writer, field: number, labels: Labels, table: SymbolTable): void {
  const names = sortedLabelNames(labels);
  if (names.length === 0) return;
  w.uint32((field << 3) | 2).fork();
  for (const n of names) w.uint32(table.ref(n)).uint32(table.ref(labels[n]!));
  w.ldelim();
}

function writeExemplarV2(w: protobuf.Writer, e: Exemplar, table: SymbolTable): void {
  w.uint32((4 << 3) | 2).fork();
  writeLabelRefs(w, 1, e.labels, table);
  writeDouble(w, 2, e.value);
  w.uint32(3 << 3).int64(e.timestampMs);
  w.ldelim();
}

/**
 * Encodes `records` as a remote_write 2.0 `Request`: one symbol table for the request, each series with its
 * own metadata (a 1.0-style metadata-only record is attached to the series of its family in the batch and
 * otherwise dropped: 2.0 has no series-less metadata) and created timestamp.
 */
export function encodeRemoteWriteV2(records: readonly MetricRecord[]): Uint8Array {
  const table = new SymbolTable();
  const families = familiesOf(records);
  const series = protobuf.Writer.create();
  for (const r of records) {
    if (!hasData(r)) continue;
    series.uint32((5 << 3) | 2).fork();
    writeLabelRefs(series, 1, r.labels, table);
    for (const s of r.samples ?? []) {
      series.uint32((2 << 3) | 2).fork();
      writeDouble(series, 1, s.value);
      series.uint32(2 << 3).int64(s.timestampMs);
      series.ldelim();
    }
    for (const h of r.histograms ?? []) {
      series.uint32((3 << 3) | 2).fork();
      writeHistogramFields(series, h.histogram, h.timestampMs);
      series.ldelim();
    }
    for (const e of r.exemplars ?? []) writeExemplarV2(series, e, table);
    const name = r.labels[METRIC_NAME_LABEL];
    const md = r.metadata ?? (name === undefined ? undefined : families.get(name) ?? familyMetadata(families, name));
    if (md !== undefined) {
      series.uint32((5 << 3) | 2).fork();
      series.uint32(1 << 3).uint32(METRIC_TYPE_ENUM[md.type]);
      if (md.help !== '') series.uint32(3 << 3).uint32(table.ref(md.help));
      if (md.unit !== '') series.uint32(4 << 3).uint32(table.ref(md.unit));
      series.ldelim();
    }
    if (r.createdTimestampMs !== undefined) series.uint32(6 << 3).int64(r.createdTimestampMs);
    series.ldelim();
  }
  const w = protobuf.Writer.create();
  for (const s of table.symbols) w.uint32((4 << 3) | 2).string(s);
  const head = w.finish();
  const body = series.finish();
  const out = new Uint8Array(head.length + body.length);
  out.set(head, 0);
  out.set(body, head.length);
  return out;
}

/** The metadata of the family a classic histogram or summary series (`_bucket`, `_sum`, `_count`) belongs to. */
function familyMetadata(families: ReadonlyMap<string, MetricMetadata>, name: string): MetricMetadata | undefined {
  for (const suffix of ['_bucket', '_sum', '_count', '_gcount', '_gsum']) {
    if (!name.endsWith(suffix)) continue;
    const md = families.get(name.slice(0, -suffix.length));
    if (md !== undefined && familyName(name, md.type) !== name) return md;
  }
  return undefined;
}
