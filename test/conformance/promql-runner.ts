/**
 * Runs Prometheus' PromQL acceptance scripts (`../shared/fixtures/promql/*.test`) through our engine over
 * the real TSDB. Usage: `npm run conformance:promql` (prints a per-file table and writes the failures to
 * `conformance-failures-promql.txt`). `runPromqlSuite` is also used by the ratchet test.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { configSchema } from '../../src/config/index.ts';
import type { Labels, MetricRecord, TenantId } from '../../src/model/index.ts';
import { isStaleNaN, labelsKey } from '../../src/model/index.ts';
import { PromqlEngine, PromqlError, formatExpr, parseExpr } from '../../src/promql/index.ts';
import type { Expr } from '../../src/promql/index.ts';
import type { PromValue, QueryResult } from '../../src/promql/index.ts';
import { FloatHistogram } from '../../src/promql/histogram.ts';
import { Tsdb } from '../../src/tsdb/index.ts';
import { parseTestFile } from './promql-testfile.ts';
import { SHARED_FIXTURES_DIR, missingFixturesReason } from './shared-fixtures.ts';
import type { EvalCmd, LoadCmd, SeqValue } from './promql-testfile.ts';
import { tsdbConfigOptions } from '../../src/app/engine-options.ts';

const HERE = path.dirname(fileURLToPath(import.meta.url));
/** The fixtures, referenced in place (never copied into the repository). */
export const FIXTURES_DIR = path.join(SHARED_FIXTURES_DIR, 'promql');

/** Files that exercise experimental or feature-flagged PromQL, with the reason (fixtures README §1.6). */
export const EXPERIMENTAL_FILES: Readonly<Record<string, string>> = {
  'duration_expression.test': 'experimental duration expressions',
  'extended_vectors.test': 'experimental anchored/smoothed range selectors',
  'fill-modifier.test': 'experimental fill() binary-operator modifiers',
  'info.test': 'experimental info() function',
  'limit.test': 'experimental limitk/limit_ratio aggregations',
  'start_timestamps.test': 'experimental start timestamps (@st)',
  'type_and_unit.test': 'experimental __type__/__unit__ labels',
  'name_label_dropping.test': 'experimental delayed __name__ removal file',
};

const EXPERIMENTAL_EXPR: readonly [RegExp, string][] = [
  [/\bsort_by_label(_desc)?\s*\(/, 'experimental function sort_by_label'],
  [/\bmad_over_time\s*\(/, 'experimental function mad_over_time'],
  [/\bdouble_exponential_smoothing\s*\(/, 'experimental function double_exponential_smoothing'],
  [/\bts_of_(first|last|min|max)_over_time\s*\(/, 'experimental function ts_of_*_over_time'],
  [/\bfirst_over_time\s*\(/, 'experimental function first_over_time'],
  [/\bhistogram_quantiles\s*\(/, 'experimental function histogram_quantiles'],
  [/\b(max_of|min_of)\s*\(/, 'experimental scalar functions min_of/max_of'],
  [/\b(start|end|range|step)\s*\(\s*\)/, 'experimental functions start()/end()/range()/step()'],
  [/\bstart_timestamp\s*\(/, 'experimental function start_timestamp'],
  [/\b(limitk|limit_ratio)\s*\(/, 'experimental aggregations limitk/limit_ratio'],
  [/\b(anchored|smoothed)\b/, 'experimental anchored/smoothed modifiers'],
  [/\binfo\s*\(/, 'experimental info() function'],
];

export interface FileResult {
  readonly file: string;
  passed: number;
  failed: number;
  skipped: number;
  readonly failures: string[];
  readonly skips: string[];
  /** Instant evals failing upstream's extra range-mode or @ checks (reported, not counted as failures). */
  rangeModeMismatches: number;
  readonly rangeModeFailures: string[];
  ms: number;
}

export interface SuiteResult {
  readonly files: FileResult[];
  readonly passed: number;
  readonly failed: number;
  readonly skipped: number;
}

function experimentalReason(file: string, expr: string): string | undefined {
  const f = EXPERIMENTAL_FILES[file];
  if (f) return f;
  for (const [re, reason] of EXPERIMENTAL_EXPR) if (re.test(expr)) return reason;
  return undefined;
}

const EPSILON = 0.000001;

/** Prometheus' `almost.Equal` with the suite's tolerance. */
export function almostEqual(a: number, b: number): boolean {
  if (isStaleNaN(a) || isStaleNaN(b)) return isStaleNaN(a) && isStaleNaN(b);
  if (Number.isNaN(a) && Number.isNaN(b)) return true;
  if (a === b) return true;
  const absSum = Math.abs(a) + Math.abs(b);
  const diff = Math.abs(a - b);
  if (a === 0 || b === 0 || absSum < Number.MIN_VALUE) return diff < EPSILON * Number.MIN_VALUE;
  return diff / Math.min(absSum, Number.MAX_VALUE) < EPSILON;
}

function sparse(spans: readonly { offset: number; length: number }[], buckets: readonly number[]): [number, number][] {
  const out: [number, number][] = [];
  let i = 0;
  let b = 0;
  for (const s of spans) {
    i += s.offset;
    for (let k = 0; k < s.length; k++) {
      const c = buckets[b++] ?? 0;
      if (c !== 0) out.push([i, c]);
      i++;
    }
  }
  return out;
}

function histEqual(exp: FloatHistogram, got: FloatHistogram, hintSet: boolean): boolean {
  if (exp.schema !== got.schema || !almostEqual(exp.count, got.count) || !almostEqual(exp.sum, got.sum)) return false;
  if (exp.usesCustomBuckets) {
    const a = exp.customValues ?? [];
    const b = got.customValues ?? [];
    if (a.length !== b.length || a.some((v, i) => v !== b[i])) return false;
  }
  if (exp.zeroThreshold !== got.zeroThreshold || !almostEqual(exp.zeroCount, got.zeroCount)) return false;
  for (const [x, y] of [
    [sparse(exp.negativeSpans, exp.negativeBuckets), sparse(got.negativeSpans, got.negativeBuckets)],
    [sparse(exp.positiveSpans, exp.positiveBuckets), sparse(got.positiveSpans, got.positiveBuckets)],
  ] as const) {
    if (x.length !== y.length) return false;
    for (let i = 0; i < x.length; i++) {
      if (x[i]![0] !== y[i]![0] || !almostEqual(x[i]![1], y[i]![1])) return false;
    }
  }
  if (hintSet && exp.counterResetHint !== got.counterResetHint) return false;
  return true;
}

function histString(h: FloatHistogram): string {
  return `{{schema:${h.schema} count:${h.count} sum:${h.sum} z:${h.zeroCount}/${h.zeroThreshold} +${JSON.stringify(sparse(h.positiveSpans, h.positiveBuckets))} -${JSON.stringify(sparse(h.negativeSpans, h.negativeBuckets))}${h.customValues ? ` cv:${JSON.stringify(h.customValues)}` : ''} hint:${h.counterResetHint}}}`;
}

interface ActualSeries {
  labels: Labels;
  floats: [number, number][];
  hists: [number, FloatHistogram][];
}

function actualFromValue(v: PromValue): ActualSeries[] | undefined {
  if (v.type === 'vector') {
    return v.samples.map((s) => ({
      labels: s.labels,
      floats: s.value !== undefined ? [[s.timestampMs, s.value]] : [],
      hists: s.histogram ? [[s.timestampMs, FloatHistogram.fromModel(s.histogram)]] : [],
    }));
  }
  if (v.type === 'matrix') {
    return v.series.map((s) => ({
      labels: s.labels,
      floats: Array.from(s.timestampsMs, (t, i) => [t, s.values[i]!] as [number, number]),
      hists: s.histograms ? s.histograms.map((h, i) => [s.histogramTimestampsMs![i]!, FloatHistogram.fromModel(h)] as [number, FloatHistogram]) : [],
    }));
  }
  return undefined;
}

function checkAnnotations(cmd: EvalCmd, res: QueryResult): string | undefined {
  if (cmd.warn && res.warnings.length === 0) return 'expected warnings but got none';
  if (cmd.info && res.infos.length === 0) return 'expected info annotations but got none';
  const check = (kind: string, expects: readonly { message?: string; regex?: RegExp }[], actual: string[]): string | undefined => {
    if (expects.length === 0) return undefined;
    if (actual.length === 0) return `expected ${kind} annotations but none were found`;
    const matches = (e: { message?: string; regex?: RegExp }, a: string): boolean =>
      e.message !== undefined ? e.message === a : e.regex!.test(a);
    for (const e of expects) {
      if (!actual.some((a) => matches(e, a))) return `expected ${kind} annotation ${e.message ?? e.regex} not found; got ${JSON.stringify(actual)}`;
    }
    for (const a of actual) {
      if (!expects.some((e) => matches(e, a))) return `unexpected ${kind} annotation ${JSON.stringify(a)}`;
    }
    return undefined;
  };
  const w = check('warn', cmd.expectWarn, res.warnings);
  if (w) return w;
  const i = check('info', cmd.expectInfo, res.infos);
  if (i) return i;
  if (cmd.noWarn && res.warnings.length > 0) return `unexpected warnings ${JSON.stringify(res.warnings)}`;
  if (cmd.noInfo && res.infos.length > 0) return `unexpected infos ${JSON.stringify(res.infos)}`;
  return undefined;
}

function compare(cmd: EvalCmd, res: QueryResult): string | undefined {
  const v = res.value;
  if (cmd.expectString !== undefined) {
    if (v.type !== 'string') return `expected string, got ${v.type}`;
    return v.value === cmd.expectString ? undefined : `expected string ${JSON.stringify(cmd.expectString)} got ${JSON.stringify(v.value)}`;
  }
  if (cmd.scalar !== undefined) {
    if (v.type !== 'scalar') return `expected scalar ${cmd.scalar}, got ${v.type}`;
    return almostEqual(cmd.scalar, v.value) ? undefined : `expected scalar ${cmd.scalar} but got ${v.value}`;
  }
  if (v.type === 'scalar' || v.type === 'string') return `expected vector or matrix result, but got ${v.type} ${JSON.stringify(v)}`;
  const actual = actualFromValue(v)!;
  const isMatrix = v.type === 'matrix';
  if (isMatrix && cmd.ordered) return 'expected ordered result, but query returned a matrix';
  const expected = new Map<string, { labels: Labels; values: SeqValue[]; pos: number }>();
  cmd.series.forEach((s, i) => expected.set(labelsKey(s.labels), { labels: s.labels, values: s.values, pos: i }));
  if (isMatrix) {
    for (let i = 1; i < actual.length; i++) {
      if (labelsKey(actual[i - 1]!.labels) > labelsKey(actual[i]!.labels) && compareLabelSets(actual[i - 1]!.labels, actual[i]!.labels) > 0) {
        return 'matrix results should always be sorted by labels';
      }
    }
  }
  const seen = new Set<string>();
  const start = cmd.rangeVector ? cmd.rangeVector.startMs : cmd.startMs;
  const step = cmd.rangeVector ? cmd.rangeVector.stepMs : cmd.stepMs;
  const end = cmd.rangeVector ? cmd.rangeVector.endMs : cmd.endMs;
  for (let idx = 0; idx < actual.length; idx++) {
    const a = actual[idx]!;
    const key = labelsKey(a.labels);
    const exp = expected.get(key);
    if (!exp) return `unexpected metric ${key} in result (floats ${JSON.stringify(a.floats)} hists ${a.hists.map(([t, h]) => `${t}:${histString(h)}`).join(' ')})`;
    seen.add(key);
    if (cmd.ordered && exp.pos !== idx) return `expected metric ${key} at position ${exp.pos + 1} but was at ${idx + 1}`;
    if (!isMatrix) {
      const e0 = exp.values[0];
      if (!e0) return `no expected value for ${key}`;
      if (e0.kind === 'hist') {
        if (a.hists.length !== 1) return `expected histogram for ${key} but got float ${a.floats[0]?.[1]}`;
        if (!histEqual(e0.h.copy().compact(), a.hists[0]![1].copy().compact(), e0.hintSet)) {
          return `expected ${histString(e0.h)} for ${key} but got ${histString(a.hists[0]![1])}`;
        }
      } else if (e0.kind === 'float') {
        if (a.floats.length !== 1) return `expected float ${e0.value} for ${key} but got histogram ${a.hists[0] ? histString(a.hists[0][1]) : '?'}`;
        if (!almostEqual(e0.value, a.floats[0]![1])) return `expected ${e0.value} for ${key} but got ${a.floats[0]![1]}`;
      }
      continue;
    }
    const expFloats: [number, number][] = [];
    const expHists: [number, FloatHistogram, boolean][] = [];
    for (let i = 0; i < exp.values.length; i++) {
      const t = start + i * step;
      if (t > end) return `expected ${exp.values.length} points for ${key}, but query time range cannot return this many points`;
      const e = exp.values[i]!;
      if (e.kind === 'float') expFloats.push([t, e.value]);
      else if (e.kind === 'hist') expHists.push([t, e.h, e.hintSet]);
    }
    if (expFloats.length !== a.floats.length || expHists.length !== a.hists.length) {
      return `expected ${expFloats.length} float points and ${expHists.length} histogram points for ${key}, but got floats ${JSON.stringify(a.floats)} hists ${a.hists.map(([t, h]) => `${t}:${histString(h)}`).join(' ')}`;
    }
    for (let i = 0; i < expFloats.length; i++) {
      const [et, ev] = expFloats[i]!;
      const [at, av] = a.floats[i]!;
      if (et !== at) return `expected float at index ${i} for ${key} to have timestamp ${et}, but it had ${at}`;
      if (!almostEqual(ev, av)) return `expected float value at index ${i} (t=${at}) for ${key} to be ${ev}, but got ${av}`;
    }
    for (let i = 0; i < expHists.length; i++) {
      const [et, eh, hintSet] = expHists[i]!;
      const [at, ah] = a.hists[i]!;
      if (et !== at) return `expected histogram at index ${i} for ${key} to have timestamp ${et}, but it had ${at}`;
      if (!histEqual(eh.copy().compact(), ah.copy().compact(), hintSet)) {
        return `expected histogram at index ${i} (t=${at}) for ${key} to be ${histString(eh)}, but got ${histString(ah)}`;
      }
    }
  }
  for (const key of expected.keys()) if (!seen.has(key)) return `expected metric ${key} not found`;
  return undefined;
}

function compareLabelSets(a: Labels, b: Labels): number {
  const ka = Object.keys(a).sort();
  const kb = Object.keys(b).sort();
  for (let i = 0; i < Math.min(ka.length, kb.length); i++) {
    if (ka[i] !== kb[i]) return ka[i]! < kb[i]! ? -1 : 1;
    const va = a[ka[i]!]!;
    const vb = b[kb[i]!]!;
    if (va !== vb) return va < vb ? -1 : 1;
  }
  return ka.length - kb.length;
}

/** Records to append for a load command (with `load_with_nhcb`, also the derived custom-bucket histograms). */
function loadRecords(cmd: LoadCmd): MetricRecord[] {
  const records: MetricRecord[] = [];
  for (const s of cmd.series) {
    const samples: { timestampMs: number; value: number }[] = [];
    const histograms: { timestampMs: number; histogram: ReturnType<FloatHistogram['toModel']> }[] = [];
    s.values.forEach((v, i) => {
      const t = i * cmd.stepMs;
      if (v.kind === 'float') samples.push({ timestampMs: t, value: v.value });
      else if (v.kind === 'hist') histograms.push({ timestampMs: t, histogram: v.h.toModel() });
    });
    records.push({ labels: s.labels, samples, histograms });
  }
  if (cmd.withNhcb) records.push(...nhcbRecords(cmd));
  return records;
}

/** Converts classic `_bucket`/`_count`/`_sum` series into native histograms with custom buckets per timestamp. */
function nhcbRecords(cmd: LoadCmd): MetricRecord[] {
  interface Temp {
    buckets: Map<number, number>;
    count?: number;
    sum?: number;
  }
  const byBase = new Map<string, { labels: Labels; byTs: Map<number, Temp> }>();
  for (const s of cmd.series) {
    const name = s.labels.__name__ ?? '';
    let kind: 'bucket' | 'count' | 'sum' | undefined;
    let base = name;
    if (name.endsWith('_bucket')) {
      kind = 'bucket';
      base = name.slice(0, -7);
    } else if (name.endsWith('_count')) {
      kind = 'count';
      base = name.slice(0, -6);
    } else if (name.endsWith('_sum')) {
      kind = 'sum';
      base = name.slice(0, -4);
    }
    if (!kind) continue;
    let le = NaN;
    if (kind === 'bucket') {
      if (s.labels.le === undefined) continue;
      le = Number(s.labels.le === '+Inf' ? Infinity : s.labels.le);
      if (Number.isNaN(le)) continue;
    }
    const labels: Record<string, string> = {};
    for (const k in s.labels) if (k !== 'le' && k !== '__name__') labels[k] = s.labels[k]!;
    labels.__name__ = base;
    const key = labelsKey(labels);
    let entry = byBase.get(key);
    if (!entry) {
      entry = { labels, byTs: new Map() };
      byBase.set(key, entry);
    }
    s.values.forEach((v, i) => {
      if (v.kind !== 'float') return;
      const t = i * cmd.stepMs;
      let temp = entry.byTs.get(t);
      if (!temp) {
        temp = { buckets: new Map() };
        entry.byTs.set(t, temp);
      }
      if (kind === 'bucket') temp.buckets.set(le, v.value);
      else if (kind === 'count') temp.count = v.value;
      else temp.sum = v.value;
    });
  }
  const out: MetricRecord[] = [];
  for (const { labels, byTs } of byBase.values()) {
    const histograms: { timestampMs: number; histogram: ReturnType<FloatHistogram['toModel']> }[] = [];
    for (const [t, temp] of [...byTs.entries()].sort((a, b) => a[0] - b[0])) {
      const les = [...temp.buckets.keys()].sort((a, b) => a - b);
      if (les.length === 0) continue;
      const h = new FloatHistogram();
      h.schema = -53;
      const bounds = les.filter((x) => x !== Infinity);
      h.customValues = bounds;
      let prev = 0;
      const counts: number[] = [];
      for (const le of les) {
        const c = temp.buckets.get(le)!;
        counts.push(c - prev);
        prev = c;
      }
      if (les[les.length - 1] !== Infinity) counts.push(0);
      h.positiveSpans = counts.length > 0 ? [{ offset: 0, length: counts.length }] : [];
      h.positiveBuckets = counts;
      h.count = temp.count ?? prev;
      h.sum = temp.sum ?? 0;
      h.compact();
      histograms.push({ timestampMs: t, histogram: h.toModel() });
    }
    if (histograms.length > 0) out.push({ labels, histograms });
  }
  return out;
}

function formatError(err: unknown): string {
  if (err instanceof PromqlError) return `${err.type}: ${err.message}`;
  return err instanceof Error ? `${err.name}: ${err.message}\n${err.stack ?? ''}` : String(err);
}

/**
 * Upstream's extra check: an instant eval also runs as a range query from t-1m to t+1m every 1m, and the
 * point at t must equal the instant result. Returns undefined when it holds (or does not apply).
 */
async function rangeModeCheck(engine: PromqlEngine, db: Tsdb, tenant: TenantId, cmd: EvalCmd): Promise<string | undefined> {
  if (cmd.isRange || cmd.fail || cmd.ordered || cmd.rangeVector || cmd.expectString !== undefined) return undefined;
  if (/(start|end|range|step)\(\)/.test(cmd.expr)) return undefined;
  let res: QueryResult;
  try {
    res = await engine.range(db, [tenant], cmd.expr, cmd.startMs - 60_000, cmd.startMs + 60_000, 60_000);
  } catch (err) {
    return `range mode: ${formatError(err)}`;
  }
  if (res.value.type !== 'matrix') return `range mode returned ${res.value.type}`;
  const t = cmd.startMs;
  if (cmd.scalar !== undefined) {
    const s = res.value.series[0];
    const i = s ? Array.from(s.timestampsMs).indexOf(t) : -1;
    if (!s || i < 0) return 'range mode: no scalar point at t';
    return almostEqual(cmd.scalar, s.values[i]!) ? undefined : `range mode: expected scalar ${cmd.scalar} got ${s.values[i]}`;
  }
  const samples: { labels: Labels; timestampMs: number; value?: number; histogram?: ReturnType<FloatHistogram['toModel']> }[] = [];
  for (const s of res.value.series) {
    const fi = Array.from(s.timestampsMs).indexOf(t);
    if (fi >= 0) samples.push({ labels: s.labels, timestampMs: t, value: s.values[fi]! });
    const hi = s.histogramTimestampsMs ? Array.from(s.histogramTimestampsMs).indexOf(t) : -1;
    if (hi >= 0) samples.push({ labels: s.labels, timestampMs: t, histogram: s.histograms![hi]! });
  }
  const failure = compare(cmd, { value: { type: 'vector', samples }, warnings: [], infos: [] });
  return failure ? `range mode: ${failure}` : undefined;
}

const AT_UNSAFE = /\b(time|timestamp|predict_linear|hour|minute|month|year|day_of_week|day_of_month|day_of_year|days_in_month)\s*\(|\b(start|end|range|step)\s*\(\s*\)/;

/**
 * Upstream's step-invariance check: `@ t` is added to every selector and subquery lacking one (not inside
 * an `@`-pinned subquery) and the query re-run at other evaluation times must give the same result.
 */
async function atModifierCheck(engine: PromqlEngine, db: Tsdb, tenant: TenantId, cmd: EvalCmd): Promise<string | undefined> {
  if (cmd.isRange || AT_UNSAFE.test(cmd.expr)) return undefined;
  const t = cmd.startMs;
  const expr = parseExpr(cmd.expr);
  const visit = (e: Expr): void => {
    switch (e.type) {
      case 'VectorSelector':
        e.at ??= { kind: 'time', ms: t };
        return;
      case 'MatrixSelector':
        e.vs.at ??= { kind: 'time', ms: t };
        return;
      case 'SubqueryExpr':
        if (e.at) return;
        e.at = { kind: 'time', ms: t };
        return;
      case 'ParenExpr':
      case 'UnaryExpr':
        visit(e.expr);
        return;
      case 'Call':
        e.args.forEach(visit);
        return;
      case 'AggregateExpr':
        if (e.param) visit(e.param);
        visit(e.expr);
        return;
      case 'BinaryExpr':
        visit(e.lhs);
        visit(e.rhs);
        return;
      default:
        return;
    }
  };
  visit(expr);
  const q = formatExpr(expr);
  const times = t === 0 ? [-1000, 0, 1000] : [-10 * t, 0, t / 5, t, 10 * t];
  for (const et of times) {
    let res: QueryResult;
    try {
      res = await engine.instant(db, [tenant], q, et);
    } catch (err) {
      if (cmd.fail) continue;
      return `@ check (${q} at ${et}): ${formatError(err)}`;
    }
    if (cmd.fail) return `@ check (${q} at ${et}): expected error but got none`;
    const failure = compare(cmd, res);
    if (failure) return `@ check (${q} at ${et}): ${failure}`;
  }
  return undefined;
}

/** Runs one eval; returns undefined on success or the failure text. */
async function runEval(engine: PromqlEngine, db: Tsdb, tenant: TenantId, cmd: EvalCmd): Promise<string | undefined> {
  let res: QueryResult;
  try {
    res = cmd.isRange
      ? await engine.range(db, [tenant], cmd.expr, cmd.startMs, cmd.endMs, cmd.stepMs)
      : await engine.instant(db, [tenant], cmd.expr, cmd.startMs);
  } catch (err) {
    if (!cmd.fail) return `unexpected error: ${formatError(err)}`;
    const msg = err instanceof Error ? err.message : String(err);
    if (cmd.failMessage !== undefined && cmd.failMessage !== msg) return `expected error ${JSON.stringify(cmd.failMessage)} but got ${JSON.stringify(msg)}`;
    if (cmd.failRegex && !cmd.failRegex.test(msg)) return `expected error matching ${cmd.failRegex} but got ${JSON.stringify(msg)}`;
    return undefined;
  }
  if (cmd.fail) return `expected error but got none (result ${summarize(res.value)})`;
  const anno = checkAnnotations(cmd, res);
  if (anno) return anno;
  return compare(cmd, res);
}

function summarize(v: PromValue): string {
  const s = JSON.stringify(v, (_k, x: unknown) => (x instanceof Float64Array ? Array.from(x) : x));
  return s.length > 400 ? `${s.slice(0, 400)}...` : s;
}

/** Runs one test file on a fresh TSDB; each `clear` switches to a new, empty tenant. */
export async function runFile(file: string, engine: PromqlEngine): Promise<FileResult> {
  const started = Date.now();
  const result: FileResult = { file, passed: 0, failed: 0, skipped: 0, failures: [], skips: [], rangeModeMismatches: 0, rangeModeFailures: [], ms: 0 };
  const content = fs.readFileSync(path.join(FIXTURES_DIR, file), 'utf8');
  const cmds = parseTestFile(content);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'heimdall-promql-'));
  const config = configSchema.parse({
    metrics: {
      limits: {
        out_of_order_time_window: '100000d',
        creation_grace_period: '100000d',
        past_grace_period: 0,
        retention_period: 0,
        max_global_series_per_user: 0,
        max_label_names_per_series: 1000,
      },
    },
  }).metrics;
  const db = await Tsdb.open({ dir, ...tsdbConfigOptions(config), memoryLimitBytes: 256 * 1024 * 1024, threads: 1, now: () => 0, maintenanceIntervalMs: 0 });
  let tenantNo = 0;
  let tenant = `promqltest-${tenantNo}` as TenantId;
  let loadUsesST = false;
  try {
    for (const cmd of cmds) {
      if (cmd.type === 'clear') {
        tenantNo++;
        tenant = `promqltest-${tenantNo}` as TenantId;
        loadUsesST = false;
        continue;
      }
      if (cmd.type === 'load') {
        if (cmd.usesStartTimestamps) loadUsesST = true;
        const app = db.appender(tenant);
        for (const rec of loadRecords(cmd)) {
          const outcome = app.append(rec);
          if (outcome.rejections.length > 0) {
            throw new Error(`load at line ${cmd.line} rejected: ${JSON.stringify(outcome.rejections[0])}`);
          }
        }
        await app.commit();
        continue;
      }
      const reason = experimentalReason(file, cmd.expr) ?? (loadUsesST ? 'experimental start timestamps (@st)' : undefined);
      let failure: string | undefined;
      try {
        failure = await runEval(engine, db, tenant, cmd);
      } catch (err) {
        failure = `runner error: ${formatError(err)}`;
      }
      if (failure === undefined) {
        const rm =
          (await rangeModeCheck(engine, db, tenant, cmd).catch((err: unknown) => `runner error: ${formatError(err)}`)) ??
          (await atModifierCheck(engine, db, tenant, cmd).catch((err: unknown) => `runner error: ${formatError(err)}`));
        if (rm) {
          result.rangeModeMismatches++;
          result.rangeModeFailures.push(`${file}:${cmd.line}: ${cmd.expr}\n    ${rm}`);
        }
      }
      if (failure === undefined) result.passed++;
      else if (reason) {
        result.skipped++;
        result.skips.push(`${file}:${cmd.line}: ${cmd.expr}\n    skipped: ${reason}\n    (would fail: ${failure.split('\n')[0]})`);
      } else {
        result.failed++;
        result.failures.push(`${file}:${cmd.line}: ${cmd.isRange ? `range ${cmd.startMs}..${cmd.endMs}/${cmd.stepMs}` : `instant @${cmd.startMs}`} ${cmd.expr}\n    ${failure}`);
      }
    }
  } finally {
    await db.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
  result.ms = Date.now() - started;
  return result;
}

/** Runs every fixture file (or those named) and returns per-file and total counts. */
export async function runPromqlSuite(only?: readonly string[]): Promise<SuiteResult> {
  // As upstream's test engine (promqltest.NewTestEngine): delayed name removal on, 10,000 in-memory samples;
  // raw storage reads are not limited there.
  const engine = new PromqlEngine({ delayedNameRemoval: true, lookbackDeltaMs: 5 * 60_000, maxSamples: 10_000, maxLoadedSamples: 100_000_000, timeoutMs: 100_000 });
  const files = fs
    .readdirSync(FIXTURES_DIR)
    .filter((f) => f.endsWith('.test'))
    .filter((f) => !only || only.length === 0 || only.some((o) => f.startsWith(o)))
    .sort();
  const results: FileResult[] = [];
  for (const f of files) results.push(await runFile(f, engine));
  return {
    files: results,
    passed: results.reduce((a, r) => a + r.passed, 0),
    failed: results.reduce((a, r) => a + r.failed, 0),
    skipped: results.reduce((a, r) => a + r.skipped, 0),
  };
}

/** Formats the per-file table. */
export function formatTable(s: SuiteResult): string {
  const rows = s.files.map((f) => {
    const tag = EXPERIMENTAL_FILES[f.file] ? ' (experimental)' : '';
    return `${(f.file + tag).padEnd(42)} ${String(f.passed).padStart(6)} ${String(f.failed).padStart(6)} ${String(f.skipped).padStart(7)} ${String(f.rangeModeMismatches).padStart(10)} ${String(f.ms).padStart(7)}ms`;
  });
  const rm = s.files.reduce((a, f) => a + f.rangeModeMismatches, 0);
  return [
    `${'file'.padEnd(42)} ${'passed'.padStart(6)} ${'failed'.padStart(6)} ${'skipped'.padStart(7)} ${'range-mode'.padStart(10)} ${'time'.padStart(9)}`,
    ...rows,
    `${'TOTAL'.padEnd(42)} ${String(s.passed).padStart(6)} ${String(s.failed).padStart(6)} ${String(s.skipped).padStart(7)} ${String(rm).padStart(10)}`,
    '(range-mode: passing instant evals failing upstream\'s extra checks: as a t-1m..t+1m range query, and @-pinned step invariance)',
  ].join('\n');
}

async function main(): Promise<void> {
  const missing = missingFixturesReason('PromQL', FIXTURES_DIR);
  if (missing) {
    console.error(missing);
    process.exitCode = 1;
    return;
  }
  const only = process.argv.slice(2);
  const suite = await runPromqlSuite(only);
  console.log(formatTable(suite));
  const lines: string[] = [];
  for (const f of suite.files) lines.push(...f.failures);
  lines.push('', '# Range-mode cross-check mismatches (upstream extra check; not counted as failures):');
  for (const f of suite.files) lines.push(...f.rangeModeFailures);
  lines.push('', '# Skipped (experimental features):');
  for (const f of suite.files) lines.push(...f.skips);
  const out = path.resolve(HERE, '../../conformance-failures-promql.txt');
  fs.writeFileSync(out, lines.join('\n') + '\n');
  console.log(`failures written to ${path.relative(process.cwd(), out)}`);
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((err: unknown) => {
    console.error(err);
    process.exit(1);
  });
}
