import type { NativeHistogram } from '../../model/index.ts';
import { FloatHistogram } from '../../promql/index.ts';
import type { PromValue } from '../../promql/index.ts';
import type { JsonText } from '../../storage/index.ts';
import { formatSampleValue } from '../sample-value.ts';

/*
 * Prometheus' JSON for query results. Pure functions of plain result values (no I/O, no engine state), so
 * they can run wherever the result is, a worker thread included.
 */

/** Timestamps are float seconds in Prometheus' JSON. */
function seconds(ms: number): number {
  return ms / 1000;
}

/**
 * A native histogram in Prometheus' JSON form: `{count, sum, buckets: [[boundaryRule, lower, upper, count]]}`
 * with boundary rule 0 = (lower, upper], 1 = [lower, upper), 2 = (lower, upper), 3 = [lower, upper].
 * Empty buckets are left out, as Prometheus does.
 */
export function histogramJson(h: NativeHistogram): Record<string, unknown> {
  const fh = FloatHistogram.fromModel(h);
  const buckets: unknown[] = [];
  for (const b of fh.allBuckets()) {
    if (b.count === 0) continue;
    let rule = 0;
    if (b.lowerInclusive && b.upperInclusive) rule = 3;
    else if (b.lowerInclusive) rule = 1;
    else if (!b.upperInclusive) rule = 2;
    buckets.push([rule, formatSampleValue(b.lower), formatSampleValue(b.upper), formatSampleValue(b.count)]);
  }
  const out: Record<string, unknown> = { count: formatSampleValue(fh.count), sum: formatSampleValue(fh.sum) };
  if (buckets.length > 0) out.buckets = buckets;
  return out;
}

/** Prometheus' HTTP API `data` object for a query result: `{resultType, result}`. */
export function resultToPrometheusJson(value: PromValue): { resultType: string; result: unknown } {
  switch (value.type) {
    case 'scalar':
      return { resultType: 'scalar', result: [seconds(value.timestampMs), formatSampleValue(value.value)] };
    case 'string':
      return { resultType: 'string', result: [seconds(value.timestampMs), value.value] };
    case 'vector':
      return {
        resultType: 'vector',
        result: value.samples.map((s) =>
          s.histogram
            ? { metric: s.labels, histogram: [seconds(s.timestampMs), histogramJson(s.histogram)] }
            : { metric: s.labels, value: [seconds(s.timestampMs), formatSampleValue(s.value ?? NaN)] },
        ),
      };
    case 'matrix':
      return {
        resultType: 'matrix',
        result: value.series.map((s) => {
          const o: Record<string, unknown> = { metric: s.labels };
          if (s.timestampsMs.length > 0) {
            const values: [number, string][] = [];
            for (let i = 0; i < s.timestampsMs.length; i++) values.push([seconds(s.timestampsMs[i]!), formatSampleValue(s.values[i]!)]);
            o.values = values;
          }
          if (s.histograms && s.histograms.length > 0 && s.histogramTimestampsMs) {
            o.histograms = s.histograms.map((h, i) => [seconds(s.histogramTimestampsMs![i]!), histogramJson(h)]);
          }
          return o;
        }),
      };
  }
}

/**
 * `JSON.stringify(resultToPrometheusJson(value))`, the same text, written straight into UTF-8 bytes for a
 * matrix: a range query's points cost a `[time, "value"]` array each (and a boxed time) before JSON.stringify
 * walked them again, about half of a large result's encoding time and much of its garbage; and the bytes go to
 * the socket as they are (see {@link JsonText}). Other results, small, take the plain way, as a string.
 */
export function resultToPrometheusJsonData(value: PromValue): JsonText {
  if (value.type !== 'matrix') return JSON.stringify(resultToPrometheusJson(value));
  const w = new JsonBytes();
  w.ascii('{"resultType":"matrix","result":[');
  const series = value.series;
  for (let i = 0; i < series.length; i++) {
    const s = series[i]!;
    w.ascii(i === 0 ? '{"metric":' : ',{"metric":');
    w.utf8(JSON.stringify(s.labels));
    const ts = s.timestampsMs;
    const vs = s.values;
    if (ts.length > 0) {
      w.ascii(',"values":');
      for (let j = 0; j < ts.length; j++) w.point(j === 0 ? 0x5b : 0x2c, seconds(ts[j]!), vs[j]!);
      w.byte(0x5d);
    }
    if (s.histograms && s.histograms.length > 0 && s.histogramTimestampsMs) {
      const hts = s.histogramTimestampsMs;
      w.ascii(',"histograms":');
      w.utf8(JSON.stringify(s.histograms.map((h, k) => [seconds(hts[k]!), histogramJson(h)])));
    }
    w.byte(0x7d);
  }
  w.ascii(']}');
  return w.bytes();
}

/** Largest integer written digit by digit (below it every double is exact and prints without an exponent). */
const MAX_DIGITS_INT = 1e15;

/** "00", "01", … "99" as ASCII bytes: digits are written two per division. */
const DIGIT_PAIRS = Uint8Array.from({ length: 200 }, (_, i) => 0x30 + (i % 2 === 0 ? Math.floor(i / 20) : (i >> 1) % 10));

/** Writes the decimal digits of a uint32 `v` at `at`; returns the end. */
function writeUint32(buf: Uint8Array, at: number, v: number): number {
  const digits =
    v < 100_000
      ? v < 100 ? (v < 10 ? 1 : 2) : v < 1000 ? 3 : v < 10_000 ? 4 : 5
      : v < 10_000_000 ? (v < 1_000_000 ? 6 : 7) : v < 100_000_000 ? 8 : v < 1_000_000_000 ? 9 : 10;
  const end = at + digits;
  let i = end;
  while (v >= 100) {
    const q = (v / 100) >>> 0;
    const r = (v - q * 100) << 1;
    buf[--i] = DIGIT_PAIRS[r + 1]!;
    buf[--i] = DIGIT_PAIRS[r]!;
    v = q;
  }
  if (v >= 10) {
    buf[--i] = DIGIT_PAIRS[(v << 1) + 1]!;
    buf[--i] = DIGIT_PAIRS[v << 1]!;
  } else buf[--i] = 0x30 + v;
  return end;
}

/**
 * The buffer the last encoding grew, kept for the next (the text is copied out of it): a large result's
 * buffer, grown from scratch by doubling, is megabytes of external memory each time, which pushes V8 into
 * full garbage collections. Kept up to this size.
 */
const KEEP_BYTES = 16 << 20;
let spare: Buffer | undefined;

/** A growable byte buffer of JSON text: ASCII written byte by byte, other text as UTF-8. */
class JsonBytes {
  private buf: Buffer;
  private len = 0;

  constructor() {
    this.buf = spare ?? Buffer.allocUnsafe(1 << 16);
    spare = undefined;
  }
  /** The last fractional sample value written and its text (NaN never equals itself, so it starts empty). */
  private lastValue = NaN;
  private lastText = '';

  private reserve(n: number): void {
    if (this.len + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.len + n) size *= 2;
    const next = Buffer.allocUnsafe(size);
    this.buf.copy(next, 0, 0, this.len);
    this.buf = next;
  }

  byte(b: number): void {
    this.reserve(1);
    this.buf[this.len++] = b;
  }

  /** Text known to be ASCII. */
  ascii(s: string): void {
    this.reserve(s.length);
    const buf = this.buf;
    let at = this.len;
    for (let i = 0; i < s.length; i++) buf[at++] = s.charCodeAt(i);
    this.len = at;
  }

  utf8(s: string): void {
    this.reserve(s.length * 3);
    const n = this.buf.write(s, this.len, 'utf8');
    this.len += n;
  }

  /**
   * `[t,"v"]` after the byte `lead` (`[` opening the list, `,` between points): `t` a JSON number, `v` a
   * sample value. Written in place when `t` is a uint32 (times in whole seconds) and `v` one too or a
   * fraction, the common cases.
   */
  point(lead: number, t: number, v: number): void {
    if (!(t > -1 && t <= 0x7fffffff && (t | 0) === t)) {
      this.byte(lead);
      this.byte(0x5b);
      this.jsonNumber(t);
      this.byte(0x2c);
      this.byte(0x22);
      this.sampleValue(v);
      this.byte(0x22);
      this.byte(0x5d);
      return;
    }
    const vInt = v > -1 && v <= 0x7fffffff && (v | 0) === v;
    const text = vInt ? '' : this.sampleText(v);
    this.reserve(28 + text.length);
    const buf = this.buf;
    let at = this.len;
    buf[at++] = lead;
    buf[at++] = 0x5b;
    at = writeUint32(buf, at, t);
    buf[at++] = 0x2c;
    buf[at++] = 0x22;
    if (vInt) at = writeUint32(buf, at, v);
    else for (let i = 0; i < text.length; i++) buf[at++] = text.charCodeAt(i);
    buf[at++] = 0x22;
    buf[at++] = 0x5d;
    this.len = at;
  }

  /** A JSON number as JSON.stringify writes it (`x` finite). */
  jsonNumber(x: number): void {
    if (Number.isInteger(x) && x > -MAX_DIGITS_INT && x < MAX_DIGITS_INT) this.integer(x);
    else this.ascii(String(x));
  }

  /** A sample value as `formatSampleValue` writes it. */
  sampleValue(v: number): void {
    if (Number.isInteger(v) && v > -MAX_DIGITS_INT && v < MAX_DIGITS_INT) this.integer(v);
    else this.ascii(this.sampleText(v));
  }

  /** `formatSampleValue(v)`, remembered for the next point. */
  private sampleText(v: number): string {
    // A series often repeats its value from step to step (a steady rate, a gauge that holds), and the
    // shortest-digits formatting of a fraction costs more than the rest of the point.
    if (v !== this.lastValue) {
      this.lastValue = v;
      this.lastText = formatSampleValue(v);
    }
    return this.lastText;
  }

  /** An integer below 1e15 in magnitude, as String() writes it (-0 as "0"). */
  private integer(x: number): void {
    this.reserve(17);
    const buf = this.buf;
    if (x < 0) {
      buf[this.len++] = 0x2d;
      x = -x;
    }
    if (x <= 0x7fffffff) {
      // Integers in int32 range (seconds since 1970 included) divide as int32.
      let v = x | 0;
      let digits = 1;
      for (let p = 10; p <= v; p *= 10) digits++;
      let at = this.len + digits;
      this.len = at;
      do {
        const q = (v / 10) | 0;
        buf[--at] = 0x30 + (v - q * 10);
        v = q;
      } while (v > 0);
      return;
    }
    let digits = 1;
    for (let p = 10; p <= x; p *= 10) digits++;
    let at = this.len + digits;
    this.len = at;
    do {
      const q = Math.floor(x / 10);
      buf[--at] = 0x30 + (x - q * 10);
      x = q;
    } while (x > 0);
  }

  /**
   * The bytes written, in an ArrayBuffer of their own (a worker transfers it to the serving thread); the
   * buffer goes back for the next encoding.
   */
  bytes(): Uint8Array {
    const out = new Uint8Array(this.len);
    out.set(this.buf.subarray(0, this.len));
    if (this.buf.length <= KEEP_BYTES) spare = this.buf;
    return out;
  }
}
