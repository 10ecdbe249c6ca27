import type { FieldDefaults, Override, Threshold, ValueMapping } from './dashboard-model.ts';

/** Scales of a value with prefixes: the step between them and their suffixes. */
function scaled(v: number, step: number, suffixes: readonly string[], decimals: number | undefined): string {
  let i = 0;
  let x = Math.abs(v);
  while (x >= step && i < suffixes.length - 1) {
    x /= step;
    i++;
  }
  return `${fixed(Math.sign(v) * x, decimals)} ${suffixes[i]}`.trimEnd();
}

/** A number with `decimals` places, or Grafana's automatic precision (about three significant digits). */
function fixed(v: number, decimals: number | undefined): string {
  if (decimals !== undefined) return v.toFixed(Math.max(0, Math.min(20, decimals)));
  if (v === 0) return '0';
  const a = Math.abs(v);
  const d = a >= 100 ? 0 : a >= 10 ? 1 : a >= 1 ? 2 : Math.min(6, 2 - Math.floor(Math.log10(a)));
  return Number(v.toFixed(d)).toString();
}

const SI = ['', 'K', 'M', 'B', 'T'];
const IEC = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB', 'EiB'];
const DEC_BYTES = ['B', 'kB', 'MB', 'GB', 'TB', 'PB', 'EB'];

/** A duration in seconds as Grafana's `s` unit prints it (ms below a second, then s, min, hour, day, week, year). */
function seconds(v: number, decimals: number | undefined): string {
  const a = Math.abs(v);
  if (a === 0) return '0 s';
  if (a < 1e-6) return `${fixed(v * 1e9, decimals)} ns`;
  if (a < 1e-3) return `${fixed(v * 1e6, decimals)} µs`;
  if (a < 1) return `${fixed(v * 1e3, decimals)} ms`;
  if (a < 60) return `${fixed(v, decimals)} s`;
  if (a < 3600) return `${fixed(v / 60, decimals)} min`;
  if (a < 86400) return `${fixed(v / 3600, decimals)} hour`;
  if (a < 604800) return `${fixed(v / 86400, decimals)} day`;
  if (a < 31536000) return `${fixed(v / 604800, decimals)} week`;
  return `${fixed(v / 31536000, decimals)} year`;
}

/** `dtdurations`: the two largest parts of a duration (`3 days, 4 hours`). */
function dtduration(v: number): string {
  const parts: [number, string][] = [[31536000, 'year'], [86400, 'day'], [3600, 'hour'], [60, 'minute'], [1, 'second']];
  const out: string[] = [];
  let rest = Math.floor(Math.abs(v));
  for (const [s, name] of parts) {
    const n = Math.floor(rest / s);
    if (n > 0 && out.length < 2) out.push(`${n} ${name}${n === 1 ? '' : 's'}`);
    rest -= n * s;
  }
  return out.length ? out.join(', ') : '0 seconds';
}

/**
 * A value in Grafana's unit `unit` (the common ids: none, short, percent, percentunit, bytes/decbytes/bits and
 * their k/m/g forms, Bps/bps/binBps, s/ms/µs/ns/m/h/d, dtdurations, reqps/ops/rps/wps/iops/cps, hertz,
 * celsius, dateTimeAsIso, locale, and `suffix:`/`prefix:` custom units), with `decimals` places.
 */
export function formatUnit(v: number | null | undefined, unit: string | undefined, decimals?: number): string {
  if (v === null || v === undefined || Number.isNaN(v)) return 'No data';
  if (!Number.isFinite(v)) return v > 0 ? '+Inf' : '-Inf';
  const u = unit ?? 'short';
  if (u.startsWith('suffix:')) return `${fixed(v, decimals)}${u.slice(7)}`;
  if (u.startsWith('prefix:')) return `${u.slice(7)}${fixed(v, decimals)}`;
  switch (u) {
    case 'none':
      return fixed(v, decimals);
    case 'short':
    case '':
      return scaled(v, 1000, SI, decimals).replace(/ (?=[KMBT]$)/, ' ');
    case 'percent':
      return `${fixed(v, decimals)}%`;
    case 'percentunit':
      return `${fixed(v * 100, decimals)}%`;
    case 'bytes':
      return scaled(v, 1024, IEC, decimals);
    case 'kbytes':
      return scaled(v * 1024, 1024, IEC, decimals);
    case 'mbytes':
      return scaled(v * 1024 ** 2, 1024, IEC, decimals);
    case 'gbytes':
      return scaled(v * 1024 ** 3, 1024, IEC, decimals);
    case 'decbytes':
      return scaled(v, 1000, DEC_BYTES, decimals);
    case 'deckbytes':
      return scaled(v * 1000, 1000, DEC_BYTES, decimals);
    case 'bits':
      return scaled(v, 1024, ['b', 'Kib', 'Mib', 'Gib', 'Tib'], decimals);
    case 'decbits':
      return scaled(v, 1000, ['b', 'kb', 'Mb', 'Gb', 'Tb'], decimals);
    case 'Bps':
    case 'decBps':
      return scaled(v, 1000, ['B/s', 'kB/s', 'MB/s', 'GB/s', 'TB/s'], decimals);
    case 'binBps':
      return scaled(v, 1024, ['B/s', 'KiB/s', 'MiB/s', 'GiB/s', 'TiB/s'], decimals);
    case 'bps':
      return scaled(v, 1000, ['b/s', 'kb/s', 'Mb/s', 'Gb/s', 'Tb/s'], decimals);
    case 'binbps':
      return scaled(v, 1024, ['b/s', 'Kib/s', 'Mib/s', 'Gib/s', 'Tib/s'], decimals);
    case 'pps':
      return scaled(v, 1000, ['p/s', 'Kp/s', 'Mp/s', 'Gp/s'], decimals);
    case 's':
      return seconds(v, decimals);
    case 'ms':
      return seconds(v / 1000, decimals);
    case 'µs':
    case 'us':
      return seconds(v / 1e6, decimals);
    case 'ns':
      return seconds(v / 1e9, decimals);
    case 'm':
      return seconds(v * 60, decimals);
    case 'h':
      return seconds(v * 3600, decimals);
    case 'd':
      return seconds(v * 86400, decimals);
    case 'dtdurations':
      return dtduration(v);
    case 'reqps':
      return `${scaled(v, 1000, SI, decimals)} req/s`.replace('  ', ' ');
    case 'ops':
    case 'opm':
      return `${scaled(v, 1000, SI, decimals)} ${u === 'ops' ? 'ops/s' : 'ops/min'}`.replace('  ', ' ');
    case 'rps':
      return `${scaled(v, 1000, SI, decimals)} rd/s`.replace('  ', ' ');
    case 'wps':
      return `${scaled(v, 1000, SI, decimals)} wr/s`.replace('  ', ' ');
    case 'iops':
      return `${scaled(v, 1000, SI, decimals)} io/s`.replace('  ', ' ');
    case 'cps':
      return `${scaled(v, 1000, SI, decimals)} c/s`.replace('  ', ' ');
    case 'hertz':
      return scaled(v, 1000, ['Hz', 'kHz', 'MHz', 'GHz', 'THz'], decimals);
    case 'celsius':
      return `${fixed(v, decimals)}°C`;
    case 'volt':
      return `${fixed(v, decimals)} V`;
    case 'watt':
      return scaled(v, 1000, ['W', 'kW', 'MW', 'GW'], decimals);
    case 'dateTimeAsIso':
    case 'dateTimeAsSystem':
      return new Date(v > 1e11 ? v : v * 1000).toISOString().replace('T', ' ').slice(0, 19);
    case 'dateTimeFromNow':
      return `${dtduration((Date.now() - (v > 1e11 ? v : v * 1000)) / 1000)} ago`;
    case 'locale':
      return v.toLocaleString(undefined, decimals !== undefined ? { maximumFractionDigits: decimals } : {});
    default:
      // An id we do not know: the number and the id, so the reader sees what was meant.
      return `${fixed(v, decimals)} ${u}`;
  }
}

/** Grafana's named colours (the common ones) as CSS colours. */
const NAMED: Record<string, string> = {
  green: '#73bf69', 'dark-green': '#37872d', 'semi-dark-green': '#56a64b', 'light-green': '#96d98d',
  red: '#f2495c', 'dark-red': '#c4162a', 'semi-dark-red': '#e02f44', 'light-red': '#ff7383',
  orange: '#ff9830', 'dark-orange': '#fa6400', 'light-orange': '#ffb357', 'semi-dark-orange': '#ff780a',
  yellow: '#fade2a', 'dark-yellow': '#e0b400', 'light-yellow': '#ffee52', 'semi-dark-yellow': '#f2cc0c',
  blue: '#5794f2', 'dark-blue': '#1f60c4', 'light-blue': '#8ab8ff', 'semi-dark-blue': '#3274d9',
  purple: '#b877d9', 'dark-purple': '#8f3bb8', 'light-purple': '#ca95e5', 'semi-dark-purple': '#a352cc',
  text: '#d8d9da', transparent: 'transparent',
};

export function cssColor(c: string | undefined): string | undefined {
  if (!c) return undefined;
  return NAMED[c] ?? c;
}

/** The colour of the highest threshold step at or below `v` (percentage thresholds against min/max). */
export function thresholdColor(v: number | null, field: FieldDefaults): string | undefined {
  const steps: Threshold[] = field.thresholds?.steps ?? [];
  if (steps.length === 0 || v === null) return undefined;
  let x = v;
  if (field.thresholds?.mode === 'percentage') {
    const min = field.min ?? 0;
    const max = field.max ?? 100;
    x = max === min ? 0 : ((v - min) / (max - min)) * 100;
  }
  let color = steps[0]!.color;
  for (const s of steps) if (s.value === null || x >= s.value) color = s.color;
  return cssColor(color);
}

/** The mapping that matches `v`, if any: value, range, regex and special (null, NaN, true/false, empty). */
export function mapValue(v: number | string | null, mappings: readonly ValueMapping[] | undefined): { text?: string; color?: string } | undefined {
  for (const m of mappings ?? []) {
    switch (m.type) {
      case 'value': {
        const hit = m.options[String(v)];
        if (hit) return hit;
        break;
      }
      case 'range': {
        const n = typeof v === 'number' ? v : Number(v);
        if (v !== null && !Number.isNaN(n) && (m.options.from === null || n >= m.options.from) && (m.options.to === null || n <= m.options.to)) return m.options.result;
        break;
      }
      case 'regex':
        if (v !== null && new RegExp(m.options.pattern).test(String(v))) return m.options.result;
        break;
      case 'special': {
        const match = m.options.match;
        if ((match === 'null' || match === 'null+nan') && v === null) return m.options.result;
        if ((match === 'nan' || match === 'null+nan') && typeof v === 'number' && Number.isNaN(v)) return m.options.result;
        if (match === 'true' && (v === 1 || v === 'true')) return m.options.result;
        if (match === 'false' && (v === 0 || v === 'false')) return m.options.result;
        if (match === 'empty' && v === '') return m.options.result;
        break;
      }
      default:
        break;
    }
  }
  return undefined;
}

/** Whether an override's matcher picks the field named `name` (of query `refId`). */
function matches(o: Override, name: string, refId: string | undefined): boolean {
  const opt = o.matcher.options;
  switch (o.matcher.id) {
    case 'byName':
      return opt === name;
    case 'byRegexp':
      try {
        return typeof opt === 'string' && new RegExp(opt.replace(/^\/(.*)\/[a-z]*$/, '$1')).test(name);
      } catch {
        return false;
      }
    case 'byFrameRefID':
      return opt === refId;
    case 'byType':
      return opt === 'number';
    default:
      return false;
  }
}

/**
 * The field config of one series: the panel's defaults with the overrides that match it applied in order
 * (`unit`, `decimals`, `min`, `max`, `thresholds`, `mappings`, `displayName`, `color`, and `custom.*`).
 */
export function fieldConfigFor(defaults: FieldDefaults, overrides: readonly Override[] | undefined, name: string, refId?: string): FieldDefaults {
  let f: FieldDefaults = defaults;
  for (const o of overrides ?? []) {
    if (!matches(o, name, refId)) continue;
    f = { ...f };
    for (const p of o.properties) {
      if (p.id.startsWith('custom.')) f.custom = { ...(f.custom ?? {}), [p.id.slice(7)]: p.value };
      else (f as Record<string, unknown>)[p.id] = p.value;
    }
  }
  return f;
}

/** One displayed value: its text (mapping or unit), and a colour (mapping, then thresholds). */
export function displayValue(v: number | null, field: FieldDefaults): { text: string; color: string | undefined } {
  const mapped = mapValue(v, field.mappings);
  return {
    text: mapped?.text ?? formatUnit(v, field.unit, field.decimals),
    color: cssColor(mapped?.color) ?? thresholdColor(v, field),
  };
}
