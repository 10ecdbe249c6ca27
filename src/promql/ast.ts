import type { LabelMatcher } from '../model/index.ts';

/** The four PromQL value types, named as Prometheus documents them. */
export type ValueType = 'scalar' | 'vector' | 'matrix' | 'string';

/** Prometheus' documented names for value types, used in error messages. */
export function documentedType(t: ValueType): string {
  switch (t) {
    case 'vector':
      return 'instant vector';
    case 'matrix':
      return 'range vector';
    default:
      return t;
  }
}

/** A half-open character range of the query text a node came from. */
export interface PosRange {
  readonly start: number;
  readonly end: number;
}

/**
 * A duration that may depend on the query (`step()`, `range()`, arithmetic), resolved to milliseconds
 * before evaluation. Plain durations are `lit` nodes.
 */
export type DurationExpr =
  | { readonly kind: 'lit'; readonly ms: number }
  | { readonly kind: 'neg'; readonly expr: DurationExpr }
  | { readonly kind: 'bin'; readonly op: '+' | '-' | '*' | '/' | '%' | '^'; readonly lhs: DurationExpr; readonly rhs: DurationExpr }
  | { readonly kind: 'step' }
  | { readonly kind: 'range' }
  | { readonly kind: 'min' | 'max'; readonly lhs: DurationExpr; readonly rhs: DurationExpr };

export type AtModifier = { readonly kind: 'time'; readonly ms: number } | { readonly kind: 'start' } | { readonly kind: 'end' };

export interface NumberLiteral {
  readonly type: 'NumberLiteral';
  readonly val: number;
  readonly pos: PosRange;
}

export interface StringLiteral {
  readonly type: 'StringLiteral';
  readonly val: string;
  /** Set when the literal's escapes produced bytes that are not valid UTF-8 (Go keeps such strings). */
  readonly invalidUtf8?: Uint8Array;
  readonly pos: PosRange;
}

export interface VectorSelector {
  readonly type: 'VectorSelector';
  /** The metric name if given as an identifier or a quoted name. */
  readonly name?: string;
  readonly matchers: readonly LabelMatcher[];
  offset?: DurationExpr;
  at?: AtModifier;
  anchored?: boolean;
  smoothed?: boolean;
  readonly pos: PosRange;
}

export interface MatrixSelector {
  readonly type: 'MatrixSelector';
  readonly vs: VectorSelector;
  readonly range: DurationExpr;
  pos: PosRange;
}

export interface SubqueryExpr {
  readonly type: 'SubqueryExpr';
  readonly expr: Expr;
  readonly range: DurationExpr;
  /** Absent when the step was omitted (`[1h:]`): the engine's default subquery step applies. */
  readonly step?: DurationExpr;
  offset?: DurationExpr;
  at?: AtModifier;
  pos: PosRange;
}

export interface FunctionDef {
  readonly name: string;
  readonly argTypes: readonly ValueType[];
  /** 0: fixed arity; n > 0: up to n optional trailing args of the last type; -1: unlimited. */
  readonly variadic: number;
  readonly returnType: ValueType;
  readonly experimental?: boolean;
}

export interface Call {
  readonly type: 'Call';
  readonly func: FunctionDef;
  readonly args: Expr[];
  readonly pos: PosRange;
}

export type AggregateOp =
  | 'sum'
  | 'avg'
  | 'count'
  | 'min'
  | 'max'
  | 'group'
  | 'stddev'
  | 'stdvar'
  | 'topk'
  | 'bottomk'
  | 'count_values'
  | 'quantile'
  | 'limitk'
  | 'limit_ratio';

export interface AggregateExpr {
  readonly type: 'AggregateExpr';
  readonly op: AggregateOp;
  readonly expr: Expr;
  readonly param?: Expr;
  readonly grouping: readonly string[];
  readonly without: boolean;
  readonly pos: PosRange;
}

export type BinaryOp =
  | '+'
  | '-'
  | '*'
  | '/'
  | '%'
  | '^'
  | 'atan2'
  | '=='
  | '!='
  | '>'
  | '<'
  | '>='
  | '<='
  | 'and'
  | 'or'
  | 'unless'
  | '</'
  | '>/';

export type Cardinality = 'one-to-one' | 'many-to-one' | 'one-to-many' | 'many-to-many';

export interface VectorMatching {
  readonly card: Cardinality;
  /** True for `on(...)`, false for `ignoring(...)` (or no clause). */
  readonly on: boolean;
  readonly labels: readonly string[];
  /** The extra labels of `group_left(...)` / `group_right(...)`. */
  readonly include: readonly string[];
  /** Experimental `fill()` modifiers: values used when a side has no match. */
  readonly fillLhs?: number;
  readonly fillRhs?: number;
}

export interface BinaryExpr {
  readonly type: 'BinaryExpr';
  readonly op: BinaryOp;
  lhs: Expr;
  rhs: Expr;
  readonly returnBool: boolean;
  /** Present when both sides are vectors (Prometheus sets a default for every vector-vector op). */
  matching?: VectorMatching;
  readonly pos: PosRange;
}

export interface UnaryExpr {
  readonly type: 'UnaryExpr';
  readonly op: '-' | '+';
  expr: Expr;
  readonly pos: PosRange;
}

export interface ParenExpr {
  readonly type: 'ParenExpr';
  readonly expr: Expr;
  readonly pos: PosRange;
}

export type Expr =
  | NumberLiteral
  | StringLiteral
  | VectorSelector
  | MatrixSelector
  | SubqueryExpr
  | Call
  | AggregateExpr
  | BinaryExpr
  | UnaryExpr
  | ParenExpr;

/** The value type an expression evaluates to. */
export function exprType(e: Expr): ValueType {
  switch (e.type) {
    case 'NumberLiteral':
      return 'scalar';
    case 'StringLiteral':
      return 'string';
    case 'VectorSelector':
      return 'vector';
    case 'MatrixSelector':
    case 'SubqueryExpr':
      return 'matrix';
    case 'Call':
      return e.func.returnType;
    case 'AggregateExpr':
      return 'vector';
    case 'BinaryExpr':
      return exprType(e.lhs) === 'scalar' && exprType(e.rhs) === 'scalar' ? 'scalar' : 'vector';
    case 'UnaryExpr':
    case 'ParenExpr':
      return exprType(e.expr);
  }
}

/** Comparison operators (`bool` applies to these). */
export function isComparisonOp(op: BinaryOp): boolean {
  return op === '==' || op === '!=' || op === '>' || op === '<' || op === '>=' || op === '<=';
}

/** Set operators (`and`, `or`, `unless`). */
export function isSetOp(op: BinaryOp): boolean {
  return op === 'and' || op === 'or' || op === 'unless';
}

/** Removes redundant parentheses, as Prometheus does before evaluation. */
export function unwrapParens(e: Expr): Expr {
  let cur = e;
  while (cur.type === 'ParenExpr') cur = cur.expr;
  return cur;
}

/** Calls `fn` on every node, parents before children, passing the chain of ancestors. */
export function walk(e: Expr, fn: (node: Expr, path: readonly Expr[]) => void, path: Expr[] = []): void {
  fn(e, path);
  path.push(e);
  switch (e.type) {
    case 'MatrixSelector':
      walk(e.vs, fn, path);
      break;
    case 'SubqueryExpr':
    case 'ParenExpr':
    case 'UnaryExpr':
      walk(e.expr, fn, path);
      break;
    case 'Call':
      for (const a of e.args) walk(a, fn, path);
      break;
    case 'AggregateExpr':
      if (e.param) walk(e.param, fn, path);
      walk(e.expr, fn, path);
      break;
    case 'BinaryExpr':
      walk(e.lhs, fn, path);
      walk(e.rhs, fn, path);
      break;
    default:
      break;
  }
  path.pop();
}
