/**
 * Time ranges as Grafana writes them in URLs: `now`, `now-1h`, `now-7d`, or an absolute time in epoch
 * milliseconds. Kept as text in the URL so a link reproduces a relative view ("the last hour") rather than
 * the hour it was copied in.
 */
export interface RawTimeRange {
  readonly from: string;
  readonly to: string;
}

const UNIT_MS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000, y: 31_536_000_000 };

/** Epoch milliseconds of `text` at `nowMs`; undefined when it is neither `now[-N unit]` nor a number. */
export function resolveTime(text: string, nowMs: number): number | undefined {
  const t = text.trim();
  if (t === 'now') return nowMs;
  const rel = /^now-(\d+)([smhdwy])$/.exec(t);
  if (rel) return nowMs - Number(rel[1]) * UNIT_MS[rel[2]!]!;
  if (/^\d{10,}$/.test(t)) return Number(t);
  return undefined;
}

/** The range as epoch milliseconds, or an error naming the bad end. */
export function resolveRange(range: RawTimeRange, nowMs: number): { fromMs: number; toMs: number } | { error: string } {
  const fromMs = resolveTime(range.from, nowMs);
  const toMs = resolveTime(range.to, nowMs);
  if (fromMs === undefined) return { error: `invalid start "${range.from}": use now, now-1h or epoch milliseconds` };
  if (toMs === undefined) return { error: `invalid end "${range.to}": use now, now-1h or epoch milliseconds` };
  if (fromMs >= toMs) return { error: 'the start must be before the end' };
  return { fromMs, toMs };
}

/** The quick ranges of the picker. */
export const QUICK_RANGES: readonly { label: string; from: string }[] = [
  { label: 'Last 5 minutes', from: 'now-5m' },
  { label: 'Last 15 minutes', from: 'now-15m' },
  { label: 'Last 30 minutes', from: 'now-30m' },
  { label: 'Last 1 hour', from: 'now-1h' },
  { label: 'Last 3 hours', from: 'now-3h' },
  { label: 'Last 6 hours', from: 'now-6h' },
  { label: 'Last 24 hours', from: 'now-24h' },
  { label: 'Last 7 days', from: 'now-7d' },
];

const NICE_STEPS_S = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 21600, 43200, 86400];

/**
 * The step for a range drawn `widthPx` wide: about one point per 2 pixels (Grafana's max data points), rounded
 * up to a step people read easily, never under 1 s. Keeps query_range under its 11,000-point limit.
 */
export function autoStepS(fromMs: number, toMs: number, widthPx: number): number {
  const raw = (toMs - fromMs) / 1000 / Math.max(100, Math.floor(widthPx / 2));
  return NICE_STEPS_S.find((s) => s >= raw) ?? Math.ceil(raw);
}

/** A duration like `15s`, `5m`, `2h` as seconds; undefined when it is not one. Bare numbers are seconds. */
export function parseDurationS(text: string): number | undefined {
  const t = text.trim();
  if (/^\d+(\.\d+)?$/.test(t)) return Number(t);
  const m = /^(\d+)([smhdwy])$/.exec(t);
  return m ? (Number(m[1]) * UNIT_MS[m[2]!]!) / 1000 : undefined;
}

/** A short label for a range: the quick range's name, or both ends as local times. */
export function describeRange(range: RawTimeRange, nowMs: number): string {
  const quick = QUICK_RANGES.find((q) => q.from === range.from && range.to === 'now');
  if (quick) return quick.label;
  if (range.to === 'now' && /^now-\d+[smhdwy]$/.test(range.from)) return `Last ${range.from.slice(4)}`;
  const r = resolveRange(range, nowMs);
  if ('error' in r) return `${range.from} to ${range.to}`;
  return `${formatLocal(r.fromMs)} to ${formatLocal(r.toMs)}`;
}

/** `YYYY-MM-DD HH:mm:ss` in local time. */
export function formatLocal(ms: number): string {
  const d = new Date(ms);
  const p = (n: number): string => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}
