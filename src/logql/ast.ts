import type { LabelMatcher } from '../model/index.ts';

/** The AST of a LogQL query, built from `@grafana/lezer-logql`'s tree by `parseLogql`. */
export type Expr = LogSelectorExpr | SampleExpr;

export type LineFilterOp = '|=' | '!=' | '|~' | '!~' | '|>' | '!>';

/** One operand of a line filter: a literal (substring, regex or pattern by the op) or `ip("cidr")`. */
export interface LineFilterValue {
  readonly kind: 'literal' | 'ip';
  readonly value: string;
}

/** `|= "a" or "b"`: one line filter whose operands are or'ed (a negative op drops a line matching any). */
export interface LineFilterStage {
  readonly kind: 'lineFilter';
  readonly op: LineFilterOp;
  readonly values: readonly LineFilterValue[];
}

/** A `json` field extraction: label name and JSON path (undefined: the label name itself). */
export interface ExtractionParam {
  readonly name: string;
  readonly path?: string;
}

export type ParserStage =
  | { readonly kind: 'json'; readonly params: readonly ExtractionParam[] }
  | {
      readonly kind: 'logfmt';
      readonly strict: boolean;
      readonly keepEmpty: boolean;
      readonly params: readonly ExtractionParam[];
    }
  | { readonly kind: 'regexp'; readonly pattern: string }
  | { readonly kind: 'pattern'; readonly pattern: string }
  | { readonly kind: 'unpack' };

export type CompareOp = '==' | '!=' | '>' | '>=' | '<' | '<=';

export type LabelFilterExpr =
  | { readonly kind: 'and' | 'or'; readonly left: LabelFilterExpr; readonly right: LabelFilterExpr }
  | { readonly kind: 'string'; readonly matcher: LabelMatcher }
  | { readonly kind: 'number'; readonly name: string; readonly op: CompareOp; readonly value: number }
  /** Duration filters compare in nanoseconds. */
  | { readonly kind: 'duration'; readonly name: string; readonly op: CompareOp; readonly value: number }
  | { readonly kind: 'bytes'; readonly name: string; readonly op: CompareOp; readonly value: number }
  | { readonly kind: 'ip'; readonly name: string; readonly negate: boolean; readonly pattern: string };

export interface LabelFormatOp {
  readonly dst: string;
  /** Rename: the source label (removed after the copy). */
  readonly rename?: string;
  /** Template: a Go text/template over the labels. */
  readonly template?: string;
}

/** A `drop`/`keep` item: a bare name, or a matcher that must hold for the label to be dropped/kept. */
export interface LabelNameItem {
  readonly name: string;
  readonly matcher?: LabelMatcher;
}

export type Stage =
  | LineFilterStage
  | ParserStage
  | { readonly kind: 'labelFilter'; readonly filter: LabelFilterExpr }
  | { readonly kind: 'lineFormat'; readonly template: string }
  | { readonly kind: 'labelFormat'; readonly ops: readonly LabelFormatOp[] }
  | { readonly kind: 'drop'; readonly items: readonly LabelNameItem[] }
  | { readonly kind: 'keep'; readonly items: readonly LabelNameItem[] }
  | { readonly kind: 'decolorize' };

export interface LogSelectorExpr {
  readonly kind: 'logSelector';
  readonly matchers: readonly LabelMatcher[];
  readonly stages: readonly Stage[];
}

export type UnwrapConv = 'bytes' | 'duration' | 'duration_seconds';

export interface Unwrap {
  readonly label: string;
  readonly conv?: UnwrapConv;
  /** Label filters written after the unwrap (`| unwrap x | y="1"`). */
  readonly postFilters: readonly LabelFilterExpr[];
}

export interface LogRange {
  readonly selector: LogSelectorExpr;
  readonly rangeNs: number;
  readonly offsetNs: number;
  readonly unwrap?: Unwrap;
}

export interface Grouping {
  readonly without: boolean;
  readonly labels: readonly string[];
}

export type RangeOp =
  | 'count_over_time'
  | 'rate'
  | 'rate_counter'
  | 'bytes_over_time'
  | 'bytes_rate'
  | 'avg_over_time'
  | 'sum_over_time'
  | 'min_over_time'
  | 'max_over_time'
  | 'stddev_over_time'
  | 'stdvar_over_time'
  | 'quantile_over_time'
  | 'first_over_time'
  | 'last_over_time'
  | 'absent_over_time';

export type VectorOp =
  | 'sum'
  | 'avg'
  | 'count'
  | 'max'
  | 'min'
  | 'stddev'
  | 'stdvar'
  | 'bottomk'
  | 'topk'
  | 'sort'
  | 'sort_desc'
  | 'approx_topk';

export type BinaryOp =
  | '+'
  | '-'
  | '*'
  | '/'
  | '%'
  | '^'
  | '=='
  | '!='
  | '>'
  | '>='
  | '<'
  | '<='
  | 'and'
  | 'or'
  | 'unless';

export interface VectorMatching {
  /** `on(...)` when true, `ignoring(...)` when false. */
  readonly on: boolean;
  readonly labels: readonly string[];
  readonly card: 'one-to-one' | 'many-to-one' | 'one-to-many';
  /** Labels copied from the "one" side with group_left/group_right. */
  readonly include: readonly string[];
}

export type SampleExpr =
  | {
      readonly kind: 'rangeAgg';
      readonly op: RangeOp;
      readonly param?: number;
      readonly range: LogRange;
      readonly grouping?: Grouping;
    }
  | {
      readonly kind: 'vectorAgg';
      readonly op: VectorOp;
      readonly param?: number;
      readonly inner: SampleExpr;
      readonly grouping?: Grouping;
    }
  | {
      readonly kind: 'binary';
      readonly op: BinaryOp;
      readonly returnBool: boolean;
      readonly matching?: VectorMatching;
      readonly left: SampleExpr;
      readonly right: SampleExpr;
    }
  | { readonly kind: 'literal'; readonly value: number }
  | { readonly kind: 'vector'; readonly value: number }
  | {
      readonly kind: 'labelReplace';
      readonly inner: SampleExpr;
      readonly dst: string;
      readonly replacement: string;
      readonly src: string;
      readonly regex: string;
    };
