import { quoteGo, tryParseGoFloat } from '../../model/index.ts';
import { defaultStepMs } from '../../logql/index.ts';
import { ApiError } from '../errors.ts';
import { FormParams } from '../form-params.ts';

/**
 * Loki's request parameter rules (`pkg/loghttp/params.go`, `pkg/util/http.go`) with its error texts:
 * timestamps as Unix seconds (up to 10 digits), nanoseconds, float seconds or RFC 3339; steps and
 * intervals as float seconds or durations; `since` as a duration.
 */

/** A request's parameters (form body first, then URL query, as Loki reads `r.Form`); empty values count as absent. */
export class LokiParams extends FormParams {
  override get(name: string): string | undefined {
    return this.present(name);
  }
}

const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(?:([Zz])|([+-])(\d{2}):(\d{2}))$/;

/** Loki's parseTimestamp: returns Unix nanoseconds. Throws Error with a message naming the value. */
export function parseLokiTime(value: string): bigint {
  if (value.includes('.')) {
    const f = tryParseGoFloat(value);
    if (f !== undefined && Number.isFinite(f)) {
      const s = Math.trunc(f);
      const frac = Math.round((f - s) * 1000) / 1000;
      return BigInt(s) * 1_000_000_000n + BigInt(Math.round(frac * 1e9));
    }
  }
  if (/^[+-]?\d+$/.test(value)) {
    const n = BigInt(value);
    return value.replace(/^[+-]/, '').length <= 10 ? n * 1_000_000_000n : n;
  }
  const m = RFC3339.exec(value);
  if (m) {
    const [, y, mo, d, h, mi, sec, frac, , sign, oh, om] = m;
    const ms = Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(sec));
    if (!Number.isNaN(ms)) {
      let ns = BigInt(ms) * 1_000_000n + BigInt((frac ?? '').padEnd(9, '0') || '0');
      if (sign !== undefined) ns -= BigInt((sign === '-' ? -1 : 1) * (Number(oh) * 60 + Number(om))) * 60_000_000_000n;
      return ns;
    }
  }
  throw new Error(`could not parse ${quoteGo(value)} as a timestamp`);
}

const DURATION_UNITS: Record<string, number> = {
  ns: 1e-6,
  us: 1e-3,
  'µs': 1e-3,
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 7 * 86_400_000,
  y: 365 * 86_400_000,
};

/** A duration (`5m`, `1h30m`, `500ms`, `7d`) in milliseconds, or undefined. */
export function parseDurationMs(value: string): number | undefined {
  const re = /(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h|d|w|y)/y;
  let i = 0;
  let total = 0;
  if (value === '') return undefined;
  while (i < value.length) {
    re.lastIndex = i;
    const m = re.exec(value);
    if (!m) return undefined;
    const unit = DURATION_UNITS[m[2] ?? ''];
    if (unit === undefined) return undefined;
    total += Number(m[1]) * unit;
    i = re.lastIndex;
  }
  return total;
}

/** Loki's parseSecondsOrDuration: float seconds (`15`, `0.5`) or a duration (`15s`, `5000ms`). Milliseconds. */
export function parseSecondsOrDurationMs(value: string): number | undefined {
  const seconds = tryParseGoFloat(value);
  if (seconds !== undefined) return seconds * 1000;
  return parseDurationMs(value);
}

function bad(message: string): ApiError {
  return new ApiError('bad_data', message);
}

/** A time parameter (Unix ns), or `def` when absent. */
export function timeParam(p: LokiParams, name: string, def: bigint): bigint {
  const v = p.get(name);
  if (v === undefined) return def;
  try {
    return parseLokiTime(v);
  } catch (err) {
    throw bad(`invalid ${name}: ${(err as Error).message}`);
  }
}

export function nowNs(): bigint {
  return BigInt(Date.now()) * 1_000_000n;
}

/**
 * `start`/`end` with Loki's defaults: end = now, start = end − `since` (or `defaultSinceMs`). Rejects an end
 * before the start.
 */
export function rangeParams(p: LokiParams, defaultSinceMs: number): { startNs: bigint; endNs: bigint } {
  const endNs = timeParam(p, 'end', nowNs());
  const sinceText = p.get('since');
  let sinceMs = defaultSinceMs;
  if (sinceText !== undefined) {
    const d = parseDurationMs(sinceText);
    if (d === undefined) throw bad(`invalid since: could not parse ${quoteGo(sinceText)} as a duration`);
    sinceMs = d;
  }
  const startNs = timeParam(p, 'start', endNs - BigInt(Math.round(sinceMs * 1e6)));
  if (endNs < startNs) throw bad('end timestamp must not be before or equal to start time');
  return { startNs, endNs };
}

export function limitParam(p: LokiParams, def: number): number {
  const v = p.get('limit');
  if (v === undefined) return def;
  if (!/^\d+$/.test(v)) throw bad(`invalid limit: strconv.ParseUint: parsing ${quoteGo(v)}: invalid syntax`);
  const n = Number(v);
  if (n <= 0) throw bad('limit must be a positive value');
  return n;
}

export function directionParam(p: LokiParams): 'forward' | 'backward' {
  const v = (p.get('direction') ?? 'backward').toLowerCase();
  if (v !== 'forward' && v !== 'backward') throw bad(`invalid direction: ${quoteGo(p.get('direction') ?? '')}`);
  return v;
}

/** `step`/`interval`-like parameter in milliseconds, or undefined when absent. */
export function secondsOrDurationParam(p: LokiParams, name: string): number | undefined {
  const v = p.get(name);
  if (v === undefined) return undefined;
  const ms = parseSecondsOrDurationMs(v);
  if (ms === undefined || Number.isNaN(ms)) throw bad(`invalid ${name}: cannot parse ${quoteGo(v)} to a valid duration`);
  return ms;
}

export function requiredParam(p: LokiParams, name: string): string {
  const v = p.get(name);
  if (v === undefined) throw bad(`missing ${name} parameter`);
  return v;
}

/** Loki's (and Prometheus') cap on points per series of a range read. */
export const MAX_POINTS_PER_SERIES = 11_000;

/**
 * The `step` of a range read (`query_range`, `index/volume_range`) in milliseconds, with Loki's default (the
 * range over 250 points, at least 1 s) and its checks (`pkg/loghttp/params.go` ParseRangeQuery): a step must
 * be positive, and the range may hold at most 11,000 steps (Go divides the durations as integers).
 */
export function rangeStepMs(p: LokiParams, startNs: bigint, endNs: bigint): number {
  const stepMs = secondsOrDurationParam(p, 'step') ?? defaultStepMs(startNs, endNs);
  if (!(stepMs > 0)) throw bad('zero or negative query resolution step widths are not accepted. Try a positive integer');
  if (Math.floor(Number(endNs - startNs) / 1e6 / stepMs) > MAX_POINTS_PER_SERIES) {
    throw bad('exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the query resolution (?step=XX)');
  }
  return stepMs;
}

/**
 * Rounds `start` down and `end` up to multiples of `step` (from the Unix epoch), as Loki's query frontend does
 * before it evaluates a metric range query: `metricQuerySplitter.alignStartEnd` in
 * `pkg/querier/queryrange/splitters.go` (`splitMetricByTime` in older `split_by_interval.go`), which runs for
 * every metric query, split or not. So the points of an unaligned range (Grafana's `now-1h..now`) land at
 * the same timestamps as Loki's.
 */
export function alignToStep(startNs: bigint, endNs: bigint, stepMs: number): { startNs: bigint; endNs: bigint } {
  const stepNs = BigInt(Math.round(stepMs * 1e6));
  if (stepNs <= 0n) return { startNs, endNs };
  const mod = endNs % stepNs;
  return { startNs: startNs - (startNs % stepNs), endNs: mod === 0n ? endNs : endNs + stepNs - mod };
}
