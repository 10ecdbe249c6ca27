import type { Logger } from 'pino';
import { BLOCK_DAY_MS } from './block-store.ts';
import type { BlockMeta, BlockStore } from './block-store.ts';

/** L0 blocks of one day merged once this many exist even if the day is still open. */
const MAX_L0_PER_DAY = 6;

/**
 * Merges each tenant-day's blocks (per kind) into one block sorted by series and time. With `force` every
 * day with more than one block is merged; otherwise only days the head no longer holds data for
 * (`headMinT` at or after the day's end) or days with many small blocks. Returns the number of merges.
 */
export async function compactBlocks(blocks: BlockStore, headMinT: number, force: boolean, logger?: Logger): Promise<number> {
  const groups = new Map<string, BlockMeta[]>();
  for (const b of blocks.list()) {
    const k = `${b.tenant}\u0000${b.kind}\u0000${b.dayStartMs}`;
    const g = groups.get(k);
    if (g) g.push(b);
    else groups.set(k, [b]);
  }
  let merges = 0;
  for (const g of groups.values()) {
    if (g.length < 2) continue;
    const dayEnd = g[0]!.dayStartMs + BLOCK_DAY_MS;
    const complete = headMinT >= dayEnd;
    if (!force && !complete && g.length < MAX_L0_PER_DAY) continue;
    const started = Date.now();
    const merged = await blocks.merge(g);
    await blocks.commit([merged], g);
    merges++;
    logger?.info(
      { tenant: g[0]!.tenant, kind: g[0]!.kind, day: new Date(g[0]!.dayStartMs).toISOString().slice(0, 10), inputs: g.length, bytes: merged.bytes, ms: Date.now() - started },
      'metrics blocks compacted',
    );
  }
  return merges;
}
