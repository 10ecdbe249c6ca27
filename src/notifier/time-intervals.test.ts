// Alertmanager's time-interval semantics (its `timeinterval` package), case by case: half-open times of day,
// inclusive weekday/day/month/year ranges, negative days from the month's end, week wrap-around, time zones; and
// the validation messages of Alertmanager's loader. test/e2e/alertmanager-compat.test.ts compares the routes'
// mutes with a real Alertmanager.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseAlertmanagerConfig } from './am-config.ts';
import { intervalContains, parseTimeInterval, routeTimeMutes } from './time-intervals.ts';

const at = (iso: string): number => Date.parse(iso);
const contains = (spec: Record<string, unknown>, iso: string): boolean => intervalContains(parseTimeInterval(spec), at(iso));

test('times of day are half-open [start, end) and every given field must match', () => {
  const business = { weekdays: ['monday:friday'], times: [{ start_time: '09:00', end_time: '17:00' }] };
  assert.equal(contains(business, '2026-12-07T09:00:00Z'), true); // a Monday, at the start
  assert.equal(contains(business, '2026-12-07T16:59:59Z'), true);
  assert.equal(contains(business, '2026-12-07T17:00:00Z'), false); // the end is excluded
  assert.equal(contains(business, '2026-12-06T12:00:00Z'), false); // a Sunday
  assert.equal(contains({ times: [{ start_time: '00:00', end_time: '24:00' }] }, '2026-12-06T23:59:00Z'), true);
  // An interval without fields contains every instant.
  assert.equal(contains({}, '1970-01-01T00:00:00Z'), true);
});

test('weekday ranges wrap around the end of the week; names are case-insensitive', () => {
  const weekend = { weekdays: ['Friday:Monday'] };
  for (const [iso, want] of [['2026-12-04T12:00:00Z', true], ['2026-12-06T12:00:00Z', true], ['2026-12-07T12:00:00Z', true], ['2026-12-08T12:00:00Z', false]] as const) {
    assert.equal(contains(weekend, iso), want, iso);
  }
});

test('days of the month: negative days count from the end, ranges are clamped to the month', () => {
  assert.equal(contains({ days_of_month: ['-1'] }, '2027-02-28T10:00:00Z'), true); // last day of a 28-day February
  assert.equal(contains({ days_of_month: ['-1'] }, '2028-02-28T10:00:00Z'), false); // 2028 is a leap year
  assert.equal(contains({ days_of_month: ['-3:-1'] }, '2026-12-29T10:00:00Z'), true);
  assert.equal(contains({ days_of_month: ['-3:-1'] }, '2026-12-28T10:00:00Z'), false);
  assert.equal(contains({ days_of_month: ['1:31'] }, '2027-02-28T10:00:00Z'), true);
  // A range that starts after the month's last day holds nothing of that month.
  assert.equal(contains({ days_of_month: ['30:31'] }, '2027-02-28T10:00:00Z'), false);
});

test('months by name or number, years, and the interval read in its own time zone', () => {
  assert.equal(contains({ months: ['december', '1:2'] }, '2026-12-04T10:00:00Z'), true);
  assert.equal(contains({ months: ['march:november'] }, '2026-12-04T10:00:00Z'), false);
  assert.equal(contains({ years: ['2025:2027'] }, '2026-12-04T10:00:00Z'), true);
  assert.equal(contains({ years: ['1999'] }, '2026-12-04T10:00:00Z'), false);
  // 23:30 UTC on Friday 4 December is 08:30 on Saturday in Tokyo.
  const tokyoMorning = { location: 'Asia/Tokyo', weekdays: ['saturday'], times: [{ start_time: '08:00', end_time: '09:00' }] };
  assert.equal(contains(tokyoMorning, '2026-12-04T23:30:00Z'), true);
  assert.equal(contains({ ...tokyoMorning, location: 'UTC' }, '2026-12-04T23:30:00Z'), false);
  // New Year in Amsterdam (UTC+1 in winter) comes an hour before it does in UTC.
  assert.equal(contains({ location: 'Europe/Amsterdam', years: ['2027'], months: ['january'], days_of_month: ['1'] }, '2026-12-31T23:30:00Z'), true);
});

test('invalid intervals are refused with Alertmanager messages', () => {
  const refused: [Record<string, unknown>, RegExp][] = [
    [{ times: [{ start_time: '17:00', end_time: '09:00' }] }, /start time cannot be equal or greater than end time/],
    [{ times: [{ start_time: '9:00', end_time: '17:00' }] }, /couldn't parse timestamp 9:00, invalid format/],
    [{ times: [{ start_time: '09:00' }] }, /both start and end times must be provided/],
    [{ weekdays: ['funday'] }, /funday is not a valid weekday/],
    [{ days_of_month: ['0'] }, /0 is not a valid day of the month: out of range/],
    [{ days_of_month: ['-3:5'] }, /end day must be negative if start day is negative/],
    [{ days_of_month: ['10:2'] }, /end day 2 is always before start day 10/],
    [{ months: ['13'] }, /13 is not a valid month: out of range/],
    [{ months: ['may:march'] }, /end month march is before start month may/],
    [{ years: ['2030:2020'] }, /end year 2020 is before start year 2030/],
    [{ location: 'Mars/Olympus' }, /unknown time zone Mars\/Olympus/],
    [{ hours: ['1'] }, /field hours not found/],
  ];
  for (const [spec, message] of refused) assert.throws(() => parseTimeInterval(spec), message, JSON.stringify(spec));
});

test('routes name intervals of either section; unknown names, duplicates and intervals on the root are refused', () => {
  const cfg = (extra: string, route = ''): string => `
route:
  receiver: r
${route}
receivers: [{ name: r }]
${extra}`;
  const parsed = parseAlertmanagerConfig(
    cfg(
      `time_intervals: [{ name: always, time_intervals: [{}] }]\nmute_time_intervals: [{ name: never, time_intervals: [{ years: ['1999'] }] }]`,
      `  routes:\n    - receiver: r\n      mute_time_intervals: [always]\n      active_time_intervals: [never]\n      routes: [{ receiver: r }]`,
    ),
  );
  const child = parsed.route.routes[0]!;
  assert.deepEqual(routeTimeMutes(child, parsed.timeIntervals, Date.now()), { inactive: ['never'], muting: ['always'] });
  // Child routes do not inherit their parent's intervals (Alertmanager's route options).
  assert.deepEqual(routeTimeMutes(child.routes[0]!, parsed.timeIntervals, Date.now()), { inactive: [], muting: [] });
  assert.throws(() => parseAlertmanagerConfig(cfg('', '  routes: [{ receiver: r, mute_time_intervals: [lunch] }]')), /undefined time interval "lunch" used in route/);
  assert.throws(() => parseAlertmanagerConfig(cfg('', '  mute_time_intervals: [x]')), /root route must not have any mute time intervals/);
  assert.throws(
    () => parseAlertmanagerConfig(cfg('time_intervals: [{ name: a, time_intervals: [] }]\nmute_time_intervals: [{ name: a, time_intervals: [] }]')),
    /time interval "a" is not unique/,
  );
  assert.throws(() => parseAlertmanagerConfig(cfg("time_intervals: [{ name: a, time_intervals: [{ weekdays: ['x'] }] }]")), /time_intervals\[0\]\.time_intervals\[0\]: x is not a valid weekday/);
});
