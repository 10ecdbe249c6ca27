import { METRIC_NAME_LABEL, formatSeries } from '../model/index.ts';
import type { Exemplar, FloatSample, HistogramSample, MetricRecord, MetricType, Rejection } from '../model/index.ts';
import { readHistogram } from './remote-write-histogram.ts';
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

/** The symbols table of one request: strings and whether each was valid UTF-8. */
interface Symbols {
  readonly strings: string[];
  readonly invalid: Uint8Array;
}

/**
 * Decodes a Prometheus remote_write 2.0 `io.prometheus.write.v2.Request` (already decompressed): the symbols
 * table, series with label references, float samples, native histograms (integer ones converted to
 * absolute counts), exemplars, per-series metadata (as metadata-only records, one per metric family) and
 * created/start timestamps.
 *
 * Pure and synchronous; never throws for bad data (see {@link decodeRemoteWriteV1} for the rules). A body
 * that is not a valid message sets `malformed`.
 */
export function decodeRemoteWriteV2(body: Uint8Array): MetricDecodeResult {
  const records: MetricRecord[] = [];
  const rejections: Rejection[] = [];
  const r = new WireReader(body);
  try {
    const end = r.end;
    const strings: string[] = [];
    const invalid: number[] = [];
    // Series may in principle precede the symbols they reference, so note their ranges first.
    const series: number[] = [];
    while (r.pos < end) {
      const tag = r.uint32();
      const field = tag >>> 3;
      const wt = tag & 7;
      if (field === 4 && wt === WIRE_LEN) {
        strings.push(r.string(end));
        if (r.lastStringInvalid) invalid.push(strings.length - 1);
      } else if (field === 5 && wt === WIRE_LEN) {
        const sEnd = r.lengthEnd(end);
        series.push(r.pos, sEnd);
        r.pos = sEnd;
      } else {
        r.skip(wt, end);
      }
    }
    if (r.pos !== end) throw new WireFormatError('message overruns the body');
    const symbols: Symbols = { strings, invalid: new Uint8Array(strings.length) };
    for (const i of invalid) symbols.invalid[i] = 1;
    const scratch = new LabelScratch();
    const families = new Set<string>();
    for (let i = 0; i < series.length; i += 2) {
      r.pos = series[i]!;
      readTimeSeries(r, series[i + 1]!, symbols, scratch, families, records, rejections);
    }
  } catch (err) {
    if (err instanceof WireFormatError || err instanceof RangeError) {
      return { records: [], rejections: [], malformed: `cannot decode io.prometheus.write.v2.Request: ${err.message}` };
    }
    throw err;
  }
  return { records, rejections };
}

class RefError extends Error {}

function symbol(symbols: Symbols, ref: number): string {
  const s = symbols.strings[ref];
  if (s === undefined) throw new RefError(`symbol reference ${ref} is out of range (the table has ${symbols.strings.length})`);
  return s;
}

function readTimeSeries(
  r: WireReader,
  end: number,
  symbols: Symbols,
  scratch: LabelScratch,
  families: Set<string>,
  records: MetricRecord[],
  rejections: Rejection[],
): void {
  scratch.reset();
  const refs = scratch.refs;
  refs.length = 0;
  let samples: FloatSample[] | undefined;
  let histograms: HistogramSample[] | undefined;
  let exemplarRanges: number[] | undefined;
  let badParts: Rejection[] | undefined;
  let metaType = 0;
  let helpRef = 0;
  let unitRef = 0;
  let hasMeta = false;
  let createdMs = 0;
  while (r.pos < end) {
    const tag = r.uint32();
    const field = tag >>> 3;
    const wt = tag & 7;
    switch (field) {
      case 1:
        if (wt === WIRE_LEN) {
          const pend = r.lengthEnd(end);
          while (r.pos < pend) refs.push(r.uint32());
          if (r.pos !== pend) throw new WireFormatError('packed labels_refs overrun their field');
          continue;
        }
        if (wt === WIRE_VARINT) {
          refs.push(r.uint32());
          continue;
        }
        break;
      case 2:
        if (wt !== WIRE_LEN) break;
        {
          const sEnd = r.lengthEnd(end);
          let value = 0;
          let timestampMs = 0;
          while (r.pos < sEnd) {
            const t = r.uint32();
            if (t === ((1 << 3) | WIRE_I64)) value = r.double();
            else if (t === ((2 << 3) | WIRE_VARINT)) timestampMs = r.int64();
            else if (t === ((3 << 3) | WIRE_VARINT)) {
              const startMs = r.int64();
              if (createdMs === 0) createdMs = startMs;
            } else r.skip(t & 7, sEnd);
          }
          if (r.pos !== sEnd) throw new WireFormatError('sample overruns its message');
          (samples ??= []).push({ timestampMs, value });
        }
        continue;
      case 3:
        if (wt !== WIRE_LEN) break;
        {
          const h = readHistogram(r, r.lengthEnd(end));
          if (typeof h === 'string') {
            (badParts ??= []).push({ signal: 'metrics', reason: 'invalid_record', message: `invalid native histogram: ${h}`, count: 1 });
          } else {
            if (createdMs === 0 && h.startTimestampMs !== 0) createdMs = h.startTimestampMs;
            (histograms ??= []).push({ timestampMs: h.timestampMs, histogram: h.histogram });
          }
        }
        continue;
      case 4:
        if (wt !== WIRE_LEN) break;
        {
          const eEnd = r.lengthEnd(end);
          (exemplarRanges ??= []).push(r.pos, eEnd);
          r.pos = eEnd;
        }
        continue;
      case 5:
        if (wt !== WIRE_LEN) break;
        {
          const mEnd = r.lengthEnd(end);
          hasMeta = true;
          while (r.pos < mEnd) {
            const t = r.uint32();
            if (t === ((1 << 3) | WIRE_VARINT)) metaType = r.uint32();
            else if (t === ((3 << 3) | WIRE_VARINT)) helpRef = r.uint32();
            else if (t === ((4 << 3) | WIRE_VARINT)) unitRef = r.uint32();
            else r.skip(t & 7, mEnd);
          }
          if (r.pos !== mEnd) throw new WireFormatError('metadata overruns its message');
        }
        continue;
      case 6:
        if (wt !== WIRE_VARINT) break;
        createdMs = r.int64();
        continue;
    }
    r.skip(wt, end);
  }
  if (r.pos !== end) throw new WireFormatError('time series overruns its message');
  const parts = (samples?.length ?? 0) + (histograms?.length ?? 0);

  if (refs.length % 2 !== 0) {
    rejections.push({
      signal: 'metrics',
      reason: 'invalid_record',
      message: `received a series with an odd number (${refs.length}) of label references`,
      count: Math.max(1, parts),
    });
    return;
  }
  try {
    for (let i = 0; i < refs.length; i += 2) {
      const nRef = refs[i]!;
      const vRef = refs[i + 1]!;
      scratch.push(symbol(symbols, nRef), symbol(symbols, vRef), symbols.invalid[nRef] === 1, symbols.invalid[vRef] === 1);
    }
  } catch (err) {
    if (!(err instanceof RefError)) throw err;
    rejections.push({ signal: 'metrics', reason: 'invalid_record', message: `received a series with a bad label reference: ${err.message}`, count: Math.max(1, parts) });
    return;
  }
  const labels = buildLabels(scratch);
  if (labels instanceof LabelProblem) {
    rejections.push(labelRejection(labels, parts));
    return;
  }

  let exemplars: Exemplar[] | undefined;
  if (exemplarRanges) {
    for (let i = 0; i < exemplarRanges.length; i += 2) {
      r.pos = exemplarRanges[i]!;
      const ex = readExemplar(r, exemplarRanges[i + 1]!, symbols);
      if (typeof ex === 'string') {
        (badParts ??= []).push({ signal: 'metrics', reason: 'exemplar_invalid', message: `invalid exemplar: ${ex}`, count: 1 });
      } else {
        (exemplars ??= []).push(ex);
      }
    }
    r.pos = end;
  }
  if (badParts) {
    const series = formatSeries(labels);
    for (const p of badParts) rejections.push({ ...p, message: `${p.message} series: '${series}'`, subject: series });
  }

  if (hasMeta) {
    const type = metricTypeFromEnum(metaType);
    const help = symbols.strings[helpRef] ?? '';
    const unit = symbols.strings[unitRef] ?? '';
    if (type !== 'unknown' || help !== '' || unit !== '') {
      const family = familyName(labels[METRIC_NAME_LABEL]!, type);
      if (!families.has(family)) {
        families.add(family);
        records.push(metadataRecord(family, { type, help, unit }));
      }
    }
  }
  if (!samples && !histograms && !exemplars) return;
  const record: { -readonly [K in keyof MetricRecord]: MetricRecord[K] } = { labels };
  if (samples) record.samples = samples;
  if (histograms) record.histograms = histograms;
  if (exemplars) record.exemplars = exemplars;
  if (createdMs !== 0) record.createdTimestampMs = createdMs;
  records.push(record);
}

/**
 * The metric family a series belongs to: classic histogram and summary series carry `_bucket`, `_sum` and
 * `_count` suffixes that the family name does not (remote_write 2.0 repeats the family's metadata on each).
 */
export function familyName(metricName: string, type: MetricType): string {
  if (type === 'histogram' || type === 'gaugehistogram' || type === 'summary') {
    for (const suffix of ['_bucket', '_sum', '_count', '_gcount', '_gsum']) {
      if (metricName.length > suffix.length && metricName.endsWith(suffix)) return metricName.slice(0, -suffix.length);
    }
  }
  return metricName;
}

function readExemplar(r: WireReader, end: number, symbols: Symbols): Exemplar | string {
  const refs: number[] = [];
  let value = 0;
  let timestampMs = 0;
  while (r.pos < end) {
    const tag = r.uint32();
    const field = tag >>> 3;
    const wt = tag & 7;
    if (field === 1 && wt === WIRE_LEN) {
      const pend = r.lengthEnd(end);
      while (r.pos < pend) refs.push(r.uint32());
    } else if (field === 1 && wt === WIRE_VARINT) {
      refs.push(r.uint32());
    } else if (field === 2 && wt === WIRE_I64) {
      value = r.double();
    } else if (field === 3 && wt === WIRE_VARINT) {
      timestampMs = r.int64();
    } else {
      r.skip(wt, end);
    }
  }
  if (r.pos !== end) throw new WireFormatError('exemplar overruns its message');
  if (refs.length % 2 !== 0) return `odd number (${refs.length}) of label references`;
  const labels: Record<string, string> = {};
  let runes = 0;
  for (let i = 0; i < refs.length; i += 2) {
    const name = symbols.strings[refs[i]!];
    const v = symbols.strings[refs[i + 1]!];
    if (name === undefined || v === undefined) return `label reference out of range`;
    if (symbols.invalid[refs[i]!] === 1 || symbols.invalid[refs[i + 1]!] === 1) return `label ${name} is not valid UTF-8`;
    if (name === '') return 'empty label name';
    if (Object.hasOwn(labels, name)) return `duplicate label name ${name}`;
    runes += runeCount(name) + runeCount(v);
    if (v !== '' && name !== '__proto__') labels[name] = v;
  }
  if (runes > MAX_EXEMPLAR_LABEL_RUNES) {
    return `exemplar labels have ${runes} runes, more than the ${MAX_EXEMPLAR_LABEL_RUNES} OpenMetrics allows`;
  }
  return { labels, value, timestampMs };
}
