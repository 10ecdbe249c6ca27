import type { LogEntry } from '../../model/index.ts';
import { jsonLineMetadata, parseContainerLogLine } from './container-log-format.ts';

/** What a decoder made of the bytes it was given. */
export interface DecodedChunk {
  readonly entries: LogEntry[];
  /**
   * Bytes consumed from the chunk's start, always ending at a message boundary: an incomplete last line, and the
   * `P` pieces of a split line whose `F` has not arrived, stay unconsumed and are read again next time. So the
   * saved position never falls inside a message, and a restart neither loses nor repeats part of one.
   */
  readonly consumed: number;
}

/**
 * Turns a file's bytes into log entries. `final` says nothing more will come (the file was rotated away and is
 * read to its end, or a chunk the size of the read limit holds no boundary): what remains is emitted as is.
 */
export type LineDecoder = (chunk: Buffer, final: boolean) => DecodedChunk;

/** Split lines of one file: pieces of a runtime-split line wait for their end. */
interface PendingMessage {
  readonly timestampNs: bigint;
  readonly stream: string;
  content: string;
}

/** Cuts `s` to `maxBytes` of UTF-8 (a JavaScript string of that many chars is at least that many bytes). */
function cut(s: string, maxBytes: number): string {
  if (s.length <= maxBytes / 3) return s;
  const b = Buffer.from(s, 'utf8');
  return b.length <= maxBytes ? s : b.subarray(0, maxBytes).toString('utf8');
}

/** Splits at `\n`; yields each complete line (without its newline) and the offset after it. */
function* lines(chunk: Buffer): Generator<{ line: string; end: number }> {
  let start = 0;
  for (;;) {
    const nl = chunk.indexOf(0x0a, start);
    if (nl < 0) return;
    // A CRLF file keeps no `\r` in its lines.
    const stop = nl > start && chunk[nl - 1] === 0x0d ? nl - 1 : nl;
    yield { line: chunk.toString('utf8', start, stop), end: nl + 1 };
    start = nl + 1;
  }
}

/**
 * Container logs (CRI or Docker json-file): split lines reassembled, `stream` and a JSON line's `level` and
 * `trace_id` as structured metadata, the runtime's own timestamp (so a line read twice is the same entry, which
 * the receiver deduplicates as Loki does). Lines in neither format are kept whole with the time they were read.
 */
export function containerLogDecoder(maxLineBytes: number, now: () => bigint): LineDecoder {
  return (chunk, final) => {
    const entries: LogEntry[] = [];
    let consumed = 0;
    let pending: PendingMessage | undefined;
    const emit = (timestampNs: bigint, stream: string, content: string): void => {
      const line = cut(content, maxLineBytes);
      entries.push({ timestampNs, line, structuredMetadata: { stream, ...jsonLineMetadata(line) } });
    };
    for (const { line, end } of lines(chunk)) {
      const piece = parseContainerLogLine(line);
      if (piece === undefined) {
        if (pending === undefined) {
          entries.push({ timestampNs: now(), line: cut(line, maxLineBytes) });
          consumed = end;
        }
        continue;
      }
      if (pending === undefined) pending = { timestampNs: piece.timestampNs, stream: piece.stream, content: piece.content };
      else if (pending.content.length < maxLineBytes) pending.content += piece.content;
      if (piece.complete) {
        emit(pending.timestampNs, pending.stream, pending.content);
        pending = undefined;
        consumed = end;
      }
    }
    if (final && pending !== undefined) {
      emit(pending.timestampNs, pending.stream, pending.content);
      consumed = chunk.length;
    } else if (final && consumed < chunk.length) {
      consumeRest(chunk, consumed, maxLineBytes, now, entries);
      consumed = chunk.length;
    }
    return { entries, consumed };
  };
}

/** Emits whatever follows the last newline (a final read or a line longer than the read limit). */
function consumeRest(chunk: Buffer, from: number, maxLineBytes: number, now: () => bigint, entries: LogEntry[]): void {
  let rest = chunk.toString('utf8', from);
  if (rest.endsWith('\n')) rest = rest.slice(0, -1);
  if (rest.length > 0) entries.push({ timestampNs: now(), line: cut(rest, maxLineBytes) });
}

/** Plain text files (node system logs): a line per entry, stamped when read. */
export function plainLineDecoder(maxLineBytes: number, now: () => bigint): LineDecoder {
  return (chunk, final) => {
    const entries: LogEntry[] = [];
    let consumed = 0;
    for (const { line, end } of lines(chunk)) {
      entries.push({ timestampNs: now(), line: cut(line, maxLineBytes) });
      consumed = end;
    }
    if (final && consumed < chunk.length) {
      consumeRest(chunk, consumed, maxLineBytes, now, entries);
      consumed = chunk.length;
    }
    return { entries, consumed };
  };
}
