import type { Labels } from '../model/index.ts';

const SLOTS = 1 << 17;
/** Bytes of label blocks kept, in a ring of chunks (older entries are overwritten, and then miss). */
const ARENA_BYTES = 64 << 20;
/** The ring is allocated a chunk at a time, as it fills, so a small installation stays small. */
const CHUNK_BYTES = 1 << 20;
/** Label blocks longer than this are not cached (they are rare and would crowd out the rest). */
const MAX_KEY_BYTES = 4096;

/**
 * A direct-mapped cache from the encoded label block of a remote_write 1.0 series (its `labels` fields,
 * byte for byte) to the validated {@link Labels} built from it. Prometheus re-sends the same series every
 * scrape interval, so in steady state most series hit: the decoder then skips decoding ~20 strings,
 * validating them and building the label object, which is most of the per-series cost.
 *
 * Correctness: a hit compares the whole key, so a hash collision costs a miss, never wrong labels. Only
 * label sets that passed validation are stored, and a label set is immutable, so sharing one object between
 * requests (and tenants) is safe.
 *
 * Memory is bounded: the keys live in a ring of at most ARENA_BYTES (allocated in CHUNK_BYTES chunks as it
 * fills) plus SLOTS slots (~3 MiB). The Labels objects it keeps are the ones storage keeps for its series
 * anyway (a series' first label set is the one stored), so they cost little extra. A block is admitted
 * the second time its hash is seen at a slot, so a burst of new series (seen once) costs a hash each, not
 * a copy that would evict series that do repeat. Not safe for concurrent use (decoders run on one thread).
 */
export class SeriesLabelCache {
  private readonly chunks: Uint8Array[] = [];
  private readonly chunkViews: DataView[] = [];
  /** Total bytes ever written to the arena: an entry at absolute position p is intact while p > written - ARENA_BYTES. */
  private written = 0;
  private readonly positions = new Float64Array(SLOTS).fill(-1);
  private readonly lengths = new Int32Array(SLOTS);
  private readonly hashes = new Int32Array(SLOTS);
  private readonly seen = new Int32Array(SLOTS);
  private readonly values: (Labels | undefined)[] = new Array<Labels | undefined>(SLOTS);
  private lastSlot = -1;
  private lastHash = 0;

  /** Looks up the label block `buf[start, end)`; remembers its slot for a following {@link set}. */
  get(buf: Uint8Array, view: DataView, start: number, end: number): Labels | undefined {
    const len = end - start;
    if (len === 0 || len > MAX_KEY_BYTES) {
      this.lastSlot = -1;
      return undefined;
    }
    let h = 0x811c9dc5 ^ len;
    let i = start;
    const words = end - 3;
    for (; i < words; i += 4) h = Math.imul(h ^ view.getInt32(i, true), 0x01000193);
    for (; i < end; i++) h = Math.imul(h ^ buf[i]!, 0x01000193);
    h ^= h >>> 16;
    h = Math.imul(h, 0x45d9f3b);
    h ^= h >>> 16;
    const slot = h & (SLOTS - 1);
    this.lastSlot = slot;
    this.lastHash = h;
    const pos = this.positions[slot]!;
    if (this.hashes[slot] !== h || this.lengths[slot] !== len || pos < 0 || pos <= this.written - ARENA_BYTES) return undefined;
    const ringOff = pos % ARENA_BYTES;
    const chunk = (ringOff / CHUNK_BYTES) | 0;
    const off = ringOff - chunk * CHUNK_BYTES;
    const av = this.chunkViews[chunk]!;
    let j = 0;
    const kwords = len - 3;
    for (; j < kwords; j += 4) {
      if (av.getInt32(off + j, true) !== view.getInt32(start + j, true)) return undefined;
    }
    const arena = this.chunks[chunk]!;
    for (; j < len; j++) {
      if (arena[off + j] !== buf[start + j]) return undefined;
    }
    return this.values[slot];
  }

  /** Stores `labels` for the block most recently passed to {@link get} (if it is admitted, see the class doc). */
  set(buf: Uint8Array, start: number, end: number, labels: Labels): void {
    const slot = this.lastSlot;
    if (slot < 0) return;
    const h = this.lastHash;
    if (this.seen[slot] !== h) {
      this.seen[slot] = h;
      return;
    }
    const len = end - start;
    let ringOff = this.written % ARENA_BYTES;
    let chunk = (ringOff / CHUNK_BYTES) | 0;
    let off = ringOff - chunk * CHUNK_BYTES;
    if (off + len > CHUNK_BYTES) {
      // Entries never straddle chunks: skip the chunk's tail.
      this.written += CHUNK_BYTES - off;
      ringOff = this.written % ARENA_BYTES;
      chunk = (ringOff / CHUNK_BYTES) | 0;
      off = 0;
    }
    if (this.chunks[chunk] === undefined) {
      const c = new Uint8Array(CHUNK_BYTES);
      this.chunks[chunk] = c;
      this.chunkViews[chunk] = new DataView(c.buffer);
    }
    this.chunks[chunk]!.set(buf.subarray(start, end), off);
    this.positions[slot] = this.written;
    this.written += len;
    this.lengths[slot] = len;
    this.hashes[slot] = h;
    this.values[slot] = labels;
  }
}

/** The process-wide cache the remote_write 1.0 decoder uses. */
export const sharedSeriesCache = new SeriesLabelCache();
