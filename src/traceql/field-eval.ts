import type { AttributeRef, FieldExpr, ImpliedType, Intrinsic, Static } from './ast.ts';
import { FALSE, NIL, TRUE, executeBinary, executeUnary, isBooleanOp } from './values.ts';

/** What a field expression reads from a span: the value of an attribute or intrinsic (nil when absent). */
export interface FieldSource {
  attribute(ref: AttributeRef): Static;
}

/** The type each intrinsic has, whatever the span. */
const INTRINSIC_TYPE: Record<Intrinsic, ImpliedType> = {
  'span:duration': 'duration',
  'span:childCount': 'int',
  'span:name': 'string',
  'span:status': 'status',
  'span:statusMessage': 'string',
  'span:kind': 'kind',
  'event:name': 'string',
  'event:timeSinceStart': 'duration',
  'link:traceID': 'string',
  'link:spanID': 'string',
  parent: 'nil',
  'trace:duration': 'duration',
  'trace:rootService': 'string',
  'trace:rootName': 'string',
  nestedSetLeft: 'int',
  nestedSetRight: 'int',
  nestedSetParent: 'int',
  'trace:id': 'string',
  'span:id': 'string',
  'span:parentID': 'string',
  'instrumentation:name': 'string',
  'instrumentation:version': 'string',
};

/** The type a field expression has before any span is read (Tempo's `impliedType`). */
export function impliedType(e: FieldExpr): ImpliedType {
  switch (e.kind) {
    case 'static':
      return e.value.type;
    case 'attribute':
      return e.intrinsic === undefined ? 'attribute' : INTRINSIC_TYPE[e.intrinsic];
    case 'unary':
      return e.op === 'exists' || e.op === 'notExists' ? 'bool' : impliedType(e.expr);
    case 'binary': {
      if (isBooleanOp(e.op)) return 'bool';
      const t = impliedType(e.lhs);
      return t !== 'attribute' ? t : impliedType(e.rhs);
    }
  }
}

/** Whether the expression reads the span at all (an attribute or intrinsic somewhere in it). */
export function referencesSpan(e: FieldExpr): boolean {
  switch (e.kind) {
    case 'static':
      return false;
    case 'attribute':
      return true;
    case 'unary':
      return referencesSpan(e.expr);
    case 'binary':
      return referencesSpan(e.lhs) || referencesSpan(e.rhs);
  }
}

/**
 * Evaluates a field expression on one span (`source` undefined: every attribute is nil, for constant folding).
 * `&&` and `||` short-circuit. Throws {@link ExecutionError} where Tempo's execution fails (int division by zero).
 */
export function executeField(e: FieldExpr, source: FieldSource | undefined): Static {
  switch (e.kind) {
    case 'static':
      return e.value;
    case 'attribute':
      return source === undefined ? NIL : source.attribute(e);
    case 'unary':
      return executeUnary(e.op, executeField(e.expr, source));
    case 'binary': {
      const l = executeField(e.lhs, source);
      if (l.type === 'bool') {
        if (e.op === '&&' && !l.value) return FALSE;
        if (e.op === '||' && l.value) return TRUE;
      }
      return executeBinary(e.op, l, executeField(e.rhs, source));
    }
  }
}

/** True when the expression evaluates to boolean true on the span (anything else, errors included, is false). */
export function matchesSpan(e: FieldExpr, source: FieldSource): boolean {
  try {
    const v = executeField(e, source);
    return v.type === 'bool' && v.value;
  } catch {
    // A per-span execution failure (e.g. `.a / 0` on an int) excludes that span, as a non-boolean result does.
    return false;
  }
}
