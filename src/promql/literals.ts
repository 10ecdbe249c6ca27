/** Number and duration literals with Go/Prometheus semantics. */
import { tryParseGoFloat } from '../model/index.ts';

const DURATION_RE = /^(?:(\d+)y)?(?:(\d+)w)?(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?(?:(\d+)ms)?$/;
const UNIT_MS = [365 * 86_400_000, 7 * 86_400_000, 86_400_000, 3_600_000, 60_000, 1000, 1];

/**
 * Parses a Prometheus duration (`1h30m`, `5m`, `100ms`, `0`) into milliseconds; undefined if it is not one.
 * Units must appear in descending order, each at most once, as Prometheus requires.
 */
export function parseDuration(text: string): number | undefined {
  if (text === '0') return 0;
  if (text === '') return undefined;
  const m = DURATION_RE.exec(text);
  if (!m) return undefined;
  let total = 0;
  for (let i = 0; i < UNIT_MS.length; i++) {
    const g = m[i + 1];
    if (g !== undefined) total += Number(g) * UNIT_MS[i]!;
  }
  return total;
}

/**
 * Parses a PromQL number literal: decimal/float with optional `_` separators, hex (`0x1f`), octal with a
 * leading zero (Go's ParseInt base 0), `Inf`/`NaN` in any case, or a duration (whose value is seconds).
 * Returns undefined when the text is none of these.
 */
export function parseNumberLiteral(text: string): number | undefined {
  const lower = text.toLowerCase();
  if (lower === 'inf' || lower === '+inf') return Infinity;
  if (lower === '-inf') return -Infinity;
  if (lower === 'nan' || lower === '+nan' || lower === '-nan') return NaN;
  let sign = 1;
  let body = text;
  if (body.startsWith('+') || body.startsWith('-')) {
    if (body[0] === '-') sign = -1;
    body = body.slice(1);
  }
  const lowerBody = body.toLowerCase();
  if (lowerBody === 'inf') return sign * Infinity;
  if (lowerBody === 'nan') return NaN;
  if (/^0x[0-9a-f]+$/i.test(body)) return sign * parseInt(body.slice(2), 16);
  if (/^0[0-7]+$/.test(body)) return sign * parseInt(body, 8);
  if (/^[0-9._]/.test(body)) {
    const f = tryParseGoFloat(body);
    if (f !== undefined) return sign * f;
  }
  const d = parseDuration(body);
  if (d !== undefined) return (sign * d) / 1000;
  return undefined;
}
