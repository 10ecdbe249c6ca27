import { isUtf8 } from 'node:buffer';

const MAX_INTERNED_BYTES = 64;
const INTERN_SLOTS = 1 << 14;

/**
 * A direct-mapped cache from UTF-8 bytes to strings. Label names and most label values repeat across
 * series and requests; returning the cached instance skips the UTF-8 decode and gives V8 one string (with
 * its hash computed) for every use as an object key. Hits are verified against the cached string itself
 * (ASCII) or a copy of its bytes (other text), so a collision costs a decode, never a wrong string.
 * Bounded: INTERN_SLOTS entries of at most MAX_INTERNED_BYTES bytes.
 *
 * Invalid UTF-8 is decoded with replacement characters and reported through {@link lastInvalid}, so
 * callers can refuse the label instead of storing mangled text; such strings are never cached.
 */
export class StringInterner {
  private readonly values: string[] = new Array<string>(INTERN_SLOTS).fill('');
  /** Bytes of non-ASCII entries (ASCII entries compare against the string's own char codes). */
  private readonly utf8Keys: (Uint8Array | undefined)[] = new Array<Uint8Array | undefined>(INTERN_SLOTS);
  /** Whether the most recent {@link get} saw invalid UTF-8. */
  lastInvalid = false;

  /** Returns `buf[start, end)` as a string; `text` must be a Buffer over the same bytes as `buf`. */
  get(buf: Uint8Array, text: Buffer, start: number, end: number): string {
    const len = end - start;
    this.lastInvalid = false;
    if (len === 0) return '';
    if (len > MAX_INTERNED_BYTES) return this.decode(text, start, end);
    // A sampled hash (length, first, middle and last bytes): a full hash costs as much as the compare
    // that verifies a hit anyway. Strings that collide on it only cost a decode each.
    let h = Math.imul(len ^ buf[start]!, 0x01000193);
    h = Math.imul(h ^ buf[start + (len >> 1)]!, 0x01000193);
    h = Math.imul(h ^ buf[end - 1]!, 0x01000193);
    if (len > 3) {
      h = Math.imul(h ^ buf[start + 1]!, 0x01000193);
      h = Math.imul(h ^ buf[end - 2]!, 0x01000193);
      h = Math.imul(h ^ buf[start + (len >> 2)]!, 0x01000193);
      h = Math.imul(h ^ buf[end - 1 - (len >> 2)]!, 0x01000193);
    }
    const slot = (h ^ (h >>> 15)) & (INTERN_SLOTS - 1);
    const cached = this.values[slot]!;
    const key = this.utf8Keys[slot];
    if (key === undefined) {
      // An ASCII entry: its char codes are its bytes (bytes >= 0x80 can never match them).
      if (cached.length === len) {
        let i = 0;
        while (i < len && cached.charCodeAt(i) === buf[start + i]) i++;
        if (i === len) return cached;
      }
    } else if (key.length === len) {
      let i = 0;
      while (i < len && key[i] === buf[start + i]) i++;
      if (i === len) return cached;
    }
    let high = 0;
    for (let i = start; i < end; i++) high |= buf[i]!;
    if (high < 0x80) {
      const s = len <= 10 ? shortAscii(buf, start, end) : text.toString('latin1', start, end);
      this.values[slot] = s;
      this.utf8Keys[slot] = undefined;
      return s;
    }
    const s = this.decode(text, start, end);
    if (!this.lastInvalid) {
      this.values[slot] = s;
      this.utf8Keys[slot] = buf.slice(start, end);
    }
    return s;
  }

  private decode(text: Buffer, start: number, end: number): string {
    const s = text.toString('utf8', start, end);
    // The decoder replaces invalid sequences with U+FFFD; only then is a strict check needed.
    this.lastInvalid = s.includes('\uFFFD') && !isUtf8(text.subarray(start, end));
    return s;
  }
}

function shortAscii(buf: Uint8Array, start: number, end: number): string {
  // Short ASCII: building the string in JS beats the native call's fixed cost.
  let s = '';
  for (let i = start; i < end; i++) s += String.fromCharCode(buf[i]!);
  return s;
}

/** The process-wide interner the decoders share (its memory is bounded, see {@link StringInterner}). */
export const sharedInterner = new StringInterner();
