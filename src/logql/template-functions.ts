import { createHash } from 'node:crypto';
import { compileRe2, outputTooLong, printValue, quoteGo, regexReplaceAll, truth, tryParseGoFloat } from '../model/index.ts';
import type { GoValue, TemplateFunc } from '../model/index.ts';
import { parseGoDuration, parseHumanBytes } from './units.ts';

/**
 * The functions Loki makes available to `line_format` and `label_format` templates: its own (ToLower,
 * Replace, regexReplaceAll, unixEpochMillis, alignLeft, sha256, ...) and the Sprig subset it enables
 * (lower, trunc, substr, add, div, default, date, toDate, fromJson, ...). `__line__` and `__timestamp__`
 * read the entry being formatted through `entry`.
 */
export function lokiTemplateFunctions(entry: { line: string; timestampNs: bigint }, maxOutputBytes = Infinity): Record<string, TemplateFunc> {
  return {
    ...STATIC_FUNCS,
    ...(Number.isFinite(maxOutputBytes) ? boundedFunctions(maxOutputBytes) : {}),
    __line__: () => entry.line,
    __timestamp__: () => new Date(Number(entry.timestampNs / 1_000_000n)),
  };
}

/**
 * The functions whose output can be much larger than their input, measured before they build it: a
 * template cannot produce more than one line's worth of text (`{{ repeat 100000 (repeat 5000 "x") }}`
 * is refused, not allocated).
 */
function boundedFunctions(maxBytes: number): Record<string, TemplateFunc> {
  const limit = (n: number): void => {
    if (n > maxBytes) throw new Error(outputTooLong(maxBytes));
  };
  const lines = (s: string): number => s.split('\n').length;
  return {
    repeat: (n, s) => {
      const v = str(s);
      const count = Math.max(0, Math.min(Number(toInt(n)), 100_000));
      limit(count * v.length);
      return v.repeat(count);
    },
    indent: (n, s) => {
      const v = str(s);
      limit(v.length + Math.max(0, Number(toInt(n))) * lines(v));
      return STATIC_FUNCS.indent!(n, s);
    },
    nindent: (n, s) => {
      const v = str(s);
      limit(v.length + 1 + Math.max(0, Number(toInt(n))) * lines(v));
      return STATIC_FUNCS.nindent!(n, s);
    },
    alignLeft: (n, s) => {
      limit(Math.max(0, Number(toInt(n))));
      return STATIC_FUNCS.alignLeft!(n, s);
    },
    alignRight: (n, s) => {
      limit(Math.max(0, Number(toInt(n))));
      return STATIC_FUNCS.alignRight!(n, s);
    },
    replace: (old, nw, s) => {
      const parts = str(s).split(str(old));
      limit(str(s).length + (parts.length - 1) * (str(nw).length - str(old).length));
      return parts.join(str(nw));
    },
    Replace: (s, old, nw, n) => {
      const parts = str(s).split(str(old));
      const count = Number(toInt(n ?? -1n));
      const swaps = count < 0 ? parts.length - 1 : Math.min(count, parts.length - 1);
      limit(str(s).length + swaps * (str(nw).length - str(old).length));
      return STATIC_FUNCS.Replace!(s, old, nw, n);
    },
    regexReplaceAll: (re, s, repl) => regexReplaceAll(compileRe2(str(re)), str(s), str(repl), false, maxBytes),
    regexReplaceAllLiteral: (re, s, repl) => regexReplaceAll(compileRe2(str(re)), str(s), str(repl), true, maxBytes),
  };
}

/** Names of every template function, for parse-time "function not defined" checks. */
export const TEMPLATE_FUNCTION_NAMES: readonly string[] = [];

const str = (v: GoValue): string => (typeof v === 'string' ? v : printValue(v));

/** cast.ToInt64E: ints, floats (truncated), bools, and strings in Go's base-prefixed integer syntax. */
function toInt(v: GoValue): bigint {
  if (typeof v === 'bigint') return v;
  if (typeof v === 'number') return Number.isFinite(v) ? BigInt(Math.trunc(v)) : 0n;
  if (typeof v === 'boolean') return v ? 1n : 0n;
  if (typeof v === 'string') {
    const s = v.replace(/\.0*$/, '');
    if (/^[+-]?(0[xX][0-9a-fA-F]+|0[bB][01]+|0[oO]?[0-7]+|[1-9]\d*|0)$/.test(s)) {
      const neg = s.startsWith('-');
      const body = s.replace(/^[+-]/, '');
      const b = /^0[0-7]+$/.test(body) ? BigInt(`0o${body.slice(1)}`) : BigInt(body);
      return neg ? -b : b;
    }
    return 0n;
  }
  return 0n;
}

/** cast.ToFloat64E. */
function toFloat(v: GoValue): number {
  if (typeof v === 'number') return v;
  if (typeof v === 'bigint') return Number(v);
  if (typeof v === 'boolean') return v ? 1 : 0;
  if (typeof v === 'string') return tryParseGoFloat(v) ?? 0;
  return 0;
}

function goTrim(s: string, cutset: string, left: boolean, right: boolean): string {
  const set = new Set([...cutset]);
  const chars = [...s];
  let a = 0;
  let b = chars.length;
  if (left) while (a < b && set.has(chars[a]!)) a++; // 0 <= a < b <= length
  if (right) while (b > a && set.has(chars[b - 1]!)) b--;
  return chars.slice(a, b).join('');
}

function toDate(v: GoValue): Date {
  if (v instanceof Date) return v;
  if (typeof v === 'bigint') return new Date(Number(v) * 1000);
  if (typeof v === 'number') return new Date(v * 1000);
  if (typeof v === 'string') {
    const n = tryParseGoFloat(v);
    if (n !== undefined) return new Date(n * 1000);
  }
  return new Date(0);
}

const MONTHS = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December'];
const DAYS = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];
const LAYOUT_TOKENS = [
  'January', 'Monday', '2006', 'Z07:00', '-07:00', 'Z0700', '-0700', '.000000000', '.999999999', '.000000', '.999999',
  '.000', '.999', 'Jan', 'Mon', 'MST', '002', '_2', '06', '01', '02', '15', '03', '04', '05', 'PM', 'pm', '1', '2',
  '3', '4', '5', 'Z07', '-07',
];

function tokenizeLayout(layout: string): string[] {
  const out: string[] = [];
  let i = 0;
  let lit = '';
  outer: while (i < layout.length) {
    for (const t of LAYOUT_TOKENS) {
      if (layout.startsWith(t, i)) {
        if (lit) out.push(`'${lit}`);
        lit = '';
        out.push(t);
        i += t.length;
        continue outer;
      }
    }
    lit += layout[i++];
  }
  if (lit) out.push(`'${lit}`);
  return out;
}

/** Go's `time.Time.Format(layout)` in UTC. */
export function formatGoLayout(d: Date, layout: string): string {
  const p2 = (n: number): string => String(n).padStart(2, '0');
  const ms = d.getUTCMilliseconds();
  const frac = String(ms).padStart(3, '0') + '000000';
  let out = '';
  for (const t of tokenizeLayout(layout)) {
    if (t.startsWith("'")) {
      out += t.slice(1);
      continue;
    }
    const h = d.getUTCHours();
    switch (t) {
      case '2006': out += String(d.getUTCFullYear()); break;
      case '06': out += p2(d.getUTCFullYear() % 100); break;
      case 'January': out += MONTHS[d.getUTCMonth()]; break;
      case 'Jan': out += MONTHS[d.getUTCMonth()]!.slice(0, 3); break; // month 0..11
      case '01': out += p2(d.getUTCMonth() + 1); break;
      case '1': out += String(d.getUTCMonth() + 1); break;
      case 'Monday': out += DAYS[d.getUTCDay()]; break;
      case 'Mon': out += DAYS[d.getUTCDay()]!.slice(0, 3); break; // day 0..6
      case '02': out += p2(d.getUTCDate()); break;
      case '_2': out += String(d.getUTCDate()).padStart(2, ' '); break;
      case '2': out += String(d.getUTCDate()); break;
      case '002': {
        const start = Date.UTC(d.getUTCFullYear(), 0, 1);
        out += String(Math.floor((d.getTime() - start) / 86400000) + 1).padStart(3, '0');
        break;
      }
      case '15': out += p2(h); break;
      case '03': out += p2(h % 12 === 0 ? 12 : h % 12); break;
      case '3': out += String(h % 12 === 0 ? 12 : h % 12); break;
      case '04': out += p2(d.getUTCMinutes()); break;
      case '4': out += String(d.getUTCMinutes()); break;
      case '05': out += p2(d.getUTCSeconds()); break;
      case '5': out += String(d.getUTCSeconds()); break;
      case 'PM': out += h >= 12 ? 'PM' : 'AM'; break;
      case 'pm': out += h >= 12 ? 'pm' : 'am'; break;
      case 'MST': out += 'UTC'; break;
      case 'Z07:00': case 'Z0700': case 'Z07': out += 'Z'; break;
      case '-07:00': out += '+00:00'; break;
      case '-0700': out += '+0000'; break;
      case '-07': out += '+00'; break;
      case '.000': out += `.${frac.slice(0, 3)}`; break;
      case '.000000': out += `.${frac.slice(0, 6)}`; break;
      case '.000000000': out += `.${frac.slice(0, 9)}`; break;
      case '.999': case '.999999': case '.999999999': {
        const f = frac.slice(0, t.length - 1).replace(/0+$/, '');
        out += f ? `.${f}` : '';
        break;
      }
      default: out += t;
    }
  }
  return out;
}

/** Go's `time.Parse(layout, value)` for common layouts (numeric fields, month names, zones as offsets). */
export function parseGoLayout(layout: string, value: string, zoneOffsetMin = 0): Date {
  let i = 0;
  let year = 1;
  let month = 1;
  let day = 1;
  let hour = 0;
  let min = 0;
  let sec = 0;
  let nanos = 0;
  let pm: boolean | undefined;
  let offsetMin: number | undefined;
  const num = (minLen: number, maxLen: number): number => {
    const m = new RegExp(`^\\d{${minLen},${maxLen}}`).exec(value.slice(i));
    if (!m) throw new Error(`parsing time ${quoteGo(value)} as ${quoteGo(layout)}: cannot parse`);
    i += m[0].length;
    return Number(m[0]);
  };
  for (const t of tokenizeLayout(layout)) {
    if (t.startsWith("'")) {
      const lit = t.slice(1);
      if (!value.startsWith(lit, i)) throw new Error(`parsing time ${quoteGo(value)} as ${quoteGo(layout)}: cannot parse`);
      i += lit.length;
      continue;
    }
    switch (t) {
      case '2006': year = num(4, 4); break;
      case '06': year = 2000 + num(2, 2); if (year >= 2069) year -= 100; break;
      case '01': month = num(2, 2); break;
      case '1': month = num(1, 2); break;
      case 'January': case 'Jan': {
        const name = MONTHS.find((m) => value.startsWith(t === 'Jan' ? m.slice(0, 3) : m, i));
        if (name === undefined) throw new Error(`parsing time ${quoteGo(value)}: month out of range`);
        month = MONTHS.indexOf(name) + 1;
        i += t === 'Jan' ? 3 : name.length;
        break;
      }
      case 'Monday': case 'Mon': {
        const name = DAYS.find((dd) => value.startsWith(t === 'Mon' ? dd.slice(0, 3) : dd, i));
        if (name !== undefined) i += t === 'Mon' ? 3 : name.length;
        break;
      }
      case '02': day = num(2, 2); break;
      case '_2': if (value[i] === ' ') i++; day = num(1, 2); break;
      case '2': day = num(1, 2); break;
      case '15': hour = num(1, 2); break;
      case '03': case '3': hour = num(1, 2); break;
      case '04': case '4': min = num(1, 2); break;
      case '05': case '5': sec = num(1, 2); break;
      case 'PM': case 'pm': pm = value.slice(i, i + 2).toUpperCase() === 'PM'; i += 2; break;
      case 'MST': { const m = /^[A-Z]{3,4}/.exec(value.slice(i)); i += m ? m[0].length : 0; offsetMin = 0; break; }
      case 'Z07:00': case 'Z0700': case 'Z07': case '-07:00': case '-0700': case '-07': {
        if (value[i] === 'Z' && t.startsWith('Z')) { i++; offsetMin = 0; break; }
        const m = /^([+-])(\d{2}):?(\d{2})?/.exec(value.slice(i));
        if (!m) throw new Error(`parsing time ${quoteGo(value)}: bad zone`);
        offsetMin = (m[1] === '-' ? -1 : 1) * (Number(m[2]) * 60 + Number(m[3] ?? 0));
        i += m[0].length;
        break;
      }
      default:
        if (t.startsWith('.')) {
          const m = /^[.,](\d+)/.exec(value.slice(i));
          if (m) { nanos = Number(m[1]!.padEnd(9, '0').slice(0, 9)); i += m[0].length; } // group 1 is not optional
        }
    }
    // Go accepts fractional seconds after a seconds field even when the layout has none.
    if ((t === '05' || t === '5') && /^[.,]\d/.test(value.slice(i)) && !layout.includes('.0') && !layout.includes('.9')) {
      const m = /^[.,](\d+)/.exec(value.slice(i))!; // tested just above
      nanos = Number(m[1]!.padEnd(9, '0').slice(0, 9));
      i += m[0].length;
    }
  }
  if (i !== value.length) throw new Error(`parsing time ${quoteGo(value)}: extra text: ${quoteGo(value.slice(i))}`);
  if (pm !== undefined) hour = (hour % 12) + (pm ? 12 : 0);
  const off = offsetMin ?? zoneOffsetMin;
  const ms = Date.UTC(year, month - 1, day, hour, min, sec, Math.floor(nanos / 1e6)) - off * 60000;
  const d = new Date(ms);
  if (year < 100) d.setUTCFullYear(year);
  return d;
}

/** Loki's unixToTime: epoch in s, ms, us or ns picked by digit count. */
function unixToTime(v: GoValue): Date {
  const s = str(v);
  if (!/^-?\d+$/.test(s)) throw new Error(`unable to convert ${s} to time`);
  const n = BigInt(s);
  const len = s.replace('-', '').length;
  if (len <= 10) return new Date(Number(n) * 1000);
  if (len <= 13) return new Date(Number(n));
  if (len <= 16) return new Date(Number(n / 1000n));
  return new Date(Number(n / 1_000_000n));
}

function epochNs(d: Date): bigint {
  return BigInt(d.getTime()) * 1_000_000n;
}

function cmpInts(args: GoValue[], pick: (a: bigint, b: bigint) => boolean): bigint {
  let best = toInt(args[0]);
  for (const a of args.slice(1)) {
    const v = toInt(a);
    if (pick(v, best)) best = v;
  }
  return best;
}

const STATIC_FUNCS: Record<string, TemplateFunc> = {
  // Loki's own.
  ToLower: (s) => str(s).toLowerCase(),
  ToUpper: (s) => str(s).toUpperCase(),
  Replace: (s, old, nw, n) => {
    const src = str(s);
    const count = Number(toInt(n ?? -1n));
    if (count < 0) return src.split(str(old)).join(str(nw));
    let out = src;
    let from = 0;
    for (let k = 0; k < count; k++) {
      const idx = out.indexOf(str(old), from);
      if (idx < 0) break;
      out = out.slice(0, idx) + str(nw) + out.slice(idx + str(old).length);
      from = idx + str(nw).length;
    }
    return out;
  },
  Trim: (s, cut) => goTrim(str(s), str(cut), true, true),
  TrimLeft: (s, cut) => goTrim(str(s), str(cut), true, false),
  TrimRight: (s, cut) => goTrim(str(s), str(cut), false, true),
  TrimPrefix: (s, p) => (str(s).startsWith(str(p)) ? str(s).slice(str(p).length) : str(s)),
  TrimSuffix: (s, p) => (str(p) !== '' && str(s).endsWith(str(p)) ? str(s).slice(0, -str(p).length) : str(s)),
  TrimSpace: (s) => str(s).trim(),
  regexReplaceAll: (re, s, repl) => regexReplaceAll(compileRe2(str(re)), str(s), str(repl), false),
  regexReplaceAllLiteral: (re, s, repl) => regexReplaceAll(compileRe2(str(re)), str(s), str(repl), true),
  count: (re, s) => {
    const m = compileRe2(str(re)).matcher(str(s));
    let n = 0n;
    while (m.find() && n < 1_000_000n) n++;
    return n;
  },
  urldecode: (s) => decodeURIComponent(str(s).replace(/\+/g, ' ')),
  urlencode: (s) => encodeURIComponent(str(s)).replace(/%20/g, '+').replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`),
  bytes: (s) => BigInt(parseHumanBytes(str(s))),
  duration: (s) => parseGoDuration(str(s)) / 1e9,
  duration_seconds: (s) => parseGoDuration(str(s)) / 1e9,
  unixEpochMillis: (d) => toDate(d).getTime().toString(),
  unixEpochNanos: (d) => epochNs(toDate(d)).toString(),
  toDateInZone: (fmt, zone, s) => parseGoLayout(str(fmt), str(s), zoneOffsetMinutes(str(zone))),
  unixToTime: (s) => unixToTime(s),
  alignLeft: (n, s) => {
    const count = Number(toInt(n));
    const chars = [...str(s)];
    return chars.length >= count ? chars.slice(0, count).join('') : chars.join('') + ' '.repeat(count - chars.length);
  },
  alignRight: (n, s) => {
    const count = Number(toInt(n));
    const chars = [...str(s)];
    return chars.length >= count ? chars.slice(chars.length - count).join('') : ' '.repeat(count - chars.length) + chars.join('');
  },
  sha256: (s) => createHash('sha256').update(str(s)).digest('hex'),
  b64enc: (s) => Buffer.from(str(s)).toString('base64'),
  b64dec: (s) => Buffer.from(str(s), 'base64').toString('utf8'),
  // Sprig.
  lower: (s) => str(s).toLowerCase(),
  upper: (s) => str(s).toUpperCase(),
  title: (s) => str(s).replace(/(^|[^\p{L}\p{N}'])(\p{L})/gu, (_m, a: string, b: string) => a + b.toUpperCase()),
  trunc: (c, s) => {
    const n = Number(toInt(c));
    const v = str(s);
    if (n < 0 && v.length + n > 0) return v.slice(v.length + n);
    if (n >= 0 && v.length > n) return v.slice(0, n);
    return v;
  },
  substr: (start, end, s) => {
    const v = str(s);
    let a = Number(toInt(start));
    let b = Number(toInt(end));
    if (a < 0) return v.slice(0, b < 0 || b > v.length ? v.length : b);
    if (b < 0 || b > v.length) b = v.length;
    if (a > b) a = b;
    return v.slice(a, b);
  },
  contains: (sub, s) => str(s).includes(str(sub)),
  hasPrefix: (p, s) => str(s).startsWith(str(p)),
  hasSuffix: (p, s) => str(s).endsWith(str(p)),
  indent: (n, s) => {
    const pad = ' '.repeat(Number(toInt(n)));
    return pad + str(s).replace(/\n/g, `\n${pad}`);
  },
  nindent: (n, s) => {
    const pad = ' '.repeat(Number(toInt(n)));
    return `\n${pad}${str(s).replace(/\n/g, `\n${pad}`)}`;
  },
  replace: (old, nw, s) => str(s).split(str(old)).join(str(nw)),
  repeat: (n, s) => str(s).repeat(Math.max(0, Math.min(Number(toInt(n)), 100_000))),
  trim: (s) => str(s).trim(),
  trimAll: (cut, s) => goTrim(str(s), str(cut), true, true),
  trimSuffix: (p, s) => (str(p) !== '' && str(s).endsWith(str(p)) ? str(s).slice(0, -str(p).length) : str(s)),
  trimPrefix: (p, s) => (str(s).startsWith(str(p)) ? str(s).slice(str(p).length) : str(s)),
  int: (v) => toInt(v),
  int64: (v) => toInt(v),
  float64: (v) => toFloat(v),
  add: (...args) => args.reduce<bigint>((a, b) => a + toInt(b), 0n),
  sub: (a, b) => toInt(a) - toInt(b),
  mul: (a, ...rest) => rest.reduce<bigint>((x, y) => x * toInt(y), toInt(a)),
  div: (a, b) => {
    const d = toInt(b);
    if (d === 0n) throw new Error('runtime error: integer divide by zero');
    return toInt(a) / d;
  },
  mod: (a, b) => {
    const d = toInt(b);
    if (d === 0n) throw new Error('runtime error: integer divide by zero');
    return toInt(a) % d;
  },
  addf: (...args) => args.reduce<number>((a, b) => a + toFloat(b), 0),
  subf: (a, ...rest) => rest.reduce<number>((x, y) => x - toFloat(y), toFloat(a)),
  mulf: (a, ...rest) => rest.reduce<number>((x, y) => x * toFloat(y), toFloat(a)),
  divf: (a, ...rest) => rest.reduce<number>((x, y) => x / toFloat(y), toFloat(a)),
  max: (...args) => cmpInts(args, (a, b) => a > b),
  min: (...args) => cmpInts(args, (a, b) => a < b),
  maxf: (...args) => Math.max(...args.map(toFloat)),
  minf: (...args) => Math.min(...args.map(toFloat)),
  ceil: (v) => Math.ceil(toFloat(v)),
  floor: (v) => Math.floor(toFloat(v)),
  round: (v, p, r) => {
    const places = Number(toInt(p ?? 0n));
    const half = r === undefined ? 0.5 : toFloat(r);
    const pow = Math.pow(10, places);
    const digit = toFloat(v) * pow;
    const fl = Math.floor(digit);
    return (digit - fl >= half ? Math.ceil(digit) : fl) / pow;
  },
  fromJson: (s) => {
    try {
      return fromJsonValue(JSON.parse(str(s)));
    } catch {
      return null;
    }
  },
  date: (fmt, d) => formatGoLayout(toDate(d), str(fmt)),
  toDate: (fmt, s) => parseGoLayout(str(fmt), str(s)),
  now: () => new Date(),
  unixEpoch: (d) => Math.floor(toDate(d).getTime() / 1000).toString(),
  default: (def, ...given) => {
    const v = given.length === 0 ? undefined : given[0];
    return truth(v) ? v : def;
  },
};

function zoneOffsetMinutes(zone: string): number {
  if (zone === '' || zone === 'UTC' || zone === 'Local') return 0;
  try {
    const fmt = new Intl.DateTimeFormat('en-US', { timeZone: zone, timeZoneName: 'longOffset' });
    const part = fmt.formatToParts(new Date()).find((p) => p.type === 'timeZoneName')?.value ?? '';
    const m = /GMT([+-])(\d{2}):(\d{2})/.exec(part);
    return m ? (m[1] === '-' ? -1 : 1) * (Number(m[2]) * 60 + Number(m[3])) : 0;
  } catch {
    throw new Error(`unknown time zone ${zone}`);
  }
}

function fromJsonValue(v: unknown): GoValue {
  if (v === null) return null;
  if (Array.isArray(v)) return v.map(fromJsonValue);
  if (typeof v === 'object') {
    const out: Record<string, GoValue> = {};
    for (const [k, x] of Object.entries(v as Record<string, unknown>)) out[k] = fromJsonValue(x);
    return out;
  }
  return v as GoValue;
}

(TEMPLATE_FUNCTION_NAMES as string[]).push(...Object.keys(STATIC_FUNCS), '__line__', '__timestamp__');
