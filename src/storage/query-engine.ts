import type { TenantId } from '../model/index.ts';
import type { LogQueryable } from './logs.ts';
import type { MetricQueryable } from './metrics.ts';
import type { TraceQueryable } from './traces.ts';

/** Controls every query takes, whatever its language. */
export interface QueryControls {
  /**
   * Aborted when the answer is no longer wanted (the client went away, the server is stopping). The engine
   * stops evaluating and rejects with a `canceled` HeimdallError.
   */
  readonly signal?: AbortSignal;
  /** The query's time budget; capped by the engine's configured timeout. Past it: a `timeout` HeimdallError. */
  readonly timeoutMs?: number;
}

/**
 * JSON text as a string, or as its UTF-8 bytes. Large answers (PromQL matrices) are written as bytes where they
 * are computed and reach the socket as bytes: a query worker transfers them (no copy) and the serving thread
 * never turns megabytes into a string and back (each conversion cost ~4 ms per MB on this class of machine).
 */
export type JsonText = string | Uint8Array;

/** The text of {@link JsonText} (for readers that parse it: rules, tests). */
export function jsonText(json: JsonText): string {
  return typeof json === 'string' ? json : Buffer.from(json.buffer, json.byteOffset, json.byteLength).toString('utf8');
}

/**
 * A query's answer, already in the wire form of the API that asked: `dataJson` is the JSON of the
 * envelope's `data` member (Prometheus' `{resultType,result}`, Loki's `{resultType,result,stats}`).
 * Encoding where the result is (a worker thread) spares the serving thread a second pass over it.
 */
export interface EncodedQueryResult {
  readonly dataJson: JsonText;
  /** Prometheus' warning and info annotations (empty for LogQL). */
  readonly warnings: readonly string[];
  readonly infos: readonly string[];
}

/** A PromQL instant query (Prometheus' `/api/v1/query`). */
export interface PromqlInstantQuery {
  readonly query: string;
  readonly timeMs: number;
  readonly lookbackDeltaMs?: number;
  /** Prometheus 3's `limit`: at most this many series (0 = all), with a truncation warning. */
  readonly limit?: number;
}

/** A PromQL range query (`/api/v1/query_range`); `stepMs` is a positive whole number of milliseconds. */
export interface PromqlRangeQuery {
  readonly query: string;
  readonly startMs: number;
  readonly endMs: number;
  readonly stepMs: number;
  readonly lookbackDeltaMs?: number;
  readonly limit?: number;
}

/** A LogQL instant query (Loki's `/loki/api/v1/query`): a metric query evaluated at `timeNs`. */
export interface LogqlInstantQuery {
  readonly query: string;
  readonly timeNs: bigint;
  readonly direction: 'forward' | 'backward';
  readonly limit: number;
  /** Loki's `categorize-labels` response encoding. */
  readonly categorizeLabels?: boolean;
}

/** A LogQL range query (`/loki/api/v1/query_range`): a log query, or a metric query every `stepMs`. */
export interface LogqlRangeQuery {
  readonly query: string;
  readonly startNs: bigint;
  readonly endNs: bigint;
  readonly stepMs?: number;
  readonly intervalMs?: number;
  readonly direction: 'forward' | 'backward';
  readonly limit: number;
  readonly categorizeLabels?: boolean;
}

/**
 * The query-execution seam (ARCHITECTURE.md §3): what the query APIs and the ruler call instead of a concrete
 * language engine. The engine owns parsing, limits, budgets and timeouts; implementations may evaluate in
 * the calling thread or elsewhere (a worker pool) and may queue a query behind others of its tenant.
 *
 * Contract: every read goes through `queryable` for exactly `tenants` (several for a federated `a|b` read).
 * Failures reject with a HeimdallError whose kind decides the answer: `bad_data` (parse or validation),
 * `execution` (a limit was exceeded, the message names it), `timeout`, `canceled`, `rate_limited` or
 * `unavailable` (retryable: the tenant's queue is full or the query waited too long in it; `retryAfterSeconds`
 * is set), `internal`. Safe for concurrent use.
 */
export interface QueryEngine<Q, Instant, Range> {
  instant(queryable: Q, tenants: readonly TenantId[], query: Instant, controls?: QueryControls): Promise<EncodedQueryResult>;
  range(queryable: Q, tenants: readonly TenantId[], query: Range, controls?: QueryControls): Promise<EncodedQueryResult>;
}

/** PromQL over metrics. */
export type MetricQueryEngine = QueryEngine<MetricQueryable, PromqlInstantQuery, PromqlRangeQuery>;

/** LogQL over logs. */
export type LogQueryEngine = QueryEngine<LogQueryable, LogqlInstantQuery, LogqlRangeQuery>;

/**
 * A TraceQL search (Tempo's `/api/search`): the newest `limit` matching traces (by start time, ties by id, so the
 * answer is deterministic), each with at most `spansPerSpanSet` spans per spanset (Tempo's `spss`).
 */
export interface TraceqlSearchQuery {
  readonly query: string;
  readonly startNs: bigint;
  readonly endNs: bigint;
  readonly limit: number;
  readonly spansPerSpanSet: number;
}

/** A TraceQL metrics query over a range (`/api/metrics/query_range`), one point every `stepNs`. */
export interface TraceqlMetricsRangeQuery {
  readonly query: string;
  readonly startNs: bigint;
  readonly endNs: bigint;
  readonly stepNs: bigint;
  /** At most this many exemplars per series (Tempo's `exemplars`). */
  readonly exemplars?: number;
}

/** A TraceQL metrics query answered with one value per series for the whole range (`/api/metrics/query`). */
export interface TraceqlMetricsInstantQuery {
  readonly query: string;
  readonly startNs: bigint;
  readonly endNs: bigint;
}

/**
 * TraceQL over traces: metrics queries as `instant`/`range`, searches as `search`. `dataJson` is the whole
 * Tempo response body (Tempo has no envelope), in Tempo's JSON shape (uint64 as strings).
 */
export interface TraceQueryEngine
  extends QueryEngine<TraceQueryable, TraceqlMetricsInstantQuery, TraceqlMetricsRangeQuery> {
  search(
    queryable: TraceQueryable,
    tenants: readonly TenantId[],
    query: TraceqlSearchQuery,
    controls?: QueryControls,
  ): Promise<EncodedQueryResult>;
}
