import { compareStrings } from '../model/index.ts';
import type { Labels } from '../model/index.ts';
import type { Grouping } from './ast.ts';
import { labelsSetKey } from './pipeline.ts';

/** The labels a series keeps under a `by`/`without` grouping (all of them without one), sorted by name. */
export function reduceLabels(labels: Labels, g: Grouping | undefined): Labels {
  if (!g) return labels;
  const out: Record<string, string> = {};
  if (g.without) {
    const drop = new Set(g.labels);
    for (const k of Object.keys(labels).sort(compareStrings)) if (!drop.has(k)) out[k] = labels[k];
  } else {
    for (const k of [...g.labels].sort(compareStrings)) if (labels[k] !== undefined) out[k] = labels[k];
  }
  return out;
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
