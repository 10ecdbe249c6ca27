import type { LabelMatcher, MatchOp } from '../model/index.ts';
import { compileMatcher } from '../model/index.ts';

/**
 * Parses a LogQL stream selector (`{a="b", c=~"d.*"}`) into label matchers, as the retention rules of
 * `retention_stream` write them. Values are Go string literals (double-quoted with escapes, or raw in
 * backquotes). Throws an `Error` naming the position for anything else (line filters are not allowed here).
 */
export function parseStreamSelector(text: string): LabelMatcher[] {
  const p = new SelectorParser(text);
  return p.parse();
}

const NAME_START = /[a-zA-Z_]/;
const NAME_CHAR = /[a-zA-Z0-9_]/;

class SelectorParser {
  private pos = 0;
  constructor(private readonly text: string) {}

  parse(): LabelMatcher[] {
    this.skipSpace();
    this.expect('{');
    const out: LabelMatcher[] = [];
    this.skipSpace();
    if (this.peek() === '}') {
      this.pos++;
    } else {
      for (;;) {
        out.push(this.matcher());
        this.skipSpace();
        const c = this.peek();
        if (c === ',') {
          this.pos++;
          this.skipSpace();
          continue;
        }
        if (c === '}') {
          this.pos++;
          break;
        }
        throw this.error(`expected "," or "}"`);
      }
    }
    this.skipSpace();
    if (this.pos !== this.text.length) throw this.error('unexpected text after the selector');
    if (out.length === 0) throw new Error(`invalid stream selector "${this.text}": at least one matcher is required`);
    for (const m of out) {
      try {
        compileMatcher(m);
      } catch (err) {
        throw new Error(`invalid stream selector "${this.text}": ${(err as Error).message}`, { cause: err });
      }
    }
    return out;
  }

  private matcher(): LabelMatcher {
    const start = this.pos;
    if (!NAME_START.test(this.peek())) throw this.error('expected a label name');
    while (this.pos < this.text.length && NAME_CHAR.test(this.text[this.pos]!)) this.pos++;
    const name = this.text.slice(start, this.pos);
    this.skipSpace();
    const op = this.op();
    this.skipSpace();
    const value = this.stringLiteral();
    return { name, op, value };
  }

  private op(): MatchOp {
    const two = this.text.slice(this.pos, this.pos + 2);
    if (two === '!=' || two === '=~' || two === '!~') {
      this.pos += 2;
      return two;
    }
    if (this.peek() === '=') {
      this.pos++;
      return '=';
    }
    throw this.error('expected one of =, !=, =~, !~');
  }

  private stringLiteral(): string {
    return readGoString(this.text, this.pos, (end) => (this.pos = end), (msg) => this.error(msg));
  }

  private skipSpace(): void {
    while (this.pos < this.text.length && /\s/.test(this.text[this.pos]!)) this.pos++;
  }

  private peek(): string {
    return this.text[this.pos] ?? '';
  }

  private expect(c: string): void {
    if (this.peek() !== c) throw this.error(`expected "${c}"`);
    this.pos++;
  }

  private error(msg: string): Error {
    return new Error(`invalid stream selector "${this.text}" at column ${this.pos + 1}: ${msg}`);
  }
}

/**
 * Reads a Go string literal at `pos` (interpreted `"..."` with Go escapes, or raw `` `...` ``), reports the
 * index after it through `setEnd`, and returns its value.
 */
export function readGoString(text: string, pos: number, setEnd: (end: number) => void, fail: (msg: string) => Error): string {
  const quote = text[pos];
  if (quote === '`') {
    const end = text.indexOf('`', pos + 1);
    if (end < 0) throw fail('unterminated raw string');
    setEnd(end + 1);
    return text.slice(pos + 1, end);
  }
  if (quote !== '"') throw fail('expected a quoted string');
  let out = '';
  let i = pos + 1;
  for (;;) {
    if (i >= text.length) throw fail('unterminated string');
    const c = text[i]!;
    if (c === '"') break;
    if (c === '\n') throw fail('newline in string');
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
        if (!new RegExp(`^[0-9a-fA-F]{${len}}$`).test(hex)) throw fail(`invalid \\${e} escape`);
        const cp = parseInt(hex, 16);
        if (e === 'x') {
          // \x is a byte in Go; bytes ≥ 0x80 alone are not valid UTF-8, which label values must be.
          if (cp >= 0x80) throw fail('\\x escape above 0x7f is not valid UTF-8 in a label value');
          out += String.fromCharCode(cp);
        } else {
          if (cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) throw fail(`invalid code point in \\${e} escape`);
          out += String.fromCodePoint(cp);
        }
        i += len;
        break;
      }
      default:
        if (e !== undefined && e >= '0' && e <= '7') {
          const oct = text.slice(i - 1, i + 2);
          if (!/^[0-7]{3}$/.test(oct)) throw fail('invalid octal escape');
          const cp = parseInt(oct, 8);
          if (cp >= 0x80) throw fail('octal escape above 0177 is not valid UTF-8 in a label value');
          out += String.fromCharCode(cp);
          i += 2;
          break;
        }
        throw fail(`unknown escape sequence \\${e ?? ''}`);
    }
  }
  setEnd(i + 1);
  return out;
}
