import type { SpanCondition } from '../storage/index.ts';
import type { AttributeRef, FieldExpr, Pipeline, SpansetExpr } from './ast.ts';

/** Intrinsics the storage prefilter understands, by the names the seam uses. */
const PUSHABLE_INTRINSICS: Partial<Record<string, string>> = {
  'span:name': 'name',
  'span:statusMessage': 'statusMessage',
  'span:status': 'status',
  'span:kind': 'kind',
};

const CONDITION_OPS = new Set(['=', '!=', '<', '<=', '>', '>=', '=~', '!~']);

/**
 * Conditions to push down to storage as a prefilter (a trace none of whose spans satisfies them all cannot
 * match). Taken from the pipeline's first element, which every matching trace must pass: the `&&`-joined simple
 * comparisons (`attribute op literal`, `attribute != nil`) of its first spanset filter that must hold. Anything
 * else is left to the evaluator, which runs exactly on what storage returns.
 */
export function pushdownConditions(p: Pipeline): SpanCondition[] {
  const first = p.elements[0];
  if (first === undefined) return [];
  const filter = requiredFilter(first.kind === 'filter' || first.kind === 'spansetOp' || first.kind === 'pipeline' ? first : undefined);
  if (filter === undefined) return [];
  const out: SpanCondition[] = [];
  collect(filter, out);
  return out;
}

/** A filter every matching trace has a span for, inside a spanset expression. */
function requiredFilter(e: SpansetExpr | undefined): FieldExpr | undefined {
  if (e === undefined) return undefined;
  switch (e.kind) {
    case 'filter':
      return e.expr;
    case 'pipeline': {
      const f = e.elements[0];
      return f !== undefined && (f.kind === 'filter' || f.kind === 'spansetOp' || f.kind === 'pipeline') ? requiredFilter(f) : undefined;
    }
    case 'spansetOp':
      // `||` needs neither side; `!` forms need only the right side; every other operator returns right spans.
      if (e.op === '||') return undefined;
      return requiredFilter(e.rhs);
  }
}

function collect(e: FieldExpr, out: SpanCondition[]): void {
  if (e.kind === 'binary' && e.op === '&&') {
    collect(e.lhs, out);
    collect(e.rhs, out);
    return;
  }
  const c = simpleCondition(e);
  if (c !== undefined) out.push(c);
}

function scopeOf(a: AttributeRef): { scope: SpanCondition['scope']; name: string } | undefined {
  if (a.parent) return undefined;
  if (a.intrinsic !== undefined) {
    const name = PUSHABLE_INTRINSICS[a.intrinsic];
    return name === undefined ? undefined : { scope: 'intrinsic', name };
  }
  return { scope: a.scope === 'none' ? 'any' : a.scope, name: a.name };
}

function simpleCondition(e: FieldExpr): SpanCondition | undefined {
  if (e.kind === 'unary' && e.op === 'exists' && e.expr.kind === 'attribute') {
    const s = scopeOf(e.expr);
    return s === undefined ? undefined : { ...s, op: 'exists' };
  }
  if (e.kind !== 'binary' || !CONDITION_OPS.has(e.op) || e.lhs.kind !== 'attribute' || e.rhs.kind !== 'static') return undefined;
  const s = scopeOf(e.lhs);
  if (s === undefined) return undefined;
  const v = e.rhs.value;
  if (v.type === 'string' || v.type === 'int' || v.type === 'float' || v.type === 'bool') {
    return { ...s, op: e.op as SpanCondition['op'], value: v.value };
  }
  if ((v.type === 'status' || v.type === 'kind') && s.scope === 'intrinsic' && (e.op === '=' || e.op === '!=')) {
    return { ...s, op: e.op, value: v.value };
  }
  return undefined;
}

/** Intrinsics whose values storage compares as TraceQL does. */
const EXACT_INTRINSICS = new Set(['name', 'statusMessage', 'status', 'kind']);

/**
 * The spans a pipeline selects as conditions storage can apply exactly (a span count instead of assembling traces):
 * [] for `{ }` (or `{ true }`), the conditions when the pipeline is one spanset filter made only of `&&`-joined
 * comparisons of span or resource attributes and the intrinsics `name`, `statusMessage`, `status`, `kind` with a
 * literal by `=`, `=~`, `!= nil`, or a number by `<`, `<=`, `>`, `>=` (an array attribute matches when any element
 * does, as in TraceQL; the negated forms need every element and are left to the evaluator); otherwise undefined.
 */
export function exactCountConditions(p: Pipeline): SpanCondition[] | undefined {
  const [only, ...rest] = p.elements;
  if (rest.length > 0 || only?.kind !== 'filter') return undefined;
  const e = only.expr;
  if (e.kind === 'static' && e.value.type === 'bool' && e.value.value) return [];
  const out: SpanCondition[] = [];
  return exactLeaves(e, out) ? out : undefined;
}

function exactLeaves(e: FieldExpr, out: SpanCondition[]): boolean {
  if (e.kind === 'binary' && e.op === '&&') return exactLeaves(e.lhs, out) && exactLeaves(e.rhs, out);
  const c = simpleCondition(e);
  if (c === undefined) return false;
  if (c.scope === 'intrinsic' ? !EXACT_INTRINSICS.has(c.name) : c.scope !== 'span' && c.scope !== 'resource') return false;
  const exact =
    c.op === 'exists' ||
    (c.op === '=' && c.value !== undefined) ||
    (c.op === '=~' && typeof c.value === 'string') ||
    ((c.op === '<' || c.op === '<=' || c.op === '>' || c.op === '>=') && typeof c.value === 'number' && c.scope !== 'intrinsic');
  if (exact) out.push(c);
  return exact;
}
