/**
 * Alertmanager's time intervals (`time_intervals`, and the deprecated `mute_time_intervals` section): named sets
 * of periods a route is muted in (`mute_time_intervals`) or only active in (`active_time_intervals`). The
 * semantics are Alertmanager's (its `timeinterval` package): every field given must match, a field left out
 * matches always; `times` are half-open `[start, end)` minutes of the day; weekdays and days of the month are
 * inclusive ranges, negative days count from the month's end and are clamped to it; a weekday range whose begin
 * is after its end wraps around the week; all fields are read in `location` (an IANA zone, `Local`, default UTC).
 */

/** An inclusive range of integers (`monday:friday` is 1..5, `-3:-1` the last three days of a month). */
export interface InclusiveRange {
  readonly begin: number;
  readonly end: number;
}

/** One period of a named time interval; an absent field does not restrict. */
export interface TimeInterval {
  /** Half-open ranges of minutes since midnight. */
  readonly times?: readonly { readonly startMinute: number; readonly endMinute: number }[];
  /** 0 = Sunday … 6 = Saturday. */
  readonly weekdays?: readonly InclusiveRange[];
  readonly daysOfMonth?: readonly InclusiveRange[];
  /** 1 = January … 12 = December. */
  readonly months?: readonly InclusiveRange[];
  readonly years?: readonly InclusiveRange[];
  /** IANA time zone the fields are read in; undefined = UTC, `Local` = the machine's zone. */
  readonly location?: string;
}

/** A time interval that does not parse; the message says which value and why (Alertmanager's wording). */
export class TimeIntervalError extends Error {}

const WEEKDAYS: Readonly<Record<string, number>> = { sunday: 0, monday: 1, tuesday: 2, wednesday: 3, thursday: 4, friday: 5, saturday: 6 };
const MONTHS: Readonly<Record<string, number>> = {
  january: 1, february: 2, march: 3, april: 4, may: 5, june: 6, july: 7, august: 8, september: 9, october: 10, november: 11, december: 12,
};
const MONTH_NAMES = Object.keys(MONTHS);
const VALID_TIME = /^((([01][0-9])|(2[0-3])):[0-5][0-9])$|(^24:00$)/;

type Obj = Record<string, unknown>;

/** Parses one entry of a named interval's `time_intervals` list. Throws {@link TimeIntervalError}. */
export function parseTimeInterval(v: unknown): TimeInterval {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new TimeIntervalError('expected a mapping');
  const o = v as Obj;
  for (const k of Object.keys(o)) {
    if (!['times', 'weekdays', 'days_of_month', 'months', 'years', 'location'].includes(k)) throw new TimeIntervalError(`field ${k} not found in type timeinterval.TimeInterval`);
  }
  const out: { -readonly [K in keyof TimeInterval]: TimeInterval[K] } = {};
  if (o['times'] != null) out.times = list(o['times'], 'times').map(parseTimeRange);
  if (o['weekdays'] != null) out.weekdays = list(o['weekdays'], 'weekdays').map(parseWeekdays);
  if (o['days_of_month'] != null) out.daysOfMonth = list(o['days_of_month'], 'days_of_month').map(parseDaysOfMonth);
  if (o['months'] != null) out.months = list(o['months'], 'months').map(parseMonths);
  if (o['years'] != null) out.years = list(o['years'], 'years').map(parseYears);
  if (o['location'] != null) {
    const loc = String(o['location']);
    if (loc !== 'Local' && loc !== 'UTC') {
      try {
        formatterFor(loc);
      } catch {
        throw new TimeIntervalError(`unknown time zone ${loc}`);
      }
    }
    if (loc !== 'UTC') out.location = loc;
  }
  return out;
}

/** Whether `interval` contains the instant `ms` (Alertmanager's `TimeInterval.ContainsTime`). */
export function intervalContains(interval: TimeInterval, ms: number): boolean {
  const t = calendarAt(ms, interval.location);
  if (interval.times && !interval.times.some((r) => t.minuteOfDay >= r.startMinute && t.minuteOfDay < r.endMinute)) return false;
  if (interval.daysOfMonth) {
    const days = t.daysInMonth;
    const hit = interval.daysOfMonth.some((r) => {
      let begin = r.begin < 0 ? days + r.begin + 1 : r.begin;
      let end = r.end < 0 ? days + r.end + 1 : r.end;
      // A range starting after this month's last day cannot hold a day of it; the rest is clamped to the month.
      if (begin > days) return false;
      begin = clamp(begin, -days, days);
      end = clamp(end, -days, days);
      return t.day >= begin && t.day <= end;
    });
    if (!hit) return false;
  }
  if (interval.months && !interval.months.some((r) => t.month >= r.begin && t.month <= r.end)) return false;
  if (interval.weekdays) {
    const hit = interval.weekdays.some((r) => (r.begin <= r.end ? t.weekday >= r.begin && t.weekday <= r.end : t.weekday >= r.begin || t.weekday <= r.end));
    if (!hit) return false;
  }
  if (interval.years && !interval.years.some((r) => t.year >= r.begin && t.year <= r.end)) return false;
  return true;
}

/** The names among `names` whose intervals contain `ms` (unknown names are refused when the config loads). */
export function intervalsContaining(names: readonly string[], intervals: ReadonlyMap<string, readonly TimeInterval[]>, ms: number): string[] {
  return names.filter((name) => (intervals.get(name) ?? []).some((i) => intervalContains(i, ms)));
}

/**
 * Why a route's notifications are held back at `ms` (Alertmanager's `MutedByTimeIntervals`): `inactive` lists
 * the route's `active_time_intervals` when none of them contains `ms`, `muting` the `mute_time_intervals` that
 * contain it. The route notifies only when both are empty.
 */
export function routeTimeMutes(
  route: { readonly activeTimeIntervals: readonly string[]; readonly muteTimeIntervals: readonly string[] },
  intervals: ReadonlyMap<string, readonly TimeInterval[]>,
  ms: number,
): { inactive: readonly string[]; muting: readonly string[] } {
  const inactive = route.activeTimeIntervals.length > 0 && intervalsContaining(route.activeTimeIntervals, intervals, ms).length === 0 ? route.activeTimeIntervals : [];
  return { inactive, muting: intervalsContaining(route.muteTimeIntervals, intervals, ms) };
}

interface Calendar {
  readonly year: number;
  readonly month: number;
  readonly day: number;
  readonly weekday: number;
  readonly minuteOfDay: number;
  readonly daysInMonth: number;
}

const formatters = new Map<string, Intl.DateTimeFormat>();
function formatterFor(zone: string | undefined): Intl.DateTimeFormat {
  const key = zone ?? '';
  let f = formatters.get(key);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      ...(zone !== undefined ? { timeZone: zone } : {}),
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      weekday: 'long',
    });
    formatters.set(key, f);
  }
  return f;
}

/** The wall-clock fields of `ms` in `location` (undefined = UTC, `Local` = the machine's zone). */
function calendarAt(ms: number, location: string | undefined): Calendar {
  if (location === undefined) {
    const d = new Date(ms);
    const year = d.getUTCFullYear();
    const month = d.getUTCMonth() + 1;
    return { year, month, day: d.getUTCDate(), weekday: d.getUTCDay(), minuteOfDay: d.getUTCHours() * 60 + d.getUTCMinutes(), daysInMonth: daysIn(year, month) };
  }
  const parts: Record<string, string> = {};
  for (const p of formatterFor(location === 'Local' ? undefined : location).formatToParts(ms)) parts[p.type] = p.value;
  const year = Number(parts['year']);
  const month = Number(parts['month']);
  return {
    year,
    month,
    day: Number(parts['day']),
    weekday: WEEKDAYS[String(parts['weekday']).toLowerCase()] ?? 0,
    minuteOfDay: Number(parts['hour']) * 60 + Number(parts['minute']),
    daysInMonth: daysIn(year, month),
  };
}

function daysIn(year: number, month: number): number {
  return new Date(Date.UTC(year, month, 0)).getUTCDate();
}

function clamp(n: number, min: number, max: number): number {
  return n <= min ? min : n >= max ? max : n;
}

function list(v: unknown, field: string): unknown[] {
  if (!Array.isArray(v)) throw new TimeIntervalError(`${field}: expected a list`);
  return v;
}

function parseTimeRange(v: unknown): { startMinute: number; endMinute: number } {
  if (v === null || typeof v !== 'object') throw new TimeIntervalError('times: expected start_time and end_time');
  const o = v as Obj;
  if (o['start_time'] == null || o['end_time'] == null) throw new TimeIntervalError('both start and end times must be provided');
  const startMinute = minutes(String(o['start_time']));
  const endMinute = minutes(String(o['end_time']));
  if (startMinute >= endMinute) throw new TimeIntervalError('start time cannot be equal or greater than end time');
  return { startMinute, endMinute };
}

function minutes(s: string): number {
  if (!VALID_TIME.test(s)) throw new TimeIntervalError(`couldn't parse timestamp ${s}, invalid format`);
  const [h, m] = s.split(':');
  return Number(h) * 60 + Number(m);
}

/** `a:b` or `a` into a range, each side read by `member` (Alertmanager lower-cases the text first). */
function range(v: unknown, member: (s: string) => number): InclusiveRange {
  const s = String(v).toLowerCase();
  if (!s.includes(':')) {
    const n = member(s);
    return { begin: n, end: n };
  }
  const parts = s.split(':');
  if (parts.length !== 2) throw new TimeIntervalError(`couldn't parse range ${s}, invalid format`);
  return { begin: member(parts[0]!), end: member(parts[1]!) };
}

function integer(s: string): number {
  if (!/^[+-]?\d+$/.test(s)) throw new TimeIntervalError(`strconv.Atoi: parsing ${JSON.stringify(s)}: invalid syntax`);
  return Number(s);
}

function parseWeekdays(v: unknown): InclusiveRange {
  return range(v, (s) => {
    const n = WEEKDAYS[s];
    if (n === undefined) throw new TimeIntervalError(`${s} is not a valid weekday`);
    return n;
  });
}

function parseDaysOfMonth(v: unknown): InclusiveRange {
  const r = range(v, integer);
  for (const n of [r.begin, r.end]) if (n === 0 || n < -31 || n > 31) throw new TimeIntervalError(`${n} is not a valid day of the month: out of range`);
  if (r.begin < 0 && r.end > 0) throw new TimeIntervalError('end day must be negative if start day is negative');
  // Negative days cannot be compared exactly without a month; a 28-day month rules out the always-empty ranges.
  if ((r.begin < 0 ? 28 + r.begin : r.begin) > (r.end < 0 ? 28 + r.end : r.end)) throw new TimeIntervalError(`end day ${r.end} is always before start day ${r.begin}`);
  return r;
}

function parseMonths(v: unknown): InclusiveRange {
  const r = range(v, (s) => {
    const n = MONTHS[s];
    if (n !== undefined) return n;
    if (!/^[+-]?\d+$/.test(s)) throw new TimeIntervalError(`${s} is not a valid month`);
    return Number(s);
  });
  for (const n of [r.begin, r.end]) if (n < 1 || n > 12) throw new TimeIntervalError(`${n} is not a valid month: out of range`);
  if (r.begin > r.end) throw new TimeIntervalError(`end month ${MONTH_NAMES[r.end - 1]} is before start month ${MONTH_NAMES[r.begin - 1]}`);
  return r;
}

function parseYears(v: unknown): InclusiveRange {
  const r = range(v, integer);
  if (r.begin > r.end) throw new TimeIntervalError(`end year ${r.end} is before start year ${r.begin}`);
  return r;
}
