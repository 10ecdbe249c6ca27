import { compileAnchoredRegex } from '../model/index.ts';
import type { Attribute, AttributeScalar, AttributeValue } from '../model/index.ts';
import type { SpanCondition, StoredSpan } from '../storage/index.ts';

/** A compiled {@link SpanCondition}: true when the span may satisfy it. */
export type SpanPredicate = (s: StoredSpan) => boolean;

const KIND_NAMES = ['unspecified', 'internal', 'server', 'client', 'producer', 'consumer'];
const STATUS_NAMES = ['unset', 'ok', 'error'];

/**
 * Compiles the prefilter of a select. The contract of the seam lets storage over-match, never under-match,
 * so anything this does not understand exactly (an intrinsic it does not know, a value of another type than
 * it expects) matches. Attribute conditions follow TraceQL: a comparison needs the attribute to be present
 * with a value of a comparable type (numbers with numbers, strings with strings, booleans with booleans);
 * an array attribute matches when any element does; `!=` and `!~` also need the attribute present. Unscoped
 * (`any`) looks at span, then resource attributes. Intrinsics understood: `name`, `statusMessage`, `status`
 * and `kind` (given as TraceQL's names `error`, `server`, ... or OTLP's numbers).
 */
export function compileConditions(conditions: readonly SpanCondition[] | undefined, match: 'all' | 'any' = 'all'): SpanPredicate | undefined {
  if (!conditions || conditions.length === 0) return undefined;
  // Resource conditions first, each remembering its answer for the last resource it saw: a trace's spans, and a
  // request's, share one resource list, so a scan of the head tests each resource about once.
  const preds = [...conditions.filter((c) => c.scope === 'resource').map(lastResourceMemo), ...conditions.filter((c) => c.scope !== 'resource').map(compileCondition)];
  const want = match === 'all';
  return (s) => {
    for (let i = 0; i < preds.length; i++) if (preds[i]!(s) !== want) return !want;
    return want;
  };
}

function lastResourceMemo(c: SpanCondition): SpanPredicate {
  const test = compileCondition(c);
  let last: readonly Attribute[] | undefined;
  let answer = false;
  return (s) => {
    if (s.resource !== last) {
      last = s.resource;
      answer = test(s);
    }
    return answer;
  };
}

function compileCondition(c: SpanCondition): SpanPredicate {
  const test = compileValueTest(c);
  switch (c.scope) {
    case 'span':
      return (s) => attrTest(s.span.attributes, c.name, test);
    case 'resource':
      return (s) => attrTest(s.resource, c.name, test);
    case 'any':
      return (s) => attrTest(s.span.attributes, c.name, test) || attrTest(s.resource, c.name, test);
    case 'instrumentation':
      return (s) => attrTest(s.span.scope.attributes, c.name, test);
    case 'event':
      return (s) => (s.span.events ?? []).some((e) => attrTest(e.attributes, c.name, test));
    case 'link':
      return (s) => (s.span.links ?? []).some((l) => attrTest(l.attributes, c.name, test));
    case 'intrinsic':
      return compileIntrinsic(c, test);
  }
}

function compileIntrinsic(c: SpanCondition, test: (v: AttributeScalar) => boolean): SpanPredicate {
  switch (c.name) {
    case 'name':
    case 'span:name':
      return (s) => test(s.span.name);
    case 'statusMessage':
    case 'span:statusMessage':
      return (s) => test(s.span.statusMessage ?? '');
    case 'status':
    case 'span:status':
      return namedEnum(c, STATUS_NAMES, (s) => s.span.statusCode, test);
    case 'kind':
    case 'span:kind':
      return namedEnum(c, KIND_NAMES, (s) => s.span.kind, test);
    default:
      return () => true;
  }
}

function namedEnum(c: SpanCondition, names: readonly string[], get: (s: StoredSpan) => number, test: (v: AttributeScalar) => boolean): SpanPredicate {
  if (typeof c.value === 'number') return (s) => test(get(s));
  if (typeof c.value === 'string' && names.includes(c.value)) return (s) => test(names[get(s)] ?? '');
  return () => true;
}

function attrTest(list: readonly Attribute[] | undefined, name: string, test: (v: AttributeScalar) => boolean): boolean {
  if (!list) return false;
  for (const a of list) {
    if (a.key !== name) continue;
    if (anyValue(a.value, test)) return true;
  }
  return false;
}

function anyValue(v: AttributeValue, test: (v: AttributeScalar) => boolean): boolean {
  if (Array.isArray(v)) return (v as readonly AttributeScalar[]).some(test);
  return test(v as AttributeScalar);
}

/** The test one present value must pass. */
function compileValueTest(c: SpanCondition): (v: AttributeScalar) => boolean {
  const want = c.value;
  switch (c.op) {
    case 'exists':
      return () => true;
    case '=~':
    case '!~': {
      if (typeof want !== 'string') return () => true;
      let re: (s: string) => boolean;
      try {
        re = compileAnchoredRegex(want);
      } catch {
        // An invalid pattern is the query engine's to report; storage cannot rule anything out.
        return () => true;
      }
      const neg = c.op === '!~';
      return (v) => typeof v === 'string' && re(v) !== neg;
    }
    default: {
      if (want === undefined) return () => true;
      const op = c.op;
      return (v) => {
        if (typeof v !== typeof want) return false;
        // Go orders strings by bytes, JavaScript by UTF-16 units: order comparisons on text cannot rule out.
        if (typeof v !== 'number' && op !== '=' && op !== '!=') return true;
        switch (op) {
          case '=':
            return v === want;
          case '!=':
            return v !== want;
          case '<':
            return v < want;
          case '<=':
            return v <= want;
          case '>':
            return v > want;
          case '>=':
            return v >= want;
        }
      };
    }
  }
}
