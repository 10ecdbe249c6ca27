import type { BlockInfo } from './catalog.ts';

/** Small blocks of one level merge once this many wait in a tenant's window (size-tiered, so a span is rewritten about log4 times). */
export const MERGE_FAN_IN = 4;

/** What the planner needs to know beyond the blocks. */
export interface CompactionPolicy {
  /** A merged block holds at most this many spans; blocks of half of it or more are never rewritten. */
  readonly targetSpans: number;
  /**
   * Whether a tenant's window has had no new block for a while (late spans, a restart): then every small block
   * of it is merged, whatever its level, so a quiet window ends up in few blocks.
   */
  isQuiet(tenant: string, windowStartMs: number): boolean;
}

/**
 * The next merge to run: small blocks (under half the target) of one tenant and window, packed in seq order up to
 * the target. A busy window merges `MERGE_FAN_IN` blocks of one level at a time; a quiet one merges all its small
 * blocks. Big blocks are never inputs, so late spans for a closed window never rewrite one. Undefined when
 * nothing is due.
 */
export function nextMerge(blocks: readonly BlockInfo[], policy: CompactionPolicy): BlockInfo[] | undefined {
  const windows = new Map<string, BlockInfo[]>();
  for (const b of blocks) {
    if (b.spans * 2 >= policy.targetSpans) continue;
    const k = `${b.tenant}\u0000${b.windowStartMs}`;
    let list = windows.get(k);
    if (!list) windows.set(k, (list = []));
    list.push(b);
  }
  for (const small of windows.values()) {
    if (small.length < 2) continue;
    const sorted = [...small].sort((a, b) => a.seq - b.seq);
    if (policy.isQuiet(sorted[0]!.tenant, sorted[0]!.windowStartMs)) {
      const pack = packUpTo(sorted, policy.targetSpans);
      if (pack.length >= 2) return pack;
      continue;
    }
    const byLevel = new Map<number, BlockInfo[]>();
    for (const b of sorted) {
      let l = byLevel.get(b.level);
      if (!l) byLevel.set(b.level, (l = []));
      l.push(b);
    }
    for (const level of [...byLevel.keys()].sort((a, b) => a - b)) {
      const same = byLevel.get(level)!;
      if (same.length < MERGE_FAN_IN) continue;
      const pack = packUpTo(same, policy.targetSpans);
      if (pack.length >= 2) return pack;
    }
  }
  return undefined;
}

/** The longest prefix of `blocks` whose spans fit in `target`. */
function packUpTo(blocks: readonly BlockInfo[], target: number): BlockInfo[] {
  const out: BlockInfo[] = [];
  let spans = 0;
  for (const b of blocks) {
    if (out.length > 0 && spans + b.spans > target) break;
    out.push(b);
    spans += b.spans;
  }
  return out;
}
