export type {
  Aggregate,
  AttributeRef,
  FieldExpr,
  Hint,
  Intrinsic,
  MetricsExpr,
  MetricsFirstStage,
  Pipeline,
  PipelineElement,
  RootExpr,
  ScalarExpr,
  Scope,
  SecondStage,
  SpansetExpr,
  Static,
} from './ast.ts';
export { DEFAULT_TRACEQL_TIMEOUT_MS, TraceqlEngine } from './engine.ts';
export type { TraceqlEngineOptions } from './engine.ts';
export { TraceqlError } from './errors.ts';
export { parse, parseAndValidate } from './parser.ts';
export { validateRoot } from './validate.ts';
export { compileSpanSelection } from './span-selection.ts';
export type { SpanSelection } from './span-selection.ts';
