import { profilePprof } from '../model/index.ts';
import type { ProfileFunction, ProfileSample, ProfileType } from '../model/index.ts';
import type { StackTree, TreeNode } from './stack-tree.ts';

/**
 * A merged tree as a pprof `Profile` message (uncompressed protobuf, Pyroscope's SelectMergeProfile answer):
 * one sample type (the profile type's), its period type, one function and one location per distinct name,
 * and one sample per stack that has a self value. File names and line numbers are not kept by the tree.
 */
export function mergedPprof(tree: StackTree, type: ProfileType, timeNanos: number, durationNanos: number): Uint8Array {
  const functions: ProfileFunction[] = [];
  const functionIds = new Map<string, number>();
  const fid = (name: string): number => {
    let id = functionIds.get(name);
    if (id === undefined) {
      functionIds.set(name, (id = functions.length));
      functions.push({ name });
    }
    return id;
  };
  const stacks: number[][] = [];
  const samples: ProfileSample[] = [];
  const walk = (node: TreeNode, path: number[]): void => {
    for (const c of node.children.values()) {
      const p = [...path, fid(c.name)];
      if (c.self !== 0) {
        samples.push({ stack: stacks.length, value: c.self });
        stacks.push([...p].reverse());
      }
      walk(c, p);
    }
  };
  walk(tree.root, []);
  return profilePprof({ timeMs: timeNanos / 1e6, durationNs: durationNanos, functions, stacks, samples }, type);
}
