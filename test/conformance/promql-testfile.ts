/**
 * Parser for Prometheus' promqltest script format (`../shared/fixtures/promql/*.test`), as described in
 * `shared/fixtures/README.md` section 1. Produces commands; evaluation lives in the runner.
 */
import type { Labels } from '../../src/model/index.ts';
import { STALE_NAN, unquoteGoString } from '../../src/model/index.ts';
import { FloatHistogram, GAUGE_TYPE, COUNTER_RESET, NOT_COUNTER_RESET, UNKNOWN_COUNTER_RESET } from '../../src/promql/histogram.ts';
import { parseDuration } from '../../src/promql/literals.ts';

/** One position of a series description: a float, a histogram, or nothing. */
export type SeqValue =
  | { readonly kind: 'omit' }
  | { readonly kind: 'float'; readonly value: number }
  | { readonly kind: 'hist'; readonly h: FloatHistogram; readonly hintSet: boolean };

export interface SeriesDesc {
  readonly labels: Labels;
  readonly values: SeqValue[];
}

export interface LoadCmd {
  readonly type: 'load';
  readonly stepMs: number;
  readonly withNhcb: boolean;
  readonly series: SeriesDesc[];
  readonly line: number;
  readonly usesStartTimestamps: boolean;
}

export interface ExpectAnno {
  readonly message?: string;
  readonly regex?: RegExp;
}

export interface EvalCmd {
  readonly type: 'eval';
  readonly line: number;
  readonly expr: string;
  readonly isRange: boolean;
  readonly startMs: number;
  readonly endMs: number;
  readonly stepMs: number;
  fail: boolean;
  failMessage?: string;
  failRegex?: RegExp;
  ordered: boolean;
  warn: boolean;
  info: boolean;
  readonly expectWarn: ExpectAnno[];
  readonly expectInfo: ExpectAnno[];
  noWarn: boolean;
  noInfo: boolean;
  /** For `expect range vector from s to e step d`. */
  rangeVector?: { startMs: number; endMs: number; stepMs: number };
  expectString?: string;
  scalar?: number;
  readonly series: SeriesDesc[];
}

export type Command = { readonly type: 'clear'; readonly line: number } | LoadCmd | EvalCmd;

function dur(text: string): number {
  const d = parseDuration(text);
  if (d === undefined) throw new Error(`invalid duration "${text}"`);
  return d;
}

/** Parses a label set written as a series selector: `metric{a="b"}`, `{__name__="x"}`, `{}`. */
export function parseLabelSet(text: string): { labels: Labels; rest: string } {
  let i = 0;
  const labels: Record<string, string> = {};
  const skipWs = (): void => {
    while (i < text.length && /\s/.test(text[i]!)) i++;
  };
  skipWs();
  const ident = /^[A-Za-z_:][A-Za-z0-9_:]*/.exec(text.slice(i));
  if (ident) {
    labels.__name__ = ident[0];
    i += ident[0].length;
  }
  if (text[i] === '{') {
    i++;
    for (;;) {
      skipWs();
      if (text[i] === '}') {
        i++;
        break;
      }
      let name: string;
      if (text[i] === '"' || text[i] === "'" || text[i] === '`') {
        const end = findStringEnd(text, i);
        name = unquoteGoString(text.slice(i, end));
        i = end;
      } else {
        const m = /^[A-Za-z_][A-Za-z0-9_]*/.exec(text.slice(i));
        if (!m) throw new Error(`bad label name at ${i} in ${text}`);
        name = m[0];
        i += name.length;
      }
      skipWs();
      if (text[i] === ',' || text[i] === '}') {
        // A bare quoted string is the metric name.
        labels.__name__ = name;
        if (text[i] === ',') i++;
        continue;
      }
      if (text[i] !== '=') throw new Error(`expected = at ${i} in ${text}`);
      i++;
      skipWs();
      const end = findStringEnd(text, i);
      const value = unquoteGoString(text.slice(i, end));
      i = end;
      if (value !== '') labels[name] = value;
      skipWs();
      if (text[i] === ',') i++;
    }
  }
  return { labels, rest: text.slice(i) };
}

function findStringEnd(text: string, start: number): number {
  const q = text[start]!;
  let i = start + 1;
  while (i < text.length) {
    const c = text[i]!;
    if (c === '\\' && q !== '`') {
      i += 2;
      continue;
    }
    if (c === q) return i + 1;
    i++;
  }
  throw new Error(`unterminated string in ${text}`);
}

/** Splits the values part into items, keeping `{{...}}` histogram literals (and their `+{{..}}xN`) whole. */
function tokenizeValues(text: string): string[] {
  const out: string[] = [];
  let i = 0;
  while (i < text.length) {
    while (i < text.length && /\s/.test(text[i]!)) i++;
    if (i >= text.length) break;
    let j = i;
    let depth = 0;
    while (j < text.length) {
      if (text.startsWith('{{', j)) {
        depth++;
        j += 2;
        continue;
      }
      if (text.startsWith('}}', j)) {
        depth--;
        j += 2;
        continue;
      }
      if (depth === 0 && /\s/.test(text[j]!)) break;
      j++;
    }
    out.push(text.slice(i, j));
    i = j;
  }
  return out;
}

const NUM = '[+-]?(?:Inf|inf|NaN|nan|(?:\\d+\\.?\\d*|\\.\\d+)(?:[eE][+-]?\\d+)?)';
const NUM_RE = new RegExp(`^${NUM}$`);
const EXPAND_RE = new RegExp(`^(${NUM})(?:([+-])(${NUM}))?x(\\d+)$`);

function parseNum(s: string): number {
  const l = s.toLowerCase();
  if (l === 'inf' || l === '+inf') return Infinity;
  if (l === '-inf') return -Infinity;
  if (l === 'nan' || l === '+nan' || l === '-nan') return NaN;
  return Number(s);
}

/** Parses a native histogram literal body (`schema:1 sum:3 buckets:[1 2]`). */
export function parseHistogramLiteral(body: string): { h: FloatHistogram; hintSet: boolean } {
  const h = new FloatHistogram();
  let hintSet = false;
  const re = /(\w+):\s*(\[[^\]]*\]|\S+)/g;
  let buckets: number[] = [];
  let offset = 0;
  let nBuckets: number[] = [];
  let nOffset = 0;
  for (const m of body.matchAll(re)) {
    const key = m[1]!;
    const raw = m[2]!;
    const list = (): number[] =>
      raw
        .slice(1, -1)
        .trim()
        .split(/\s+/)
        .filter((x) => x !== '')
        .map(parseNum);
    switch (key) {
      case 'schema':
        h.schema = Number(raw);
        break;
      case 'sum':
        h.sum = parseNum(raw);
        break;
      case 'count':
        h.count = parseNum(raw);
        break;
      case 'z_bucket':
        h.zeroCount = parseNum(raw);
        break;
      case 'z_bucket_w':
        h.zeroThreshold = parseNum(raw);
        break;
      case 'buckets':
        buckets = list();
        break;
      case 'offset':
        offset = Number(raw);
        break;
      case 'n_buckets':
        nBuckets = list();
        break;
      case 'n_offset':
        nOffset = Number(raw);
        break;
      case 'custom_values':
        h.customValues = list();
        break;
      case 'counter_reset_hint':
        hintSet = true;
        h.counterResetHint =
          raw === 'reset' ? COUNTER_RESET : raw === 'not_reset' ? NOT_COUNTER_RESET : raw === 'gauge' ? GAUGE_TYPE : UNKNOWN_COUNTER_RESET;
        break;
      default:
        throw new Error(`unknown histogram key ${key}`);
    }
  }
  if (buckets.length > 0) {
    h.positiveSpans = [{ offset, length: buckets.length }];
    h.positiveBuckets = buckets;
  }
  if (nBuckets.length > 0) {
    h.negativeSpans = [{ offset: nOffset, length: nBuckets.length }];
    h.negativeBuckets = nBuckets;
  }
  if (h.schema === -53 && !h.customValues) h.customValues = [];
  return { h, hintSet };
}

function parseValues(text: string): SeqValue[] {
  const out: SeqValue[] = [];
  for (const tok of tokenizeValues(text)) {
    if (tok === '_') {
      out.push({ kind: 'omit' });
      continue;
    }
    const omit = /^_x(\d+)$/.exec(tok);
    if (omit) {
      for (let i = 0; i < Number(omit[1]); i++) out.push({ kind: 'omit' });
      continue;
    }
    if (tok === 'stale') {
      out.push({ kind: 'float', value: STALE_NAN });
      continue;
    }
    if (tok.startsWith('{{')) {
      const m = /^\{\{(.*?)\}\}(?:([+-])\{\{(.*?)\}\})?(?:x(\d+))?$/s.exec(tok);
      if (!m) throw new Error(`bad histogram item ${tok}`);
      const base = parseHistogramLiteral(m[1]!);
      const times = m[4] !== undefined ? Number(m[4]) : 0;
      out.push({ kind: 'hist', h: base.h, hintSet: base.hintSet });
      let cur = base.h;
      for (let i = 1; i <= times; i++) {
        const next = cur.copy();
        if (m[2]) {
          const inc = parseHistogramLiteral(m[3]!).h;
          if (m[2] === '+') next.add(inc);
          else next.sub(inc);
        }
        out.push({ kind: 'hist', h: next, hintSet: base.hintSet });
        cur = next;
      }
      continue;
    }
    if (NUM_RE.test(tok)) {
      out.push({ kind: 'float', value: parseNum(tok) });
      continue;
    }
    const ex = EXPAND_RE.exec(tok);
    if (ex) {
      let v = parseNum(ex[1]!);
      const sign = ex[2] === '-' ? -1 : 1;
      const inc = ex[3] !== undefined ? sign * parseNum(ex[3]) : 0;
      const times = Number(ex[4]);
      for (let i = 0; i <= times; i++) {
        out.push({ kind: 'float', value: v });
        v += inc;
      }
      continue;
    }
    throw new Error(`bad value item "${tok}"`);
  }
  return out;
}

/** Parses one `<labels> <values>` line. */
export function parseSeriesLine(line: string): SeriesDesc {
  const { labels, rest } = parseLabelSet(line);
  return { labels, values: parseValues(rest.trim()) };
}

function parseExpectAnno(rest: string | undefined): ExpectAnno {
  if (!rest) return { regex: /^.*$/s };
  const m = /^(regex|msg):(.*)$/s.exec(rest.trim());
  if (!m) throw new Error(`bad expect line: ${rest}`);
  return m[1] === 'msg' ? { message: m[2]!.trim() } : { regex: new RegExp(m[2]!.trim()) };
}

/** Parses a whole test script into commands. */
export function parseTestFile(content: string): Command[] {
  const lines = content.split('\n').map((l) => {
    const t = l.trim();
    return t.startsWith('#') ? '' : t;
  });
  const cmds: Command[] = [];
  for (let i = 0; i < lines.length; i++) {
    const l = lines[i]!;
    if (l === '') continue;
    const word = l.split(/[\t ]+/, 1)[0]!.toLowerCase();
    if (word === 'clear') {
      cmds.push({ type: 'clear', line: i + 1 });
      continue;
    }
    if (word.startsWith('load')) {
      const m = /^load(?:_(with_nhcb))?\s+(.+?)$/.exec(l);
      if (!m) throw new Error(`line ${i + 1}: invalid load command`);
      const series = new Map<string, SeriesDesc>();
      let usesStartTimestamps = false;
      while (i + 1 < lines.length && lines[i + 1] !== '') {
        i++;
        const def = lines[i]!;
        const firstTok = def.split(/[\t ]+/, 1)[0]!;
        if (firstTok.endsWith('@st')) {
          usesStartTimestamps = true;
          continue;
        }
        const s = parseSeriesLine(def);
        series.set(JSON.stringify(Object.entries(s.labels).sort()), s);
      }
      cmds.push({ type: 'load', stepMs: dur(m[2]!), withNhcb: m[1] === 'with_nhcb', series: [...series.values()], line: i + 1, usesStartTimestamps });
      continue;
    }
    if (word.startsWith('eval')) {
      const line = i + 1;
      const inst = /^eval(?:_(fail|warn|ordered|info))?\s+instant\s+(?:at\s+(.+?))?\s+(.+)$/.exec(l);
      const rng = /^eval(?:_(fail|warn|info))?\s+range\s+from\s+(.+)\s+to\s+(.+)\s+step\s+(.+?)\s+(.+)$/.exec(l);
      if (!inst && !rng) throw new Error(`line ${line}: invalid eval command`);
      const mod = inst ? inst[1] : rng![1];
      const cmd: EvalCmd = inst
        ? {
            type: 'eval',
            line,
            expr: inst[3]!,
            isRange: false,
            startMs: dur(inst[2] ?? '0'),
            endMs: dur(inst[2] ?? '0'),
            stepMs: 0,
            fail: false,
            ordered: false,
            warn: false,
            info: false,
            expectWarn: [],
            expectInfo: [],
            noWarn: false,
            noInfo: false,
            series: [],
          }
        : {
            type: 'eval',
            line,
            expr: rng![5]!,
            isRange: true,
            startMs: dur(rng![2]!),
            endMs: dur(rng![3]!),
            stepMs: dur(rng![4]!),
            fail: false,
            ordered: false,
            warn: false,
            info: false,
            expectWarn: [],
            expectInfo: [],
            noWarn: false,
            noInfo: false,
            series: [],
          };
      if (mod === 'fail') cmd.fail = true;
      if (mod === 'warn') cmd.warn = true;
      if (mod === 'info') cmd.info = true;
      if (mod === 'ordered') cmd.ordered = true;
      while (i + 1 < lines.length && lines[i + 1] !== '') {
        i++;
        const def = lines[i]!;
        if (cmd.fail && def.startsWith('expected_fail_message')) {
          cmd.failMessage = def.slice('expected_fail_message'.length).trim();
          break;
        }
        if (cmd.fail && def.startsWith('expected_fail_regexp')) {
          cmd.failRegex = new RegExp(def.slice('expected_fail_regexp'.length).trim());
          break;
        }
        if (def.startsWith('expect range vector')) {
          const m = /^expect range vector\s+from\s+(.+)\s+to\s+(.+)\s+step\s+(.+)$/.exec(def)!;
          cmd.rangeVector = { startMs: dur(m[1]!), endMs: dur(m[2]!), stepMs: dur(m[3]!) };
          continue;
        }
        if (def.startsWith('expect string')) {
          const lit = def.slice('expect string'.length).trim();
          cmd.expectString = unquoteGoString(lit);
          continue;
        }
        if (def.split(' ')[0] === 'expect') {
          const m = /^expect\s+(ordered|fail|warn|no_warn|info|no_info)(?:\s+(.*))?$/s.exec(def);
          if (!m) throw new Error(`line ${i + 1}: invalid expect line`);
          switch (m[1]) {
            case 'ordered':
              cmd.ordered = true;
              break;
            case 'fail': {
              cmd.fail = true;
              const a = parseExpectAnno(m[2]);
              if (a.message !== undefined) cmd.failMessage = a.message;
              else if (m[2]) cmd.failRegex = a.regex!;
              break;
            }
            case 'warn':
              cmd.expectWarn.push(parseExpectAnno(m[2]));
              break;
            case 'info':
              cmd.expectInfo.push(parseExpectAnno(m[2]));
              break;
            case 'no_warn':
              cmd.noWarn = true;
              break;
            case 'no_info':
              cmd.noInfo = true;
              break;
          }
          continue;
        }
        if (/^[+-]?(?:Inf|inf|NaN|nan|\d|\.\d|0x)/.test(def) && !/[{\s]/.test(def)) {
          const v = Number.isNaN(Number(def)) ? parseNum(def) : Number(def);
          cmd.scalar = v;
          break;
        }
        cmd.series.push(parseSeriesLine(def));
      }
      cmds.push(cmd);
      continue;
    }
    throw new Error(`line ${i + 1}: invalid command "${l}"`);
  }
  return cmds;
}
