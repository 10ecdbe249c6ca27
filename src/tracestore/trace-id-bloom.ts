import { promises as fs } from 'node:fs';

/*
 * A block's trace-id bloom filter (docs/formats/tracestore.md, "Trace-id index"): a split-block filter as in
 * Parquet's (SBBF), so probing one id touches one 32-byte block. The file is
 * `HTB1` + u32 little-endian block count + the blocks; each block is eight u32 words, and an id sets one bit
 * in each word, chosen by the word's salt from a 32-bit hash (the other 32 bits choose the block).
 */

const MAGIC = 'HTB1';
const HEADER_BYTES = 8;
const BLOCK_BYTES = 32;
/** Bits per trace id: about 0.5% false positives for a split-block filter. */
const BITS_PER_ID = 12;
const SALT = [0x47b6137b, 0x44974d91, 0x8824ad5b, 0xa2b7289d, 0x705495c7, 0x2df1424b, 0x9efc4947, 0x5c6bfb31];

/** Two 32-bit hashes of a trace id (32 hex digits): murmur3's finaliser over its four words. */
function hashes(traceId: string): [number, number] {
  let h1 = 0x9747b28c;
  let h2 = 0x85ebca6b;
  for (let i = 0; i < 32; i += 8) {
    const w = parseInt(traceId.slice(i, i + 8), 16) | 0;
    h1 = Math.imul(h1 ^ w, 0xcc9e2d51);
    h1 = (h1 << 15) | (h1 >>> 17);
    h2 = Math.imul(h2 ^ w, 0x1b873593) + 0xe6546b64;
    h2 = (h2 << 13) | (h2 >>> 19);
  }
  return [fmix(h1), fmix(h2 ^ h1)];
}

function fmix(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

function blockOf(h: number, blocks: number): number {
  // Multiply-shift maps the hash onto [0, blocks) without a modulo bias.
  return Math.floor((h / 0x1_0000_0000) * blocks);
}

/** The bloom filter file of `traceIds` (any order, repeats allowed). */
export function buildTraceIdBloom(traceIds: Iterable<string>, count: number): Buffer {
  const blocks = Math.max(1, Math.ceil((count * BITS_PER_ID) / (BLOCK_BYTES * 8)));
  const buf = Buffer.alloc(HEADER_BYTES + blocks * BLOCK_BYTES);
  buf.write(MAGIC, 0, 'latin1');
  buf.writeUInt32LE(blocks, 4);
  for (const id of traceIds) {
    const [hb, hw] = hashes(id);
    const base = HEADER_BYTES + blockOf(hb, blocks) * BLOCK_BYTES;
    for (let w = 0; w < 8; w++) {
      const bit = Math.imul(hw, SALT[w]!) >>> 27;
      const off = base + w * 4;
      buf.writeUInt32LE((buf.readUInt32LE(off) | (1 << bit)) >>> 0, off);
    }
  }
  return buf;
}

/** Reads a bloom filter file whole (a block's filter is cached in memory: 12 bits per trace). */
export async function readTraceIdBloom(file: string): Promise<Buffer> {
  const buf = await fs.readFile(file);
  if (buf.length < HEADER_BYTES || buf.toString('latin1', 0, 4) !== MAGIC || buf.length !== HEADER_BYTES + buf.readUInt32LE(4) * BLOCK_BYTES) {
    throw new Error(`trace-id bloom ${file} is truncated or not a bloom filter`);
  }
  return buf;
}

/** Whether the bloom filter `bloom` (a whole file, see {@link readTraceIdBloom}) may hold `traceId`. False means certainly absent. */
export function bloomMayContain(bloom: Buffer, traceId: string): boolean {
  const [hb, hw] = hashes(traceId);
  const base = HEADER_BYTES + blockOf(hb, bloom.readUInt32LE(4)) * BLOCK_BYTES;
  for (let w = 0; w < 8; w++) {
    const bit = Math.imul(hw, SALT[w]!) >>> 27;
    if ((bloom.readUInt32LE(base + w * 4) & (1 << bit)) === 0) return false;
  }
  return true;
}
