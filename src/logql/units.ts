/**
 * Number, duration and byte-size conversions with the exact acceptance rules and error texts of the Go
 * functions Loki uses (`strconv.ParseFloat`, `time.ParseDuration`, Prometheus `model.ParseDuration`,
 * `humanize.ParseBytes`), because those texts surface in `__error_details__` and query errors.
 */
import { parseGoDuration, parseGoFloat, parsePromDuration } from '../model/index.ts';

export { parseGoDuration, parsePromDuration };

/** A duration literal in a query: Go syntax first, then Prometheus' (which adds d, w, y). Nanoseconds. */
export function parseQueryDuration(s: string): number {
  try {
    return parseGoDuration(s);
  } catch (err) {
    const neg = s.startsWith('-');
    const p = parsePromDuration(neg ? s.slice(1) : s);
    if (p !== undefined) return neg ? -p : p;
    throw err;
  }
}

const BYTE_UNITS: Record<string, number> = {
  '': 1,
  b: 1,
  kib: 1024,
  kb: 1000,
  mib: 1024 ** 2,
  mb: 1000 ** 2,
  gib: 1024 ** 3,
  gb: 1000 ** 3,
  tib: 1024 ** 4,
  tb: 1000 ** 4,
  pib: 1024 ** 5,
  pb: 1000 ** 5,
  eib: 1024 ** 6,
  eb: 1000 ** 6,
  ki: 1024,
  k: 1000,
  mi: 1024 ** 2,
  m: 1000 ** 2,
  gi: 1024 ** 3,
  g: 1000 ** 3,
  ti: 1024 ** 4,
  t: 1000 ** 4,
  pi: 1024 ** 5,
  p: 1000 ** 5,
  ei: 1024 ** 6,
  e: 1000 ** 6,
};

/** `humanize.ParseBytes`: "1.5KB", "2,048", "1 MiB" (units case-insensitive); truncates to an integer. */
export function parseHumanBytes(s: string): number {
  let i = 0;
  let hasComma = false;
  while (i < s.length) {
    const c = s.charAt(i);
    if (!((c >= '0' && c <= '9') || c === '.' || c === ',')) break;
    if (c === ',') hasComma = true;
    i++;
  }
  let num = s.slice(0, i);
  if (hasComma) num = num.replace(/,/g, '');
  const f = parseGoFloat(num);
  const extra = s.slice(i).trim().toLowerCase();
  const mult = BYTE_UNITS[extra];
  if (mult === undefined) throw new Error(`unhandled size name: ${extra}`);
  const v = f * mult;
  if (v >= 2 ** 64) throw new Error(`too large: ${s}`);
  return Math.trunc(v);
}

/** Formats a nanosecond duration the way Go's `time.Duration.String` does (used in error texts). */
export function formatGoDuration(ns: number): string {
  if (ns === 0) return '0s';
  const neg = ns < 0;
  let v = Math.abs(ns);
  let out: string;
  if (v < 1e3) out = `${v}ns`;
  else if (v < 1e6) out = `${trimFloat(v / 1e3)}µs`;
  else if (v < 1e9) out = `${trimFloat(v / 1e6)}ms`;
  else {
    const h = Math.floor(v / 3600e9);
    v -= h * 3600e9;
    const m = Math.floor(v / 60e9);
    v -= m * 60e9;
    const s = trimFloat(v / 1e9);
    out = h > 0 ? `${h}h${m}m${s}s` : m > 0 ? `${m}m${s}s` : `${s}s`;
  }
  return neg ? `-${out}` : out;
}

function trimFloat(v: number): string {
  return String(Number(v.toFixed(9)));
}
