/** A consistent view of the blocks for one read, stable until `release`. */
export interface BlockSnapshot<B> {
  /** The catalog version the view was taken at: head data cut at a later version is still the reader's. */
  readonly version: number;
  readonly blocks: readonly B[];
  release(): void;
}

/**
 * An engine's in-memory block catalog, mirroring its durable block table, versioned so reads stay consistent
 * while cuts and retention run: every change makes a new version; a reader keeps the blocks of its version,
 * and what a later version removed (a dropped block's files, data a cut took out of the head) is reclaimed
 * once no reader of an older version is left (`onQuiet` is told the oldest version still read).
 *
 * Contract: mutations happen after the matching durable transaction committed. Single-threaded (the event
 * loop), no locking needed.
 */
export class BlockCatalog<B extends { readonly seq: number }> {
  private blocks: B[] = [];
  private current = 0;
  private nextSeq = 1;
  private readonly readers = new Map<number, number>();
  private dead: { version: number; block: B }[] = [];

  constructor(
    private readonly onReclaim: (block: B) => void,
    private readonly onQuiet: (oldestReadVersion: number) => void,
  ) {}

  /** Loads the durable state at open. */
  load(blocks: readonly B[]): void {
    this.blocks = [...blocks].sort((a, b) => a.seq - b.seq);
    for (const b of blocks) this.nextSeq = Math.max(this.nextSeq, b.seq + 1);
  }

  get version(): number {
    return this.current;
  }

  allBlocks(): readonly B[] {
    return this.blocks;
  }

  allocateSeq(): number {
    return this.nextSeq++;
  }

  /** Publishes blocks made durable; returns the new version. */
  add(blocks: readonly B[]): number {
    this.blocks = [...this.blocks, ...blocks];
    return ++this.current;
  }

  /** Removes blocks whose catalog rows were deleted (retention, a merge); their files go once unread. */
  remove(seqs: ReadonlySet<number>, added: readonly B[] = []): number {
    const version = ++this.current;
    for (const b of this.blocks) if (seqs.has(b.seq)) this.dead.push({ version, block: b });
    this.blocks = [...this.blocks.filter((b) => !seqs.has(b.seq)), ...added].sort((a, b) => a.seq - b.seq);
    this.settle();
    return version;
  }

  /** A view of the blocks now; what it holds is not reclaimed before `release`. */
  acquire(): BlockSnapshot<B> {
    const version = this.current;
    this.readers.set(version, (this.readers.get(version) ?? 0) + 1);
    let released = false;
    return {
      version,
      blocks: this.blocks,
      release: () => {
        if (released) return;
        released = true;
        const n = (this.readers.get(version) ?? 1) - 1;
        if (n > 0) this.readers.set(version, n);
        else this.readers.delete(version);
        this.settle();
      },
    };
  }

  /** The oldest version a reader still holds (the current one when none does). */
  oldestReadVersion(): number {
    let min = this.current;
    for (const v of this.readers.keys()) if (v < min) min = v;
    return min;
  }

  private settle(): void {
    const oldest = this.oldestReadVersion();
    if (this.dead.length > 0) {
      const keep: { version: number; block: B }[] = [];
      for (const d of this.dead) {
        // A reader of version r < d.version may still read the block.
        if (d.version <= oldest) this.onReclaim(d.block);
        else keep.push(d);
      }
      this.dead = keep;
    }
    this.onQuiet(oldest);
  }
}
