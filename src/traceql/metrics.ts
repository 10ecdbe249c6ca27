import { HeimdallError } from '../model/index.ts';
import type { QueryDeadline, SpanCountRow, TraceQuerier } from '../storage/index.ts';
import type { AttributeRef, MetricsExpr, MetricsFirstStage, RootExpr, SecondStage, Static } from './ast.ts';
import { exactCountConditions, pushdownConditions } from './conditions.ts';
import { evaluateTrace, spanMatches } from './pipeline-eval.ts';
import { attributeLabel } from './printer.ts';
import { anyValueJson } from './search.ts';
import { stoppable, stopError } from './stop.ts';
import { TraceView, toStatic } from './trace-view.ts';
import type { EvalSpan } from './trace-view.ts';
import { NIL, staticKey } from './values.ts';

export interface MetricsParams {
  readonly startNs: bigint;
  readonly endNs: bigint;
  readonly stepNs: bigint;
  /** At most this many exemplars per series (0: none). */
  readonly exemplars: number;
  /** One value per series for the whole range (`/api/metrics/query`). */
  readonly instant: boolean;
  readonly deadline: QueryDeadline;
  readonly maxSeries: number;
}

interface Label {
  readonly name: string;
  readonly value: Static;
}

interface Exemplar {
  readonly traceId: string;
  readonly spanId: string;
  value: number;
  readonly timestampMs: number;
}

/** A series: labels, one value per interval (NaN: none), exemplars. */
interface Series {
  readonly labels: Label[];
  values: number[];
  exemplars: Exemplar[];
}

/** Maps span start times to intervals as Tempo does: (start, start+step], ... with aligned bounds; instant: one. */
class Intervals {
  readonly count: number;
  private readonly alignedStart: bigint;
  private readonly alignedEnd: bigint;
  constructor(private readonly p: MetricsParams) {
    if (p.instant) {
      this.count = 1;
      this.alignedStart = p.startNs;
      this.alignedEnd = p.endNs;
    } else {
      const step = p.stepNs;
      this.alignedStart = p.startNs - (p.startNs % step);
      const mod = p.endNs % step;
      this.alignedEnd = mod === 0n ? p.endNs : p.endNs + (step - mod);
      this.count = Number((this.alignedEnd - this.alignedStart) / step);
    }
  }

  /** The interval of a timestamp, or -1 outside the range. */
  of(ts: bigint): number {
    if (this.p.instant) return ts >= this.p.startNs && ts <= this.p.endNs ? 0 : -1;
    // Right-closed intervals over the aligned range: a span starting exactly on the aligned start is outside.
    if (ts <= this.alignedStart || ts > this.alignedEnd) return -1;
    const off = ts - this.alignedStart;
    let i = off / this.p.stepNs;
    if (i * this.p.stepNs === off) i--;
    return Number(i);
  }

  /** The intervals as storage's span count takes them: `(fromNs, toNs]` in steps (instant: one of `[start, end]`). */
  countRange(): { fromNs: bigint; toNs: bigint; stepNs: bigint } {
    if (this.p.instant) return { fromNs: this.p.startNs - 1n, toNs: this.p.endNs, stepNs: this.p.endNs - this.p.startNs + 1n };
    return { fromNs: this.alignedStart, toNs: this.alignedEnd, stepNs: this.p.stepNs };
  }

  timestampMs(i: number): number {
    const ts = this.p.instant ? this.p.endNs : this.alignedStart + BigInt(i + 1) * this.p.stepNs;
    return Number(ts / 1_000_000n);
  }

  /** Seconds per interval (rate's divisor). */
  get seconds(): number {
    return Number(this.p.instant ? this.p.endNs - this.p.startNs : this.p.stepNs) / 1e9;
  }
}

/** A value of a span as a number for metrics: durations in seconds; non-numbers undefined. */
function numericValue(s: EvalSpan, a: AttributeRef): number | undefined {
  const v = s.attribute(a);
  if (v.type === 'duration') return v.value / 1e9;
  if (v.type === 'int' || v.type === 'float') return v.value;
  return undefined;
}

/** Tempo's power-of-two bucket of a value (durations: of the nanoseconds, labelled in seconds). */
function bucketOf(s: EvalSpan, a: AttributeRef): number | undefined {
  const v = s.attribute(a);
  if (v.type !== 'int' && v.type !== 'duration') return undefined;
  if (v.value < 2) return undefined;
  const b = 2 ** Math.ceil(Math.log2(v.value));
  return v.type === 'duration' ? b / 1e9 : b;
}

/** Tempo's quantile over power-of-two buckets, interpolating exponentially within a bucket. */
function log2Quantile(p: number, buckets: readonly [number, number][]): number {
  const total = buckets.reduce((n, [, c]) => n + c, 0);
  if (buckets.length === 0 || total === 0 || p < 0 || p > 1) return 0;
  let maxSamples = Math.ceil(p * total);
  if (maxSamples === 0) maxSamples = 1;
  let seen = 0;
  let bucket = 0;
  for (let i = 0; i < buckets.length; i++) {
    bucket = i;
    const c = buckets[i]![1];
    if (seen + c > maxSamples) break;
    seen += c;
    if (seen === maxSamples) return buckets[i]![0];
  }
  const interp = (maxSamples - seen) / buckets[bucket]![1];
  const maxV = Math.log2(buckets[bucket]![0]);
  const minV = bucket > 0 ? Math.log2(buckets[bucket - 1]![0]) : maxV - 1;
  return 2 ** (minV + (maxV - minV) * interp);
}

/** Accumulates one first stage over spans, then yields its series. */
class FirstStage {
  private readonly groups = new Map<string, { labels: Label[]; acc: number[][]; n: number[]; exemplars: (Exemplar | undefined)[] }>();
  private readonly name: string;

  constructor(
    private readonly f: Extract<MetricsFirstStage, { kind: 'metricsAggregate' }>,
    private readonly iv: Intervals,
    private readonly exemplarLimit: number,
    private readonly maxSeries: number,
  ) {
    this.name = f.fn;
  }

  observe(s: EvalSpan): void {
    const i = this.iv.of(s.startNs);
    if (i < 0) return;
    const f = this.f;
    let extra: Label | undefined;
    let value = 1;
    if (f.fn === 'histogram_over_time' || f.fn === 'quantile_over_time') {
      const b = bucketOf(s, f.attr!);
      if (b === undefined) return;
      extra = { name: '__bucket', value: { type: 'float', value: b } };
    } else if (f.attr !== undefined) {
      const v = numericValue(s, f.attr);
      if (v === undefined) return;
      value = v;
    }
    const g = this.group(
      f.by.map((b) => s.attribute(b)),
      extra,
    );
    g.acc[i]!.push(value);
    g.n[i]!++;
    if (this.exemplarLimit > 0 && g.exemplars[i] === undefined) {
      const ev = f.attr !== undefined && f.fn !== 'histogram_over_time' ? numericValue(s, f.attr) ?? NaN : NaN;
      g.exemplars[i] = { traceId: s.stored.span.traceId, spanId: s.stored.span.spanId, value: ev, timestampMs: Number(s.startNs / 1_000_000n) };
    }
  }

  /** Whether storage can count this stage's spans itself (`countSpans`): a span count grouped by span or resource attributes. */
  countable(): boolean {
    return (this.f.fn === 'rate' || this.f.fn === 'count_over_time') && this.f.attr === undefined && this.f.by.every((b) => !b.parent && b.intrinsic === undefined && (b.scope === 'span' || b.scope === 'resource'));
  }

  /** Adds a group storage counted (see `countable`). */
  observeCount(row: SpanCountRow): void {
    const g = this.group(
      row.values.map((v) => (v === undefined ? NIL : toStatic(v))),
      undefined,
    );
    g.n[row.interval] = (g.n[row.interval] ?? 0) + row.count;
    if (this.exemplarLimit > 0 && g.exemplars[row.interval] === undefined) {
      g.exemplars[row.interval] = { traceId: row.exemplar.traceId, spanId: row.exemplar.spanId, value: NaN, timestampMs: Number(row.exemplar.startNs / 1_000_000n) };
    }
  }

  /** The group of the by() values (one per `by` attribute) and the extra label. */
  private group(byValues: readonly Static[], extra: Label | undefined): { labels: Label[]; acc: number[][]; n: number[]; exemplars: (Exemplar | undefined)[] } {
    const f = this.f;
    const labels: Label[] = [];
    f.by.forEach((b, k) => {
      const v = byValues[k]!;
      if (v.type !== 'nil') labels.push({ name: attributeLabel(b), value: v });
    });
    if (f.by.length > 0 && labels.length === 0) labels.push({ name: attributeLabel(f.by[0]!), value: { type: 'nil' } });
    if (f.by.length === 0 && extra === undefined) labels.push({ name: '__name__', value: { type: 'string', value: this.name } });
    if (extra !== undefined) labels.push(extra);
    const key = labels.map((l) => `${l.name}\u0000${staticKey(l.value)}`).join('\u0001');
    let g = this.groups.get(key);
    if (g === undefined) {
      if (this.groups.size >= this.maxSeries) {
        throw new HeimdallError('execution', `the query produces more than ${this.maxSeries} series (traces.query.max_series)`, { code: 'too_many_series' });
      }
      g = { labels, acc: Array.from({ length: this.iv.count }, () => []), n: new Array<number>(this.iv.count).fill(0), exemplars: new Array<Exemplar | undefined>(this.iv.count) };
      this.groups.set(key, g);
    }
    return g;
  }

  series(): Series[] {
    const f = this.f;
    const out: Series[] = [];
    if (f.fn === 'quantile_over_time') {
      // Merge the bucket series of each label set, then one series per quantile with label p.
      const byLabels = new Map<string, { labels: Label[]; buckets: Map<number, number>[]; exemplars: Exemplar[] }>();
      for (const g of this.groups.values()) {
        const base = g.labels.filter((l) => l.name !== '__bucket');
        const bucket = (g.labels.find((l) => l.name === '__bucket')!.value as { value: number }).value;
        const k = base.map((l) => `${l.name}\u0000${staticKey(l.value)}`).join('\u0001');
        let e = byLabels.get(k);
        if (e === undefined) byLabels.set(k, (e = { labels: base, buckets: Array.from({ length: this.iv.count }, () => new Map()), exemplars: [] }));
        g.acc.forEach((vals, i) => {
          if (vals.length > 0) e.buckets[i]!.set(bucket, (e.buckets[i]!.get(bucket) ?? 0) + vals.length);
        });
        for (const x of g.exemplars) if (x !== undefined) e.exemplars.push(x);
      }
      for (const e of byLabels.values()) {
        for (const q of f.quantiles ?? []) {
          const values = e.buckets.map((m) => (m.size === 0 ? NaN : log2Quantile(q, [...m.entries()].sort((a, b) => a[0] - b[0]))));
          out.push({ labels: [...e.labels, { name: 'p', value: { type: 'float', value: q } }], values, exemplars: e.exemplars });
        }
      }
      return out.map((s) => ({ ...s, exemplars: this.limitExemplars(s.exemplars, s.values) }));
    }
    for (const g of this.groups.values()) {
      const values = g.acc.map((vals, i) => {
        switch (f.fn) {
          case 'rate':
            return g.n[i]! / this.iv.seconds;
          case 'count_over_time':
          case 'histogram_over_time':
            return g.n[i]!;
          case 'min_over_time':
            return vals.length === 0 ? NaN : vals.reduce((a, b) => (b < a ? b : a));
          case 'max_over_time':
            return vals.length === 0 ? NaN : vals.reduce((a, b) => (b > a ? b : a));
          case 'sum_over_time':
            return vals.length === 0 ? NaN : vals.reduce((a, b) => a + b, 0);
          case 'avg_over_time':
            return vals.length === 0 ? NaN : vals.reduce((a, b) => a + b, 0) / vals.length;
          default:
            return NaN;
        }
      });
      const exemplars = g.exemplars.filter((x): x is Exemplar => x !== undefined);
      out.push({ labels: g.labels, values, exemplars: this.limitExemplars(exemplars, values) });
    }
    return out;
  }

  /** At most the limit, spread evenly over time; value-less exemplars take their interval's value. */
  private limitExemplars(xs: Exemplar[], values: number[]): Exemplar[] {
    let out = xs;
    if (out.length > this.exemplarLimit) {
      const stride = out.length / this.exemplarLimit;
      out = Array.from({ length: this.exemplarLimit }, (_, k) => xs[Math.floor(k * stride)]!);
    }
    return out.map((x) => {
      if (!Number.isNaN(x.value)) return x;
      const i = this.iv.of(BigInt(x.timestampMs) * 1_000_000n);
      return { ...x, value: i >= 0 ? (values[i] ?? NaN) : NaN };
    });
  }
}

/** compare(): per attribute value, span counts of the selection (the filter matches) and of the baseline. */
class CompareStage {
  // attribute label → value key → {value, selection counts, baseline counts}
  private readonly counts = new Map<string, Map<string, { value: Static; sel: number[]; base: number[] }>>();
  private readonly totals = new Map<string, { sel: number[]; base: number[] }>();

  constructor(
    private readonly f: Extract<MetricsFirstStage, { kind: 'compare' }>,
    private readonly iv: Intervals,
  ) {}

  observe(s: EvalSpan): void {
    const i = this.iv.of(s.startNs);
    if (i < 0) return;
    const startNs = Number(s.startNs);
    const inWindow = this.f.startNs === 0 || (startNs > this.f.startNs && startNs <= this.f.endNs);
    const selected = inWindow && spanMatches(this.f.filter.expr, s);
    const add = (name: string, value: Static): void => {
      let m = this.counts.get(name);
      if (m === undefined) this.counts.set(name, (m = new Map()));
      const k = staticKey(value);
      let e = m.get(k);
      if (e === undefined) m.set(k, (e = { value, sel: new Array<number>(this.iv.count).fill(0), base: new Array<number>(this.iv.count).fill(0) }));
      (selected ? e.sel : e.base)[i]!++;
      let t = this.totals.get(name);
      if (t === undefined) this.totals.set(name, (t = { sel: new Array<number>(this.iv.count).fill(0), base: new Array<number>(this.iv.count).fill(0) }));
      (selected ? t.sel : t.base)[i]!++;
    };
    const span = s.stored.span;
    for (const a of span.attributes) add(`span.${a.key}`, s.attribute({ kind: 'attribute', scope: 'span', name: a.key, parent: false }));
    for (const a of s.stored.resource) add(`resource.${a.key}`, s.attribute({ kind: 'attribute', scope: 'resource', name: a.key, parent: false }));
    for (const i of ['span:name', 'span:status', 'span:kind'] as const) add(attributeLabel({ kind: 'attribute', scope: 'none', name: i, parent: false, intrinsic: i }), s.attribute({ kind: 'attribute', scope: 'none', name: i, parent: false, intrinsic: i }));
  }

  series(): Series[] {
    const out: Series[] = [];
    const meta = (t: string): Label => ({ name: '__meta_type', value: { type: 'string', value: t } });
    for (const [name, m] of this.counts) {
      for (const [kind, pick] of [['selection', (e: { sel: number[] }) => e.sel], ['baseline', (e: { base: number[] }) => e.base]] as const) {
        const entries = [...m.values()].map((e) => ({ e, total: pick(e).reduce((a, b) => a + b, 0) })).filter((x) => x.total > 0);
        entries.sort((a, b) => b.total - a.total || (staticKey(a.e.value) < staticKey(b.e.value) ? -1 : 1));
        for (const { e } of entries.slice(0, this.f.topN)) out.push({ labels: [meta(kind), { name, value: e.value }], values: pick(e).map((c) => c), exemplars: [] });
        if (entries.length > this.f.topN) {
          out.push({ labels: [meta(kind), { name, value: { type: 'nil' } }, { name: '__meta_error', value: { type: 'string', value: '__too_many_values__' } }], values: new Array<number>(this.iv.count).fill(NaN), exemplars: [] });
        }
      }
      const t = this.totals.get(name)!;
      out.push({ labels: [meta('selection_total'), { name, value: { type: 'nil' } }], values: t.sel, exemplars: [] });
      out.push({ labels: [meta('baseline_total'), { name, value: { type: 'nil' } }], values: t.base, exemplars: [] });
    }
    return out;
  }
}

interface Leaf {
  readonly node: Extract<MetricsExpr, { kind: 'metricsPipeline' }>;
  readonly stage: FirstStage | CompareStage;
}

function leaves(e: MetricsExpr, out: Extract<MetricsExpr, { kind: 'metricsPipeline' }>[] = []): Extract<MetricsExpr, { kind: 'metricsPipeline' }>[] {
  if (e.kind === 'metricsPipeline') out.push(e);
  else {
    leaves(e.lhs, out);
    leaves(e.rhs, out);
  }
  return out;
}

function labelsKey(labels: readonly Label[]): string {
  return labels
    .filter((l) => l.name !== '__name__')
    .map((l) => `${l.name}\u0000${staticKey(l.value)}`)
    .sort()
    .join('\u0001');
}

function applyStage(s: SecondStage, input: Series[], intervals: number): Series[] {
  switch (s.kind) {
    case 'metricsScalarOp':
      return input.map((x) => {
        const f = (v: number): number => arith(s.op, s.scalarOnLeft ? s.value : v, s.scalarOnLeft ? v : s.value);
        return { ...x, values: x.values.map(f), exemplars: x.exemplars.map((e) => ({ ...e, value: f(e.value) })) };
      });
    case 'metricsFilter': {
      const test = (v: number): boolean => compare(s.op, v, s.value);
      const out: Series[] = [];
      for (const x of input) {
        const values = x.values.map((v) => (Number.isNaN(v) || !test(v) ? NaN : v));
        if (values.every((v) => Number.isNaN(v))) continue;
        out.push({ ...x, values, exemplars: x.exemplars.filter((e) => !Number.isNaN(e.value) && test(e.value)) });
      }
      return out;
    }
    case 'topk':
    case 'bottomk': {
      if (input.length <= s.limit) return input;
      const keep = input.map(() => new Array<boolean>(intervals).fill(false));
      for (let i = 0; i < intervals; i++) {
        const ranked = input
          .map((x, idx) => ({ v: x.values[i] ?? NaN, idx }))
          .filter((r) => !Number.isNaN(r.v))
          .sort((a, b) => (s.kind === 'topk' ? b.v - a.v : a.v - b.v));
        for (const r of ranked.slice(0, s.limit)) keep[r.idx]![i] = true;
      }
      const out: Series[] = [];
      input.forEach((x, idx) => {
        const values = x.values.map((v, i) => (keep[idx]![i] ? v : NaN));
        if (values.some((v) => !Number.isNaN(v))) out.push({ ...x, values });
      });
      return out;
    }
  }
}

function arith(op: '+' | '-' | '*' | '/', l: number, r: number): number {
  switch (op) {
    case '+':
      return l + r;
    case '-':
      return l - r;
    case '*':
      return l * r;
    case '/':
      return r === 0 ? NaN : l / r;
  }
}

function compare(op: string, v: number, c: number): boolean {
  switch (op) {
    case '>':
      return v > c;
    case '>=':
      return v >= c;
    case '<':
      return v < c;
    case '<=':
      return v <= c;
    case '=':
      return v === c;
    default:
      return v !== c;
  }
}

/** Arithmetic between two series sets: matched by labels; a side with one label-less series applies to all. */
function applyMath(op: '+' | '-' | '*' | '/', lhs: Series[], rhs: Series[]): Series[] {
  const index = (xs: Series[]): Map<string, Series> => new Map(xs.map((x) => [labelsKey(x.labels), x]));
  const l = index(lhs);
  const r = index(rhs);
  const target = r.has('') ? l : r;
  const out: Series[] = [];
  for (const [k, t] of target) {
    const a = l.get(k) ?? l.get('');
    const b = r.get(k) ?? r.get('');
    if (a === undefined || b === undefined) continue;
    const n = Math.min(a.values.length, b.values.length);
    const values = Array.from({ length: n }, (_, i) => arith(op, a.values[i]!, b.values[i]!));
    const labels = [...a.labels.filter((x) => x.name !== '__name__')];
    for (const x of b.labels) if (x.name !== '__name__' && !labels.some((y) => y.name === x.name)) labels.push(x);
    const an = a.labels.find((x) => x.name === '__name__');
    const bn = b.labels.find((x) => x.name === '__name__');
    if (an !== undefined && bn !== undefined) {
      labels.unshift({ name: '__name__', value: { type: 'string', value: `(${String((an.value as { value: string }).value)} ${op} ${String((bn.value as { value: string }).value)})` } });
    }
    void t;
    out.push({ labels, values, exemplars: [...a.exemplars, ...b.exemplars] });
  }
  return out;
}

function evaluateExpr(e: MetricsExpr, results: Map<MetricsExpr, Series[]>, intervals: number): Series[] {
  let out = e.kind === 'metricsPipeline' ? results.get(e)! : applyMath(e.op, evaluateExpr(e.lhs, results, intervals), evaluateExpr(e.rhs, results, intervals));
  for (const s of e.stages) out = applyStage(s, out, intervals);
  return out;
}

/**
 * Runs a TraceQL metrics query over the traces `querier` holds in the range: each matching span is counted in
 * the interval of its start time. Answers Tempo's `/api/metrics/query_range` JSON (`{series:[{labels, samples,
 * exemplars}], metrics}`, int64 as strings), or `/api/metrics/query`'s (`{series:[{labels, value}]}`) when instant.
 */
export async function runMetrics(querier: TraceQuerier, root: Extract<RootExpr, { kind: 'metrics' }>, p: MetricsParams): Promise<string> {
  const iv = new Intervals(p);
  const ls: Leaf[] = leaves(root.expr).map((node) => ({
    node,
    stage: node.first.kind === 'compare' ? new CompareStage(node.first, iv) : new FirstStage(node.first, iv, p.exemplars, p.maxSeries),
  }));
  const signal = p.deadline.signal;
  let inspectedTraces = 0;
  let inspectedSpans = 0;
  const only = ls.length === 1 ? ls[0]! : undefined;
  const countConditions = only && only.stage instanceof FirstStage && only.stage.countable() ? exactCountConditions(only.node.pipeline) : undefined;
  if (only && countConditions !== undefined && querier.countSpans) {
    // The selected spans are what storage can count itself: per interval and group (one aggregate query per source,
    // no trace assembled). Undefined when it cannot count these conditions exactly over the range.
    const groupBy = (only.node.first as Extract<MetricsFirstStage, { kind: 'metricsAggregate' }>).by.map((b) => ({ scope: b.scope as 'span' | 'resource', name: b.name }));
    const rows = await querier
      .countSpans({ ...iv.countRange(), groupBy, ...(countConditions.length > 0 ? { conditions: countConditions } : {}), ...(signal === undefined ? {} : { signal }) })
      .catch((err: unknown) => {
        const stop = p.deadline.poll();
        throw stop !== undefined ? stopError(stop) : err;
      });
    if (rows !== undefined) {
      for (const row of rows) {
        (only.stage as FirstStage).observeCount(row);
        inspectedSpans += row.count;
      }
      return encodeMetrics(root, ls, iv, p, inspectedTraces, inspectedSpans);
    }
  }
  const conditions = only ? pushdownConditions(only.node.pipeline) : [];
  const selection = querier.select({
    startNs: p.startNs - (p.instant ? 0n : p.startNs % p.stepNs),
    endNs: p.endNs + 1n,
    ...(conditions.length > 0 ? { conditions, conditionsMatch: 'all' as const } : {}),
    ...(signal === undefined ? {} : { signal }),
  });
  for await (const batch of stoppable(selection, p.deadline)) {
    for (const stored of batch) {
      const stop = p.deadline.poll();
      if (stop !== undefined) throw stopError(stop);
      inspectedTraces++;
      inspectedSpans += stored.spans.length;
      const trace = new TraceView(stored);
      for (const leaf of ls) {
        const seen = new Set<EvalSpan>();
        for (const ss of evaluateTrace(leaf.node.pipeline, trace)) {
          for (const s of ss.spans) {
            if (seen.has(s)) continue;
            seen.add(s);
            leaf.stage.observe(s);
          }
        }
      }
    }
  }
  return encodeMetrics(root, ls, iv, p, inspectedTraces, inspectedSpans);
}

/** The stages' series through the query's second stages and arithmetic, in Tempo's JSON. */
function encodeMetrics(root: Extract<RootExpr, { kind: 'metrics' }>, ls: readonly Leaf[], iv: Intervals, p: MetricsParams, inspectedTraces: number, inspectedSpans: number): string {
  const results = new Map<MetricsExpr, Series[]>(ls.map((l) => [l.node, l.stage.series()]));
  const series = evaluateExpr(root.expr, results, iv.count);
  series.sort((a, b) => (labelsKey(a.labels) < labelsKey(b.labels) ? -1 : labelsKey(a.labels) > labelsKey(b.labels) ? 1 : 0));
  const metrics = { inspectedTraces, inspectedSpans: String(inspectedSpans), completedJobs: 1, totalJobs: 1 };
  const labelsJson = (labels: readonly Label[]): { key: string; value: Record<string, unknown> }[] => labels.map((l) => ({ key: l.name, value: anyValueJson(l.value) }));
  if (p.instant) {
    const out = series.filter((s) => !Number.isNaN(s.values[0] ?? NaN)).map((s) => ({ labels: labelsJson(s.labels), value: jsonNumber(s.values[0]!) }));
    return JSON.stringify({ series: out, metrics });
  }
  const out = [];
  for (const s of series) {
    const samples = [];
    for (let i = 0; i < s.values.length && i < iv.count; i++) {
      const v = s.values[i]!;
      if (!Number.isNaN(v)) samples.push({ timestampMs: String(iv.timestampMs(i)), value: jsonNumber(v) });
    }
    if (samples.length === 0) continue;
    const exemplars = s.exemplars
      .filter((e) => {
        const i = iv.of(BigInt(e.timestampMs) * 1_000_000n);
        return i >= 0 && !Number.isNaN(s.values[i] ?? NaN);
      })
      .map((e) => ({
        labels: [
          { key: 'trace:id', value: { stringValue: e.traceId } },
          { key: 'span:id', value: { stringValue: e.spanId } },
        ],
        value: jsonNumber(e.value),
        timestampMs: String(e.timestampMs),
      }));
    out.push({ labels: labelsJson(s.labels), samples, ...(exemplars.length > 0 ? { exemplars } : {}) });
  }
  return JSON.stringify({ series: out, metrics });
}

/** A float as protobuf JSON writes it: NaN and infinities as strings. */
function jsonNumber(v: number): number | string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return 'Infinity';
  if (v === -Infinity) return '-Infinity';
  return v;
}
