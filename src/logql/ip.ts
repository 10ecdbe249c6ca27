/**
 * LogQL's `ip("...")` matcher: a single address, a range `a-b`, or a CIDR, IPv4 or IPv6. As in Loki, a
 * line or label value matches when any address found inside it (not only the whole value) is in range.
 */
export interface IpMatcher {
  /** Whether `text` contains an address within the pattern's range. */
  contains(text: string): boolean;
}

interface Range {
  v6: boolean;
  lo: bigint;
  hi: bigint;
}

/** Compiles an `ip()` pattern. Throws `ip: invalid pattern` errors as Loki words them. */
export function compileIpMatcher(pattern: string): IpMatcher {
  const range = parsePattern(pattern.trim());
  if (!range) throw new Error(`ip: invalid pattern: "${pattern}"`);
  return {
    contains(text: string): boolean {
      for (const addr of findAddresses(text)) {
        if (addr.v6 !== range.v6) continue;
        if (addr.value >= range.lo && addr.value <= range.hi) return true;
      }
      return false;
    },
  };
}

function parsePattern(p: string): Range | undefined {
  if (p === '') return undefined;
  const slash = p.indexOf('/');
  if (slash >= 0) {
    const addr = parseIp(p.slice(0, slash));
    const bitsText = p.slice(slash + 1);
    if (!addr || !/^\d+$/.test(bitsText)) return undefined;
    const total = addr.v6 ? 128 : 32;
    const bits = Number(bitsText);
    if (bits > total) return undefined;
    const hostBits = BigInt(total - bits);
    const mask = (1n << hostBits) - 1n;
    const lo = addr.value & ~mask;
    return { v6: addr.v6, lo, hi: lo | mask };
  }
  const dash = p.indexOf('-');
  if (dash >= 0) {
    const a = parseIp(p.slice(0, dash).trim());
    const b = parseIp(p.slice(dash + 1).trim());
    if (!a || !b || a.v6 !== b.v6 || a.value > b.value) return undefined;
    return { v6: a.v6, lo: a.value, hi: b.value };
  }
  const a = parseIp(p);
  if (!a) return undefined;
  return { v6: a.v6, lo: a.value, hi: a.value };
}

interface Addr {
  v6: boolean;
  value: bigint;
}

function parseIpv4(s: string): bigint | undefined {
  const parts = s.split('.');
  if (parts.length !== 4) return undefined;
  let v = 0n;
  for (const p of parts) {
    if (!/^\d{1,3}$/.test(p) || (p.length > 1 && p[0] === '0')) return undefined;
    const n = Number(p);
    if (n > 255) return undefined;
    v = (v << 8n) | BigInt(n);
  }
  return v;
}

function parseIpv6(s: string): bigint | undefined {
  if (!s.includes(':')) return undefined;
  let tail4: bigint | undefined;
  let text = s;
  const lastColon = text.lastIndexOf(':');
  if (text.slice(lastColon + 1).includes('.')) {
    tail4 = parseIpv4(text.slice(lastColon + 1));
    if (tail4 === undefined) return undefined;
    text = `${text.slice(0, lastColon + 1)}0:0`;
  }
  const dbl = text.split('::');
  if (dbl.length > 2) return undefined;
  const [before = '', after] = dbl;
  const head = before === '' ? [] : before.split(':');
  const tail = after === undefined || after === '' ? [] : after.split(':');
  const groups = dbl.length === 2 ? [...head, ...Array(8 - head.length - tail.length).fill('0'), ...tail] : head;
  if (groups.length !== 8 || head.length + tail.length > (dbl.length === 2 ? 7 : 8)) return undefined;
  let v = 0n;
  for (const g of groups) {
    if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return undefined;
    v = (v << 16n) | BigInt(parseInt(g, 16));
  }
  if (tail4 !== undefined) v = (v & ~0xffffffffn) | tail4;
  return v;
}

function parseIp(s: string): Addr | undefined {
  const v4 = parseIpv4(s);
  if (v4 !== undefined) return { v6: false, value: v4 };
  const v6 = parseIpv6(s);
  if (v6 !== undefined) return { v6: true, value: v6 };
  return undefined;
}

const V4 = /\d{1,3}(?:\.\d{1,3}){3}/g;
const V6 = /(?:[0-9A-Fa-f]{0,4}:){2,7}(?:\d{1,3}(?:\.\d{1,3}){3}|[0-9A-Fa-f]{0,4})/g;

/** Every IPv4/IPv6 address that appears in `text`. */
function* findAddresses(text: string): Generator<Addr> {
  for (const re of [V4, V6]) {
    re.lastIndex = 0;
    let m: RegExpExecArray | null;
    while ((m = re.exec(text)) !== null) {
      if (m[0] === '') {
        re.lastIndex++;
        continue;
      }
      const a = parseIp(m[0]);
      if (a) yield a;
    }
  }
}
