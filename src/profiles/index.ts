export { StackTree } from './stack-tree.ts';
export type { TreeNode } from './stack-tree.ts';
export { DEFAULT_MAX_NODES, MAX_MAX_NODES, flameGraphDiffOf, flameGraphOf } from './flame-graph.ts';
export type { FlameGraph, FlameGraphDiff } from './flame-graph.ts';
export { SeriesBuilder } from './series.ts';
export type { ProfileSeries, SeriesParams, SeriesPoint } from './series.ts';
export { mergedPprof } from './merged-pprof.ts';
