import { z } from 'zod';

const SIZE_UNITS: Record<string, number> = {
  '': 1, b: 1, kb: 1e3, mb: 1e6, gb: 1e9, tb: 1e12, kib: 1024, mib: 1024 ** 2, gib: 1024 ** 3, tib: 1024 ** 4,
};
const DURATION_UNITS: Record<string, number> = {
  ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000, y: 31_536_000_000,
};

/** Parses `10MiB`, `512kb`, `1GB` or a plain byte count. Returns undefined when it is not a size. */
export function parseBytes(text: string): number | undefined {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$/.exec(text);
  if (!m) return undefined;
  const unit = SIZE_UNITS[m[2]!.toLowerCase()];
  return unit === undefined ? undefined : Math.round(Number(m[1]) * unit);
}

/** Parses a Prometheus-style duration (`15d`, `1h30m`, `500ms`) into milliseconds. */
export function parseDurationMs(text: string): number | undefined {
  if (!/^(\d+(ms|s|m|h|d|w|y))+$/.test(text)) return undefined;
  let total = 0;
  for (const m of text.matchAll(/(\d+)(ms|s|m|h|d|w|y)/g)) total += Number(m[1]) * DURATION_UNITS[m[2]!]!;
  return total;
}

/** A zod schema for a byte size written as a number or a string with a unit. */
export const bytesSchema = z.union([z.number().int().nonnegative(), z.string()]).transform((v, ctx) => {
  if (typeof v === 'number') return v;
  const n = parseBytes(v);
  if (n === undefined) {
    ctx.addIssue({ code: 'custom', message: `invalid size "${v}": expected a number of bytes or e.g. 512KiB, 10MB, 1GiB` });
    return z.NEVER;
  }
  return n;
});

/** A zod schema for a duration written as `15d`, `1h`, `30s` (Prometheus units); yields milliseconds. */
export const durationSchema = z.union([z.number().int().nonnegative(), z.string()]).transform((v, ctx) => {
  if (typeof v === 'number') return v * 1000;
  const n = parseDurationMs(v);
  if (n === undefined) {
    ctx.addIssue({ code: 'custom', message: `invalid duration "${v}": expected e.g. 30s, 5m, 2h, 15d (or seconds as a number)` });
    return z.NEVER;
  }
  return n;
});

/** A `host:port` listen address. */
export const addressSchema = z.string().regex(/^(\[[0-9a-fA-F:]+\]|[^:\s]+):\d{1,5}$/, 'expected HOST:PORT, e.g. 127.0.0.1:3000');
