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

/**
 * Scans a logfmt line the way go-logfmt's decoder does. Non-strict scanning skips a malformed pair and goes
 * on; strict scanning stops at the first error.
 */
export function scanLogfmt(line: string, strict: boolean): LogfmtResult {
  const pairs: [string, string][] = [];
  let i = 0;
  const n = line.length;
  let error: string | undefined;
  const isSpace = (c: number): boolean => c <= 32;
  const fail = (msg: string): boolean => {
    error ??= `logfmt syntax error at pos ${i + 1} on line 1: ${msg}`;
    if (strict) return true;
    // Skip to the next space and continue with the next pair.
    while (i < n && !isSpace(line.charCodeAt(i))) i++;
    return false;
  };
  while (i < n) {
    while (i < n && isSpace(line.charCodeAt(i))) i++;
    if (i >= n) break;
    const keyStart = i;
    while (i < n) {
      const c = line.charCodeAt(i);
      if (isSpace(c) || c === 61 /* = */ || c === 34 /* " */) break;
      i++;
    }
    const key = line.slice(keyStart, i);
    if (key === '') {
      const c = line[i];
      if (fail(`unexpected '${c}'`)) break;
      continue;
    }
    if (i >= n || isSpace(line.charCodeAt(i))) {
      pairs.push([key, '']);
      continue;
    }
    if (line.charCodeAt(i) === 34) {
      if (fail(`unexpected '"'`)) break;
      continue;
    }
    // '='
    i++;
    if (i >= n || isSpace(line.charCodeAt(i))) {
      pairs.push([key, '']);
      continue;
    }
    if (line.charCodeAt(i) === 34) {
      // Quoted value with JSON-style escapes.
      let j = i + 1;
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
        i = n;
        if (fail('unterminated quoted value')) break;
        continue;
      }
      const raw = line.slice(i + 1, j);
      i = j + 1;
      let value = raw;
      if (hasEscape) {
        try {
          value = JSON.parse(`"${raw}"`) as string;
        } catch {
          if (fail('invalid quoted value')) break;
          continue;
        }
      }
      pairs.push([key, value]);
      if (i < n && !isSpace(line.charCodeAt(i))) {
        if (fail(`unexpected '${line[i]}'`)) break;
      }
      continue;
    }
    const valStart = i;
    let bad = false;
    while (i < n) {
      const c = line.charCodeAt(i);
      if (isSpace(c)) break;
      if (c === 61 || c === 34) bad = true;
      i++;
    }
    if (bad) {
      i = valStart;
      const c = line.slice(valStart).search(/[="]/);
      i = valStart + c;
      if (fail(`unexpected '${line[i]}'`)) break;
      continue;
    }
    pairs.push([key, line.slice(valStart, i)]);
  }
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
