import fsSync, { promises as fs } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import zlib from 'node:zlib';
import type { Attribute, Span, SpanRecord } from '../model/index.ts';
import { ByteReader, ByteWriter, publishFileDurably } from '../objstore/index.ts';
import type { StoredSpan } from '../storage/index.ts';
import { SPAN_RECORDS_MAGIC, decodeSpanRecordsBinary, encodeSpanRecordsBinary } from './span-codec.ts';
import { decodeSpanRecordsJson } from './wal-codec.ts';

/*
 * A block's trace records (docs/formats/tracestore.md, "Trace records"): every trace of the block as one
 * compressed chunk of span records, found by a sorted trace-id index at the end of the file, so trace by id
 * reads one region of one file instead of a Parquet row group of every column.
 *
 *   "HTR1"
 *   regions, in trace-id order: a trace's region is one or more chunks [u32 LE length][raw deflate of the
 *     trace's span records: binary (span-codec.ts, format 4) or JSON (format 3; the first byte tells)]; a merged
 *     block's region holds its inputs' chunks, whatever their form
 *   index: per trace [16-byte id][u64 LE region offset][u32 LE region length], sorted by id
 *   footer: [u64 LE index offset][u32 LE trace count]["HTR1"]
 */

const MAGIC = 'HTR1';
const FOOTER_BYTES = 16;
const ENTRY_BYTES = 28;
/**
 * Span records encoded and compressed between yields to the event loop. Compression is synchronous: zlib's
 * asynchronous calls cost more main-thread CPU per trace (a stream and a thread-pool round trip each) than
 * deflating a trace's few kilobytes does.
 */
const YIELD_EVERY_BYTES = 128 * 1024;
/** zlib level of trace records: 6 (the default) costs ~20% more CPU than 3 for ~2% smaller chunks. */
const DEFLATE_LEVEL = 3;
/** Output buffered before a write. */
const WRITE_CHUNK_BYTES = 4 * 1024 * 1024;


/** The index of a trace records file: finds a trace's region by binary search over the sorted ids. */
export class TraceRecordsIndex {
  private constructor(
    /** Entries only (count × ENTRY_BYTES). */
    private readonly entries: Buffer,
    readonly count: number,
  ) {}

  /** Bytes this index holds in memory. */
  get bytes(): number {
    return this.entries.length;
  }

  /** The region of `traceId` (lowercase hex), or undefined when the block has no such trace. */
  find(traceId: string): { offset: number; length: number } | undefined {
    const id = Buffer.from(traceId, 'hex');
    if (id.length !== 16) return undefined;
    let lo = 0;
    let hi = this.count - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const at = mid * ENTRY_BYTES;
      const c = this.entries.compare(id, 0, 16, at, at + 16);
      if (c === 0) return this.region(mid);
      if (c < 0) lo = mid + 1;
      else hi = mid - 1;
    }
    return undefined;
  }

  /** Every entry in id order (merges). */
  *all(): Iterable<{ traceId: string; offset: number; length: number }> {
    for (let i = 0; i < this.count; i++) {
      yield { traceId: this.entries.toString('hex', i * ENTRY_BYTES, i * ENTRY_BYTES + 16), ...this.region(i) };
    }
  }

  /**
   * The ids (lowercase hex) that more than one of `indexes` holds. The ids' first 48 bits are sorted as numbers
   * (a typed-array sort: a million entries in tens of milliseconds, no string per entry); only prefixes seen twice
   * are looked up in full.
   */
  static idsInSeveral(indexes: readonly TraceRecordsIndex[]): Set<string> {
    let n = 0;
    for (const ix of indexes) n += ix.count;
    const prefixes = new Float64Array(n);
    let k = 0;
    for (const ix of indexes) for (let j = 0; j < ix.count; j++) prefixes[k++] = ix.entries.readUIntBE(j * ENTRY_BYTES, 6);
    prefixes.sort();
    const out = new Set<string>();
    for (let i = 1; i < n; i++) {
      const p = prefixes[i]!;
      if (p !== prefixes[i - 1] || (i > 1 && p === prefixes[i - 2])) continue;
      const holders = new Map<string, number>();
      for (const ix of indexes) for (const id of ix.idsWithPrefix(p)) holders.set(id, (holders.get(id) ?? 0) + 1);
      for (const [id, count] of holders) if (count > 1) out.add(id);
    }
    return out;
  }

  /** The ids whose first 48 bits are `prefix` (binary search to the first, then a scan). */
  private idsWithPrefix(prefix: number): string[] {
    let lo = 0;
    let hi = this.count;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.entries.readUIntBE(mid * ENTRY_BYTES, 6) < prefix) lo = mid + 1;
      else hi = mid;
    }
    const out: string[] = [];
    for (let i = lo; i < this.count && this.entries.readUIntBE(i * ENTRY_BYTES, 6) === prefix; i++) out.push(this.entries.toString('hex', i * ENTRY_BYTES, i * ENTRY_BYTES + 16));
    return out;
  }

  private region(i: number): { offset: number; length: number } {
    const at = i * ENTRY_BYTES;
    return { offset: Number(this.entries.readBigUInt64LE(at + 16)), length: this.entries.readUInt32LE(at + 24) };
  }

  /** Reads the index of the file at `path`: the footer, then the entries (two reads). */
  static async read(path: string): Promise<TraceRecordsIndex> {
    const fh = await fs.open(path, 'r');
    try {
      const { size } = await fh.stat();
      if (size < 4 + FOOTER_BYTES) throw new Error(`trace records ${path} is truncated`);
      const footer = await readExactly(fh, size - FOOTER_BYTES, FOOTER_BYTES, path);
      if (footer.toString('latin1', 12, 16) !== MAGIC) throw new Error(`trace records ${path} has no footer`);
      const offset = Number(footer.readBigUInt64LE(0));
      const count = footer.readUInt32LE(8);
      if (offset + count * ENTRY_BYTES !== size - FOOTER_BYTES) throw new Error(`trace records ${path}: the index does not fit the file`);
      return new TraceRecordsIndex(await readExactly(fh, offset, count * ENTRY_BYTES, path), count);
    } finally {
      await fh.close();
    }
  }
}

/**
 * The spans of the region at `region` of the records file at `path`. The read and the inflate are synchronous:
 * a region is a few kilobytes in the page cache (microseconds), while the thread pool they would otherwise queue on
 * is shared with the WAL's and the cuts' fsyncs, whose waits were trace by id's slowest answers.
 */
export function readTraceRecords(path: string, region: { offset: number; length: number }): Promise<StoredSpan[]> {
  try {
    return Promise.resolve(readTraceRecordsSync(path, region));
  } catch (err) {
    return Promise.reject(err);
  }
}

function readTraceRecordsSync(path: string, region: { offset: number; length: number }): StoredSpan[] {
  const buf = Buffer.allocUnsafe(region.length);
  const fd = fsSync.openSync(path, 'r');
  try {
    for (let done = 0; done < region.length; ) {
      const n = fsSync.readSync(fd, buf, done, region.length - done, region.offset + done);
      if (n === 0) throw new Error(`trace records ${path} is truncated`);
      done += n;
    }
  } finally {
    fsSync.closeSync(fd);
  }
  const out: StoredSpan[] = [];
  for (let at = 0; at < buf.length; ) {
    const n = buf.readUInt32LE(at);
    if (at + 4 + n > buf.length) throw new Error(`trace records ${path}: a chunk overruns its region`);
    const records = decodeChunk(zlib.inflateRawSync(buf.subarray(at + 4, at + 4 + n)));
    for (const r of records) for (const span of r.spans) out.push({ span, resource: r.resource });
    at += 4 + n;
  }
  return out;
}

/** Writes the records file of a cut's traces (sorted by id) durably at `path`; returns its size. */
export async function writeTraceRecords(path: string, traces: readonly { readonly traceId: string; readonly spans: readonly StoredSpan[] }[]): Promise<number> {
  const out = new RecordsOutput();
  await publishFileDurably(path, async (tmp) => {
    await out.open(tmp);
    try {
      const w = new ByteWriter(64 * 1024);
      let sinceYield = 0;
      for (const t of traces) {
        w.reset();
        encodeSpanRecordsBinary(w, recordsOf(t.spans));
        sinceYield += w.length;
        const chunk = zlib.deflateRawSync(w.view_(), { level: DEFLATE_LEVEL });
        const len = Buffer.allocUnsafe(4);
        len.writeUInt32LE(chunk.length);
        await out.region(t.traceId, [len, chunk]);
        if (sinceYield >= YIELD_EVERY_BYTES) {
          sinceYield = 0;
          await yieldToLoop();
        }
      }
      await out.finish();
    } finally {
      await out.close();
    }
  });
  return out.size;
}

/**
 * Writes the records file of a merge at `path`: each trace's region is its regions in the inputs, in input
 * order, copied without decompressing. Returns its size.
 */
export async function mergeTraceRecords(path: string, inputs: readonly { readonly path: string; readonly index: TraceRecordsIndex }[]): Promise<number> {
  const entries: { traceId: string; input: number; offset: number; length: number }[] = [];
  inputs.forEach((inp, input) => {
    for (const e of inp.index.all()) entries.push({ ...e, input });
  });
  entries.sort((a, b) => (a.traceId < b.traceId ? -1 : a.traceId > b.traceId ? 1 : a.input - b.input));
  const handles: FileHandle[] = [];
  const out = new RecordsOutput();
  try {
    for (const inp of inputs) handles.push(await fs.open(inp.path, 'r'));
    await publishFileDurably(path, async (tmp) => {
      await out.open(tmp);
      try {
        for (let i = 0; i < entries.length; ) {
          const traceId = entries[i]!.traceId;
          const parts: Buffer[] = [];
          for (; i < entries.length && entries[i]!.traceId === traceId; i++) {
            const e = entries[i]!;
            parts.push(await readExactly(handles[e.input]!, e.offset, e.length, inputs[e.input]!.path));
          }
          await out.region(traceId, parts);
          if (i % 1024 === 0) await yieldToLoop();
        }
        await out.finish();
      } finally {
        await out.close();
      }
    });
  } finally {
    for (const h of handles) await h.close();
  }
  return out.size;
}

/** A chunk's span records, inflated: binary (format 4) or JSON (format 3, which starts with `[`). */
function decodeChunk(raw: Buffer): SpanRecord[] {
  return raw[0] === SPAN_RECORDS_MAGIC ? decodeSpanRecordsBinary(new ByteReader(raw)) : decodeSpanRecordsJson(raw);
}

/** A trace's spans as span records: spans sharing a resource (one array, as the head and reads hold them) go together. */
function recordsOf(spans: readonly StoredSpan[]): SpanRecord[] {
  const byResource = new Map<readonly Attribute[], Span[]>();
  for (const s of spans) {
    let list = byResource.get(s.resource);
    if (!list) byResource.set(s.resource, (list = []));
    list.push(s.span);
  }
  return [...byResource].map(([resource, list]) => ({ resource, spans: list }));
}

/** A records file being written: regions in id order, then the index and footer. */
class RecordsOutput {
  private fh: FileHandle | undefined;
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private readonly index: Buffer[] = [];
  size = 0;

  async open(file: string): Promise<void> {
    this.fh = await fs.open(file, 'w');
    await this.push(Buffer.from(MAGIC, 'latin1'));
  }

  async region(traceId: string, parts: readonly Buffer[]): Promise<void> {
    const entry = Buffer.alloc(ENTRY_BYTES);
    if (entry.write(traceId, 0, 16, 'hex') !== 16) throw new Error(`trace id ${traceId} is not 32 hex digits`);
    entry.writeBigUInt64LE(BigInt(this.size), 16);
    let length = 0;
    for (const p of parts) length += p.length;
    entry.writeUInt32LE(length, 24);
    this.index.push(entry);
    for (const p of parts) await this.push(p);
  }

  async finish(): Promise<void> {
    const footer = Buffer.alloc(FOOTER_BYTES);
    footer.writeBigUInt64LE(BigInt(this.size), 0);
    footer.writeUInt32LE(this.index.length, 8);
    footer.write(MAGIC, 12, 'latin1');
    for (const e of this.index) await this.push(e);
    await this.push(footer);
    await this.flush();
  }

  async close(): Promise<void> {
    await this.fh?.close();
    this.fh = undefined;
  }

  private async push(b: Buffer): Promise<void> {
    this.pending.push(b);
    this.pendingBytes += b.length;
    this.size += b.length;
    if (this.pendingBytes >= WRITE_CHUNK_BYTES) await this.flush();
  }

  private async flush(): Promise<void> {
    if (this.pending.length === 0) return;
    await this.fh!.writev(this.pending);
    this.pending = [];
    this.pendingBytes = 0;
  }
}

async function readExactly(fh: FileHandle, position: number, length: number, path: string): Promise<Buffer> {
  const buf = Buffer.alloc(length);
  let done = 0;
  while (done < length) {
    const { bytesRead } = await fh.read(buf, done, length - done, position + done);
    if (bytesRead === 0) throw new Error(`trace records ${path} is truncated`);
    done += bytesRead;
  }
  return buf;
}
