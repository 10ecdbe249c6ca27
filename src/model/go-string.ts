/** A string literal read from selector text: its value and the index just after its closing quote. */
export type QuotedString = { readonly value: string; readonly end: number } | { readonly error: string };

/**
 * Reads a Go string literal at `pos`, as Prometheus and Loki selectors write label values: raw
 * `` `...` `` or interpreted with Go escapes (`\n`, `\t`, `\xNN`, `\uNNNN`, `\UNNNNNNNN`, `\NNN` octal...)
 * between any of the `quotes` characters. Byte escapes above 0x7f are refused, since a lone byte is not
 * valid UTF-8 and label values must be. Returns the value, or an error message naming the problem.
 */
export function readGoString(text: string, pos: number, quotes = '"'): QuotedString {
  const q = text[pos];
  if (q === '`') {
    const end = text.indexOf('`', pos + 1);
    return end < 0 ? { error: 'unterminated raw string' } : { value: text.slice(pos + 1, end), end: end + 1 };
  }
  if (q === undefined || !quotes.includes(q)) {
    return { error: `unexpected ${q === undefined ? 'end of input' : `character "${q}"`}, expected a quoted string` };
  }
  // Fast path: no escapes.
  let i = pos + 1;
  while (i < text.length && text[i] !== q && text[i] !== '\\' && text[i] !== '\n') i++;
  if (text[i] === q) return { value: text.slice(pos + 1, i), end: i + 1 };
  let out = text.slice(pos + 1, i);
  for (;;) {
    if (i >= text.length) return { error: 'unterminated quoted string' };
    const c = text[i]!;
    if (c === '\n') return { error: 'newline in quoted string' };
    if (c === q) return { value: out, end: i + 1 };
    if (c !== '\\') {
      out += c;
      i++;
      continue;
    }
    const e = text[i + 1];
    i += 2;
    switch (e) {
      case 'a': out += '\x07'; break;
      case 'b': out += '\b'; break;
      case 'f': out += '\f'; break;
      case 'n': out += '\n'; break;
      case 'r': out += '\r'; break;
      case 't': out += '\t'; break;
      case 'v': out += '\v'; break;
      case '\\': out += '\\'; break;
      case '"': out += '"'; break;
      case "'": out += "'"; break;
      case 'x': case 'u': case 'U': {
        const len = e === 'x' ? 2 : e === 'u' ? 4 : 8;
        const hex = text.slice(i, i + len);
        if (hex.length !== len || !/^[0-9a-fA-F]+$/.test(hex)) return { error: `invalid escape sequence \\${e}${hex}` };
        const cp = parseInt(hex, 16);
        if (e === 'x' && cp >= 0x80) return { error: `\\x escape above 0x7f is not valid UTF-8 in a label value` };
        if (cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return { error: `invalid code point in \\${e}${hex}` };
        out += String.fromCodePoint(cp);
        i += len;
        break;
      }
      default: {
        const oct = text.slice(i - 1, i + 2);
        if (e !== undefined && e >= '0' && e <= '7' && /^[0-7]{3}$/.test(oct)) {
          const cp = parseInt(oct, 8);
          if (cp >= 0x80) return { error: 'octal escape above 0177 is not valid UTF-8 in a label value' };
          out += String.fromCharCode(cp);
          i += 2;
          break;
        }
        return { error: `unknown escape sequence \\${e ?? ''}` };
      }
    }
  }
}
