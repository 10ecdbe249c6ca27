import { parser as lezerParser } from '@prometheus-io/lezer-promql';
import { METRIC_NAME_LABEL, checkMatcher, emptySelectorProblem, metricNameTwiceMessage, unquoteGo } from '../model/index.ts';
import type { LabelMatcher, MatchOp } from '../model/index.ts';
import {
  documentedType,
  exprType,
  isComparisonOp,
  isSetOp,
} from './ast.ts';
import type {
  AggregateExpr,
  AggregateOp,
  AtModifier,
  BinaryExpr,
  BinaryOp,
  Call,
  DurationExpr,
  Expr,
  MatrixSelector,
  NumberLiteral,
  PosRange,
  StringLiteral,
  SubqueryExpr,
  ValueType,
  VectorMatching,
  VectorSelector,
} from './ast.ts';
import { parseError } from './errors.ts';
import type { PromqlError } from './errors.ts';
import { FUNCTIONS } from './function-defs.ts';
import { parseDuration, parseNumberLiteral } from './literals.ts';

type SyntaxNode = ReturnType<typeof lezerParser.parse>['topNode'];

/** Options of the PromQL parser. */
export interface ParseOptions {
  /** Allow experimental functions and aggregations (`limitk`, `sort_by_label`, ...). Default true. */
  readonly experimental?: boolean;
}

const AGGREGATE_OPS: ReadonlySet<string> = new Set([
  'sum',
  'avg',
  'count',
  'min',
  'max',
  'group',
  'stddev',
  'stdvar',
  'topk',
  'bottomk',
  'count_values',
  'quantile',
  'limitk',
  'limit_ratio',
]);

const BINARY_OP_NODES: Readonly<Record<string, BinaryOp>> = {
  Pow: '^',
  Mul: '*',
  Div: '/',
  Mod: '%',
  Atan2: 'atan2',
  Add: '+',
  Sub: '-',
  Eql: '==',
  Neq: '!=',
  Gtr: '>',
  Lss: '<',
  Gte: '>=',
  Lte: '<=',
  TrimUpper: '</',
  TrimLower: '>/',
  And: 'and',
  Or: 'or',
  Unless: 'unless',
};

/** Binary operator precedences (higher binds tighter), as in Prometheus' grammar. */
const PRECEDENCE: Readonly<Record<BinaryOp, number>> = {
  or: 1,
  and: 2,
  unless: 2,
  '==': 3,
  '!=': 3,
  '>': 3,
  '<': 3,
  '>=': 3,
  '<=': 3,
  '</': 3,
  '>/': 3,
  '+': 4,
  '-': 4,
  '*': 5,
  '/': 5,
  '%': 5,
  atan2: 5,
  '^': 6,
};

type Token =
  | { readonly kind: 'operand'; readonly expr: Expr }
  | { readonly kind: 'binop'; readonly node: SyntaxNode }
  | { readonly kind: 'unary'; readonly op: '-' | '+'; readonly from: number }
  | { readonly kind: 'postfix'; readonly node: SyntaxNode };

interface BinaryParts {
  readonly op: BinaryOp;
  readonly returnBool: boolean;
  readonly matching: VectorMatching;
  readonly hasClause: boolean;
}

const MATCH_OPS: Readonly<Record<string, MatchOp>> = { EqlSingle: '=', Neq: '!=', EqlRegex: '=~', NeqRegex: '!~' };

/**
 * Parses a PromQL expression with Prometheus' own lezer grammar and converts the tree into our AST,
 * applying Prometheus' type checks. Throws a `bad_data` PromqlError `line:col: parse error: ...`.
 */
export function parseExpr(query: string, options: ParseOptions = {}): Expr {
  return new Converter(query, normalizeNumbers(query), options.experimental ?? true).parseTop();
}

/**
 * Prometheus accepts a trailing decimal point (`2.`) that the lezer grammar does not. Blank the point
 * (keeping every character position) wherever a number ends with it, outside strings and comments.
 */
function normalizeNumbers(q: string): string {
  if (!q.includes('.') && !/(step|range|min_of|max_of)\s*\(/i.test(q)) return q;
  const chars = q.split('');
  let i = 0;
  while (i < chars.length) {
    const c = chars[i]!;
    if (c === '"' || c === "'" || c === '`') {
      i++;
      while (i < chars.length && chars[i] !== c) {
        if (chars[i] === '\\' && c !== '`') i++;
        i++;
      }
      i++;
      continue;
    }
    if (c === '#') {
      while (i < chars.length && chars[i] !== '\n') i++;
      continue;
    }
    if (/[A-Za-z_:]/.test(c)) {
      const start = i;
      while (i < chars.length && /[A-Za-z0-9_:]/.test(chars[i]!)) i++;
      // Duration functions are case-insensitive in Prometheus' lexer; the grammar wants them lower-case.
      const word = chars.slice(start, i).join('');
      if (/^(step|range|min_of|max_of)$/i.test(word) && word !== word.toLowerCase()) {
        let j = i;
        while (j < chars.length && /\s/.test(chars[j]!)) j++;
        if (chars[j] === '(') for (let k = start; k < i; k++) chars[k] = chars[k]!.toLowerCase();
      }
      continue;
    }
    if (/[0-9]/.test(c)) {
      while (i < chars.length && /[0-9_]/.test(chars[i]!)) i++;
      if (chars[i] === '.' && !/[0-9]/.test(chars[i + 1] ?? '') && !/[eE]/.test(chars[i + 1] ?? '')) chars[i] = ' ';
      continue;
    }
    i++;
  }
  return chars.join('');
}

/**
 * Parses a series selector (`up{job="x"}`, `{__name__=~"a|b"}`) as used by `match[]` parameters into its
 * label matchers. Throws a `bad_data` PromqlError when it is not a vector selector.
 */
export function parseMatchers(selector: string): LabelMatcher[] {
  const expr = parseExpr(selector);
  if (expr.type !== 'VectorSelector') {
    throw parseError(selector, 0, 'expected vector selector');
  }
  if (expr.offset || expr.at) throw parseError(selector, 0, 'expected vector selector without modifiers');
  return [...expr.matchers];
}

class Converter {
  constructor(
    private readonly q: string,
    /** The query with Prometheus-only number forms normalised for the lezer grammar (same length). */
    private src: string,
    private readonly experimental: boolean,
  ) {}

  /**
   * Scalar `min_of`/`max_of` calls outside duration expressions, which the lezer grammar only knows inside
   * them: each is parsed as a `scalar(` call of the same length and renamed back here (by position).
   */
  private readonly renamedCalls = new Map<number, string>();

  parseTop(): Expr {
    if (this.q.trim() === '') throw parseError(this.q, 0, 'no expression found in input');
    let tree = lezerParser.parse(this.src);
    if (/(min_of|max_of)/.test(this.src)) {
      for (let guard = 0; guard < 1000; guard++) {
        const at = this.scalarMinMaxAt(tree.topNode);
        if (at < 0) break;
        this.renamedCalls.set(at, this.src.slice(at, at + 6));
        this.src = `${this.src.slice(0, at)}scalar${this.src.slice(at + 6)}`;
        tree = lezerParser.parse(this.src);
      }
    }
    this.checkSyntax(tree.topNode);
    const top = tree.topNode;
    const child = top.firstChild;
    if (!child) throw parseError(this.q, 0, 'no expression found in input');
    return this.expr(child);
  }

  /** The position of the first `min_of(`/`max_of(` the grammar read as a metric name, or -1. */
  private scalarMinMaxAt(top: SyntaxNode): number {
    const cursor = top.cursor();
    do {
      if (cursor.name !== 'Identifier' || cursor.to - cursor.from !== 6) continue;
      const word = this.src.slice(cursor.from, cursor.to);
      if (word !== 'min_of' && word !== 'max_of') continue;
      if (cursor.node.parent?.name !== 'VectorSelector') continue;
      let j = cursor.to;
      while (j < this.src.length && /\s/.test(this.src[j]!)) j++;
      if (this.src[j] === '(') return cursor.from;
    } while (cursor.next());
    return -1;
  }

  private fail(pos: number, msg: string): PromqlError {
    return parseError(this.q, pos, msg);
  }

  private text(n: SyntaxNode): string {
    return this.src.slice(n.from, n.to);
  }

  private range(n: SyntaxNode): PosRange {
    return { start: n.from, end: n.to };
  }

  /** Reports the first error node of the lezer tree in Prometheus' style. */
  private checkSyntax(top: SyntaxNode): void {
    let errAt = -1;
    const cursor = top.cursor();
    do {
      if (cursor.type.isError) {
        errAt = cursor.from;
        break;
      }
    } while (cursor.next());
    if (errAt < 0) return;
    this.checkBrackets();
    const rest = this.q.slice(errAt).trimStart();
    const at = this.q.length - rest.length;
    if (rest === '') throw this.fail(this.q.length, 'unexpected end of input');
    const tok = /^([A-Za-z_:][A-Za-z0-9_:]*|[0-9.]+[A-Za-z0-9.]*|"(?:[^"\\]|\\.)*"?|'(?:[^'\\]|\\.)*'?|`[^`]*`?|==|!=|>=|<=|=~|!~|.)/.exec(rest);
    const t = tok ? tok[0] : rest[0]!;
    if (t.startsWith('"') || t.startsWith("'") || t.startsWith('`')) {
      if (t.length < 2 || t[t.length - 1] !== t[0]) throw this.fail(at, 'unterminated quoted string');
      throw this.fail(at, `unexpected string ${t}`);
    }
    if (/^[A-Za-z_:]/.test(t)) {
      const next = this.q.slice(at + t.length).trimStart();
      if (next.startsWith('(') && !FUNCTIONS.has(t) && !AGGREGATE_OPS.has(t.toLowerCase())) {
        throw this.fail(at, `unknown function with name "${t}"`);
      }
      throw this.fail(at, `unexpected identifier "${t}"`);
    }
    if (t === '}' || t === ')' || t === ']') throw this.fail(at, `unexpected "${t}"`);
    if (/^[0-9.]/.test(t)) throw this.fail(at, `unexpected number "${t}"`);
    throw this.fail(at, `unexpected character: '${t}'`);
  }

  /** Prometheus' lexer errors for unbalanced parentheses, braces and brackets. */
  private checkBrackets(): void {
    const stack: { c: string; at: number }[] = [];
    const q = this.src;
    for (let i = 0; i < q.length; i++) {
      const c = q[i]!;
      if (c === '"' || c === "'" || c === '`') {
        i++;
        while (i < q.length && q[i] !== c) {
          if (q[i] === '\\' && c !== '`') i++;
          i++;
        }
        continue;
      }
      if (c === '#') {
        while (i < q.length && q[i] !== '\n') i++;
        continue;
      }
      if (c === '(' || c === '{' || c === '[') stack.push({ c, at: i });
      else if (c === ')' || c === '}' || c === ']') {
        const open = stack.pop();
        const want = c === ')' ? '(' : c === '}' ? '{' : '[';
        if (!open || open.c !== want) {
          const name = c === ')' ? 'right parenthesis' : c === '}' ? 'right brace' : 'right bracket';
          throw this.fail(i, `unexpected ${name} '${c}'`);
        }
      }
    }
    const open = stack.pop();
    if (!open) return;
    if (open.c === '(') throw this.fail(open.at, 'unclosed left parenthesis');
    if (open.c === '{') throw this.fail(q.length, 'unexpected end of input inside braces');
    throw this.fail(open.at, 'unclosed left bracket');
  }

  private children(n: SyntaxNode): SyntaxNode[] {
    const out: SyntaxNode[] = [];
    for (let c = n.firstChild; c; c = c.nextSibling) out.push(c);
    return out;
  }

  private isExprNode(n: SyntaxNode): boolean {
    switch (n.name) {
      case 'AggregateExpr':
      case 'BinaryExpr':
      case 'FunctionCall':
      case 'MatrixSelector':
      case 'NumberDurationLiteral':
      case 'OffsetExpr':
      case 'AnchoredExpr':
      case 'SmoothedExpr':
      case 'ParenExpr':
      case 'StringLiteral':
      case 'SubqueryExpr':
      case 'UnaryExpr':
      case 'VectorSelector':
      case 'StepInvariantExpr':
        return true;
      default:
        return false;
    }
  }

  private exprChildren(n: SyntaxNode): SyntaxNode[] {
    return this.children(n).filter((c) => this.isExprNode(c));
  }

  expr(n: SyntaxNode): Expr {
    switch (n.name) {
      case 'NumberDurationLiteral':
        return this.isSigned(n) ? this.reassociate(n) : this.numberLiteral(n);
      case 'StringLiteral':
        return this.stringLiteral(n);
      case 'VectorSelector':
        return this.vectorSelector(n);
      case 'ParenExpr': {
        const inner = this.exprChildren(n)[0];
        if (!inner) throw this.fail(n.from, 'unexpected ")"');
        return { type: 'ParenExpr', expr: this.expr(inner), pos: this.range(n) };
      }
      case 'FunctionCall':
        return this.call(n);
      case 'AggregateExpr':
        return this.aggregate(n);
      case 'UnaryExpr':
      case 'BinaryExpr':
      case 'MatrixSelector':
      case 'SubqueryExpr':
      case 'OffsetExpr':
      case 'StepInvariantExpr':
      case 'AnchoredExpr':
      case 'SmoothedExpr':
        return this.reassociate(n);
      default:
        throw this.fail(n.from, `unexpected ${n.name}`);
    }
  }

  private isSigned(n: SyntaxNode): boolean {
    const t = this.text(n).trimStart();
    return t.startsWith('-') || t.startsWith('+');
  }

  /**
   * Lezer's PromQL grammar gives postfix modifiers (`[range]`, `[range:step]`, `offset`, `@`) the lowest
   * precedence and folds a sign into number literals, so `a + b @ 60 * 0` comes back as `((a + b) @ 60) * 0`
   * and `-2 ^ 2` as `(-2) ^ 2`. Prometheus binds postfix modifiers to the closest operand and treats a sign
   * as a unary operator with `*` precedence. Flatten the operator chain into tokens and rebuild it with
   * Prometheus' precedences.
   */
  private reassociate(n: SyntaxNode): Expr {
    const tokens: Token[] = [];
    this.linearize(n, tokens);
    const state = { i: 0 };
    const e = this.climb(tokens, state, 0);
    if (state.i !== tokens.length) throw this.fail(n.from, 'unexpected operator');
    return e;
  }

  private linearize(n: SyntaxNode, out: Token[]): void {
    switch (n.name) {
      case 'BinaryExpr': {
        const exprs = this.exprChildren(n);
        if (exprs.length !== 2) throw this.fail(n.to, 'unexpected end of input');
        this.linearize(exprs[0]!, out);
        out.push({ kind: 'binop', node: n });
        this.linearize(exprs[1]!, out);
        return;
      }
      case 'UnaryExpr': {
        const opNode = this.children(n).find((c) => c.name === 'UnaryOp');
        const inner = this.exprChildren(n)[0];
        if (!inner) throw this.fail(n.to, 'unexpected end of input');
        out.push({ kind: 'unary', op: opNode && this.text(opNode) === '-' ? '-' : '+', from: n.from });
        this.linearize(inner, out);
        return;
      }
      case 'NumberDurationLiteral':
        if (this.isSigned(n)) {
          const t = this.text(n);
          const signAt = n.from + (t.length - t.trimStart().length);
          out.push({ kind: 'unary', op: t.trimStart()[0] === '-' ? '-' : '+', from: signAt });
          out.push({ kind: 'operand', expr: this.unsignedLiteral(n, signAt + 1) });
          return;
        }
        out.push({ kind: 'operand', expr: this.numberLiteral(n) });
        return;
      case 'MatrixSelector':
      case 'SubqueryExpr':
      case 'OffsetExpr':
      case 'StepInvariantExpr':
      case 'AnchoredExpr':
      case 'SmoothedExpr': {
        const inner = this.exprChildren(n)[0];
        if (!inner) throw this.fail(n.to, 'unexpected end of input');
        this.linearize(inner, out);
        out.push({ kind: 'postfix', node: n });
        return;
      }
      default:
        out.push({ kind: 'operand', expr: this.expr(n) });
    }
  }

  private unsignedLiteral(n: SyntaxNode, from: number): NumberLiteral {
    const text = this.src.slice(from, n.to).replace(/\s+/g, '');
    const v = parseNumberLiteral(text);
    if (v === undefined) throw this.fail(n.from, `bad number or duration syntax: "${text}"`);
    return { type: 'NumberLiteral', val: v, pos: { start: from, end: n.to } };
  }

  /** Precedence climbing over the flattened tokens (Prometheus' yacc precedences). */
  private climb(tokens: Token[], st: { i: number }, minPrec: number): Expr {
    let lhs = this.unaryOrPrimary(tokens, st);
    for (;;) {
      const t = tokens[st.i];
      if (!t || t.kind !== 'binop') break;
      const parts = this.binaryParts(t.node);
      const prec = PRECEDENCE[parts.op];
      if (prec < minPrec) break;
      st.i++;
      const rhs = this.climb(tokens, st, parts.op === '^' ? prec : prec + 1);
      lhs = this.buildBinary(lhs, rhs, parts);
    }
    return lhs;
  }

  private unaryOrPrimary(tokens: Token[], st: { i: number }): Expr {
    const t = tokens[st.i];
    if (!t) throw this.fail(this.q.length, 'unexpected end of input');
    if (t.kind === 'unary') {
      st.i++;
      // A unary operator binds like `*`: its operand extends over `^` only.
      const operand = this.climb(tokens, st, PRECEDENCE['^']);
      return this.makeUnary(t.op, operand, t.from);
    }
    if (t.kind !== 'operand') throw this.fail(0, 'unexpected operator');
    st.i++;
    let e = t.expr;
    for (let p = tokens[st.i]; p && p.kind === 'postfix'; p = tokens[st.i]) {
      st.i++;
      e = this.applyPostfix(p.node, e);
    }
    return e;
  }

  private applyPostfix(n: SyntaxNode, inner: Expr): Expr {
    switch (n.name) {
      case 'MatrixSelector':
        return this.makeMatrix(n, inner);
      case 'SubqueryExpr':
        return this.makeSubquery(n, inner);
      case 'OffsetExpr':
        return this.applyOffset(n, inner);
      case 'StepInvariantExpr':
        return this.applyAt(n, inner);
      default:
        return this.applyExtended(n, inner, n.name === 'AnchoredExpr' ? 'anchored' : 'smoothed');
    }
  }

  private numberLiteral(n: SyntaxNode): NumberLiteral {
    const text = this.text(n).replace(/\s+/g, '');
    const v = parseNumberLiteral(text);
    if (v === undefined) throw this.fail(n.from, `bad number or duration syntax: "${text}"`);
    return { type: 'NumberLiteral', val: v, pos: this.range(n) };
  }

  private stringLiteral(n: SyntaxNode): StringLiteral {
    const raw = this.text(n);
    try {
      const u = unquoteGo(raw);
      return u.invalidUtf8
        ? { type: 'StringLiteral', val: u.value, invalidUtf8: u.invalidUtf8, pos: this.range(n) }
        : { type: 'StringLiteral', val: u.value, pos: this.range(n) };
    } catch (err) {
      throw this.fail(n.from, (err as Error).message === 'unterminated quoted string' ? 'unterminated quoted string' : `invalid syntax in string ${raw}`);
    }
  }

  private stringValue(n: SyntaxNode): string {
    return this.stringLiteral(n).val;
  }

  private vectorSelector(n: SyntaxNode, allowEmpty = false): VectorSelector {
    let name: string | undefined;
    const matchers: LabelMatcher[] = [];
    for (const c of this.children(n)) {
      if (c.name === 'Identifier') {
        name = this.text(c);
      } else if (c.name === 'LabelMatchers') {
        for (const m of this.children(c)) {
          if (m.name === 'UnquotedLabelMatcher' || m.name === 'QuotedLabelMatcher') {
            const parts = this.children(m);
            const labelNode = parts[0]!;
            const label =
              labelNode.name === 'LabelName' ? this.text(labelNode) : this.stringValue(labelNode.firstChild ?? labelNode);
            const opNode = parts.find((p) => p.name === 'MatchOp');
            const op = opNode?.firstChild ? MATCH_OPS[opNode.firstChild.name] : undefined;
            const valueNode = parts.find((p, i) => i > 0 && p.name === 'StringLiteral');
            if (!op || !valueNode) throw this.fail(m.from, 'unexpected end of label matcher');
            const value = this.stringValue(valueNode);
            const matcher: LabelMatcher = { op, name: label, value };
            try {
              checkMatcher(matcher);
            } catch (err) {
              throw this.fail(valueNode.from, (err as Error).message);
            }
            matchers.push(matcher);
          } else if (m.name === 'QuotedLabelName') {
            const quoted = this.stringValue(m.firstChild ?? m);
            if (name !== undefined) throw this.fail(m.from, metricNameTwiceMessage(name, quoted));
            name = quoted;
          }
        }
      }
    }
    if (name !== undefined) {
      for (const m of matchers) {
        if (m.name === METRIC_NAME_LABEL) {
          throw this.fail(n.from, metricNameTwiceMessage(name, m.value));
        }
      }
      matchers.push({ op: '=', name: METRIC_NAME_LABEL, value: name });
    }
    const problem = allowEmpty ? undefined : emptySelectorProblem(matchers, 'prometheus');
    if (problem !== undefined) throw this.fail(n.from, problem);
    const vs: VectorSelector = { type: 'VectorSelector', matchers, pos: this.range(n) };
    return name === undefined ? vs : { ...vs, name };
  }

  private makeUnary(op: '-' | '+', e: Expr, start: number): Expr {
    const t = exprType(e);
    if (t !== 'scalar' && t !== 'vector') {
      throw this.fail(start, `unary expression only allowed on expressions of type scalar or instant vector, got "${documentedType(t)}"`);
    }
    if (e.type === 'NumberLiteral') {
      return { type: 'NumberLiteral', val: op === '-' ? -e.val : e.val, pos: { start, end: e.pos.end } };
    }
    return { type: 'UnaryExpr', op, expr: e, pos: { start, end: e.pos.end } };
  }

  private groupingLabels(n: SyntaxNode): string[] {
    const out: string[] = [];
    for (const c of this.children(n)) {
      if (c.name === 'LabelName') out.push(this.text(c));
      else if (c.name === 'QuotedLabelName') out.push(this.stringValue(c.firstChild ?? c));
      else if (c.name === 'StringLiteral') out.push(this.stringValue(c));
    }
    return out;
  }

  /** The operator and modifiers of a lezer BinaryExpr node (its operands are handled by the caller). */
  private binaryParts(n: SyntaxNode): BinaryParts {
    const kids = this.children(n);
    const opNode = kids.find((c) => BINARY_OP_NODES[c.name] !== undefined && !this.isExprNode(c));
    if (!opNode) throw this.fail(n.to, 'unexpected end of input');
    const op = BINARY_OP_NODES[opNode.name]!;
    const returnBool = kids.some((c) => c.name === 'BoolModifier');
    const mm = kids.find((c) => c.name === 'MatchingModifierClause');
    const fill = kids.find((c) => c.name === 'FillModifier');
    let on = false;
    let labels: string[] = [];
    let include: string[] = [];
    let card: VectorMatching['card'] = isSetOp(op) ? 'many-to-many' : 'one-to-one';
    if (mm) {
      const mk = this.children(mm);
      on = mk.some((c) => c.name === 'On');
      const groups = mk.filter((c) => c.name === 'GroupingLabels');
      labels = groups[0] ? this.groupingLabels(groups[0]) : [];
      if (mk.some((c) => c.name === 'GroupLeft')) card = 'many-to-one';
      if (mk.some((c) => c.name === 'GroupRight')) card = 'one-to-many';
      if (groups[1]) include = this.groupingLabels(groups[1]);
      if ((card === 'many-to-one' || card === 'one-to-many') && isSetOp(op)) {
        throw this.fail(mm.from, `no grouping allowed for "${op}" operation`);
      }
    }
    let fillLhs: number | undefined;
    let fillRhs: number | undefined;
    if (fill) {
      for (const c of this.children(fill)) {
        const num = this.children(c).find((x) => x.name === 'NumberDurationLiteral');
        const v = num ? this.numberLiteral(num).val : NaN;
        if (c.name === 'FillClause') {
          fillLhs = v;
          fillRhs = v;
        } else if (c.name === 'FillLeftClause') fillLhs = v;
        else if (c.name === 'FillRightClause') fillRhs = v;
      }
    }
    const matching: VectorMatching = {
      card,
      on,
      labels,
      include,
      ...(fillLhs !== undefined ? { fillLhs } : {}),
      ...(fillRhs !== undefined ? { fillRhs } : {}),
    };
    return { op, returnBool, matching, hasClause: mm !== undefined };
  }

  private buildBinary(lhs: Expr, rhs: Expr, parts: BinaryParts): Expr {
    const bin: BinaryExpr = {
      type: 'BinaryExpr',
      op: parts.op,
      lhs,
      rhs,
      returnBool: parts.returnBool,
      pos: { start: lhs.pos.start, end: rhs.pos.end },
    };
    bin.matching = parts.matching;
    return this.checkBinary(bin, bin.pos, parts.hasClause);
  }

  /** Prometheus' type checks for binary expressions; sets the default vector matching. */
  private checkBinary(bin: BinaryExpr, pos: PosRange, hasClause: boolean): BinaryExpr {
    const lt = exprType(bin.lhs);
    const rt = exprType(bin.rhs);
    const op = bin.op;
    if ((lt !== 'scalar' && lt !== 'vector') || (rt !== 'scalar' && rt !== 'vector')) {
      throw this.fail(pos.start, 'binary expression must contain only scalar and instant vector types');
    }
    if (bin.returnBool && !isComparisonOp(op)) {
      throw this.fail(pos.start, 'bool modifier can only be used on comparison operators');
    }
    if (isComparisonOp(op) && lt === 'scalar' && rt === 'scalar' && !bin.returnBool) {
      throw this.fail(pos.start, 'comparisons between scalars must use BOOL modifier');
    }
    if (isSetOp(op) && (lt === 'scalar' || rt === 'scalar')) {
      throw this.fail(pos.start, `set operator "${op}" not allowed in binary scalar expression`);
    }
    if (hasClause && (lt !== 'vector' || rt !== 'vector')) {
      throw this.fail(pos.start, 'vector matching only allowed between instant vectors');
    }
    const m = bin.matching;
    if (m && m.on && (m.card === 'many-to-one' || m.card === 'one-to-many')) {
      for (const l of m.include) {
        if (m.labels.includes(l)) throw this.fail(pos.start, `label "${l}" must not occur in ON and GROUP clause at once`);
      }
    }
    if (lt !== 'vector' || rt !== 'vector') {
      const copy: BinaryExpr = { ...bin };
      delete copy.matching;
      return copy;
    }
    return bin;
  }

  private funcArgs(body: SyntaxNode | undefined): SyntaxNode[] {
    return body ? this.exprChildren(body) : [];
  }

  private call(n: SyntaxNode): Call {
    const idNode = this.children(n).find((c) => c.name === 'FunctionIdentifier');
    const body = this.children(n).find((c) => c.name === 'FunctionCallBody');
    const name = idNode ? (this.renamedCalls.get(idNode.from) ?? this.text(idNode)) : '';
    const func = FUNCTIONS.get(name);
    if (!func) throw this.fail(n.from, `unknown function with name "${name}"`);
    if (func.experimental && !this.experimental) {
      throw this.fail(n.from, `function "${name}" is not enabled`);
    }
    const argNodes = this.funcArgs(body);
    const args = argNodes.map((a, i) => {
      // info()'s second argument is a label selector, which may match the empty string everywhere.
      if (name === 'info' && i === 1 && a.name === 'VectorSelector') return this.vectorSelector(a, true);
      return this.expr(a);
    });
    const nargs = func.argTypes.length;
    if (func.variadic === 0) {
      if (nargs !== args.length) {
        throw this.fail(n.from, `expected ${nargs} argument(s) in call to "${name}", got ${args.length}`);
      }
    } else {
      const na = nargs - 1;
      if (na > args.length) {
        throw this.fail(n.from, `expected at least ${na} argument(s) in call to "${name}", got ${args.length}`);
      }
      const max = na + func.variadic;
      if (func.variadic > 0 && max < args.length) {
        throw this.fail(n.from, `expected at most ${max} argument(s) in call to "${name}", got ${args.length}`);
      }
    }
    for (let i = 0; i < args.length; i++) {
      const want = i >= func.argTypes.length ? func.argTypes[func.argTypes.length - 1]! : func.argTypes[i]!;
      this.expectType(args[i]!, want, `call to function "${name}"`);
    }
    return { type: 'Call', func, args, pos: this.range(n) };
  }

  private expectType(e: Expr, want: ValueType, context: string): void {
    const got = exprType(e);
    if (got !== want) {
      throw this.fail(e.pos.start, `expected type ${documentedType(want)} in ${context}, got ${documentedType(got)}`);
    }
  }

  private aggregate(n: SyntaxNode): AggregateExpr {
    const kids = this.children(n);
    const opNode = kids.find((c) => c.name === 'AggregateOp');
    const mod = kids.find((c) => c.name === 'AggregateModifier');
    const body = kids.find((c) => c.name === 'FunctionCallBody');
    const opText = opNode ? this.text(opNode).toLowerCase() : '';
    if (!AGGREGATE_OPS.has(opText)) throw this.fail(n.from, `unknown aggregation "${opText}"`);
    const op = opText as AggregateOp;
    if ((op === 'limitk' || op === 'limit_ratio') && !this.experimental) {
      throw this.fail(n.from, `limitk() and limit_ratio() are experimental and must be enabled with --enable-feature=promql-experimental-functions`);
    }
    let without = false;
    let grouping: string[] = [];
    if (mod) {
      without = this.children(mod).some((c) => c.name === 'Without');
      const g = this.children(mod).find((c) => c.name === 'GroupingLabels');
      grouping = g ? this.groupingLabels(g) : [];
    }
    const args = this.funcArgs(body).map((a) => this.expr(a));
    const needsParam = op === 'topk' || op === 'bottomk' || op === 'quantile' || op === 'count_values' || op === 'limitk' || op === 'limit_ratio';
    const want = needsParam ? 2 : 1;
    if (args.length !== want) {
      throw this.fail(n.from, `wrong number of arguments for aggregate expression provided, expected ${want}, got ${args.length}`);
    }
    const expr = args[args.length - 1]!;
    const param = needsParam ? args[0] : undefined;
    if (exprType(expr) !== 'vector') {
      throw this.fail(expr.pos.start, `expected type instant vector in aggregation expression, got ${documentedType(exprType(expr))}`);
    }
    if (param) {
      if (op === 'count_values') this.expectType(param, 'string', 'aggregation parameter');
      else this.expectType(param, 'scalar', 'aggregation parameter');
    }
    const agg: AggregateExpr = { type: 'AggregateExpr', op, expr, grouping, without, pos: this.range(n) };
    return param ? { ...agg, param } : agg;
  }

  private duration(n: SyntaxNode): DurationExpr {
    switch (n.name) {
      case 'NumberDurationLiteralInDurationContext': {
        const t = this.text(n);
        const d = parseDuration(t);
        if (d !== undefined) return { kind: 'lit', ms: d };
        const v = parseNumberLiteral(t);
        if (v === undefined || !Number.isFinite(v)) throw this.fail(n.from, `bad number or duration syntax: "${t}"`);
        return { kind: 'lit', ms: Math.round(v * 1000) };
      }
      case 'DurationExpr':
      case 'OffsetDurationExpr': {
        const kids = this.children(n);
        const first = kids[0];
        if (!first) throw this.fail(n.from, 'invalid duration expression');
        if (kids.length === 1 && first.name !== 'DurationStep' && first.name !== 'DurationRange') return this.duration(first);
        if (first.name === 'UnaryOp') {
          const inner = this.duration(kids[1]!);
          return this.text(first) === '-' ? { kind: 'neg', expr: inner } : inner;
        }
        if (first.name === 'DurationStep') return { kind: 'step' };
        if (first.name === 'DurationRange') return { kind: 'range' };
        if (first.name === 'DurationMinOf' || first.name === 'DurationMaxOf') {
          const ds = kids.filter((k) => k.name === 'DurationExpr');
          return { kind: first.name === 'DurationMinOf' ? 'min' : 'max', lhs: this.duration(ds[0]!), rhs: this.duration(ds[1]!) };
        }
        const ds = kids.filter((k) => k.name === 'DurationExpr' || k.name === 'OffsetDurationExpr' || k.name === 'NumberDurationLiteralInDurationContext');
        const opNode = kids.find((k) => BINARY_OP_NODES[k.name] !== undefined);
        if (ds.length === 2 && opNode) {
          const op = BINARY_OP_NODES[opNode.name] as '+' | '-' | '*' | '/' | '%' | '^';
          return { kind: 'bin', op, lhs: this.duration(ds[0]!), rhs: this.duration(ds[1]!) };
        }
        if (ds.length === 1) return this.duration(ds[0]!);
        throw this.fail(n.from, 'invalid duration expression');
      }
      default:
        throw this.fail(n.from, `unexpected ${n.name} in duration`);
    }
  }

  private durationNodes(n: SyntaxNode): SyntaxNode[] {
    return this.children(n).filter((c) => c.name === 'DurationExpr' || c.name === 'OffsetDurationExpr');
  }

  private makeMatrix(n: SyntaxNode, inner: Expr): MatrixSelector {
    const vs = inner.type === 'VectorSelector' ? inner : undefined;
    if (!vs) throw this.fail(inner.pos.start, 'ranges only allowed for vector selectors');
    if (vs.offset !== undefined) throw this.fail(inner.pos.start, 'no offset modifiers allowed before range');
    if (vs.at !== undefined) throw this.fail(inner.pos.start, 'no @ modifiers allowed before range');
    const d = this.durationNodes(n)[0];
    if (!d) throw this.fail(n.to, 'unexpected end of input');
    const range = this.duration(d);
    if (range.kind === 'lit' && range.ms <= 0) {
      throw this.fail(d.from, range.ms === 0 ? 'duration must be greater than 0' : 'duration must be greater than 0');
    }
    return { type: 'MatrixSelector', vs: { ...vs }, range, pos: { start: vs.pos.start, end: n.to } };
  }

  private makeSubquery(n: SyntaxNode, inner: Expr): SubqueryExpr {
    const t = exprType(inner);
    if (t !== 'vector') {
      throw this.fail(inner.pos.start, `subquery is only allowed on instant vector, got ${documentedType(t)} instead`);
    }
    const ds = this.durationNodes(n);
    const range = this.duration(ds[0]!);
    const step = ds[1] ? this.duration(ds[1]) : undefined;
    const sq: SubqueryExpr = { type: 'SubqueryExpr', expr: inner, range, pos: { start: inner.pos.start, end: n.to } };
    return step ? { ...sq, step } : sq;
  }

  private applyOffset(n: SyntaxNode, inner: Expr): Expr {
    const d = this.durationNodes(n)[0];
    if (!d) throw this.fail(n.to, 'unexpected end of input');
    const offset = this.duration(d);
    const target = this.modifierTarget(inner, 'offset');
    if (target.offset !== undefined) throw this.fail(n.from, 'offset may not be set multiple times');
    target.offset = offset;
    return this.extend(inner, n);
  }

  private applyAt(n: SyntaxNode, inner: Expr): Expr {
    const kids = this.children(n);
    const pre = kids.find((c) => c.name === 'AtModifierPreprocessors');
    let at: AtModifier;
    if (pre) {
      at = { kind: pre.firstChild?.name === 'AtStart' ? 'start' : 'end' };
    } else {
      const num = kids.find((c, i) => i > 0 && c.name === 'NumberDurationLiteral');
      if (!num) throw this.fail(n.to, 'unexpected end of input');
      const v = this.numberLiteral(num).val;
      if (!Number.isFinite(v)) throw this.fail(num.from, 'timestamp out of bounds for @ modifier');
      at = { kind: 'time', ms: Math.round(v * 1000) };
    }
    const target = this.modifierTarget(inner, '@');
    if (target.at !== undefined) throw this.fail(n.from, '@ <timestamp> may not be set multiple times');
    target.at = at;
    return this.extend(inner, n);
  }

  private applyExtended(n: SyntaxNode, inner: Expr, kind: 'anchored' | 'smoothed'): Expr {
    if (inner.type === 'MatrixSelector') {
      inner.vs[kind] = true;
      return this.extend(inner, n);
    }
    if (inner.type === 'VectorSelector' && kind === 'smoothed') {
      inner.smoothed = true;
      return inner;
    }
    throw this.fail(inner.pos.start, `${kind} modifier can only be used on range vector selectors`);
  }

  private extend(e: Expr, n: SyntaxNode): Expr {
    if (e.type === 'MatrixSelector' || e.type === 'SubqueryExpr') e.pos = { start: e.pos.start, end: n.to };
    return e;
  }

  private modifierTarget(inner: Expr, what: 'offset' | '@'): VectorSelector | SubqueryExpr {
    if (inner.type === 'VectorSelector') return inner;
    if (inner.type === 'MatrixSelector') return inner.vs;
    if (inner.type === 'SubqueryExpr') return inner;
    throw this.fail(
      inner.pos.start,
      `${what} modifier must be preceded by an instant vector selector or range vector selector or a subquery`,
    );
  }
}
