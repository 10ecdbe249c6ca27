/**
 * A lexical pre-pass that lets `@grafana/lezer-logql` (0.3.0) parse valid LogQL it does not cover, without
 * a second grammar. Each rewrite keeps the text's length, so node positions (and error columns) still
 * point at the original query, and records what it hid so the tree reader can restore it:
 *
 * - `approx_topk(` reads as `topk       (` (flagged by position);
 * - hexadecimal, binary and octal number literals read as `1…1` (the original text is kept: Loki accepts
 *   hex floats like `0x1p3` and rejects the rest with "unable to parse literal as a float");
 * - `offset <duration>` after a range `[...]` is blanked (the grammar rejects it after `unwrap`);
 * - the parentheses of `( <selector> ... )[range]` are blanked (the grammar rejects `unwrap` inside);
 * - `ip("...")` operands of line filters read as placeholder strings (the grammar rejects `ip()` followed by
 *   another `or` operand).
 */
export interface MaskedQuery {
  readonly text: string;
  /** Offsets of `approx_topk` keywords. */
  readonly approxTopk: ReadonlySet<number>;
  /** Original text of masked number literals by offset. */
  readonly numbers: ReadonlyMap<number, string>;
  /** Offset durations by the offset of the range's closing `]`. */
  readonly offsets: ReadonlyMap<number, { text: string; pos: number }>;
  /** Line filter `ip()` patterns (unquoted string source) by the offset of their placeholder string. */
  readonly ips: ReadonlyMap<number, string>;
}

interface Token {
  readonly kind: 'string' | 'ident' | 'number' | 'op' | 'punct';
  readonly start: number;
  readonly end: number;
  readonly text: string;
}

function tokenize(q: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  while (i < q.length) {
    const c = q.charAt(i);
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    if (c === '#') {
      while (i < q.length && q[i] !== '\n') i++;
      continue;
    }
    if (c === '"' || c === '`') {
      let j = i + 1;
      while (j < q.length && q[j] !== c) j += q[j] === '\\' && c === '"' ? 2 : 1;
      out.push({ kind: 'string', start: i, end: Math.min(j + 1, q.length), text: q.slice(i, j + 1) });
      i = j + 1;
      continue;
    }
    const ident = /^[A-Za-z_][A-Za-z0-9_]*/.exec(q.slice(i, i + 256));
    if (ident) {
      out.push({ kind: 'ident', start: i, end: i + ident[0].length, text: ident[0] });
      i += ident[0].length;
      continue;
    }
    const num = /^(?:0[xX][0-9a-fA-F_]*(?:\.[0-9a-fA-F_]*)?(?:[pP][+-]?\d+)?|0[bBoO][0-9a-fA-F_]*|[0-9][0-9.]*(?:[eE][+-]?\d+)?[A-Za-zµ]*)/.exec(q.slice(i, i + 256));
    if (num) {
      out.push({ kind: 'number', start: i, end: i + num[0].length, text: num[0] });
      i += num[0].length;
      continue;
    }
    const op = /^(?:\|=|\|~|\|>|!=|!~|!>|=~|==|>=|<=)/.exec(q.slice(i, i + 2));
    if (op) {
      out.push({ kind: 'op', start: i, end: i + op[0].length, text: op[0] });
      i += op[0].length;
      continue;
    }
    out.push({ kind: 'punct', start: i, end: i + 1, text: c });
    i++;
  }
  return out;
}

const LINE_FILTER_OPS = new Set(['|=', '!=', '|~', '!~', '|>', '!>']);
const STAGE_KEYWORDS = new Set(['json', 'logfmt', 'unpack', 'decolorize', 'strict', 'empty']);

export function maskQuery(query: string): MaskedQuery {
  const chars = query.split('');
  const approxTopk = new Set<number>();
  const numbers = new Map<number, string>();
  const offsets = new Map<number, { text: string; pos: number }>();
  const ips = new Map<number, string>();
  const toks = tokenize(query);
  const blank = (start: number, end: number): void => {
    for (let k = start; k < end; k++) if (chars[k] !== '\n') chars[k] = ' ';
  };
  for (let t = 0; t < toks.length; t++) {
    const tok = toks[t]!; // t < toks.length
    const prev = toks[t - 1];
    const next = toks[t + 1];
    const next2 = toks[t + 2];
    const close = toks[t + 3];
    if (tok.kind === 'ident' && tok.text === 'approx_topk' && next?.text === '(') {
      approxTopk.add(tok.start);
      const repl = 'topk'.padEnd(tok.text.length, ' ');
      for (let k = 0; k < repl.length; k++) chars[tok.start + k] = repl.charAt(k);
      continue;
    }
    if (tok.kind === 'number' && /^0[xXbBoO]/.test(tok.text)) {
      numbers.set(tok.start, tok.text);
      for (let k = tok.start; k < tok.end; k++) chars[k] = '1';
      continue;
    }
    if (tok.kind === 'ident' && tok.text === 'offset' && prev?.text === ']' && next) {
      // `] offset 5m` / `] offset -5m`
      let end = next.end;
      let text = next.text;
      if (next.text === '-' && next2) {
        end = next2.end;
        text = `-${next2.text}`;
      }
      offsets.set(prev.start, { text, pos: next.start });
      blank(tok.start, end);
      continue;
    }
    if (tok.text === '(' && next?.text === '{') {
      // Find the matching ')' and check that a '[' follows it.
      let depth = 0;
      for (let u = t; u < toks.length; u++) {
        const tu = toks[u]!; // u < toks.length
        if (tu.text === '(') depth++;
        else if (tu.text === ')') {
          depth--;
          if (depth === 0) {
            if (toks[u + 1]?.text === '[') {
              blank(tok.start, tok.end);
              blank(tu.start, tu.end);
            }
            break;
          }
        }
      }
      continue;
    }
    if (tok.kind === 'ident' && tok.text === 'ip' && next?.text === '(' && next2?.kind === 'string' && close?.text === ')') {
      const prev2 = toks[t - 2];
      // `!=`/`!~` also compare labels (`addr != ip(...)`): an identifier before them that is not a stage
      // keyword makes it a label filter, which the grammar handles itself.
      const labelFilterOp = (prev?.text === '!=' || prev?.text === '!~') && prev2?.kind === 'ident' && !STAGE_KEYWORDS.has(prev2.text);
      const lineFilter =
        prev !== undefined && ((LINE_FILTER_OPS.has(prev.text) && !labelFilterOp) || (prev.kind === 'ident' && prev.text === 'or'));
      if (!lineFilter) continue;
      ips.set(tok.start, next2.text);
      const len = close.end - tok.start;
      const placeholder = `"${'_'.repeat(len - 2)}"`;
      for (let k = 0; k < len; k++) chars[tok.start + k] = placeholder.charAt(k);
      t += 3;
    }
  }
  return { text: chars.join(''), approxTopk, numbers, offsets, ips };
}
