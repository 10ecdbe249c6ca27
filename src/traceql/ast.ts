/**
 * The TraceQL syntax tree, our own (Tempo's grammar, `pkg/traceql/expr.y`, is the reference for what parses).
 * Field expressions are evaluated per span; pipelines per trace; metrics queries per span over time.
 */

/** A value's type, as TraceQL types it (`attribute`: known only when the span is read). */
export type StaticType =
  | 'nil'
  | 'int'
  | 'float'
  | 'string'
  | 'bool'
  | 'duration'
  | 'status'
  | 'kind'
  | 'intArray'
  | 'floatArray'
  | 'stringArray'
  | 'boolArray';

export type ImpliedType = StaticType | 'attribute' | 'spanset';

export type StatusName = 'error' | 'ok' | 'unset';
export type KindName = 'unspecified' | 'internal' | 'server' | 'client' | 'producer' | 'consumer';

/**
 * A value. Ints are JavaScript numbers (TraceQL's int64 beyond ±2^53 loses precision, as attribute values do);
 * durations are nanoseconds.
 */
export type Static =
  | { readonly type: 'nil' }
  | { readonly type: 'int' | 'float' | 'duration'; readonly value: number }
  | { readonly type: 'string'; readonly value: string }
  | { readonly type: 'bool'; readonly value: boolean }
  | { readonly type: 'status'; readonly value: StatusName }
  | { readonly type: 'kind'; readonly value: KindName }
  | { readonly type: 'intArray' | 'floatArray'; readonly value: readonly number[] }
  | { readonly type: 'stringArray'; readonly value: readonly string[] }
  | { readonly type: 'boolArray'; readonly value: readonly boolean[] };

/** TraceQL's intrinsics, named as the scoped syntax writes them. */
export type Intrinsic =
  | 'span:duration'
  | 'span:name'
  | 'span:status'
  | 'span:statusMessage'
  | 'span:kind'
  | 'span:childCount'
  | 'span:id'
  | 'span:parentID'
  | 'parent'
  | 'trace:rootService'
  | 'trace:rootName'
  | 'trace:duration'
  | 'trace:id'
  | 'nestedSetLeft'
  | 'nestedSetRight'
  | 'nestedSetParent'
  | 'event:name'
  | 'event:timeSinceStart'
  | 'link:traceID'
  | 'link:spanID'
  | 'instrumentation:name'
  | 'instrumentation:version';

/** Where an attribute is looked up; `none` (`.name`) tries span, then resource (Tempo's unscoped attribute). */
export type Scope = 'none' | 'span' | 'resource' | 'event' | 'link' | 'instrumentation';

export interface AttributeRef {
  readonly kind: 'attribute';
  readonly scope: Scope;
  readonly name: string;
  /** `parent.` attributes: parsed, refused by validation as unsupported (as in Tempo). */
  readonly parent: boolean;
  readonly intrinsic?: Intrinsic;
}

export type FieldOp =
  | '+'
  | '-'
  | '*'
  | '/'
  | '%'
  | '^'
  | '='
  | '!='
  | '<'
  | '<='
  | '>'
  | '>='
  | '=~'
  | '!~'
  | '&&'
  | '||';

export type FieldExpr =
  | { readonly kind: 'static'; readonly value: Static }
  | AttributeRef
  | { readonly kind: 'binary'; readonly op: FieldOp; readonly lhs: FieldExpr; readonly rhs: FieldExpr }
  | { readonly kind: 'unary'; readonly op: '-' | '!' | 'exists' | 'notExists'; readonly expr: FieldExpr };

/** Structural and logical operators between spansets. */
export type SpansetOp =
  | '&&'
  | '||'
  | '>'
  | '<'
  | '>>'
  | '<<'
  | '~'
  | '!>'
  | '!<'
  | '!>>'
  | '!<<'
  | '!~'
  | '&>'
  | '&<'
  | '&>>'
  | '&<<'
  | '&~';

export interface SpansetFilter {
  readonly kind: 'filter';
  readonly expr: FieldExpr;
}

export interface SpansetOperation {
  readonly kind: 'spansetOp';
  readonly op: SpansetOp;
  readonly lhs: SpansetExpr;
  readonly rhs: SpansetExpr;
}

/** A spanset expression; a wrapped pipeline (`({..} | count() > 1)`) is one too. */
export type SpansetExpr = SpansetFilter | SpansetOperation | Pipeline;

export type AggregateOp = 'count' | 'avg' | 'max' | 'min' | 'sum';

export interface Aggregate {
  readonly kind: 'aggregate';
  readonly op: AggregateOp;
  readonly expr?: FieldExpr;
}

export type ArithOp = '+' | '-' | '*' | '/' | '%' | '^';
export type CompareOp = '=' | '!=' | '<' | '<=' | '>' | '>=';

export interface ScalarOperation {
  readonly kind: 'scalarOp';
  readonly op: ArithOp;
  readonly lhs: ScalarExpr;
  readonly rhs: ScalarExpr;
}

/** A per-spanset number: an aggregate, a literal, arithmetic of them, or a wrapped pipeline ending in an aggregate. */
export type ScalarExpr = Aggregate | { readonly kind: 'static'; readonly value: Static } | ScalarOperation | Pipeline;

export interface ScalarFilter {
  readonly kind: 'scalarFilter';
  readonly op: CompareOp;
  readonly lhs: ScalarExpr;
  readonly rhs: ScalarExpr;
}

export interface GroupOperation {
  readonly kind: 'groupBy';
  readonly expr: FieldExpr;
}

export interface CoalesceOperation {
  readonly kind: 'coalesce';
}

export interface SelectOperation {
  readonly kind: 'select';
  readonly attrs: readonly AttributeRef[];
}

export type PipelineElement =
  | SpansetFilter
  | SpansetOperation
  | Pipeline
  | ScalarFilter
  | GroupOperation
  | CoalesceOperation
  | SelectOperation
  | Aggregate;

export interface Pipeline {
  readonly kind: 'pipeline';
  readonly elements: readonly PipelineElement[];
}

export type MetricsFunction =
  | 'rate'
  | 'count_over_time'
  | 'min_over_time'
  | 'max_over_time'
  | 'avg_over_time'
  | 'sum_over_time'
  | 'quantile_over_time'
  | 'histogram_over_time';

/** The first stage of a metrics query: spans → series. */
export type MetricsFirstStage =
  | {
      readonly kind: 'metricsAggregate';
      readonly fn: MetricsFunction;
      /** The measured value (`min_over_time(span:duration)`); absent for rate and count_over_time. */
      readonly attr?: AttributeRef;
      /** quantile_over_time's quantiles. */
      readonly quantiles?: readonly number[];
      readonly by: readonly AttributeRef[];
    }
  | {
      readonly kind: 'compare';
      readonly filter: SpansetFilter;
      readonly topN: number;
      /** Unix ns; both 0 when not given. */
      readonly startNs: number;
      readonly endNs: number;
    };

/** Stages applied to series after the first stage, in order. */
export type SecondStage =
  | { readonly kind: 'topk' | 'bottomk'; readonly limit: number }
  /** Drops points failing the comparison (values in seconds for durations). */
  | { readonly kind: 'metricsFilter'; readonly op: CompareOp; readonly value: number }
  /** `value op series` when scalarOnLeft, else `series op value`. */
  | { readonly kind: 'metricsScalarOp'; readonly op: '+' | '-' | '*' | '/'; readonly value: number; readonly scalarOnLeft: boolean };

export type MetricsExpr =
  | {
      readonly kind: 'metricsPipeline';
      readonly pipeline: Pipeline;
      readonly first: MetricsFirstStage;
      readonly stages: readonly SecondStage[];
    }
  | {
      readonly kind: 'metricsMath';
      readonly op: '+' | '-' | '*' | '/';
      readonly lhs: MetricsExpr;
      readonly rhs: MetricsExpr;
      readonly stages: readonly SecondStage[];
    };

export interface Hint {
  readonly name: string;
  readonly value: Static;
}

/** A parsed query: a search (a spanset pipeline) or a metrics query. */
export type RootExpr =
  | { readonly kind: 'search'; readonly pipeline: Pipeline; readonly hints: readonly Hint[] }
  | { readonly kind: 'metrics'; readonly expr: MetricsExpr; readonly hints: readonly Hint[] };
