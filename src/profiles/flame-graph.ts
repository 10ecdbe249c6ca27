import type { StackTree, TreeNode } from './stack-tree.ts';
import { sortedChildren } from './stack-tree.ts';

/**
 * Pyroscope's flame graph (`querier.v1.FlameGraph`): `names[0]` is `total`; `levels[d]` holds the nodes at
 * depth d, left to right, as 4-tuples `[xOffset, total, self, nameIndex]` where xOffset is the gap after the
 * previous node of the level (delta encoded); `maxSelf` is the largest self value.
 */
export interface FlameGraph {
  readonly names: string[];
  readonly levels: number[][];
  readonly total: number;
  readonly maxSelf: number;
}

/** Pyroscope's default and largest `max_nodes`. */
export const DEFAULT_MAX_NODES = 8192;
export const MAX_MAX_NODES = 1 << 20;

/**
 * The smallest total a node may have to be drawn on its own when at most `maxNodes` nodes are wanted: the
 * `maxNodes`-th largest total (0 when the tree is small enough). Smaller siblings are folded into one
 * `other` node, as Pyroscope does.
 */
function minValue(tree: StackTree, maxNodes: number): number {
  const totals: number[] = [];
  const stack: TreeNode[] = [...tree.root.children.values()];
  while (stack.length > 0) {
    const n = stack.pop()!;
    totals.push(n.total);
    for (const c of n.children.values()) stack.push(c);
  }
  if (maxNodes <= 0 || totals.length <= maxNodes) return 0;
  totals.sort((a, b) => b - a);
  return totals[maxNodes - 1]!;
}

/** The flame graph of a merged tree, truncated to about `maxNodes` nodes (Pyroscope's algorithm). */
export function flameGraphOf(tree: StackTree, maxNodes: number): FlameGraph {
  const minVal = minValue(tree, maxNodes);
  const names: string[] = [];
  const nameIndex = new Map<string, number>();
  const levels: number[][] = [];
  let maxSelf = 0;
  const indexOf = (name: string): number => {
    let i = nameIndex.get(name);
    if (i === undefined) {
      i = names.length;
      names.push(name);
      nameIndex.set(name, i);
    }
    return i;
  };
  indexOf('total');
  // Depth-first, left to right, with absolute x offsets; delta-encoded per level at the end.
  const work: { node: TreeNode; x: number; level: number; isRoot: boolean }[] = [{ node: tree.root, x: 0, level: 0, isRoot: true }];
  while (work.length > 0) {
    const { node, x, level, isRoot } = work.pop()!;
    if (node.self > maxSelf) maxSelf = node.self;
    (levels[level] ??= []).push(x, node.total, node.self, isRoot ? 0 : indexOf(node.name));
    const next: { node: TreeNode; x: number; level: number; isRoot: boolean }[] = [];
    let cx = x;
    let other = 0;
    for (const c of sortedChildren(node)) {
      if (c.total >= minVal && c.name !== 'other') {
        next.push({ node: c, x: cx, level: level + 1, isRoot: false });
        cx += c.total;
      } else {
        other += c.total;
      }
    }
    if (other > 0) next.push({ node: { name: 'other', self: other, total: other, children: new Map() }, x: cx, level: level + 1, isRoot: false });
    for (let i = next.length - 1; i >= 0; i--) work.push(next[i]!);
  }
  for (const l of levels) {
    let prevEnd = 0;
    for (let i = 0; i < l.length; i += 4) {
      const abs = l[i]!;
      l[i] = abs - prevEnd;
      prevEnd = abs + l[i + 1]!;
    }
  }
  return { names, levels, total: tree.total, maxSelf };
}

/**
 * Pyroscope's diff flame graph: the two trees merged on one shape, each level's nodes as 7-tuples
 * `[leftXOffset, leftTotal, leftSelf, rightXOffset, rightTotal, rightSelf, nameIndex]`, truncated together
 * by `maxNodes` over the larger side.
 */
export interface FlameGraphDiff extends FlameGraph {
  readonly leftTicks: number;
  readonly rightTicks: number;
}

interface DiffNode {
  readonly name: string;
  left: TreeNode | undefined;
  right: TreeNode | undefined;
}

export function flameGraphDiffOf(left: StackTree, right: StackTree, maxNodes: number): FlameGraphDiff {
  const minVal = Math.min(minValue(left, maxNodes), minValue(right, maxNodes));
  const names: string[] = ['total'];
  const nameIndex = new Map<string, number>([['total', 0]]);
  const levels: number[][] = [];
  let maxSelf = 0;
  const total = (n: TreeNode | undefined): number => n?.total ?? 0;
  const work: { d: DiffNode; lx: number; rx: number; level: number }[] = [
    { d: { name: 'total', left: left.root, right: right.root }, lx: 0, rx: 0, level: 0 },
  ];
  while (work.length > 0) {
    const { d, lx, rx, level } = work.pop()!;
    let idx = nameIndex.get(d.name);
    if (idx === undefined) {
      idx = names.length;
      names.push(d.name);
      nameIndex.set(d.name, idx);
    }
    const ls = d.left?.self ?? 0;
    const rs = d.right?.self ?? 0;
    maxSelf = Math.max(maxSelf, ls, rs);
    (levels[level] ??= []).push(lx, total(d.left), ls, rx, total(d.right), rs, idx);
    const childNames = new Set([...(d.left?.children.keys() ?? []), ...(d.right?.children.keys() ?? [])]);
    const next: { d: DiffNode; lx: number; rx: number; level: number }[] = [];
    let cl = lx;
    let cr = rx;
    let otherL = 0;
    let otherR = 0;
    for (const name of [...childNames].sort()) {
      const l = d.left?.children.get(name);
      const r = d.right?.children.get(name);
      if (Math.max(total(l), total(r)) >= minVal && name !== 'other') {
        next.push({ d: { name, left: l, right: r }, lx: cl, rx: cr, level: level + 1 });
        cl += total(l);
        cr += total(r);
      } else {
        otherL += total(l);
        otherR += total(r);
      }
    }
    if (otherL + otherR > 0) {
      const node = (v: number): TreeNode => ({ name: 'other', self: v, total: v, children: new Map() });
      next.push({ d: { name: 'other', left: node(otherL), right: node(otherR) }, lx: cl, rx: cr, level: level + 1 });
    }
    for (let i = next.length - 1; i >= 0; i--) work.push(next[i]!);
  }
  for (const l of levels) {
    let prevL = 0;
    let prevR = 0;
    for (let i = 0; i < l.length; i += 7) {
      const al = l[i]!;
      const ar = l[i + 3]!;
      l[i] = al - prevL;
      l[i + 3] = ar - prevR;
      prevL = al + l[i + 1]!;
      prevR = ar + l[i + 4]!;
    }
  }
  return { names, levels, total: left.total + right.total, maxSelf, leftTicks: left.total, rightTicks: right.total };
}
