/**
 * Parser for Loki's `.logqltest` scripts (format: ../shared/fixtures/README.md §4.2). The scripts are read
 * in place from ../shared; nothing of them is copied into this repository.
 */

/** The scripts' time base: 2026-01-01T00:00:00Z. */
export const TIME_BASE_NS = BigInt(Date.UTC(2026, 0, 1)) * 1_000_000n;

export interface LoadEntry {
  readonly labels: Record<string, string>;
  readonly line: string;
  readonly timestampNs: bigint;
  readonly metadata?: Record<string, string>;
}

export interface ExpectedSeries {
  readonly labels: Record<string, string>;
  /** One value per step; undefined where `_` (no point). */
  readonly values: (number | undefined)[];
}

export type Expectation =
  | { readonly kind: 'series'; readonly series: ExpectedSeries[]; readonly ordered: boolean }
  | { readonly kind: 'scalar'; readonly value: number }
  | { readonly kind: 'empty' }
  | { readonly kind: 'fail'; readonly msg?: string; readonly regex?: string };

export interface EvalCommand {
  readonly kind: 'eval';
  readonly line: number;
  readonly text: string;
  readonly query: string;
  readonly instant: boolean;
  readonly startNs: bigint;
  readonly endNs: bigint;
  readonly stepNs: bigint;
  readonly expect: Expectation;
}

export type Command = { readonly kind: 'clear'; readonly line: number } | { readonly kind: 'load'; readonly line: number; readonly entries: LoadEntry[] } | EvalCommand;

/** A script error: the file and line that could not be parsed. */
export class ScriptError extends Error {}

/** Removes a `#` comment that is not inside "…" or `…`. */
export function stripComment(line: string): string {
  let quote: string | undefined;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (quote) {
      if (c === '\\' && quote === '"') i++;
      else if (c === quote) quote = undefined;
      continue;
    }
    if (c === '"' || c === '`') quote = c;
    else if (c === '#') return line.slice(0, i);
  }
  return line;
}

const GO_UNITS: Record<string, number> = { ns: 1, us: 1e3, 'µs': 1e3, ms: 1e6, s: 1e9, m: 60e9, h: 3600e9 };

/** A Go duration (`0`, `90s`, `1m30s`, `500ms`) in nanoseconds. */
export function parseScriptDuration(s: string): bigint {
  if (s === '0') return 0n;
  const re = /(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/y;
  let total = 0;
  let i = 0;
  while (i < s.length) {
    re.lastIndex = i;
    const m = re.exec(s);
    if (!m) throw new ScriptError(`bad duration ${JSON.stringify(s)}`);
    total += Number(m[1]) * GO_UNITS[m[2]!]!;
    i = re.lastIndex;
  }
  return BigInt(Math.round(total));
}

function parseLabelSet(text: string): Record<string, string> {
  const inner = text.trim().replace(/^\{/, '').replace(/\}$/, '').trim();
  const out: Record<string, string> = {};
  if (inner === '') return out;
  const re = /\s*("?)([^"=\s,]+)\1\s*=\s*"((?:[^"\\]|\\.)*)"\s*(?:,|$)/y;
  let i = 0;
  while (i < inner.length) {
    re.lastIndex = i;
    const m = re.exec(inner);
    if (!m) throw new ScriptError(`bad label set ${text}`);
    out[m[2]!] = JSON.parse(`"${m[3]}"`) as string;
    i = re.lastIndex;
  }
  return out;
}

/** Parses a promqltest value token: `6`, `-2`, `NaN`, `Inf`, `_`, `AxN`, `A+BxN`, `A-BxN`. */
export function expandValues(tokens: string[]): (number | undefined)[] {
  const out: (number | undefined)[] = [];
  for (const t of tokens) {
    if (t === '_') {
      out.push(undefined);
      continue;
    }
    const rep = /^(_|[-+]?[0-9.]+(?:[eE][-+]?\d+)?|[-+]?(?:Inf|NaN))(?:([+-])([0-9.]+(?:[eE][-+]?\d+)?|Inf|NaN))?x(\d+)$/.exec(t);
    if (rep) {
      const n = Number(rep[4]);
      if (rep[1] === '_') {
        for (let k = 0; k <= n; k++) out.push(undefined);
        continue;
      }
      const start = parseNumber(rep[1]!);
      const delta = rep[3] !== undefined ? parseNumber(rep[3]) * (rep[2] === '-' ? -1 : 1) : 0;
      for (let k = 0; k <= n; k++) out.push(start + delta * k);
      continue;
    }
    out.push(parseNumber(t));
  }
  return out;
}

function parseNumber(t: string): number {
  const s = t.trim();
  if (/^[+-]?inf$/i.test(s)) return s.startsWith('-') ? -Infinity : Infinity;
  if (/^nan$/i.test(s)) return NaN;
  const v = Number(s);
  if (Number.isNaN(v)) throw new ScriptError(`bad number ${JSON.stringify(t)}`);
  return v;
}

function splitExpectationLine(line: string): { labels: string; rest: string } {
  let depth = 0;
  let quote = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (quote) {
      if (c === '\\') i++;
      else if (c === '"') quote = false;
      continue;
    }
    if (c === '"') quote = true;
    else if (c === '{') depth++;
    else if (c === '}') {
      depth--;
      if (depth === 0) return { labels: line.slice(0, i + 1), rest: line.slice(i + 1).trim() };
    }
  }
  throw new ScriptError(`bad expectation ${line}`);
}

function parseLoadLine(line: string, lineNo: number): LoadEntry[] {
  const { labels: labelText, rest } = splitExpectationLine(line);
  const labels = parseLabelSet(labelText);
  let r = rest;
  let text: string;
  if (r.startsWith('"')) {
    const end = r.indexOf('"', 1);
    text = r.slice(1, end);
    r = r.slice(end + 1).trim();
  } else if (r.startsWith('`')) {
    const end = r.indexOf('`', 1);
    text = r.slice(1, end);
    r = r.slice(end + 1).trim();
  } else throw new ScriptError(`line ${lineNo}: expected a quoted log line`);
  const at = /^@\s*(\S+)/.exec(r);
  if (!at) throw new ScriptError(`line ${lineNo}: expected @ <start>`);
  const start = parseScriptDuration(at[1]!);
  r = r.slice(at[0].length).trim();
  let step = 0n;
  let count = 1;
  let metadata: Record<string, string> | undefined;
  while (r !== '') {
    const rep = /^\[\s*repeat\s+every\s+(\S+)\s+for\s+(\d+)\s*\]/.exec(r);
    if (rep) {
      step = parseScriptDuration(rep[1]!);
      count = Number(rep[2]);
      r = r.slice(rep[0].length).trim();
      continue;
    }
    const md = /^\[metadata ([^\]]*)\]/.exec(r);
    if (md) {
      metadata = {};
      const re = /("?)([^"=\s]+)\1="((?:[^"\\]|\\.)*)"/g;
      let m: RegExpExecArray | null;
      while ((m = re.exec(md[1]!)) !== null) metadata[m[2]!] = JSON.parse(`"${m[3]}"`) as string;
      r = r.slice(md[0].length).trim();
      continue;
    }
    throw new ScriptError(`line ${lineNo}: unexpected ${JSON.stringify(r)}`);
  }
  const out: LoadEntry[] = [];
  for (let i = 0; i < count; i++) {
    out.push({
      labels,
      line: text.replaceAll('{{.i}}', String(i)),
      timestampNs: TIME_BASE_NS + start + step * BigInt(i),
      metadata,
    });
  }
  return out;
}

/** Parses one script. Throws {@link ScriptError} naming the line on malformed input. */
export function parseScript(source: string): Command[] {
  const lines = source.split('\n');
  const cmds: Command[] = [];
  let i = 0;
  const isIndented = (l: string): boolean => /^\s+\S/.test(l);
  const blockLines = (): { text: string; no: number }[] => {
    const out: { text: string; no: number }[] = [];
    while (i < lines.length) {
      const raw = lines[i]!;
      const stripped = stripComment(raw);
      if (raw.trim() === '') break;
      if (!isIndented(raw)) break;
      i++;
      if (stripped.trim() === '') continue;
      out.push({ text: stripped.trim(), no: i });
    }
    return out;
  };
  while (i < lines.length) {
    const raw = lines[i]!;
    const text = stripComment(raw).trim();
    const no = i + 1;
    i++;
    if (text === '') continue;
    if (text === 'clear') {
      cmds.push({ kind: 'clear', line: no });
      continue;
    }
    if (text === 'load') {
      const entries = blockLines().flatMap((l) => parseLoadLine(l.text, l.no));
      cmds.push({ kind: 'load', line: no, entries });
      continue;
    }
    const inst = /^eval instant at (\S+) (.+)$/.exec(text);
    const rng = /^eval range from (\S+) to (\S+) step (\S+) (.+)$/.exec(text);
    if (!inst && !rng) throw new ScriptError(`line ${no}: unknown command ${JSON.stringify(text)}`);
    const query = (inst ? inst[2]! : rng![4]!).trim();
    const startNs = TIME_BASE_NS + parseScriptDuration(inst ? inst[1]! : rng![1]!);
    const endNs = inst ? startNs : TIME_BASE_NS + parseScriptDuration(rng![2]!);
    const stepNs = inst ? 0n : parseScriptDuration(rng![3]!);
    const body = blockLines();
    let expect: Expectation | undefined;
    const series: ExpectedSeries[] = [];
    let ordered = false;
    for (const b of body) {
      const t = b.text;
      if (t === 'expect empty') expect = { kind: 'empty' };
      else if (t === 'expect ordered') ordered = true;
      else if (t.startsWith('skip values-comparison')) continue;
      else if (t === 'expect fail') expect = { kind: 'fail' };
      else if (t.startsWith('expect fail msg:')) expect = { kind: 'fail', msg: t.slice('expect fail msg:'.length).trim() };
      else if (t.startsWith('expect fail regex:')) expect = { kind: 'fail', regex: t.slice('expect fail regex:'.length).trim() };
      else if (t.startsWith('{')) {
        const { labels, rest } = splitExpectationLine(t);
        series.push({ labels: parseLabelSet(labels), values: expandValues(rest.split(/\s+/).filter((x) => x !== '')) });
      } else expect = { kind: 'scalar', value: parseNumber(t) };
    }
    if (!expect) expect = series.length > 0 ? { kind: 'series', series, ordered } : { kind: 'empty' };
    cmds.push({ kind: 'eval', line: no, text, query, instant: !!inst, startNs, endNs, stepNs, expect });
  }
  return cmds;
}
