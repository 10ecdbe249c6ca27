import type {
  Aggregate,
  AggregateOp,
  ArithOp,
  AttributeRef,
  CompareOp,
  FieldExpr,
  FieldOp,
  Hint,
  Intrinsic,
  MetricsExpr,
  MetricsFirstStage,
  MetricsFunction,
  Pipeline,
  PipelineElement,
  RootExpr,
  ScalarExpr,
  ScalarFilter,
  Scope,
  SecondStage,
  SpansetExpr,
  SpansetFilter,
  SpansetOp,
  Static,
} from './ast.ts';
import { parseError } from './errors.ts';
import type { TraceqlError } from './errors.ts';
import { executeField, referencesSpan } from './field-eval.ts';
import { describeToken, tokenize } from './lexer.ts';
import type { Token } from './lexer.ts';
import { validateField, validateRoot } from './validate.ts';
import { ExecutionError, executeBinary, executeUnary, staticBool } from './values.ts';

/**
 * Parses a TraceQL query into our AST, accepting what Tempo's grammar (`pkg/traceql/expr.y`) accepts with its
 * precedences (lowest first: `|`; `&&` `||`; comparisons and structural operators; `+ -`; `!`; `* / %`; `^`;
 * unary minus), folding constant sub-expressions as Tempo does. Throws a `bad_data` {@link TraceqlError}
 * (`parse error at line L, col C: ...`). Does not validate: call {@link parseAndValidate} for both.
 */
export function parse(query: string): RootExpr {
  return new Parser(query).parseRoot();
}

/** Parses and validates (Tempo's `Parse` + `validate()`); throws a `bad_data` {@link TraceqlError}. */
export function parseAndValidate(query: string): RootExpr {
  const root = parse(query);
  validateRoot(root);
  return root;
}

const SPANSET_OPS = new Set<string>(['&&', '||', '>', '<', '>>', '<<', '~', '!>', '!<', '!>>', '!<<', '!~', '&>', '&<', '&>>', '&<<', '&~']);
const COMPARE_OPS = new Set<string>(['=', '!=', '<', '<=', '>', '>=']);
const ARITH_OPS = new Set<string>(['+', '-', '*', '/', '%', '^']);
const METRICS_ARITH = new Set<string>(['+', '-', '*', '/']);

/** Binary precedence of the operators (higher binds tighter); `^` is right-associative. */
function precedence(kind: string): number {
  switch (kind) {
    case '&&':
    case '||':
      return 1;
    case '=':
    case '!=':
    case '<':
    case '<=':
    case '>':
    case '>=':
    case '=~':
    case '!~':
    case '>>':
    case '<<':
    case '~':
    case '!>':
    case '!<':
    case '!>>':
    case '!<<':
    case '&>':
    case '&<':
    case '&>>':
    case '&<<':
    case '&~':
      return 2;
    case '+':
    case '-':
      return 3;
    case '*':
    case '/':
    case '%':
      return 5;
    case '^':
      return 6;
    default:
      return 0;
  }
}

const FIELD_OPS = new Set<string>(['+', '-', '*', '/', '%', '^', '=', '!=', '<', '<=', '>', '>=', '=~', '!~', '&&', '||']);

const UNSCOPED_INTRINSICS: Record<string, Intrinsic> = {
  duration: 'span:duration',
  name: 'span:name',
  status: 'span:status',
  statusMessage: 'span:statusMessage',
  kind: 'span:kind',
  parent: 'parent',
  rootName: 'trace:rootName',
  rootServiceName: 'trace:rootService',
  traceDuration: 'trace:duration',
  nestedSetLeft: 'nestedSetLeft',
  nestedSetRight: 'nestedSetRight',
  nestedSetParent: 'nestedSetParent',
};

const SCOPED_INTRINSICS: Record<string, Record<string, Intrinsic>> = {
  'trace:': { duration: 'trace:duration', rootName: 'trace:rootName', rootService: 'trace:rootService', id: 'trace:id' },
  'span:': {
    duration: 'span:duration',
    name: 'span:name',
    kind: 'span:kind',
    status: 'span:status',
    statusMessage: 'span:statusMessage',
    id: 'span:id',
    parentID: 'span:parentID',
    childCount: 'span:childCount',
  },
  'event:': { name: 'event:name', timeSinceStart: 'event:timeSinceStart' },
  'link:': { traceID: 'link:traceID', spanID: 'link:spanID' },
  'instrumentation:': { name: 'instrumentation:name', version: 'instrumentation:version' },
};

const ATTRIBUTE_SCOPES: Record<string, Scope> = {
  '.': 'none',
  'resource.': 'resource',
  'span.': 'span',
  'event.': 'event',
  'link.': 'link',
  'instrumentation.': 'instrumentation',
};

const STATIC_KEYWORDS: Record<string, Static> = {
  true: { type: 'bool', value: true },
  false: { type: 'bool', value: false },
  ok: { type: 'status', value: 'ok' },
  error: { type: 'status', value: 'error' },
  unset: { type: 'status', value: 'unset' },
  unspecified: { type: 'kind', value: 'unspecified' },
  internal: { type: 'kind', value: 'internal' },
  server: { type: 'kind', value: 'server' },
  client: { type: 'kind', value: 'client' },
  producer: { type: 'kind', value: 'producer' },
  consumer: { type: 'kind', value: 'consumer' },
};

const AGGREGATES = new Set<string>(['count', 'avg', 'max', 'min', 'sum']);
const METRICS_FUNCTIONS = new Set<string>([
  'rate',
  'count_over_time',
  'min_over_time',
  'max_over_time',
  'avg_over_time',
  'sum_over_time',
  'quantile_over_time',
  'histogram_over_time',
  'compare',
]);

/**
 * What a sub-expression above the field level is, which decides what it may combine with (Tempo's grammar has
 * one non-terminal per kind: spansetExpression, spansetPipelineExpression, scalarExpression, scalar, ...).
 */
type Outer =
  /** `{...}` and structural/logical operations of them. */
  | { readonly cat: 'spanset'; readonly node: SpansetExpr }
  /** Operations involving a wrapped pipeline `( ... | ... )`. */
  | { readonly cat: 'spansetPipelineExpr'; readonly node: SpansetExpr }
  /** An unwrapped pipeline of two or more elements. */
  | { readonly cat: 'pipeline'; readonly node: Pipeline }
  /** A lone pipeline element that is not a spanset expression: scalar filter, by(), select(), coalesce(). */
  | { readonly cat: 'element'; readonly node: PipelineElement }
  /** An aggregate (`count()`) or arithmetic involving one; `bare` for a lone aggregate. */
  | { readonly cat: 'aggregate'; readonly node: ScalarExpr; readonly bare: boolean }
  /** A constant number or duration (folded). */
  | { readonly cat: 'scalar'; readonly value: Static }
  /** An unwrapped pipeline ending with an aggregate (valid only inside parentheses). */
  | { readonly cat: 'scalarPipeline'; readonly node: Pipeline }
  /** Wrapped scalar pipelines and arithmetic of them. */
  | { readonly cat: 'scalarPipelineExpr'; readonly node: ScalarExpr }
  /** A comparison of wrapped scalar pipelines: a whole query only. */
  | { readonly cat: 'scalarPipelineFilter'; readonly node: ScalarFilter }
  /** A metrics query; `bare` when unwrapped (`{} | rate()`), which takes no arithmetic. */
  | { readonly cat: 'metrics'; readonly node: MetricsExpr; readonly bare: boolean };

class Parser {
  private readonly tokens: Token[];
  private i = 0;

  constructor(private readonly query: string) {
    this.tokens = tokenize(query);
  }

  private get tok(): Token {
    return this.tokens[this.i]!;
  }

  private peek(n = 1): Token {
    return this.tokens[Math.min(this.i + n, this.tokens.length - 1)]!;
  }

  private next(): Token {
    const t = this.tok;
    if (this.i < this.tokens.length - 1) this.i++;
    return t;
  }

  private error(t: Token, message: string): TraceqlError {
    return parseError(this.query, t.pos, message);
  }

  private unexpected(t: Token = this.tok, expecting?: string): TraceqlError {
    return this.error(t, `syntax error: unexpected ${describeToken(t)}${expecting === undefined ? '' : `, expecting ${expecting}`}`);
  }

  private expect(kind: string): Token {
    if (this.tok.kind !== kind) throw this.unexpected(this.tok, kind);
    return this.next();
  }

  parseRoot(): RootExpr {
    const top = this.parsePipelineLevel();
    let hints: Hint[] = [];
    while (this.tok.kind === 'with') hints = this.parseHints(); // a later with() replaces an earlier one, as in Tempo
    if (this.tok.kind !== 'EOF') throw this.unexpected();
    switch (top.cat) {
      case 'metrics':
        return { kind: 'metrics', expr: top.node, hints };
      case 'spanset':
      case 'element':
      case 'scalarPipelineFilter':
        return { kind: 'search', pipeline: { kind: 'pipeline', elements: [top.node] }, hints };
      case 'spansetPipelineExpr':
        return { kind: 'search', pipeline: top.node.kind === 'pipeline' ? top.node : { kind: 'pipeline', elements: [top.node] }, hints };
      case 'pipeline':
        return { kind: 'search', pipeline: top.node, hints };
      default:
        throw this.unexpected(this.tok);
    }
  }

  private parseHints(): Hint[] {
    this.expect('with');
    this.expect('(');
    const hints: Hint[] = [];
    for (;;) {
      const name = this.expect('IDENTIFIER').text;
      this.expect('=');
      hints.push({ name, value: this.parseStatic() });
      if (this.tok.kind !== ',') break;
      this.next();
    }
    this.expect(')');
    return hints;
  }

  /** A pipeline `a | b | ...`, a metrics query with its second stages, or a single operand. */
  private parsePipelineLevel(): Outer {
    const firstTok = this.tok;
    const first = this.parseOuter(1);
    if (first.cat === 'metrics') return this.withSecondStages(first);
    if (this.tok.kind !== '|') return first;
    const elements: PipelineElement[] = [this.pipelineElement(first, firstTok, true)];
    while (this.tok.kind === '|') {
      const pipeTok = this.next();
      if (METRICS_FUNCTIONS.has(this.tok.kind)) {
        const stage = this.parseMetricsFirstStage();
        return this.withSecondStages({
          cat: 'metrics',
          node: { kind: 'metricsPipeline', pipeline: { kind: 'pipeline', elements }, first: stage, stages: [] },
          bare: true,
        });
      }
      const elTok = this.tok;
      const el = this.parseOuter(1);
      if (el.cat === 'aggregate' && el.bare) {
        elements.push(el.node as Aggregate);
        if (this.tok.kind === '|') throw this.unexpected(this.tok);
        return { cat: 'scalarPipeline', node: { kind: 'pipeline', elements } };
      }
      void pipeTok;
      elements.push(this.pipelineElement(el, elTok, false));
    }
    return { cat: 'pipeline', node: { kind: 'pipeline', elements } };
  }

  private pipelineElement(o: Outer, at: Token, first: boolean): PipelineElement {
    switch (o.cat) {
      case 'spanset':
      case 'spansetPipelineExpr':
        return o.node;
      case 'element':
        if (first && o.node.kind === 'coalesce') throw this.unexpected(at);
        return o.node;
      default:
        throw this.unexpected(at);
    }
  }

  /** `| topk(n)`, `| bottomk(n)` and `<op> scalar` after a metrics query, in order. */
  private withSecondStages(m: Extract<Outer, { cat: 'metrics' }>): Outer {
    const stages: SecondStage[] = [];
    for (;;) {
      if (this.tok.kind === '|' && (this.peek().kind === 'topk' || this.peek().kind === 'bottomk')) {
        this.next();
        const kind = this.next().kind as 'topk' | 'bottomk';
        this.expect('(');
        const limit = this.expect('INTEGER').num;
        this.expect(')');
        stages.push({ kind, limit });
      } else if (COMPARE_OPS.has(this.tok.kind)) {
        const op = this.next().kind as CompareOp;
        stages.push(this.metricsFilter(op, this.parseOuter(3)));
      } else {
        break;
      }
    }
    if (stages.length === 0) return m;
    return { cat: 'metrics', node: { ...m.node, stages: [...m.node.stages, ...stages] }, bare: m.bare };
  }

  private metricsFilter(op: CompareOp, rhs: Outer): SecondStage {
    if (rhs.cat !== 'scalar') throw this.unexpected(this.tok);
    const v = rhs.value;
    const value = v.type === 'duration' ? v.value / 1e9 : v.type === 'int' || v.type === 'float' ? v.value : NaN;
    return { kind: 'metricsFilter', op, value };
  }

  /** Precedence climbing over everything above the field level, checking which kinds may combine. */
  private parseOuter(minPrec: number): Outer {
    let lhs = this.parseOuterUnary();
    for (;;) {
      const opTok = this.tok;
      const p = precedence(opTok.kind);
      if (p === 0 || p < minPrec || opTok.kind === '=~') break;
      this.next();
      const rhs = this.parseOuter(opTok.kind === '^' ? p : p + 1);
      lhs = this.combine(opTok, lhs, rhs);
    }
    return lhs;
  }

  private combine(opTok: Token, l: Outer, r: Outer): Outer {
    const op = opTok.kind;
    const isSpanset = (o: Outer): boolean => o.cat === 'spanset' || o.cat === 'spansetPipelineExpr';
    if (SPANSET_OPS.has(op) && isSpanset(l) && isSpanset(r)) {
      const node = { kind: 'spansetOp', op: op as SpansetOp, lhs: (l as { node: SpansetExpr }).node, rhs: (r as { node: SpansetExpr }).node } as const;
      return l.cat === 'spanset' && r.cat === 'spanset' ? { cat: 'spanset', node } : { cat: 'spansetPipelineExpr', node };
    }
    if (ARITH_OPS.has(op)) {
      const aop = op as ArithOp;
      if ((l.cat === 'aggregate' && (r.cat === 'aggregate' || r.cat === 'scalar')) || (l.cat === 'scalar' && r.cat === 'aggregate')) {
        return { cat: 'aggregate', node: { kind: 'scalarOp', op: aop, lhs: scalarNode(l), rhs: scalarNode(r) }, bare: false };
      }
      if (l.cat === 'scalar' && r.cat === 'scalar' && METRICS_ARITH.has(op)) {
        return { cat: 'scalar', value: this.foldArith(opTok, aop, l.value, r.value) };
      }
      if (l.cat === 'scalarPipelineExpr' && r.cat === 'scalarPipelineExpr') {
        return { cat: 'scalarPipelineExpr', node: { kind: 'scalarOp', op: aop, lhs: l.node, rhs: r.node } };
      }
      if (METRICS_ARITH.has(op)) {
        const mop = op as '+' | '-' | '*' | '/';
        if (l.cat === 'metrics' && !l.bare && r.cat === 'metrics' && !r.bare) {
          return { cat: 'metrics', node: { kind: 'metricsMath', op: mop, lhs: l.node, rhs: r.node, stages: [] }, bare: false };
        }
        if (l.cat === 'metrics' && !l.bare && r.cat === 'scalar') {
          return { cat: 'metrics', node: withStage(l.node, { kind: 'metricsScalarOp', op: mop, value: this.metricScalar(opTok, r.value), scalarOnLeft: false }), bare: false };
        }
        if (l.cat === 'scalar' && r.cat === 'metrics' && !r.bare) {
          return { cat: 'metrics', node: withStage(r.node, { kind: 'metricsScalarOp', op: mop, value: this.metricScalar(opTok, l.value), scalarOnLeft: true }), bare: false };
        }
      }
    }
    if (COMPARE_OPS.has(op)) {
      const cop = op as CompareOp;
      if ((l.cat === 'aggregate' && (r.cat === 'aggregate' || r.cat === 'scalar')) || (l.cat === 'scalar' && r.cat === 'aggregate')) {
        return { cat: 'element', node: { kind: 'scalarFilter', op: cop, lhs: scalarNode(l), rhs: scalarNode(r) } };
      }
      if (l.cat === 'scalarPipelineExpr' && (r.cat === 'scalarPipelineExpr' || r.cat === 'scalar')) {
        return { cat: 'scalarPipelineFilter', node: { kind: 'scalarFilter', op: cop, lhs: l.node, rhs: scalarNode(r) } };
      }
      if (l.cat === 'metrics' && !l.bare && r.cat === 'scalar') {
        return { cat: 'metrics', node: withStage(l.node, this.metricsFilter(cop, r)), bare: false };
      }
    }
    throw this.unexpected(opTok);
  }

  private foldArith(at: Token, op: ArithOp, l: Static, r: Static): Static {
    if (l.type === 'duration' || r.type === 'duration') throw this.error(at, 'duration cannot be used in scalar arithmetic');
    try {
      return executeBinary(op, l, r);
    } catch (err) {
      throw this.error(at, err instanceof Error ? err.message : String(err));
    }
  }

  private metricScalar(at: Token, v: Static): number {
    if (v.type === 'duration') throw this.error(at, 'duration cannot be used as a scalar operand in metric arithmetic');
    return v.type === 'int' || v.type === 'float' ? v.value : NaN;
  }

  private parseOuterUnary(): Outer {
    if (this.tok.kind === '-') {
      const minus = this.next();
      const operand = this.parseOuterUnary();
      if (operand.cat !== 'scalar') throw this.unexpected(minus);
      return { cat: 'scalar', value: executeUnary('-', operand.value) };
    }
    return this.parseOuterPrimary();
  }

  private parseOuterPrimary(): Outer {
    const t = this.tok;
    switch (t.kind) {
      case '{':
        return { cat: 'spanset', node: this.parseSpansetFilter() };
      case '(': {
        this.next();
        const inner = this.parsePipelineLevel();
        this.expect(')');
        return this.wrap(inner, t);
      }
      case 'INTEGER':
        this.next();
        return { cat: 'scalar', value: { type: 'int', value: t.num } };
      case 'FLOAT':
        this.next();
        return { cat: 'scalar', value: { type: 'float', value: t.num } };
      case 'DURATION':
        this.next();
        return { cat: 'scalar', value: { type: 'duration', value: t.num } };
      case 'by': {
        this.next();
        this.expect('(');
        const expr = this.parseField(1);
        this.expect(')');
        return { cat: 'element', node: { kind: 'groupBy', expr } };
      }
      case 'select': {
        this.next();
        this.expect('(');
        const attrs = this.parseAttributeList();
        this.expect(')');
        return { cat: 'element', node: { kind: 'select', attrs } };
      }
      case 'coalesce':
        this.next();
        this.expect('(');
        this.expect(')');
        return { cat: 'element', node: { kind: 'coalesce' } };
      default:
        if (AGGREGATES.has(t.kind)) {
          this.next();
          this.expect('(');
          const op = t.kind as AggregateOp;
          let expr: FieldExpr | undefined;
          if (op !== 'count') expr = this.parseField(1);
          this.expect(')');
          return { cat: 'aggregate', node: expr === undefined ? { kind: 'aggregate', op } : { kind: 'aggregate', op, expr }, bare: true };
        }
        throw this.unexpected(t);
    }
  }

  /** What a parenthesised sub-expression becomes. */
  private wrap(inner: Outer, at: Token): Outer {
    switch (inner.cat) {
      case 'spanset':
      case 'spansetPipelineExpr':
      case 'scalar':
      case 'scalarPipelineExpr':
        return inner;
      case 'pipeline':
        return { cat: 'spansetPipelineExpr', node: inner.node };
      case 'element':
        if (inner.node.kind === 'coalesce') throw this.unexpected(at);
        return { cat: 'spansetPipelineExpr', node: { kind: 'pipeline', elements: [inner.node] } };
      case 'aggregate':
        return { cat: 'aggregate', node: inner.node, bare: false };
      case 'scalarPipeline':
        return { cat: 'scalarPipelineExpr', node: inner.node };
      case 'metrics':
        return { cat: 'metrics', node: inner.node, bare: false };
      case 'scalarPipelineFilter':
        throw this.unexpected(at);
    }
  }

  private parseSpansetFilter(): SpansetFilter {
    this.expect('{');
    if (this.tok.kind === '}') {
      this.next();
      return { kind: 'filter', expr: { kind: 'static', value: { type: 'bool', value: true } } };
    }
    const expr = this.parseField(1);
    this.expect('}');
    return { kind: 'filter', expr };
  }

  private parseMetricsFirstStage(): MetricsFirstStage {
    const fnTok = this.next();
    const fn = fnTok.kind;
    this.expect('(');
    if (fn === 'compare') {
      const filter = this.parseSpansetFilter();
      const ints: number[] = [];
      while (this.tok.kind === ',') {
        this.next();
        ints.push(this.expect('INTEGER').num);
      }
      if (ints.length === 2 || ints.length > 3) throw this.unexpected(this.tok);
      this.expect(')');
      return { kind: 'compare', filter, topN: ints[0] ?? 10, startNs: ints[1] ?? 0, endNs: ints[2] ?? 0 };
    }
    let attr: AttributeRef | undefined;
    let quantiles: number[] | undefined;
    if (fn !== 'rate' && fn !== 'count_over_time') {
      attr = this.parseAttribute();
      if (fn === 'quantile_over_time') {
        quantiles = [];
        do {
          this.expect(',');
          const n = this.tok;
          if (n.kind !== 'INTEGER' && n.kind !== 'FLOAT') throw this.unexpected(n, 'FLOAT or INTEGER');
          this.next();
          quantiles.push(n.num);
        } while (this.tok.kind === ',');
      }
    }
    this.expect(')');
    let by: AttributeRef[] = [];
    if (this.tok.kind === 'by') {
      this.next();
      this.expect('(');
      by = this.parseAttributeList();
      this.expect(')');
    }
    const stage: MetricsFirstStage = { kind: 'metricsAggregate', fn: fn as MetricsFunction, by };
    return { ...stage, ...(attr === undefined ? {} : { attr }), ...(quantiles === undefined ? {} : { quantiles }) };
  }

  private parseAttributeList(): AttributeRef[] {
    const out = [this.parseAttribute()];
    while (this.tok.kind === ',') {
      this.next();
      out.push(this.parseAttribute());
    }
    return out;
  }

  /** An attribute or intrinsic (`.a`, `span.a`, `name`, `span:duration`, ...), or undefined when none starts here. */
  private tryAttribute(): AttributeRef | undefined {
    const t = this.tok;
    const unscoped = UNSCOPED_INTRINSICS[t.kind];
    if (unscoped !== undefined && t.kind !== 'IDENTIFIER') {
      this.next();
      return { kind: 'attribute', scope: 'none', name: unscoped, parent: false, intrinsic: unscoped };
    }
    const scoped = SCOPED_INTRINSICS[t.kind];
    if (scoped !== undefined) {
      this.next();
      const n = this.tok;
      const intrinsic = Object.hasOwn(scoped, n.kind) ? scoped[n.kind] : undefined;
      if (intrinsic === undefined) throw this.unexpected(n);
      this.next();
      return { kind: 'attribute', scope: 'none', name: intrinsic, parent: false, intrinsic };
    }
    if (t.kind === 'parent.') {
      this.next();
      let scope: Scope = 'none';
      if (this.tok.kind === 'span.' || this.tok.kind === 'resource.') scope = this.next().kind === 'span.' ? 'span' : 'resource';
      const name = this.expect('IDENTIFIER').text;
      this.expect('END_ATTRIBUTE');
      return { kind: 'attribute', scope, name, parent: true };
    }
    const scope = Object.hasOwn(ATTRIBUTE_SCOPES, t.kind) ? ATTRIBUTE_SCOPES[t.kind] : undefined;
    if (scope !== undefined) {
      this.next();
      const name = this.expect('IDENTIFIER').text;
      this.expect('END_ATTRIBUTE');
      return { kind: 'attribute', scope, name, parent: false };
    }
    return undefined;
  }

  private parseAttribute(): AttributeRef {
    const a = this.tryAttribute();
    if (a === undefined) throw this.unexpected(this.tok);
    return a;
  }

  private parseStatic(): Static {
    const t = this.tok;
    switch (t.kind) {
      case 'STRING':
        this.next();
        return { type: 'string', value: t.text };
      case 'INTEGER':
        this.next();
        return { type: 'int', value: t.num };
      case 'FLOAT':
        this.next();
        return { type: 'float', value: t.num };
      case 'DURATION':
        this.next();
        return { type: 'duration', value: t.num };
      case 'IDENTIFIER':
        this.next();
        if (t.text === 'minInt') return { type: 'int', value: -(2 ** 63) };
        if (t.text === 'maxInt') return { type: 'int', value: 2 ** 63 - 1 };
        throw this.error(t, `unknown identifier: ${t.text}`);
      default: {
        const kw = Object.hasOwn(STATIC_KEYWORDS, t.kind) ? STATIC_KEYWORDS[t.kind] : undefined;
        if (kw === undefined) throw this.unexpected(t);
        this.next();
        return kw;
      }
    }
  }

  // ---- field expressions (inside `{}`, aggregates and by()) ----

  private parseField(minPrec: number): FieldExpr {
    let lhs = this.parseFieldUnary();
    for (;;) {
      const opTok = this.tok;
      if (!FIELD_OPS.has(opTok.kind)) break;
      const p = precedence(opTok.kind);
      if (p < minPrec) break;
      this.next();
      if ((opTok.kind === '=' || opTok.kind === '!=') && this.tok.kind === 'nil') {
        this.next();
        lhs = this.unary(opTok.kind === '=' ? 'notExists' : 'exists', lhs);
        continue;
      }
      const rhs = this.parseField(opTok.kind === '^' ? p : p + 1);
      lhs = this.binary(opTok.kind as FieldOp, lhs, rhs);
    }
    return lhs;
  }

  private parseFieldUnary(): FieldExpr {
    const t = this.tok;
    if (t.kind === '-') {
      this.next();
      return this.unary('-', this.parseField(precedence('-') + 1));
    }
    if (t.kind === '!') {
      this.next();
      // `!` sits between `+ -` and `* / %`: `!a * b` is `!(a * b)`, `!a = b` is `(!a) = b`.
      return this.unary('!', this.parseField(4 + 1));
    }
    if (t.kind === 'nil') {
      this.next();
      const op = this.tok;
      if (op.kind !== '=' && op.kind !== '!=') throw this.unexpected(op);
      this.next();
      if (this.tok.kind === 'nil') {
        this.next();
        return { kind: 'static', value: staticBool(false) };
      }
      return this.unary(op.kind === '=' ? 'notExists' : 'exists', this.parseField(precedence('=') + 1));
    }
    if (t.kind === '(') {
      this.next();
      const e = this.parseField(1);
      this.expect(')');
      return e;
    }
    const attr = this.tryAttribute();
    if (attr !== undefined) return attr;
    return { kind: 'static', value: this.parseStatic() };
  }

  /** A binary node, folded to a constant when it reads no span and is valid (Tempo's parse-time rewrite). */
  private binary(op: FieldOp, lhs: FieldExpr, rhs: FieldExpr): FieldExpr {
    // Tempo compares trace ids without leading zeros.
    if (lhs.kind === 'attribute' && lhs.intrinsic === 'trace:id' && rhs.kind === 'static' && rhs.value.type === 'string') {
      rhs = { kind: 'static', value: { type: 'string', value: rhs.value.value.replace(/^0+/, '') } };
    }
    if (rhs.kind === 'attribute' && rhs.intrinsic === 'trace:id' && lhs.kind === 'static' && lhs.value.type === 'string') {
      lhs = { kind: 'static', value: { type: 'string', value: lhs.value.value.replace(/^0+/, '') } };
    }
    return fold({ kind: 'binary', op, lhs, rhs });
  }

  private unary(op: '-' | '!' | 'exists' | 'notExists', expr: FieldExpr): FieldExpr {
    return fold({ kind: 'unary', op, expr });
  }
}

function fold(e: FieldExpr): FieldExpr {
  if (referencesSpan(e)) return e;
  try {
    validateField(e);
    return { kind: 'static', value: executeField(e, undefined) };
  } catch (err) {
    // Not foldable (invalid, or failing when executed): validation reports it later, as in Tempo.
    if (err instanceof ExecutionError || (err instanceof Error && err.name === 'TraceqlError')) return e;
    throw err;
  }
}

function scalarNode(o: Outer): ScalarExpr {
  if (o.cat === 'scalar') return { kind: 'static', value: o.value };
  return (o as { node: ScalarExpr }).node;
}

function withStage(m: MetricsExpr, s: SecondStage): MetricsExpr {
  return { ...m, stages: [...m.stages, s] };
}
