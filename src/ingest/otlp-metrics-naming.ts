/**
 * OTLP → Prometheus name translation, as Prometheus' OTLP receiver does it with its default settings
 * (translation strategy `UnderscoreEscapingWithSuffixes`, label-name underscore sanitisation on, multiple
 * underscores in label names preserved). The rules follow the OpenTelemetry "Prometheus and OpenMetrics
 * compatibility" specification and prometheus/otlptranslator.
 */

/** The OTLP metric kinds the namer distinguishes. */
export type OtlpMetricKind =
  | 'gauge'
  | 'monotonic_counter'
  | 'non_monotonic_counter'
  | 'histogram'
  | 'exponential_histogram'
  | 'summary';

/** UCUM units → Prometheus base-unit words. A unit missing here is used as written (cleaned up). */
const UNIT_WORDS: Readonly<Record<string, string>> = {
  d: 'days',
  h: 'hours',
  min: 'minutes',
  s: 'seconds',
  ms: 'milliseconds',
  us: 'microseconds',
  ns: 'nanoseconds',
  By: 'bytes',
  KiBy: 'kibibytes',
  MiBy: 'mebibytes',
  GiBy: 'gibibytes',
  TiBy: 'tibibytes',
  KBy: 'kilobytes',
  MBy: 'megabytes',
  GBy: 'gigabytes',
  TBy: 'terabytes',
  m: 'meters',
  V: 'volts',
  A: 'amperes',
  J: 'joules',
  W: 'watts',
  g: 'grams',
  Cel: 'celsius',
  Hz: 'hertz',
  '1': '',
  '%': 'percent',
};

/** The denominator of `x/y` units, singular. */
const PER_UNIT_WORDS: Readonly<Record<string, string>> = {
  s: 'second',
  m: 'minute',
  h: 'hour',
  d: 'day',
  w: 'week',
  mo: 'month',
  y: 'year',
};

function isMetricNameChar(c: number): boolean {
  return (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a) || (c >= 0x30 && c <= 0x39) || c === 0x3a;
}

function isLabelNameChar(c: number): boolean {
  return (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a) || (c >= 0x30 && c <= 0x39);
}

function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}

/** Splits `s` into runs of characters accepted by `keep` (Go's strings.FieldsFunc over runes). */
function fields(s: string, keep: (c: number) => boolean): string[] {
  const out: string[] = [];
  let start = -1;
  for (let i = 0; i < s.length; i++) {
    if (keep(s.charCodeAt(i))) {
      if (start < 0) start = i;
    } else if (start >= 0) {
      out.push(s.slice(start, i));
      start = -1;
    }
  }
  if (start >= 0) out.push(s.slice(start));
  return out;
}

/** Replaces every rune `keep` refuses with `_` (a surrogate pair counts as one rune). */
function mapRunes(s: string, keep: (c: number) => boolean): string {
  let out = '';
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (keep(c)) {
      out += s[i];
    } else {
      out += '_';
      if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) i++;
    }
  }
  return out;
}

function cleanUpUnit(unit: string): string {
  return mapRunes(unit, isMetricNameChar).replace(/__+/g, '_').replace(/^_/, '');
}

/** Splits an OTLP unit into its Prometheus main-unit and `per_<unit>` words ('' when absent or annotated `{...}`). */
function unitSuffixes(unit: string): { main: string; per: string } {
  const slash = unit.indexOf('/');
  const mainPart = (slash < 0 ? unit : unit.slice(0, slash)).trim();
  const perPart = slash < 0 ? '' : unit.slice(slash + 1);
  let main = '';
  let per = '';
  if (mainPart !== '' && !/[{}]/.test(mainPart)) main = UNIT_WORDS[mainPart] ?? mainPart;
  if (perPart !== '') {
    const p = perPart.trim();
    if (p !== '' && !/[{}]/.test(p)) per = PER_UNIT_WORDS[p] ?? p;
    if (per !== '') per = `per_${per}`;
  }
  return { main, per };
}

/**
 * Builds the Prometheus metric name for an OTLP metric: name split into tokens of `[a-zA-Z0-9:]`, the unit
 * (and `per_` unit) appended unless already present, `_total` for monotonic sums, `_ratio` for gauges of
 * unit `1`, a leading `_` if it would start with a digit. Histogram and summary series names get their
 * `_bucket`/`_sum`/`_count` suffixes from the caller. Returns undefined when nothing valid remains.
 */
export function buildMetricName(name: string, unit: string, kind: OtlpMetricKind): string | undefined {
  let tokens = fields(name, isMetricNameChar);
  const { main, per } = unitSuffixes(unit);
  let mainWord = cleanUpUnit(main);
  let perWord = cleanUpUnit(per);
  if (tokens.includes(mainWord)) mainWord = '';
  if (perWord === 'per_') {
    perWord = '';
  } else {
    perWord = perWord.replace(/_$/, '');
    if (tokens.includes(perWord)) perWord = '';
  }
  if (perWord !== '') mainWord = mainWord.replace(/_$/, '');
  if (mainWord !== '') tokens.push(mainWord);
  if (perWord !== '') tokens.push(perWord);
  if (kind === 'monotonic_counter') {
    tokens = tokens.filter((t) => t !== 'total');
    tokens.push('total');
  }
  if (unit === '1' && kind === 'gauge') {
    tokens = tokens.filter((t) => t !== 'ratio');
    tokens.push('ratio');
  }
  let out = tokens.join('_');
  if (out !== '' && isDigit(out.charCodeAt(0))) out = `_${out}`;
  if (out === '' || /^_+$/.test(out)) return undefined;
  return out;
}

/**
 * Translates an OTLP attribute key to a Prometheus label name: every rune outside `[a-zA-Z0-9]` becomes
 * `_`, a leading digit gets `key_`, a single leading underscore gets `key` (names starting `__` are kept).
 * Returns undefined for an empty key or one that is only underscores.
 */
export function buildLabelName(key: string): string | undefined {
  if (key === '') return undefined;
  let out = mapRunes(key, isLabelNameChar);
  if (isDigit(out.charCodeAt(0))) out = `key_${out}`;
  else if (out.startsWith('_') && !out.startsWith('__')) out = `key${out}`;
  if (/^_+$/.test(out)) return undefined;
  return out;
}
