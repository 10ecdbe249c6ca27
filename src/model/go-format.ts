import { quoteGo } from './go-string.ts';
import { outputTooLong } from './go-template-error.ts';
import { goTypeName } from './go-template-value.ts';
import type { GoValue } from './go-template-value.ts';

/** `fmt.Sprint` of one value: ints plainly, floats with %v (shortest 'g'), nil as `<nil>`. */
export function printValue(v: GoValue): string {
  if (v === undefined) return '';
  if (v === null) return '<nil>';
  if (typeof v === 'string') return v;
  if (typeof v === 'bigint') return v.toString();
  if (typeof v === 'number') return formatFloatG(v);
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  if (Array.isArray(v)) return `[${v.map(printValue).join(' ')}]`;
  if (v instanceof Date) return formatGoTime(v);
  return `map[${Object.keys(v)
    .sort()
    .map((k) => `${k}:${printValue((v as Record<string, GoValue>)[k])}`)
    .join(' ')}]`;
}

/** Go's `strconv.FormatFloat(f, 'g', -1, 64)`, as %v prints float64 (exponent when < 1e-4 or >= 1e6... in
  * shortest form Go decides with precision 6, hence `1e+06`). */
export function formatFloatG(f: number): string {
  if (Number.isNaN(f)) return 'NaN';
  if (f === Infinity) return '+Inf';
  if (f === -Infinity) return '-Inf';
  if (f === 0) return Object.is(f, -0) ? '-0' : '0';
  const exp = Math.floor(Math.log10(Math.abs(f)));
  if (exp < -4 || exp >= 6) {
    const s = f.toExponential();
    return s.replace(/e([+-])(\d)$/, 'e$10$2');
  }
  return String(f);
}

function formatGoTime(d: Date): string {
  const iso = d.toISOString();
  return `${iso.slice(0, 10)} ${iso.slice(11, 19)}${iso.slice(19, 23) === '.000' ? '' : iso.slice(19, 23)} +0000 UTC`;
}

/** `fmt.Sprint`: spaces between operands when neither is a string. */
export function goSprint(args: GoValue[]): string {
  let out = '';
  for (let i = 0; i < args.length; i++) {
    if (i > 0 && typeof args[i] !== 'string' && typeof args[i - 1] !== 'string') out += ' ';
    out += printValue(args[i]);
  }
  return out;
}

/** `fmt.Sprintf` for the common verbs: %v %s %q %d %f %F %e %E %g %G %x %X %o %b %c %t %T %%, with flags. */
export function goSprintf(format: string, args: GoValue[], maxBytes = Infinity): string {
  let out = '';
  let argi = 0;
  const re = /%([-+# 0]*)(\*|\d+)?(?:\.(\*|\d+)?)?([a-zA-Z%])/g;
  let last = 0;
  let m: RegExpExecArray | null;
  while ((m = re.exec(format)) !== null) {
    out += format.slice(last, m.index);
    last = re.lastIndex;
    const [, flags = '', widthS, precS, verb = ''] = m; // groups 1 and 4 always match
    if (verb === '%') {
      out += '%';
      continue;
    }
    const width = widthS === '*' ? Number(args[argi++]) : widthS !== undefined ? Number(widthS) : undefined;
    const prec = precS === '*' ? Number(args[argi++]) : precS !== undefined ? Number(precS) : m[0].includes('.') ? 0 : undefined;
    if (argi >= args.length) {
      out += `%!${verb}(MISSING)`;
      continue;
    }
    const arg = args[argi++];
    if (width !== undefined && width > maxBytes) throw new Error(outputTooLong(maxBytes));
    out += pad(formatVerb(verb, arg, flags, prec), width, flags);
    if (out.length > maxBytes) throw new Error(outputTooLong(maxBytes));
  }
  out += format.slice(last);
  if (argi < args.length) {
    out += `%!(EXTRA ${args
      .slice(argi)
      .map((a) => `${goTypeName(a)}=${printValue(a)}`)
      .join(', ')})`;
  }
  return out;
}

function pad(s: string, width: number | undefined, flags: string): string {
  if (width === undefined || s.length >= width) return s;
  if (flags.includes('-')) return s + ' '.repeat(width - s.length);
  if (flags.includes('0') && /^[+-]?[0-9.]/.test(s)) {
    const sign = /^[+-]/.test(s) ? s[0] : '';
    const body = sign ? s.slice(1) : s;
    return sign + '0'.repeat(width - s.length) + body;
  }
  return ' '.repeat(width - s.length) + s;
}

function formatVerb(verb: string, arg: GoValue, flags: string, prec: number | undefined): string {
  const plus = flags.includes('+');
  const space = flags.includes(' ');
  const sign = (n: number | bigint, s: string): string => (n >= 0 && plus ? `+${s}` : n >= 0 && space ? ` ${s}` : s);
  switch (verb) {
    case 'v':
      if (typeof arg === 'number' && prec !== undefined) return formatVerb('g', arg, flags, prec);
      return printValue(arg);
    case 's':
      return prec !== undefined ? printValue(arg).slice(0, prec) : printValue(arg);
    case 'q':
      if (typeof arg === 'bigint') return `'${String.fromCodePoint(Number(arg))}'`;
      return quoteGo(printValue(arg));
    case 't':
      return typeof arg === 'boolean' ? String(arg) : `%!t(${goTypeName(arg)}=${printValue(arg)})`;
    case 'T':
      return goTypeName(arg);
    case 'd':
      if (typeof arg === 'bigint') return sign(arg, arg.toString());
      if (typeof arg === 'number' && Number.isInteger(arg)) return `%!d(float64=${printValue(arg)})`;
      return `%!d(${goTypeName(arg)}=${printValue(arg)})`;
    case 'c':
      return typeof arg === 'bigint' ? String.fromCodePoint(Number(arg)) : `%!c(${goTypeName(arg)}=${printValue(arg)})`;
    case 'x':
    case 'X': {
      let s: string;
      if (typeof arg === 'bigint') s = (arg < 0n ? '-' : '') + (arg < 0n ? -arg : arg).toString(16);
      else if (typeof arg === 'string') s = Buffer.from(arg).toString('hex');
      else if (typeof arg === 'number') s = arg.toString(16);
      else return `%!${verb}(${goTypeName(arg)}=${printValue(arg)})`;
      if (flags.includes('#')) s = `0x${s}`;
      return verb === 'X' ? s.toUpperCase() : s;
    }
    case 'o':
      return typeof arg === 'bigint' ? arg.toString(8) : `%!o(${goTypeName(arg)}=${printValue(arg)})`;
    case 'b':
      return typeof arg === 'bigint' ? arg.toString(2) : `%!b(${goTypeName(arg)}=${printValue(arg)})`;
    case 'f':
    case 'F':
    case 'e':
    case 'E':
    case 'g':
    case 'G': {
      const n = typeof arg === 'number' ? arg : typeof arg === 'bigint' ? undefined : undefined;
      if (n === undefined) return `%!${verb}(${goTypeName(arg)}=${printValue(arg)})`;
      if (!Number.isFinite(n)) return sign(n, Number.isNaN(n) ? 'NaN' : n > 0 ? '+Inf' : '-Inf');
      let s: string;
      if (verb === 'f' || verb === 'F') s = n.toFixed(prec ?? 6);
      else if (verb === 'e' || verb === 'E') {
        s = n.toExponential(prec ?? 6).replace(/e([+-])(\d)$/, 'e$10$2');
        if (verb === 'E') s = s.toUpperCase();
      } else {
        s = prec === undefined ? formatFloatG(n) : Number(n.toPrecision(prec || 1)).toString();
        if (verb === 'G') s = s.toUpperCase();
      }
      return sign(n, s);
    }
    default:
      return `%!${verb}(${goTypeName(arg)}=${printValue(arg)})`;
  }
}
