import type { RE2JS } from 're2js';
import { METRIC_NAME_LABEL, compareLabels, compileRe2, quoteGo, tryParseGoFloat } from '../model/index.ts';
import type { Labels } from '../model/index.ts';
import type { PosRange } from './ast.ts';
import type { EvalEnv, Steps } from './env.ts';
import { execError } from './errors.ts';
import type { FloatHistogram } from './histogram.ts';
import { bucketFraction, bucketQuantile, histogramFraction, histogramQuantile } from './quantile.ts';
import type { ClassicBucket, NaNNote } from './quantile.ts';
import { goFloatG, kahanComp } from './range-functions.ts';
import { ABSENT, FLOAT, HIST, dropMetricName, keyOf, newStepSeries, setHist } from './value.ts';
import type { StepSeries } from './value.ts';

const SIMPLE: Readonly<Record<string, (v: number) => number>> = {
  abs: Math.abs,
  ceil: Math.ceil,
  floor: Math.floor,
  exp: Math.exp,
  sqrt: Math.sqrt,
  ln: Math.log,
  log2: Math.log2,
  log10: Math.log10,
  sin: Math.sin,
  cos: Math.cos,
  tan: Math.tan,
  asin: Math.asin,
  acos: Math.acos,
  atan: Math.atan,
  sinh: Math.sinh,
  cosh: Math.cosh,
  tanh: Math.tanh,
  asinh: Math.asinh,
  acosh: Math.acosh,
  atanh: Math.atanh,
  rad: (v) => (v * Math.PI) / 180,
  deg: (v) => (v * 180) / Math.PI,
  sgn: (v) => (v < 0 ? -1 : v > 0 ? 1 : v),
};

/** Whether `name` is an element-wise float function. */
export function isSimpleFunction(name: string): boolean {
  return name in SIMPLE;
}

/** Applies `fn` to every float sample, dropping histograms; the result loses the metric name. */
export function mapFloats(input: StepSeries[], n: number, fn: (v: number, k: number) => number | undefined): StepSeries[] {
  const out: StepSeries[] = [];
  for (const s of input) {
    const o = newStepSeries(s.labels, n, true);
    let any = false;
    const sv = s.vals;
    const sp = s.pres;
    for (let k = 0; k < n; k++) {
      if (sp[k] !== FLOAT) continue;
      const v = fn(sv[k]!, k);
      if (v === undefined) continue;
      o.vals[k] = v;
      o.pres[k] = FLOAT;
      any = true;
    }
    if (any) out.push(o);
  }
  return out;
}

/** Element-wise float functions (`abs`, `ln`, `sgn`, ...). */
export function simpleFunction(name: string, input: StepSeries[], n: number): StepSeries[] {
  const fn = SIMPLE[name]!;
  return mapFloats(input, n, (v) => fn(v));
}

/** Applies `fn` to every histogram sample, dropping floats; the result loses the metric name. */
export function mapHistograms(input: StepSeries[], n: number, fn: (h: FloatHistogram) => number): StepSeries[] {
  const out: StepSeries[] = [];
  for (const s of input) {
    if (!s.hists) continue;
    const o = newStepSeries(s.labels, n, true);
    let any = false;
    for (let k = 0; k < n; k++) {
      if (s.pres[k] !== HIST) continue;
      o.vals[k] = fn(s.hists[k]!);
      o.pres[k] = FLOAT;
      any = true;
    }
    if (any) out.push(o);
  }
  return out;
}

/** `histogram_stddev` / `histogram_stdvar` of one histogram. */
export function histogramVariance(h: FloatHistogram): number {
  const mean = h.sum / h.count;
  let variance = 0;
  let c = 0;
  for (const b of h.allBuckets()) {
    if (b.count === 0) continue;
    let val: number;
    if (h.usesCustomBuckets) val = (b.upper + b.lower) / 2;
    else if (b.lower <= 0 && b.upper >= 0) val = 0;
    else {
      val = Math.sqrt(b.upper * b.lower);
      if (b.upper < 0) val = -val;
    }
    const delta = val - mean;
    const inc = b.count * delta * delta;
    c = kahanComp(inc, variance, c);
    variance += inc;
  }
  variance += c;
  return variance / h.count;
}

// --- Date functions ---

function dateParts(sec: number): Date {
  return new Date(Math.trunc(sec) * 1000);
}

const DATE_FUNCTIONS: Readonly<Record<string, (d: Date) => number>> = {
  day_of_month: (d) => d.getUTCDate(),
  day_of_week: (d) => d.getUTCDay(),
  day_of_year: (d) => {
    const start = Date.UTC(d.getUTCFullYear(), 0, 1);
    return Math.floor((d.getTime() - start) / 86_400_000) + 1;
  },
  days_in_month: (d) => new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 0)).getUTCDate(),
  hour: (d) => d.getUTCHours(),
  minute: (d) => d.getUTCMinutes(),
  month: (d) => d.getUTCMonth() + 1,
  year: (d) => d.getUTCFullYear(),
};

/** Whether `name` is one of the calendar functions. */
export function isDateFunction(name: string): boolean {
  return name in DATE_FUNCTIONS;
}

/** A calendar function over sample values (seconds), or over the step time when `input` is undefined. */
export function dateFunction(name: string, input: StepSeries[] | undefined, steps: Steps): StepSeries[] {
  const fn = DATE_FUNCTIONS[name]!;
  if (!input) {
    const o = newStepSeries({}, steps.n);
    for (let k = 0; k < steps.n; k++) {
      o.vals[k] = fn(dateParts((steps.start + k * steps.interval) / 1000));
      o.pres[k] = FLOAT;
    }
    return [o];
  }
  return mapFloats(input, steps.n, (v) => (Number.isFinite(v) ? fn(dateParts(v)) : fn(dateParts(-9223372036854775808 / 1000))));
}

// --- Classic and native histogram quantiles/fractions ---

interface ClassicPrep {
  readonly key: string;
  readonly labels: Labels;
  readonly le: number;
  readonly leRaw: string;
  readonly leValid: boolean;
}

function prepClassic(s: StepSeries): ClassicPrep {
  const out: Record<string, string> = {};
  for (const k in s.labels) if (k !== 'le') out[k] = s.labels[k]!;
  const leRaw = s.labels.le ?? '';
  const le = tryParseGoFloat(leRaw);
  return { key: keyOf(out), labels: out, le: le ?? NaN, leRaw, leValid: le !== undefined };
}

function noteText(note: NaNNote, name: string): string | undefined {
  const suffix = name ? ` for metric name "${name}"` : '';
  switch (note) {
    case 'nan-result':
      return `input to histogram_quantile has NaN observations, result is NaN${suffix}`;
    case 'nan-skew':
      return `input to histogram_quantile has NaN observations, result is skewed higher${suffix}`;
    case 'fraction-nans':
      return `input to histogram_fraction has NaN observations, which are excluded from all fractions${suffix}`;
    default:
      return undefined;
  }
}

/**
 * `histogram_quantile` (mode 'quantile', params [q]) and `histogram_fraction` (mode 'fraction', params
 * [lower, upper]) over classic bucket series and native histograms.
 */
export function histogramQuantileOrFraction(
  mode: 'quantile' | 'fraction',
  params: Float64Array[],
  input: StepSeries[],
  steps: Steps,
  env: EvalEnv,
  paramPos: PosRange,
  vecPos: PosRange,
): StepSeries[] {
  const n = steps.n;
  const preps = input.map((s) => (s.hists && !s.pres.includes(FLOAT) ? undefined : prepClassic(s)));
  const nativeKeys = input.map((s) => (s.hists ? keyOf(s.labels) : ''));
  const out = new Map<string, StepSeries>();
  const order: StepSeries[] = [];
  const emit = (labels: Labels, key: string, k: number, v: number): void => {
    let o = out.get(key);
    if (!o) {
      o = newStepSeries(labels, n, true);
      out.set(key, o);
      order.push(o);
    }
    o.vals[k] = v;
    o.pres[k] = FLOAT;
  };
  for (let k = 0; k < n; k++) {
    if ((k & 255) === 0) env.checkDeadline();
    const q = params[0]![k]!;
    if (mode === 'quantile' && (Number.isNaN(q) || q < 0 || q > 1)) {
      env.annos.warn(`quantile value should be between 0 and 1, got ${goFloatG(q)}`, paramPos);
    }
    const groups = new Map<string, { labels: Labels; buckets: ClassicBucket[] }>();
    const natives: number[] = [];
    for (let i = 0; i < input.length; i++) {
      const s = input[i]!;
      const p = s.pres[k]!;
      if (p === ABSENT) continue;
      if (p === HIST) {
        natives.push(i);
        continue;
      }
      const prep = preps[i] ?? prepClassic(s);
      if (!prep.leValid) {
        const name = s.labels[METRIC_NAME_LABEL] ?? '';
        env.annos.warn(
          `bucket label "le" is missing or has a malformed value of ${quoteGo(prep.leRaw)}${name ? ` for metric name "${name}"` : ''}`,
          vecPos,
        );
        continue;
      }
      let g = groups.get(prep.key);
      if (!g) {
        g = { labels: prep.labels, buckets: [] };
        groups.set(prep.key, g);
      }
      g.buckets.push({ upperBound: prep.le, count: s.vals[k]! });
    }
    for (const i of natives) {
      const s = input[i]!;
      const key = nativeKeys[i]!;
      const g = groups.get(key);
      const name = s.labels[METRIC_NAME_LABEL] ?? '';
      if (g && g.buckets.length > 0) {
        env.annos.warn(`vector contains a mix of classic and native histograms${name ? ` for metric name "${name}"` : ''}`, vecPos);
        groups.delete(key);
        continue;
      }
      const h = s.hists![k]!;
      const r = mode === 'quantile' ? histogramQuantile(q, h) : histogramFraction(q, params[1]![k]!, h);
      const text = noteText(r.note, name);
      if (text) env.annos.info(text, vecPos);
      emit(s.labels, key, k, r.value);
    }
    for (const [key, g] of groups) {
      if (g.buckets.length === 0) continue;
      let v: number;
      if (mode === 'quantile') {
        const r = bucketQuantile(q, g.buckets);
        v = r.value;
        if (r.fix?.forcedMonotonic) {
          const name = g.labels[METRIC_NAME_LABEL] ?? '';
          env.annos.info(
            `input to histogram_quantile needed to be fixed for monotonicity (see https://prometheus.io/docs/prometheus/latest/querying/functions/#histogram_quantile)${name ? ` for metric name "${name}"` : ''}`,
            vecPos,
          );
        }
      } else {
        v = bucketFraction(q, params[1]![k]!, g.buckets);
      }
      emit(g.labels, key, k, v);
    }
  }
  return order;
}

// --- label_replace / label_join ---

function isValidLabelName(name: string): boolean {
  return name.length > 0;
}

/** Go's regexp `Expand` for `$1`, `${name}`, `$$`. */
function expandTemplate(template: string, groupValue: (ref: string) => string): string {
  let out = '';
  for (let i = 0; i < template.length; i++) {
    const c = template[i]!;
    if (c !== '$' || i + 1 >= template.length) {
      out += c;
      continue;
    }
    const next = template[i + 1]!;
    if (next === '$') {
      out += '$';
      i++;
      continue;
    }
    let name: string;
    let end: number;
    if (next === '{') {
      const close = template.indexOf('}', i + 2);
      const inner = close < 0 ? '' : template.slice(i + 2, close);
      if (close < 0 || !/^[A-Za-z0-9_]+$/.test(inner)) {
        out += c;
        continue;
      }
      name = inner;
      end = close;
    } else {
      const m = /^[A-Za-z0-9_]+/.exec(template.slice(i + 1));
      if (!m) {
        out += c;
        continue;
      }
      name = m[0];
      end = i + name.length;
    }
    out += groupValue(name);
    i = end;
  }
  return out;
}

/**
 * An upper bound of `expandTemplate(template, ...)`'s length when every group reference expands to at most
 * the whole source value (a capture group is a substring of it).
 */
function expandedLength(template: string, source: string): number {
  let refs = 0;
  for (let i = 0; i < template.length; i++) if (template.charCodeAt(i) === 36 /* $ */) refs++;
  return template.length + refs * source.length;
}

/** `label_replace(v, dst, replacement, src, regex)`. */
export function labelReplace(input: StepSeries[], dst: string, repl: string, src: string, regex: string, n: number, env: EvalEnv): StepSeries[] {
  let re: RE2JS;
  try {
    // Anchored by `matches()` below, dot-all as Prometheus' `^(?s:re)$`.
    re = compileRe2(regex, { dotAll: true });
  } catch {
    throw execError(`invalid regular expression in label_replace(): ${regex}`);
  }
  if (!isValidLabelName(dst)) throw execError(`invalid destination label name in label_replace(): ${dst}`);
  const named = re.namedGroups();
  const groups = re.groupCount();
  const out = input.map((s, si) => {
    if ((si & 1023) === 1023) env.checkDeadline();
    const srcVal = s.labels[src] ?? '';
    const m = re.matcher(srcVal);
    if (!m.matches()) return s;
    env.trackLabelBytes(expandedLength(repl, srcVal));
    const res = expandTemplate(repl, (ref) => {
      let idx: number | undefined;
      if (/^\d+$/.test(ref)) idx = Number(ref);
      else idx = named[ref];
      if (idx === undefined || idx > groups) return '';
      return m.group(idx) ?? '';
    });
    const labels: Record<string, string> = { ...s.labels };
    if (res === '') delete labels[dst];
    else labels[dst] = res;
    return { ...s, labels, dropName: dst === METRIC_NAME_LABEL ? false : s.dropName };
  });
  return mergeSameLabels(out, n);
}

/** `label_join(v, dst, separator, src...)`. */
export function labelJoin(input: StepSeries[], dst: string, sep: string, srcs: string[], n: number, env: EvalEnv): StepSeries[] {
  for (const src of srcs) {
    if (!isValidLabelName(src)) throw execError(`invalid source label name in label_join(): ${src}`);
  }
  if (!isValidLabelName(dst)) throw execError(`invalid destination label name in label_join(): ${dst}`);
  const out = input.map((s, si) => {
    if ((si & 1023) === 1023) env.checkDeadline();
    // Measured before it is built: nested label_joins grow a value geometrically.
    let bytes = Math.max(0, srcs.length - 1) * sep.length;
    for (const src of srcs) bytes += (s.labels[src] ?? '').length;
    env.trackLabelBytes(bytes);
    const v = srcs.map((src) => s.labels[src] ?? '').join(sep);
    const labels: Record<string, string> = { ...s.labels };
    if (v === '') delete labels[dst];
    else labels[dst] = v;
    return { ...s, labels, dropName: dst === METRIC_NAME_LABEL ? false : s.dropName };
  });
  return mergeSameLabels(out, n);
}

/**
 * Removes the metric name of series marked `dropName` and merges the series that then share a label set
 * (see {@link mergeSameLabels}): Prometheus' name removal, at the end of evaluation (delayed) or right
 * after the operation that drops the name.
 */
export function dropNamesAndMerge(series: StepSeries[], n: number): StepSeries[] {
  if (!series.some((s) => s.dropName)) return mergeSameLabels(series, n);
  // A literal of StepSeries' shape, not a spread: a spread with overrides takes V8's slow copy path.
  const named = series.map((s) => (s.dropName ? { labels: dropMetricName(s.labels), dropName: false, vals: s.vals, pres: s.pres, hists: s.hists } : s));
  // Distinct label sets that all lose the same name stay distinct: nothing to merge (the common case,
  // `rate(metric[5m])`, where keying every series cost a tenth of the query).
  return allDropSameName(series) ? named : mergeSameLabels(named, n);
}

/** Whether every series drops its name and all carry the same `__name__`, `__type__` and `__unit__`. */
function allDropSameName(series: StepSeries[]): boolean {
  const first = series[0]!.labels;
  for (const s of series) {
    if (!s.dropName) return false;
    const l = s.labels;
    if (l[METRIC_NAME_LABEL] !== first[METRIC_NAME_LABEL] || l.__type__ !== first.__type__ || l.__unit__ !== first.__unit__) return false;
  }
  return true;
}

/**
 * Merges series that ended up with the same labels when their steps do not overlap; overlapping steps are
 * Prometheus' "vector cannot contain metrics with the same labelset" error.
 */
export function mergeSameLabels(input: StepSeries[], n: number): StepSeries[] {
  if (input.length <= 1) return input;
  const byKey = new Map<string, StepSeries>();
  const out: StepSeries[] = [];
  for (const s of input) {
    const key = keyOf(s.labels);
    const prior = byKey.get(key);
    if (!prior) {
      byKey.set(key, s);
      out.push(s);
      continue;
    }
    const merged = mergeStepSeries(prior, s, n);
    byKey.set(key, merged);
    out[out.indexOf(prior)] = merged;
  }
  return out;
}

/**
 * Two series with the same labels as one (with `prior`'s labels), when their steps do not overlap; overlapping
 * steps are Prometheus' "vector cannot contain metrics with the same labelset" error.
 */
export function mergeStepSeries(prior: StepSeries, s: StepSeries, n: number): StepSeries {
  const merged = newStepSeries(prior.labels, n, prior.dropName);
  for (let k = 0; k < n; k++) {
    const a = prior.pres[k]!;
    const b = s.pres[k]!;
    if (a !== ABSENT && b !== ABSENT) throw execError('vector cannot contain metrics with the same labelset');
    const from = a !== ABSENT ? prior : b !== ABSENT ? s : undefined;
    if (!from) continue;
    if (from.pres[k] === HIST) setHist(merged, k, from.hists![k]!, n);
    else {
      merged.vals[k] = from.vals[k]!;
      merged.pres[k] = FLOAT;
    }
  }
  return merged;
}

// --- Sorting ---

/** Natural-order comparison of strings (digit runs compare numerically), as facette/natsort. */
export function naturalLess(a: string, b: string): boolean {
  const chunk = (s: string): string[] => s.match(/(\d+|\D+)/g) ?? [];
  const ca = chunk(a);
  const cb = chunk(b);
  for (let i = 0; i < ca.length && i < cb.length; i++) {
    const x = ca[i]!;
    const y = cb[i]!;
    if (x === y) continue;
    const xd = /^\d/.test(x);
    const yd = /^\d/.test(y);
    if (xd && yd) {
      const xi = BigInt(x);
      const yi = BigInt(y);
      if (xi !== yi) return xi < yi;
      return x < y;
    }
    return x < y;
  }
  return ca.length < cb.length;
}

/** Orders series for `sort`, `sort_desc`, `sort_by_label[_desc]` (meaningful for instant queries). */
export function sortSeries(name: string, input: StepSeries[], labelArgs: string[]): StepSeries[] {
  if (name === 'sort' || name === 'sort_desc') {
    const floats = input.filter((s) => s.pres[0] === FLOAT);
    const desc = name === 'sort_desc';
    floats.sort((x, y) => {
      const a = x.vals[0]!;
      const b = y.vals[0]!;
      const an = Number.isNaN(a);
      const bn = Number.isNaN(b);
      if (an || bn) return an && bn ? 0 : an ? 1 : -1;
      return desc ? b - a : a - b;
    });
    return floats;
  }
  const desc = name === 'sort_by_label_desc';
  const sorted = input.slice();
  sorted.sort((x, y) => {
    for (const l of labelArgs) {
      const a = x.labels[l] ?? '';
      const b = y.labels[l] ?? '';
      if (a === b) continue;
      const less = naturalLess(a, b);
      return desc ? (less ? 1 : -1) : less ? -1 : 1;
    }
    const c = compareLabels(x.labels, y.labels);
    return desc ? -c : c;
  });
  return sorted;
}

/** The labels `absent()` reports: equality matchers of the selector (a label given twice is dropped). */
export function absentLabels(matchers: readonly { op: string; name: string; value: string }[] | undefined): Labels {
  const out: Record<string, string> = {};
  if (!matchers) return out;
  const has = new Set<string>();
  for (const m of matchers) {
    if (m.name === METRIC_NAME_LABEL) continue;
    if (m.op === '=' && !has.has(m.name)) {
      if (m.value === '') delete out[m.name];
      else out[m.name] = m.value;
      has.add(m.name);
    } else {
      delete out[m.name];
    }
  }
  return out;
}
