import type { TraceSpan } from '../../datasource/tempo.ts';
import { addStack, modelFromTree, newCallTree } from '../../flamegraph/flame-model.ts';
import type { FlameGraphModel } from '../../flamegraph/flame-model.ts';
import type { TreeRow } from './trace-tree.ts';

/** A span's frame in the trace's flame graph: its service and operation. */
function spanFrameName(s: TraceSpan): string {
  return `${s.serviceName}: ${s.name}`;
}

/** Nanoseconds of [startNs, endNs) covered by `intervals` (clipped to it, overlaps counted once). */
function coveredNs(startNs: bigint, endNs: bigint, intervals: readonly (readonly [bigint, bigint])[]): bigint {
  const clipped = intervals.map(([a, b]) => [a < startNs ? startNs : a, b > endNs ? endNs : b] as const).filter(([a, b]) => b > a).sort((x, y) => (x[0] < y[0] ? -1 : x[0] > y[0] ? 1 : 0));
  let covered = 0n;
  let reach = startNs;
  for (const [a, b] of clipped) {
    if (b <= reach) continue;
    covered += b - (a > reach ? a : reach);
    reach = b;
  }
  return covered;
}

/**
 * The span-level flame graph of a trace: a frame per service and operation on each call path (siblings with the
 * same name merged, as a profile merges stacks), valued by the spans' self time: their duration less the time
 * their children cover. A frame's width is so the time spent in it and below it; the root is the whole trace.
 */
export function traceFlameGraph(rows: readonly TreeRow[]): FlameGraphModel {
  const childIntervals = new Map<string, [bigint, bigint][]>();
  const path: TraceSpan[] = [];
  const paths = rows.map((r) => {
    path.length = r.depth;
    const parent = path[r.depth - 1];
    if (parent) {
      const list = childIntervals.get(parent.spanId) ?? [];
      list.push([r.span.startNs, r.span.endNs]);
      childIntervals.set(parent.spanId, list);
    }
    path.push(r.span);
    return path.map(spanFrameName);
  });
  const root = newCallTree('trace');
  rows.forEach((r, i) => {
    const s = r.span;
    const self = s.endNs - s.startNs - coveredNs(s.startNs, s.endNs, childIntervals.get(s.spanId) ?? []);
    addStack(root, paths[i]!, Number(self));
  });
  return modelFromTree(root);
}
