import type { LabelMatcher, MatchOp } from '../model/index.ts';
import { compileMatcher } from '../model/index.ts';
import { readGoString } from '../model/index.ts';

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
    const read = readGoString(this.text, this.pos);
    if ('error' in read) throw this.error(read.error);
    this.pos = read.end;
    return read.value;
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

