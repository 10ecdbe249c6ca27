import { parseLogql, parseSelector } from '../../logql/index.ts';
import type { Expr } from '../../logql/index.ts';
import type { LabelMatcher } from '../../model/index.ts';
import { ApiError } from '../errors.ts';

/** A `query`/`match[]` stream selector parameter, or undefined when absent. Bad selectors are `bad_data`. */
export function selectorParam(text: string | undefined, name: string): LabelMatcher[] | undefined {
  if (text === undefined) return undefined;
  try {
    return parseSelector(text);
  } catch (err) {
    throw new ApiError('bad_data', `invalid ${name}: ${(err as Error).message}`, { cause: err });
  }
}

/** The stream matchers of any LogQL query (its first log selector); index endpoints ignore the pipeline. */
export function matchersOfQuery(text: string): LabelMatcher[] {
  let e: Expr;
  try {
    e = parseLogql(text);
  } catch (err) {
    throw new ApiError('bad_data', (err as Error).message, { cause: err });
  }
  const find = (x: Expr): LabelMatcher[] | undefined => {
    if (x.kind === 'logSelector') return [...x.matchers];
    const s = x;
    switch (s.kind) {
      case 'rangeAgg':
        return [...s.range.selector.matchers];
      case 'vectorAgg':
      case 'labelReplace':
        return find(s.inner);
      case 'binary':
        return find(s.left) ?? find(s.right);
      default:
        return undefined;
    }
  };
  const m = find(e);
  if (!m) throw new ApiError('bad_data', 'the query has no stream selector');
  return m;
}
