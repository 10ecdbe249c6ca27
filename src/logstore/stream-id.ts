import { hash } from 'node:crypto';
import { labelsKey } from '../model/index.ts';
import type { Labels } from '../model/index.ts';

/**
 * A stream's id: the first 8 bytes of the MD5 of its canonical label string, as a signed 64-bit integer.
 * Ids are computed, never looked up, so the write path needs no index read; within one tenant two label sets
 * collide with probability ~n²/2⁶⁵ (about 1 in 10⁹ at 200k streams). The id is part of the on-disk format.
 */
export function streamIdOf(key: string): bigint {
  return Buffer.from(hash('md5', key, 'buffer') as Buffer).readBigInt64LE(0);
}

/** The canonical label string (`{a="1", b="2"}`) streams are identified by; the same text Loki prints. */
export function streamKeyOf(labels: Labels): string {
  return labelsKey(labels);
}
