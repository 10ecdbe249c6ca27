import { parseLogql } from '../../logql/index.ts';
import { ApiError } from '../errors.ts';
import type { LokiApiDeps } from './deps.ts';
import type { LokiRequest } from './handler.ts';

/** A field found in sampled lines: its name, guessed type, distinct values and the parsers that yield it. */
export interface DetectedField {
  readonly label: string;
  type: 'string' | 'int' | 'float' | 'boolean' | 'duration' | 'bytes';
  readonly values: Set<string>;
  /** `json`/`logfmt`, or null for structured metadata (Loki's convention). */
  parsers: string[] | null;
}

const MAX_VALUES_PER_FIELD = 10_000;

function guessType(v: string): DetectedField['type'] {
  if (/^-?\d+$/.test(v)) return 'int';
  if (/^-?(?:\d+\.\d*|\.\d+)(?:[eE][+-]?\d+)?$/.test(v) || /^-?\d+[eE][+-]?\d+$/.test(v)) return 'float';
  if (v === 'true' || v === 'false') return 'boolean';
  if (/^-?(?:\d+(?:\.\d+)?(?:ns|us|µs|ms|s|m|h))+$/.test(v)) return 'duration';
  if (/^\d+(?:\.\d+)?\s?(?:[KMGTPE]i?B|B)$/i.test(v)) return 'bytes';
  return 'string';
}

/** Types widen when values disagree: int → float; anything else mixed → string. */
function mergeType(a: DetectedField['type'], b: DetectedField['type']): DetectedField['type'] {
  if (a === b) return a;
  if ((a === 'int' && b === 'float') || (a === 'float' && b === 'int')) return 'float';
  return 'string';
}

/**
 * Loki's `detected_fields`: runs the query's log selector (with its line filters) over the newest
 * `lineLimit` lines, parses each as JSON or logfmt, and reports the fields with guessed types and
 * cardinalities. Structured metadata counts as fields with `parsers: null`; stream labels do not.
 */
export async function detectFields(deps: LokiApiDeps, req: LokiRequest, query: string, startNs: bigint, endNs: bigint, lineLimit: number): Promise<DetectedField[]> {
  if (query.trim() === '') throw new ApiError('bad_data', 'missing query parameter');
  let expr;
  try {
    expr = parseLogql(query);
  } catch (err) {
    throw new ApiError('bad_data', (err as Error).message, { cause: err });
  }
  if (expr.kind !== 'logSelector') throw new ApiError('bad_data', 'detected_fields needs a log query');
  // Parsers and label stages in the query would hide the raw line; keep only the selector and line filters.
  const leading = [];
  for (const s of expr.stages) {
    if (s.kind !== 'lineFilter') break;
    leading.push(s);
  }
  const selectorText = `{${expr.matchers.map((m) => `${m.name}${m.op}${JSON.stringify(m.value)}`).join(', ')}}`;
  const filtersText = leading
    .map((f) => ` ${f.op} ${f.values.map((v) => (v.kind === 'ip' ? `ip(${JSON.stringify(v.value)})` : JSON.stringify(v.value))).join(' or ')}`)
    .join('');
  const res = await deps.logqlEngine.query(deps.queryable, req.tenants, {
    query: selectorText + filtersText,
    startNs,
    endNs,
    direction: 'backward',
    limit: Math.max(1, lineLimit),
    signal: req.signal,
  });
  const fields = new Map<string, DetectedField>();
  const note = (name: string, value: string, parser: string | null): void => {
    let f = fields.get(name);
    if (!f) {
      if (fields.size >= MAX_FIELDS) return;
      f = { label: name, type: guessType(value), values: new Set(), parsers: parser === null ? null : [parser] };
      fields.set(name, f);
    } else {
      f.type = mergeType(f.type, guessType(value));
      if (parser !== null) {
        if (f.parsers === null) f.parsers = [parser];
        else if (!f.parsers.includes(parser)) f.parsers.push(parser);
      }
    }
    if (f.values.size < MAX_VALUES_PER_FIELD) f.values.add(value);
  };
  const streams = res.data.resultType === 'streams' ? res.data.streams : [];
  let seen = 0;
  for (const s of streams) {
    for (const e of s.entries) {
      // Analysing lines is synchronous work of its own: honour a disconnect between lines.
      if ((++seen & 63) === 0) req.signal?.throwIfAborted();
      for (const [k, v] of Object.entries(e.structuredMetadata ?? {})) note(k, v, null);
      const line = e.line.trim();
      if (line.startsWith('{')) {
        let obj: unknown;
        try {
          obj = JSON.parse(line);
        } catch {
          obj = undefined;
        }
        if (obj && typeof obj === 'object' && !Array.isArray(obj)) {
          flatten(obj as Record<string, unknown>, '', (k, v) => note(k, v, 'json'));
          continue;
        }
      }
      for (const [k, v] of logfmtPairs(line)) note(k, v, 'logfmt');
    }
  }
  return [...fields.values()].sort((a, b) => (a.label < b.label ? -1 : a.label > b.label ? 1 : 0));
}

/** Distinct fields one request reports (a line of random keys must not grow the answer without bound). */
const MAX_FIELDS = 1000;

function sanitize(key: string): string {
  const s = key.replace(/[^A-Za-z0-9_]/g, '_');
  return /^[0-9]/.test(s) ? `_${s}` : s;
}

/**
 * Nesting below which JSON objects are not flattened into fields: a field name is the path of keys, so a
 * deeply nested line would otherwise make names (and the work) grow with the square of its depth.
 */
const MAX_JSON_DEPTH = 32;
/** Longer field names (paths of long keys) are skipped. */
const MAX_FIELD_NAME_LENGTH = 1024;

function flatten(obj: Record<string, unknown>, prefix: string, emit: (k: string, v: string) => void, depth = 1): void {
  for (const [k, v] of Object.entries(obj)) {
    const key = prefix === '' ? sanitize(k) : `${prefix}_${sanitize(k)}`;
    if (v === null || Array.isArray(v) || key.length > MAX_FIELD_NAME_LENGTH) continue;
    if (typeof v === 'object') {
      if (depth < MAX_JSON_DEPTH) flatten(v as Record<string, unknown>, key, emit, depth + 1);
    } else emit(key, String(v));
  }
}

function* logfmtPairs(line: string): Generator<[string, string]> {
  const re = /([^\s="]+)=("(?:[^"\\]|\\.)*"|[^\s"]*)/g;
  let m: RegExpExecArray | null;
  while ((m = re.exec(line)) !== null) {
    // Both groups are not optional.
    let v = m[2]!;
    if (v.startsWith('"')) {
      try {
        v = JSON.parse(v) as string;
      } catch {
        v = v.slice(1, -1);
      }
    }
    if (v !== '') yield [sanitize(m[1]!), v];
  }
}
