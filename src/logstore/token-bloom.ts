/**
 * Token bloom filters over a block's lines, one per group of `groupRows` consecutive rows (a Parquet row
 * group), so a `|=` needle or a `|~` regex's literal text skips the row groups that cannot hold it
 * (docs/formats/logstore.md, "Token blooms").
 *
 * A token is a maximal run of word characters (ASCII letters, digits, `_`, and every UTF-16 code unit at or
 * above 0x80), folded to lower case (ASCII letters, plus U+212A KELVIN SIGN → `k` and U+017F LONG S → `s`,
 * the only non-ASCII characters RE2's case folding maps to ASCII letters). Folding on both sides keeps the
 * test exact for case-sensitive filters and makes it usable for `(?i)` regexes.
 *
 * Why the test is safe for substring semantics: if a line contains a needle, every token of the needle that
 * is bounded by non-word characters on both sides *inside the needle* is a whole token of the line too, so
 * it is in the line's group filter. The needle's first and last runs may be parts of longer tokens of the
 * line and are never used.
 */
import { classEnd, groupEnd } from '../model/index.ts';

/** Hash positions per token. */
const HASHES = 3;
/** Bits per distinct token of a group's filter (about 3 % false positives per token with 3 hashes). */
const BITS_PER_TOKEN = 10;
/** A group's filter is built at this size (a power of two), then folded down to its final size. */
const BUILD_BITS_LOG2 = 21;
const MIN_BITS_LOG2 = 9;
/** Tokens longer than this are neither indexed nor looked up (trace ids and hashes fit). */
const MAX_TOKEN_LENGTH = 64;

const MAGIC = 0x46424c48; // "HLBF" little-endian
const FILE_VERSION = 1;
const HEADER_BYTES = 16;

function isWordUnit(c: number): boolean {
  return (c >= 97 && c <= 122) || (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || c === 95 || c >= 0x80;
}

function foldUnit(c: number): number {
  if (c >= 65 && c <= 90) return c + 32;
  if (c === 0x212a) return 107;
  if (c === 0x17f) return 115;
  return c;
}

/** murmur3's finaliser: spreads the FNV hash over all 32 bits. */
function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/** FNV-1a over a token's folded code units (the same function the builder computes incrementally). */
function tokenHash(token: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < token.length; i++) h = Math.imul(h ^ foldUnit(token.charCodeAt(i)), 0x01000193);
  return h;
}

/** Builds the filters of one block: feed every row's line with its row number, then `serialize`. */
export class TokenBloomBuilder {
  readonly groupRows: number;
  private readonly build = new Int32Array((1 << BUILD_BITS_LOG2) >>> 5);
  private group = -1;
  private distinct = 0;
  private readonly done: (Int32Array | undefined)[] = [];
  /** Groups fed out of order (rare: DuckDB normally returns a file's rows in order) are rebuilt per row. */
  private readonly lateRows = new Map<number, string[]>();

  constructor(groupRows: number) {
    this.groupRows = groupRows;
  }

  /** Adds the line of row `row` (0-based row number in the block). */
  add(row: number, line: string): void {
    const g = Math.floor(row / this.groupRows);
    if (g !== this.group) {
      if (g < this.group || this.done[g] !== undefined) {
        let rows = this.lateRows.get(g);
        if (!rows) this.lateRows.set(g, (rows = []));
        rows.push(line);
        return;
      }
      this.finishGroup();
      this.group = g;
    }
    this.tokenize(line);
  }

  private tokenize(line: string): void {
    const bits = this.build;
    const mask = (1 << BUILD_BITS_LOG2) - 1;
    let h = 0x811c9dc5;
    let len = 0;
    const n = line.length;
    for (let i = 0; i <= n; i++) {
      const c = i < n ? line.charCodeAt(i) : 32;
      if ((c >= 97 && c <= 122) || (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || c === 95 || c >= 0x80) {
        h = Math.imul(h ^ foldUnit(c), 0x01000193);
        len++;
      } else if (len > 0) {
        if (len <= MAX_TOKEN_LENGTH) {
          const a = fmix32(h);
          const b = fmix32(h ^ 0x9e3779b9) | 1;
          let fresh = false;
          for (let k = 0; k < HASHES; k++) {
            const p = (a + Math.imul(k, b)) & mask;
            const w = p >>> 5;
            const m = 1 << (p & 31);
            if ((bits[w]! & m) === 0) {
              bits[w] = bits[w]! | m;
              fresh = true;
            }
          }
          if (fresh) this.distinct++;
        }
        h = 0x811c9dc5;
        len = 0;
      }
    }
  }

  /** Folds the group being built down to its final size. */
  private finishGroup(): void {
    if (this.group < 0) return;
    this.done[this.group] = this.fold();
    this.build.fill(0);
    this.distinct = 0;
    this.group = -1;
  }

  private fold(): Int32Array {
    let log2 = MIN_BITS_LOG2;
    while (log2 < BUILD_BITS_LOG2 && 1 << log2 < this.distinct * BITS_PER_TOKEN) log2++;
    const words = (1 << log2) >>> 5;
    const out = new Int32Array(words);
    const src = this.build;
    for (let w = 0; w < src.length; w++) out[w & (words - 1)]! |= src[w]!;
    return out;
  }

  /** The sidecar file's bytes (format in docs/formats/logstore.md). */
  serialize(): Uint8Array {
    this.finishGroup();
    for (const [g, lines] of this.lateRows) {
      // A group fed in two runs: rebuild it from its first filter's bits plus the late lines.
      const first = this.done[g];
      this.group = g;
      if (first) for (let w = 0; w < this.build.length; w++) this.build[w] = first[w & (first.length - 1)]!;
      // Folding back up keeps every bit set before (an over-approximation: safe), and counts as many tokens.
      this.distinct = first ? (first.length * 32) / BITS_PER_TOKEN : 0;
      for (const line of lines) this.tokenize(line);
      this.finishGroup();
    }
    this.lateRows.clear();
    const groups = this.done.length;
    let bytes = HEADER_BYTES + 4 * groups;
    for (let g = 0; g < groups; g++) bytes += (this.done[g]?.length ?? 0) * 4;
    const buf = new Uint8Array(bytes);
    const view = new DataView(buf.buffer);
    view.setUint32(0, MAGIC, true);
    view.setUint8(4, FILE_VERSION);
    view.setUint8(5, HASHES);
    view.setUint32(8, this.groupRows, true);
    view.setUint32(12, groups, true);
    let off = HEADER_BYTES + 4 * groups;
    for (let g = 0; g < groups; g++) {
      const f = this.done[g];
      // A group without rows has no filter (log2 0): no row can match there, but it is never read anyway.
      view.setUint32(HEADER_BYTES + 4 * g, f ? Math.log2(f.length * 32) : 0, true);
      if (f) for (let w = 0; w < f.length; w++, off += 4) view.setInt32(off, f[w]!, true);
    }
    return buf;
  }
}

/** A block's filters, read from its sidecar. */
export class TokenBlooms {
  readonly groupRows: number;
  readonly groups: number;
  private readonly hashes: number;
  private readonly filters: (Int32Array | undefined)[];

  private constructor(groupRows: number, hashes: number, filters: (Int32Array | undefined)[]) {
    this.groupRows = groupRows;
    this.hashes = hashes;
    this.groups = filters.length;
    this.filters = filters;
  }

  /** Parses a sidecar; throws on anything but the format this build writes. */
  static parse(buf: Uint8Array): TokenBlooms {
    const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    if (buf.byteLength < HEADER_BYTES || view.getUint32(0, true) !== MAGIC || view.getUint8(4) !== FILE_VERSION) {
      throw new Error('not a token bloom file of version 1');
    }
    const hashes = view.getUint8(5);
    const groupRows = view.getUint32(8, true);
    const groups = view.getUint32(12, true);
    let off = HEADER_BYTES + 4 * groups;
    const filters: (Int32Array | undefined)[] = [];
    for (let g = 0; g < groups; g++) {
      const log2 = view.getUint32(HEADER_BYTES + 4 * g, true);
      if (log2 === 0) {
        filters.push(undefined);
        continue;
      }
      const words = (2 ** log2) / 32;
      if (off + words * 4 > buf.byteLength) throw new Error('token bloom file is truncated');
      const f = new Int32Array(words);
      for (let w = 0; w < words; w++, off += 4) f[w] = view.getInt32(off, true);
      filters.push(f);
    }
    return new TokenBlooms(groupRows, hashes, filters);
  }

  /** Whether group `g` may hold a line containing every one of `tokens` (from {@link requiredTokens}). */
  mayContain(g: number, tokens: readonly string[]): boolean {
    const f = this.filters[g];
    if (!f) return false;
    const mask = f.length * 32 - 1;
    for (const t of tokens) {
      const h = tokenHash(t);
      const a = fmix32(h);
      const b = fmix32(h ^ 0x9e3779b9) | 1;
      for (let k = 0; k < this.hashes; k++) {
        const p = (a + Math.imul(k, b)) & mask;
        if ((f[p >>> 5]! & (1 << (p & 31))) === 0) return false;
      }
    }
    return true;
  }
}

/**
 * The whole tokens inside `text` (word runs bounded by non-word characters within it: the first and last
 * runs are dropped unless `edges` says that side is bounded), folded, at most {@link MAX_TOKEN_LENGTH} long.
 * With `asciiOnly`, tokens holding a non-ASCII character are dropped (a `(?i)` regex's case folding of those
 * is not the tokenizer's).
 */
function innerTokens(text: string, asciiOnly: boolean): string[] {
  const out: string[] = [];
  let start = -1;
  for (let i = 0; i <= text.length; i++) {
    const word = i < text.length && isWordUnit(text.charCodeAt(i));
    if (word && start < 0) start = i;
    else if (!word && start >= 0) {
      // Bounded on the left by a non-word character of `text` (start > 0) and on the right (i < length).
      if (start > 0 && i < text.length && i - start <= MAX_TOKEN_LENGTH) {
        const t = text.slice(start, i);
        if (!asciiOnly || !/[^\p{ASCII}]/u.test(t)) out.push(t.replace(/[A-Z\u212a\u017f]/g, (c) => String.fromCharCode(foldUnit(c.charCodeAt(0)))));
      }
      start = -1;
    }
  }
  return out;
}

/**
 * Literal runs every match of an unanchored RE2 `pattern` contains, with whether the pattern is
 * case-insensitive; undefined when this conservative scan does not understand the pattern (top-level
 * alternation, flags other than a leading `(?flags)` of `imsU`, `\Q`). Groups, classes, escapes other than
 * escaped punctuation, `.` and anchors end a run; a quantifier removes the character before it.
 */
export function requiredLiterals(pattern: string): { runs: string[]; caseInsensitive: boolean } | undefined {
  let i = 0;
  let caseInsensitive = false;
  const flags = /^\(\?([imsU]+)\)/.exec(pattern);
  if (flags) {
    caseInsensitive = flags[1]!.includes('i');
    i = flags[0].length;
  }
  // `\Q...\E` quotes metacharacters; a flag group past the start changes case folding for what follows.
  if (pattern.includes('\\Q') || /\(\?[a-zA-Z-]*\)/.test(pattern.slice(i))) return undefined;
  const runs: string[] = [];
  let run = '';
  const end = (): void => {
    if (run !== '') runs.push(run);
    run = '';
  };
  while (i < pattern.length) {
    const c = pattern[i]!;
    if (c === '\\') {
      const e = pattern[i + 1];
      if (e === undefined) return undefined;
      if (/[!-/:-@[-`{-~]/.test(e)) {
        run += e;
      } else {
        end();
      }
      i += 2;
    } else if (c === '|') {
      return undefined;
    } else if (c === '(') {
      end();
      // Skip the group (its content is optional or alternated as far as this scan knows).
      i = groupEnd(pattern, i);
      if (i < 0) return undefined;
      i++;
    } else if (c === '[') {
      end();
      i = classEnd(pattern, i);
      if (i < 0) return undefined;
      i++;
    } else if (c === '*' || c === '?' || c === '+' || c === '{') {
      // The quantified character is not required as written: drop it from the run.
      run = run.slice(0, -1);
      end();
      if (c === '{') {
        const close = pattern.indexOf('}', i);
        i = close < 0 ? i + 1 : close + 1;
      } else i++;
    } else if (c === '.' || c === '^' || c === '$' || c === ')' || c === ']' || c === '}') {
      end();
      i++;
    } else {
      run += c;
      i++;
    }
  }
  end();
  return { runs, caseInsensitive };
}

/**
 * The folded tokens a line must hold to pass all of `filters` (`|=` needles and `|~` regexes' literal
 * runs; negated filters require nothing). Empty when the filters give no usable token.
 */
export function requiredTokens(filters: readonly { readonly op: string; readonly value: string }[] | undefined): string[] {
  const out = new Set<string>();
  for (const f of filters ?? []) {
    if (f.op === '|=') {
      for (const t of innerTokens(f.value, false)) out.add(t);
    } else if (f.op === '|~') {
      const lit = requiredLiterals(f.value);
      if (!lit) continue;
      for (const run of lit.runs) for (const t of innerTokens(run, lit.caseInsensitive)) out.add(t);
    }
  }
  return [...out];
}

/**
 * Parsed sidecars by block path, bounded by their size (blocks are immutable, so an entry never goes stale;
 * one of a deleted block ages out). A missing or unreadable sidecar reads as "no filter": every group is read.
 */
export class TokenBloomCache {
  private readonly maxBytes: number;
  private bytes = 0;
  private readonly entries = new Map<string, { blooms: Promise<TokenBlooms | undefined>; bytes: number }>();
  private readonly load: (path: string) => Promise<Uint8Array>;

  constructor(maxBytes: number, load: (path: string) => Promise<Uint8Array>) {
    this.maxBytes = maxBytes;
    this.load = load;
  }

  get(path: string): Promise<TokenBlooms | undefined> {
    const hit = this.entries.get(path);
    if (hit) {
      // Most recently used last (Map order), so eviction takes the oldest first.
      this.entries.delete(path);
      this.entries.set(path, hit);
      return hit.blooms;
    }
    const entry = { blooms: Promise.resolve<TokenBlooms | undefined>(undefined), bytes: 0 };
    entry.blooms = this.load(path).then(
      (buf) => {
        entry.bytes = buf.byteLength;
        this.bytes += buf.byteLength;
        this.evict();
        try {
          return TokenBlooms.parse(buf);
        } catch {
          return undefined;
        }
      },
      () => {
        this.entries.delete(path);
        return undefined;
      },
    );
    this.entries.set(path, entry);
    return entry.blooms;
  }

  private evict(): void {
    for (const [path, e] of this.entries) {
      if (this.bytes <= this.maxBytes) break;
      this.entries.delete(path);
      this.bytes -= e.bytes;
    }
  }
}

/**
 * The row ranges `[start, end)` (`end` may be Infinity) of a block whose groups may hold lines with all of `tokens`: empty when none
 * can, undefined when every group may (read the whole block).
 */
export function candidateRows(blooms: TokenBlooms, tokens: readonly string[]): [number, number][] | undefined {
  const out: [number, number][] = [];
  let all = true;
  for (let g = 0; g < blooms.groups; g++) {
    if (!blooms.mayContain(g, tokens)) {
      all = false;
      continue;
    }
    const start = g * blooms.groupRows;
    // The last group's range is open-ended: rows past the filters' end (none are written) are never dropped.
    const end = g === blooms.groups - 1 ? Infinity : start + blooms.groupRows;
    const last = out[out.length - 1];
    if (last && last[1] === start) last[1] = end;
    else out.push([start, end]);
  }
  return all ? undefined : out;
}
