/** Unquoting, number and duration literals with Go/Prometheus semantics. */

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

/** Formats milliseconds as Prometheus prints durations (`1h30m`, `5m`, `0s`). */
export function formatDuration(ms: number): string {
  if (ms === 0) return '0s';
  let out = ms < 0 ? '-' : '';
  let rest = Math.abs(ms);
  const units: [string, number][] = [
    ['y', UNIT_MS[0]!],
    ['w', UNIT_MS[1]!],
    ['d', UNIT_MS[2]!],
    ['h', UNIT_MS[3]!],
    ['m', UNIT_MS[4]!],
    ['s', UNIT_MS[5]!],
    ['ms', 1],
  ];
  for (const [u, size] of units) {
    const n = Math.floor(rest / size);
    if (n > 0) {
      out += `${n}${u}`;
      rest -= n * size;
    }
  }
  return out;
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
  if (/^(\d+(_\d+)*(\.(\d+(_\d+)*)?)?|\.\d+(_\d+)*)([eE][+-]?\d+(_\d+)*)?$/.test(body)) {
    return sign * Number(body.replace(/_/g, ''));
  }
  const d = parseDuration(body);
  if (d !== undefined) return (sign * d) / 1000;
  return undefined;
}

/** The result of unquoting: the string, and the raw bytes when they are not valid UTF-8. */
export interface Unquoted {
  readonly value: string;
  readonly invalidUtf8?: Uint8Array;
}

/**
 * Unquotes a PromQL string literal (`"..."`, `'...'` or a raw backquoted string) with Go's escape rules.
 * Throws an Error with a Go-like message for invalid escapes.
 */
export function unquoteString(literal: string): Unquoted {
  const q = literal[0];
  if (literal.length < 2 || literal[literal.length - 1] !== q) throw new Error('unterminated quoted string');
  const inner = literal.slice(1, -1);
  if (q === '`') return { value: inner };
  if (q !== '"' && q !== "'") throw new Error('invalid syntax');
  if (!inner.includes('\\')) return { value: inner };
  const bytes: number[] = [];
  const enc = new TextEncoder();
  const pushStr = (s: string): void => {
    for (const b of enc.encode(s)) bytes.push(b);
  };
  for (let i = 0; i < inner.length; i++) {
    const c = inner[i]!;
    if (c !== '\\') {
      const cp = inner.codePointAt(i)!;
      const s = String.fromCodePoint(cp);
      pushStr(s);
      if (s.length === 2) i++;
      continue;
    }
    i++;
    if (i >= inner.length) throw new Error('invalid syntax');
    const e = inner[i]!;
    switch (e) {
      case 'a':
        bytes.push(7);
        break;
      case 'b':
        bytes.push(8);
        break;
      case 'f':
        bytes.push(12);
        break;
      case 'n':
        bytes.push(10);
        break;
      case 'r':
        bytes.push(13);
        break;
      case 't':
        bytes.push(9);
        break;
      case 'v':
        bytes.push(11);
        break;
      case '\\':
        bytes.push(92);
        break;
      case "'":
      case '"':
        if (e !== q) throw new Error('invalid syntax');
        bytes.push(e.charCodeAt(0));
        break;
      case 'x': {
        const hex = inner.slice(i + 1, i + 3);
        if (!/^[0-9a-fA-F]{2}$/.test(hex)) throw new Error('invalid syntax');
        bytes.push(parseInt(hex, 16));
        i += 2;
        break;
      }
      case 'u':
      case 'U': {
        const n = e === 'u' ? 4 : 8;
        const hex = inner.slice(i + 1, i + 1 + n);
        if (!new RegExp(`^[0-9a-fA-F]{${n}}$`).test(hex)) throw new Error('invalid syntax');
        const cp = parseInt(hex, 16);
        if (cp > 0x10ffff || (cp >= 0xd800 && cp < 0xe000)) throw new Error('invalid syntax');
        pushStr(String.fromCodePoint(cp));
        i += n;
        break;
      }
      default: {
        if (e >= '0' && e <= '7') {
          const oct = inner.slice(i, i + 3);
          if (!/^[0-7]{3}$/.test(oct)) throw new Error('invalid syntax');
          const v = parseInt(oct, 8);
          if (v > 255) throw new Error('invalid syntax');
          bytes.push(v);
          i += 2;
          break;
        }
        throw new Error('invalid syntax');
      }
    }
  }
  const arr = Uint8Array.from(bytes);
  try {
    return { value: new TextDecoder('utf-8', { fatal: true }).decode(arr) };
  } catch {
    return { value: new TextDecoder('utf-8').decode(arr), invalidUtf8: arr };
  }
}

/** Quotes a string like Go's `%q` (used in error messages that must match Prometheus'). */
export function goQuote(s: string, rawBytes?: Uint8Array): string {
  const bytes = rawBytes ?? new TextEncoder().encode(s);
  let out = '"';
  let i = 0;
  const dec = new TextDecoder('utf-8', { fatal: true });
  while (i < bytes.length) {
    const b = bytes[i]!;
    if (b < 0x80) {
      switch (b) {
        case 0x22:
          out += '\\"';
          break;
        case 0x5c:
          out += '\\\\';
          break;
        case 0x0a:
          out += '\\n';
          break;
        case 0x0d:
          out += '\\r';
          break;
        case 0x09:
          out += '\\t';
          break;
        case 0x07:
          out += '\\a';
          break;
        case 0x08:
          out += '\\b';
          break;
        case 0x0c:
          out += '\\f';
          break;
        case 0x0b:
          out += '\\v';
          break;
        default:
          out += b < 0x20 || b === 0x7f ? `\\x${b.toString(16).padStart(2, '0')}` : String.fromCharCode(b);
      }
      i++;
      continue;
    }
    const len = b >= 0xf0 ? 4 : b >= 0xe0 ? 3 : b >= 0xc0 ? 2 : 1;
    let ch: string | undefined;
    if (len > 1 && i + len <= bytes.length) {
      try {
        ch = dec.decode(bytes.subarray(i, i + len));
      } catch {
        ch = undefined;
      }
    }
    if (ch === undefined) {
      out += `\\x${b.toString(16).padStart(2, '0')}`;
      i++;
    } else {
      out += ch;
      i += len;
    }
  }
  return out + '"';
}
