import type { Labels, TenantId } from '../model/index.ts';
import type { LogQueryable } from '../storage/index.ts';
import type { Expr, SampleExpr } from './ast.ts';
import { LogqlError } from './errors.ts';
import { seriesLimitError } from './evaluation-errors.ts';
import { evaluate } from './evaluator.ts';
import { runLogQuery } from './log-query.ts';
import type { ResultStream } from './log-query.ts';
import { parseLogql } from './parser.ts';
import { DEFAULT_PIPELINE_BUDGET } from './pipeline.ts';
import { LogqlBudget } from './query-budget.ts';
import { newStats } from './source.ts';
import type { QueryStats } from './source.ts';
import { stepAt } from './step-series.ts';
import type { StepGrid } from './step-series.ts';

/** Engine settings; every field has Loki's default. */
export interface LogqlEngineOptions {
  /** Loki's `max_entries_limit_per_query`: the largest `limit` a log query may ask for. Default 5000. */
  readonly maxEntriesLimitPerQuery?: number;
  /** Loki's `max_query_series`: series a metric query may return. Default 500. */
  readonly maxQuerySeries?: number;
  /** Series any intermediate result may hold (memory bound). Default 200000. */
  readonly maxIntermediateSeries?: number;
  /** Samples a non-additive metric query keeps in memory (counts and sums are bucketed instead). Default 20 million. */
  readonly maxSamples?: number;
  /** Loki's `query_timeout`. Default 60 s. */
  readonly timeoutMs?: number;
  /** Points per series of a range query (Loki's 11,000). */
  readonly maxPointsPerSeries?: number;
  /** Loki's `max_query_length` (0 = unlimited). Default 30d1h. */
  readonly maxQueryLengthMs?: number;
  /**
   * Loki's `max_line_size`: the largest line a `line_format`, or label value a `label_format`, may produce
   * (a larger one is a `TemplateFormatErr` for that entry). Default 256 KiB.
   */
  readonly maxLineBytes?: number;
}

export interface LogqlQueryParams {
  readonly query: string;
  /** Range start (inclusive for log queries), Unix ns. Ignored for instant queries. */
  readonly startNs: bigint;
  /** Range end (exclusive for log queries); the evaluation time of an instant query. Unix ns. */
  readonly endNs: bigint;
  /** Step of a range metric query in ms; defaults to Loki's (range / 250, at least 1 s). */
  readonly stepMs?: number;
  /** Log queries: at most one entry per stream per interval. */
  readonly intervalMs?: number;
  readonly direction: 'forward' | 'backward';
  readonly limit: number;
  readonly instant?: boolean;
  /** Log queries: Loki's categorize-labels encoding (see `LogQueryParams`). */
  readonly categorizeLabels?: boolean;
  readonly signal?: AbortSignal;
}

/** A metric series of a range query: points at the steps where it has a value. */
export interface MatrixSeries {
  readonly labels: Labels;
  readonly timestampsNs: bigint[];
  readonly values: number[];
}

export interface VectorSample {
  readonly labels: Labels;
  readonly timestampNs: bigint;
  readonly value: number;
}

export type LogqlData =
  | { readonly resultType: 'streams'; readonly streams: ResultStream[] }
  | { readonly resultType: 'matrix'; readonly series: MatrixSeries[] }
  | { readonly resultType: 'vector'; readonly samples: VectorSample[] }
  | { readonly resultType: 'scalar'; readonly timestampNs: bigint; readonly value: number };

/** What a query returns: the data and Loki-style execution statistics. */
export interface LogqlResult {
  readonly data: LogqlData;
  readonly stats: QueryStats & { readonly execTimeSeconds: number };
}

const DEFAULTS = {
  maxEntriesLimitPerQuery: 5000,
  maxQuerySeries: 500,
  maxIntermediateSeries: 200_000,
  maxSamples: 20_000_000,
  timeoutMs: 60_000,
  maxPointsPerSeries: 11_000,
  maxQueryLengthMs: (30 * 24 + 1) * 3600_000,
  maxLineBytes: DEFAULT_PIPELINE_BUDGET.maxLineBytes,
};

/** Loki's default step for a range query: the range over 250 points, at least one second. */
export function defaultStepMs(startNs: bigint, endNs: bigint): number {
  const seconds = Math.floor(Number(endNs - startNs) / 1e9 / 250);
  return Math.max(seconds, 1) * 1000;
}

/**
 * The LogQL engine: parses with the official grammar and evaluates through the `LogQueryable` seam only.
 * Stateless apart from its options; safe to share across concurrent queries.
 */
export class LogqlEngine {
  private readonly opts: Required<LogqlEngineOptions>;

  constructor(opts: LogqlEngineOptions = {}) {
    this.opts = { ...DEFAULTS, ...Object.fromEntries(Object.entries(opts).filter(([, v]) => v !== undefined)) };
  }

  /** Parses without running (for validation endpoints and tests). Throws {@link LogqlError}. */
  parse(query: string): Expr {
    return parseLogql(query);
  }

  /**
   * Runs a query for `tenants` (several for a federated read, adding `__tenant_id__`). Errors are
   * {@link LogqlError}s with Loki's wording; storage failures propagate unchanged.
   */
  async query(queryable: LogQueryable, tenants: readonly TenantId[], params: LogqlQueryParams): Promise<LogqlResult> {
    const started = performance.now();
    const expr = parseLogql(params.query);
    const timeout = AbortSignal.timeout(this.opts.timeoutMs);
    const signal = params.signal ? AbortSignal.any([params.signal, timeout]) : timeout;
    const stats = newStats();
    const budget = new LogqlBudget(this.opts.timeoutMs, params.signal, this.opts.maxLineBytes, this.opts.maxSamples);
    try {
      const data = await this.run(queryable, tenants, expr, params, signal, stats, budget);
      return { data, stats: { ...stats, execTimeSeconds: (performance.now() - started) / 1000 } };
    } catch (err) {
      if (timeout.aborted) throw new LogqlError('timeout', `query timed out after ${this.opts.timeoutMs / 1000}s (logs.query.timeout)`, { cause: err });
      if (params.signal?.aborted) throw new LogqlError('canceled', 'the query was canceled', { cause: err });
      throw err;
    }
  }

  private checkLength(startNs: bigint, endNs: bigint): void {
    const lenMs = Number(endNs - startNs) / 1e6;
    const max = this.opts.maxQueryLengthMs;
    if (max > 0 && lenMs > max) {
      throw new LogqlError('bad_data', `the query time range exceeds the limit (query length: ${formatHours(lenMs)}, limit: ${formatHours(max)})`);
    }
  }

  private async run(
    queryable: LogQueryable,
    tenants: readonly TenantId[],
    expr: Expr,
    p: LogqlQueryParams,
    signal: AbortSignal,
    stats: QueryStats,
    budget: LogqlBudget,
  ): Promise<LogqlData> {
    if (expr.kind === 'logSelector') {
      if (p.instant) {
        throw new LogqlError('bad_data', 'log queries are not supported as an instant query type, please change your query to a range query type');
      }
      if (p.limit > this.opts.maxEntriesLimitPerQuery) {
        throw new LogqlError('bad_data', `max entries limit per query exceeded, limit > max_entries_limit_per_query (${p.limit} > ${this.opts.maxEntriesLimitPerQuery})`);
      }
      this.checkLength(p.startNs, p.endNs);
      const streams = await runLogQuery(queryable, tenants, expr, {
        startNs: p.startNs,
        endNs: p.endNs,
        direction: p.direction,
        limit: p.limit,
        intervalNs: p.intervalMs ? BigInt(Math.round(p.intervalMs * 1e6)) : undefined,
        categorizeLabels: p.categorizeLabels,
        signal,
        budget,
      }, stats);
      return { resultType: 'streams', streams };
    }
    let grid: StepGrid;
    if (p.instant) {
      grid = { startNs: p.endNs, stepNs: 0n, count: 1 };
    } else {
      if (p.endNs < p.startNs) throw new LogqlError('bad_data', 'end timestamp must not be before start time');
      this.checkLength(p.startNs, p.endNs);
      const stepMs = p.stepMs ?? defaultStepMs(p.startNs, p.endNs);
      if (!(stepMs > 0)) throw new LogqlError('bad_data', 'zero or negative query resolution step widths are not accepted. Try a positive integer');
      const stepNs = BigInt(Math.round(stepMs * 1e6));
      const count = Number((p.endNs - p.startNs) / stepNs) + 1;
      if (count > this.opts.maxPointsPerSeries) {
        throw new LogqlError('bad_data', `exceeded maximum resolution of ${this.opts.maxPointsPerSeries.toLocaleString('en-US')} points per timeseries. Try decreasing the query resolution (?step=XX)`);
      }
      grid = { startNs: p.startNs, stepNs, count };
    }
    if (!p.instant && containsApproxTopk(expr)) {
      throw new LogqlError('bad_data', 'parse error : approx_topk is only supported on instant queries');
    }
    const value = await evaluate(
      {
        queryable,
        tenants,
        grid,
        limits: { maxSeries: this.opts.maxIntermediateSeries, maxSamples: this.opts.maxSamples },
        stats,
        signal,
        budget,
      },
      expr,
    );
    if (value.kind === 'scalar') {
      if (p.instant) return { resultType: 'scalar', timestampNs: grid.startNs, value: value.value };
      // A scalar over a range is a matrix of one label-less series (Loki answers so).
      const ts: bigint[] = [];
      const vs: number[] = [];
      for (let i = 0; i < grid.count; i++) {
        ts.push(stepAt(grid, i));
        vs.push(value.value);
      }
      return { resultType: 'matrix', series: [{ labels: {}, timestampsNs: ts, values: vs }] };
    }
    const present = value.series.filter((s) => s.present.some((x) => x === 1));
    if (present.length > this.opts.maxQuerySeries) throw seriesLimitError(this.opts.maxQuerySeries);
    const ordered = keepsOrder(expr) ? present : [...present].sort((a, b) => compareLabelSets(a.labels, b.labels));
    if (p.instant) {
      return {
        resultType: 'vector',
        samples: ordered.map((s) => ({ labels: s.labels, timestampNs: grid.startNs, value: s.values[0]! })), // a present series has a step
      };
    }
    const series: MatrixSeries[] = ordered.map((s) => {
      const ts: bigint[] = [];
      const vs: number[] = [];
      for (let i = 0; i < grid.count; i++) {
        if (!s.present[i]) continue;
        ts.push(stepAt(grid, i));
        vs.push(s.values[i]!); // i < grid.count, the series' length
      }
      return { labels: s.labels, timestampsNs: ts, values: vs };
    });
    stats.entriesReturned += series.reduce((n, s) => n + s.values.length, 0);
    return { resultType: 'matrix', series };
  }
}

function containsApproxTopk(e: SampleExpr): boolean {
  switch (e.kind) {
    case 'vectorAgg':
      return e.op === 'approx_topk' || containsApproxTopk(e.inner);
    case 'binary':
      return containsApproxTopk(e.left) || containsApproxTopk(e.right);
    case 'labelReplace':
      return containsApproxTopk(e.inner);
    default:
      return false;
  }
}

/** Results whose order is meaningful (sort, topk, ...) keep it; the rest are sorted by labels. */
function keepsOrder(e: SampleExpr): boolean {
  if (e.kind === 'vectorAgg') return ['sort', 'sort_desc', 'topk', 'bottomk', 'approx_topk'].includes(e.op);
  if (e.kind === 'binary') return keepsOrder(e.left);
  return false;
}

function compareLabelSets(a: Labels, b: Labels): number {
  const byName = ([x]: [string, string], [y]: [string, string]): number => (x < y ? -1 : x > y ? 1 : 0);
  const ea = Object.entries(a).sort(byName);
  const eb = Object.entries(b).sort(byName);
  for (const [i, [ka, va]] of ea.entries()) {
    const [kb, vb] = eb[i] ?? [];
    if (kb === undefined || vb === undefined) break;
    if (ka !== kb) return ka < kb ? -1 : 1;
    if (va !== vb) return va < vb ? -1 : 1;
  }
  return ea.length - eb.length;
}

function formatHours(ms: number): string {
  const h = Math.floor(ms / 3600_000);
  const m = Math.floor((ms % 3600_000) / 60_000);
  const s = Math.round((ms % 60_000) / 1000);
  return `${h}h${m}m${s}s`;
}
