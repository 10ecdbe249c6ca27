import type { Profile } from '../model/index.ts';

/** A node of a merged call tree: one function on one path from the root. */
export interface TreeNode {
  readonly name: string;
  /** The value of samples whose leaf is this node. */
  self: number;
  /** `self` plus every descendant's. */
  total: number;
  readonly children: Map<string, TreeNode>;
}

/**
 * Profiles merged into one call tree by function name (Pyroscope's flame graph model): stacks from the root,
 * equal names on one path merged, values summed. Not safe for concurrent use.
 */
export class StackTree {
  readonly root: TreeNode = { name: '', self: 0, total: 0, children: new Map() };

  /**
   * Adds a profile's samples, or only those whose span id is in `spanIds` (a span profile). Returns the
   * value added.
   */
  add(p: Profile, spanIds?: ReadonlySet<string>): number {
    let added = 0;
    for (const s of p.samples) {
      if (spanIds !== undefined && (s.spanId === undefined || !spanIds.has(s.spanId))) continue;
      const stack = p.stacks[s.stack];
      if (!stack) continue;
      let node = this.root;
      node.total += s.value;
      for (let i = stack.length - 1; i >= 0; i--) {
        const name = p.functions[stack[i]!]?.name ?? '';
        let child = node.children.get(name);
        if (!child) node.children.set(name, (child = { name, self: 0, total: 0, children: new Map() }));
        child.total += s.value;
        node = child;
      }
      node.self += s.value;
      added += s.value;
    }
    return added;
  }

  /** The sum of every sample added. */
  get total(): number {
    return this.root.total;
  }
}

/** Children in Pyroscope's order: by name. */
export function sortedChildren(n: TreeNode): TreeNode[] {
  return [...n.children.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}
