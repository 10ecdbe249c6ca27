import type { LabelMatcher, TenantId } from '../../model/index.ts';
import { walk } from '../../promql/ast.ts';
import { parseExpr } from '../../promql/parser.ts';
import type { MetricQueryable } from '../../storage/index.ts';

// TEMPORARY local view of the PromQL engine until src/promql/index.ts exports it.

/** Per-query options the API passes to the engine. */
export interface QueryOptions {
  readonly signal?: AbortSignal;
  readonly timeoutMs?: number;
  readonly lookbackDeltaMs?: number;
}

/** A query value in Prometheus' JSON shape. */
export type QueryValue =
  | { readonly resultType: 'vector' | 'matrix'; readonly result: readonly unknown[] }
  | { readonly resultType: 'scalar' | 'string'; readonly result: unknown };

export interface QueryOutcome {
  readonly value: QueryValue;
  readonly warnings: readonly string[];
  readonly infos: readonly string[];
}

export interface QueryEngine {
  instant(q: MetricQueryable, tenants: readonly TenantId[], query: string, timeMs: number, opts: QueryOptions): Promise<QueryOutcome>;
  range(
    q: MetricQueryable,
    tenants: readonly TenantId[],
    query: string,
    startMs: number,
    endMs: number,
    stepMs: number,
    opts: QueryOptions,
  ): Promise<QueryOutcome>;
}

export function resultJson(value: QueryValue): unknown {
  return value;
}

/** The matchers of every vector selector in a query, as Prometheus' parser.ExtractSelectors. */
export function extractSelectors(query: string): LabelMatcher[][] {
  const sets: LabelMatcher[][] = [];
  walk(parseExpr(query), (node) => {
    if (node.type === 'VectorSelector') sets.push([...node.matchers]);
  });
  return sets;
}

export function formatQuery(query: string): string {
  parseExpr(query);
  return query;
}
