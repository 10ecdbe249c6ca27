import { compareStrings, labelValue, labelsKey } from '../model/index.ts';
import type { Labels } from '../model/index.ts';
import type { BinaryOp, VectorMatching } from './ast.ts';
import { LogqlError } from './errors.ts';
import { foldScalar } from './parser.ts';
import { labelsSetKey } from './pipeline.ts';
import { newStepSeries } from './step-series.ts';
import type { EvalValue, StepSeries } from './step-series.ts';

const COMPARISONS = new Set<BinaryOp>(['==', '!=', '>', '>=', '<', '<=']);

export function binary(op: BinaryOp, returnBool: boolean, matching: VectorMatching | undefined, l: EvalValue, r: EvalValue, n: number): EvalValue {
  if (l.kind === 'scalar' && r.kind === 'scalar') return { kind: 'scalar', value: foldScalar(op, l.value, r.value) };
  if (op === 'and' || op === 'or' || op === 'unless') {
    return { kind: 'vector', series: setOperation(op, matching, l as Extract<EvalValue, { kind: 'vector' }>, r as Extract<EvalValue, { kind: 'vector' }>, n) };
  }
  if (l.kind === 'vector' && r.kind === 'scalar') return { kind: 'vector', series: vectorScalar(op, returnBool, l.series, r.value, false, n) };
  if (l.kind === 'scalar' && r.kind === 'vector') return { kind: 'vector', series: vectorScalar(op, returnBool, r.series, l.value, true, n) };
  return { kind: 'vector', series: vectorVector(op, returnBool, matching, (l as { series: StepSeries[] }).series, (r as { series: StepSeries[] }).series, n) };
}

/** Applies `op` to one pair; returns [keep, value] for comparisons. */
function applyOp(op: BinaryOp, returnBool: boolean, a: number, b: number, keepValue: number): [boolean, number] {
  if (COMPARISONS.has(op)) {
    const ok = foldScalar(op, a, b) === 1;
    if (returnBool) return [true, ok ? 1 : 0];
    return [ok, keepValue];
  }
  return [true, foldScalar(op, a, b)];
}

function vectorScalar(op: BinaryOp, returnBool: boolean, series: StepSeries[], scalar: number, scalarLeft: boolean, n: number): StepSeries[] {
  const out: StepSeries[] = [];
  for (const s of series) {
    const r = newStepSeries(s.labels, n);
    let any = false;
    for (let i = 0; i < n; i++) {
      if (!s.present[i]) continue;
      const v = s.values[i]!; // i < n, the length of every step series
      const [keep, value] = scalarLeft ? applyOp(op, returnBool, scalar, v, v) : applyOp(op, returnBool, v, scalar, v);
      if (!keep) continue;
      r.values[i] = value;
      r.present[i] = 1;
      any = true;
    }
    if (any) out.push(r);
  }
  return out;
}

function signature(labels: Labels, matching: VectorMatching | undefined): string {
  if (!matching) return labelsSetKey(labels);
  const keep: [string, string][] = [];
  if (matching.on) {
    for (const k of matching.labels) {
      const v = labelValue(labels, k);
      if (v !== undefined) keep.push([k, v]);
    }
  } else {
    const drop = new Set(matching.labels);
    for (const [k, v] of Object.entries(labels)) if (!drop.has(k)) keep.push([k, v]);
  }
  return labelsSetKey(Object.fromEntries(keep));
}

function resultLabels(many: Labels, one: Labels, matching: VectorMatching | undefined): Labels {
  // A Map, so `__proto__` and `constructor` are ordinary label names.
  const out = new Map<string, string>();
  const card = matching?.card ?? 'one-to-one';
  if (card === 'one-to-one') {
    if (matching?.on) {
      for (const k of matching.labels) {
        const v = labelValue(many, k);
        if (v !== undefined) out.set(k, v);
      }
    } else {
      const drop = new Set(matching?.labels ?? []);
      for (const [k, v] of Object.entries(many)) if (!drop.has(k)) out.set(k, v);
    }
  } else {
    for (const [k, v] of Object.entries(many)) out.set(k, v);
    for (const k of matching!.include) {
      const v = labelValue(one, k);
      if (v === undefined || v === '') out.delete(k);
      else out.set(k, v);
    }
  }
  return Object.fromEntries([...out].sort(([a], [b]) => compareStrings(a, b)));
}

function vectorVector(op: BinaryOp, returnBool: boolean, matching: VectorMatching | undefined, left: StepSeries[], right: StepSeries[], n: number): StepSeries[] {
  const card = matching?.card ?? 'one-to-one';
  // The "one" side is right for one-to-one and group_left, left for group_right.
  const swap = card === 'one-to-many';
  const manySide = swap ? right : left;
  const oneSide = swap ? left : right;
  const manySigs = manySide.map((s) => ({ s, sig: signature(s.labels, matching) }));
  const oneSigs = oneSide.map((s) => ({ s, sig: signature(s.labels, matching) }));
  const outputs = new Map<string, StepSeries>();
  const order: StepSeries[] = [];
  for (let i = 0; i < n; i++) {
    const oneBySig = new Map<string, StepSeries>();
    for (const { s, sig } of oneSigs) {
      if (!s.present[i]) continue;
      if (oneBySig.has(sig)) {
        const side = swap ? 'left' : 'right';
        throw new LogqlError(
          'execution',
          card === 'one-to-one'
            ? `found duplicate series on the ${side} hand-side of the operation: ${labelsKey(s.labels)};many-to-many matching not allowed: matching labels must be unique on one side`
            : `found duplicate series on the ${side} hand-side of the operation: ${labelsKey(s.labels)};many-to-many matching not allowed: matching labels must be unique on one side`,
        );
      }
      oneBySig.set(sig, s);
    }
    const matchedOne = new Set<string>();
    const seenResult = new Set<string>();
    for (const { s, sig } of manySigs) {
      if (!s.present[i]) continue;
      const other = oneBySig.get(sig);
      if (!other) continue;
      if (card === 'one-to-one') {
        if (matchedOne.has(sig)) {
          throw new LogqlError('execution', 'multiple matches for labels: many-to-one matching must be explicit (group_left/group_right)');
        }
        matchedOne.add(sig);
      }
      const [lv, rv] = swap ? [other.values[i]!, s.values[i]!] : [s.values[i]!, other.values[i]!]; // i < n
      const [keep, value] = applyOp(op, returnBool, lv, rv, lv);
      if (!keep) continue;
      const labels = resultLabels(s.labels, other.labels, matching);
      const key = labelsSetKey(labels);
      if (seenResult.has(key)) {
        throw new LogqlError('execution', 'multiple matches for labels: grouping labels must ensure unique matches');
      }
      seenResult.add(key);
      let o = outputs.get(key);
      if (!o) {
        o = newStepSeries(labels, n);
        outputs.set(key, o);
        order.push(o);
      }
      o.values[i] = value;
      o.present[i] = 1;
    }
  }
  return order;
}

function setOperation(op: 'and' | 'or' | 'unless', matching: VectorMatching | undefined, l: Extract<EvalValue, { kind: 'vector' }>, r: Extract<EvalValue, { kind: 'vector' }>, n: number): StepSeries[] {
  const rSigs = r.series.map((s) => ({ s, sig: signature(s.labels, matching) }));
  const lSigs = l.series.map((s) => ({ s, sig: signature(s.labels, matching) }));
  const out: StepSeries[] = [];
  if (op === 'and' || op === 'unless') {
    for (const { s, sig } of lSigs) {
      const o = newStepSeries(s.labels, n);
      let any = false;
      for (let i = 0; i < n; i++) {
        if (!s.present[i]) continue;
        let matched = false;
        for (const right of rSigs) {
          if (right.s.present[i] && right.sig === sig) {
            matched = true;
            break;
          }
        }
        if (matched !== (op === 'and')) continue;
        o.values[i] = s.values[i]!; // i < n
        o.present[i] = 1;
        any = true;
      }
      if (any) out.push(o);
    }
    return out;
  }
  // or: every left sample, plus right samples whose signature has no left sample at that step. Series
  // with equal labels on both sides become one.
  const byKey = new Map<string, StepSeries>();
  for (const s of l.series) {
    const copy = { labels: s.labels, values: Float64Array.from(s.values), present: Uint8Array.from(s.present) };
    out.push(copy);
    byKey.set(labelsSetKey(s.labels), copy);
  }
  for (const { s, sig } of rSigs) {
    const key = labelsSetKey(s.labels);
    const existing = byKey.get(key);
    const o = existing ?? newStepSeries(s.labels, n);
    let any = false;
    for (let i = 0; i < n; i++) {
      if (!s.present[i]) continue;
      let leftHas = false;
      for (const left of lSigs) {
        if (left.s.present[i] && left.sig === sig) {
          leftHas = true;
          break;
        }
      }
      if (leftHas) continue;
      if (existing && existing.present[i]) continue;
      o.values[i] = s.values[i]!; // i < n
      o.present[i] = 1;
      any = true;
    }
    if (any && !existing) {
      out.push(o);
      byKey.set(key, o);
    }
  }
  return out;
}

