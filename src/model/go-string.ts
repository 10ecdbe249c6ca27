/**
 * Go string literals, the one home for reading and writing them: Prometheus, Loki and their selectors write
 * strings the way Go's `strconv.Unquote` reads them (Prometheus' `strutil.Unquote`, which also takes
 * single-quoted strings of any length), and their error texts quote values the way `strconv.Quote` (`%q`)
 * writes them.
 */

/** A string literal read from selector text: its value and the index just after its closing quote. */
export type QuotedString = { readonly value: string; readonly end: number } | { readonly error: string };

/** The result of unquoting: the string, and the raw bytes when the escapes spell bytes that are not UTF-8. */
export interface Unquoted {
  readonly value: string;
  /** Set only when `\x`/octal escapes form invalid UTF-8; the value then holds U+FFFD in their place. */
  readonly invalidUtf8?: Uint8Array;
}

type Scanned = { readonly value: string; readonly end: number; readonly invalidUtf8?: Uint8Array } | { readonly error: string };

const encoder = new TextEncoder();
const strictDecoder = new TextDecoder('utf-8', { fatal: true });
const lenientDecoder = new TextDecoder('utf-8');
const SIMPLE_ESCAPES: Readonly<Record<string, number>> = { a: 7, b: 8, f: 12, n: 10, r: 13, t: 9, v: 11, '\\': 92 };
const HEX = /^[0-9a-fA-F]+$/;

/**
 * Scans one Go string literal starting at `pos`: raw `` `...` `` (carriage returns dropped, as Go does) or
 * interpreted between one of the `quotes` characters, with Go's escapes. A `\'` or `\"` is valid only
 * inside strings quoted by that character, as in Go.
 */
function scan(text: string, pos: number, quotes: string): Scanned {
  const q = text[pos];
  if (q === '`') {
    const end = text.indexOf('`', pos + 1);
    if (end < 0) return { error: 'unterminated raw string' };
    const raw = text.slice(pos + 1, end);
    return { value: raw.includes('\r') ? raw.replace(/\r/g, '') : raw, end: end + 1 };
  }
  if (q === undefined || !quotes.includes(q)) {
    return { error: `unexpected ${q === undefined ? 'end of input' : `character "${q}"`}, expected a quoted string` };
  }
  // Fast path: no escapes.
  let i = pos + 1;
  while (i < text.length && text[i] !== q && text[i] !== '\\' && text[i] !== '\n') i++;
  if (text[i] === q) return { value: text.slice(pos + 1, i), end: i + 1 };
  // Escapes may spell arbitrary bytes (`\xc3\xa9` is "é"), so the slow path builds UTF-8 bytes.
  const bytes: number[] = [];
  const push = (s: string): void => {
    for (const b of encoder.encode(s)) bytes.push(b);
  };
  push(text.slice(pos + 1, i));
  for (;;) {
    if (i >= text.length) return { error: 'unterminated quoted string' };
    const c = text[i]!;
    if (c === '\n') return { error: 'newline in quoted string' };
    if (c === q) break;
    if (c !== '\\') {
      let j = i + 1;
      while (j < text.length && text[j] !== q && text[j] !== '\\' && text[j] !== '\n') j++;
      push(text.slice(i, j));
      i = j;
      continue;
    }
    const e = text[i + 1];
    i += 2;
    if (e === undefined) return { error: 'unterminated quoted string' };
    const simple = SIMPLE_ESCAPES[e];
    if (simple !== undefined) {
      bytes.push(simple);
      continue;
    }
    if (e === "'" || e === '"') {
      if (e !== q) return { error: `unknown escape sequence \\${e}` };
      bytes.push(e.charCodeAt(0));
      continue;
    }
    if (e === 'x' || e === 'u' || e === 'U') {
      const len = e === 'x' ? 2 : e === 'u' ? 4 : 8;
      const hex = text.slice(i, i + len);
      if (hex.length !== len || !HEX.test(hex)) return { error: `invalid escape sequence \\${e}${hex}` };
      const cp = parseInt(hex, 16);
      i += len;
      if (e === 'x') {
        bytes.push(cp);
        continue;
      }
      if (cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return { error: `invalid code point in \\${e}${hex}` };
      push(String.fromCodePoint(cp));
      continue;
    }
    const oct = text.slice(i - 1, i + 2);
    if (e >= '0' && e <= '7' && /^[0-7]{3}$/.test(oct)) {
      const v = parseInt(oct, 8);
      if (v > 255) return { error: `octal escape value \\${oct} > 255` };
      bytes.push(v);
      i += 2;
      continue;
    }
    return { error: `unknown escape sequence \\${e}` };
  }
  const arr = Uint8Array.from(bytes);
  try {
    return { value: strictDecoder.decode(arr), end: i + 1 };
  } catch {
    return { value: lenientDecoder.decode(arr), end: i + 1, invalidUtf8: arr };
  }
}

/**
 * Reads a Go string literal at `pos`, as Prometheus and Loki selectors write label values: raw
 * `` `...` `` or interpreted with Go escapes (`\n`, `\t`, `\xNN`, `\uNNNN`, `\UNNNNNNNN`, `\NNN` octal...)
 * between any of the `quotes` characters. Escapes that spell bytes which are not valid UTF-8 are refused,
 * since label values must be UTF-8. Returns the value, or an error message naming the problem.
 */
export function readGoString(text: string, pos: number, quotes = '"'): QuotedString {
  const r = scan(text, pos, quotes);
  if ('error' in r) return r;
  if (r.invalidUtf8) return { error: 'escape sequences spell bytes that are not valid UTF-8 in a label value' };
  return { value: r.value, end: r.end };
}

/**
 * Go's `strconv.Unquote` as Prometheus' `strutil.Unquote` extends it (single-quoted strings of any length):
 * the whole of `literal` must be one `"..."`, `'...'` or `` `...` `` literal. Escapes may spell invalid
 * UTF-8; then `invalidUtf8` holds the bytes (PromQL reports them as Go would). Throws an `Error` whose
 * message is Go's `invalid syntax`, or `unterminated quoted string` when the closing quote is missing.
 */
export function unquoteGo(literal: string): Unquoted {
  const q = literal[0];
  if (q === undefined || literal.length < 2 || literal[literal.length - 1] !== q) throw new Error('unterminated quoted string');
  const r = scan(literal, 0, `"'`);
  if ('error' in r || r.end !== literal.length) throw new Error('invalid syntax');
  return r.invalidUtf8 ? { value: r.value, invalidUtf8: r.invalidUtf8 } : { value: r.value };
}

/** {@link unquoteGo}'s value alone (invalid UTF-8 becomes U+FFFD), for callers that only need the text. */
export function unquoteGoString(literal: string): string {
  return unquoteGo(literal).value;
}

// Go's strconv.IsPrint outside ASCII: letters, marks, numbers, punctuation and symbols (not other spaces).
const PRINTABLE = /^[\p{L}\p{M}\p{N}\p{P}\p{S}]$/u;
const SHORT_ESCAPES: Readonly<Record<number, string>> = { 7: '\\a', 8: '\\b', 12: '\\f', 10: '\\n', 13: '\\r', 9: '\\t', 11: '\\v' };

function hex(n: number, width: number): string {
  return n.toString(16).padStart(width, '0');
}

/**
 * Go's `strconv.Quote` (what `%q` prints): double quotes; `"` and `\` backslashed; printable characters
 * as they are; `\a \b \f \n \r \t \v`; other control bytes as `\xNN`; other non-printable code points as
 * `\uNNNN`/`\UNNNNNNNN`. Pass `rawBytes` to quote a string that is not valid UTF-8: its stray bytes print
 * as `\xNN`, as Go prints them.
 */
export function quoteGo(s: string, rawBytes?: Uint8Array): string {
  if (rawBytes !== undefined) return quoteBytes(rawBytes);
  let out = '"';
  for (const ch of s) {
    const cp = ch.codePointAt(0)!;
    if (cp < 0x80) {
      if (cp === 0x22) out += '\\"';
      else if (cp === 0x5c) out += '\\\\';
      else if (cp >= 0x20 && cp < 0x7f) out += ch;
      else out += SHORT_ESCAPES[cp] ?? `\\x${hex(cp, 2)}`;
    } else if (cp >= 0xd800 && cp <= 0xdfff) {
      out += '\\ufffd'; // a lone surrogate is not a valid rune: Go prints U+FFFD
    } else if (PRINTABLE.test(ch)) {
      out += ch;
    } else {
      out += cp < 0x10000 ? `\\u${hex(cp, 4)}` : `\\U${hex(cp, 8)}`;
    }
  }
  return `${out}"`;
}

function quoteBytes(bytes: Uint8Array): string {
  let out = '"';
  let i = 0;
  while (i < bytes.length) {
    const b = bytes[i]!;
    const len = b >= 0xf0 ? 4 : b >= 0xe0 ? 3 : b >= 0xc0 ? 2 : 1;
    let ch: string | undefined;
    if (b < 0x80) ch = String.fromCharCode(b);
    else if (len > 1 && i + len <= bytes.length) {
      try {
        ch = strictDecoder.decode(bytes.subarray(i, i + len));
      } catch {
        ch = undefined;
      }
    }
    if (ch === undefined) {
      out += `\\x${hex(b, 2)}`;
      i++;
    } else {
      out += quoteGo(ch).slice(1, -1);
      i += b < 0x80 ? 1 : len;
    }
  }
  return `${out}"`;
}
