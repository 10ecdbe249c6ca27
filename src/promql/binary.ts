import { METRIC_NAME_LABEL, labelsKey } from '../model/index.ts';
import type { Labels } from '../model/index.ts';
import { isComparisonOp } from './ast.ts';
import type { BinaryExpr, BinaryOp, PosRange, VectorMatching } from './ast.ts';
import type { EvalEnv, Steps } from './env.ts';
import { execError } from './errors.ts';
import { FloatHistogram, GAUGE_TYPE, IncompatibleSchemaError } from './histogram.ts';
import { ABSENT, FLOAT, HIST, keyOf, newStepSeries, setHist } from './value.ts';
import type { StepSeries } from './value.ts';

/** Whether an operator changes what the metric means (so its name and type/unit labels go). */
function changesMetricSchema(op: BinaryOp): boolean {
  return op === '+' || op === '-' || op === '*' || op === '/' || op === '^' || op === '%' || op === 'atan2';
}

/** Go's `math.Mod` semantics (sign of the dividend), which JS `%` shares. */
function goMod(a: number, b: number): number {
  return a % b;
}

/** A binary operation between two scalars. */
export function scalarBinop(op: BinaryOp, l: number, r: number): number {
  switch (op) {
    case '+':
      return l + r;
    case '-':
      return l - r;
    case '*':
      return l * r;
    case '/':
      return l / r;
    case '^':
      return Math.pow(l, r);
    case '%':
      return goMod(l, r);
    case '==':
      return l === r ? 1 : 0;
    case '!=':
      return l !== r ? 1 : 0;
    case '>':
      return l > r ? 1 : 0;
    case '<':
      return l < r ? 1 : 0;
    case '>=':
      return l >= r ? 1 : 0;
    case '<=':
      return l <= r ? 1 : 0;
    case 'atan2':
      return Math.atan2(l, r);
    default:
      throw new Error(`operator "${op}" not allowed for Scalar operations`);
  }
}

/**
 * The result of one element operation. `err` (an info or warning annotation) means Prometheus returned an
 * error for the pair: vector-vector operations drop the sample; `info` is an annotation that keeps it.
 */
interface ElemResult {
  f: number;
  h: FloatHistogram | undefined;
  keep: boolean;
  info?: string;
  err?: { kind: 'info' | 'warn'; text: string };
}

const INCOMPATIBLE = (op: BinaryOp, l: string, r: string): string =>
  `incompatible sample types encountered for binary operator "${op}": ${l} ${op} ${r}`;

/** Prometheus' `vectorElemBinop`. */
function elemBinop(op: BinaryOp, lf: number, rf: number, lh: FloatHistogram | undefined, rh: FloatHistogram | undefined): ElemResult {
  if (!lh && !rh) {
    switch (op) {
      case '+':
        return { f: lf + rf, h: undefined, keep: true };
      case '-':
        return { f: lf - rf, h: undefined, keep: true };
      case '*':
        return { f: lf * rf, h: undefined, keep: true };
      case '/':
        return { f: lf / rf, h: undefined, keep: true };
      case '^':
        return { f: Math.pow(lf, rf), h: undefined, keep: true };
      case '%':
        return { f: goMod(lf, rf), h: undefined, keep: true };
      case '==':
        return { f: lf, h: undefined, keep: lf === rf };
      case '!=':
        return { f: lf, h: undefined, keep: lf !== rf };
      case '>':
        return { f: lf, h: undefined, keep: lf > rf };
      case '<':
        return { f: lf, h: undefined, keep: lf < rf };
      case '>=':
        return { f: lf, h: undefined, keep: lf >= rf };
      case '<=':
        return { f: lf, h: undefined, keep: lf <= rf };
      case 'atan2':
        return { f: Math.atan2(lf, rf), h: undefined, keep: true };
      case '</':
      case '>/':
        return { f: 0, h: undefined, keep: false, err: { kind: 'info', text: INCOMPATIBLE(op, 'float', 'float') } };
      default:
        break;
    }
  } else if (!lh && rh) {
    if (op === '*') return { f: 0, h: rh.copy().mul(lf).compact(), keep: true };
    return { f: 0, h: undefined, keep: false, err: { kind: 'info', text: INCOMPATIBLE(op, 'float', 'histogram') } };
  } else if (lh && !rh) {
    switch (op) {
      case '*':
        return { f: 0, h: lh.copy().mul(rf).compact(), keep: true };
      case '/':
        return { f: 0, h: lh.copy().div(rf).compact(), keep: true };
      case '</': {
        const t = lh.copy();
        trimHistogram(t, rf, true);
        return { f: 0, h: t, keep: true };
      }
      case '>/': {
        const t = lh.copy();
        trimHistogram(t, rf, false);
        return { f: 0, h: t, keep: true };
      }
      default:
        return { f: 0, h: undefined, keep: false, err: { kind: 'info', text: INCOMPATIBLE(op, 'histogram', 'float') } };
    }
  } else if (lh && rh) {
    switch (op) {
      case '+':
      case '-': {
        const res = lh.copy();
        try {
          const r = op === '+' ? res.add(rh) : res.sub(rh);
          if (op === '-') res.counterResetHint = GAUGE_TYPE;
          const opName = op === '+' ? 'addition' : 'subtraction';
          const out: ElemResult = { f: 0, h: res.compact(), keep: true };
          if (r.counterResetCollision) out.err = { kind: 'warn', text: `conflicting counter resets during histogram ${opName}` };
          if (r.nhcbBoundsReconciled) out.info = `mismatched custom buckets were reconciled during ${opName}`;
          return out;
        } catch (err) {
          if (err instanceof IncompatibleSchemaError) {
            return { f: 0, h: undefined, keep: false, err: { kind: 'warn', text: `incompatible bucket layout encountered for binary operator ${op}` } };
          }
          throw err;
        }
      }
      case '==':
        return { f: 0, h: lh, keep: lh.equals(rh) };
      case '!=':
        return { f: 0, h: lh, keep: !lh.equals(rh) };
      default:
        return { f: 0, h: undefined, keep: false, err: { kind: 'info', text: INCOMPATIBLE(op, 'histogram', 'histogram') } };
    }
  }
  throw new Error(`operator "${op}" not allowed for operations between Vectors`);
}

function report(env: EvalEnv, a: { kind: 'info' | 'warn'; text: string } | undefined, pos: PosRange): void {
  if (!a) return;
  if (a.kind === 'info') env.annos.info(a.text, pos);
  else env.annos.warn(a.text, pos);
}

/** A binary operation between a vector and a scalar (`scalarLeft` when the scalar is the left operand). */
export function vectorScalarBinop(
  e: BinaryExpr,
  vec: StepSeries[],
  scalar: Float64Array,
  scalarLeft: boolean,
  steps: Steps,
  env: EvalEnv,
): StepSeries[] {
  const op = e.op;
  const n = steps.n;
  const out: StepSeries[] = [];
  const comparison = isComparisonOp(op);
  const dropName = changesMetricSchema(op) || e.returnBool;
  const fastFloat = !e.returnBool && (op === '+' || op === '-' || op === '*' || op === '/');
  for (const s of vec) {
    const o = newStepSeries(s.labels, n, s.dropName || dropName);
    let any = false;
    if (fastFloat && !s.hists) {
      // Vectorised path for the common float arithmetic.
      const sv = s.vals;
      const sp = s.pres;
      const ov = o.vals;
      const op2 = o.pres;
      for (let k = 0; k < n; k++) {
        if (sp[k] !== FLOAT) continue;
        const x = sv[k]!;
        const c = scalar[k]!;
        let v: number;
        if (op === '+') v = x + c;
        else if (op === '-') v = scalarLeft ? c - x : x - c;
        else if (op === '*') v = x * c;
        else v = scalarLeft ? c / x : x / c;
        ov[k] = v;
        op2[k] = FLOAT;
        any = true;
      }
      if (any) out.push(o);
      continue;
    }
    for (let k = 0; k < n; k++) {
      const p = s.pres[k]!;
      if (p === ABSENT) continue;
      const vf = p === FLOAT ? s.vals[k]! : 0;
      const vh = p === HIST ? s.hists![k]! : undefined;
      const c = scalar[k]!;
      const r = scalarLeft ? elemBinop(op, c, vf, undefined, vh) : elemBinop(op, vf, c, vh, undefined);
      if (r.err && r.err.kind === 'info') {
        report(env, r.err, e.pos);
        continue;
      }
      let f = r.f;
      let h = r.h;
      let keep = r.keep;
      if (comparison && scalarLeft) {
        f = vf;
        h = vh;
      }
      if (e.returnBool) {
        f = keep ? 1 : 0;
        h = undefined;
        keep = true;
      }
      if (!keep) continue;
      if (h) setHist(o, k, h, n);
      else {
        o.vals[k] = f;
        o.pres[k] = FLOAT;
      }
      any = true;
    }
    if (any) out.push(o);
  }
  return out;
}

/** The label set Prometheus' `MatchLabels` keeps for an error message. */
function matchLabels(labels: Labels, on: boolean, names: readonly string[]): Labels {
  const out: Record<string, string> = {};
  for (const k in labels) {
    if (on ? names.includes(k) : k !== METRIC_NAME_LABEL && !names.includes(k)) out[k] = labels[k]!;
  }
  return out;
}

/** The join signature of a series for vector matching. */
function signature(labels: Labels, m: VectorMatching): string {
  const parts: string[] = [];
  if (m.on) {
    const names = [...m.labels].sort();
    for (const nme of names) {
      const v = labels[nme];
      if (v !== undefined && v !== '') parts.push(`${nme}\u0000${v}`);
    }
  } else {
    const keys = Object.keys(labels).sort();
    for (const k of keys) {
      if (k === METRIC_NAME_LABEL || m.labels.includes(k)) continue;
      parts.push(`${k}\u0000${labels[k]}`);
    }
  }
  return parts.join('\u0001');
}

function resultMetric(lhs: Labels, rhs: Labels, op: BinaryOp, m: VectorMatching): Labels {
  const out: Record<string, string> = { ...lhs };
  if (changesMetricSchema(op)) {
    delete out[METRIC_NAME_LABEL];
    delete out.__type__;
    delete out.__unit__;
  }
  if (m.card === 'one-to-one') {
    if (m.on) {
      for (const k of Object.keys(out)) if (!m.labels.includes(k)) delete out[k];
    } else {
      for (const k of m.labels) delete out[k];
    }
  }
  for (const ln of m.include) {
    const v = rhs[ln];
    if (v !== undefined && v !== '') out[ln] = v;
    else delete out[ln];
  }
  return out;
}

/** Collects output samples by label set, refusing two samples for one label set at one step. */
class OutputCollector {
  private readonly byKey = new Map<string, StepSeries>();
  readonly series: StepSeries[] = [];
  constructor(private readonly n: number) {}

  get(labels: Labels, dropName: boolean): StepSeries {
    const key = keyOf(labels);
    let s = this.byKey.get(key);
    if (!s) {
      s = newStepSeries(labels, this.n, dropName);
      this.byKey.set(key, s);
      this.series.push(s);
    }
    return s;
  }

  put(s: StepSeries, k: number, f: number, h: FloatHistogram | undefined): void {
    if (s.pres[k] !== ABSENT) throw execError('vector cannot contain metrics with the same labelset');
    if (h) setHist(s, k, h, this.n);
    else {
      s.vals[k] = f;
      s.pres[k] = FLOAT;
    }
  }
}

/** A binary operation between two instant vectors, with Prometheus' matching rules. */
export function vectorBinop(e: BinaryExpr, lhs: StepSeries[], rhs: StepSeries[], steps: Steps, env: EvalEnv): StepSeries[] {
  const m = e.matching!;
  const n = steps.n;
  // Signature ordinals shared by both sides.
  const sigOrd = new Map<string, number>();
  const ordOf = (s: StepSeries): number => {
    const sig = signature(s.labels, m);
    let o = sigOrd.get(sig);
    if (o === undefined) {
      o = sigOrd.size;
      sigOrd.set(sig, o);
    }
    return o;
  };
  const lOrd = Int32Array.from(lhs, ordOf);
  const rOrd = Int32Array.from(rhs, ordOf);
  const numSigs = sigOrd.size;
  switch (e.op) {
    case 'and':
    case 'unless':
      return setAndUnless(e.op, lhs, rhs, lOrd, rOrd, numSigs, n);
    case 'or':
      return setOr(lhs, rhs, lOrd, rOrd, numSigs, n);
    default:
      break;
  }
  const oneToMany = m.card === 'one-to-many';
  // After a possible swap, `many` is iterated and `one` is looked up by signature.
  const many = oneToMany ? rhs : lhs;
  const one = oneToMany ? lhs : rhs;
  const manyOrd = oneToMany ? rOrd : lOrd;
  const oneOrd = oneToMany ? lOrd : rOrd;
  const collector = new OutputCollector(n);
  // As in Prometheus, after the one-to-many swap the RHS fill still pads the "one" side and the LHS fill
  // the "many" side; the operands are swapped back before computing.
  const fillMany = m.fillLhs;
  const fillOne = m.fillRhs;
  const oneBySig: number[][] = Array.from({ length: numSigs }, () => []);
  const manyBySig: number[][] = Array.from({ length: numSigs }, () => []);
  for (let i = 0; i < one.length; i++) oneBySig[oneOrd[i]!]!.push(i);
  for (let i = 0; i < many.length; i++) manyBySig[manyOrd[i]!]!.push(i);
  const metricOf = (ls: StepSeries | undefined, lLabels: Labels, rs: StepSeries | undefined, rLabels: Labels): Labels =>
    resultMetric(ls ? ls.labels : lLabels, rs ? rs.labels : rLabels, e.op, m);

  // Groups whose pairs are fixed for the whole query (one series on the "one" side, and for one-to-one
  // one on the "many" side, with distinct result labels) are computed pair by pair over all steps at
  // once. The others (and every group when fill() is used) go through the per-step algorithm.
  const slow = new Uint8Array(numSigs);
  const pairLabels = new Map<number, Labels>();
  const hasFill = fillMany !== undefined || fillOne !== undefined;
  for (let o = 0; o < numSigs; o++) {
    const ones = oneBySig[o]!;
    const manys = manyBySig[o]!;
    if (hasFill || ones.length > 1 || (m.card === 'one-to-one' && manys.length > 1)) {
      slow[o] = 1;
      continue;
    }
    if (ones.length === 0 || manys.length === 0) continue;
    const rs = one[ones[0]!]!;
    const keys = new Set<string>();
    for (const i of manys) {
      const labels = metricOf(many[i], many[i]!.labels, rs, rs.labels);
      const key = keyOf(labels);
      if (keys.has(key)) {
        slow[o] = 1;
        break;
      }
      keys.add(key);
      pairLabels.set(i, labels);
    }
  }
  for (let i = 0; i < many.length; i++) {
    const o = manyOrd[i]!;
    if (slow[o]) continue;
    const ones = oneBySig[o]!;
    if (ones.length === 0) continue;
    env.checkDeadline();
    computePair(e, many[i]!, one[ones[0]!]!, oneToMany, pairLabels.get(i)!, collector, n, env);
  }

  let lastErr: { kind: 'info' | 'warn'; text: string } | undefined;
  const slowOrds: number[] = [];
  for (let o = 0; o < numSigs; o++) if (slow[o]) slowOrds.push(o);
  if (slowOrds.length === 0) return collector.series;
  const slowOne: number[] = [];
  const slowMany: number[] = [];
  for (let i = 0; i < one.length; i++) if (slow[oneOrd[i]!]) slowOne.push(i);
  for (let i = 0; i < many.length; i++) if (slow[manyOrd[i]!]) slowMany.push(i);
  const rightAt = new Int32Array(numSigs).fill(-1);
  const matched = new Map<number, Set<string> | null>();
  const metricCache = new Map<string, { labels: Labels; key: string }>();
  const touched: number[] = [];
  for (let k = 0; k < n; k++) {
    if ((k & 255) === 0) env.checkDeadline();
    // Prometheus reports only the last annotation of each step.
    report(env, lastErr, e.pos);
    lastErr = undefined;
    for (const o of touched) rightAt[o] = -1;
    touched.length = 0;
    matched.clear();
    let anyOne = false;
    for (const i of slowOne) {
      if (one[i]!.pres[k] === ABSENT) continue;
      anyOne = true;
      const o = oneOrd[i]!;
      const prev = rightAt[o]!;
      if (prev >= 0) {
        const rs = one[i]!;
        const dup = one[prev]!;
        const side = oneToMany ? 'left' : 'right';
        throw execError(
          `found duplicate series for the match group ${labelsKey(matchLabels(rs.labels, m.on, m.labels))} on the ${side} hand-side of the operation: [${labelsKey(dup.labels)}, ${labelsKey(rs.labels)}];many-to-many matching not allowed: matching labels must be unique on one side`,
        );
      }
      rightAt[o] = i;
      touched.push(o);
    }
    let anyMany = false;
    for (const i of slowMany) {
      if (many[i]!.pres[k] !== ABSENT) {
        anyMany = true;
        break;
      }
    }
    if (!anyOne && !anyMany) continue;
    if ((!anyOne || !anyMany) && fillMany === undefined && fillOne === undefined) continue;
    const doOp = (
      ls: StepSeries | undefined,
      lIdx: number,
      lLabels: Labels,
      rs: StepSeries | undefined,
      rIdx: number,
      rLabels: Labels,
      ord: number,
      fillL: number | undefined,
      fillR: number | undefined,
    ): void => {
      const lp = ls ? ls.pres[k]! : FLOAT;
      const rp = rs ? rs.pres[k]! : FLOAT;
      let lf = ls ? (lp === FLOAT ? ls.vals[k]! : 0) : fillL!;
      let rf = rs ? (rp === FLOAT ? rs.vals[k]! : 0) : fillR!;
      let lh = ls && lp === HIST ? ls.hists![k] : undefined;
      let rh = rs && rp === HIST ? rs.hists![k] : undefined;
      if (oneToMany) {
        [lf, rf] = [rf, lf];
        [lh, rh] = [rh, lh];
      }
      const r = elemBinop(e.op, lf, rf, lh, rh);
      if (r.err) {
        lastErr = r.err;
        return;
      }
      if (r.info) lastErr = { kind: 'info', text: r.info };
      let f = r.f;
      let h = r.h;
      if (e.returnBool) {
        h = undefined;
        f = r.keep ? 1 : 0;
      }
      const cacheKey = `${ls ? lIdx : keyOf(lLabels)}|${rs ? rIdx : keyOf(rLabels)}`;
      let rm = metricCache.get(cacheKey);
      if (!rm) {
        const labels = resultMetric(lLabels, rLabels, e.op, m);
        rm = { labels, key: keyOf(labels) };
        metricCache.set(cacheKey, rm);
      }
      const prior = matched.get(ord);
      if (m.card === 'one-to-one') {
        if (prior !== undefined) {
          throw execError('multiple matches for labels: many-to-one matching must be explicit (group_left/group_right)');
        }
        matched.set(ord, null);
      } else {
        let set = prior;
        if (set === undefined || set === null) {
          set = new Set<string>();
          matched.set(ord, set);
        } else if (set.has(rm.key)) {
          throw execError('multiple matches for labels: grouping labels must ensure unique matches');
        }
        set.add(rm.key);
      }
      if (!r.keep && !e.returnBool) return;
      // Prometheus marks vector-vector results for name removal only for `bool` comparisons.
      collector.put(collector.get(rm.labels, e.returnBool), k, f, h);
    };
    for (const i of slowMany) {
      const ls = many[i]!;
      if (ls.pres[k] === ABSENT) continue;
      const o = manyOrd[i]!;
      const ri = rightAt[o]!;
      if (ri < 0) {
        if (fillOne === undefined) continue;
        doOp(ls, i, ls.labels, undefined, -1, matchLabels(ls.labels, m.on, m.labels), o, undefined, fillOne);
        continue;
      }
      const rs = one[ri]!;
      doOp(ls, i, ls.labels, rs, ri, rs.labels, o, undefined, undefined);
    }
    if (fillMany !== undefined) {
      for (const o of touched) {
        if (matched.has(o)) continue;
        const ri = rightAt[o]!;
        const rs = one[ri]!;
        const fillLabels = matchLabels(rs.labels, m.on, m.labels);
        doOp(undefined, -1, fillLabels, rs, ri, rs.labels, o, fillMany, undefined);
      }
    }
  }
  report(env, lastErr, e.pos);
  return collector.series;
}

/** Float arithmetic and comparison kernels for the vectorised path. */
function floatKernel(op: BinaryOp): ((a: number, b: number) => number) | undefined {
  switch (op) {
    case '+':
      return (a, b) => a + b;
    case '-':
      return (a, b) => a - b;
    case '*':
      return (a, b) => a * b;
    case '/':
      return (a, b) => a / b;
    case '^':
      return Math.pow;
    case '%':
      return (a, b) => a % b;
    case 'atan2':
      return Math.atan2;
    default:
      return undefined;
  }
}

function compareKernel(op: BinaryOp): ((a: number, b: number) => boolean) | undefined {
  switch (op) {
    case '==':
      return (a, b) => a === b;
    case '!=':
      return (a, b) => a !== b;
    case '>':
      return (a, b) => a > b;
    case '<':
      return (a, b) => a < b;
    case '>=':
      return (a, b) => a >= b;
    case '<=':
      return (a, b) => a <= b;
    default:
      return undefined;
  }
}

/** One fixed pair of series (`many` with `one`) over all steps. */
function computePair(
  e: BinaryExpr,
  ms: StepSeries,
  os: StepSeries,
  swapped: boolean,
  labels: Labels,
  collector: OutputCollector,
  n: number,
  env: EvalEnv,
): void {
  const arith = floatKernel(e.op);
  const cmp = compareKernel(e.op);
  let out: StepSeries | undefined;
  const mp = ms.pres;
  const op = os.pres;
  const mv = ms.vals;
  const ov = os.vals;
  for (let k = 0; k < n; k++) {
    const a = mp[k]!;
    const b = op[k]!;
    if (a === ABSENT || b === ABSENT) continue;
    if (a === FLOAT && b === FLOAT) {
      const l = swapped ? ov[k]! : mv[k]!;
      const r = swapped ? mv[k]! : ov[k]!;
      if (arith) {
        out ??= collector.get(labels, false);
        collector.put(out, k, arith(l, r), undefined);
        continue;
      }
      if (cmp) {
        const keep = cmp(l, r);
        if (e.returnBool) {
          out ??= collector.get(labels, true);
          collector.put(out, k, keep ? 1 : 0, undefined);
        } else if (keep) {
          out ??= collector.get(labels, false);
          collector.put(out, k, l, undefined);
        }
        continue;
      }
    }
    const lf = a === FLOAT ? mv[k]! : 0;
    const rf = b === FLOAT ? ov[k]! : 0;
    const lh = a === HIST ? ms.hists![k] : undefined;
    const rh = b === HIST ? os.hists![k] : undefined;
    const r = swapped ? elemBinop(e.op, rf, lf, rh, lh) : elemBinop(e.op, lf, rf, lh, rh);
    if (r.err) {
      report(env, r.err, e.pos);
      continue;
    }
    if (r.info) env.annos.info(r.info, e.pos);
    if (e.returnBool) {
      out ??= collector.get(labels, true);
      collector.put(out, k, r.keep ? 1 : 0, undefined);
    } else if (r.keep) {
      out ??= collector.get(labels, false);
      collector.put(out, k, r.f, r.h);
    }
  }
}

function setAndUnless(
  op: 'and' | 'unless',
  lhs: StepSeries[],
  rhs: StepSeries[],
  lOrd: Int32Array,
  rOrd: Int32Array,
  numSigs: number,
  n: number,
): StepSeries[] {
  // present[ord * n + k] = some rhs series with that signature has a value at step k.
  const present = new Uint8Array(numSigs * n);
  for (let i = 0; i < rhs.length; i++) {
    const base = rOrd[i]! * n;
    const p = rhs[i]!.pres;
    for (let k = 0; k < n; k++) if (p[k] !== ABSENT) present[base + k] = 1;
  }
  const out: StepSeries[] = [];
  for (let i = 0; i < lhs.length; i++) {
    const s = lhs[i]!;
    const base = lOrd[i]! * n;
    const o = newStepSeries(s.labels, n, s.dropName);
    let any = false;
    for (let k = 0; k < n; k++) {
      if (s.pres[k] === ABSENT) continue;
      const has = present[base + k] === 1;
      if (op === 'and' ? has : !has) {
        copyPoint(s, o, k, n);
        any = true;
      }
    }
    if (any) out.push(o);
  }
  return out;
}

function setOr(lhs: StepSeries[], rhs: StepSeries[], lOrd: Int32Array, rOrd: Int32Array, numSigs: number, n: number): StepSeries[] {
  const present = new Uint8Array(numSigs * n);
  const collector = new OutputCollector(n);
  for (let i = 0; i < lhs.length; i++) {
    const s = lhs[i]!;
    const base = lOrd[i]! * n;
    let target: StepSeries | undefined;
    for (let k = 0; k < n; k++) {
      if (s.pres[k] === ABSENT) continue;
      present[base + k] = 1;
      target ??= collector.get(s.labels, s.dropName);
      collector.put(target, k, s.vals[k]!, s.pres[k] === HIST ? s.hists![k] : undefined);
    }
  }
  for (let i = 0; i < rhs.length; i++) {
    const s = rhs[i]!;
    const base = rOrd[i]! * n;
    let target: StepSeries | undefined;
    for (let k = 0; k < n; k++) {
      if (s.pres[k] === ABSENT || present[base + k] === 1) continue;
      target ??= collector.get(s.labels, s.dropName);
      collector.put(target, k, s.vals[k]!, s.pres[k] === HIST ? s.hists![k] : undefined);
    }
  }
  return collector.series;
}

function copyPoint(from: StepSeries, to: StepSeries, k: number, n: number): void {
  if (from.pres[k] === HIST) setHist(to, k, from.hists![k]!, n);
  else {
    to.vals[k] = from.vals[k]!;
    to.pres[k] = FLOAT;
  }
}

// --- Histogram trimming (`</` and `>/`) ---

function computeSplit(lower: number, upper: number, count: number, rhs: number, isPositive: boolean, isLinear: boolean): number {
  if (rhs <= lower) return 0;
  if (rhs >= upper) return count;
  let fraction: number;
  if (isLinear) fraction = (rhs - lower) / (upper - lower);
  else {
    const logLower = Math.log2(Math.abs(lower));
    const logUpper = Math.log2(Math.abs(upper));
    const logV = Math.log2(Math.abs(rhs));
    fraction = isPositive ? (logV - logLower) / (logUpper - logLower) : 1 - (logV - logUpper) / (logLower - logUpper);
  }
  return count * fraction;
}

/** The representative value of a surviving interval: arithmetic mean (custom) or geometric mean. */
function computeMidpoint(lo: number, hi: number, isPositive: boolean, isLinear: boolean): number {
  const loInf = lo === Infinity || lo === -Infinity;
  const hiInf = hi === Infinity || hi === -Infinity;
  if (loInf) {
    if (hiInf) return 0;
    return hi > 0 ? hi / 2 : hi;
  }
  if (hiInf) return lo;
  if (isLinear) return (lo + hi) / 2;
  const geo = Math.sqrt(Math.abs(lo * hi));
  return isPositive ? geo : -geo;
}

function zeroIfInf(x: number): number {
  return x === Infinity || x === -Infinity ? 0 : x;
}

function handleInfinityBuckets(isUpperTrim: boolean, lower: number, upper: number, count: number, rhs: number): [number, number] {
  if (lower === -Infinity) {
    if (isUpperTrim) {
      if (rhs >= upper) return [count, 0];
      if (rhs > 0 && upper > 0 && upper !== Infinity) return [(count * rhs) / upper, rhs / 2];
      if (upper <= 0) return [count, rhs];
      return [0, zeroIfInf(upper)];
    }
    if (rhs <= lower) return [count, 0];
    if (rhs >= 0 && upper > rhs && upper !== Infinity) return [count * (1 - rhs / upper), (rhs + upper) / 2];
    return [0, zeroIfInf(upper)];
  }
  if (isUpperTrim) return [0, zeroIfInf(lower)];
  if (rhs >= lower) return [count, rhs];
  return [0, zeroIfInf(lower)];
}

function computeBucketTrim(lower: number, upper: number, count: number, rhs: number, isUpperTrim: boolean, isPositive: boolean, isCustom: boolean): [number, number] {
  if (lower === -Infinity || upper === Infinity) return handleInfinityBuckets(isUpperTrim, lower, upper, count, rhs);
  const under = computeSplit(lower, upper, count, rhs, isPositive, isCustom);
  if (isUpperTrim) return [under, computeMidpoint(lower, rhs, isPositive, isCustom)];
  return [count - under, computeMidpoint(rhs, upper, isPositive, isCustom)];
}

function computeZeroBucketTrim(zl: number, zu: number, count: number, rhs: number, hasNegative: boolean, hasPositive: boolean, isUpperTrim: boolean): [number, number] {
  let lower = zl;
  let upper = zu;
  if (hasNegative && !hasPositive) upper = 0;
  if (hasPositive && !hasNegative) lower = 0;
  let fraction: number;
  let midpoint: number;
  if (isUpperTrim) {
    if (rhs <= lower) return [0, 0];
    if (rhs >= upper) return [count, (lower + upper) / 2];
    fraction = (rhs - lower) / (upper - lower);
    midpoint = (lower + rhs) / 2;
  } else {
    if (rhs <= lower) return [count, (lower + upper) / 2];
    if (rhs >= upper) return [0, 0];
    fraction = (upper - rhs) / (upper - lower);
    midpoint = (rhs + upper) / 2;
  }
  return [count * fraction, midpoint];
}

/**
 * Keeps only the observations below (`</`) or above (`>/`) `rhs`, in place (Prometheus' `TrimBuckets`):
 * buckets on the kept side survive, the bucket holding `rhs` is interpolated, the sum is re-estimated from
 * bucket midpoints.
 */
function trimHistogram(h: FloatHistogram, rhs: number, isUpperTrim: boolean): void {
  let updatedCount = 0;
  let updatedSum = 0;
  let trimmed = false;
  const isCustom = h.usesCustomBuckets;
  let hasPositive = false;
  let hasNegative = false;
  const sides: [boolean, ReturnType<FloatHistogram['positiveBucketList']>, number[]][] = [
    [true, h.positiveBucketList(), h.positiveBuckets.slice()],
    [false, h.negativeBucketList(), h.negativeBuckets.slice()],
  ];
  for (const [positive, list, counts] of sides) {
    // Bucket lists enumerate the stored buckets in storage order, so list index == bucket array index.
    list.forEach((b, i) => {
      if (b.count === 0) return;
      if (positive) hasPositive = true;
      else hasNegative = true;
      const keepAll = isUpperTrim ? b.upper <= rhs : b.lower >= rhs;
      const partial = isUpperTrim ? b.lower < rhs : b.upper > rhs;
      if (keepAll) {
        updatedCount += b.count;
        updatedSum += computeMidpoint(b.lower, b.upper, positive, isCustom) * b.count;
      } else if (partial) {
        const [keep, mid] = computeBucketTrim(b.lower, b.upper, b.count, rhs, isUpperTrim, positive, isCustom);
        updatedCount += keep;
        updatedSum += mid * keep;
        if (counts[i] !== keep) {
          counts[i] = keep;
          trimmed = true;
        }
      } else {
        counts[i] = 0;
        trimmed = true;
      }
    });
  }
  h.positiveBuckets = sides[0]![2];
  h.negativeBuckets = sides[1]![2];
  if (h.zeroCount > 0) {
    const [keep, mid] = computeZeroBucketTrim(-h.zeroThreshold, h.zeroThreshold, h.zeroCount, rhs, hasNegative, hasPositive, isUpperTrim);
    if (h.zeroCount !== keep) {
      h.zeroCount = keep;
      trimmed = true;
    }
    updatedSum += mid * keep;
    updatedCount += keep;
  }
  if (trimmed) {
    h.count = updatedCount;
    h.sum = updatedSum;
    h.compact();
  }
}

export { FloatHistogram };
