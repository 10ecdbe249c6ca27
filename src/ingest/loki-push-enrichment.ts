import type { Labels, LogEntry, LogRecord } from '../model/index.ts';

/** The label Loki 3 gives every stream (Logs Drilldown groups by it). */
const SERVICE_NAME_LABEL = 'service_name';
/** The structured metadata key Loki 3 adds with the entry's detected level. */
const DETECTED_LEVEL = 'detected_level';
const UNKNOWN_SERVICE = 'unknown_service';

/** Fields that name a level, as Loki's `log_level_fields` default. */
const LEVEL_FIELDS = ['level', 'LEVEL', 'Level', 'severity', 'SEVERITY', 'Severity', 'lvl', 'LVL', 'Lvl'];
const LEVEL_FIELD_SET = new Set(LEVEL_FIELDS);
const JSON_LEVEL = /"(level|LEVEL|Level|severity|SEVERITY|Severity|lvl|LVL|Lvl)"\s*:\s*("(?:[^"\\]|\\.)*"|-?\d+(?:\.\d+)?|true|false|null)/;

export interface EnrichmentSettings {
  /** Labels tried in order to name `service_name` (Loki's `discover_service_name`); empty: off. */
  readonly discoverServiceName: readonly string[];
  /** Add `detected_level` structured metadata (Loki's `discover_log_levels`). */
  readonly discoverLogLevels: boolean;
}

/**
 * Applies Loki 3's distributor enrichments to one stream: a `service_name` label from the first of the
 * configured labels the stream has (else `unknown_service`), and a `detected_level` structured metadata
 * value per entry (from a level label or metadata, the OTLP severity number, or the line: a JSON or logfmt
 * level field, else keywords). Returns the record unchanged when nothing applies.
 */
export function enrichLokiRecord(record: LogRecord, s: EnrichmentSettings): LogRecord {
  const stream = streamEnrichment(record.labels, s);
  const labels = stream.labels;
  if (!s.discoverLogLevels || labels[DETECTED_LEVEL] !== undefined) {
    return labels === record.labels ? record : { labels, entries: record.entries };
  }
  const fromLabel = stream.level;
  const entries: LogEntry[] = new Array(record.entries.length);
  for (let i = 0; i < record.entries.length; i++) {
    const e = record.entries[i]!;
    const md = e.structuredMetadata;
    if (md !== undefined && md[DETECTED_LEVEL] !== undefined) {
      entries[i] = e;
      continue;
    }
    const level = fromLabel ?? (md !== undefined ? (levelField(md) ?? severityLevel(md)) : undefined) ?? levelFromLine(e.line);
    entries[i] = { timestampNs: e.timestampNs, line: e.line, structuredMetadata: md ? { ...md, [DETECTED_LEVEL]: level } : levelOnly(level) };
  }
  return { labels, entries };
}

/** Shared, frozen metadata objects for entries whose only metadata is the detected level (most entries). */
const LEVEL_ONLY = new Map<string, Labels>();

function levelOnly(level: string): Labels {
  let md = LEVEL_ONLY.get(level);
  if (!md) {
    md = Object.freeze({ [DETECTED_LEVEL]: level });
    if (LEVEL_ONLY.size < 1000) LEVEL_ONLY.set(level, md);
  }
  return md;
}

interface StreamEnrichment {
  readonly settings: EnrichmentSettings;
  readonly labels: Labels;
  readonly level: string | undefined;
}

/**
 * Per label-set results, cached by the (shared, immutable) labels object: decoders hand out the same object
 * for the same stream, so the work is done once per stream rather than once per request.
 */
const streamCache = new WeakMap<Labels, StreamEnrichment>();

function streamEnrichment(labels: Labels, s: EnrichmentSettings): StreamEnrichment {
  const cached = streamCache.get(labels);
  if (cached && cached.settings === s) return cached;
  let out = labels;
  if (s.discoverServiceName.length > 0 && labels[SERVICE_NAME_LABEL] === undefined) {
    out = { ...labels, [SERVICE_NAME_LABEL]: discoverServiceName(labels, s.discoverServiceName) };
  }
  const e: StreamEnrichment = { settings: s, labels: out, level: levelField(out) };
  streamCache.set(labels, e);
  return e;
}

function discoverServiceName(labels: Labels, fields: readonly string[]): string {
  for (const f of fields) {
    const v = labels[f];
    if (v !== undefined && v !== '') return v;
  }
  return UNKNOWN_SERVICE;
}

function levelField(l: Labels): string | undefined {
  for (const f of LEVEL_FIELDS) {
    const v = l[f];
    if (v !== undefined) return v;
  }
  return undefined;
}

/** Loki's mapping of an OTLP severity number (stored as `severity_number` metadata) to a level. */
function severityLevel(md: Labels): string | undefined {
  const text = md.severity_number;
  if (text === undefined || text === '') return undefined;
  const n = Number(text);
  if (!Number.isInteger(n)) return 'info';
  if (n === 0) return 'unknown';
  if (n <= 4) return 'trace';
  if (n <= 8) return 'debug';
  if (n <= 12) return 'info';
  if (n <= 16) return 'warn';
  if (n <= 20) return 'error';
  if (n <= 24) return 'fatal';
  return 'unknown';
}

/** Loki's level detection from a line: a level field of a JSON or logfmt line, else keywords. */
export function levelFromLine(line: string): string {
  let value: string | undefined;
  const first = firstNonSpace(line);
  if (first === '{' && lastNonSpace(line) === '}') {
    const m = JSON_LEVEL.exec(line);
    if (m) value = m[2]!.startsWith('"') ? m[2]!.slice(1, -1) : m[2];
  } else if (line.includes('=')) {
    value = logfmtLevel(line);
  } else {
    return keywordLevel(line);
  }
  switch (value?.toLowerCase()) {
    case 'trace':
    case 'trc':
      return 'trace';
    case 'debug':
    case 'dbg':
      return 'debug';
    case 'info':
    case 'inf':
      return 'info';
    case 'warn':
    case 'wrn':
    case 'warning':
      return 'warn';
    case 'error':
    case 'err':
      return 'error';
    case 'critical':
      return 'critical';
    case 'fatal':
      return 'fatal';
    default:
      return keywordLevel(line);
  }
}

/** The value of the first level field of a logfmt line (keys end at `=` or a space; values may be quoted). */
function logfmtLevel(line: string): string | undefined {
  let i = 0;
  const n = line.length;
  while (i < n) {
    while (i < n && line.charCodeAt(i) <= 32) i++;
    const ks = i;
    while (i < n && line[i] !== '=' && line.charCodeAt(i) > 32) i++;
    const key = line.slice(ks, i);
    if (line[i] !== '=') continue;
    i++;
    let value: string;
    if (line[i] === '"') {
      const vs = ++i;
      while (i < n && line[i] !== '"') i += line[i] === '\\' ? 2 : 1;
      value = line.slice(vs, Math.min(i, n));
      i++;
    } else {
      const vs = i;
      while (i < n && line.charCodeAt(i) > 32) i++;
      value = line.slice(vs, i);
    }
    if (LEVEL_FIELD_SET.has(key)) return value;
  }
  return undefined;
}

function keywordLevel(line: string): string {
  if (line.includes('info') || line.includes('INFO')) return 'info';
  if (line.includes('err:') || line.includes('ERR:') || line.includes('error') || line.includes('ERROR')) return 'error';
  if (line.includes('warn:') || line.includes('WARN:') || line.includes('warning') || line.includes('WARNING')) return 'warn';
  if (line.includes('CRITICAL:') || line.includes('critical:')) return 'critical';
  if (line.includes('debug:') || line.includes('DEBUG:')) return 'debug';
  return 'unknown';
}

function firstNonSpace(s: string): string {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) > 32) return s[i]!;
  return '';
}

function lastNonSpace(s: string): string {
  for (let i = s.length - 1; i >= 0; i--) if (s.charCodeAt(i) > 32) return s[i]!;
  return '';
}
