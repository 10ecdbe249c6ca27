import type { Rejection } from '../model/index.ts';

/** How many example subjects a grouped line names before it stops listing them. */
const MAX_EXAMPLES = 1;

/**
 * Groups rejections the way Loki's distributor does: identical reasons are counted, not repeated, and each
 * line carries one example message. Example: `3× line_too_long: line too long ... for stream {app="x"}`.
 */
export function groupRejections(rejections: readonly Rejection[]): string {
  const groups = new Map<string, { count: number; examples: string[] }>();
  for (const r of rejections) {
    let g = groups.get(r.reason);
    if (!g) groups.set(r.reason, (g = { count: 0, examples: [] }));
    g.count += r.count;
    if (g.examples.length < MAX_EXAMPLES) g.examples.push(r.message);
  }
  const lines: string[] = [];
  for (const [reason, g] of groups) lines.push(`${g.count}× ${reason}: ${g.examples.join('; ')}`);
  return lines.join('\n');
}

/** Total records the rejections stand for. */
export function countRejected(rejections: readonly Rejection[]): number {
  let n = 0;
  for (const r of rejections) n += r.count;
  return n;
}
