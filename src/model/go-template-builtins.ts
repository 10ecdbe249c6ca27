import { goSprint, goSprintf, printValue } from './go-format.ts';
import { goTypeName, truth } from './go-template-value.ts';
import type { GoValue, TemplateFunc } from './go-template-value.ts';

function basicKind(v: GoValue): 'int' | 'float' | 'string' | 'bool' | 'nil' | 'other' {
  if (typeof v === 'bigint') return 'int';
  if (typeof v === 'number') return 'float';
  if (typeof v === 'string') return 'string';
  if (typeof v === 'boolean') return 'bool';
  if (v === null || v === undefined) return 'nil';
  return 'other';
}

function compareValues(a: GoValue, b: GoValue, op: string): number {
  const ka = basicKind(a);
  const kb = basicKind(b);
  if (ka !== kb) {
    if ((ka === 'int' || ka === 'float') && (kb === 'int' || kb === 'float')) {
      throw new Error('incompatible types for comparison');
    }
    if (op === 'eq') return 1;
    throw new Error('incompatible types for comparison');
  }
  if (ka === 'other' || ka === 'nil') {
    if (op === 'eq') return a === b ? 0 : 1;
    throw new Error('invalid type for comparison');
  }
  if (ka === 'bool' && op !== 'eq') throw new Error('invalid type for comparison');
  const x = a as string | number | bigint | boolean;
  const y = b as string | number | bigint | boolean;
  return x < y ? -1 : x > y ? 1 : 0;
}

/** The functions Go predefines for every template (`and`/`or` short-circuit in the executor). */
export const BUILTINS: Record<string, TemplateFunc> = {
  not: (v) => !truth(v),
  len: (v) => {
    if (typeof v === 'string') return BigInt(Buffer.byteLength(v));
    if (Array.isArray(v)) return BigInt(v.length);
    if (v && typeof v === 'object' && !(v instanceof Date)) return BigInt(Object.keys(v).length);
    throw new Error(`len of type ${goTypeName(v)}`);
  },
  index: (v, ...keys) => {
    let cur = v;
    for (const k of keys) {
      if (Array.isArray(cur)) {
        const i = Number(k);
        if (i < 0 || i >= cur.length) throw new Error(`index out of range: ${i}`);
        cur = cur[i];
      } else if (typeof cur === 'string') {
        cur = BigInt(Buffer.from(cur)[Number(k)] ?? 0);
      } else if (cur && typeof cur === 'object' && !(cur instanceof Date)) {
        const rec = cur as Record<string, GoValue>;
        cur = Object.prototype.hasOwnProperty.call(rec, String(k)) ? rec[String(k)] : '';
      } else {
        throw new Error(`can't index item of type ${goTypeName(cur)}`);
      }
    }
    return cur;
  },
  slice: (v, ...idx) => {
    const n = idx.map(Number);
    if (typeof v === 'string') return v.slice(n[0] ?? 0, n[1]);
    if (Array.isArray(v)) return v.slice(n[0] ?? 0, n[1]);
    throw new Error(`can't slice item of type ${goTypeName(v)}`);
  },
  print: (...args) => goSprint(args),
  println: (...args) => `${args.map(printValue).join(' ')}\n`,
  printf: (format, ...args) => goSprintf(String(format ?? ''), args),
  eq: (a, ...bs) => {
    if (bs.length === 0) throw new Error('missing argument for comparison');
    return bs.some((b) => compareValues(a, b, 'eq') === 0);
  },
  ne: (a, b) => compareValues(a, b, 'eq') !== 0,
  lt: (a, b) => compareValues(a, b, 'lt') < 0,
  le: (a, b) => compareValues(a, b, 'le') <= 0,
  gt: (a, b) => compareValues(a, b, 'gt') > 0,
  ge: (a, b) => compareValues(a, b, 'ge') >= 0,
  html: (...args) =>
    goSprint(args)
      .replace(/&/g, '&amp;')
      .replace(/</g, '&lt;')
      .replace(/>/g, '&gt;')
      .replace(/"/g, '&#34;')
      .replace(/'/g, '&#39;'),
  js: (...args) => JSON.stringify(goSprint(args)).slice(1, -1).replace(/'/g, "\\'"),
  urlquery: (...args) => encodeURIComponent(goSprint(args)).replace(/%20/g, '+'),
};

