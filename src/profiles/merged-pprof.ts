import protobuf from 'protobufjs';
import type { ProfileType } from '../model/index.ts';
import type { StackTree, TreeNode } from './stack-tree.ts';

/**
 * A merged tree as a pprof `Profile` message (uncompressed protobuf, Pyroscope's SelectMergeProfile answer):
 * one sample type (the profile type's), its period type, one function and one location per distinct name,
 * and one sample per stack that has a self value. File names and line numbers are not kept by the tree.
 */
export function mergedPprof(tree: StackTree, type: ProfileType, timeNanos: number, durationNanos: number): Uint8Array {
  const strings = [''];
  const stringIndex = new Map<string, number>([['', 0]]);
  const str = (s: string): number => {
    let i = stringIndex.get(s);
    if (i === undefined) {
      i = strings.length;
      strings.push(s);
      stringIndex.set(s, i);
    }
    return i;
  };
  const functionIds = new Map<string, number>();
  const fid = (name: string): number => {
    let id = functionIds.get(name);
    if (id === undefined) functionIds.set(name, (id = functionIds.size + 1));
    return id;
  };
  const samples: { locations: number[]; value: number }[] = [];
  const walk = (node: TreeNode, path: number[]): void => {
    for (const c of node.children.values()) {
      const p = [...path, fid(c.name)];
      if (c.self !== 0) samples.push({ locations: [...p].reverse(), value: c.self });
      walk(c, p);
    }
  };
  walk(tree.root, []);
  const w = protobuf.Writer.create();
  const valueType = (field: number, t: string, u: string): void => {
    const tt = str(t);
    const uu = str(u);
    w.uint32((field << 3) | 2).fork().uint32(8).int64(tt).uint32(16).int64(uu).ldelim();
  };
  valueType(1, type.sampleType, type.sampleUnit);
  for (const s of samples) {
    w.uint32((2 << 3) | 2).fork();
    w.uint32((1 << 3) | 2).fork();
    for (const l of s.locations) w.uint64(l);
    w.ldelim();
    w.uint32((2 << 3) | 2).fork().int64(s.value).ldelim();
    w.ldelim();
  }
  for (const [name, id] of functionIds) {
    // location id = function id; one line naming the function.
    w.uint32((4 << 3) | 2).fork().uint32(8).uint64(id).uint32((4 << 3) | 2).fork().uint32(8).uint64(id).ldelim().ldelim();
    w.uint32((5 << 3) | 2).fork().uint32(8).uint64(id).uint32(16).int64(str(name)).uint32(24).int64(str(name)).ldelim();
  }
  // The string table is written last: every index above was assigned before it.
  for (const s of strings) w.uint32((6 << 3) | 2).string(s);
  w.uint32(9 << 3).int64(timeNanos);
  w.uint32(10 << 3).int64(durationNanos);
  valueType(11, type.periodType, type.periodUnit);
  return w.finish();
}
