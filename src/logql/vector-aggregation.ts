import type { Labels } from '../model/index.ts';
import type { Grouping } from './ast.ts';
import { labelsSetKey } from './pipeline.ts';
import { groupKeyOf, reduceLabels } from './series-grouping.ts';
import { newStepSeries } from './step-series.ts';
import type { StepSeries } from './step-series.ts';

/** A vector aggregation (sum, avg, min, max, count, stddev, stdvar, topk, bottomk, sort...) per step. */
export function vectorAggregation(op: string, param: number | undefined, grouping: Grouping | undefined, input: StepSeries[], n: number): StepSeries[] {
  if (op === 'sort' || op === 'sort_desc') return sortSeries(input, op === 'sort_desc', n);
  if (op === 'topk' || op === 'bottomk' || op === 'approx_topk') return topk(input, param ?? 1, op !== 'bottomk', grouping, n);
  const groups = new Map<string, { labels: Labels; members: StepSeries[] }>();
  for (const s of input) {
    const { key, labels } = groupKeyOf(s.labels, grouping);
    let g = groups.get(key);
    if (!g) groups.set(key, (g = { labels, members: [] }));
    g.members.push(s);
  }
  const out: StepSeries[] = [];
  for (const g of groups.values()) {
    const r = newStepSeries(g.labels, n);
    let any = false;
    for (let i = 0; i < n; i++) {
      let count = 0;
      let acc = 0;
      let mean = 0;
      let m2 = 0;
      for (const s of g.members) {
        if (!s.present[i]) continue;
        const v = s.values[i]!; // i < n, the length of every step series
        count++;
        switch (op) {
          case 'sum':
          case 'avg':
            acc += v;
            break;
          case 'min':
            if (count === 1 || v < acc || Number.isNaN(acc)) acc = v;
            break;
          case 'max':
            if (count === 1 || v > acc || Number.isNaN(acc)) acc = v;
            break;
          case 'stddev':
          case 'stdvar': {
            const delta = v - mean;
            mean += delta / count;
            m2 += delta * (v - mean);
            break;
          }
        }
      }
      if (count === 0) continue;
      let v: number;
      switch (op) {
        case 'avg':
          v = acc / count;
          break;
        case 'count':
          v = count;
          break;
        case 'stdvar':
          v = m2 / count;
          break;
        case 'stddev':
          v = Math.sqrt(m2 / count);
          break;
        default:
          v = acc;
      }
      r.values[i] = v;
      r.present[i] = 1;
      any = true;
    }
    if (any) out.push(r);
  }
  return out;
}

/** sort/sort_desc: only meaningful for instant queries (one step); NaN sorts last either way. */
function sortSeries(input: StepSeries[], desc: boolean, n: number): StepSeries[] {
  if (n !== 1) return input;
  const present = input.filter((s) => s.present[0]);
  return present.sort((a, b) => {
    const x = a.values[0]!; // n === 1
    const y = b.values[0]!;
    if (Number.isNaN(x)) return Number.isNaN(y) ? 0 : 1;
    if (Number.isNaN(y)) return -1;
    return desc ? y - x : x - y;
  });
}

function topk(input: StepSeries[], k: number, top: boolean, grouping: Grouping | undefined, n: number): StepSeries[] {
  const groups = new Map<string, StepSeries[]>();
  for (const s of input) {
    const key = grouping ? labelsSetKey(reduceLabels(s.labels, grouping)) : '';
    let g = groups.get(key);
    if (!g) groups.set(key, (g = []));
    g.push(s);
  }
  const outputs = new Map<StepSeries, StepSeries>();
  // Better first; NaN is the worst in both directions.
  const better = (x: number, y: number): boolean => {
    if (Number.isNaN(y)) return !Number.isNaN(x);
    if (Number.isNaN(x)) return false;
    return top ? x > y : x < y;
  };
  const order: StepSeries[] = [];
  for (const members of groups.values()) {
    for (let i = 0; i < n; i++) {
      const present = members.filter((s) => s.present[i]);
      present.sort((a, b) => (better(a.values[i]!, b.values[i]!) ? -1 : better(b.values[i]!, a.values[i]!) ? 1 : 0)); // i < n
      for (const s of present.slice(0, k)) {
        let o = outputs.get(s);
        if (!o) {
          o = newStepSeries(s.labels, n);
          outputs.set(s, o);
          order.push(o);
        }
        o.values[i] = s.values[i]!;
        o.present[i] = 1;
      }
    }
  }
  if (n === 1) {
    order.sort((a, b) => (better(a.values[0]!, b.values[0]!) ? -1 : better(b.values[0]!, a.values[0]!) ? 1 : 0)); // n === 1
  }
  return order;
}
