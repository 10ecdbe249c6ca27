// A reproducible log corpus of realistic shape for bench/logs: ~5k streams of service logs, half logfmt,
// half JSON, encoded as Loki push requests (protobuf, snappy) before any clock starts. The lines are the same
// on every run (seeded PRNG); only the timestamps move, anchored to "now" so the data is inside the servers'
// acceptance window.
import protobuf from 'protobufjs';
import snappy from 'snappy';
import { mulberry32 } from '../shared/prng.ts';

export interface CorpusOptions {
  /** Raw line bytes to generate (the corpus size). */
  readonly sizeBytes: number;
  /** Number of streams (label sets). */
  readonly streams: number;
  /** Time span the entries cover, ending `endMs`. */
  readonly spanMs: number;
  readonly endMs: number;
  /** Raw line bytes per push request. */
  readonly batchBytes: number;
  readonly seed: number;
}

export interface Corpus {
  /** Snappy-compressed `logproto.PushRequest` bodies, in time order. */
  readonly bodies: Buffer[];
  readonly lines: number;
  readonly rawBytes: number;
  readonly streams: number;
  readonly startNs: bigint;
  readonly endNs: bigint;
  /** Lines holding the rare `|=` needle and matching the rare `|~` regex (both fewer than a query limit). */
  readonly needleLines: number;
  readonly regexLines: number;
}

/** The rare substring planted in a few lines (a `|=` filter over the corpus must scan everything). */
export const NEEDLE = 'quux-7f3a-needle';
/** A regex matching a few planted lines only. */
export const RARE_REGEX = 'deadlock detected on table [a-z]+ tx=9\\d{3}';
const RARE_LINES = 60;

const APPS = 50;
const NAMESPACES = ['shop', 'payments', 'search', 'auth', 'catalog', 'shipping', 'ads', 'analytics', 'platform', 'edge'];
const METHODS = ['GET', 'GET', 'GET', 'GET', 'POST', 'POST', 'PUT', 'DELETE'];
const PATHS = ['/api/v1/orders', '/api/v1/cart', '/api/v1/products', '/api/v1/users', '/api/v1/search', '/api/v2/checkout', '/api/v1/inventory'];
const STATUSES = [200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 201, 204, 301, 304, 400, 401, 404, 404, 429, 500, 503];
const INFO_MSGS = ['request completed', 'cache hit', 'cache miss', 'user authenticated', 'order created', 'payment authorized', 'item added to cart', 'query executed'];
const WARN_MSGS = ['slow query', 'retrying request', 'connection pool nearly exhausted', 'deprecated API version used'];
const ERROR_MSGS = ['upstream timed out', 'connection refused', 'failed to decode payload', 'database error: duplicate key value violates unique constraint'];
const CALLERS = ['server.go', 'handler.go', 'db.go', 'cache.go', 'client.go', 'middleware.go'];
const TABLES = ['orders', 'users', 'carts', 'payments'];


interface Stream {
  labels: string;
  app: string;
  json: boolean;
  pod: string;
}

function makeStreams(n: number, rand: () => number): Stream[] {
  const out: Stream[] = [];
  for (let i = 0; i < n; i++) {
    const appIdx = i % APPS;
    const json = appIdx % 2 === 1;
    const app = `${json ? 'svc' : 'app'}-${appIdx.toString().padStart(2, '0')}`;
    const ns = NAMESPACES[appIdx % NAMESPACES.length]!;
    const env = i % 5 === 0 ? 'staging' : 'prod';
    const pod = `${app}-${Math.floor(rand() * 0xffffff).toString(36)}-${Math.floor(rand() * 0xfffff).toString(36)}`;
    out.push({
      app,
      json,
      pod,
      labels: `{app="${app}", env="${env}", format="${json ? 'json' : 'logfmt'}", namespace="${ns}", pod="${pod}"}`,
    });
  }
  return out;
}

function hex(rand: () => number, n: number): string {
  let s = '';
  for (let i = 0; i < n; i += 8) s += Math.floor(rand() * 0x100000000).toString(16).padStart(8, '0');
  return s.slice(0, n);
}

function pick<T>(rand: () => number, list: readonly T[]): T {
  return list[Math.floor(rand() * list.length)]!;
}

/** A skewed pick in [0, n): small values are much more frequent (popular products, active users). */
function skewed(rand: () => number, n: number): number {
  return Math.floor(rand() ** 3 * n);
}

const CHATTER: ((rand: () => number) => string)[] = [
  (r) => `cache refreshed entries=${100 + skewed(r, 5000)}`,
  (r) => `processed batch size=${[50, 100, 200, 500][Math.floor(r() * 4)]} queue_depth=${skewed(r, 300)}`,
  (r) => `gc pause ${(r() * 4).toFixed(1)}ms heap_mb=${200 + skewed(r, 800)}`,
  () => 'connected to database pool=primary',
  () => 'leader election: still the leader',
  (r) => `published event topic=${pick(r, ['orders', 'payments', 'inventory', 'emails'])} partition=${Math.floor(r() * 12)}`,
  (r) => `scheduled job finished job=${pick(r, ['cleanup', 'reindex', 'report', 'sync'])} took=${(r() * 900).toFixed(0)}ms`,
  () => 'config reloaded',
];

/**
 * One line of a stream at `tsMs`: probes (18%), request logs (52%, ids skewed toward popular ones, a trace
 * id on a third of them), templated application chatter (22%) and warnings/errors (8%). `plant` forces one
 * of the rare lines the filter queries look for.
 */
function makeLine(s: Stream, tsMs: number, rand: () => number, plant: 'needle' | 'regex' | undefined): string {
  const time = new Date(tsMs).toISOString();
  const kind = rand();
  const caller = `${pick(rand, CALLERS)}:${10 + skewed(rand, 400)}`;
  let level = 'info';
  let msg: string;
  let fields: [string, string | number][] = [];
  if (plant || kind >= 0.92) {
    level = plant || rand() < 0.45 ? 'error' : 'warn';
    msg = level === 'error' ? pick(rand, ERROR_MSGS) : pick(rand, WARN_MSGS);
    if (plant === 'needle') msg = `unexpected state ${NEEDLE} in reconciler`;
    if (plant === 'regex') msg = `deadlock detected on table ${pick(rand, TABLES)} tx=9${Math.floor(rand() * 1000).toString().padStart(3, '0')}`;
    fields = [['path', `${pick(rand, PATHS)}/${skewed(rand, 10000)}`], ['status', level === 'error' ? pick(rand, [500, 502, 503, 504]) : pick(rand, [200, 429])], ['duration_ms', (rand() * 3000).toFixed(1)]];
    if (rand() < 0.5) fields.push(['trace_id', hex(rand, 32)]);
  } else if (kind < 0.18) {
    msg = 'probe ok';
    fields = [['method', 'GET'], ['path', pick(rand, ['/healthz', '/readyz', '/metrics'])], ['status', 200], ['duration_ms', (rand() * 2).toFixed(1)]];
  } else if (kind < 0.7) {
    level = rand() < 0.06 ? 'debug' : 'info';
    msg = pick(rand, INFO_MSGS);
    fields = [
      ['method', pick(rand, METHODS)],
      ['path', `${pick(rand, PATHS)}/${skewed(rand, 10000)}`],
      ['status', pick(rand, STATUSES)],
      ['duration_ms', (rand() * rand() * 400).toFixed(1)],
      ['bytes', 100 * skewed(rand, 200)],
      ['user_id', `u${skewed(rand, 50000)}`],
    ];
    if (rand() < 0.35) fields.push(['trace_id', hex(rand, 32)]);
  } else {
    msg = pick(rand, CHATTER)(rand);
  }
  if (s.json) {
    const o: Record<string, unknown> = { time, level, logger: caller, msg };
    for (const [k, v] of fields) o[k] = k === 'duration_ms' ? Number(v) : v;
    return JSON.stringify(o);
  }
  const q = (v: string): string => (v.includes(' ') || v.includes('=') ? `"${v}"` : v);
  return `ts=${time} level=${level} caller=${caller} msg=${q(msg)}${fields.map(([k, v]) => ` ${k}=${typeof v === 'string' ? q(v) : v}`).join('')}`;
}

const root = protobuf.Root.fromJSON({
  nested: {
    logproto: {
      nested: {
        PushRequest: { fields: { streams: { rule: 'repeated', type: 'StreamAdapter', id: 1 } } },
        StreamAdapter: { fields: { labels: { type: 'string', id: 1 }, entries: { rule: 'repeated', type: 'EntryAdapter', id: 2 } } },
        EntryAdapter: { fields: { timestamp: { type: 'Timestamp', id: 1 }, line: { type: 'string', id: 2 } } },
        Timestamp: { fields: { seconds: { type: 'int64', id: 1 }, nanos: { type: 'int32', id: 2 } } },
      },
    },
  },
});
const PushRequest = root.lookupType('logproto.PushRequest');

/**
 * Generates the corpus: entries in time order, each from a random stream (a few streams are much busier,
 * as in real clusters), cut into push requests of about `batchBytes` raw bytes grouped by stream.
 */
export function generateCorpus(opts: CorpusOptions): Corpus {
  const rand = mulberry32(opts.seed);
  const streams = makeStreams(opts.streams, rand);
  const avgLine = 170;
  const expectedLines = Math.max(1, Math.round(opts.sizeBytes / avgLine));
  const stepMs = opts.spanMs / expectedLines;
  const startMs = opts.endMs - opts.spanMs;
  const plantEvery = Math.max(1, Math.floor(expectedLines / RARE_LINES));
  const bodies: Buffer[] = [];
  let rawBytes = 0;
  let lines = 0;
  let needleLines = 0;
  let regexLines = 0;
  let batch = new Map<Stream, { timestamp: { seconds: number; nanos: number }; line: string }[]>();
  let batchBytes = 0;
  let tsMs = startMs;
  const flush = (): void => {
    const msg = { streams: [...batch].map(([s, entries]) => ({ labels: s.labels, entries })) };
    bodies.push(snappy.compressSync(Buffer.from(PushRequest.encode(PushRequest.fromObject(msg)).finish())));
    batch = new Map();
    batchBytes = 0;
  };
  while (rawBytes < opts.sizeBytes) {
    // Zipf-ish skew: a third of the traffic from 2% of the streams.
    const s = rand() < 0.33 ? streams[Math.floor(rand() * Math.max(1, streams.length / 50))]! : streams[Math.floor(rand() * streams.length)]!;
    let plant: 'needle' | 'regex' | undefined;
    if (lines % plantEvery === Math.floor(plantEvery / 2)) plant = 'needle';
    else if (lines % plantEvery === Math.floor(plantEvery / 3)) plant = 'regex';
    const line = makeLine(s, tsMs, rand, plant);
    if (plant === 'needle') needleLines++;
    if (plant === 'regex') regexLines++;
    const ms = Math.floor(tsMs);
    // Microsecond precision, as most shippers stamp entries.
    const nanos = Math.floor((tsMs - ms) * 1e3) * 1e3 + (ms % 1000) * 1e6;
    let list = batch.get(s);
    if (!list) batch.set(s, (list = []));
    list.push({ timestamp: { seconds: Math.floor(ms / 1000), nanos }, line });
    const n = Buffer.byteLength(line);
    rawBytes += n;
    batchBytes += n;
    lines++;
    tsMs += stepMs * (0.5 + rand());
    if (tsMs > opts.endMs) tsMs = opts.endMs;
    if (batchBytes >= opts.batchBytes) flush();
  }
  if (batch.size > 0) flush();
  return {
    bodies,
    lines,
    rawBytes,
    streams: streams.length,
    startNs: BigInt(Math.floor(startMs)) * 1_000_000n,
    endNs: BigInt(Math.ceil(opts.endMs)) * 1_000_000n + 1n,
    needleLines,
    regexLines,
  };
}
