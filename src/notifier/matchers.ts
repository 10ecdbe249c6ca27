import { compileAnchoredRegex, unquoteGoString } from '../model/index.ts';
import type { MatchOp, ValuePredicate } from '../model/index.ts';

/** One Alertmanager label matcher (`name="v"`, `name=~"re"`, `name!="v"`, `name!~"re"`), compiled. */
export interface AmMatcher {
  readonly name: string;
  readonly op: MatchOp;
  readonly value: string;
  readonly test: ValuePredicate;
}

/** Builds a matcher; regular expressions are RE2, fully anchored, as Alertmanager's are. Throws on a bad regex. */
export function amMatcher(name: string, op: MatchOp, value: string): AmMatcher {
  let test: ValuePredicate;
  if (op === '=') test = (v) => v === value;
  else if (op === '!=') test = (v) => v !== value;
  else {
    const re = compileAnchoredRegex(value);
    test = op === '=~' ? re : (v) => !re(v);
  }
  return { name, op, value, test };
}

const ONE = /^\s*("(?:[^"\\]|\\.)*"|[^\s=!~"]+)\s*(=~|!~|!=|=)\s*(.*?)\s*$/s;

/**
 * Parses one entry of a `matchers:` list (or a silence filter): one or more comma-separated matchers,
 * optionally inside braces, values quoted (Go escapes) or bare, as Alertmanager's matcher parser accepts.
 */
export function parseMatchers(input: string): AmMatcher[] {
  let s = input.trim();
  if (s.startsWith('{')) {
    if (!s.endsWith('}')) throw new Error(`bad matcher ${JSON.stringify(input)}: missing closing "}"`);
    s = s.slice(1, -1);
  }
  const out: AmMatcher[] = [];
  for (const part of splitOutsideQuotes(s)) {
    if (part.trim() === '') continue;
    const m = ONE.exec(part);
    if (!m) throw new Error(`bad matcher ${JSON.stringify(part.trim())}: expected name, one of = != =~ !~, and a value`);
    const name = m[1]!.startsWith('"') ? unquoteGoString(m[1]!) : m[1]!;
    const raw = m[3]!;
    let value = raw;
    if (raw.startsWith('"')) {
      if (!raw.endsWith('"') || raw.length < 2) throw new Error(`bad matcher ${JSON.stringify(part.trim())}: unterminated quoted value`);
      value = unquoteGoString(raw);
    }
    try {
      out.push(amMatcher(name, m[2] as MatchOp, value));
    } catch (err) {
      throw new Error(`bad matcher ${JSON.stringify(part.trim())}: ${(err as Error).message}`, { cause: err });
    }
  }
  return out;
}

function splitOutsideQuotes(s: string): string[] {
  const parts: string[] = [];
  let cur = '';
  let quoted = false;
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (quoted && c === '\\') {
      cur += c + (s[i + 1] ?? '');
      i++;
      continue;
    }
    if (c === '"') quoted = !quoted;
    if (c === ',' && !quoted) {
      parts.push(cur);
      cur = '';
    } else cur += c;
  }
  parts.push(cur);
  return parts;
}

/** True when every matcher holds on `labels` (a missing label is the empty string). */
export function matchesAll(matchers: readonly AmMatcher[], labels: Readonly<Record<string, string>>): boolean {
  return matchers.every((m) => m.test(labels[m.name] ?? ''));
}

/** Alertmanager's text of a matcher list (`{a="b",c=~"d"}`), the form in route and group keys. */
export function formatMatchers(matchers: readonly AmMatcher[]): string {
  return `{${matchers.map((m) => `${m.name}${m.op}${JSON.stringify(m.value)}`).join(',')}}`;
}

/** Prometheus' `LabelSet.String()`: `{a="1", b="2"}` sorted by name. */
export function formatLabelSet(labels: Readonly<Record<string, string>>): string {
  return `{${Object.keys(labels)
    .sort()
    .map((k) => `${k}=${JSON.stringify(labels[k])}`)
    .join(', ')}}`;
}

/**
 * Prometheus' `LabelSet.Fingerprint()` (FNV-1a 64 over sorted names and values, each followed by 0xff),
 * as 16 hex digits: the alert identity Alertmanager shows and keys its notification log with.
 */
export function fingerprint(labels: Readonly<Record<string, string>>): string {
  let h = 0xcbf29ce484222325n;
  const prime = 0x100000001b3n;
  const add = (s: string): void => {
    for (const b of Buffer.from(s, 'utf8')) h = ((h ^ BigInt(b)) * prime) & 0xffffffffffffffffn;
    h = ((h ^ 0xffn) * prime) & 0xffffffffffffffffn;
  };
  for (const k of Object.keys(labels).sort()) {
    add(k);
    add(labels[k]!);
  }
  return h.toString(16).padStart(16, '0');
}
