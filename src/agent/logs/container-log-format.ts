/**
 * The two on-disk formats of container logs under /var/log/pods:
 * - CRI (containerd, CRI-O): `<RFC3339Nano time> <stdout|stderr> <P|F> <content>`, where `P` marks a piece of a
 *   line the runtime split (at 16 KiB) and `F` the piece that ends it;
 * - Docker's json-file: `{"log":"...\n","stream":"stdout","time":"..."}`, a piece without a trailing newline
 *   continuing in the next one.
 */

/** One physical line of a container log file, decoded. */
export interface ContainerLogPiece {
  readonly timestampNs: bigint;
  readonly stream: string;
  /** False when the runtime split the line and more of it follows. */
  readonly complete: boolean;
  readonly content: string;
}

/**
 * An RFC 3339 time with up to nine fractional digits as Unix nanoseconds (a double loses them); undefined when
 * it is not one.
 */
export function parseRfc3339Nano(text: string): bigint | undefined {
  const m = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:\d{2})$/.exec(text);
  if (!m) return undefined;
  const ms = Date.parse(`${m[1]}${m[3]}`);
  if (Number.isNaN(ms)) return undefined;
  const frac = BigInt((m[2] ?? '').padEnd(9, '0'));
  return BigInt(ms) * 1_000_000n + frac;
}

/** Decodes a CRI log line; undefined when the line does not have the CRI shape. */
export function parseCriLine(line: string): ContainerLogPiece | undefined {
  const s1 = line.indexOf(' ');
  const s2 = s1 < 0 ? -1 : line.indexOf(' ', s1 + 1);
  if (s2 < 0) return undefined;
  const timestampNs = parseRfc3339Nano(line.slice(0, s1));
  if (timestampNs === undefined) return undefined;
  const stream = line.slice(s1 + 1, s2);
  // The tag field may carry more flags after P/F, separated by ':' (the CRI spec leaves room for them).
  const s3 = line.indexOf(' ', s2 + 1);
  const tag = s3 < 0 ? line.slice(s2 + 1) : line.slice(s2 + 1, s3);
  const flag = tag.split(':')[0];
  if (flag !== 'P' && flag !== 'F') return undefined;
  return { timestampNs, stream, complete: flag === 'F', content: s3 < 0 ? '' : line.slice(s3 + 1) };
}

/** Decodes a Docker json-file line; undefined when it is not one. */
export function parseDockerJsonLine(line: string): ContainerLogPiece | undefined {
  if (!line.startsWith('{')) return undefined;
  let doc: unknown;
  try {
    doc = JSON.parse(line);
  } catch {
    return undefined;
  }
  const d = doc as { log?: unknown; stream?: unknown; time?: unknown };
  if (typeof d.log !== 'string' || typeof d.time !== 'string') return undefined;
  const timestampNs = parseRfc3339Nano(d.time);
  if (timestampNs === undefined) return undefined;
  const complete = d.log.endsWith('\n');
  return { timestampNs, stream: typeof d.stream === 'string' ? d.stream : 'stdout', complete, content: complete ? d.log.slice(0, -1) : d.log };
}

/** Decodes either format (CRI first: the kubelet's default runtimes write it). */
export function parseContainerLogLine(line: string): ContainerLogPiece | undefined {
  return parseCriLine(line) ?? parseDockerJsonLine(line);
}

/**
 * `level` and `trace_id` of a JSON log line (Loki's structured metadata the seeds' dashboards filter on);
 * common spellings (`severity`, `lvl`, `traceId`, `trace.id`) are read too. Empty for anything else.
 */
export function jsonLineMetadata(content: string): Record<string, string> {
  if (!content.startsWith('{')) return {};
  let doc: unknown;
  try {
    doc = JSON.parse(content);
  } catch {
    return {};
  }
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) return {};
  const o = doc as Record<string, unknown>;
  const out: Record<string, string> = {};
  const level = firstScalar(o, ['level', 'severity', 'lvl', 'log.level']);
  if (level !== undefined) out.level = level.toLowerCase();
  const traceId = firstScalar(o, ['trace_id', 'traceId', 'traceID', 'trace.id']);
  if (traceId !== undefined) out.trace_id = traceId;
  return out;
}

function firstScalar(o: Record<string, unknown>, keys: readonly string[]): string | undefined {
  for (const k of keys) {
    const v = Object.hasOwn(o, k) ? o[k] : undefined;
    if (typeof v === 'string' && v !== '') return v;
    if (typeof v === 'number') return String(v);
  }
  return undefined;
}
