import { METRIC_NAME_LABEL, compileMatcher, isStaleNaN } from '../model/index.ts';
import type { LabelMatcher, Labels } from '../model/index.ts';
import { QueryDeadline } from '../storage/index.ts';
import { Grouper, IGNORED_HIST, KHeaps, ValueAggregation, aggregate, checkKParam, isValueAggregation } from './aggregations.ts';
import type { StringParam } from './aggregations.ts';
import { Annotations } from './annotations.ts';
import { exprType, unwrapParens } from './ast.ts';
import type {
  AggregateExpr,
  AtModifier,
  BinaryExpr,
  Call,
  DurationExpr,
  Expr,
  MatrixSelector,
  PosRange,
  SubqueryExpr,
  VectorSelector,
} from './ast.ts';
import { scalarBinop, vectorBinop, vectorScalarBinop } from './binary.ts';
import { makeSteps } from './env.ts';
import type { EvalEnv, Steps } from './env.ts';
import { PromqlError, execError } from './errors.ts';
import { ANCHORED_SAFE_FUNCTIONS, SMOOTHED_SAFE_FUNCTIONS } from './function-defs.ts';
import {
  absentLabels,
  dateFunction,
  dropNamesAndMerge,
  histogramQuantileOrFraction,
  histogramVariance,
  isDateFunction,
  isSimpleFunction,
  labelJoin,
  labelReplace,
  mapFloats,
  mapHistograms,
  simpleFunction,
  sortSeries,
} from './functions.ts';
import { COUNTER_RESET, NOT_COUNTER_RESET, UNKNOWN_COUNTER_RESET } from './histogram.ts';
import type { FloatHistogram } from './histogram.ts';
import {
  type ExtendedHistogramIssue,
  anchoredFirstIndex,
  extendFloats,
  extendedHistogramRate,
  extendedRate,
  smoothedHistogram,
  smoothedValue,
} from './extended-range.ts';
import { RANGE_FUNCTIONS, RangeFunctionError } from './range-functions.ts';
import type { RangeFnContext, RangeOut, RangeWindow } from './range-functions.ts';
import { ABSENT, FLOAT, HIST, NO_HISTOGRAMS, NO_SAMPLES, dropMetricName, keyOf, newStepSeries, setHist } from './value.ts';

/** Labels that identify the target an info metric describes. */
const IDENTIFYING_LABELS = ['instance', 'job'] as const;
import type { EvalValue, RawSeries, StepSeries } from './value.ts';

/** One selected series as loaded from storage: floats (stale markers included) and histograms. */
export interface LoadedSeries {
  readonly labels: Labels;
  readonly ft: Float64Array;
  readonly fv: Float64Array;
  readonly ht: Float64Array;
  readonly hv: readonly FloatHistogram[];
  /** Lazily computed copy without stale markers, for range windows. */
  clean?: RawSeries;
}

/** Options of one query evaluation. */
export interface EvaluatorOptions {
  readonly lookbackMs: number;
  readonly maxSamples: number;
  /** Absolute time (Date.now()) after which the query fails with a timeout. */
  readonly deadline: number;
  readonly timeoutMs: number;
  readonly signal?: AbortSignal;
  /** Bytes of label values the query may produce (label_join, label_replace, count_values). */
  readonly maxResultBytes: number;
  /** Step of subqueries written without one (`[1h:]`). */
  readonly defaultSubqueryStepMs: number;
  readonly queryStartMs: number;
  readonly queryEndMs: number;
  readonly queryStepMs: number;
  readonly isRangeQuery: boolean;
  /** See `PromqlEngineOptions.delayedNameRemoval`. */
  readonly delayedNameRemoval: boolean;
}

/**
 * Evaluates a parsed, preloaded expression over a step grid, columnar: every instant-vector node yields
 * all its series for all steps at once as typed arrays.
 */
export class Evaluator implements EvalEnv {
  readonly annos = new Annotations();
  private samples = 0;
  private labelBytes = 0;
  private readonly deadline: QueryDeadline;

  constructor(
    private readonly opts: EvaluatorOptions,
    private readonly data: ReadonlyMap<VectorSelector, LoadedSeries[]>,
    /** For each `info()` call, the selector whose (prefetched) series are its candidate info series. */
    private readonly infoSelectors: ReadonlyMap<Call, VectorSelector> = new Map(),
  ) {
    this.deadline = new QueryDeadline(opts.deadline, opts.signal, 16);
  }

  // --- EvalEnv ---

  track(n: number): void {
    this.samples += n;
    if (this.samples > this.opts.maxSamples) {
      throw new PromqlError('execution', 'query processing would load too many samples into memory in query execution');
    }
  }

  release(n: number): void {
    this.samples = Math.max(0, this.samples - n);
  }

  checkDeadline(): void {
    const stop = this.deadline.tick();
    if (stop === 'canceled') throw new PromqlError('canceled', 'query was canceled in expression evaluation');
    if (stop === 'timeout') throw new PromqlError('timeout', 'query timed out in expression evaluation');
  }

  trackLabelBytes(n: number): void {
    this.labelBytes += n;
    if (this.labelBytes > this.opts.maxResultBytes) {
      throw new PromqlError(
        'execution',
        `query processing would produce more than ${this.opts.maxResultBytes} bytes of label values in query execution (metrics.query.max_result_bytes)`,
      );
    }
  }

  // --- durations and modifiers ---

  /** Resolves a duration expression to milliseconds. */
  dur(d: DurationExpr | undefined): number {
    if (!d) return 0;
    return Math.round(this.durSeconds(d) * 1000);
  }

  private durSeconds(d: DurationExpr): number {
    switch (d.kind) {
      case 'lit':
        return d.ms / 1000;
      case 'neg':
        return -this.durSeconds(d.expr);
      case 'step':
        return this.opts.queryStepMs / 1000;
      case 'range':
        return (this.opts.queryEndMs - this.opts.queryStartMs) / 1000;
      case 'min':
        return Math.min(this.durSeconds(d.lhs), this.durSeconds(d.rhs));
      case 'max':
        return Math.max(this.durSeconds(d.lhs), this.durSeconds(d.rhs));
      case 'bin': {
        const l = this.durSeconds(d.lhs);
        const r = this.durSeconds(d.rhs);
        switch (d.op) {
          case '+':
            return l + r;
          case '-':
            return l - r;
          case '*':
            return l * r;
          case '/':
            return l / r;
          case '%':
            return l % r;
          case '^':
            return Math.pow(l, r);
        }
      }
    }
  }

  /** The absolute time of an `@` modifier, if any. */
  atTime(at: AtModifier | undefined): number | undefined {
    if (!at) return undefined;
    if (at.kind === 'time') return at.ms;
    return at.kind === 'start' ? this.opts.queryStartMs : this.opts.queryEndMs;
  }

  // --- evaluation ---

  eval(e: Expr, steps: Steps): EvalValue {
    this.checkDeadline();
    switch (e.type) {
      case 'NumberLiteral':
        return { kind: 'scalar', vals: new Float64Array(steps.n).fill(e.val) };
      case 'StringLiteral':
        return { kind: 'string', value: e.val };
      case 'ParenExpr':
        return this.eval(e.expr, steps);
      case 'UnaryExpr':
        return this.nameRemoved(this.unary(e.op, this.eval(e.expr, steps), steps), steps);
      case 'VectorSelector':
        return { kind: 'vector', series: this.vectorSelector(e, steps, false) };
      case 'MatrixSelector':
      case 'SubqueryExpr':
        return this.matrixValue(e, steps);
      case 'Call':
        return this.nameRemoved(this.call(e, steps), steps);
      case 'AggregateExpr':
        return this.aggregateExpr(e, steps);
      case 'BinaryExpr':
        return this.nameRemoved(this.binary(e, steps), steps);
    }
  }

  /**
   * Without delayed name removal (Prometheus' default) the operation that drops `__name__` removes it at
   * once and series left with one label set are merged, or fail when their steps overlap.
   */
  private nameRemoved(v: EvalValue, steps: Steps): EvalValue {
    if (this.opts.delayedNameRemoval || v.kind !== 'vector' || !v.series.some((s) => s.dropName)) return v;
    return { kind: 'vector', series: dropNamesAndMerge(v.series, steps.n) };
  }

  private vector(e: Expr, steps: Steps): StepSeries[] {
    const v = this.eval(e, steps);
    if (v.kind !== 'vector') throw new Error(`expected vector, got ${v.kind}`);
    return v.series;
  }

  private scalar(e: Expr, steps: Steps): Float64Array {
    const v = this.eval(e, steps);
    if (v.kind !== 'scalar') throw new Error(`expected scalar, got ${v.kind}`);
    return v.vals;
  }

  private countPoints(series: StepSeries[]): number {
    let total = 0;
    for (const s of series) {
      const p = s.pres;
      for (let k = 0; k < p.length; k++) if (p[k] !== ABSENT) total++;
    }
    return total;
  }

  private unary(op: '-' | '+', v: EvalValue, steps: Steps): EvalValue {
    if (op === '+') return v;
    if (v.kind === 'scalar') return { kind: 'scalar', vals: v.vals.map((x) => -x) };
    if (v.kind !== 'vector') throw new Error('unary minus on non-numeric value');
    const out = v.series.map((s) => {
      const o = newStepSeries(s.labels, steps.n, true);
      for (let k = 0; k < steps.n; k++) {
        const p = s.pres[k]!;
        if (p === FLOAT) {
          o.vals[k] = -s.vals[k]!;
          o.pres[k] = FLOAT;
        } else if (p === HIST) setHist(o, k, s.hists![k]!.copy().mul(-1), steps.n);
      }
      return o;
    });
    return { kind: 'vector', series: out };
  }

  /**
   * An instant-vector selector at every step: the latest sample within the lookback window before
   * `step - offset` (or the `@` time), unless it is a staleness marker. With `timestamps`, the values are
   * the chosen samples' timestamps in seconds (for `timestamp()`).
   */
  private vectorSelector(vs: VectorSelector, steps: Steps, timestamps: boolean): StepSeries[] {
    if (vs.smoothed) return this.smoothedSelector(vs, steps);
    return this.selectLoaded(vs, this.data.get(vs) ?? [], steps, timestamps);
  }

  /** The instant-vector selection over `loaded` (the selector's own series, or a filtered subset). */
  private selectLoaded(vs: VectorSelector, loaded: readonly LoadedSeries[], steps: Steps, timestamps: boolean): StepSeries[] {
    const offset = this.dur(vs.offset);
    const at = this.atTime(vs.at);
    const lookback = this.opts.lookbackMs;
    const n = steps.n;
    const out: StepSeries[] = [];
    let total = 0;
    for (let si = 0; si < loaded.length; si++) {
      if ((si & 255) === 0) this.checkDeadline();
      const s = loaded[si]!;
      const o = newStepSeries(s.labels, n);
      const { ft, fv, ht, hv } = s;
      let fi = -1;
      let hi = -1;
      let any = false;
      for (let k = 0; k < n; k++) {
        if ((k & 4095) === 4095) {
          // A long step grid (a fine subquery) is accounted while it is built, not after.
          this.checkDeadline();
          this.track(total);
          total = 0;
        }
        const t = at ?? steps.start + k * steps.interval;
        const ref = t - offset;
        if (at !== undefined && k > 0) {
          // Same reference time at every step: repeat step 0.
          if (o.pres[0] !== ABSENT) {
            o.pres[k] = o.pres[0]!;
            o.vals[k] = o.vals[0]!;
            if (o.pres[0] === HIST) setHist(o, k, o.hists![0]!, n);
            total++;
          }
          continue;
        }
        // Steps only move forward: advance the cursors (total work is linear in samples + steps).
        while (fi + 1 < ft.length && ft[fi + 1]! <= ref) fi++;
        while (hi + 1 < ht.length && ht[hi + 1]! <= ref) hi++;
        const tf = fi >= 0 ? ft[fi]! : -Infinity;
        const th = hi >= 0 ? ht[hi]! : -Infinity;
        if (tf === -Infinity && th === -Infinity) continue;
        const useHist = th > tf;
        const ts = useHist ? th : tf;
        if (ts <= ref - lookback) continue;
        if (useHist) {
          const h = hv[hi]!;
          if (Number.isNaN(h.sum) && isStaleNaN(h.sum)) continue;
          if (timestamps) {
            o.vals[k] = ts / 1000;
            o.pres[k] = FLOAT;
          } else setHist(o, k, h, n);
        } else {
          const v = fv[fi]!;
          if (v !== v && isStaleNaN(v)) continue;
          o.vals[k] = timestamps ? ts / 1000 : v;
          o.pres[k] = FLOAT;
        }
        total++;
        any = true;
      }
      if (any) out.push(o);
      // Account per series so an oversized selection fails before it is fully materialised.
      if (total >= 4096) {
        this.track(total);
        total = 0;
      }
    }
    this.track(total);
    return out;
  }

  /** A `smoothed` instant selector: values interpolated at each step from neighbours within the lookback. */
  private smoothedSelector(vs: VectorSelector, steps: Steps): StepSeries[] {
    const loaded = (this.data.get(vs) ?? []).map((s) => this.cleanSeries(s));
    const offset = this.dur(vs.offset);
    const at = this.atTime(vs.at);
    const lb = this.opts.lookbackMs;
    const out: StepSeries[] = [];
    let total = 0;
    for (const s of loaded) {
      const o = newStepSeries(s.labels, steps.n);
      let any = false;
      let lo = 0;
      let hi = 0;
      let hlo = 0;
      let hhi = 0;
      for (let k = 0; k < steps.n; k++) {
        const ts = (at ?? steps.start + k * steps.interval) - offset;
        while (hi < s.ft.length && s.ft[hi]! <= ts + lb) hi++;
        while (lo < hi && s.ft[lo]! <= ts - lb) lo++;
        while (hhi < s.ht.length && s.ht[hhi]! <= ts + lb) hhi++;
        while (hlo < hhi && s.ht[hlo]! <= ts - lb) hlo++;
        if (hhi > hlo) {
          const metric = s.labels[METRIC_NAME_LABEL] ?? '';
          if (hi > lo) {
            this.annos.warn(`encountered a mix of histograms and floats for metric name "${metric}"`, vs.pos);
            continue;
          }
          const issues = new Set<ExtendedHistogramIssue>();
          const h = smoothedHistogram(s.ht, s.hv, hlo, hhi, ts, issues);
          if (issues.has('mixed-schemas')) {
            this.annos.warn(`vector contains a mix of histograms with exponential and custom buckets schemas for metric name "${metric}"`, vs.pos);
          }
          if (!h) continue;
          setHist(o, k, h, steps.n);
          any = true;
          total++;
          continue;
        }
        const v = smoothedValue(s.ft, s.fv, lo, hi, ts);
        if (v === undefined) continue;
        o.vals[k] = v;
        o.pres[k] = FLOAT;
        any = true;
        total++;
      }
      if (any) out.push(o);
    }
    this.track(total);
    return out;
  }

  /** A selector's series without stale markers, for range windows. */
  private cleanSeries(s: LoadedSeries): RawSeries {
    if (s.clean) return s.clean;
    let stale = 0;
    for (let i = 0; i < s.fv.length; i++) {
      const v = s.fv[i]!;
      if (v !== v && isStaleNaN(v)) stale++;
    }
    let hStale = 0;
    for (const h of s.hv) if (Number.isNaN(h.sum) && isStaleNaN(h.sum)) hStale++;
    let ft = s.ft;
    let fv = s.fv;
    if (stale > 0) {
      ft = new Float64Array(s.ft.length - stale);
      fv = new Float64Array(s.fv.length - stale);
      let j = 0;
      for (let i = 0; i < s.fv.length; i++) {
        const v = s.fv[i]!;
        if (v !== v && isStaleNaN(v)) continue;
        ft[j] = s.ft[i]!;
        fv[j] = v;
        j++;
      }
    }
    let ht = s.ht;
    let hv = s.hv;
    if (hStale > 0) {
      const keep = s.hv.map((h, i) => [h, s.ht[i]!] as const).filter(([h]) => !(Number.isNaN(h.sum) && isStaleNaN(h.sum)));
      ht = Float64Array.from(keep, ([, t]) => t);
      hv = keep.map(([h]) => h);
    }
    // Without stale markers the loaded series is its own clean copy (one object fewer per series).
    s.clean = stale === 0 && hStale === 0 ? s : { labels: s.labels, ft, fv, ht, hv };
    return s.clean;
  }

  /** The input of a range-vector function: raw series plus the window geometry. */
  private rangeInput(e: Expr, steps: Steps): RangeInput {
    const x = unwrapParens(e);
    if (x.type === 'MatrixSelector') {
      const loaded = this.data.get(x.vs) ?? [];
      return {
        series: loaded.map((s) => this.cleanSeries(s)),
        rangeMs: this.dur(x.range),
        offsetMs: this.dur(x.vs.offset),
        at: this.atTime(x.vs.at),
        vs: x.vs,
      };
    }
    if (x.type === 'SubqueryExpr') return this.subquery(x, steps);
    throw new Error(`expected a range vector, got ${x.type}`);
  }

  /** Evaluates a subquery's inner expression on its own step grid and returns it as raw series. */
  private subquery(sq: SubqueryExpr, steps: Steps): RangeInput {
    const rangeMs = this.dur(sq.range);
    const offsetMs = this.dur(sq.offset);
    const at = this.atTime(sq.at);
    let interval = sq.step ? this.dur(sq.step) : this.opts.defaultSubqueryStepMs;
    if (interval <= 0) interval = this.opts.defaultSubqueryStepMs;
    const evalStart = at ?? steps.start;
    const evalEnd = at ?? steps.end;
    const lowest = evalStart - offsetMs - rangeMs;
    let start = interval * Math.floor(lowest / interval);
    if (start <= lowest) start += interval;
    const end = evalEnd - offsetMs;
    const inner = makeSteps(start, end, interval);
    // Evaluation holds every series over the whole grid: a grid longer than the sample budget cannot be
    // held even for one series, so it fails before anything is allocated.
    if (inner.n > this.opts.maxSamples) this.track(inner.n);
    const series: RawSeries[] = [];
    if (inner.n > 0) {
      const v = this.vector(sq.expr, inner);
      for (const s of v) {
        let count = 0;
        let hcount = 0;
        for (let k = 0; k < inner.n; k++) {
          if (s.pres[k] === FLOAT) count++;
          else if (s.pres[k] === HIST) hcount++;
        }
        const ft = new Float64Array(count);
        const fv = new Float64Array(count);
        const ht = new Float64Array(hcount);
        const hv: FloatHistogram[] = [];
        let j = 0;
        let hj = 0;
        for (let k = 0; k < inner.n; k++) {
          const t = inner.start + k * inner.interval;
          if (s.pres[k] === FLOAT) {
            ft[j] = t;
            fv[j] = s.vals[k]!;
            j++;
          } else if (s.pres[k] === HIST) {
            ht[hj++] = t;
            let h = s.hists![k]!;
            // A subquery may miss or repeat the sample carrying a counter reset hint: forget the hints.
            if (h.counterResetHint === COUNTER_RESET || h.counterResetHint === NOT_COUNTER_RESET) {
              h = h.copy();
              h.counterResetHint = UNKNOWN_COUNTER_RESET;
            }
            hv.push(h);
          }
        }
        series.push({ labels: s.dropName ? dropMetricName(s.labels) : s.labels, ft, fv, ht, hv });
      }
    }
    return { series, rangeMs, offsetMs, at, vs: undefined };
  }

  /** A range vector as a value (instant queries of `foo[5m]` or a subquery). */
  private matrixValue(e: MatrixSelector | SubqueryExpr, steps: Steps): EvalValue {
    const input = this.rangeInput(e, steps);
    const t = input.at ?? steps.start;
    const end = t - input.offsetMs;
    const start = end - input.rangeMs;
    const out: RawSeries[] = [];
    let total = 0;
    if (input.vs?.anchored || input.vs?.smoothed) {
      const smoothed = input.vs.smoothed ?? false;
      const lookback = this.opts.lookbackMs;
      for (const s of input.series) {
        const lo = upperBoundIndex(s.ft, start - lookback, 0);
        const hi = upperBoundIndex(s.ft, smoothed ? end + lookback : end, lo);
        const hlo = upperBoundIndex(s.ht, start - lookback, 0);
        const hhi = upperBoundIndex(s.ht, smoothed ? end + lookback : end, hlo);
        if (hhi > hlo) throw execError('anchored modifier is not supported with histograms');
        const ext = extendFloats(s.ft, s.fv, lo, hi, start, end, smoothed);
        if (ext.t.length === 0) continue;
        total += ext.t.length;
        out.push({ labels: s.labels, ft: Float64Array.from(ext.t), fv: Float64Array.from(ext.v), ht: new Float64Array(0), hv: [] });
      }
      this.track(total);
      return { kind: 'matrix', series: out };
    }
    for (const s of input.series) {
      const flo = upperBoundIndex(s.ft, start, 0);
      const fhi = upperBoundIndex(s.ft, end, flo);
      const hlo = upperBoundIndex(s.ht, start, 0);
      const hhi = upperBoundIndex(s.ht, end, hlo);
      if (fhi - flo + (hhi - hlo) === 0) continue;
      total += fhi - flo + (hhi - hlo);
      out.push({
        labels: s.labels,
        ft: s.ft.subarray(flo, fhi),
        fv: s.fv.subarray(flo, fhi),
        ht: s.ht.subarray(hlo, hhi),
        hv: s.hv.slice(hlo, hhi),
      });
    }
    this.track(total);
    return { kind: 'matrix', series: out };
  }

  private call(e: Call, steps: Steps): EvalValue {
    const name = e.func.name;
    const n = steps.n;
    const matrixIdx = e.func.argTypes.indexOf('matrix');
    if (matrixIdx >= 0 && e.args[matrixIdx]) return this.rangeFunction(e, matrixIdx, steps);
    switch (name) {
      case 'time': {
        const v = new Float64Array(n);
        for (let k = 0; k < n; k++) v[k] = (steps.start + k * steps.interval) / 1000;
        return { kind: 'scalar', vals: v };
      }
      case 'pi':
        return { kind: 'scalar', vals: new Float64Array(n).fill(Math.PI) };
      case 'min_of':
      case 'max_of': {
        const a = this.scalar(e.args[0]!, steps);
        const b = this.scalar(e.args[1]!, steps);
        const v = new Float64Array(n);
        for (let k = 0; k < n; k++) v[k] = name === 'min_of' ? goMin(a[k]!, b[k]!) : goMax(a[k]!, b[k]!);
        return { kind: 'scalar', vals: v };
      }
      case 'start':
        return { kind: 'scalar', vals: new Float64Array(n).fill(this.opts.queryStartMs / 1000) };
      case 'end':
        return { kind: 'scalar', vals: new Float64Array(n).fill(this.opts.queryEndMs / 1000) };
      case 'range':
        return { kind: 'scalar', vals: new Float64Array(n).fill((this.opts.queryEndMs - this.opts.queryStartMs) / 1000) };
      case 'step':
        return { kind: 'scalar', vals: new Float64Array(n).fill(this.opts.queryStepMs / 1000) };
      case 'vector': {
        const v = this.scalar(e.args[0]!, steps);
        const o = newStepSeries({}, n);
        o.vals.set(v);
        o.pres.fill(FLOAT);
        this.track(n);
        return { kind: 'vector', series: [o] };
      }
      case 'scalar': {
        const input = this.vector(e.args[0]!, steps);
        const v = new Float64Array(n).fill(NaN);
        const found = new Uint8Array(n);
        for (const s of input) {
          for (let k = 0; k < n; k++) {
            if (s.pres[k] !== FLOAT) continue;
            if (found[k]) v[k] = NaN;
            else v[k] = s.vals[k]!;
            found[k] = found[k]! + 1;
          }
        }
        for (let k = 0; k < n; k++) if (found[k]! > 1) v[k] = NaN;
        return { kind: 'scalar', vals: v };
      }
      case 'timestamp': {
        const arg = unwrapParens(e.args[0]!);
        if (arg.type === 'VectorSelector') {
          return { kind: 'vector', series: this.vectorSelector(arg, steps, true).map((s) => ({ ...s, dropName: true })) };
        }
        const input = this.vector(arg, steps);
        return {
          kind: 'vector',
          series: input.map((s) => {
            const o = newStepSeries(s.labels, n, true);
            for (let k = 0; k < n; k++) {
              if (s.pres[k] === ABSENT) continue;
              o.vals[k] = (steps.start + k * steps.interval) / 1000;
              o.pres[k] = FLOAT;
            }
            return o;
          }),
        };
      }
      case 'clamp':
      case 'clamp_min':
      case 'clamp_max': {
        const input = this.vector(e.args[0]!, steps);
        const a = e.args[1] ? this.scalar(e.args[1], steps) : undefined;
        const b = e.args[2] ? this.scalar(e.args[2], steps) : undefined;
        return {
          kind: 'vector',
          series: mapFloats(input, n, (v, k) => {
            const min = name === 'clamp_max' ? -Infinity : a![k]!;
            const max = name === 'clamp' ? b![k]! : name === 'clamp_max' ? a![k]! : Infinity;
            if (max < min) return undefined;
            return Math.max(min, Math.min(max, v));
          }),
        };
      }
      case 'round': {
        const input = this.vector(e.args[0]!, steps);
        const to = e.args[1] ? this.scalar(e.args[1], steps) : undefined;
        return {
          kind: 'vector',
          series: mapFloats(input, n, (v, k) => {
            const inv = 1 / (to ? to[k]! : 1);
            return Math.floor(v * inv + 0.5) / inv;
          }),
        };
      }
      case 'histogram_count':
      case 'histogram_sum':
      case 'histogram_avg':
      case 'histogram_stddev':
      case 'histogram_stdvar': {
        const input = this.vector(e.args[0]!, steps);
        const fn =
          name === 'histogram_count'
            ? (h: FloatHistogram): number => h.count
            : name === 'histogram_sum'
              ? (h: FloatHistogram): number => h.sum
              : name === 'histogram_avg'
                ? (h: FloatHistogram): number => h.sum / h.count
                : name === 'histogram_stddev'
                  ? (h: FloatHistogram): number => Math.sqrt(histogramVariance(h))
                  : histogramVariance;
        return { kind: 'vector', series: mapHistograms(input, n, fn) };
      }
      case 'histogram_quantile': {
        const q = this.scalar(e.args[0]!, steps);
        const input = this.vector(e.args[1]!, steps);
        return {
          kind: 'vector',
          series: histogramQuantileOrFraction('quantile', [q], input, steps, this, e.args[0]!.pos, e.args[1]!.pos),
        };
      }
      case 'histogram_fraction': {
        const lower = this.scalar(e.args[0]!, steps);
        const upper = this.scalar(e.args[1]!, steps);
        const input = this.vector(e.args[2]!, steps);
        return {
          kind: 'vector',
          series: histogramQuantileOrFraction('fraction', [lower, upper], input, steps, this, e.args[0]!.pos, e.args[2]!.pos),
        };
      }
      case 'label_replace': {
        const [dst, repl, src, re] = e.args.slice(1).map((a) => this.stringArg(a));
        const dstLit = unwrapParens(e.args[1]!);
        if (dstLit.type === 'StringLiteral' && dstLit.invalidUtf8) {
          throw execError(`invalid destination label name in label_replace(): ${dst}`);
        }
        const input = this.vector(e.args[0]!, steps);
        return { kind: 'vector', series: labelReplace(input, dst!, repl!, src!, re!, n, this) };
      }
      case 'label_join': {
        const strs = e.args.slice(1).map((a) => this.stringArg(a));
        const input = this.vector(e.args[0]!, steps);
        return { kind: 'vector', series: labelJoin(input, strs[0]!, strs[1]!, strs.slice(2), n, this) };
      }
      case 'sort':
      case 'sort_desc':
      case 'sort_by_label':
      case 'sort_by_label_desc': {
        const input = this.vector(e.args[0]!, steps);
        if (this.opts.isRangeQuery) {
          this.annos.warn('sort is ineffective for range queries since results are always ordered by labels', e.pos);
          return { kind: 'vector', series: name === 'sort' || name === 'sort_desc' ? dropHistograms(input) : input };
        }
        return { kind: 'vector', series: sortSeries(name, input, e.args.slice(1).map((a) => this.stringArg(a))) };
      }
      case 'absent': {
        const input = this.vector(e.args[0]!, steps);
        const arg = unwrapParens(e.args[0]!);
        const labels = absentLabels(arg.type === 'VectorSelector' ? arg.matchers : undefined);
        const o = newStepSeries(labels, n);
        let any = false;
        const present = new Uint8Array(n);
        for (const s of input) for (let k = 0; k < n; k++) if (s.pres[k] !== ABSENT) present[k] = 1;
        for (let k = 0; k < n; k++) {
          if (present[k]) continue;
          o.vals[k] = 1;
          o.pres[k] = FLOAT;
          any = true;
        }
        return { kind: 'vector', series: any ? [o] : [] };
      }
      case 'info':
        return { kind: 'vector', series: this.info(e, steps) };
      case 'start_timestamp':
        throw execError('start_timestamp() is not supported');
      case 'histogram_quantiles': {
        const input = this.vector(e.args[0]!, steps);
        const label = this.stringArg(e.args[1]!);
        const out: StepSeries[] = [];
        const byKey = new Map<string, StepSeries>();
        for (let i = 2; i < e.args.length; i++) {
          const q = this.scalar(e.args[i]!, steps);
          const res = histogramQuantileOrFraction('quantile', [q], input, steps, this, e.args[i]!.pos, e.args[0]!.pos);
          for (const s of res) {
            // The quantile label value comes from the (per-step constant) parameter.
            for (let k = 0; k < n; k++) {
              if (s.pres[k] === ABSENT) continue;
              const labels = { ...s.labels, [label]: formatOpenMetricsFloat(q[k]!) };
              const key = JSON.stringify(Object.entries(labels).sort());
              let o = byKey.get(key);
              if (!o) {
                o = newStepSeries(labels, n, true);
                byKey.set(key, o);
                out.push(o);
              }
              if (o.pres[k] !== ABSENT) throw execError('vector cannot contain metrics with the same labelset');
              o.vals[k] = s.vals[k]!;
              o.pres[k] = FLOAT;
            }
          }
        }
        return { kind: 'vector', series: out };
      }
      default:
        break;
    }
    if (isSimpleFunction(name)) return { kind: 'vector', series: simpleFunction(name, this.vector(e.args[0]!, steps), n) };
    if (isDateFunction(name)) {
      return { kind: 'vector', series: dateFunction(name, e.args[0] ? this.vector(e.args[0], steps) : undefined, steps) };
    }
    throw new Error(`unsupported function ${name}`);
  }

  /**
   * `info(v, {selector})` (experimental): adds data labels of info series (default `target_info`) that share
   * the identifying labels `instance` and `job` with each series of `v`.
   */
  private info(e: Call, steps: Steps): StepSeries[] {
    const n = steps.n;
    const base = this.vector(e.args[0]!, steps);
    const sel = e.args[1] ? unwrapParens(e.args[1]) : undefined;
    const dataMatchers = new Map<string, LabelMatcher[]>();
    if (sel && sel.type === 'VectorSelector') {
      for (const m of sel.matchers) {
        let list = dataMatchers.get(m.name);
        if (!list) dataMatchers.set(m.name, (list = []));
        list.push(m);
      }
    }
    const nameMatchers = infoNameMatchers(sel && sel.type === 'VectorSelector' ? sel.matchers : []);
    const nameFns = nameMatchers.map((m) => compileMatcher(m));
    const ignored = base.map((s) => nameFns.every((f) => f(s.labels[METRIC_NAME_LABEL] ?? '')));
    const idValues = new Map<string, Set<string>>();
    base.forEach((s, i) => {
      if (ignored[i]) return;
      for (const l of IDENTIFYING_LABELS) {
        const v = s.labels[l];
        if (!v) continue;
        let set = idValues.get(l);
        if (!set) idValues.set(l, (set = new Set()));
        set.add(v);
      }
    });
    dataMatchers.delete(METRIC_NAME_LABEL);
    let infoSeries: StepSeries[] = [];
    const infoVs = this.infoSelectors.get(e);
    if (idValues.size > 0 && infoVs) {
      const candidates = (this.data.get(infoVs) ?? []).filter((s) => {
        for (const [l, vals] of idValues) if (!vals.has(s.labels[l] ?? '')) return false;
        return true;
      });
      // Info series are looked up as of the base selector's reference time (its offset and `@`).
      const ref = infoReference(e.args[0]!, (d) => this.dur(d), (a) => this.atTime(a));
      const times = new Float64Array(n);
      for (let k = 0; k < n; k++) times[k] = (ref.at ?? steps.start + k * steps.interval) - ref.offsetMs;
      infoSeries = this.infoSamples(candidates, times);
    }
    const sigOf = (name: string, labels: Labels): string => {
      const parts = [name];
      for (const l of IDENTIFYING_LABELS) if (labels[l]) parts.push(`${l}=${labels[l]}`);
      return parts.join('\u0000');
    };
    const infoNames = [...new Set(infoSeries.map((s) => s.labels[METRIC_NAME_LABEL] ?? ''))];
    const infoSigs = infoSeries.map((s) => sigOf(s.labels[METRIC_NAME_LABEL] ?? '', s.labels));
    const baseSigs = base.map((s) => infoNames.map((name) => [name, sigOf(name, s.labels)] as const));
    const dataFns = [...dataMatchers.values()].flat().map((m) => compileMatcher(m));
    const allMatchEmpty = dataFns.every((f) => f(''));
    const out = new Map<string, StepSeries>();
    const order: StepSeries[] = [];
    const put = (labels: Labels, k: number, s: StepSeries): void => {
      const key = keyOf(labels);
      let o = out.get(key);
      if (!o) {
        o = newStepSeries(labels, n, s.dropName);
        out.set(key, o);
        order.push(o);
      }
      if (o.pres[k] !== ABSENT) throw execError('vector cannot contain metrics with the same labelset');
      if (s.pres[k] === HIST) setHist(o, k, s.hists![k]!, n);
      else {
        o.vals[k] = s.vals[k]!;
        o.pres[k] = FLOAT;
      }
    };
    for (let k = 0; k < n; k++) {
      const bySig = new Map<string, number>();
      infoSeries.forEach((s, i) => {
        if (s.pres[k] !== FLOAT) return;
        const sig = infoSigs[i]!;
        const prev = bySig.get(sig);
        if (prev === undefined) {
          bySig.set(sig, i);
          return;
        }
        const existingT = infoSeries[prev]!.vals[k]!;
        const t = s.vals[k]!;
        if (existingT < t) bySig.set(sig, i);
        else if (existingT === t) {
          throw execError(
            `found duplicate series for info metric: existing ${keyOf(infoSeries[prev]!.labels)} @ ${existingT}, new ${keyOf(s.labels)} @ ${t}`,
          );
        }
      });
      base.forEach((bs, bi) => {
        if (bs.pres[k] === ABSENT) return;
        if (ignored[bi]) {
          put(bs.labels, k, bs);
          return;
        }
        const added: Record<string, string> = {};
        let seen = 0;
        for (const [, sig] of baseSigs[bi]!) {
          const ii = bySig.get(sig);
          if (ii === undefined) continue;
          const is = infoSeries[ii]!;
          for (const [name, value] of Object.entries(is.labels)) {
            if (name === METRIC_NAME_LABEL) continue;
            if (dataMatchers.size > 0 && !dataMatchers.has(name)) continue;
            const have = added[name];
            if (have !== undefined && have !== value) throw execError(`conflicting label: ${name}`);
            if (name in bs.labels) continue;
            added[name] = value;
          }
          seen++;
        }
        if (seen === 0 && !allMatchEmpty) return;
        put({ ...bs.labels, ...added }, k, bs);
      });
    }
    return order;
  }

  /** The latest sample (within the lookback) of each info series at `times`; the value is its timestamp. */
  private infoSamples(candidates: readonly LoadedSeries[], times: Float64Array): StepSeries[] {
    const n = times.length;
    const lookback = this.opts.lookbackMs;
    const out: StepSeries[] = [];
    for (const s of candidates) {
      const o = newStepSeries(s.labels, n);
      let any = false;
      for (let k = 0; k < n; k++) {
        const ref = times[k]!;
        const fi = upperBoundIndex(s.ft, ref, 0) - 1;
        const hi = upperBoundIndex(s.ht, ref, 0) - 1;
        const tf = fi >= 0 ? s.ft[fi]! : -Infinity;
        const th = hi >= 0 ? s.ht[hi]! : -Infinity;
        if (th > tf && th > ref - lookback) {
          if (!(Number.isNaN(s.hv[hi]!.sum) && isStaleNaN(s.hv[hi]!.sum))) {
            throw execError(`this should be an info metric, with float samples: ${keyOf(s.labels)}`);
          }
          continue;
        }
        if (tf <= ref - lookback) continue;
        const v = s.fv[fi]!;
        if (v !== v && isStaleNaN(v)) continue;
        o.vals[k] = tf;
        o.pres[k] = FLOAT;
        any = true;
      }
      if (any) out.push(o);
    }
    return out;
  }

  private stringArg(e: Expr): string {
    const x = unwrapParens(e);
    if (x.type !== 'StringLiteral') throw new Error('expected string literal');
    return x.val;
  }

  /**
   * A range-vector function over all steps. With `sink`, each series with a value goes to `sink` as it is
   * evaluated (in one buffer reused for every series, valid only during the call, present at steps
   * `[kLo, kHi)` at most) and nothing is returned or held: the fused path of an aggregation over it.
   */
  private rangeFunction(e: Call, matrixIdx: number, steps: Steps, sink?: RangeSeriesSink): EvalValue {
    const name = e.func.name;
    const fn = RANGE_FUNCTIONS.get(name);
    if (!fn) throw new Error(`unsupported function ${name}`);
    const n = steps.n;
    const params: Float64Array[] = [];
    for (let i = 0; i < e.args.length; i++) {
      if (i === matrixIdx) continue;
      params.push(this.scalar(e.args[i]!, steps));
    }
    const input = this.rangeInput(e.args[matrixIdx]!, steps);
    if (input.vs?.anchored && !ANCHORED_SAFE_FUNCTIONS.has(name)) {
      throw execError(`anchored modifier can only be used with: ${[...ANCHORED_SAFE_FUNCTIONS].sort().join(', ')} - not with ${name}`);
    }
    if (input.vs?.smoothed && !SMOOTHED_SAFE_FUNCTIONS.has(name)) {
      throw execError(`smoothed modifier can only be used with: ${[...SMOOTHED_SAFE_FUNCTIONS].sort().join(', ')} - not with ${name}`);
    }
    const args0 = e.args[0]!;
    if (input.vs?.anchored || input.vs?.smoothed) return this.extendedRangeFunction(name, input, steps, args0.pos);
    const lastArg = e.args[e.args.length - 1]!;
    const ctx: RangeFnContext = {
      annos: this.annos,
      argPos: args0.pos,
      firstArgPos: args0.pos,
      argsPos: { start: args0.pos.start, end: lastArg.pos.end },
    };
    const keepName = name === 'last_over_time' || name === 'first_over_time';
    const isAbsent = name === 'absent_over_time';
    const checkCounter = name === 'rate' || name === 'increase';
    const out: StepSeries[] = [];
    const presentAny = isAbsent ? new Uint8Array(n) : undefined;
    const rangeMs = input.rangeMs;
    const result: RangeOut = { f: 0, h: undefined };
    let total = 0;
    const paramVals: number[] = new Array<number>(params.length).fill(0);
    const scratch = sink ? newStepSeries({}, n) : undefined;
    let notCounterChecked: string | undefined;
    // One window object for all series (the kernels keep no reference to it).
    const w: RangeWindow = {
      ft: NO_SAMPLES,
      fv: NO_SAMPLES,
      flo: 0,
      fhi: 0,
      ht: NO_SAMPLES,
      hv: NO_HISTOGRAMS,
      hlo: 0,
      hhi: 0,
      ts: 0,
      rangeStart: 0,
      rangeEnd: 0,
      rangeMs,
      labels: {},
      params: paramVals,
      firstDrop: -1,
    };
    for (let si = 0; si < input.series.length; si++) {
      if ((si & 63) === 0) this.checkDeadline();
      const s = input.series[si]!;
      const dropName = keepName ? (s.dropName ?? false) : true;
      let o: StepSeries;
      if (scratch) {
        o = scratch;
        o.labels = s.labels;
        o.dropName = dropName;
      } else {
        o = newStepSeries(s.labels, n, dropName);
      }
      let kLo = n;
      let kHi = 0;
      w.ft = s.ft;
      w.fv = s.fv;
      w.ht = s.ht;
      w.hv = s.hv;
      w.labels = s.labels;
      w.flo = w.fhi = w.hlo = w.hhi = 0;
      w.firstDrop = -1;
      let anyFloat = false;
      let any = false;
      let window = 0;
      // Windows are empty before a series' first sample and after its last (most steps of a short-lived
      // series): start at the first step whose window reaches the first sample, stop once all are behind.
      const k0 = input.at === undefined ? firstStepReaching(steps, firstSampleTime(s) + input.offsetMs) : 0;
      for (let k = k0; k < n; k++) {
        if ((k & 4095) === 4095) {
          this.checkDeadline();
          this.track(total);
          total = 0;
        }
        const ts = steps.start + k * steps.interval;
        const ref = input.at ?? ts;
        const end = ref - input.offsetMs;
        const start = end - rangeMs;
        // Windows only move forward, so the bounds advance monotonically.
        while (w.fhi < s.ft.length && s.ft[w.fhi]! <= end) w.fhi++;
        while (w.flo < w.fhi && s.ft[w.flo]! <= start) w.flo++;
        while (w.hhi < s.ht.length && s.ht[w.hhi]! <= end) w.hhi++;
        while (w.hlo < w.hhi && s.ht[w.hlo]! <= start) w.hlo++;
        const size = w.fhi - w.flo + (w.hhi - w.hlo);
        if (size === 0) {
          if (w.flo === s.ft.length && w.hlo === s.ht.length) break;
          continue;
        }
        if (size > window) {
          this.track(size - window);
          window = size;
        }
        if (presentAny) presentAny[k] = 1;
        w.ts = ts;
        w.rangeStart = start;
        w.rangeEnd = end;
        for (let p = 0; p < params.length; p++) paramVals[p] = params[p]![k]!;
        result.h = undefined;
        let ok: boolean;
        try {
          ok = fn(w, result, ctx);
        } catch (err) {
          if (err instanceof RangeFunctionError) throw execError(err.message);
          throw err;
        }
        if (!ok) continue;
        if (result.h) setHist(o, k, result.h, n);
        else {
          o.vals[k] = result.f;
          o.pres[k] = FLOAT;
          anyFloat = true;
        }
        if (!any) kLo = k;
        kHi = k + 1;
        any = true;
        total++;
      }
      this.release(window);
      if (scratch) {
        if (any) {
          sink!(scratch, kLo, kHi);
          scratch.pres.fill(ABSENT, kLo, kHi);
          if (scratch.hists) scratch.hists.fill(undefined, kLo, kHi);
        }
        // Values handed to the sink are not held here.
        total = 0;
      } else if (any && !isAbsent) out.push(o);
      if (total >= 4096) {
        this.track(total);
        total = 0;
      }
      if (checkCounter && anyFloat) {
        const metric = s.labels[METRIC_NAME_LABEL] ?? '';
        // Series of one metric follow each other: test a name once per run (annotations are a set).
        if (metric !== notCounterChecked) {
          notCounterChecked = metric;
          if (metric !== '' && !/(_total|_sum|_count|_bucket)$/.test(metric)) {
            this.annos.info(`metric might not be a counter, name does not end in _total/_sum/_count/_bucket: "${metric}"`, args0.pos);
          }
        }
      }
    }
    if (isAbsent) {
      const o = newStepSeries(absentLabels(input.vs?.matchers), n, true);
      let any = false;
      for (let k = 0; k < n; k++) {
        if (presentAny![k]) continue;
        o.vals[k] = 1;
        o.pres[k] = FLOAT;
        any = true;
      }
      this.track(any ? n : 0);
      return { kind: 'vector', series: any ? [o] : [] };
    }
    this.track(total);
    return { kind: 'vector', series: out };
  }

  /** rate/increase/delta/resets/changes over `anchored` or `smoothed` range selectors. */
  private extendedRangeFunction(name: string, input: RangeInput, steps: Steps, argPos: PosRange): EvalValue {
    const n = steps.n;
    const smoothed = input.vs?.smoothed ?? false;
    const lookback = this.opts.lookbackMs;
    const out: StepSeries[] = [];
    let total = 0;
    for (const s of input.series) {
      this.checkDeadline();
      const o = newStepSeries(s.labels, n, true);
      let any = false;
      let lo = 0;
      let hi = 0;
      let hlo = 0;
      let hhi = 0;
      for (let k = 0; k < n; k++) {
        const ts = steps.start + k * steps.interval;
        const rangeEnd = (input.at ?? ts) - input.offsetMs;
        const rangeStart = rangeEnd - input.rangeMs;
        const wEnd = smoothed ? rangeEnd + lookback : rangeEnd;
        const wStart = rangeStart - lookback;
        while (hi < s.ft.length && s.ft[hi]! <= wEnd) hi++;
        while (lo < hi && s.ft[lo]! <= wStart) lo++;
        while (hhi < s.ht.length && s.ht[hhi]! <= wEnd) hhi++;
        while (hlo < hhi && s.ht[hlo]! <= wStart) hlo++;
        let v: number | undefined;
        if ((name === 'resets' || name === 'changes') && hhi > hlo) {
          v = anchoredMixedCount(name, s, lo, hi, hlo, hhi, rangeStart);
        } else if (hhi > hlo) {
          const metric = s.labels[METRIC_NAME_LABEL] ?? '';
          if (hi > lo) {
            this.annos.warn(`encountered a mix of histograms and floats for metric name "${metric}"`, argPos);
            continue;
          }
          const issues = new Set<ExtendedHistogramIssue>();
          const isCounter = name !== 'delta';
          const h = extendedHistogramRate(s.ht, s.hv, hlo, hhi, rangeStart, rangeEnd, input.rangeMs, smoothed, isCounter, name === 'rate', issues);
          if (issues.has('mixed-schemas')) {
            this.annos.warn(`vector contains a mix of histograms with exponential and custom buckets schemas for metric name "${metric}"`, argPos);
          }
          if (issues.has('not-counter')) this.annos.warn(`this native histogram metric is not a counter: "${metric}"`, argPos);
          if (issues.has('not-gauge')) this.annos.warn(`this native histogram metric is not a gauge: "${metric}"`, argPos);
          if (!h) continue;
          setHist(o, k, h, n);
          any = true;
          total++;
          continue;
        } else if (name === 'rate' || name === 'increase' || name === 'delta') {
          v = extendedRate(s.ft, s.fv, lo, hi, rangeStart, rangeEnd, input.rangeMs, smoothed, name !== 'delta', name === 'rate');
        } else {
          const first = anchoredFirstIndex(s.ft, lo, hi, rangeStart);
          if (first >= 0) {
            let count = 0;
            for (let i = first + 1; i < hi; i++) {
              const a = s.fv[i - 1]!;
              const b = s.fv[i]!;
              if (name === 'resets' ? b < a : b !== a && !(Number.isNaN(a) && Number.isNaN(b))) count++;
            }
            v = count;
          }
        }
        if (v === undefined) continue;
        o.vals[k] = v;
        o.pres[k] = FLOAT;
        any = true;
        total++;
      }
      if (any) out.push(o);
    }
    this.track(total);
    return { kind: 'vector', series: out };
  }

  private aggregateExpr(e: AggregateExpr, steps: Steps): EvalValue {
    let param: Float64Array | StringParam | undefined;
    if (e.param) {
      const p = unwrapParens(e.param);
      if (e.op === 'count_values') {
        if (p.type !== 'StringLiteral') throw new Error('count_values needs a string literal');
        param = { value: p.val, raw: p.invalidUtf8 };
      } else {
        param = this.scalar(p, steps);
      }
    }
    const fused = this.fusedAggregation(e, param, steps) ?? this.fusedTopK(e, param, steps);
    if (fused) {
      this.track(this.countPoints(fused));
      return { kind: 'vector', series: fused };
    }
    const input = this.vector(e.expr, steps);
    const before = this.countPoints(input);
    const out = aggregate(e, input, param, steps, this);
    this.release(before);
    this.track(this.countPoints(out));
    return { kind: 'vector', series: out };
  }

  /**
   * `sum by (…) (rate(m[5m]))` and the other value aggregations over a range function of a plain range
   * selector, fused: each series' values go straight into the group accumulators, in one reused buffer,
   * instead of a step array per input series held until the aggregation runs (most of such a query's
   * allocations and GC when the selector matches many short-lived series). The same values, groups, order and
   * annotations as the unfused path; undefined where it does not apply.
   */
  private fusedAggregation(e: AggregateExpr, param: Float64Array | StringParam | undefined, steps: Steps): StepSeries[] | undefined {
    if (!isValueAggregation(e.op)) return undefined;
    const input = this.fusableInput(e, steps);
    if (!input) return undefined;
    const fp = param instanceof Float64Array ? param : undefined;
    const agg = new ValueAggregation(e, fp, steps, this);
    const grouper = new Grouper(input.grouping, e.without);
    let seriesCount = 0;
    this.rangeFunction(input.call, input.matrixIdx, steps, (s, kLo, kHi) => {
      if ((++seriesCount & 1023) === 0) this.checkDeadline();
      const g = grouper.groupOf(input.groupLabels(s));
      agg.reserve(grouper.groups.length);
      agg.add(s, g, kLo, kHi);
    });
    return agg.finish(grouper.groups);
  }

  /**
   * `topk(10, rate(m[5m]))` and `bottomk`, fused the same way: each series is offered to the per-step heaps
   * from the reused buffer, and only the series that are kept get labels and step arrays (the unfused path
   * built a step array for each of the selector's series, most of them never selected). Applies when the
   * heaps of all steps fit at once (MAX_K_HEAP_ENTRIES); the same series, values, order and annotations as the
   * unfused path.
   */
  private fusedTopK(e: AggregateExpr, param: Float64Array | StringParam | undefined, steps: Steps): StepSeries[] | undefined {
    if ((e.op !== 'topk' && e.op !== 'bottomk') || !(param instanceof Float64Array)) return undefined;
    const input = this.fusableInput(e, steps);
    if (!input) return undefined;
    const n = steps.n;
    const fp = param;
    // At most one group per loaded series: count them only when that bound does not settle the heaps' size.
    let groupBound = input.loaded.length;
    if (KHeaps.chunkSteps(fp, input.loaded.length, groupBound) < n) {
      const counter = new Grouper(input.grouping, e.without);
      for (const s of input.loaded) counter.groupOf(input.groupLabels({ labels: s.labels, dropName: true }));
      groupBound = counter.groups.length;
      if (KHeaps.chunkSteps(fp, input.loaded.length, groupBound) < n) return undefined;
    }
    const heaps = new KHeaps(e.op, fp, input.loaded.length, groupBound, 0, n);
    const grouper = new Grouper(input.grouping, e.without);
    const offered: { labels: Labels; dropName: boolean }[] = [];
    let skippedHist = false;
    this.rangeFunction(input.call, input.matrixIdx, steps, (s, kLo, kHi) => {
      if ((offered.length & 1023) === 0) this.checkDeadline();
      const labels = input.groupLabels(s);
      const g = grouper.groupOf(labels);
      if (heaps.add(offered.length, g, s.pres, s.vals, kLo, kHi)) skippedHist = true;
      offered.push({ labels: s.labels, dropName: s.dropName });
    });
    // The range function's annotations and errors first, then the parameter's, as when the aggregation runs
    // after its input (KHeaps takes any parameter, NaN included, so it could be built before the check).
    if (skippedHist) this.annos.info(IGNORED_HIST(e.op), e.pos);
    if (!checkKParam(e, fp, this)) return [];
    const out = new Map<number, StepSeries>();
    heaps.emit(grouper.groups.length, n === 1, (si, k, value) => {
      let o = out.get(si);
      if (!o) {
        const src = offered[si]!;
        // Without delayed name removal the range function's output has lost its name by now.
        o = input.removeName ? newStepSeries(dropMetricName(src.labels), n, false) : newStepSeries(src.labels, n, src.dropName);
        out.set(si, o);
      }
      o.vals[k] = value;
      o.pres[k] = FLOAT;
    });
    return [...out.values()];
  }

  /**
   * The range function of a plain range selector that an aggregation `e` reads (`sum by (x) (rate(m[5m]))`),
   * when it can be streamed into the aggregation: the call, its matrix argument, the grouping, the selector's
   * loaded series, and each streamed series' labels as the aggregation groups them.
   */
  private fusableInput(e: AggregateExpr, steps: Steps): FusableInput | undefined {
    if (steps.n === 0) return undefined;
    const inner = unwrapParens(e.expr);
    if (inner.type !== 'Call' || inner.func.name === 'absent_over_time') return undefined;
    const matrixIdx = inner.func.argTypes.indexOf('matrix');
    const arg = matrixIdx >= 0 ? inner.args[matrixIdx] : undefined;
    const sel = arg ? unwrapParens(arg) : undefined;
    if (!sel || sel.type !== 'MatrixSelector' || sel.vs.anchored || sel.vs.smoothed) return undefined;
    const keepName = inner.func.name === 'last_over_time' || inner.func.name === 'first_over_time';
    // Without delayed name removal the function's output loses its name at once, and series left with one
    // label set would merge or fail: fuse only when that cannot happen (one name, type and unit in all).
    const removeName = !keepName && !this.opts.delayedNameRemoval;
    const loaded = this.data.get(sel.vs) ?? [];
    if (removeName && loaded.length > 0) {
      const first = loaded[0]!.labels;
      for (const s of loaded) {
        const l = s.labels;
        if (l[METRIC_NAME_LABEL] !== first[METRIC_NAME_LABEL] || l.__type__ !== first.__type__ || l.__unit__ !== first.__unit__) return undefined;
      }
    }
    const grouping = [...e.grouping].sort();
    // The name (and `__type__`, `__unit__`) matter to grouping only where a grouping could keep them.
    const byMeta = !e.without && grouping.some((g) => g === METRIC_NAME_LABEL || g === '__type__' || g === '__unit__');
    const groupLabels = (s: { labels: Labels; dropName: boolean }): Labels => {
      let labels = s.labels;
      if (removeName) {
        if (byMeta || (e.without && ('__type__' in labels || '__unit__' in labels))) labels = dropMetricName(labels);
        s.dropName = false;
      }
      return labels;
    };
    return { call: inner, matrixIdx, removeName, grouping, loaded, groupLabels };
  }

  private binary(e: BinaryExpr, steps: Steps): EvalValue {
    const lt = exprType(e.lhs);
    const rt = exprType(e.rhs);
    if (lt === 'scalar' && rt === 'scalar') {
      const l = this.scalar(e.lhs, steps);
      const r = this.scalar(e.rhs, steps);
      const out = new Float64Array(steps.n);
      for (let k = 0; k < steps.n; k++) out[k] = scalarBinop(e.op, l[k]!, r[k]!);
      return { kind: 'scalar', vals: out };
    }
    if (lt === 'vector' && rt === 'vector') {
      const l = this.vector(e.lhs, steps);
      const r = this.vector(e.rhs, steps);
      const before = this.countPoints(l) + this.countPoints(r);
      const out = vectorBinop(e, l, r, steps, this);
      this.release(before);
      this.track(this.countPoints(out));
      return { kind: 'vector', series: out };
    }
    if (lt === 'vector') {
      const l = this.vector(e.lhs, steps);
      const r = this.scalar(e.rhs, steps);
      return { kind: 'vector', series: vectorScalarBinop(e, l, r, false, steps, this) };
    }
    const l = this.scalar(e.lhs, steps);
    const r = this.vector(e.rhs, steps);
    return { kind: 'vector', series: vectorScalarBinop(e, r, l, true, steps, this) };
  }
}

/** Go's `math.Min`: -Inf wins over NaN, NaN over everything else. */
function goMin(a: number, b: number): number {
  if (a === -Infinity || b === -Infinity) return -Infinity;
  return Math.min(a, b);
}

/** Go's `math.Max`: +Inf wins over NaN, NaN over everything else. */
function goMax(a: number, b: number): number {
  if (a === Infinity || b === Infinity) return Infinity;
  return Math.max(a, b);
}

/** Prometheus' `FormatOpenMetricsFloat` (integers get a `.0`). */
function formatOpenMetricsFloat(f: number): string {
  if (Number.isNaN(f)) return 'NaN';
  if (f === Infinity) return '+Inf';
  if (f === -Infinity) return '-Inf';
  let s = String(f);
  if (/e/.test(s)) {
    const m = /^(-?[\d.]+)e([+-])(\d+)$/.exec(s);
    if (m) s = `${m[1]}e${m[2]}${m[3]!.padStart(2, '0')}`;
  }
  if (!/[.e]/.test(s)) s += '.0';
  return s;
}

/**
 * Anchored `resets`/`changes` over a window holding histograms (and maybe floats): from the last sample at
 * or before the range start, count resets or changes between consecutive samples; a switch between float
 * and histogram counts as one.
 */
function anchoredMixedCount(
  name: 'resets' | 'changes' | string,
  s: RawSeries,
  lo: number,
  hi: number,
  hlo: number,
  hhi: number,
  rangeStart: number,
): number | undefined {
  type P = { t: number; f: number; h: FloatHistogram | undefined };
  const merged: P[] = [];
  let i = lo;
  let j = hlo;
  while (i < hi || j < hhi) {
    if (j >= hhi || (i < hi && s.ft[i]! < s.ht[j]!)) merged.push({ t: s.ft[i]!, f: s.fv[i++]!, h: undefined });
    else merged.push({ t: s.ht[j]!, f: 0, h: s.hv[j++]! });
  }
  if (merged.length === 0 || merged[merged.length - 1]!.t <= rangeStart) return undefined;
  let first = 0;
  for (let k = 0; k < merged.length; k++) if (merged[k]!.t <= rangeStart) first = k;
  let count = 0;
  for (let k = first + 1; k < merged.length; k++) {
    const a = merged[k - 1]!;
    const b = merged[k]!;
    if (!a.h && !b.h) {
      if (name === 'resets' ? b.f < a.f : b.f !== a.f && !(Number.isNaN(a.f) && Number.isNaN(b.f))) count++;
    } else if (!a.h || !b.h) count++;
    else if (name === 'resets' ? b.h.detectReset(a.h) : !b.h.equals(a.h)) count++;
  }
  return count;
}

/**
 * The name matchers that decide which series are info metrics for `info()`: the selector's `__name__`
 * matchers; `target_info` without any; and only `*_info` metrics when all of them are negative.
 */
export function infoNameMatchers(matchers: readonly LabelMatcher[]): LabelMatcher[] {
  const names = matchers.filter((m) => m.name === METRIC_NAME_LABEL);
  if (names.length === 0) return [{ op: '=', name: METRIC_NAME_LABEL, value: 'target_info' }];
  if (names.every((m) => m.op === '!=' || m.op === '!~')) return [{ op: '=~', name: METRIC_NAME_LABEL, value: '.+_info' }, ...names];
  return names;
}

/**
 * The time at which `info()` looks up info series for each step: that of the first selector in its first
 * argument (its `@` and offset, and those of enclosing subqueries).
 */
export function infoReference(
  expr: Expr,
  dur: (d: DurationExpr | undefined) => number,
  atTime: (a: AtModifier | undefined) => number | undefined,
): { at: number | undefined; offsetMs: number } {
  let result: { at: number | undefined; offsetMs: number } | undefined;
  const visit = (e: Expr, at: number | undefined, offset: number): void => {
    if (result) return;
    switch (e.type) {
      case 'VectorSelector': {
        const a = atTime(e.at);
        result = a !== undefined ? { at: a, offsetMs: dur(e.offset) } : { at, offsetMs: offset + dur(e.offset) };
        return;
      }
      case 'MatrixSelector':
        visit(e.vs, at, offset);
        return;
      case 'SubqueryExpr': {
        const a = atTime(e.at);
        if (a !== undefined) visit(e.expr, a, dur(e.offset));
        else visit(e.expr, at, offset + dur(e.offset));
        return;
      }
      case 'ParenExpr':
      case 'UnaryExpr':
        visit(e.expr, at, offset);
        return;
      case 'Call':
        for (const x of e.args) visit(x, at, offset);
        return;
      case 'AggregateExpr':
        if (e.param) visit(e.param, at, offset);
        visit(e.expr, at, offset);
        return;
      case 'BinaryExpr':
        visit(e.lhs, at, offset);
        visit(e.rhs, at, offset);
        return;
      default:
        return;
    }
  };
  visit(expr, undefined, 0);
  return result ?? { at: undefined, offsetMs: 0 };
}

/** Receives a range function's series one at a time (see `Evaluator.rangeFunction`). */
type RangeSeriesSink = (s: StepSeries, kLo: number, kHi: number) => void;

/** A range function an aggregation can read streamed (see `Evaluator.fusableInput`). */
interface FusableInput {
  readonly call: Call;
  readonly matrixIdx: number;
  /** The function's output loses `__name__` at once (no delayed name removal). */
  readonly removeName: boolean;
  /** The aggregation's grouping labels, sorted. */
  readonly grouping: readonly string[];
  /** The selector's series as loaded (a superset of those the function answers for). */
  readonly loaded: readonly RawSeries[];
  /** A streamed series' labels as the aggregation groups them (clears its `dropName` where removed). */
  readonly groupLabels: (s: { labels: Labels; dropName: boolean }) => Labels;
}

/** A range-vector function's input. */
interface RangeInput {
  readonly series: RawSeries[];
  readonly rangeMs: number;
  readonly offsetMs: number;
  readonly at: number | undefined;
  readonly vs: VectorSelector | undefined;
}

function dropHistograms(series: StepSeries[]): StepSeries[] {
  return series.filter((s) => !s.hists || s.pres.includes(FLOAT));
}

/** The time of a series' first sample, float or histogram (Infinity without any). */
function firstSampleTime(s: RawSeries): number {
  const f = s.ft.length > 0 ? s.ft[0]! : Infinity;
  const h = s.ht.length > 0 ? s.ht[0]! : Infinity;
  return f < h ? f : h;
}

/** The first step (0..n) at or after time `t`. */
function firstStepReaching(steps: Steps, t: number): number {
  if (!(t > steps.start)) return 0;
  if (t === Infinity) return steps.n;
  let k = Math.min(steps.n, Math.ceil((t - steps.start) / steps.interval));
  // The division may round either way: settle on the exact step.
  while (k > 0 && steps.start + (k - 1) * steps.interval >= t) k--;
  while (k < steps.n && steps.start + k * steps.interval < t) k++;
  return k;
}

/** The first index in `arr[from..]` whose value is > `t` (arr ascending). */
function upperBoundIndex(arr: Float64Array, t: number, from: number): number {
  let lo = from;
  let hi = arr.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (arr[mid]! <= t) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

export type { MatrixSelector };
