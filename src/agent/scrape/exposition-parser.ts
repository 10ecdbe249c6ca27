import { METRIC_NAME_LABEL, tryParseGoFloat } from '../../model/index.ts';
import type { MetricMetadata, MetricType } from '../../model/index.ts';

/** One sample of a scrape body. */
export interface ScrapedSample {
  readonly labels: Record<string, string>;
  readonly value: number;
  /** Milliseconds, when the exposition gave one. */
  readonly timestampMs?: number;
}

export interface ParsedExposition {
  readonly samples: ScrapedSample[];
  /** By metric family name. */
  readonly metadata: Map<string, MetricMetadata>;
}

/** A body that is not valid exposition text; Prometheus fails the whole scrape on one (`up` 0). */
export class ExpositionError extends Error {
  constructor(line: number, message: string) {
    super(`line ${line}: ${message}`);
    this.name = 'ExpositionError';
  }
}

const TYPES = new Set<MetricType>(['counter', 'gauge', 'histogram', 'gaugehistogram', 'summary', 'info', 'stateset', 'unknown']);
const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*/;
/** Suffixes a family's series carry, longest first, to find the family of a sample. */
const SUFFIXES = ['_bucket', '_count', '_created', '_gcount', '_gsum', '_total', '_sum', '_info'];

/** Reads a double-quoted label value with the text format's escapes (`\\`, `\"`, `\n`); returns it and the index after the quote. */
function readQuoted(s: string, pos: number, lineNo: number): [string, number] {
  let out = '';
  for (let i = pos; i < s.length; i++) {
    const ch = s[i]!;
    if (ch === '"') return [out, i + 1];
    if (ch === '\\') {
      const e = s[++i];
      if (e === 'n') out += '\n';
      else if (e === '\\' || e === '"') out += e;
      else throw new ExpositionError(lineNo, `invalid escape sequence \\${e ?? ''} in a label value`);
    } else out += ch;
  }
  throw new ExpositionError(lineNo, 'unterminated label value');
}

function unescapeHelp(s: string): string {
  return s.replace(/\\(\\|n)/g, (_m, e: string) => (e === 'n' ? '\n' : '\\'));
}

/**
 * Parses the Prometheus text format (0.0.4) and OpenMetrics 1.0 text: samples with their labels (the name as
 * `__name__`), values and timestamps (text format: integer milliseconds; OpenMetrics: seconds), and `# TYPE` /
 * `# HELP` / `# UNIT` per family. OpenMetrics exemplars are skipped, and its `_created` series dropped, as
 * Prometheus does by default. Throws {@link ExpositionError} naming the first bad line.
 */
export function parseExposition(body: string, openMetrics: boolean): ParsedExposition {
  const samples: ScrapedSample[] = [];
  const meta = new Map<string, { type: MetricType; help: string; unit: string }>();
  const family = (name: string): { type: MetricType; help: string; unit: string } => {
    let m = meta.get(name);
    if (!m) meta.set(name, (m = { type: 'unknown', help: '', unit: '' }));
    return m;
  };
  const lines = body.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const lineNo = i + 1;
    const line = lines[i]!.trimEnd();
    if (line === '') continue;
    if (line.startsWith('#')) {
      const m = /^#\s*(HELP|TYPE|UNIT|EOF)\b\s*(\S*)\s?(.*)$/.exec(line);
      if (!m) continue;
      const [, kind, name, rest] = m as unknown as [string, string, string, string];
      if (kind === 'EOF') break;
      if (kind === 'HELP') family(name).help = unescapeHelp(rest);
      else if (kind === 'UNIT') family(name).unit = rest;
      else {
        const t = rest.trim().toLowerCase() === 'untyped' ? 'unknown' : (rest.trim().toLowerCase() as MetricType);
        if (!TYPES.has(t)) throw new ExpositionError(lineNo, `invalid metric type "${rest.trim()}"`);
        family(name).type = t;
      }
      continue;
    }
    const nm = NAME.exec(line);
    if (!nm) throw new ExpositionError(lineNo, `expected a metric name, got "${line.slice(0, 40)}"`);
    const labels: Record<string, string> = { [METRIC_NAME_LABEL]: nm[0] };
    let pos = nm[0].length;
    if (line[pos] === '{') {
      pos++;
      for (;;) {
        while (line[pos] === ' ') pos++;
        if (line[pos] === '}') {
          pos++;
          break;
        }
        const ln = LABEL_NAME.exec(line.slice(pos));
        if (!ln) throw new ExpositionError(lineNo, 'expected a label name');
        pos += ln[0].length;
        while (line[pos] === ' ') pos++;
        if (line[pos] !== '=' || line[pos + 1] !== '"') throw new ExpositionError(lineNo, `expected ="..." after label ${ln[0]}`);
        const [value, next] = readQuoted(line, pos + 2, lineNo);
        if (Object.hasOwn(labels, ln[0])) throw new ExpositionError(lineNo, `label ${ln[0]} appears twice`);
        labels[ln[0]] = value;
        pos = next;
        while (line[pos] === ' ') pos++;
        if (line[pos] === ',') pos++;
        else if (line[pos] !== '}') throw new ExpositionError(lineNo, 'expected , or } after a label value');
      }
    }
    // Exemplars (`# {...} v ts`) follow the sample in OpenMetrics; the agent does not send them.
    const hash = line.indexOf(' # ', pos);
    const fields = (hash >= 0 ? line.slice(pos, hash) : line.slice(pos)).trim().split(/\s+/);
    if (fields.length < 1 || fields.length > 2 || fields[0] === '') throw new ExpositionError(lineNo, 'expected a value and an optional timestamp');
    const value = tryParseGoFloat(fields[0]!);
    if (value === undefined) throw new ExpositionError(lineNo, `invalid value "${fields[0]}"`);
    let timestampMs: number | undefined;
    if (fields[1] !== undefined) {
      const t = Number(fields[1]);
      if (!Number.isFinite(t)) throw new ExpositionError(lineNo, `invalid timestamp "${fields[1]}"`);
      timestampMs = openMetrics ? Math.round(t * 1000) : Math.trunc(t);
    }
    if (openMetrics && nm[0].endsWith('_created')) {
      const base = nm[0].slice(0, -'_created'.length);
      const t = meta.get(base)?.type;
      if (t === 'counter' || t === 'histogram' || t === 'summary' || t === 'gaugehistogram') continue;
    }
    samples.push(timestampMs === undefined ? { labels, value } : { labels, value, timestampMs });
  }
  return { samples, metadata: meta };
}

/** The metadata of the family a series name belongs to (`x_bucket` → `x`), if the exposition declared it. */
export function familyMetadata(metadata: ReadonlyMap<string, MetricMetadata>, name: string): MetricMetadata | undefined {
  const direct = metadata.get(name);
  if (direct) return direct;
  for (const s of SUFFIXES) if (name.endsWith(s)) return metadata.get(name.slice(0, -s.length));
  return undefined;
}
