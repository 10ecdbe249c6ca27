import type { QueryDeadline, TraceQuerier } from '../storage/index.ts';
import type { AttributeRef, FieldExpr, Pipeline, PipelineElement, Static } from './ast.ts';
import { pushdownConditions } from './conditions.ts';
import { evaluateTrace } from './pipeline-eval.ts';
import type { Spanset } from './pipeline-eval.ts';
import { formatAttribute, formatDurationNs, tempoIntrinsicName } from './printer.ts';
import { TraceView } from './trace-view.ts';
import type { EvalSpan } from './trace-view.ts';
import { stoppable, stopError } from './stop.ts';

/** Tempo's default number of spans shown per spanset (`spss`). */
export const DEFAULT_SPANS_PER_SPANSET = 3;

export interface SearchParams {
  readonly startNs: bigint;
  readonly endNs: bigint;
  /** At most this many traces (0: no limit). */
  readonly limit: number;
  readonly spansPerSpanSet: number;
  readonly deadline: QueryDeadline;
}

interface Match {
  readonly trace: TraceView;
  readonly spansets: Spanset[];
}

export interface SearchStats {
  inspectedTraces: number;
  inspectedSpans: number;
}

/**
 * Runs a search pipeline over what `querier` holds in the range: the newest `limit` matching traces by start
 * time (ties by trace id, so the answer is deterministic), with their matching spansets. Checks the deadline
 * between traces; throws `timeout`/`canceled` HeimdallErrors.
 */
export async function runSearch(querier: TraceQuerier, pipeline: Pipeline, params: SearchParams): Promise<{ matches: Match[]; stats: SearchStats }> {
  const conditions = pushdownConditions(pipeline);
  const stats: SearchStats = { inspectedTraces: 0, inspectedSpans: 0 };
  let matches: Match[] = [];
  const limit = params.limit > 0 ? params.limit : Infinity;
  const signal = params.deadline.signal;
  const selection = querier.select({
    startNs: params.startNs,
    endNs: params.endNs,
    ...(conditions.length > 0 ? { conditions, conditionsMatch: 'all' as const } : {}),
    order: 'newest',
    ...(signal === undefined ? {} : { signal }),
  });
  // Newest first: once `limit` traces matched, no later one can be newer (the loop stops, releasing the select).
  const ordered = querier.newestFirst === true;
  outer: for await (const batch of stoppable(selection, params.deadline)) {
    for (const stored of batch) {
      const stop = params.deadline.poll();
      if (stop !== undefined) throw stopError(stop);
      stats.inspectedTraces++;
      stats.inspectedSpans += stored.spans.length;
      const trace = new TraceView(stored);
      const spansets = evaluateTrace(pipeline, trace);
      if (spansets.length === 0) continue;
      matches.push({ trace, spansets });
      if (ordered && matches.length >= limit) break outer;
      if (matches.length >= 2 * limit + 64) matches = newest(matches, limit);
    }
  }
  return { matches: newest(matches, limit), stats };
}

function newest(ms: Match[], limit: number): Match[] {
  ms.sort((a, b) => (a.trace.startNs > b.trace.startNs ? -1 : a.trace.startNs < b.trace.startNs ? 1 : a.trace.traceId < b.trace.traceId ? -1 : a.trace.traceId > b.trace.traceId ? 1 : 0));
  return ms.length > limit ? ms.slice(0, limit) : ms;
}

/** Intrinsics Tempo never lists among a span's attributes (they are the span's own fields or the trace's). */
const NOT_SHOWN = new Set(['span:name', 'span:duration', 'trace:duration', 'trace:rootService', 'trace:rootName', 'trace:id', 'span:id']);

/** The attributes the query reads or selects: shown with each matching span, as Tempo shows what it fetched. */
export function shownAttributes(p: Pipeline): AttributeRef[] {
  const seen = new Map<string, AttributeRef>();
  const addField = (e: FieldExpr): void => {
    if (e.kind === 'attribute') {
      if (!e.parent && (e.intrinsic === undefined || !NOT_SHOWN.has(e.intrinsic))) seen.set(formatAttribute(e), e);
    } else if (e.kind === 'unary') addField(e.expr);
    else if (e.kind === 'binary') {
      addField(e.lhs);
      addField(e.rhs);
    }
  };
  const addElement = (el: PipelineElement): void => {
    switch (el.kind) {
      case 'filter':
        addField(el.expr);
        return;
      case 'spansetOp':
        addElement(el.lhs);
        addElement(el.rhs);
        return;
      case 'pipeline':
        el.elements.forEach(addElement);
        return;
      case 'select':
        for (const a of el.attrs) addField(a);
        return;
      default:
    }
  };
  p.elements.forEach(addElement);
  return [...seen.values()];
}

/** A value in OTLP's JSON `AnyValue` form, as Tempo's `AsAnyValue` writes it (int64 as a string). */
export function anyValueJson(s: Static): Record<string, unknown> {
  switch (s.type) {
    case 'int':
      return { intValue: String(Math.trunc(s.value)) };
    case 'float':
      return { doubleValue: s.value };
    case 'bool':
      return { boolValue: s.value };
    case 'duration':
      return { stringValue: formatDurationNs(s.value) };
    case 'nil':
      return { stringValue: 'nil' };
    case 'intArray':
      return { arrayValue: { values: s.value.map((v) => ({ intValue: String(Math.trunc(v)) })) } };
    case 'floatArray':
      return { arrayValue: { values: s.value.map((v) => ({ doubleValue: v })) } };
    case 'stringArray':
      return { arrayValue: { values: s.value.map((v) => ({ stringValue: v })) } };
    case 'boolArray':
      return { arrayValue: { values: s.value.map((v) => ({ boolValue: v })) } };
    default:
      return { stringValue: String(s.value) };
  }
}

function spanJson(s: EvalSpan, shown: readonly AttributeRef[]): Record<string, unknown> {
  const attributes: { key: string; value: Record<string, unknown> }[] = [];
  for (const a of shown) {
    const v = s.attribute(a);
    if (v.type === 'nil') continue;
    attributes.push({ key: a.intrinsic === undefined ? a.name : tempoIntrinsicName(a.intrinsic), value: anyValueJson(v) });
  }
  const out: Record<string, unknown> = {
    spanID: s.stored.span.spanId,
    name: s.stored.span.name,
    startTimeUnixNano: String(s.startNs),
    durationNanos: String(s.durationNs),
  };
  if (attributes.length > 0) out.attributes = attributes;
  return out;
}

/**
 * The Tempo search response (`/api/search`) for the matches, newest first: uint64 values as strings, trace ids
 * without leading zeros (Tempo's `TraceIDToHexString`), `spanSet` (the first, for older Grafana) and `spanSets`
 * with at most `spansPerSpanSet` spans each (0: all) and `matched`, per-service span and error counts in `serviceStats`.
 */
export function encodeSearchResponse(
  matches: readonly Match[],
  pipeline: Pipeline,
  spansPerSpanSet: number,
  stats: SearchStats,
): string {
  const shown = shownAttributes(pipeline);
  const spss = spansPerSpanSet > 0 ? spansPerSpanSet : Infinity; // 0: every matching span
  const traces = matches.map(({ trace, spansets }) => {
    const sets = spansets.map((ss) => {
      const set: Record<string, unknown> = {
        spans: ss.spans.slice(0, spss).map((s) => spanJson(s, shown)),
        matched: ss.spans.length,
      };
      if (ss.attributes.length > 0) set.attributes = ss.attributes.map((a) => ({ key: a.name, value: anyValueJson(a.value) }));
      return set;
    });
    const serviceStats: Record<string, { spanCount: number; errorCount?: number }> = {};
    for (const [name, st] of trace.serviceStats()) serviceStats[name] = st.errorCount > 0 ? st : { spanCount: st.spanCount };
    return {
      traceID: trace.traceId.replace(/^0+/, ''),
      rootServiceName: trace.rootServiceName,
      ...(trace.rootSpanName === '' ? {} : { rootTraceName: trace.rootSpanName }),
      startTimeUnixNano: String(trace.startNs),
      durationMs: Math.floor(trace.durationNs / 1e6),
      spanSet: sets[0],
      spanSets: sets,
      serviceStats,
    };
  });
  return JSON.stringify({
    traces,
    metrics: {
      inspectedTraces: stats.inspectedTraces,
      inspectedSpans: String(stats.inspectedSpans),
      completedJobs: 1,
      totalJobs: 1,
    },
  });
}
