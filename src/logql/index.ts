export type {
  BinaryOp,
  Expr,
  LabelFilterExpr,
  LineFilterStage,
  LogRange,
  LogSelectorExpr,
  RangeOp,
  SampleExpr,
  Stage,
  VectorOp,
} from './ast.ts';
export { LogqlEngine, defaultStepMs } from './engine.ts';
export type { LogqlData, LogqlEngineOptions, LogqlQueryParams, LogqlResult, MatrixSeries, VectorSample } from './engine.ts';
export { LogqlError } from './errors.ts';
export type { LogqlErrorType } from './errors.ts';
export type { ResultEntry, ResultStream } from './log-query.ts';
export { parseLogql, parseSelector } from './parser.ts';
export { compilePipeline, LabelsBuilder } from './pipeline.ts';
export type { QueryStats } from './source.ts';
export { scanLogfmt } from './line-parsers.ts';
