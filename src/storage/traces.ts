import type { Attribute, AttributeScalar, AttributeValue, Span, SpanRecord, TenantId } from '../model/index.ts';
import type { Appendable } from './append.ts';

/** A span as read back, with its resource (one array shared by the resource's spans). */
export interface StoredSpan {
  readonly span: Span;
  readonly resource: readonly Attribute[];
  /** Set by a federated (several-tenant) querier: the tenant the span was written to. */
  readonly tenant?: TenantId;
}

/** One trace as read back: every span the store holds for its id (see {@link TraceQuerier.select}). */
export interface StoredTrace {
  /** Lowercase hex, 32 digits. */
  readonly traceId: string;
  readonly spans: readonly StoredSpan[];
}

/** Where a TraceQL attribute lives. `intrinsic` names TraceQL's intrinsics (`name`, `status`, `kind`, `duration`, ...). */
export type AttributeScope = 'span' | 'resource' | 'event' | 'link' | 'instrumentation' | 'any' | 'intrinsic';

/**
 * A condition on one span that a query engine pushes down as a prefilter. `value` is absent for `exists`
 * (TraceQL's `!= nil`). Regular expressions are RE2, fully anchored, as TraceQL's are.
 */
export interface SpanCondition {
  readonly scope: AttributeScope;
  readonly name: string;
  readonly op: '=' | '!=' | '<' | '<=' | '>' | '>=' | '=~' | '!~' | 'exists';
  readonly value?: AttributeScalar;
}

export interface TraceSelectParams {
  /** Traces with at least one span starting in [startNs, endNs) (Unix nanoseconds). */
  readonly startNs: bigint;
  readonly endNs: bigint;
  /**
   * A prefilter: storage may leave out a trace none of whose spans satisfies the conditions (all of them on one
   * span when `conditionsMatch` is `all`, at least one when `any`). It may return more than that, never fewer;
   * the query engine evaluates the query exactly on what comes back. Absent: every trace in the range.
   */
  readonly conditions?: readonly SpanCondition[];
  readonly conditionsMatch?: 'all' | 'any';
  /**
   * `newest`: a querier whose `newestFirst` is true yields traces by start time, newest first (ties by trace id
   * ascending), so a caller wanting the newest few may stop early. Others ignore it.
   */
  readonly order?: 'newest';
  readonly signal?: AbortSignal;
}

/**
 * A span count by time interval and attribute values, for TraceQL metrics storage can answer without assembling
 * traces (`{ } | rate() by (resource.x)`): every span starting in `(fromNs, toNs]` is counted in interval
 * `(startNs - fromNs - 1) / stepNs` (Tempo's right-closed intervals).
 */
export interface SpanCountParams {
  readonly fromNs: bigint;
  readonly toNs: bigint;
  readonly stepNs: bigint;
  /** The attributes spans are grouped by (the first attribute of that key on the span or its resource). */
  readonly groupBy: readonly { readonly scope: 'span' | 'resource'; readonly name: string }[];
  /**
   * Only spans satisfying every one of these are counted, exactly (not a prefilter). The query engine passes only
   * conditions whose TraceQL meaning storage computes exactly (see traceql's `exactCountConditions`).
   */
  readonly conditions?: readonly SpanCondition[];
  readonly signal?: AbortSignal;
}

/** One group of a span count: its interval, the group-by values (undefined: absent), the count and one span of it. */
export interface SpanCountRow {
  readonly interval: number;
  readonly values: readonly (AttributeValue | undefined)[];
  readonly count: number;
  readonly exemplar: { readonly traceId: string; readonly spanId: string; readonly startNs: bigint };
}

/** A time range for the tag and trace-by-id reads, in Unix nanoseconds; absent means all retained data. */
export interface TraceTimeRange {
  readonly startNs: bigint;
  readonly endNs: bigint;
}

/**
 * Reads traces for a fixed set of tenants.
 *
 * Contract of `select`: it yields arrays of whole traces; each trace id is yielded at most once, holding every
 * span stored for it (a trace whose spans arrived over several requests and landed in several blocks comes back
 * assembled), in no particular order. Not safe for concurrent `select` calls on one querier (open one per query).
 * Call `close` when done.
 */
export interface TraceQuerier {
  /** Whether `select` with `order: 'newest'` yields traces newest first (see {@link TraceSelectParams.order}). */
  readonly newestFirst?: boolean;
  select(params: TraceSelectParams): AsyncIterable<readonly StoredTrace[]>;
  /**
   * Counts spans per interval and group (optional: a querier without it is read through `select`), one per trace
   * id and span id, as `select` keeps them. Undefined when storage cannot count `params.conditions` exactly over the
   * range (an attribute they name holds an array there): the caller reads through `select` instead.
   */
  countSpans?(params: SpanCountParams): Promise<SpanCountRow[] | undefined>;
  /** The trace with this id (lowercase hex), or undefined; `range` narrows where storage looks (Tempo's hints). */
  traceById(traceId: string, range?: TraceTimeRange): Promise<StoredTrace | undefined>;
  /** Attribute names (sorted, distinct) present in `scope` on spans in the range. */
  tagNames(scope: Exclude<AttributeScope, 'any' | 'intrinsic'>, range?: TraceTimeRange): Promise<string[]>;
  /**
   * Distinct values of attribute `name` in `scope` (`any`: span or resource) on spans in the range, typed as
   * stored, at most `limit` of them. With scope `intrinsic`, `name` is one of the free-text intrinsics whose
   * values only storage knows: `name` (span names), `statusMessage`, `trace:rootService`, `trace:rootName`,
   * `event:name`, `instrumentation:name`, `instrumentation:version`; any other intrinsic yields [] (the
   * Tempo API answers the fixed ones, `status` and `kind`, itself, and numeric ones have no value list).
   */
  tagValues(
    scope: AttributeScope,
    name: string,
    range?: TraceTimeRange,
    limit?: number,
  ): Promise<AttributeScalar[]>;
  close(): Promise<void>;
}

export interface TraceQueryable {
  /** A querier over `tenants` (one, or several for a federated `a|b` read). */
  querier(tenants: readonly TenantId[]): Promise<TraceQuerier>;
}

/** Everything the trace engine offers through seams. */
export interface TracesStorage extends Appendable<SpanRecord>, TraceQueryable {}
