import { formatSeries } from '../model/index.ts';
import type { Exemplar, FloatSample, HistogramSample, Labels, MetricMetadata, MetricRecord, Rejection } from '../model/index.ts';
import { readHistogram } from './remote-write-histogram.ts';
import { sharedSeriesCache } from './remote-write-series-cache.ts';
import {
  LabelProblem,
  LabelScratch,
  MAX_EXEMPLAR_LABEL_RUNES,
  buildLabels,
  labelRejection,
  metadataRecord,
  metricTypeFromEnum,
  runeCount,
} from './remote-write-series.ts';
import type { MetricDecodeResult } from './remote-write-series.ts';
import { WIRE_I64, WIRE_LEN, WIRE_VARINT, WireFormatError, WireReader } from '../model/index.ts';

/**
 * Decodes a Prometheus remote_write 1.0 `prometheus.WriteRequest` (already decompressed): time series with
 * labels, float samples, exemplars and native histograms (integer histograms converted to absolute
 * counts), and the request's metric metadata as metadata-only records.
 *
 * Pure and synchronous; never throws for bad data. Each invalid series becomes one rejection standing for
 * its samples and histograms; an invalid exemplar or histogram is rejected alone and the rest of its series
 * kept. A body that is not a valid message sets `malformed`.
 */
export function decodeRemoteWriteV1(body: Uint8Array): MetricDecodeResult {
  const records: MetricRecord[] = [];
  const rejections: Rejection[] = [];
  const r = new WireReader(body);
  const scratch = new LabelScratch();
  try {
    const end = r.end;
    while (r.pos < end) {
      const tag = r.uint32();
      const field = tag >>> 3;
      const wt = tag & 7;
      if (field === 1 && wt === WIRE_LEN) {
        readTimeSeries(r, r.lengthEnd(end), scratch, records, rejections);
      } else if (field === 3 && wt === WIRE_LEN) {
        readMetadata(r, r.lengthEnd(end), records, rejections);
      } else {
        r.skip(wt, end);
      }
    }
    if (r.pos !== end) throw new WireFormatError('message overruns the body');
  } catch (err) {
    if (err instanceof WireFormatError || err instanceof RangeError) {
      return { records: [], rejections: [], malformed: `cannot decode prometheus.WriteRequest: ${err.message}` };
    }
    throw err;
  }
  return { records, rejections };
}

/** The tag byte of `TimeSeries.labels` (field 1, length-delimited). */
const LABEL_TAG = (1 << 3) | WIRE_LEN;

function readTimeSeries(
  r: WireReader,
  end: number,
  scratch: LabelScratch,
  records: MetricRecord[],
  rejections: Rejection[],
): void {
  scratch.reset();
  // Fast path: the labels usually come first and contiguous; a series seen before is then looked up by
  // its encoded label bytes instead of being decoded and validated again.
  const blockStart = r.pos;
  const buf = r.buf;
  while (r.pos < end && buf[r.pos] === LABEL_TAG) {
    r.pos++;
    r.pos = r.lengthEnd(end);
  }
  const blockEnd = r.pos;
  let cached = sharedSeriesCache.get(buf, r.view, blockStart, blockEnd);
  if (cached === undefined) {
    r.pos = blockStart;
    while (r.pos < blockEnd) {
      r.pos++; // the label tag
      readLabel(r, r.lengthEnd(blockEnd), scratch);
    }
  }
  let extraLabels = false;
  let samples: FloatSample[] | undefined;
  let histograms: HistogramSample[] | undefined;
  let exemplars: Exemplar[] | undefined;
  let badParts: Rejection[] | undefined;
  while (r.pos < end) {
    const tag = r.uint32();
    const field = tag >>> 3;
    const wt = tag & 7;
    if (wt === WIRE_LEN) {
      const fend = r.lengthEnd(end);
      switch (field) {
        case 1:
          if (cached !== undefined) {
            // Labels after other fields: decode the block after all, then this label.
            const resume = r.pos;
            r.pos = blockStart;
            while (r.pos < blockEnd) {
              r.pos++;
              readLabel(r, r.lengthEnd(blockEnd), scratch);
            }
            r.pos = resume;
            cached = undefined;
          }
          extraLabels = true;
          readLabel(r, fend, scratch);
          continue;
        case 2:
          (samples ??= []).push(readSample(r, fend));
          continue;
        case 3: {
          const ex = readExemplar(r, fend);
          if (typeof ex === 'string') (badParts ??= []).push(exemplarRejection(ex));
          else (exemplars ??= []).push(ex);
          continue;
        }
        case 4: {
          const h = readHistogram(r, fend);
          if (typeof h === 'string') (badParts ??= []).push(histogramRejection(h));
          else (histograms ??= []).push({ timestampMs: h.timestampMs, histogram: h.histogram });
          continue;
        }
      }
      r.pos = fend;
      continue;
    }
    r.skip(wt, end);
  }
  if (r.pos !== end) throw new WireFormatError('time series overruns its message');

  let labels: Labels;
  if (cached !== undefined) {
    labels = cached;
  } else {
    const built = buildLabels(scratch);
    if (built instanceof LabelProblem) {
      rejections.push(labelRejection(built, (samples?.length ?? 0) + (histograms?.length ?? 0)));
      return;
    }
    labels = built;
    if (!extraLabels) sharedSeriesCache.set(buf, blockStart, blockEnd, labels);
  }
  if (badParts) {
    const series = formatSeries(labels);
    for (const p of badParts) rejections.push({ ...p, message: `${p.message} series: '${series}'`, subject: series });
  }
  if (!samples && !histograms && !exemplars) return;
  const record: { -readonly [K in keyof MetricRecord]: MetricRecord[K] } = { labels };
  if (samples) record.samples = samples;
  if (histograms) record.histograms = histograms;
  if (exemplars) record.exemplars = exemplars;
  records.push(record);
}

function exemplarRejection(message: string): Rejection {
  return { signal: 'metrics', reason: 'exemplar_invalid', message: `invalid exemplar: ${message}`, count: 1 };
}

function histogramRejection(message: string): Rejection {
  return { signal: 'metrics', reason: 'invalid_record', message: `invalid native histogram: ${message}`, count: 1 };
}

function readLabel(r: WireReader, end: number, scratch: LabelScratch): void {
  let name = '';
  let value = '';
  let nameBad = false;
  let valueBad = false;
  while (r.pos < end) {
    const tag = r.uint32();
    if (tag === ((1 << 3) | WIRE_LEN)) {
      name = r.string(end);
      nameBad = r.lastStringInvalid;
    } else if (tag === ((2 << 3) | WIRE_LEN)) {
      value = r.string(end);
      valueBad = r.lastStringInvalid;
    } else {
      r.skip(tag & 7, end);
    }
  }
  if (r.pos !== end) throw new WireFormatError('label overruns its message');
  scratch.push(name, value, nameBad, valueBad);
}

function readSample(r: WireReader, end: number): FloatSample {
  let value = 0;
  let timestampMs = 0;
  while (r.pos < end) {
    const tag = r.uint32();
    if (tag === ((1 << 3) | WIRE_I64)) value = r.double();
    else if (tag === ((2 << 3) | WIRE_VARINT)) timestampMs = r.int64();
    else r.skip(tag & 7, end);
  }
  if (r.pos !== end) throw new WireFormatError('sample overruns its message');
  return { timestampMs, value };
}

/** Reads an exemplar; returns why it is invalid as a string. */
function readExemplar(r: WireReader, end: number): Exemplar | string {
  const labels: Record<string, string> = {};
  let problem: string | undefined;
  let runes = 0;
  let value = 0;
  let timestampMs = 0;
  while (r.pos < end) {
    const tag = r.uint32();
    if (tag === ((1 << 3) | WIRE_LEN)) {
      const lend = r.lengthEnd(end);
      let name = '';
      let v = '';
      while (r.pos < lend) {
        const t = r.uint32();
        if (t === ((1 << 3) | WIRE_LEN)) {
          name = r.string(lend);
          if (r.lastStringInvalid) problem ??= 'label name is not valid UTF-8';
        } else if (t === ((2 << 3) | WIRE_LEN)) {
          v = r.string(lend);
          if (r.lastStringInvalid) problem ??= `value of label ${name} is not valid UTF-8`;
        } else {
          r.skip(t & 7, lend);
        }
      }
      if (r.pos !== lend) throw new WireFormatError('exemplar label overruns its message');
      if (name === '') problem ??= 'empty label name';
      else if (Object.hasOwn(labels, name)) problem ??= `duplicate label name ${name}`;
      runes += runeCount(name) + runeCount(v);
      if (v !== '' && name !== '__proto__') labels[name] = v;
    } else if (tag === ((2 << 3) | WIRE_I64)) {
      value = r.double();
    } else if (tag === ((3 << 3) | WIRE_VARINT)) {
      timestampMs = r.int64();
    } else {
      r.skip(tag & 7, end);
    }
  }
  if (r.pos !== end) throw new WireFormatError('exemplar overruns its message');
  if (problem !== undefined) return problem;
  if (runes > MAX_EXEMPLAR_LABEL_RUNES) {
    return `exemplar labels have ${runes} runes, more than the ${MAX_EXEMPLAR_LABEL_RUNES} OpenMetrics allows`;
  }
  return { labels, value, timestampMs };
}

function readMetadata(r: WireReader, end: number, records: MetricRecord[], rejections: Rejection[]): void {
  let type = 0;
  let family = '';
  let familyBad = false;
  let help = '';
  let unit = '';
  while (r.pos < end) {
    const tag = r.uint32();
    switch (tag) {
      case (1 << 3) | WIRE_VARINT:
        type = r.uint32();
        break;
      case (2 << 3) | WIRE_LEN:
        family = r.string(end);
        familyBad = r.lastStringInvalid;
        break;
      case (4 << 3) | WIRE_LEN:
        help = r.string(end);
        break;
      case (5 << 3) | WIRE_LEN:
        unit = r.string(end);
        break;
      default:
        r.skip(tag & 7, end);
    }
  }
  if (r.pos !== end) throw new WireFormatError('metadata overruns its message');
  if (family === '' || familyBad) {
    rejections.push({
      signal: 'metrics',
      reason: family === '' ? 'missing_metric_name' : 'invalid_metric_name',
      message: family === '' ? 'received metadata without a metric family name' : 'received metadata whose metric family name is not valid UTF-8',
      count: 1,
    });
    return;
  }
  const metadata: MetricMetadata = { type: metricTypeFromEnum(type), help, unit };
  records.push(metadataRecord(family, metadata));
}
