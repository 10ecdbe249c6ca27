/**
 * The pure parts of LogQL's `logfmt`, `json` and `unpack` parsers: turning one line into key/value pairs
 * with Loki's rules (key sanitising, flattening, raw number text, first duplicate wins).
 */

/** Loki's `sanitizeLabelKey(key, true)`: non-word characters become `_`; a leading digit gets a `_` prefix. */
export function sanitizeLabelKey(key: string, isPrefix = true): string {
  const k = key.trim();
  if (k === '') return k;
  let out = '';
  for (const ch of k) {
    const c = ch.charCodeAt(0);
    const word = (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || c === 95 || (c >= 48 && c <= 57);
    out += word && ch.length === 1 ? ch : '_';
  }
  if (isPrefix && k.charCodeAt(0) >= 48 && k.charCodeAt(0) <= 57) out = `_${out}`;
  return out;
}

/** The outcome of scanning a logfmt line: pairs in order and the first syntax error, if any. */
export interface LogfmtResult {
  readonly pairs: [string, string][];
  readonly error?: string;
}

function isSpace(c: number): boolean {
  return c <= 32;
}

/**
 * Scans logfmt lines the way go-logfmt's decoder does, emitting each key/value pair. Non-strict scanning
 * skips a malformed pair and goes on; strict scanning stops at the first error. Reusable line after line
 * (not concurrently); a class because per-call closures cost more than the scan.
 */
export class LogfmtScanner {
  private line = '';
  private i = 0;
  private n = 0;
  private strict = false;
  private error: string | undefined;

  /** Scans one line; returns the first syntax error (strict scanning stops there). */
  scan(line: string, strict: boolean, emit: (key: string, value: string) => void): string | undefined {
    this.line = line;
    this.i = 0;
    this.n = line.length;
    this.strict = strict;
    this.error = undefined;
    const n = this.n;
    while (this.i < n) {
      while (this.i < n && isSpace(line.charCodeAt(this.i))) this.i++;
      if (this.i >= n) break;
      const keyStart = this.i;
      while (this.i < n) {
        const c = line.charCodeAt(this.i);
        if (isSpace(c) || c === 61 /* = */ || c === 34 /* " */) break;
        this.i++;
      }
      const key = line.slice(keyStart, this.i);
      if (key === '') {
        if (this.fail(`unexpected '${line[this.i]}'`)) break;
        continue;
      }
      if (this.i >= n || isSpace(line.charCodeAt(this.i))) {
        emit(key, '');
        continue;
      }
      if (line.charCodeAt(this.i) === 34) {
        if (this.fail(`unexpected '"'`)) break;
        continue;
      }
      this.i++; // '='
      if (this.i >= n || isSpace(line.charCodeAt(this.i))) {
        emit(key, '');
        continue;
      }
      if (line.charCodeAt(this.i) === 34) {
        // Quoted value with JSON-style escapes.
        let j = this.i + 1;
        let hasEscape = false;
        while (j < n) {
          const c = line.charCodeAt(j);
          if (c === 92) {
            hasEscape = true;
            j += 2;
            continue;
          }
          if (c === 34) break;
          j++;
        }
        if (j >= n) {
          this.i = n;
          if (this.fail('unterminated quoted value')) break;
          continue;
        }
        const raw = line.slice(this.i + 1, j);
        this.i = j + 1;
        let value = raw;
        if (hasEscape) {
          try {
            value = JSON.parse(`"${raw}"`) as string;
          } catch {
            if (this.fail('invalid quoted value')) break;
            continue;
          }
        }
        emit(key, value);
        if (this.i < n && !isSpace(line.charCodeAt(this.i))) {
          if (this.fail(`unexpected '${line[this.i]}'`)) break;
        }
        continue;
      }
      const valStart = this.i;
      let bad = -1;
      while (this.i < n) {
        const c = line.charCodeAt(this.i);
        if (isSpace(c)) break;
        if (bad < 0 && (c === 61 || c === 34)) bad = this.i;
        this.i++;
      }
      if (bad >= 0) {
        this.i = bad;
        if (this.fail(`unexpected '${line[bad]}'`)) break;
        continue;
      }
      emit(key, line.slice(valStart, this.i));
    }
    return this.error;
  }

  /** Records the first error; non-strict scanning skips to the next space. True means stop. */
  private fail(msg: string): boolean {
    this.error ??= `logfmt syntax error at pos ${this.i + 1} on line 1: ${msg}`;
    if (this.strict) return true;
    while (this.i < this.n && !isSpace(this.line.charCodeAt(this.i))) this.i++;
    return false;
  }
}

/** Scans one logfmt line into pairs (see {@link LogfmtScanner}). */
export function scanLogfmt(line: string, strict: boolean): LogfmtResult {
  const pairs: [string, string][] = [];
  const error = new LogfmtScanner().scan(line, strict, (k, v) => pairs.push([k, v]));
  return { pairs, error };
}

// ------------------------------------------------------------------------------------------------ JSON

/** A JSON value that keeps the raw text of scalars and the order (and duplicates) of object keys. */
export type JsonNode =
  | { readonly t: 'object'; readonly entries: [string, JsonNode][]; readonly raw: string }
  | { readonly t: 'array'; readonly items: JsonNode[]; readonly raw: string }
  | { readonly t: 'string'; readonly value: string; readonly raw: string }
  | { readonly t: 'number' | 'bool' | 'null'; readonly raw: string };

/** A JSON syntax error with the offset it was found at. */
export class JsonSyntaxError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'JsonSyntaxError';
  }
}

/** Parses JSON text into a {@link JsonNode}; throws {@link JsonSyntaxError}. Depth is bounded. */
export function parseJsonNode(text: string): JsonNode {
  const p = new JsonScanner(text);
  p.ws();
  const v = p.value(0);
  p.ws();
  if (p.i !== text.length) throw new JsonSyntaxError(`Malformed JSON error: unexpected data after value at offset ${p.i}`);
  return v;
}

class JsonScanner {
  i = 0;
  constructor(private readonly s: string) {}

  ws(): void {
    const s = this.s;
    while (this.i < s.length) {
      const c = s.charCodeAt(this.i);
      if (c === 32 || c === 9 || c === 10 || c === 13) this.i++;
      else break;
    }
  }

  value(depth: number): JsonNode {
    if (depth > 256) throw new JsonSyntaxError('Malformed JSON error: nesting too deep');
    const s = this.s;
    const start = this.i;
    const c = s[this.i];
    switch (c) {
      case '{': {
        this.i++;
        const entries: [string, JsonNode][] = [];
        this.ws();
        if (s[this.i] === '}') {
          this.i++;
          return { t: 'object', entries, raw: s.slice(start, this.i) };
        }
        for (;;) {
          this.ws();
          if (s[this.i] !== '"') throw new JsonSyntaxError("Value looks like object, but can't find closing '}' symbol");
          const key = this.string();
          this.ws();
          if (s[this.i] !== ':') throw new JsonSyntaxError("Value looks like object, but can't find closing '}' symbol");
          this.i++;
          this.ws();
          entries.push([key.value, this.value(depth + 1)]);
          this.ws();
          if (s[this.i] === ',') {
            this.i++;
            continue;
          }
          if (s[this.i] === '}') {
            this.i++;
            return { t: 'object', entries, raw: s.slice(start, this.i) };
          }
          throw new JsonSyntaxError("Value looks like object, but can't find closing '}' symbol");
        }
      }
      case '[': {
        this.i++;
        const items: JsonNode[] = [];
        this.ws();
        if (s[this.i] === ']') {
          this.i++;
          return { t: 'array', items, raw: s.slice(start, this.i) };
        }
        for (;;) {
          this.ws();
          items.push(this.value(depth + 1));
          this.ws();
          if (s[this.i] === ',') {
            this.i++;
            continue;
          }
          if (s[this.i] === ']') {
            this.i++;
            return { t: 'array', items, raw: s.slice(start, this.i) };
          }
          throw new JsonSyntaxError("Value is array, but can't find closing ']' symbol");
        }
      }
      case '"':
        return this.string();
      case 't':
      case 'f':
      case 'n': {
        const word = c === 't' ? 'true' : c === 'f' ? 'false' : 'null';
        if (!s.startsWith(word, this.i)) throw new JsonSyntaxError('Unknown value type');
        this.i += word.length;
        return { t: c === 'n' ? 'null' : 'bool', raw: word };
      }
      default: {
        const m = /^-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/.exec(s.slice(this.i, this.i + 64));
        if (!m || m[0] === '' || m[0] === '-') {
          throw new JsonSyntaxError(this.i >= s.length ? 'Malformed JSON error: unexpected end' : 'Unknown value type');
        }
        this.i += m[0].length;
        return { t: 'number', raw: m[0] };
      }
    }
  }

  string(): { t: 'string'; value: string; raw: string } {
    const s = this.s;
    const start = this.i;
    let j = this.i + 1;
    let escaped = false;
    while (j < s.length) {
      const c = s.charCodeAt(j);
      if (c === 92) {
        escaped = true;
        j += 2;
        continue;
      }
      if (c === 34) break;
      j++;
    }
    if (j >= s.length) throw new JsonSyntaxError('Value is string, but can\'t find closing \'"\' symbol');
    this.i = j + 1;
    const raw = s.slice(start, this.i);
    if (!escaped) return { t: 'string', value: raw.slice(1, -1), raw };
    try {
      return { t: 'string', value: JSON.parse(raw) as string, raw };
    } catch {
      throw new JsonSyntaxError('Malformed JSON error: invalid string escape');
    }
  }
}

/**
 * Flattens a JSON object the way `| json` does: nested objects join keys with `_`, scalars become strings
 * (numbers keep their text), null and arrays are skipped. Keys are sanitised; the first duplicate wins.
 */
export function flattenJson(root: JsonNode, emit: (key: string, value: string) => void): void {
  if (root.t !== 'object') throw new JsonSyntaxError('Value looks like object, but can\'t find closing \'}\' symbol');
  const seen = new Set<string>();
  const walk = (node: JsonNode, prefix: string): void => {
    if (node.t !== 'object') return;
    for (const [k, v] of node.entries) {
      const part = sanitizeLabelKey(k, false);
      const key = prefix === '' ? part : `${prefix}_${part}`;
      switch (v.t) {
        case 'object':
          walk(v, key);
          break;
        case 'array':
        case 'null':
          break;
        default: {
          const name = prefix === '' ? sanitizeLabelKey(k, true) : key;
          if (name === '' || seen.has(name)) break;
          seen.add(name);
          emit(name, v.t === 'string' ? v.value : v.raw);
        }
      }
    }
  };
  walk(root, '');
}

/** Follows a parsed JSON path; undefined when any step is missing. */
export function jsonAtPath(root: JsonNode, path: readonly (string | number)[]): JsonNode | undefined {
  let cur: JsonNode | undefined = root;
  for (const step of path) {
    if (!cur) return undefined;
    if (typeof step === 'number') {
      if (cur.t !== 'array') return undefined;
      cur = cur.items[step];
    } else {
      if (cur.t !== 'object') return undefined;
      cur = cur.entries.find(([k]) => k === step)?.[1];
    }
  }
  return cur;
}

/** The label value of a JSON node picked by a path expression: strings unquoted, the rest as raw text. */
export function jsonNodeText(n: JsonNode | undefined): string {
  if (!n || n.t === 'null') return '';
  return n.t === 'string' ? n.value : n.raw;
}

/** Emits one flattened key/value; `wants` filters keys (parser hints). */
export type JsonEmit = (key: string, value: string) => void;

/**
 * `| json` in one pass over the text, without building a tree: emits the flattened, sanitised keys and
 * their values (strings unescaped, numbers and booleans as written; null and arrays skipped; the first
 * duplicate wins). `wants` (parser hints) skips keys nobody reads. Throws {@link JsonSyntaxError} for
 * malformed input or a non-object line. One scanner may be reused line after line (not concurrently);
 * it is a class rather than nested closures because per-call closures cost more than the scan itself.
 */
export class JsonLineFlattener {
  private s = '';
  private i = 0;
  private n = 0;
  private readonly seen = new Set<string>();
  private emit: JsonEmit = () => {};
  private wants: ((key: string) => boolean) | undefined;

  flatten(line: string, emit: JsonEmit, wants?: (key: string) => boolean): void {
    this.s = line;
    this.i = 0;
    this.n = line.length;
    this.seen.clear();
    this.emit = emit;
    this.wants = wants;
    this.ws();
    if (this.s[this.i] !== '{') this.fail("Value looks like object, but can't find closing '}' symbol");
    this.object('', 0);
    this.ws();
    if (this.i !== this.n) this.fail(`Malformed JSON error: unexpected data after value at offset ${this.i}`);
  }

  private ws(): void {
    const s = this.s;
    while (this.i < this.n) {
      const c = s.charCodeAt(this.i);
      if (c === 32 || c === 9 || c === 10 || c === 13) this.i++;
      else break;
    }
  }

  private fail(msg: string): never {
    throw new JsonSyntaxError(msg);
  }

  private readString(): string {
    const s = this.s;
    const start = ++this.i;
    let escaped = false;
    while (this.i < this.n) {
      const c = s.charCodeAt(this.i);
      if (c === 92) {
        escaped = true;
        this.i += 2;
        continue;
      }
      if (c === 34) break;
      this.i++;
    }
    if (this.i >= this.n) this.fail('Value is string, but can\'t find closing \'"\' symbol');
    const raw = s.slice(start, this.i);
    this.i++;
    if (!escaped) return raw;
    try {
      return JSON.parse(`"${raw}"`) as string;
    } catch {
      return this.fail('Malformed JSON error: invalid string escape');
    }
  }

  /** Skips any value (arrays, and values of keys nobody reads). */
  private skipValue(depth: number): void {
    if (depth > 256) this.fail('Malformed JSON error: nesting too deep');
    this.ws();
    const c = this.s[this.i];
    if (c === '"') {
      this.readString();
      return;
    }
    if (c === '{' || c === '[') {
      const close = c === '{' ? '}' : ']';
      this.i++;
      this.ws();
      if (this.s[this.i] === close) {
        this.i++;
        return;
      }
      for (;;) {
        this.ws();
        if (c === '{') {
          if (this.s[this.i] !== '"') this.fail("Value looks like object, but can't find closing '}' symbol");
          this.readString();
          this.ws();
          if (this.s[this.i] !== ':') this.fail("Value looks like object, but can't find closing '}' symbol");
          this.i++;
        }
        this.skipValue(depth + 1);
        this.ws();
        if (this.s[this.i] === ',') {
          this.i++;
          continue;
        }
        if (this.s[this.i] === close) {
          this.i++;
          return;
        }
        this.fail(c === '{' ? "Value looks like object, but can't find closing '}' symbol" : "Value is array, but can't find closing ']' symbol");
      }
    }
    this.scalar();
  }

  /** Reads a number, true, false or null; returns its text. */
  private scalar(): string {
    const s = this.s;
    const start = this.i;
    const c = s.charCodeAt(this.i);
    if (c === 116 || c === 102 || c === 110) {
      const word = c === 116 ? 'true' : c === 102 ? 'false' : 'null';
      if (!s.startsWith(word, this.i)) this.fail('Unknown value type');
      this.i += word.length;
      return word;
    }
    if (c === 45) this.i++;
    const digitsStart = this.i;
    while (this.i < this.n && isDigit(s.charCodeAt(this.i))) this.i++;
    if (this.i === digitsStart) this.fail(this.i >= this.n ? 'Malformed JSON error: unexpected end' : 'Unknown value type');
    if (s.charCodeAt(this.i) === 46) {
      this.i++;
      const f = this.i;
      while (this.i < this.n && isDigit(s.charCodeAt(this.i))) this.i++;
      if (this.i === f) this.fail('Unknown value type');
    }
    const e = s.charCodeAt(this.i);
    if (e === 101 || e === 69) {
      this.i++;
      if (s.charCodeAt(this.i) === 43 || s.charCodeAt(this.i) === 45) this.i++;
      const f = this.i;
      while (this.i < this.n && isDigit(s.charCodeAt(this.i))) this.i++;
      if (this.i === f) this.fail('Unknown value type');
    }
    return s.slice(start, this.i);
  }

  private object(prefix: string, depth: number): void {
    if (depth > 256) this.fail('Malformed JSON error: nesting too deep');
    this.i++; // '{'
    this.ws();
    if (this.s[this.i] === '}') {
      this.i++;
      return;
    }
    for (;;) {
      this.ws();
      if (this.s[this.i] !== '"') this.fail("Value looks like object, but can't find closing '}' symbol");
      const rawKey = this.readString();
      this.ws();
      if (this.s[this.i] !== ':') this.fail("Value looks like object, but can't find closing '}' symbol");
      this.i++;
      this.ws();
      const part = sanitizeLabelKey(rawKey, false);
      const key = prefix === '' ? part : `${prefix}_${part}`;
      const c = this.s[this.i];
      if (c === '{') this.object(key, depth + 1);
      else if (c === '[') this.skipValue(depth + 1);
      else {
        const name = prefix === '' ? sanitizeLabelKey(rawKey, true) : key;
        const take = name !== '' && !this.seen.has(name) && (this.wants === undefined || this.wants(name));
        if (c === '"') {
          const v = this.readString();
          if (take) {
            this.seen.add(name);
            this.emit(name, v);
          }
        } else {
          const text = this.scalar();
          if (take && text !== 'null') {
            this.seen.add(name);
            this.emit(name, text);
          }
        }
      }
      this.ws();
      if (this.s[this.i] === ',') {
        this.i++;
        continue;
      }
      if (this.s[this.i] === '}') {
        this.i++;
        return;
      }
      this.fail("Value looks like object, but can't find closing '}' symbol");
    }
  }
}

function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}
