import type { FlamebearerData } from '../datasource/pyroscope.ts';

/** A frame of the flame graph at `level`, spanning [x, x + total) in sample units of the whole graph. */
export interface FlameNode {
  readonly level: number;
  readonly x: number;
  readonly total: number;
  readonly self: number;
  readonly name: string;
  readonly parent: FlameNode | undefined;
  /** Diff only: each side's total and self (left is the baseline). */
  readonly left?: { total: number; self: number };
  readonly right?: { total: number; self: number };
}

export interface FlameGraphModel {
  readonly levels: readonly (readonly FlameNode[])[];
  readonly total: number;
  readonly diff?: { leftTicks: number; rightTicks: number };
}

/**
 * Decodes Pyroscope's levels: per node `[offset, total, self, name]` where the offset counts from the end of the
 * previous node of the same level; a diff's nodes are `[lOffset, lTotal, lSelf, rOffset, rTotal, rSelf, name]`,
 * laid out by the sum of both sides. Each node gets its parent (the node of the level above that covers it).
 */
export function decodeFlameGraph(fb: FlamebearerData, isDiff: boolean): FlameGraphModel {
  const stride = isDiff ? 7 : 4;
  const levels: FlameNode[][] = [];
  (fb.levels ?? []).forEach((lvl, depth) => {
    // Connect's JSON leaves out empty and zero fields (an empty level, a side with no samples).
    const v = (lvl.values ?? []).map(Number);
    const above = levels[depth - 1] ?? [];
    let parentIdx = 0;
    let cursor = 0;
    const nodes: FlameNode[] = [];
    for (let i = 0; i + stride <= v.length; i += stride) {
      const offset = isDiff ? v[i]! + v[i + 3]! : v[i]!;
      const total = isDiff ? v[i + 1]! + v[i + 4]! : v[i + 1]!;
      const self = isDiff ? v[i + 2]! + v[i + 5]! : v[i + 2]!;
      const name = fb.names?.[v[i + stride - 1]!] ?? '?';
      const x = cursor + offset;
      cursor = x + total;
      while (parentIdx < above.length && above[parentIdx]!.x + above[parentIdx]!.total <= x) parentIdx++;
      const parent = above[parentIdx];
      nodes.push({
        level: depth,
        x,
        total,
        self,
        name,
        parent,
        ...(isDiff ? { left: { total: v[i + 1]!, self: v[i + 2]! }, right: { total: v[i + 4]!, self: v[i + 5]! } } : {}),
      });
    }
    levels.push(nodes);
  });
  return {
    levels,
    total: levels[0]?.[0]?.total ?? Number(fb.total ?? 0),
    ...(isDiff ? { diff: { leftTicks: Number(fb.leftTicks ?? 0), rightTicks: Number(fb.rightTicks ?? 0) } } : {}),
  };
}

/** A function's row of the top table: time in it (self) and under it (total, each stack counted once). */
export interface TopEntry {
  readonly name: string;
  readonly self: number;
  readonly total: number;
}

/** The top table: self and total per function name; recursion is not double counted in total. */
export function topTable(model: FlameGraphModel): TopEntry[] {
  const byName = new Map<string, { self: number; total: number }>();
  for (const level of model.levels.slice(1)) {
    for (const n of level) {
      const e = byName.get(n.name) ?? { self: 0, total: 0 };
      e.self += n.self;
      let a = n.parent;
      while (a && a.name !== n.name) a = a.parent;
      if (!a) e.total += n.total;
      byName.set(n.name, e);
    }
  }
  return [...byName].map(([name, e]) => ({ name, ...e }));
}

/** The value of a profile in its unit: nanoseconds as a duration, bytes in binary multiples, counts plain. */
export function formatProfileValue(v: number, unit: string): string {
  if (unit === 'nanoseconds') {
    if (v >= 1e9) return `${(v / 1e9).toFixed(2)} s`;
    if (v >= 1e6) return `${(v / 1e6).toFixed(2)} ms`;
    if (v >= 1e3) return `${(v / 1e3).toFixed(2)} µs`;
    return `${v} ns`;
  }
  if (unit === 'bytes') {
    const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
    let i = 0;
    let x = v;
    while (x >= 1024 && i < units.length - 1) {
      x /= 1024;
      i++;
    }
    return `${i === 0 ? x : x.toFixed(2)} ${units[i]}`;
  }
  return v >= 1e6 ? `${(v / 1e6).toFixed(2)} M` : v >= 1e3 ? `${(v / 1e3).toFixed(1)} k` : String(v);
}

/** A call tree being built: a frame, its own (self) value and its callees by name. */
export interface CallTree {
  readonly name: string;
  self: number;
  readonly children: Map<string, CallTree>;
}

export function newCallTree(name: string): CallTree {
  return { name, self: 0, children: new Map() };
}

/** Adds `value` as the self value of the frame at `stack` (callee last) below `root`. */
export function addStack(root: CallTree, stack: readonly string[], value: number): void {
  let node = root;
  for (const name of stack) {
    let child = node.children.get(name);
    if (!child) {
      child = newCallTree(name);
      node.children.set(name, child);
    }
    node = child;
  }
  node.self += value;
}

/** A call tree as a flame graph (the root at level 0, callees sorted by name as Pyroscope lays them out). */
export function modelFromTree(root: CallTree): FlameGraphModel {
  const levels: FlameNode[][] = [];
  const totals = new Map<CallTree, number>();
  const totalOf = (t: CallTree): number => {
    let sum = t.self;
    for (const c of t.children.values()) sum += totalOf(c);
    totals.set(t, sum);
    return sum;
  };
  totalOf(root);
  const place = (t: CallTree, level: number, x: number, parent: FlameNode | undefined): void => {
    const node: FlameNode = { level, x, total: totals.get(t)!, self: t.self, name: t.name, parent };
    (levels[level] ??= []).push(node);
    let cx = x;
    for (const c of [...t.children.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
      if (totals.get(c)! <= 0) continue;
      place(c, level + 1, cx, node);
      cx += totals.get(c)!;
    }
  };
  place(root, 0, 0, undefined);
  // Levels are filled depth-first; the drawing and the lookups want each level ordered by x.
  for (const l of levels) l.sort((a, b) => a.x - b.x);
  return { levels, total: totals.get(root)! };
}

/** The names from the root's child down to `n` (the root, "total", left out). */
function stackOf(n: FlameNode): string[] {
  const out: string[] = [];
  for (let a: FlameNode | undefined = n; a && a.parent; a = a.parent) out.push(a.name);
  return out.reverse();
}

/**
 * The sandwich view of `name`: its callers (`name` on top, the functions that called it below, inverted) and its
 * callees (`name` on top, what it called below), merged over every place it appears. Self values are summed, so
 * both sides total the function's own total, recursion counted once (from its outermost call).
 */
export function sandwich(model: FlameGraphModel, name: string): { callers: FlameGraphModel; callees: FlameGraphModel } {
  const callers = newCallTree(name);
  const callees = newCallTree(name);
  for (const level of model.levels.slice(1)) {
    for (const n of level) {
      if (n.self <= 0) continue;
      const stack = stackOf(n);
      const outer = stack.indexOf(name);
      if (outer < 0) continue;
      addStack(callees, stack.slice(outer + 1), n.self);
      addStack(callers, stack.slice(0, outer).reverse(), n.self);
    }
  }
  return { callers: modelFromTree(callers), callees: modelFromTree(callees) };
}
