import { compareStrings, labelValue } from '../model/index.ts';
import type { Labels } from '../model/index.ts';
import type { Grouping } from './ast.ts';
import { labelsSetKey } from './pipeline.ts';

/** The labels a series keeps under a `by`/`without` grouping (all of them without one), sorted by name. */
export function reduceLabels(labels: Labels, g: Grouping | undefined): Labels {
  if (!g) return labels;
  const out: [string, string][] = [];
  if (g.without) {
    const drop = new Set(g.labels);
    for (const [k, v] of Object.entries(labels).sort(([a], [b]) => compareStrings(a, b))) if (!drop.has(k)) out.push([k, v]);
  } else {
    for (const k of [...g.labels].sort(compareStrings)) {
      const v = labelValue(labels, k);
      if (v !== undefined) out.push([k, v]);
    }
  }
  return Object.fromEntries(out);
}

/**
 * Runs the log pipeline over the range's lines and turns each kept line into a sample: 1 (counting), its
 * byte length (`bytes_*`), or the unwrapped label's value. Samples group by their final labels, or by the
 * range aggregation's `by`/`without` grouping.

/** The group key and labels of a series under a vector aggregation's grouping (one group without one). */
export function groupKeyOf(labels: Labels, g: Grouping | undefined): { key: string; labels: Labels } {
  if (!g) return { key: '', labels: {} };
  const reduced = reduceLabels(labels, g);
  return { key: labelsSetKey(reduced), labels: reduced };
}
