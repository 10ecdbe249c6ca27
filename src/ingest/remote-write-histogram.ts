import { isStaleNaN } from '../model/index.ts';
import type { BucketSpan, NativeHistogram } from '../model/index.ts';
import { WIRE_I64, WIRE_LEN, WIRE_VARINT, WireFormatError } from '../model/index.ts';
import type { WireReader } from '../model/index.ts';

/** The schema of native histograms with custom bucket bounds (NHCB). */
export const CUSTOM_BUCKETS_SCHEMA = -53;
/** The exponential schemas Prometheus accepts. */
export const MIN_EXPONENTIAL_SCHEMA = -4;
export const MAX_EXPONENTIAL_SCHEMA = 8;

/** One histogram sample read from remote_write (1.0 and 2.0 share the message's field numbers). */
export interface DecodedHistogram {
  readonly timestampMs: number;
  readonly histogram: NativeHistogram;
  /** remote_write 2.0 `start_timestamp` (ms), 0 when unset. */
  readonly startTimestampMs: number;
}

/**
 * Reads a `Histogram` message ending at `end`. Integer histograms (delta-encoded buckets) are converted to
 * absolute counts. Returns the histogram, or a string saying why it is invalid (the caller rejects that one
 * sample); throws {@link WireFormatError} only for malformed bytes.
 */
export function readHistogram(r: WireReader, end: number): DecodedHistogram | string {
  let countInt = -1;
  let countFloat = Number.NaN;
  let isInt = false;
  let isFloat = false;
  let sum = 0;
  let schema = 0;
  let zeroThreshold = 0;
  let zeroCount = 0;
  const negSpans: BucketSpan[] = [];
  const posSpans: BucketSpan[] = [];
  const negDeltas: number[] = [];
  const posDeltas: number[] = [];
  const negCounts: number[] = [];
  const posCounts: number[] = [];
  let customValues: number[] | undefined;
  let resetHint = 0;
  let timestampMs = 0;
  let startTimestampMs = 0;
  while (r.pos < end) {
    const tag = r.uint32();
    const field = tag >>> 3;
    const wt = tag & 7;
    switch (field) {
      case 1:
        if (wt !== WIRE_VARINT) break;
        countInt = r.uint64();
        isInt = true;
        continue;
      case 2:
        if (wt !== WIRE_I64) break;
        countFloat = r.double();
        isFloat = true;
        continue;
      case 3:
        if (wt !== WIRE_I64) break;
        sum = r.double();
        continue;
      case 4:
        if (wt !== WIRE_VARINT) break;
        schema = r.sint32();
        continue;
      case 5:
        if (wt !== WIRE_I64) break;
        zeroThreshold = r.double();
        continue;
      case 6:
        if (wt !== WIRE_VARINT) break;
        zeroCount = r.uint64();
        isInt = true;
        continue;
      case 7:
        if (wt !== WIRE_I64) break;
        zeroCount = r.double();
        isFloat = true;
        continue;
      case 8:
      case 11:
        if (wt !== WIRE_LEN) break;
        (field === 8 ? negSpans : posSpans).push(readSpan(r, r.lengthEnd(end)));
        continue;
      case 9:
      case 12:
        readSint64s(r, wt, end, field === 9 ? negDeltas : posDeltas);
        isInt = true;
        continue;
      case 10:
      case 13:
        readDoubles(r, wt, end, field === 10 ? negCounts : posCounts);
        isFloat = true;
        continue;
      case 14:
        if (wt !== WIRE_VARINT) break;
        resetHint = r.uint32();
        continue;
      case 15:
        if (wt !== WIRE_VARINT) break;
        timestampMs = r.int64();
        continue;
      case 16:
        readDoubles(r, wt, end, (customValues ??= []));
        continue;
      case 17:
        if (wt !== WIRE_VARINT) break;
        startTimestampMs = r.int64();
        continue;
    }
    r.skip(wt, end);
  }
  if (r.pos !== end) throw new WireFormatError('histogram overruns its message');

  if (isInt && isFloat) return 'mixes integer and float counts';
  if (isStaleNaN(sum)) {
    // A stale marker: only the sum carries the marker; the count is the marker's bit pattern as an integer.
    return {
      timestampMs,
      startTimestampMs,
      histogram: {
        schema,
        zeroThreshold,
        zeroCount: 0,
        count: sum,
        sum,
        positiveSpans: [],
        positiveBuckets: [],
        negativeSpans: [],
        negativeBuckets: [],
        resetHint,
        ...(customValues ? { customValues } : {}),
      },
    };
  }
  const positiveBuckets = isInt ? cumulate(posDeltas) : posCounts;
  const negativeBuckets = isInt ? cumulate(negDeltas) : negCounts;
  const count = isFloat ? countFloat : Math.max(countInt, 0);
  const problem = validateHistogram(schema, count, zeroCount, posSpans, positiveBuckets, negSpans, negativeBuckets, customValues);
  if (problem !== undefined) return problem;
  const histogram: NativeHistogram = {
    schema,
    zeroThreshold,
    zeroCount,
    count: isFloat || countInt >= 0 ? count : 0,
    sum,
    positiveSpans: posSpans,
    positiveBuckets,
    negativeSpans: negSpans,
    negativeBuckets,
    resetHint,
    ...(customValues ? { customValues } : {}),
  };
  return { timestampMs, startTimestampMs, histogram };
}

function readSpan(r: WireReader, end: number): BucketSpan {
  let offset = 0;
  let length = 0;
  while (r.pos < end) {
    const tag = r.uint32();
    const field = tag >>> 3;
    const wt = tag & 7;
    if (field === 1 && wt === WIRE_VARINT) offset = r.sint32();
    else if (field === 2 && wt === WIRE_VARINT) length = r.uint32();
    else r.skip(wt, end);
  }
  if (r.pos !== end) throw new WireFormatError('bucket span overruns its message');
  return { offset, length };
}

function readSint64s(r: WireReader, wt: number, limit: number, out: number[]): void {
  if (wt === WIRE_LEN) {
    const end = r.lengthEnd(limit);
    while (r.pos < end) out.push(r.sint64());
    if (r.pos !== end) throw new WireFormatError('packed sint64 overruns its field');
  } else if (wt === WIRE_VARINT) {
    out.push(r.sint64());
  } else {
    r.skip(wt, limit);
  }
}

/** Reads a repeated double field, packed or not. */
export function readDoubles(r: WireReader, wt: number, limit: number, out: number[]): void {
  if (wt === WIRE_LEN) {
    const end = r.lengthEnd(limit);
    if ((end - r.pos) % 8 !== 0) throw new WireFormatError('packed double field length is not a multiple of 8');
    while (r.pos < end) out.push(r.double());
  } else if (wt === WIRE_I64) {
    out.push(r.double());
  } else {
    r.skip(wt, limit);
  }
}

function cumulate(deltas: readonly number[]): number[] {
  const out = new Array<number>(deltas.length);
  let acc = 0;
  for (let i = 0; i < deltas.length; i++) {
    acc += deltas[i]!;
    out[i] = acc;
  }
  return out;
}

/**
 * Checks a histogram's shape the way Prometheus' `ValidateHistogram` does: a known schema, spans that
 * cover exactly the buckets given, non-negative counts, and a count no smaller than its buckets.
 * Returns the problem, or undefined when valid.
 */
export function validateHistogram(
  schema: number,
  count: number,
  zeroCount: number,
  posSpans: readonly BucketSpan[],
  posBuckets: readonly number[],
  negSpans: readonly BucketSpan[],
  negBuckets: readonly number[],
  customValues: readonly number[] | undefined,
): string | undefined {
  if (schema === CUSTOM_BUCKETS_SCHEMA) {
    if (!customValues || customValues.length === 0) return 'custom-bucket histogram without custom_values';
    for (let i = 1; i < customValues.length; i++) {
      if (!(customValues[i]! > customValues[i - 1]!)) return 'custom_values are not strictly increasing';
    }
    if (negSpans.length > 0 || negBuckets.length > 0) return 'custom-bucket histogram has negative buckets';
    if (zeroCount !== 0) return 'custom-bucket histogram has a zero bucket';
  } else if (schema < MIN_EXPONENTIAL_SCHEMA || schema > MAX_EXPONENTIAL_SCHEMA) {
    return `schema ${schema} is outside ${MIN_EXPONENTIAL_SCHEMA}..${MAX_EXPONENTIAL_SCHEMA} (and is not ${CUSTOM_BUCKETS_SCHEMA})`;
  }
  const neg = checkSide('negative', negSpans, negBuckets);
  if (typeof neg === 'string') return neg;
  const pos = checkSide('positive', posSpans, posBuckets);
  if (typeof pos === 'string') return pos;
  if (schema === CUSTOM_BUCKETS_SCHEMA && customValues) {
    // The last bucket index may point one past the bounds: that is the +Inf bucket.
    let idx = -1;
    for (const s of posSpans) idx += s.offset + s.length;
    if (idx > customValues.length) return `bucket index ${idx} is beyond the ${customValues.length} custom bounds`;
  }
  if (!(zeroCount >= 0)) return `zero bucket count ${zeroCount} is negative`;
  const total = neg + pos + zeroCount;
  if (Number.isFinite(count) && total > count * (1 + 1e-9) + 1e-9) {
    return `count ${count} is smaller than the ${total} observations in its buckets`;
  }
  return undefined;
}

function checkSide(side: string, spans: readonly BucketSpan[], buckets: readonly number[]): number | string {
  let n = 0;
  for (let i = 0; i < spans.length; i++) {
    const s = spans[i]!;
    if (i > 0 && s.offset < 0) return `${side} span ${i} has a negative offset ${s.offset}`;
    n += s.length;
  }
  if (n !== buckets.length) return `${side} spans cover ${n} buckets but ${buckets.length} bucket counts were sent`;
  let total = 0;
  for (const b of buckets) {
    if (!(b >= 0)) return `${side} bucket count ${b} is negative`;
    total += b;
  }
  return total;
}
