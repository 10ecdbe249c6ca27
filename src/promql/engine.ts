import { QueryLimitError } from '../storage/index.ts';
import type { MetricQuerier, MetricQueryable, SeriesData } from '../storage/index.ts';
import { METRIC_NAME_LABEL, compareLabels, compareLabelsWithNames, isHeimdallError, isStaleNaN, sortedLabelNames } from '../model/index.ts';
import type { HeimdallError, Labels, NativeHistogram, TenantId } from '../model/index.ts';
import { documentedType, exprType, unwrapParens, walk } from './ast.ts';
import type { AtModifier, Call, DurationExpr, Expr, SubqueryExpr, VectorSelector } from './ast.ts';
import { makeSteps } from './env.ts';
import { PromqlError } from './errors.ts';
import { Evaluator, infoNameMatchers, infoReference } from './evaluator.ts';
import type { EvaluatorOptions, LoadedSeries } from './evaluator.ts';
import { mergeStepSeries } from './functions.ts';
import {
  COUNTER_RESET,
  FloatHistogram,
  GAUGE_TYPE,
  NOT_COUNTER_RESET,
  UNKNOWN_COUNTER_RESET,
  customBoundsMatch,
} from './histogram.ts';
import { parseExpr } from './parser.ts';
import { estimateResultBytes } from './result-size.ts';
import { ABSENT, FLOAT, HIST, NO_HISTOGRAMS, NO_SAMPLES, dropMetricName, keyOf, recycleStepSlabs } from './value.ts';
import type { EvalValue, StepSeries } from './value.ts';

/** Engine-wide settings; each can be overridden per query where noted. */
export interface PromqlEngineOptions {
  /** How far back an instant selector looks for a sample (Prometheus' lookback delta). Default 5m. */
  readonly lookbackDeltaMs?: number;
  /** Most samples a query may hold in memory at once (Prometheus' `--query.max-samples`). Default 50M. */
  readonly maxSamples?: number;
  /** Query timeout. Default 2m. */
  readonly timeoutMs?: number;
  /** Step of subqueries written without one (`[1h:]`). Default 1m (Prometheus' evaluation interval). */
  readonly defaultSubqueryStepMs?: number;
  /**
   * Most raw samples a query may read from storage (the engine holds the selected series in memory while
   * evaluating). Default: `maxSamples`. Exceeding it fails like Prometheus' too-many-samples error.
   */
  readonly maxLoadedSamples?: number;
  /**
   * Prometheus' `promql-delayed-name-removal` feature: keep `__name__` until the end of evaluation. Off by
   * default, as in Prometheus 3: range-vector functions, unary minus and arithmetic drop the name at once,
   * so series that collide then (`sum(rate({__name__=~"a|b"}[1m]))`) fail with "vector cannot contain
   * metrics with the same labelset". The upstream PromQL test suite runs with it on.
   */
  readonly delayedNameRemoval?: boolean;
  /**
   * Bytes a query may produce: label values built by label_join, label_replace and count_values, and the
   * estimated size of the result the API writes. Default 256 MiB (`metrics.query.max_result_bytes`).
   */
  readonly maxResultBytes?: number;
}

/** Per-query options. */
export interface PromqlQueryOptions {
  readonly signal?: AbortSignal;
  readonly timeoutMs?: number;
  readonly lookbackDeltaMs?: number;
}

/** One sample of an instant vector result. */
export interface InstantSample {
  readonly labels: Labels;
  readonly timestampMs: number;
  /** Set for float samples. */
  readonly value?: number;
  /** Set for native histogram samples. */
  readonly histogram?: NativeHistogram;
}

/** One series of a range vector (matrix) result, columnar. */
export interface RangeSeries {
  readonly labels: Labels;
  readonly timestampsMs: Float64Array;
  readonly values: Float64Array;
  readonly histogramTimestampsMs?: Float64Array;
  readonly histograms?: readonly NativeHistogram[];
}

/** A query result value, tagged by Prometheus' result type. */
export type PromValue =
  | { readonly type: 'vector'; readonly samples: readonly InstantSample[] }
  | { readonly type: 'matrix'; readonly series: readonly RangeSeries[] }
  | { readonly type: 'scalar'; readonly timestampMs: number; readonly value: number }
  | { readonly type: 'string'; readonly timestampMs: number; readonly value: string };

/** What a query returns: the value plus Prometheus' warning and info annotations. */
export interface QueryResult {
  readonly value: PromValue;
  readonly warnings: string[];
  readonly infos: string[];
}

const DEFAULT_LOOKBACK_MS = 5 * 60_000;
const DEFAULT_MAX_SAMPLES = 50_000_000;
const DEFAULT_TIMEOUT_MS = 2 * 60_000;
const DEFAULT_MAX_RESULT_BYTES = 256 * 1024 * 1024;
/** Prometheus refuses range queries with more points per series than this. */
const MAX_POINTS_PER_SERIES = 11_000;

/**
 * The PromQL engine: parses with Prometheus' lezer grammar, reads through the `MetricQueryable` seam and
 * evaluates columnar. Stateless between queries and safe to share; every query opens and closes its own
 * querier for the tenants given.
 */
export class PromqlEngine {
  private readonly lookbackMs: number;
  private readonly maxSamples: number;
  private readonly timeoutMs: number;
  private readonly subqueryStepMs: number;
  private readonly maxLoadedSamples: number;
  private readonly delayedNameRemoval: boolean;
  private readonly maxResultBytes: number;

  constructor(opts: PromqlEngineOptions = {}) {
    this.lookbackMs = opts.lookbackDeltaMs && opts.lookbackDeltaMs > 0 ? opts.lookbackDeltaMs : DEFAULT_LOOKBACK_MS;
    this.maxSamples = opts.maxSamples && opts.maxSamples > 0 ? opts.maxSamples : DEFAULT_MAX_SAMPLES;
    this.timeoutMs = opts.timeoutMs && opts.timeoutMs > 0 ? opts.timeoutMs : DEFAULT_TIMEOUT_MS;
    this.subqueryStepMs = opts.defaultSubqueryStepMs && opts.defaultSubqueryStepMs > 0 ? opts.defaultSubqueryStepMs : 60_000;
    this.maxLoadedSamples = opts.maxLoadedSamples && opts.maxLoadedSamples > 0 ? opts.maxLoadedSamples : this.maxSamples;
    this.delayedNameRemoval = opts.delayedNameRemoval ?? false;
    this.maxResultBytes = opts.maxResultBytes && opts.maxResultBytes > 0 ? opts.maxResultBytes : DEFAULT_MAX_RESULT_BYTES;
  }

  /** Evaluates `query` at one instant. Throws PromqlError. */
  async instant(
    queryable: MetricQueryable,
    tenants: readonly TenantId[],
    query: string,
    timeMs: number,
    opts: PromqlQueryOptions = {},
  ): Promise<QueryResult> {
    const expr = parseExpr(query);
    return this.exec(queryable, tenants, query, expr, timeMs, timeMs, 0, opts);
  }

  /** Evaluates `query` from `startMs` to `endMs` (inclusive) every `stepMs`. Throws PromqlError. */
  async range(
    queryable: MetricQueryable,
    tenants: readonly TenantId[],
    query: string,
    startMs: number,
    endMs: number,
    stepMs: number,
    opts: PromqlQueryOptions = {},
  ): Promise<QueryResult> {
    const expr = parseExpr(query);
    const t = exprType(expr);
    if (t !== 'vector' && t !== 'scalar') {
      throw new PromqlError(
        'bad_data',
        `invalid expression type "${documentedType(t)}" for range query, must be Scalar or instant Vector`,
      );
    }
    if (!(stepMs > 0)) throw new PromqlError('bad_data', 'zero or negative query resolution step widths are not accepted. Try a positive integer');
    if (endMs < startMs) throw new PromqlError('bad_data', 'end timestamp must not be before start time');
    if ((endMs - startMs) / stepMs > MAX_POINTS_PER_SERIES) {
      throw new PromqlError('bad_data', 'exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the query resolution (?step=XX)');
    }
    return this.exec(queryable, tenants, query, expr, startMs, endMs, stepMs, opts);
  }

  private async exec(
    queryable: MetricQueryable,
    tenants: readonly TenantId[],
    query: string,
    expr: Expr,
    startMs: number,
    endMs: number,
    stepMs: number,
    opts: PromqlQueryOptions,
  ): Promise<QueryResult> {
    const timeoutMs = opts.timeoutMs && opts.timeoutMs > 0 ? opts.timeoutMs : this.timeoutMs;
    const lookbackMs = opts.lookbackDeltaMs && opts.lookbackDeltaMs > 0 ? opts.lookbackDeltaMs : this.lookbackMs;
    const started = Date.now();
    const evalOpts: EvaluatorOptions = {
      lookbackMs,
      maxSamples: this.maxSamples,
      deadline: started + timeoutMs,
      timeoutMs,
      maxResultBytes: this.maxResultBytes,
      ...(opts.signal ? { signal: opts.signal } : {}),
      defaultSubqueryStepMs: this.subqueryStepMs,
      queryStartMs: startMs,
      queryEndMs: endMs,
      queryStepMs: stepMs,
      isRangeQuery: stepMs > 0,
      delayedNameRemoval: this.delayedNameRemoval,
    };
    const durations = new DurationResolver(evalOpts);
    const infoSelectors = new Map<Call, VectorSelector>();
    const selectors = selectorRanges(expr, startMs, endMs, lookbackMs, durations, this.subqueryStepMs, infoSelectors);
    const data = new Map<VectorSelector, LoadedSeries[]>();
    if (selectors.length > 0) {
      let mint = Infinity;
      let maxt = -Infinity;
      for (const s of selectors) {
        mint = Math.min(mint, s.startMs);
        maxt = Math.max(maxt, s.endMs);
      }
      await this.load(queryable, tenants, expr, selectors, mint, maxt, data, evalOpts);
    }
    const ev = new Evaluator(evalOpts, data, infoSelectors);
    const steps = stepMs > 0 ? makeSteps(startMs, endMs, stepMs) : makeSteps(startMs, startMs, 1);
    let result: PromValue;
    try {
      let value: EvalValue;
      try {
        value = ev.eval(expr, steps);
      } catch (err) {
        throw toPromqlError(err);
      }
      result = stepMs > 0 ? finishRange(value, steps) : finishInstant(value, startMs);
    } finally {
      // The result holds copies of its values, and evaluation and finishing run without a pause another
      // query could use: no step series of this evaluation is read again, so their slabs can be reused.
      recycleStepSlabs();
    }
    if (estimateResultBytes(result) > this.maxResultBytes) {
      throw new PromqlError(
        'execution',
        `the query result would be larger than ${this.maxResultBytes} bytes (metrics.query.max_result_bytes); select fewer series or a coarser step`,
      );
    }
    const { warnings, infos } = ev.annos.format(query);
    return { value: result, warnings, infos };
  }

  private async load(
    queryable: MetricQueryable,
    tenants: readonly TenantId[],
    expr: Expr,
    selectors: SelectorRange[],
    mint: number,
    maxt: number,
    data: Map<VectorSelector, LoadedSeries[]>,
    opts: EvaluatorOptions,
  ): Promise<void> {
    let querier: MetricQuerier;
    try {
      querier = await queryable.querier(tenants, { startMs: mint, endMs: maxt });
    } catch (err) {
      throw toPromqlError(err);
    }
    const timer = new AbortController();
    const timeout = setTimeout(() => timer.abort(), Math.max(0, opts.deadline - Date.now()));
    const signal = opts.signal ? AbortSignal.any([opts.signal, timer.signal]) : timer.signal;
    try {
      const stats = statsSelectors(expr);
      const budget = { left: this.maxLoadedSamples };
      // Identical matchers share one select.
      const byKey = new Map<string, Promise<LoadedSeries[]>>();
      for (const sel of selectors) {
        const key = JSON.stringify(sel.vs.matchers.map((m) => [m.name, m.op, m.value]).sort());
        let p = byKey.get(key);
        if (!p) {
          p = this.selectAll(querier, sel.vs, signal, opts, budget);
          byKey.set(key, p);
          // Sequential: a querier is not safe for concurrent selects.
          await p;
        }
        const loaded = await p;
        data.set(sel.vs, stats.has(sel.vs) ? loaded.map(withStatsHints) : loaded);
      }
    } catch (err) {
      if (opts.signal?.aborted) throw new PromqlError('canceled', 'query was canceled in query preparation');
      if (timer.signal.aborted) throw new PromqlError('timeout', 'query timed out in query preparation');
      throw toPromqlError(err);
    } finally {
      clearTimeout(timeout);
      await querier.close();
    }
  }

  private async selectAll(
    querier: MetricQuerier,
    vs: VectorSelector,
    signal: AbortSignal,
    opts: EvaluatorOptions,
    budget: { left: number },
  ): Promise<LoadedSeries[]> {
    const out: LoadedSeries[] = [];
    for await (const batch of querier.select(vs.matchers, { signal })) {
      if (signal.aborted) {
        if (opts.signal?.aborted) throw new PromqlError('canceled', 'query was canceled in query preparation');
        throw new PromqlError('timeout', 'query timed out in query preparation');
      }
      for (const s of batch) {
        budget.left -= s.timestampsMs.length + (s.histogramTimestampsMs?.length ?? 0);
        if (budget.left < 0) {
          throw new PromqlError('execution', 'query processing would load too many samples into memory in query preparation');
        }
        out.push(toLoaded(s));
      }
    }
    return out;
  }
}

function toLoaded(s: SeriesData): LoadedSeries {
  if (!s.histograms || s.histograms.length === 0) {
    return { labels: s.labels, ft: s.timestampsMs, fv: s.values, ht: s.histogramTimestampsMs ?? NO_SAMPLES, hv: NO_HISTOGRAMS };
  }
  const hv = s.histograms.map((h) => FloatHistogram.fromModel(h));
  deriveCounterResetHints(hv);
  return { labels: s.labels, ft: s.timestampsMs, fv: s.values, ht: s.histogramTimestampsMs ?? NO_SAMPLES, hv };
}

/**
 * Sets the counter reset hints Prometheus' chunk storage reports on read: a histogram that continues a
 * counter chunk reads as "not a reset", one that starts a new chunk because of a reset reads as "reset",
 * one that starts a chunk for another reason (schema or zero threshold change) as "unknown"; gauge
 * histograms stay gauges. Our storage keeps hints as written, so the engine derives them the same way.
 */
function deriveCounterResetHints(hv: FloatHistogram[]): void {
  let prev: FloatHistogram | undefined;
  for (let i = 0; i < hv.length; i++) {
    const h = hv[i]!;
    if (Number.isNaN(h.sum) && isStaleNaN(h.sum)) {
      prev = undefined;
      continue;
    }
    if (h.counterResetHint === GAUGE_TYPE) {
      prev = h;
      continue;
    }
    if (!prev || prev.counterResetHint === GAUGE_TYPE) {
      if (h.counterResetHint !== COUNTER_RESET) h.counterResetHint = UNKNOWN_COUNTER_RESET;
    } else if (h.counterResetHint !== COUNTER_RESET) {
      h.counterResetHint = chunkContinuation(prev, h);
    }
    prev = h;
  }
}

/**
 * The hint of `h` appended after `prev` in a counter chunk (Prometheus' `appendable` checks). A detected
 * reset starts a new chunk whose first histogram reads back as "unknown" (prometheus/prometheus#15346).
 */
function chunkContinuation(prev: FloatHistogram, h: FloatHistogram): number {
  if (h.count < prev.count) return UNKNOWN_COUNTER_RESET;
  if (h.schema !== prev.schema || h.zeroThreshold !== prev.zeroThreshold) return UNKNOWN_COUNTER_RESET;
  if (h.usesCustomBuckets && !customBoundsMatch(h.customValues, prev.customValues)) return UNKNOWN_COUNTER_RESET;
  if (h.zeroCount < prev.zeroCount) return UNKNOWN_COUNTER_RESET;
  const decreased = (ps: readonly { offset: number; length: number }[], pb: readonly number[], cs: readonly { offset: number; length: number }[], cb: readonly number[]): boolean => {
    const cur = new Map<number, number>();
    let i = 0;
    let b = 0;
    for (const sp of cs) {
      i += sp.offset;
      for (let k = 0; k < sp.length; k++) cur.set(i++, cb[b++]!);
    }
    i = 0;
    b = 0;
    for (const sp of ps) {
      i += sp.offset;
      for (let k = 0; k < sp.length; k++) {
        const c = cur.get(i++);
        const p = pb[b++]!;
        if ((c === undefined && p > 0) || (c !== undefined && c < p)) return true;
      }
    }
    return false;
  };
  if (decreased(prev.positiveSpans, prev.positiveBuckets, h.positiveSpans, h.positiveBuckets)) return UNKNOWN_COUNTER_RESET;
  if (decreased(prev.negativeSpans, prev.negativeBuckets, h.negativeSpans, h.negativeBuckets)) return UNKNOWN_COUNTER_RESET;
  return NOT_COUNTER_RESET;
}

/**
 * Prometheus reads histograms under `histogram_count/sum/avg` through its HistogramStatsIterator, which
 * resolves "unknown" hints against the previous histogram (reset or not reset). Returns a copy of the series
 * with those hints.
 */
function withStatsHints(s: LoadedSeries): LoadedSeries {
  if (s.hv.length === 0) return s;
  const hv: FloatHistogram[] = [];
  let prev: FloatHistogram | undefined;
  for (const orig of s.hv) {
    const h = orig.copy();
    if (Number.isNaN(h.sum) && isStaleNaN(h.sum)) {
      hv.push(h);
      prev = undefined;
      continue;
    }
    if (h.counterResetHint === UNKNOWN_COUNTER_RESET && prev) {
      h.counterResetHint = h.detectReset(prev) ? COUNTER_RESET : NOT_COUNTER_RESET;
    }
    hv.push(h);
    prev = orig;
  }
  return { labels: s.labels, ft: s.ft, fv: s.fv, ht: s.ht, hv };
}

/** Selectors whose histograms Prometheus decodes with the stats iterator (its `detectHistogramStatsDecoding`). */
function statsSelectors(expr: Expr): Set<VectorSelector> {
  const out = new Set<VectorSelector>();
  walk(expr, (node, path) => {
    if (node.type !== 'VectorSelector') return;
    let skip = false;
    for (let i = path.length - 1; i >= 0; i--) {
      const p = path[i]!;
      if (p.type === 'SubqueryExpr') {
        skip = false;
        break;
      }
      if (p.type !== 'Call') continue;
      const name = p.func.name;
      if (name === 'histogram_count' || name === 'histogram_sum' || name === 'histogram_avg') skip = true;
      else if (name === 'histogram_quantile' || name === 'histogram_fraction') {
        skip = false;
        break;
      }
    }
    if (skip) out.add(node);
  });
  return out;
}

/** Errors of the vocabulary keep their kind (a retryable storage error stays retryable); the rest are internal. */
function toPromqlError(err: unknown): HeimdallError {
  if (err instanceof PromqlError) return err;
  if (err instanceof QueryLimitError) return new PromqlError('execution', err.message, { cause: err });
  if (isHeimdallError(err)) return err;
  const msg = err instanceof Error ? err.message : String(err);
  return new PromqlError('internal', msg, { cause: err });
}

class DurationResolver {
  private readonly ev: Evaluator;
  constructor(opts: EvaluatorOptions) {
    this.ev = new Evaluator(opts, new Map());
  }
  ms(d: DurationExpr | undefined): number {
    return this.ev.dur(d);
  }
  at(vs: VectorSelector | SubqueryExpr): number | undefined {
    return this.ev.atTime(vs.at);
  }
  atTime(a: AtModifier | undefined): number | undefined {
    return this.ev.atTime(a);
  }
}

interface SelectorRange {
  readonly vs: VectorSelector;
  readonly startMs: number;
  readonly endMs: number;
}

/** The time range each selector reads, accounting for offsets, `@`, ranges and enclosing subqueries. */
function selectorRanges(
  expr: Expr,
  startMs: number,
  endMs: number,
  lookbackMs: number,
  d: DurationResolver,
  defaultStepMs: number,
  infoSelectors?: Map<Call, VectorSelector>,
): SelectorRange[] {
  const out: SelectorRange[] = [];
  const visit = (e: Expr, start: number, end: number, rangeMs: number): void => {
    switch (e.type) {
      case 'VectorSelector': {
        const at = d.at(e);
        let s = at ?? start;
        let t = at ?? end;
        const off = d.ms(e.offset);
        s -= off;
        t -= off;
        s -= rangeMs > 0 ? rangeMs : lookbackMs;
        if (rangeMs > 0 && (e.anchored || e.smoothed)) s -= lookbackMs;
        if (e.smoothed) t += lookbackMs;
        out.push({ vs: e, startMs: s, endMs: t });
        return;
      }
      case 'MatrixSelector':
        visit(e.vs, start, end, d.ms(e.range));
        return;
      case 'SubqueryExpr': {
        const at = d.at(e);
        const off = d.ms(e.offset);
        const range = d.ms(e.range);
        const step = e.step ? d.ms(e.step) : defaultStepMs;
        const s = (at ?? start) - off - range - Math.max(step, 0);
        const t = (at ?? end) - off;
        visit(e.expr, s, t, 0);
        return;
      }
      case 'ParenExpr':
      case 'UnaryExpr':
        visit(e.expr, start, end, 0);
        return;
      case 'Call':
        for (const a of e.args) visit(a, start, end, 0);
        if (e.func.name === 'info') {
          const vs = infoSelector(e);
          infoSelectors?.set(e, vs);
          const ref = infoReference(e.args[0]!, (x) => d.ms(x), (a) => d.atTime(a));
          const s0 = (ref.at ?? start) - ref.offsetMs - lookbackMs;
          const t0 = (ref.at ?? end) - ref.offsetMs;
          out.push({ vs, startMs: s0, endMs: t0 });
        }
        return;
      case 'AggregateExpr':
        if (e.param) visit(e.param, start, end, 0);
        visit(e.expr, start, end, 0);
        return;
      case 'BinaryExpr':
        visit(e.lhs, start, end, 0);
        visit(e.rhs, start, end, 0);
        return;
      default:
        return;
    }
  };
  visit(expr, startMs, endMs, 0);
  return out;
}

/**
 * The candidate info series of an `info()` call: its selector's matchers (default `target_info`). The
 * evaluator narrows them to the identifying labels of the base series.
 */
function infoSelector(e: Call): VectorSelector {
  const arg = e.args[1] ? unwrapParens(e.args[1]) : undefined;
  const given = arg && arg.type === 'VectorSelector' ? arg.matchers : [];
  const matchers = [...infoNameMatchers(given), ...given.filter((m) => m.name !== METRIC_NAME_LABEL)];
  return { type: 'VectorSelector', matchers, pos: e.pos };
}

function finishInstant(value: EvalValue, t: number): PromValue {
  switch (value.kind) {
    case 'scalar':
      return { type: 'scalar', timestampMs: t, value: value.vals[0]! };
    case 'string':
      return { type: 'string', timestampMs: t, value: value.value };
    case 'matrix': {
      const series = value.series
        .map((s) => {
          const r: RangeSeries = {
            labels: s.dropName ? dropMetricName(s.labels) : s.labels,
            timestampsMs: Float64Array.from(s.ft),
            values: Float64Array.from(s.fv),
          };
          return s.ht.length > 0
            ? { ...r, histogramTimestampsMs: Float64Array.from(s.ht), histograms: s.hv.map((h) => h.toModel()) }
            : r;
        })
        .sort((a, b) => compareLabels(a.labels, b.labels));
      return { type: 'matrix', series };
    }
    case 'vector': {
      const samples: InstantSample[] = [];
      const seen = new Set<string>();
      for (const s of value.series) {
        const p = s.pres[0]!;
        if (p === ABSENT) continue;
        const labels = s.dropName ? dropMetricName(s.labels) : s.labels;
        const key = keyOf(labels);
        if (seen.has(key)) {
          throw new PromqlError('execution', 'vector cannot contain metrics with the same labelset');
        }
        seen.add(key);
        samples.push(
          p === FLOAT ? { labels, timestampMs: t, value: s.vals[0]! } : { labels, timestampMs: t, histogram: s.hists![0]!.toModel() },
        );
      }
      return { type: 'vector', samples };
    }
  }
}

function finishRange(value: EvalValue, steps: ReturnType<typeof makeSteps>): PromValue {
  let series: StepSeries[];
  if (value.kind === 'scalar') {
    series = [{ labels: {}, dropName: false, vals: value.vals, pres: new Uint8Array(steps.n).fill(FLOAT), hists: undefined }];
  } else if (value.kind === 'vector') {
    try {
      series = sortedAndMerged(value.series, steps.n);
    } catch (err) {
      throw toPromqlError(err);
    }
  } else {
    throw new PromqlError('bad_data', `invalid expression type "${value.kind}" for range query, must be Scalar or instant Vector`);
  }
  // Present steps are counted first so every series' times and values are views into two arrays: one
  // allocation for the result instead of two ArrayBuffers per series. Only the steps from a series' first
  // to its last present one are walked (found natively), which for a short-lived series is a few.
  const lo = new Int32Array(series.length);
  const hi = new Int32Array(series.length);
  const nfs = new Int32Array(series.length);
  let totalF = 0;
  for (let i = 0; i < series.length; i++) {
    const pres = series[i]!.pres;
    const f0 = pres.indexOf(FLOAT);
    const h0 = pres.indexOf(HIST);
    const first = f0 < 0 ? h0 : h0 < 0 ? f0 : Math.min(f0, h0);
    if (first < 0) {
      lo[i] = hi[i] = -1;
      continue;
    }
    const last = Math.max(pres.lastIndexOf(FLOAT), pres.lastIndexOf(HIST));
    lo[i] = first;
    hi[i] = last;
    let nf = 0;
    for (let k = first; k <= last; k++) if (pres[k] === FLOAT) nf++;
    nfs[i] = nf;
    totalF += nf;
  }
  const allTs = new Float64Array(totalF);
  const allVs = new Float64Array(totalF);
  let at = 0;
  const out: RangeSeries[] = [];
  for (let i = 0; i < series.length; i++) {
    if (lo[i]! < 0) continue;
    const s = series[i]!;
    const nf = nfs[i]!;
    const ts = allTs.subarray(at, at + nf);
    const vs = allVs.subarray(at, at + nf);
    at += nf;
    const hts: number[] = [];
    const hs: NativeHistogram[] = [];
    let j = 0;
    for (let k = lo[i]!; k <= hi[i]!; k++) {
      const p = s.pres[k];
      if (p === FLOAT) {
        ts[j] = steps.start + k * steps.interval;
        vs[j] = s.vals[k]!;
        j++;
      } else if (p === HIST) {
        hts.push(steps.start + k * steps.interval);
        hs.push(s.hists![k]!.toModel());
      }
    }
    out.push(
      hs.length > 0
        ? { labels: s.labels, timestampsMs: ts, values: vs, histogramTimestampsMs: Float64Array.from(hts), histograms: hs }
        : { labels: s.labels, timestampsMs: ts, values: vs },
    );
  }
  return { type: 'matrix', series: out };
}

/**
 * A range result's series without the names they drop, in label order, those left with one label set
 * merged (`dropNamesAndMerge`, then the result's sort). Sorted first, so equal label sets are neighbours and
 * need no key per series; each set's names are sorted once, not per comparison; input that is already in
 * order (a selector's series keep the storage's label order through most functions) is not sorted again.
 */
function sortedAndMerged(input: StepSeries[], n: number): StepSeries[] {
  const series = input.map((s) => (s.dropName ? { labels: dropMetricName(s.labels), dropName: false, vals: s.vals, pres: s.pres, hists: s.hists } : s));
  const names = series.map((s) => sortedLabelNames(s.labels));
  const cmp = (i: number, j: number): number => compareLabelsWithNames(series[i]!.labels, names[i]!, series[j]!.labels, names[j]!);
  let order: number[] | undefined;
  for (let i = 1; i < series.length; i++) {
    if (cmp(i - 1, i) > 0) {
      // A stable sort: of equal label sets the first keeps its labels, as in mergeSameLabels.
      order = series.map((_, j) => j).sort(cmp);
      break;
    }
  }
  const out: StepSeries[] = [];
  let prev = -1;
  for (let x = 0; x < series.length; x++) {
    const i = order ? order[x]! : x;
    if (prev >= 0 && cmp(prev, i) === 0) out[out.length - 1] = mergeStepSeries(out[out.length - 1]!, series[i]!, n);
    else out.push(series[i]!);
    prev = i;
  }
  return out;
}
