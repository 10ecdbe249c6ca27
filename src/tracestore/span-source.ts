import type { AttributeScalar, TenantId } from '../model/index.ts';
import type { AttributeScope, SpanCondition, SpanCountParams, SpanCountRow, StoredSpan, TraceTimeRange } from '../storage/index.ts';
import type { SpanPredicate } from './span-condition.ts';

/** A tag scope a source lists names for. */
export type TagScope = Exclude<AttributeScope, 'any' | 'intrinsic'>;

/** A select's prefilter: the seam's conditions, and the same compiled for spans held in memory. */
export interface Prefilter {
  readonly conditions: readonly SpanCondition[];
  readonly match: 'all' | 'any';
  readonly predicate: SpanPredicate;
}

/**
 * One place spans of a tenant are held: the head, or the blocks. A trace may have spans in several sources
 * (late spans, a cut between two of its requests); the querier asks every source and assembles.
 *
 * Contract: every method reads one tenant; id sets and span lists are complete for what the source holds
 * (a source never drops a span it holds that the question selects); spans may repeat across sources
 * (after a crash between a cut and the WAL's truncation) and the querier keeps one per span id.
 */
export interface SpanSource {
  /**
   * Ids of traces with a span starting in `[startNs, endNs)`, each with the earliest start of the trace's spans the
   * source holds (a bound no earlier than the trace's start: newest-first selects order by it). With `only`, just
   * those among `only` (the prefilter's matches), so a selective search does not list every trace of the range.
   */
  idsInRange(tenant: TenantId, startNs: bigint, endNs: bigint, signal?: AbortSignal, only?: ReadonlySet<string>): Promise<Map<string, bigint>>;
  /**
   * Ids of traces with a span that may satisfy the prefilter, looking at spans that started in `near` (wider
   * than the select's `range`, so a trace's matching span outside the range is found). Each id maps to a start
   * bound, as `idsInRange` gives, when one of those spans started in `range` (the trace is then known to be in
   * range without another read), and to undefined otherwise.
   */
  idsMatching(tenant: TenantId, filter: Prefilter, near: TraceTimeRange, range: TraceTimeRange, signal?: AbortSignal): Promise<Map<string, bigint | undefined>>;
  /** Every span held for each of `ids` (ids the source does not hold are absent). */
  spansOf(tenant: TenantId, ids: ReadonlySet<string>, range?: TraceTimeRange, signal?: AbortSignal): Promise<Map<string, StoredSpan[]>>;
  tagNames(tenant: TenantId, scope: TagScope, range?: TraceTimeRange): Promise<Set<string>>;
  /**
   * The span count the seam describes ({@link SpanCountParams}) over the spans this source holds, one per trace id
   * and span id, leaving out the span ids `counted` gives per trace id (another source counts them); undefined when
   * the source cannot apply `params.conditions` exactly.
   */
  countSpans(tenant: TenantId, params: SpanCountParams, counted?: ReadonlyMap<string, ReadonlySet<string>>): Promise<SpanCountRow[] | undefined>;
  /**
   * Distinct values, keyed by `typeof value + ':' + value` so 1 and "1" stay apart. With scope `intrinsic`,
   * `name` is one of {@link INTRINSIC_TAGS}; another intrinsic adds nothing.
   */
  tagValues(tenant: TenantId, scope: AttributeScope, name: string, range: TraceTimeRange | undefined, limit: number, into: Map<string, AttributeScalar>): Promise<void>;
}

/** The free-text intrinsics whose values `tagValues` lists (the seam's list). */
export const INTRINSIC_TAGS = [
  'name',
  'statusMessage',
  'trace:rootService',
  'trace:rootName',
  'event:name',
  'instrumentation:name',
  'instrumentation:version',
] as const;
export type IntrinsicTag = (typeof INTRINSIC_TAGS)[number];

/** Whether `name` is one of {@link INTRINSIC_TAGS}. */
export function isIntrinsicTag(name: string): name is IntrinsicTag {
  return (INTRINSIC_TAGS as readonly string[]).includes(name);
}
