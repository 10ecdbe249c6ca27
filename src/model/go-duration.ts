/**
 * Go's `time.ParseDuration` and Prometheus' `model.ParseDuration`, with their exact acceptance rules and error
 * texts: the query languages (LogQL, TraceQL) take duration literals and values in these syntaxes.
 */

const GO_UNITS: Record<string, number> = {
  ns: 1,
  us: 1e3,
  'µs': 1e3, // U+00B5 micro sign
  'μs': 1e3, // U+03BC Greek mu
  ms: 1e6,
  s: 1e9,
  m: 60e9,
  h: 3600e9,
};

/**
 * `time.ParseDuration`: a signed sequence of decimal numbers with units (ns, us, µs, ms, s, m, h).
 * Returns nanoseconds as a number (exact below 2^53 ns, about 104 days). Throws Go's error text.
 */
export function parseGoDuration(orig: string): number {
  let s = orig;
  let neg = false;
  if (s !== '' && (s[0] === '-' || s[0] === '+')) {
    neg = s[0] === '-';
    s = s.slice(1);
  }
  if (s === '0') return 0;
  if (s === '') throw new Error(`time: invalid duration ${JSON.stringify(orig)}`);
  let total = 0;
  while (s !== '') {
    const num = /^(\d*)(?:\.(\d*))?/.exec(s)!;
    const intDigits = num[1];
    const fracDigits = num[2];
    if (intDigits === '' && (fracDigits === undefined || fracDigits === '')) {
      throw new Error(`time: invalid duration ${JSON.stringify(orig)}`);
    }
    s = s.slice(num[0].length);
    const unitMatch = /^[^\d.]*/.exec(s)!;
    const unit = unitMatch[0];
    if (unit === '') throw new Error(`time: missing unit in duration ${JSON.stringify(orig)}`);
    const scale = GO_UNITS[unit];
    if (scale === undefined) throw new Error(`time: unknown unit ${JSON.stringify(unit)} in duration ${JSON.stringify(orig)}`);
    s = s.slice(unit.length);
    total += Number(`${intDigits || '0'}.${fracDigits || '0'}`) * scale;
  }
  return neg ? -total : total;
}

const PROM_DURATION = /^(?:(\d+)y)?(?:(\d+)w)?(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?(?:(\d+)ms)?$/;

/** Prometheus `model.ParseDuration` (y, w, d, h, m, s, ms; integers only). Returns nanoseconds or undefined. */
export function parsePromDuration(s: string): number | undefined {
  if (s === '0') return 0;
  if (s === '') return undefined;
  const m = PROM_DURATION.exec(s);
  if (!m) return undefined;
  const mult = [365 * 86400e9, 7 * 86400e9, 86400e9, 3600e9, 60e9, 1e9, 1e6];
  let total = 0;
  mult.forEach((unitNs, i) => {
    const digits = m[i + 1];
    if (digits !== undefined) total += Number(digits) * unitNs;
  });
  return total;
}


/** Prometheus' `model.Duration.String()` of a millisecond count: `1h30m`, `5m`, `500ms`, `0s`, `-1m`. */
export function formatPromDuration(ms: number): string {
  if (ms === 0) return '0s';
  let out = ms < 0 ? '-' : '';
  let rest = Math.abs(ms);
  const units: [string, number][] = [['y', 31_536_000_000], ['w', 604_800_000], ['d', 86_400_000], ['h', 3_600_000], ['m', 60_000], ['s', 1000], ['ms', 1]];
  for (const [u, size] of units) {
    const n = Math.floor(rest / size);
    if (n > 0) {
      out += `${n}${u}`;
      rest -= n * size;
    }
  }
  return out;
}
