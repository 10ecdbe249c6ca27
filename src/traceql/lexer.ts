import { parseGoDuration, parsePromDuration, readGoString } from '../model/index.ts';
import { parseError } from './errors.ts';

/**
 * Token kinds. Operators and keywords are their own text (`{`, `&&`, `rate`, `span.`, `trace:`); the rest are
 * named in capitals as Tempo's grammar names them, so syntax errors read like Tempo's.
 */
export type TokenKind =
  | 'IDENTIFIER'
  | 'STRING'
  | 'INTEGER'
  | 'FLOAT'
  | 'DURATION'
  | 'END_ATTRIBUTE'
  | 'EOF'
  | string;

export interface Token {
  readonly kind: TokenKind;
  /** IDENTIFIER and STRING: the text (unquoted); INTEGER/FLOAT: the number; DURATION: nanoseconds. */
  readonly text: string;
  readonly num: number;
  /** Offset of the token's first character in the query. */
  readonly pos: number;
}

/**
 * The fixed tokens, as Tempo's lexer knows them. Multi-character tokens are found by extending a scanned
 * token one character at a time while the longer text is still a token (`!` → `!>` → `!>>`, `span` → `span:`).
 */
const TOKENS = new Set([
  ',', '.', '{', '}', '(', ')', '=', '!=', '=~', '!~', '>', '>=', '<', '<=', '+', '-', '/', '%', '*', '^',
  'true', 'false', 'nil', 'ok', 'error', 'unset', 'unspecified', 'internal', 'server', 'client', 'producer',
  'consumer', '&&', '||', '!', '|', '>>', '<<', '~', '!>', '!<', '!>>', '!<<', '&~', '&>', '&<', '&>>', '&<<',
  'duration', 'childCount', 'name', 'status', 'statusMessage', 'kind', 'rootName', 'rootServiceName',
  'rootService', 'traceDuration', 'nestedSetLeft', 'nestedSetRight', 'nestedSetParent', 'id', 'traceID',
  'spanID', 'parentID', 'timeSinceStart', 'version', 'parent', 'parent.', 'resource.', 'span.', 'trace:',
  'span:', 'event:', 'link:', 'instrumentation:', 'event.', 'link.', 'instrumentation.', 'count', 'avg', 'max',
  'min', 'sum', 'by', 'coalesce', 'select', 'rate', 'count_over_time', 'min_over_time', 'max_over_time',
  'avg_over_time', 'sum_over_time', 'quantile_over_time', 'histogram_over_time', 'compare', 'topk', 'bottomk',
  'with',
]);

/** Tokens after which an attribute name follows directly (no whitespace): `.`, `span.`, `parent.` ... */
const ATTRIBUTE_STARTS = new Set(['.', 'resource.', 'span.', 'parent.', 'event.', 'link.', 'instrumentation.']);

const INT64_MAX = 2n ** 63n - 1n;

/** Characters that end an unquoted attribute name (besides whitespace). */
const ATTRIBUTE_STOP = new Set(['{', '}', '(', ')', '=', '~', '!', '<', '>', '&', '|', '^', ',']);

function isSpace(c: string): boolean {
  return /\s/u.test(c);
}

function isAttributeChar(c: string | undefined): boolean {
  return c !== undefined && !isSpace(c) && !ATTRIBUTE_STOP.has(c);
}

function isLetter(c: string | undefined): boolean {
  return c !== undefined && (c === '_' || /\p{L}/u.test(c));
}

function isDigit(c: string | undefined): boolean {
  return c !== undefined && c >= '0' && c <= '9';
}

/** Characters a duration's unit is made of (Go's and Prometheus' units, `µs` included). */
const DURATION_CHARS = new Set(['n', 's', 'u', 'm', 'h', 'µ', 'd', 'w', 'y', '.']);

/**
 * Splits a TraceQL query into tokens the way Tempo's lexer does (Go's `text/scanner` rules: `//` and `/* *\/`
 * comments, Go string literals, `.5` is a float), including its attribute mode: after `.`/`span.`/... the
 * name runs up to whitespace or one of `{}()=~!<>&|^,`, may contain quoted parts (`span."a b"`, escapes `\"` and
 * `\\` only), and is followed by an END_ATTRIBUTE token. Throws a parse error (bad_data) on invalid input.
 */
export function tokenize(query: string): Token[] {
  const out: Token[] = [];
  const src = Array.from(query); // code points, so columns count characters as Go's scanner does
  // Offsets in `query` (UTF-16) of each code point, for error positions.
  const offsets: number[] = [];
  {
    let o = 0;
    for (const c of src) {
      offsets.push(o);
      o += c.length;
    }
    offsets.push(o);
  }
  let i = 0;
  let parsingAttribute = false;
  let scope = '';
  const fail = (at: number, msg: string): never => {
    throw parseError(query, offsets[Math.min(at, src.length)]!, msg);
  };
  const push = (kind: TokenKind, start: number, text = '', num = 0): void => {
    out.push({ kind, text, num, pos: offsets[start]! });
  };

  while (true) {
    if (parsingAttribute) {
      if (!isAttributeChar(src[i])) {
        parsingAttribute = false;
        push('END_ATTRIBUTE', i);
        continue;
      }
      // After `parent.` a `span.` or `resource.` scope may follow.
      if (scope === 'parent.') {
        const rest = src.slice(i, i + 9).join('');
        const m = /^(span\.|resource\.)/.exec(rest);
        if (m) {
          push(m[1]!, i);
          scope = m[1]!;
          i += m[1]!.length;
          continue;
        }
      }
      const start = i;
      let name = '';
      while (isAttributeChar(src[i])) {
        if (src[i] === '"') {
          i++;
          let closed = false;
          while (i < src.length) {
            const c = src[i]!;
            if (c === '"') {
              i++;
              closed = true;
              break;
            }
            if (c === '\\') {
              const e = src[i + 1];
              if (e !== '"' && e !== '\\') fail(i, 'invalid escape sequence');
              name += e;
              i += 2;
              continue;
            }
            name += c;
            i++;
          }
          if (!closed) fail(i, 'unexpected EOF, expecting "');
        } else {
          name += src[i];
          i++;
        }
      }
      push('IDENTIFIER', start, name);
      continue;
    }

    // Whitespace and comments.
    while (i < src.length) {
      const c = src[i]!;
      if (c === ' ' || c === '\t' || c === '\n' || c === '\r') {
        i++;
      } else if (c === '/' && src[i + 1] === '/') {
        while (i < src.length && src[i] !== '\n') i++;
      } else if (c === '/' && src[i + 1] === '*') {
        const open = i;
        i += 2;
        while (i < src.length && !(src[i] === '*' && src[i + 1] === '/')) i++;
        if (i >= src.length) fail(open, 'comment not terminated');
        i += 2;
      } else {
        break;
      }
    }
    if (i >= src.length) {
      push('EOF', i);
      return out;
    }
    const start = i;
    const c = src[i]!;

    if (c === '"' || c === '`') {
      const startOffset = offsets[i]!;
      const r = readGoString(query, startOffset);
      if ('error' in r) fail(i, r.error === 'unterminated quoted string' || r.error === 'newline in quoted string' ? 'literal not terminated' : r.error);
      else {
        while (i < src.length && offsets[i]! < r.end) i++;
        push('STRING', start, r.value);
      }
      continue;
    }

    if (isDigit(c) || (c === '.' && isDigit(src[i + 1]))) {
      // Go's number syntax (decimal only is meaningful here; other bases fail in the conversion as in Tempo).
      let text = '';
      let isFloat = false;
      if (c === '0' && /[xXoObB]/.test(src[i + 1] ?? '')) {
        text += src[i]! + src[i + 1]!;
        i += 2;
        while (/[0-9a-fA-F_]/.test(src[i] ?? '')) text += src[i++];
      } else {
        while (isDigit(src[i]) || src[i] === '_') text += src[i++];
        if (src[i] === '.') {
          isFloat = true;
          text += src[i++];
          while (isDigit(src[i]) || src[i] === '_') text += src[i++];
        }
        if (src[i] === 'e' || src[i] === 'E') {
          isFloat = true;
          text += src[i++];
          if (src[i] === '+' || src[i] === '-') text += src[i++];
          if (!isDigit(src[i])) fail(i, 'exponent has no digits');
          while (isDigit(src[i]) || src[i] === '_') text += src[i++];
        }
      }
      // A unit directly after the number makes a duration (`10s`, `1h30m`, `1.5ms`).
      let j = i;
      let suffix = '';
      while (j < src.length && !isSpace(src[j]!) && (isDigit(src[j]) || DURATION_CHARS.has(src[j]!))) suffix += src[j++];
      if (suffix !== '') {
        const ns = parseDurationNs(text + suffix);
        if (ns !== undefined) {
          i = j;
          push('DURATION', start, text + suffix, ns);
          continue;
        }
      }
      if (isFloat) {
        if (!/^(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(text)) fail(start, `strconv.ParseFloat: parsing "${text}": invalid syntax`);
        push('FLOAT', start, text, Number(text));
      } else {
        if (!/^\d+$/.test(text)) fail(start, `strconv.Atoi: parsing "${text}": invalid syntax`);
        if (BigInt(text) > INT64_MAX) fail(start, `strconv.Atoi: parsing "${text}": value out of range`);
        push('INTEGER', start, text, Number(text));
      }
      continue;
    }

    let tok: string;
    if (isLetter(c)) {
      tok = '';
      while (isLetter(src[i]) || isDigit(src[i]) || (src[i] !== undefined && /\p{Nd}/u.test(src[i]!))) tok += src[i++];
    } else if (c === "'") {
      // Go's scanner reads a character literal; Tempo then sees an unknown identifier.
      const close = src.indexOf("'", i + 1);
      if (close < 0) fail(i, 'literal not terminated');
      tok = src.slice(i, close + 1).join('');
      i = close + 1;
      if (tok.length !== 3) fail(start, 'illegal char literal');
    } else {
      tok = c;
      i++;
    }
    // Extend to the longest fixed token (`!` → `!>` → `!>>`, `span` → `span.`).
    let multi: string | undefined;
    while (i < src.length && TOKENS.has(tok + src[i]!)) {
      tok += src[i]!;
      multi = tok;
      i++;
    }
    if (multi !== undefined && (multi.endsWith('.') || multi.endsWith(':')) && multi !== '.') scope = multi;
    if (TOKENS.has(tok)) {
      parsingAttribute = ATTRIBUTE_STARTS.has(tok);
      push(tok, start, tok);
    } else {
      push('IDENTIFIER', start, tok);
    }
  }
}

/** A duration literal as Tempo reads one: Prometheus' syntax first (d, w, y), then Go's (µs, 1.5s). */
function parseDurationNs(text: string): number | undefined {
  const prom = parsePromDuration(text);
  if (prom !== undefined) return prom;
  try {
    return parseGoDuration(text);
  } catch {
    // Not a duration: the caller keeps the number and scans the letters as the next token, as Tempo does.
    return undefined;
  }
}

/** How a token is named in a syntax error (Tempo prints the token's text, or its grammar name). */
export function describeToken(t: Token): string {
  switch (t.kind) {
    case 'EOF':
      return '$end';
    case 'IDENTIFIER':
    case 'STRING':
    case 'INTEGER':
    case 'FLOAT':
    case 'DURATION':
    case 'END_ATTRIBUTE':
      return t.kind;
    default:
      return t.kind;
  }
}
