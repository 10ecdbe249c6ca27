import { quoteGo, tryParseGoFloat } from '../../model/index.ts';
import { ApiError } from '../errors.ts';

/**
 * Request parameter parsing with Prometheus' semantics and error texts (`web/api/v1/api.go`), so clients
 * that match on messages (and people who search them) see what Prometheus says.
 */

/** The default start of optional time ranges (Prometheus' MinTime, clamped to what a JS number holds exactly). */
export const MIN_TIME_MS = Number.MIN_SAFE_INTEGER;
/** The default end of optional time ranges (Prometheus' MaxTime, clamped likewise). */
export const MAX_TIME_MS = Number.MAX_SAFE_INTEGER;

// Prometheus formats its MinTime/MaxTime this way and accepts them back (client_golang sends them).
const MIN_TIME_FORMATTED = '-292273086-05-16T16:47:06Z';
const MAX_TIME_FORMATTED = '292277025-08-18T07:12:54.999999999Z';

/** The most points a range query may return per series, as in Prometheus. */
export const MAX_POINTS_PER_SERIES = 11_000;

const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?(?:([Zz])|([+-])(\d{2}):(\d{2}))$/;

/**
 * Parses a timestamp as Prometheus does: float Unix seconds (rounded to milliseconds) or RFC 3339 with
 * optional fraction. Returns Unix milliseconds. Throws a bare `Error` with Prometheus' message; callers
 * wrap it with the parameter name.
 */
export function parseTime(s: string): number {
  const f = tryParseGoFloat(s);
  if (f !== undefined && Number.isFinite(f)) {
    const whole = Math.trunc(f);
    const frac = Math.round((f - whole) * 1000);
    const ms = whole * 1000 + frac;
    if (Number.isSafeInteger(ms)) return ms;
    return ms < 0 ? MIN_TIME_MS : MAX_TIME_MS;
  }
  const m = RFC3339.exec(s);
  if (m) {
    const [, y, mo, d, h, mi, sec, fracDigits, , sign, oh, om] = m;
    const month = Number(mo);
    const day = Number(d);
    const hour = Number(h);
    const minute = Number(mi);
    const second = Number(sec);
    if (month >= 1 && month <= 12 && day >= 1 && day <= 31 && hour <= 23 && minute <= 59 && second <= 59) {
      // setUTCFullYear, unlike Date.UTC, keeps years below 100 as written.
      const date = new Date(0);
      date.setUTCFullYear(Number(y), month - 1, day);
      date.setUTCHours(hour, minute, second, 0);
      let ms = date.getTime();
      // Dates roll Feb 30 over into March; Go refuses it.
      if (date.getUTCDate() === day) {
        if (fracDigits !== undefined) ms += Number(fracDigits.slice(0, 3).padEnd(3, '0'));
        if (sign !== undefined) ms -= (sign === '-' ? -1 : 1) * (Number(oh) * 60 + Number(om)) * 60_000;
        return ms;
      }
    }
  }
  if (s === MIN_TIME_FORMATTED) return MIN_TIME_MS;
  if (s === MAX_TIME_FORMATTED) return MAX_TIME_MS;
  throw new Error(`cannot parse ${quoteGo(s)} to a valid timestamp`);
}

const DURATION_UNITS_MS: readonly [string, number][] = [
  ['y', 365 * 24 * 3_600_000],
  ['w', 7 * 24 * 3_600_000],
  ['d', 24 * 3_600_000],
  ['h', 3_600_000],
  ['m', 60_000],
  ['s', 1000],
  ['ms', 1],
];
const PROM_DURATION = /^(?:(\d+)y)?(?:(\d+)w)?(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?(?:(\d+)ms)?$/;
const MAX_DURATION_MS = 9_223_372_036_854; // Go's time.Duration (int64 nanoseconds) in milliseconds.

/**
 * Parses a duration as Prometheus does: float seconds (`15`, `0.5`) or a Prometheus duration (`1h30m`,
 * `500ms`, units in descending order). Returns milliseconds, possibly fractional for sub-millisecond
 * float input. Throws a bare `Error` with Prometheus' message.
 */
export function parseDurationMs(s: string): number {
  const f = tryParseGoFloat(s);
  if (f !== undefined && !Number.isNaN(f)) {
    const ms = f * 1000;
    if (!Number.isFinite(ms) || Math.abs(ms) > MAX_DURATION_MS) {
      throw new Error(`cannot parse ${quoteGo(s)} to a valid duration. It overflows int64`);
    }
    return ms;
  }
  const m = s === '' || s === '0' ? null : PROM_DURATION.exec(s);
  if (m) {
    let total = 0;
    for (let i = 0; i < DURATION_UNITS_MS.length; i++) {
      const n = m[i + 1];
      if (n !== undefined) total += Number(n) * DURATION_UNITS_MS[i]![1];
    }
    if (total <= MAX_DURATION_MS) return total;
  }
  throw new Error(`cannot parse ${quoteGo(s)} to a valid duration`);
}

/**
 * Parses Prometheus' `limit` parameter: empty is 0 (no limit), negative is an error. Throws a bare `Error`
 * with the message Go's strconv or Prometheus gives.
 */
export function parseLimit(s: string | undefined): number {
  if (s === undefined || s === '') return 0;
  const n = parseGoInt(s);
  if (n === undefined) throw new Error(`strconv.Atoi: parsing ${quoteGo(s)}: invalid syntax`);
  if (n < 0) throw new Error('limit must be non-negative');
  return n;
}

/** Go's strconv.Atoi for the usual forms (optional sign, decimal digits); undefined otherwise. */
export function parseGoInt(s: string): number | undefined {
  if (!/^[+-]?\d+$/.test(s)) return undefined;
  const n = Number(s);
  return Number.isSafeInteger(n) ? n : undefined;
}

/** Wraps a parse failure as Prometheus' `invalid parameter "NAME": ...` bad_data error. */
export function invalidParam(name: string, err: unknown): ApiError {
  const message = err instanceof Error ? err.message : String(err);
  return new ApiError('bad_data', `invalid parameter ${quoteGo(name)}: ${message}`, { cause: err });
}

/** Parses a required time parameter; errors name the parameter as Prometheus does. */
export function timeParam(name: string, value: string | undefined): number {
  try {
    return parseTime(value ?? '');
  } catch (err) {
    throw invalidParam(name, err);
  }
}

/** Parses an optional time parameter, returning `fallback` when absent or empty. */
export function optionalTimeParam(name: string, value: string | undefined, fallback: number): number {
  if (value === undefined || value === '') return fallback;
  try {
    return parseTime(value);
  } catch (err) {
    throw invalidParam(name, new Error(`invalid time value for '${name}': ${(err as Error).message}`));
  }
}

/** Parses a duration parameter (`step`, `timeout`, `lookback_delta`). */
export function durationParam(name: string, value: string | undefined): number {
  try {
    return parseDurationMs(value ?? '');
  } catch (err) {
    throw invalidParam(name, err);
  }
}

/** Parses the `limit` parameter (0 = none). */
export function limitParam(value: string | undefined): number {
  try {
    return parseLimit(value);
  } catch (err) {
    throw invalidParam('limit', err);
  }
}
