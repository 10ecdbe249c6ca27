import type { SpanCondition, StoredSpan, StoredTrace } from '../storage/index.ts';
import { pushdownConditions } from './conditions.ts';
import { HeimdallError } from '../model/index.ts';
import { parseAndValidate } from './parser.ts';
import { evaluateTrace } from './pipeline-eval.ts';
import { TraceView } from './trace-view.ts';

/** The spans a TraceQL search selects, for callers that read span data other than the search's answer. */
export interface SpanSelection {
  /** Conditions to pass to `TraceQuerier.select` as its prefilter (`conditionsMatch: 'all'`); may over-match. */
  readonly conditions: readonly SpanCondition[];
  /** The spans of `trace` in the spansets the query yields for it (none when the trace does not match). */
  spansOf(trace: StoredTrace): StoredSpan[];
}

/**
 * Compiles a TraceQL search query into the set of spans it selects: what Tempo's autocomplete filtering
 * (`/api/v2/search/tag/<t>/values?q=`) reads tag values from. The whole pipeline is evaluated on each trace,
 * so structural operators and aggregates select exactly what a search would show. Throws a `bad_data`
 * HeimdallError (a TraceqlError for an invalid query).
 */
export function compileSpanSelection(query: string): SpanSelection {
  const root = parseAndValidate(query);
  if (root.kind !== 'search') throw new HeimdallError('bad_data', 'a TraceQL metrics query cannot filter tag values; give a spanset filter');
  const pipeline = root.pipeline;
  return {
    conditions: pushdownConditions(pipeline),
    spansOf(trace: StoredTrace): StoredSpan[] {
      const out = new Set<StoredSpan>();
      for (const set of evaluateTrace(pipeline, new TraceView(trace))) for (const s of set.spans) out.add(s.stored);
      return [...out];
    },
  };
}
