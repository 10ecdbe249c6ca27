import { HeimdallError } from './errors.ts';
import { readGoString } from './go-string.ts';
import { METRIC_NAME_LABEL } from './labels.ts';
import { compileMatcher } from './matcher.ts';
import type { LabelMatcher, MatchOp } from './matcher.ts';

/**
 * Series and stream selectors (`up{job="api"}`, `{app="x", env=~"prod|dev"}`): their syntax outside a
 * query, and the rules every selector obeys inside one, in one place. The PromQL and LogQL parsers read
 * selectors with the official grammars and apply {@link checkMatcher} and {@link checkSelector}; selectors
 * that stand alone (config such as `retention_stream`) are parsed by {@link parseSelector}.
 *
 * - `prometheus`: an optional metric name before the braces, or a quoted one inside them (`{"a.b"}`),
 *   quoted UTF-8 label names, a trailing comma, `{}` parses; `__name__` may not be given twice.
 * - `loki`: braces with at least one matcher, identifier label names, no trailing comma.
 * Both: values are Go string literals (`"..."` with escapes, `'...'`, raw `` `...` ``); regex values are RE2,
 * fully anchored; a selector must have a matcher that does not match the empty string.
 */
export type SelectorDialect = 'prometheus' | 'loki';

/** The code of every selector syntax or rule error, so callers recognise it without reading its text. */
export const INVALID_SELECTOR_CODE = 'invalid_selector';

const EMPTY_RULE: Readonly<Record<SelectorDialect, string>> = {
  prometheus: 'vector selector must contain at least one non-empty matcher',
  loki: 'queries require at least one regexp or equality matcher that does not have an empty-compatible value. For instance, app=~".*" does not meet this requirement, but app=~".+" will',
};

/**
 * Validates one matcher: its regex compiles (RE2). Throws the `bad_data` error of {@link compileMatcher}
 * (code `invalid_regexp`, Go's wording) otherwise.
 */
export function checkMatcher(m: LabelMatcher): void {
  if (m.op === '=~' || m.op === '!~') compileMatcher(m);
}

/**
 * The rule upstream applies to every selector: at least one matcher must not match the empty string (a
 * selector matching every series is refused). Returns the upstream message when it is broken, else undefined.
 */
export function emptySelectorProblem(matchers: readonly LabelMatcher[], dialect: SelectorDialect): string | undefined {
  return matchers.some((m) => !compileMatcher(m)('')) ? undefined : EMPTY_RULE[dialect];
}

/** The Prometheus 3 error for a metric name given twice (before the braces, quoted inside, or `__name__`). */
export function metricNameTwiceMessage(first: string, second: string): string {
  return `metric name must not be set twice: "${first}" or "${second}"`;
}

/**
 * Parses a stand-alone selector into matchers (a metric name becomes a `__name__` equality matcher, last).
 * Throws a {@link HeimdallError} `bad_data` with code {@link INVALID_SELECTOR_CODE} naming the column for
 * syntax and rule errors, or the `invalid_regexp` error for a bad regex.
 */
export function parseSelector(text: string, dialect: SelectorDialect): LabelMatcher[] {
  return new SelectorParser(text, dialect).parse();
}

const IDENT_START = /[a-zA-Z_]/;
const IDENT_CHAR = /[a-zA-Z0-9_]/;
const METRIC_START = /[a-zA-Z_:]/;
const METRIC_CHAR = /[a-zA-Z0-9_:]/;

class SelectorParser {
  private pos = 0;
  constructor(
    private readonly text: string,
    private readonly dialect: SelectorDialect,
  ) {}

  parse(): LabelMatcher[] {
    const prom = this.dialect === 'prometheus';
    this.skipSpace();
    let name: string | undefined;
    if (prom && METRIC_START.test(this.peek())) name = this.word(METRIC_CHAR);
    const out: LabelMatcher[] = [];
    this.skipSpace();
    if (name === undefined || this.peek() === '{') {
      this.expect('{');
      this.skipSpace();
      while (this.peek() !== '}') {
        const start = this.pos;
        const item = this.item();
        if (typeof item === 'string') {
          if (name !== undefined) throw this.error(metricNameTwiceMessage(name, item), start);
          name = item;
        } else {
          out.push(item);
        }
        this.skipSpace();
        if (this.peek() === ',') {
          this.pos++;
          this.skipSpace();
          if (!prom && this.peek() === '}') throw this.error('syntax error: unexpected }, expecting IDENTIFIER');
        } else if (this.peek() !== '}') {
          throw this.error(this.pos >= this.text.length ? 'unexpected end of input, expecting "," or "}"' : 'expected "," or "}"');
        }
      }
      this.pos++;
      if (!prom && out.length === 0) throw this.error('syntax error: unexpected }, expecting IDENTIFIER', this.pos - 1);
    }
    this.skipSpace();
    if (this.pos !== this.text.length) throw this.error('unexpected text after the selector');
    if (name !== undefined) {
      const named = out.find((m) => m.name === METRIC_NAME_LABEL);
      if (named) throw this.error(metricNameTwiceMessage(name, named.value), 0);
      out.push({ op: '=', name: METRIC_NAME_LABEL, value: name });
    }
    for (const m of out) checkMatcher(m);
    const problem = emptySelectorProblem(out, this.dialect);
    if (problem !== undefined) throw this.error(problem, 0);
    return out;
  }

  /** A matcher, or (Prometheus) a lone quoted metric name. */
  private item(): LabelMatcher | string {
    let label: string;
    const c = this.peek();
    if (IDENT_START.test(c)) label = this.word(IDENT_CHAR);
    else if (this.dialect === 'prometheus' && (c === '"' || c === "'" || c === '`')) {
      label = this.string();
      this.skipSpace();
      const next = this.peek();
      if (next === ',' || next === '}') return label;
    } else throw this.error('expected a label name');
    this.skipSpace();
    const op = this.op();
    this.skipSpace();
    return { name: label, op, value: this.string() };
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

  private string(): string {
    // PromQL also quotes with single quotes; LogQL only with double quotes (and both with backquotes).
    const read = readGoString(this.text, this.pos, this.dialect === 'prometheus' ? `"'` : '"');
    if ('error' in read) throw this.error(read.error);
    this.pos = read.end;
    return read.value;
  }

  private word(chars: RegExp): string {
    const start = this.pos;
    while (this.pos < this.text.length && chars.test(this.text[this.pos]!)) this.pos++;
    return this.text.slice(start, this.pos);
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

  private error(msg: string, at = this.pos): HeimdallError {
    const kind = this.dialect === 'loki' ? 'stream' : 'series';
    return new HeimdallError('bad_data', `invalid ${kind} selector ${JSON.stringify(this.text)} at column ${at + 1}: ${msg}`, { code: INVALID_SELECTOR_CODE });
  }
}
