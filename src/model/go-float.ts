import { quoteGo } from './go-string.ts';

/**
 * Go's `strconv.ParseFloat(s, 64)`, the one home for it: Prometheus and Loki parse sample values, `le`
 * labels, timestamps, steps and extracted label values with it, and its error texts reach users.
 */

// Decimal and hexadecimal literals as Go's readFloat takes them; underscores are checked separately.
const DECIMAL = /^[+-]?(?:[0-9_]+\.?[0-9_]*|\.[0-9_]+)(?:[eE][+-]?[0-9_]+)?$/;
const HEXADECIMAL = /^([+-]?)0[xX]([0-9a-fA-F_]*)(?:\.([0-9a-fA-F_]*))?[pP]([+-]?[0-9_]+)$/;
const SPECIAL = /^(?:([+-]?)(?:inf|infinity)|nan)$/i;

/**
 * Go's `underscoreOK`: an underscore may only sit between digits, or between a base prefix and a digit.
 */
function underscoresOk(s: string): boolean {
  let saw = '^';
  let i = 0;
  if (s[0] === '+' || s[0] === '-') s = s.slice(1);
  let hex = false;
  if (s.length >= 2 && s[0] === '0' && /[bBoOxX]/.test(s[1]!)) {
    i = 2;
    saw = '0';
    hex = s[1] === 'x' || s[1] === 'X';
  }
  for (; i < s.length; i++) {
    const c = s[i]!;
    if ((c >= '0' && c <= '9') || (hex && /[a-fA-F]/.test(c))) {
      saw = '0';
      continue;
    }
    if (c === '_') {
      if (saw !== '0') return false;
      saw = '_';
      continue;
    }
    if (saw === '_') return false;
    saw = '!';
  }
  return saw !== '_';
}

/** The outcome of {@link readGoFloat}: a value, or Go's reason (`invalid syntax` or `value out of range`). */
export type GoFloatResult = { readonly value: number } | { readonly error: 'invalid syntax' | 'value out of range' };

/** Rounds `mantissa × 2^exp2` to the nearest float64 (ties to even), as Go does for hexadecimal input. */
function binaryToFloat(mantissa: bigint, exp2: number): number | undefined {
  if (mantissa === 0n) return 0;
  const bits = mantissa.toString(2).length;
  const e = bits - 1 + exp2; // value lies in [2^e, 2^(e+1))
  if (e > 1023) return undefined;
  const precision = e >= -1022 ? 53 : 53 - (-1022 - e); // fewer bits for subnormals
  if (precision < 0) return 0;
  const shift = bits - precision;
  let q: bigint;
  if (shift > 0) {
    q = mantissa >> BigInt(shift);
    const rest = mantissa & ((1n << BigInt(shift)) - 1n);
    const half = 1n << BigInt(shift - 1);
    if (rest > half || (rest === half && (q & 1n) === 1n)) q += 1n;
  } else {
    q = mantissa << BigInt(-shift);
  }
  const v = Number(q) * 2 ** (exp2 + shift);
  return Number.isFinite(v) ? v : undefined;
}

/**
 * `strconv.ParseFloat(s, 64)` without throwing: decimal (`1.5e3`, `.5`, `1_000`), hexadecimal with a binary
 * exponent (`0x1.8p1`; the `p` is required), `Inf`/`Infinity` with an optional sign and `NaN`, any case.
 * Underflow rounds to zero as in Go; overflow is `value out of range`. No surrounding spaces.
 */
export function readGoFloat(s: string): GoFloatResult {
  const special = SPECIAL.exec(s);
  if (special) return { value: /nan/i.test(s) ? NaN : special[1] === '-' ? -Infinity : Infinity };
  if (s.includes('_') && !underscoresOk(s)) return { error: 'invalid syntax' };
  const hex = HEXADECIMAL.exec(s);
  if (hex) {
    const intDigits = hex[2]!.replace(/_/g, '');
    const fracDigits = (hex[3] ?? '').replace(/_/g, '');
    if (intDigits === '' && fracDigits === '') return { error: 'invalid syntax' };
    const mantissa = BigInt(`0x${intDigits}${fracDigits}`);
    const v = binaryToFloat(mantissa, Number(hex[4]!.replace(/_/g, '')) - 4 * fracDigits.length);
    if (v === undefined) return { error: 'value out of range' };
    return { value: hex[1] === '-' ? -v : v };
  }
  if (!DECIMAL.test(s) || !/[0-9]/.test(s.replace(/[eE].*$/, ''))) return { error: 'invalid syntax' };
  const v = Number(s.includes('_') ? s.replace(/_/g, '') : s);
  if (Number.isNaN(v)) return { error: 'invalid syntax' };
  if (!Number.isFinite(v)) return { error: 'value out of range' };
  return { value: v };
}

/** `strconv.ParseFloat(s, 64)`, or undefined when Go returns an error (bad syntax or out of range). */
export function tryParseGoFloat(s: string): number | undefined {
  const r = readGoFloat(s);
  return 'value' in r ? r.value : undefined;
}

/** `strconv.ParseFloat(s, 64)`: the value, or an `Error` with Go's text (`strconv.ParseFloat: parsing "x": invalid syntax`). */
export function parseGoFloat(s: string): number {
  const r = readGoFloat(s);
  if ('error' in r) throw new Error(`strconv.ParseFloat: parsing ${quoteGo(s)}: ${r.error}`);
  return r.value;
}
