import type { Aggregate, FieldExpr, Pipeline, PipelineElement, ScalarFilter, SpansetExpr, SpansetOp, Static } from './ast.ts';
import { HeimdallError } from '../model/index.ts';
import { executeField, matchesSpan } from './field-eval.ts';
import { format } from './printer.ts';
import type { EvalSpan, TraceView } from './trace-view.ts';
import { ExecutionError, executeBinary, staticKey, toFloat } from './values.ts';

/** A set of spans of one trace, with what the pipeline attached to it (by() groups, aggregate values). */
export interface Spanset {
  readonly spans: readonly EvalSpan[];
  /** The value of the last aggregate (`count()`, ...), when one ran. */
  readonly scalar?: Static;
  /** Named values shown with the spanset (`by(resource.service.name)`, `count()`), in the order they were added. */
  readonly attributes: readonly { readonly name: string; readonly value: Static }[];
}

/** Which of a filter's scopes need an event or a link bound to be read. */
interface Bindings {
  readonly events: boolean;
  readonly links: boolean;
}

const bindingsCache = new WeakMap<FieldExpr, Bindings>();

function bindingsOf(e: FieldExpr): Bindings {
  let b = bindingsCache.get(e);
  if (b === undefined) {
    const found = { events: false, links: false };
    const walk = (x: FieldExpr): void => {
      if (x.kind === 'attribute') {
        if (x.scope === 'event' || x.intrinsic === 'event:name' || x.intrinsic === 'event:timeSinceStart') found.events = true;
        if (x.scope === 'link' || x.intrinsic === 'link:traceID' || x.intrinsic === 'link:spanID') found.links = true;
      } else if (x.kind === 'unary') walk(x.expr);
      else if (x.kind === 'binary') {
        walk(x.lhs);
        walk(x.rhs);
      }
    };
    walk(e);
    b = found;
    bindingsCache.set(e, b);
  }
  return b;
}

/**
 * Whether a span satisfies a spanset filter. A filter reading event (or link) fields holds when it holds for
 * one of the span's events (links) — all its event conditions then describe the same event.
 */
export function spanMatches(e: FieldExpr, s: EvalSpan): boolean {
  const b = bindingsOf(e);
  if (!b.events && !b.links) return matchesSpan(e, s.source());
  const events = b.events && (s.stored.span.events?.length ?? 0) > 0 ? s.stored.span.events! : [undefined];
  const links = b.links && (s.stored.span.links?.length ?? 0) > 0 ? s.stored.span.links! : [undefined];
  for (const ev of events) for (const l of links) if (matchesSpan(e, s.source(ev, l))) return true;
  return false;
}

function byIndex(a: EvalSpan, b: EvalSpan): number {
  return a.index - b.index;
}

function unique(spans: Iterable<EvalSpan>): EvalSpan[] {
  return [...new Set(spans)].sort(byIndex);
}

/** Evaluates a search pipeline over one trace: the trace's spans form the first spanset. */
export function evaluateTrace(p: Pipeline, trace: TraceView): Spanset[] {
  if (trace.spans.length === 0) return [];
  return evaluatePipeline(p, [{ spans: trace.spans, attributes: [] }]);
}

export function evaluatePipeline(p: Pipeline, input: Spanset[]): Spanset[] {
  let out = input;
  for (const el of p.elements) {
    out = evaluateElement(el, out);
    if (out.length === 0) return [];
  }
  return out;
}

function evaluateElement(el: PipelineElement, input: Spanset[]): Spanset[] {
  switch (el.kind) {
    case 'filter':
    case 'spansetOp':
    case 'pipeline':
      return evaluateSpanset(el, input);
    case 'scalarFilter':
      return evaluateScalarFilter(el, input);
    case 'aggregate':
      return input.flatMap((ss) => {
        const v = aggregate(el, ss);
        return v === undefined ? [] : [{ spans: ss.spans, scalar: v, attributes: [...ss.attributes, { name: format(el), value: v }] }];
      });
    case 'groupBy': {
      const out: Spanset[] = [];
      const name = format(el);
      for (const ss of input) {
        const groups = new Map<string, { value: Static; spans: EvalSpan[] }>();
        for (const s of ss.spans) {
          const v = executeOrNil(el.expr, s);
          const k = staticKey(v);
          let g = groups.get(k);
          if (g === undefined) groups.set(k, (g = { value: v, spans: [] }));
          g.spans.push(s);
        }
        for (const g of groups.values()) out.push({ spans: g.spans, attributes: [...ss.attributes, { name, value: g.value }] });
      }
      return out;
    }
    case 'coalesce':
      return [{ spans: unique(input.flatMap((ss) => ss.spans)), attributes: [] }];
    case 'select':
      // select() changes what is shown with the spans, not which spans match (the search output reads it).
      return input;
  }
}

function executeOrNil(e: FieldExpr, s: EvalSpan): Static {
  try {
    return executeField(e, s.source());
  } catch (err) {
    if (err instanceof ExecutionError) return { type: 'nil' };
    throw err;
  }
}

function evaluateSpanset(e: SpansetExpr, input: Spanset[]): Spanset[] {
  switch (e.kind) {
    case 'pipeline':
      return evaluatePipeline(e, input);
    case 'filter': {
      const out: Spanset[] = [];
      for (const ss of input) {
        const spans = ss.spans.filter((s) => spanMatches(e.expr, s));
        if (spans.length === ss.spans.length) out.push(ss);
        else if (spans.length > 0) out.push({ ...ss, spans });
      }
      return out;
    }
    case 'spansetOp': {
      const out: Spanset[] = [];
      for (const ss of input) {
        const lhs = evaluateSpanset(e.lhs, [ss]);
        const rhs = evaluateSpanset(e.rhs, [ss]);
        let spans: EvalSpan[];
        if (e.op === '&&') {
          if (lhs.length === 0 || rhs.length === 0) continue;
          spans = unique([...lhs, ...rhs].flatMap((x) => x.spans));
        } else if (e.op === '||') {
          if (lhs.length === 0 && rhs.length === 0) continue;
          spans = unique([...lhs, ...rhs].flatMap((x) => x.spans));
        } else {
          if (rhs.length === 0) continue;
          if (lhs.length > 1 || rhs.length > 1) {
            throw new HeimdallError('execution', 'spanset operators are not supported for multiple spansets per trace. consider using coalesce()');
          }
          spans = structural(e.op, lhs[0]?.spans ?? [], rhs[0]!.spans);
        }
        if (spans.length > 0) out.push({ ...ss, spans });
      }
      return out;
    }
  }
}

/** Ancestors of a span (nearest first); spans outside any tree (nested set 0, e.g. in a cycle) have none. */
function* ancestors(s: EvalSpan): Generator<EvalSpan> {
  if (s.nestedSetLeft === 0) return;
  for (let p = s.parent; p !== undefined; p = p.parent) yield p;
}

function isDescendantOf(d: EvalSpan, a: EvalSpan): boolean {
  return d.nestedSetLeft !== 0 && a.nestedSetLeft !== 0 && d.nestedSetLeft > a.nestedSetLeft && d.nestedSetRight < a.nestedSetRight;
}

function isChildOf(c: EvalSpan, p: EvalSpan): boolean {
  return c.parent === p && p.nestedSetLeft !== 0;
}

function isSiblingOf(a: EvalSpan, b: EvalSpan): boolean {
  return a !== b && a.parent !== undefined && a.parent === b.parent;
}

/**
 * A structural operator between the left and right spans: the right spans that have (`>`: a parent, `>>`: an
 * ancestor, `<`: a child, `<<`: a descendant, `~`: a sibling) among the left ones; `!` forms: that have none;
 * `&` forms: both sides' spans that take part in such a pair.
 */
function structural(op: Exclude<SpansetOp, '&&' | '||'>, l: readonly EvalSpan[], r: readonly EvalSpan[]): EvalSpan[] {
  const left = new Set(l);
  // Whether `x` (from the right) relates to some left span, per relation.
  const related = (rel: 'child' | 'parent' | 'desc' | 'anc' | 'sibl', x: EvalSpan, pool: Set<EvalSpan>): boolean => {
    switch (rel) {
      case 'child':
        return x.parent !== undefined && x.nestedSetLeft !== 0 && pool.has(x.parent);
      case 'parent':
        return x.children.some((c) => pool.has(c));
      case 'desc':
        for (const a of ancestors(x)) if (pool.has(a)) return true;
        return false;
      case 'anc':
        for (const p of pool) if (isDescendantOf(p, x)) return true;
        return false;
      case 'sibl':
        return x.parent !== undefined && x.parent.children.some((c) => c !== x && pool.has(c));
    }
  };
  const relOf: Record<string, 'child' | 'parent' | 'desc' | 'anc' | 'sibl'> = {
    '>': 'child', '!>': 'child', '&>': 'child',
    '<': 'parent', '!<': 'parent', '&<': 'parent',
    '>>': 'desc', '!>>': 'desc', '&>>': 'desc',
    '<<': 'anc', '!<<': 'anc', '&<<': 'anc',
    '~': 'sibl', '!~': 'sibl', '&~': 'sibl',
  };
  const rel = relOf[op]!;
  if (op.startsWith('!')) return r.filter((x) => !related(rel, x, left));
  if (!op.startsWith('&')) return r.filter((x) => related(rel, x, left));
  // Union: right spans related to a left one, and left spans related (the other way) to a right one.
  const right = new Set(r);
  const out: EvalSpan[] = r.filter((x) => related(rel, x, left));
  for (const y of l) {
    const hit =
      rel === 'child' ? y.children.some((c) => right.has(c) && isChildOf(c, y))
      : rel === 'parent' ? y.parent !== undefined && right.has(y.parent)
      : rel === 'desc' ? r.some((x) => isDescendantOf(x, y))
      : rel === 'anc' ? [...ancestors(y)].some((a) => right.has(a))
      : [...right].some((x) => isSiblingOf(x, y));
    if (hit) out.push(y);
  }
  return unique(out);
}

function evaluateScalarFilter(f: ScalarFilter, input: Spanset[]): Spanset[] {
  if (f.lhs.kind !== 'aggregate' || f.rhs.kind !== 'static') {
    throw new HeimdallError('bad_data', `scalar filter lhs (${format(f.lhs)}) not supported`);
  }
  const agg = f.lhs;
  const rhs = f.rhs.value;
  const out: Spanset[] = [];
  for (const ss of input) {
    const v = aggregate(agg, ss);
    if (v === undefined) continue;
    const res = compareScalars(f.op, v, rhs);
    if (res) out.push({ spans: ss.spans, scalar: v, attributes: [...ss.attributes, { name: format(agg), value: v }] });
  }
  return out;
}

/** Tempo's comparison of an aggregate's value with a constant: numbers as floats, `=`/`!=` by value. */
function compareScalars(op: ScalarFilter['op'], l: Static, r: Static): boolean {
  if (op === '=' || op === '!=') {
    const v = executeBinary(op, l, r);
    return v.type === 'bool' && v.value;
  }
  const a = toFloat(l);
  const b = toFloat(r);
  switch (op) {
    case '<':
      return a < b;
    case '<=':
      return a <= b;
    case '>':
      return a > b;
    case '>=':
      return a >= b;
  }
}

/**
 * An aggregate over a spanset, as Tempo computes it: nil values are skipped; sums and averages keep the
 * values' type when they all share it (durations stay durations), otherwise become floats; avg of ints is a
 * float. Undefined when no span has a value (the spanset is then dropped).
 */
export function aggregate(a: Aggregate, ss: Spanset): Static | undefined {
  if (a.op === 'count') return { type: 'int', value: ss.spans.length };
  const values: Static[] = [];
  for (const s of ss.spans) {
    const v = executeOrNil(a.expr!, s);
    if (v.type === 'int' || v.type === 'float' || v.type === 'duration') values.push(v);
  }
  if (values.length === 0) return undefined;
  const type = values.every((v) => v.type === values[0]!.type) ? values[0]!.type : 'float';
  const nums = values.map(toFloat);
  switch (a.op) {
    case 'sum':
      return { type: type as 'int', value: nums.reduce((x, y) => x + y, 0) };
    case 'avg': {
      const avg = nums.reduce((x, y) => x + y, 0) / nums.length;
      return type === 'duration' ? { type: 'duration', value: Math.trunc(avg) } : { type: 'float', value: avg };
    }
    case 'min':
      return { type: type as 'int', value: nums.reduce((x, y) => (y < x ? y : x)) };
    case 'max':
      return { type: type as 'int', value: nums.reduce((x, y) => (y > x ? y : x)) };
  }
}
