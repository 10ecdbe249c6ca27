export { PromqlEngine } from './engine.ts';
export type {
  InstantSample,
  PromValue,
  PromqlEngineOptions,
  PromqlQueryOptions,
  QueryResult,
  RangeSeries,
} from './engine.ts';
export { PromqlError } from './errors.ts';
export type { PromqlErrorType } from './errors.ts';
export { FloatHistogram } from './histogram.ts';
export { parseExpr, parseMatchers } from './parser.ts';
export type { ParseOptions } from './parser.ts';
export { walk, exprType } from './ast.ts';
export { formatExpr } from './printer.ts';
export type { Expr, ValueType, VectorSelector } from './ast.ts';
