import { compileAnchoredRegex } from './re2.ts';
import type { ValuePredicate } from './re2.ts';

/** The four label matcher operators shared by PromQL, LogQL stream selectors and profile selectors. */
export type MatchOp = '=' | '!=' | '=~' | '!~';

/**
 * One label matcher. Regular-expression matchers are fully anchored and follow RE2 syntax with `.` matching
 * newlines (`^(?s:re)$`), as in Prometheus and Loki; a missing label matches as the empty string.
 */
export interface LabelMatcher {
  readonly op: MatchOp;
  readonly name: string;
  readonly value: string;
}

/** Compiles a matcher into a predicate over the label's value. */
export function compileMatcher(m: LabelMatcher): ValuePredicate {
  switch (m.op) {
    case '=':
      return (v) => v === m.value;
    case '!=':
      return (v) => v !== m.value;
    case '=~':
      return compileAnchoredRegex(m.value);
    case '!~': {
      const pred = compileAnchoredRegex(m.value);
      return (v) => !pred(v);
    }
  }
}
