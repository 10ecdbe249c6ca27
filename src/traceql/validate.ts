import type {
  Aggregate,
  AttributeRef,
  FieldExpr,
  MetricsExpr,
  MetricsFirstStage,
  Pipeline,
  PipelineElement,
  RootExpr,
  ScalarExpr,
  SecondStage,
  SpansetExpr,
} from './ast.ts';
import { compileAnchoredRegex } from '../model/index.ts';
import { unsupportedError, validationError } from './errors.ts';
import { impliedType, referencesSpan } from './field-eval.ts';
import { format } from './printer.ts';
import { binaryTypesValid, isMatchingOperand, isNumericType } from './values.ts';

/** Tempo's limit on `by()` labels of a metrics query (quantile and histogram keep one for the bucket). */
export const MAX_GROUP_BYS = 5;
/** compare()'s largest topN. */
export const MAX_COMPARE_TOP_N = 1000;

/**
 * Semantic validation with Tempo's rules and messages (`ast_validate.go`): types of operands, regexes that
 * compile, aggregates over span fields, metrics parameters. Throws a `bad_data` {@link TraceqlError}; features
 * Tempo parses but does not run (`parent`, complex scalar filters, ...) fail with `unsupported` set.
 */
export function validateRoot(root: RootExpr): void {
  if (root.kind === 'search') {
    validatePipeline(root.pipeline);
    return;
  }
  validateMetrics(root.expr);
  if (usesCompare(root.expr) && (root.expr.kind === 'metricsMath' || root.expr.stages.length > 0)) {
    throw validationError('`compare()` cannot be used with second stage functions');
  }
}

function usesCompare(e: MetricsExpr): boolean {
  return e.kind === 'metricsPipeline' ? e.first.kind === 'compare' : usesCompare(e.lhs) || usesCompare(e.rhs);
}

function validateMetrics(e: MetricsExpr): void {
  if (e.kind === 'metricsPipeline') {
    validatePipeline(e.pipeline);
    validateFirstStage(e.first);
  } else {
    validateMetrics(e.lhs);
    validateMetrics(e.rhs);
  }
  for (const s of e.stages) validateSecondStage(s);
}

function validateFirstStage(f: MetricsFirstStage): void {
  if (f.kind === 'compare') {
    validateSpanset(f.filter);
    if (f.topN <= 0 || f.topN > MAX_COMPARE_TOP_N) {
      throw validationError(`compare() top number of values must be an integer between 1 and ${MAX_COMPARE_TOP_N}`);
    }
    if (f.startNs === 0 && f.endNs === 0) return;
    if (f.startNs <= 0 || f.endNs <= 0) throw validationError('compare() timestamps must be positive integer unix nanoseconds');
    if (f.endNs <= f.startNs) throw validationError('compare() end timestamp must be greater than start timestamp');
    return;
  }
  if (f.attr !== undefined) validateAttribute(f.attr);
  for (const b of f.by) validateAttribute(b);
  if ((f.fn === 'quantile_over_time' || f.fn === 'histogram_over_time') && f.by.length >= MAX_GROUP_BYS) {
    throw unsupportedError(`metrics group by ${f.by.length} values`);
  }
  if (f.fn === 'avg_over_time' && f.by.length >= MAX_GROUP_BYS) throw unsupportedError(`metrics group by ${f.by.length} values`);
  for (const q of f.quantiles ?? []) {
    if (q < 0 || q > 1) throw validationError(`quantile must be between 0 and 1: ${q}`);
  }
  if (f.by.length > MAX_GROUP_BYS) throw unsupportedError(`metrics group by ${f.by.length} values`);
}

function validateSecondStage(s: SecondStage): void {
  if ((s.kind === 'topk' || s.kind === 'bottomk') && s.limit <= 0) throw validationError('limit must be greater than 0');
}

export function validatePipeline(p: Pipeline): void {
  for (const e of p.elements) validateElement(e);
}

function validateElement(e: PipelineElement): void {
  switch (e.kind) {
    case 'filter':
    case 'spansetOp':
    case 'pipeline':
      validateSpanset(e);
      return;
    case 'aggregate':
      validateAggregate(e);
      return;
    case 'scalarFilter': {
      validateScalar(e.lhs);
      validateScalar(e.rhs);
      const lt = scalarType(e.lhs);
      const rt = scalarType(e.rhs);
      if (!isMatchingOperand(lt, rt)) throw validationError(`binary operations must operate on the same type: ${format(e)}`);
      if (!binaryTypesValid(e.op, lt, rt)) throw validationError(`illegal operation for the given types: ${format(e)}`);
      if (e.lhs.kind !== 'aggregate') throw unsupportedError('scalar filter lhs of type (%v)');
      if (e.rhs.kind !== 'static') throw unsupportedError('scalar filter rhs of type (%v)');
      return;
    }
    case 'groupBy':
      if (!referencesSpan(e.expr)) throw validationError(`grouping field expressions must reference the span: ${format(e)}`);
      validateField(e.expr);
      return;
    case 'coalesce':
      return;
    case 'select':
      for (const a of e.attrs) validateAttribute(a);
      return;
  }
}

function validateSpanset(e: SpansetExpr): void {
  switch (e.kind) {
    case 'filter': {
      validateField(e.expr);
      const t = impliedType(e.expr);
      if (t !== 'attribute' && t !== 'bool') throw validationError(`span filter field expressions must resolve to a boolean: ${format(e)}`);
      return;
    }
    case 'spansetOp':
      validateSpanset(e.lhs);
      validateSpanset(e.rhs);
      return;
    case 'pipeline':
      validatePipeline(e);
  }
}

function validateAggregate(a: Aggregate): void {
  if (a.expr === undefined) return;
  validateField(a.expr);
  const t = impliedType(a.expr);
  if (t !== 'attribute' && !isNumericType(t)) throw validationError(`aggregate field expressions must resolve to a number type: ${format(a)}`);
  if (!referencesSpan(a.expr)) throw validationError(`aggregate field expressions must reference the span: ${format(a)}`);
}

function scalarType(e: ScalarExpr): ReturnType<typeof impliedType> {
  switch (e.kind) {
    case 'static':
      return e.value.type;
    case 'aggregate':
      return e.op === 'count' || e.expr === undefined ? 'int' : impliedType(e.expr);
    case 'scalarOp': {
      const t = scalarType(e.lhs);
      return t !== 'attribute' ? t : scalarType(e.rhs);
    }
    case 'pipeline': {
      const last = e.elements[e.elements.length - 1];
      return last?.kind === 'aggregate' ? scalarType(last) : 'spanset';
    }
  }
}

function validateScalar(e: ScalarExpr): void {
  switch (e.kind) {
    case 'static':
      return;
    case 'aggregate':
      validateAggregate(e);
      return;
    case 'pipeline':
      validatePipeline(e);
      return;
    case 'scalarOp': {
      validateScalar(e.lhs);
      validateScalar(e.rhs);
      const lt = scalarType(e.lhs);
      const rt = scalarType(e.rhs);
      if (!isMatchingOperand(lt, rt)) throw validationError(`binary operations must operate on the same type: ${format(e)}`);
      if (!binaryTypesValid(e.op, lt, rt)) throw validationError(`illegal operation for the given types: ${format(e)}`);
    }
  }
}

function validateAttribute(a: AttributeRef): void {
  if (a.parent) throw unsupportedError('parent');
  if (a.intrinsic === 'parent') throw unsupportedError('intrinsic (parent)');
}

/** Validates one field expression (also used by the parser before it folds constants, as Tempo does). */
export function validateField(e: FieldExpr): void {
  switch (e.kind) {
    case 'static':
      return;
    case 'attribute':
      validateAttribute(e);
      return;
    case 'unary': {
      validateField(e.expr);
      if (e.op === 'notExists' && e.expr.kind === 'attribute') {
        if (e.expr.intrinsic !== undefined) {
          throw validationError(`${format(e.expr)}=nil is not valid because intrinsics cannot be nil`);
        }
        if (e.expr.scope === 'resource' && !e.expr.parent && e.expr.name === 'service.name') {
          throw validationError(`${format(e.expr)}=nil is not valid because resource.service.name cannot be nil`);
        }
      }
      const t = impliedType(e.expr);
      if (t === 'attribute') return;
      const ok = e.op === '-' ? isNumericType(t) : e.op === '!' ? t === 'bool' : true;
      if (!ok) throw validationError(`illegal operation for the given type: ${format(e)}`);
      return;
    }
    case 'binary': {
      validateField(e.lhs);
      validateField(e.rhs);
      const lt = impliedType(e.lhs);
      const rt = impliedType(e.rhs);
      if (!isMatchingOperand(lt, rt)) throw validationError(`binary operations must operate on the same type: ${format(e)}`);
      if (!binaryTypesValid(e.op, lt, rt)) throw validationError(`illegal operation for the given types: ${format(e)}`);
      if (e.op === '=~' || e.op === '!~') {
        if (e.rhs.kind !== 'static') throw validationError(`invalid type for =~ or !~: ${format(e.rhs)}`);
        const v = e.rhs.value;
        const patterns = v.type === 'string' ? [v.value] : v.type === 'stringArray' ? v.value : undefined;
        if (patterns === undefined) throw validationError(`invalid type for =~ or !~: ${format(e.rhs)}`);
        for (const p of patterns) {
          try {
            compileAnchoredRegex(p);
          } catch {
            // The compiler's own message names RE2's complaint; Tempo's names the pattern, which is what we say.
            throw validationError(`invalid regex: ${format(e.rhs)}`);
          }
        }
      }
    }
  }
}
