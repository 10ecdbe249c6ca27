import type { Labels } from '../model/index.ts';

/** A parsed Loki stream label string, or why it was refused (Loki's reasons). */
export type ParsedLabels =
  | { readonly labels: Labels }
  | { readonly reason: 'invalid_labels' | 'duplicate_label_names'; readonly message: string };

const NAME_START = /[a-zA-Z_]/;
const NAME_CHAR = /[a-zA-Z0-9_]/;

/**
 * Parses a stream's label text as Loki does for push requests (Prometheus' metric syntax without a name):
 * `{app="api", env="prod"}`, values as Go strings in double quotes, single quotes or backquotes. Labels with
 * an empty value are dropped, as Loki drops them. A syntax error yields Loki's `invalid_labels` message
 * (`Error parsing labels '<text>' with error: 1:<col>: parse error: ...`); a repeated name yields
 * `duplicate_label_names`.
 */
export function parseLokiLabels(text: string): ParsedLabels {
  let pos = 0;
  const fail = (msg: string): ParsedLabels => ({
    reason: 'invalid_labels',
    message: `Error parsing labels '${text}' with error: 1:${pos + 1}: parse error: ${msg}`,
  });
  const skip = (): void => {
    while (pos < text.length && (text[pos] === ' ' || text[pos] === '\t' || text[pos] === '\n' || text[pos] === '\r')) pos++;
  };
  skip();
  if (text[pos] !== '{') return fail(pos >= text.length ? 'unexpected end of input, expected "{"' : `unexpected character "${text[pos]}", expected "{"`);
  pos++;
  const out: Record<string, string> = {};
  const names = new Set<string>();
  skip();
  while (text[pos] !== '}') {
    if (pos >= text.length) return fail('unexpected end of input inside braces');
    if (!NAME_START.test(text[pos]!)) return fail(`unexpected character "${text[pos]}", expected a label name`);
    const start = pos;
    while (pos < text.length && NAME_CHAR.test(text[pos]!)) pos++;
    const name = text.slice(start, pos);
    skip();
    if (text[pos] !== '=' || text[pos + 1] === '~') {
      return fail(`unexpected ${pos >= text.length ? 'end of input' : `"${text.slice(pos, pos + 2)}"`} in label matching, expected "="`);
    }
    pos++;
    skip();
    const value = readString(text, pos);
    if (typeof value === 'string') return fail(value);
    pos = value.end;
    if (names.has(name)) {
      return { reason: 'duplicate_label_names', message: `stream '${text}' has duplicate label name: '${name}'` };
    }
    names.add(name);
    if (value.value !== '') out[name] = value.value;
    skip();
    if (text[pos] === ',') {
      pos++;
      skip();
      continue;
    }
    if (text[pos] !== '}') return fail(pos >= text.length ? 'unexpected end of input, expected "," or "}"' : `unexpected character "${text[pos]}", expected "," or "}"`);
  }
  pos++;
  skip();
  if (pos !== text.length) return fail(`unexpected "${text.slice(pos, pos + 10)}" after the closing brace`);
  return { labels: out };
}

/** Reads a quoted string at `pos`: its value and end, or an error message. */
function readString(text: string, pos: number): { value: string; end: number } | string {
  const q = text[pos];
  if (q === '`') {
    const end = text.indexOf('`', pos + 1);
    if (end < 0) return 'unterminated raw string';
    return { value: text.slice(pos + 1, end), end: end + 1 };
  }
  if (q !== '"' && q !== "'") return `unexpected ${pos >= text.length ? 'end of input' : `character "${q}"`} in label matching, expected string`;
  // Fast path: no escapes.
  let i = pos + 1;
  while (i < text.length && text[i] !== q && text[i] !== '\\' && text[i] !== '\n') i++;
  if (text[i] === q) return { value: text.slice(pos + 1, i), end: i + 1 };
  let out = text.slice(pos + 1, i);
  for (;;) {
    if (i >= text.length || text[i] === '\n') return 'unterminated quoted string';
    const c = text[i]!;
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
        if (hex.length !== len || !/^[0-9a-fA-F]+$/.test(hex)) return `invalid escape sequence \\${e}${hex}`;
        const cp = parseInt(hex, 16);
        if (cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return `invalid code point in \\${e}${hex}`;
        out += String.fromCodePoint(cp);
        i += len;
        break;
      }
      default:
        if (e !== undefined && e >= '0' && e <= '7' && /^[0-7]{3}$/.test(text.slice(i - 1, i + 2))) {
          out += String.fromCharCode(parseInt(text.slice(i - 1, i + 2), 8));
          i += 2;
          break;
        }
        return `unknown escape sequence \\${e ?? ''}`;
    }
  }
}
