import { emptySelectorProblem } from '../../model/index.ts';
import type { LabelMatcher } from '../../model/index.ts';
import { parseMatchers } from '../../promql/index.ts';
import { ApiError } from '../errors.ts';
import { invalidParam } from './params.ts';

/** How a handler reports a bad `match[]`: `/series` wraps it as a parameter error, label endpoints do not. */
export type MatchErrorStyle = 'param' | 'bare';

/**
 * Parses the `match[]` values into matcher sets, as Prometheus' parseMatchersParam: each must be a valid
 * series selector with at least one matcher that does not match the empty string.
 */
export function parseMatchSets(values: readonly string[], style: MatchErrorStyle): LabelMatcher[][] {
  const fail = (err: unknown): ApiError =>
    style === 'param' ? invalidParam('match[]', err) : new ApiError('bad_data', (err as Error).message, { cause: err });
  const sets: LabelMatcher[][] = [];
  for (const v of values) {
    let matchers: LabelMatcher[];
    try {
      matchers = parseMatchers(v);
    } catch (err) {
      throw fail(err);
    }
    sets.push(matchers);
  }
  for (const set of sets) {
    // Prometheus' own wording for the selector rule here (parseMatchersParam).
    if (emptySelectorProblem(set, 'prometheus') !== undefined) throw fail(new Error('match[] must contain at least one non-empty matcher'));
  }
  return sets;
}
