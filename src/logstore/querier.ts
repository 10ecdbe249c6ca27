import type { DuckDBConnection } from '@duckdb/node-api';
import { quoteString } from '../columnar/index.ts';
import { compareStrings, labelsKey } from '../model/index.ts';
import type { LabelMatcher, Labels, TenantId, TimeRange } from '../model/index.ts';
import type {
  LogCountParams,
  LogIndexStats,
  LogQuerier,
  LogSelectParams,
  LogStreamBatch,
  LogStreamCounts,
} from '../storage/index.ts';
import type { Snapshot } from './catalog.ts';
import { blocksSql, lineFiltersSql, matchersSql } from './sql.ts';
import type { StreamLabelCache } from './stream-labels.ts';
import type { TokenBloomCache } from './token-bloom.ts';
import { candidateRows, requiredTokens } from './token-bloom.ts';

/** What a querier needs from the store. */
export interface QuerierHost {
  connect(): Promise<DuckDBConnection>;
  acquire(): Snapshot;
  readonly windowMs: number;
  readonly streams: StreamLabelCache;
  readonly blooms: TokenBloomCache;
}

/** Per block path, the row ranges a query reads (absent: the whole block; empty: none). */
type RowRanges = ReadonlyMap<string, readonly (readonly [number, number])[]>;

/**
 * A grouped count is summed per stream before the join with the stream index when the rows read are at least
 * this many per (stream, bucket) pair: with fewer, the extra aggregation costs more than the smaller join saves.
 */
const PRE_AGGREGATE_ROWS_PER_GROUP = 8;

/** Rows per yielded slice of `select` when DuckDB hands over bigger chunks. */
const MAX_ROWS_PER_YIELD = 4096;

/**
 * Reads one tenant's logs. Every call takes a snapshot of the catalog, so blocks and head tables
 * it reads stay in place until the call finishes, and builds one SQL query over the head tables and the
 * Parquet blocks of the partitions the time range touches. Stream matchers and line filters run inside
 * DuckDB (RE2 regexes, byte-substring `contains`).
 */
export class LogStoreQuerier implements LogQuerier {
  private readonly host: QuerierHost;
  /** The one tenant read, as a list for the SQL builders (federation is storage/federation.ts's). */
  private readonly tenants: readonly TenantId[];
  private conn: DuckDBConnection | undefined;
  private closed = false;
  /**
   * Stream sets that hold every stream of their tenant: their reads skip the stream filter (a semi-join per
   * row), and rows of streams created since (absent from the set) are dropped when read.
   */
  private readonly allMatched = new WeakSet<ReadonlyMap<bigint, Labels>>();

  constructor(host: QuerierHost, tenants: readonly TenantId[]) {
    this.host = host;
    this.tenants = [...new Set(tenants)];
  }

  async *select(params: LogSelectParams): AsyncIterable<readonly LogStreamBatch[]> {
    const limit = params.limit;
    if (limit !== undefined && limit <= 0) return;
    if (params.endNs <= params.startNs) return;
    const { tenants } = this;
    const { matchers } = params;
    if (tenants.length === 0) return;
    const filters = lineFiltersSql(params.lineFilters);
    const conn = await this.connection();
    const snap = this.host.acquire();
    try {
      const streamSets = await this.matchStreams(conn, tenants, matchers);
      if (streamSets.every((s) => s.size === 0)) return;
      const ranges = await this.bloomRanges(snap, params.lineFilters, params.startNs, params.endNs);
      const backward = params.direction === 'backward';
      let remaining = limit ?? Infinity;
      for (const [sliceStart, sliceEnd] of slices(params.startNs, params.endNs, this.host.windowMs, backward)) {
        if (remaining <= 0) break;
        params.signal?.throwIfAborted();
        const branches = this.branches(snap, tenants, streamSets, matchers, sliceStart, sliceEnd, filters, 't, stream_id, ts, line, md', true, ranges);
        if (branches.length === 0) continue;
        const dir = backward ? 'DESC' : 'ASC';
        const sql =
          `SELECT t, stream_id, ts, line, md FROM (${branches.join(' UNION ALL ')}) ` +
          `ORDER BY ts ${dir}, t ${dir}, stream_id ${dir}, line ${dir}` +
          (remaining === Infinity ? '' : ` LIMIT ${remaining}`);
        const result = await conn.stream(sql);
        for (;;) {
          params.signal?.throwIfAborted();
          const chunk = await result.fetchChunk();
          if (!chunk || chunk.rowCount === 0) break;
          const n = chunk.rowCount;
          const tCol = chunk.getColumnVector(0);
          const sidCol = chunk.getColumnVector(1);
          const tsCol = chunk.getColumnVector(2);
          const lineCol = chunk.getColumnVector(3);
          const mdCol = chunk.getColumnVector(4);
          for (let from = 0; from < n; from += MAX_ROWS_PER_YIELD) {
            const to = Math.min(n, from + MAX_ROWS_PER_YIELD);
            const groups = new Map<string, { labels: Labels; ts: bigint[]; lines: string[]; md: (Labels | undefined)[]; anyMd: boolean }>();
            let taken = 0;
            for (let i = from; i < to; i++) {
              const ti = tCol.getItem(i) as number;
              const sid = sidCol.getItem(i) as bigint;
              const gk = `${ti}:${sid}`;
              let g = groups.get(gk);
              if (!g) {
                const labels = streamSets[ti]!.get(sid);
                if (labels === undefined) continue; // a stream created after the match (see allMatched)
                g = { labels: labels, ts: [], lines: [], md: [], anyMd: false };
                groups.set(gk, g);
              }
              taken++;
              g.ts.push(tsCol.getItem(i) as bigint);
              g.lines.push(lineCol.getItem(i) as string);
              const md = mdCol.getItem(i) as string | null;
              if (md === null) g.md.push(undefined);
              else {
                g.md.push(JSON.parse(md) as Labels);
                g.anyMd = true;
              }
            }
            const out: LogStreamBatch[] = [];
            for (const g of groups.values()) {
              out.push({
                labels: g.labels,
                timestampsNs: BigInt64Array.from(g.ts),
                lines: g.lines,
                ...(g.anyMd ? { structuredMetadata: g.md } : {}),
              });
            }
            remaining -= taken;
            if (out.length > 0) yield out;
          }
        }
      }
    } finally {
      snap.release();
    }
  }

  async labelNames(range: TimeRange, matchers: readonly LabelMatcher[] = []): Promise<string[]> {
    const names = new Set<string>();
    for (const labels of await this.activeStreams(range, matchers)) for (const n of Object.keys(labels)) names.add(n);
    return [...names].sort(compareStrings);
  }

  async labelValues(name: string, range: TimeRange, matchers: readonly LabelMatcher[] = []): Promise<string[]> {
    const values = new Set<string>();
    for (const labels of await this.activeStreams(range, matchers)) {
      const v = labels[name];
      if (v !== undefined && v !== '') values.add(v);
    }
    return [...values].sort(compareStrings);
  }

  async series(range: TimeRange, matchers: readonly LabelMatcher[]): Promise<Labels[]> {
    const all = await this.activeStreams(range, matchers);
    const byKey = new Map<string, Labels>();
    for (const l of all) byKey.set(labelsKey(l), l);
    return [...byKey.entries()].sort((a, b) => compareStrings(a[0], b[0])).map(([, l]) => l);
  }

  async counts(params: LogCountParams): Promise<LogStreamCounts[]> {
    if (params.stepNs <= 0n) throw new Error('counts: stepNs must be positive');
    if (params.endNs <= params.startNs) return [];
    const n = Number((params.endNs - params.startNs + params.stepNs - 1n) / params.stepNs);
    const start = params.startNs;
    const end = start + BigInt(n) * params.stepNs;
    const { tenants } = this;
    const { matchers } = params;
    if (tenants.length === 0) return [];
    const filters = lineFiltersSql(params.lineFilters);
    const conn = await this.connection();
    const snap = this.host.acquire();
    try {
      const streamSets = await this.matchStreams(conn, tenants, matchers);
      if (streamSets.every((s) => s.size === 0)) return [];
      // Buckets are left-open: (start + k·step, start + (k+1)·step]; the scan range is [start+1, end+1).
      const ranges = await this.bloomRanges(snap, params.lineFilters, start + 1n, end + 1n);
      const branches = this.branches(snap, tenants, streamSets, matchers, start + 1n, end + 1n, filters, 't, stream_id, ts, nbytes', true, ranges);
      if (branches.length === 0) return [];
      const bucket = `(ts - ${start} - 1) // ${params.stepNs} AS k`;
      const data = `(${branches.join(' UNION ALL ')})`;
      const groupBy = params.groupBy;
      // Without grouping: one row per stream and bucket; `lone` names the stream.
      let sql = `SELECT t, stream_id AS lone, ${bucket}, count(*)::DOUBLE, sum(nbytes)::DOUBLE FROM ${data} GROUP BY ALL`;
      if (groupBy) {
        // Grouped inside DuckDB by the label values (a join with the stream index): a row per group and
        // bucket instead of per stream, so thousands of streams cost no more than their groups. A stream
        // lacking one of the labels is its own group (`lone`), as the contract says.
        const values = groupBy.map((l, i) => `labels[${quoteString(l)}] AS g${i}`);
        const lone = groupBy.length === 0 ? 'NULL' : `CASE WHEN ${groupBy.map((l) => `labels[${quoteString(l)}] IS NULL`).join(' OR ')} THEN stream_id END`;
        const index = tenants
          .map((tenant, ti) => `SELECT ${ti} AS t, stream_id, ${[...values, `${lone} AS lone`].join(', ')} FROM log_streams WHERE tenant = ${quoteString(tenant)} AND (${matchersSql(matchers)})`)
          .join(' UNION ALL ');
        const gs = groupBy.map((_, i) => `s.g${i}`);
        const streams = streamSets.reduce((a, m) => a + m.size, 0);
        if (streams * n * PRE_AGGREGATE_ROWS_PER_GROUP <= this.rowsIn(snap, start + 1n, end + 1n)) {
          // Few (stream, bucket) pairs for the rows read (a long step): count per stream first, then join the
          // counts, not every row, to the stream index (topk over 1 h counts: ~35,000 pairs for 2.5 M rows).
          const perStream = `(SELECT t, stream_id, ${bucket}, count(*) AS c, sum(nbytes) AS nb FROM ${data} GROUP BY ALL)`;
          sql =
            `SELECT b.t, s.lone, ${[...gs, 'b.k'].join(', ')}, sum(b.c)::DOUBLE, sum(b.nb)::DOUBLE ` +
            `FROM ${perStream} b JOIN (${index}) s ON b.t = s.t AND b.stream_id = s.stream_id GROUP BY ALL`;
        } else {
          sql =
            `SELECT b.t, s.lone, ${[...gs, `(b.ts - ${start} - 1) // ${params.stepNs} AS k`].join(', ')}, count(*)::DOUBLE, sum(b.nbytes)::DOUBLE ` +
            `FROM ${data} b JOIN (${index}) s ON b.t = s.t AND b.stream_id = s.stream_id GROUP BY ALL`;
        }
      }
      params.signal?.throwIfAborted();
      const reader = await conn.runAndReadAll(sql);
      const out = new Map<string, { labels: Labels; counts: Float64Array; bytes: Float64Array }>();
      const width = groupBy?.length ?? 0;
      for (const row of reader.getRows()) {
        const ti = Number(row[0]);
        const sid = row[1] as bigint | null;
        const key = sid === null ? `${ti}:g${JSON.stringify(row.slice(2, 2 + width))}` : `${ti}:${sid}`;
        let s = out.get(key);
        if (!s) {
          let labels: Labels | undefined;
          if (sid !== null) labels = streamSets[ti]!.get(sid);
          else labels = Object.fromEntries(groupBy!.map((l, i) => [l, String(row[2 + i])])); // own properties, even `__proto__`
          if (labels === undefined) continue; // a stream created after the match
          s = { labels, counts: new Float64Array(n), bytes: new Float64Array(n) };
          out.set(key, s);
        }
        const idx = Number(row[2 + width]);
        s.counts[idx] = row[3 + width] as number;
        s.bytes[idx] = row[4 + width] as number;
      }
      return [...out.values()];
    } finally {
      snap.release();
    }
  }

  async stats(range: TimeRange, matchers: readonly LabelMatcher[]): Promise<LogIndexStats> {
    const { tenants } = this;
    const rest = matchers;
    const empty = { streams: 0, chunks: 0, entries: 0, bytes: 0 };
    if (tenants.length === 0) return empty;
    const conn = await this.connection();
    const snap = this.host.acquire();
    try {
      const streamSets = await this.matchStreams(conn, tenants, rest);
      if (streamSets.every((s) => s.size === 0)) return empty;
      const [s, e] = rangeNs(range);
      const branches = this.branches(snap, tenants, streamSets, rest, s, e, 'TRUE', 't, stream_id, nbytes');
      if (branches.length === 0) return empty;
      const r = await conn.runAndReadAll(
        `SELECT count(DISTINCT (t, stream_id)), count(*), coalesce(sum(nbytes), 0) FROM (${branches.join(' UNION ALL ')})`,
      );
      const [streams, entries, bytes] = r.getRows()[0]!;
      const chunks = this.touched(snap, tenants, s, e);
      return { streams: Number(streams), chunks, entries: Number(entries), bytes: Number(bytes) };
    } finally {
      snap.release();
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    this.conn?.closeSync();
    this.conn = undefined;
  }

  private async connection(): Promise<DuckDBConnection> {
    if (this.closed) throw new Error('log querier is closed');
    this.conn ??= await this.host.connect();
    return this.conn;
  }

  /** Stream label sets (of streams with entries in the range) matching the matchers, over all tenants. */
  private async activeStreams(range: TimeRange, matchers: readonly LabelMatcher[]): Promise<Labels[]> {
    const { tenants } = this;
    const rest = matchers;
    if (tenants.length === 0) return [];
    const conn = await this.connection();
    const snap = this.host.acquire();
    try {
      const streamSets = await this.matchStreams(conn, tenants, rest);
      if (streamSets.every((s) => s.size === 0)) return [];
      const [s, e] = rangeNs(range);
      const branches = this.branches(snap, tenants, streamSets, rest, s, e, 'TRUE', 'DISTINCT t, stream_id');
      if (branches.length === 0) return [];
      const r = await conn.runAndReadAll(`SELECT DISTINCT t, stream_id FROM (${branches.join(' UNION ALL ')})`);
      const out: Labels[] = [];
      for (const [t, sid] of r.getRows()) {
        const ti = Number(t);
        const labels = streamSets[ti]!.get(sid as bigint);
        if (labels) out.push(labels);
      }
      return out;
    } finally {
      snap.release();
    }
  }

  /** Per tenant, the matching streams' ids and labels (from the store's stream label cache). */
  private async matchStreams(
    conn: DuckDBConnection,
    tenants: readonly TenantId[],
    matchers: readonly LabelMatcher[],
  ): Promise<ReadonlyMap<bigint, Labels>[]> {
    const out: ReadonlyMap<bigint, Labels>[] = [];
    for (const tenant of tenants) {
      const { streams, all } = await this.host.streams.matching(conn, tenant, matchers);
      if (all) this.allMatched.add(streams);
      out.push(streams);
    }
    return out;
  }

  /** One SELECT per data source (each head table, the blocks of each tenant) of the range, for UNION ALL. */
  private branches(
    snap: Snapshot,
    tenants: readonly TenantId[],
    streamSets: readonly ReadonlyMap<bigint, Labels>[],
    matchers: readonly LabelMatcher[],
    startNs: bigint,
    endNs: bigint,
    filters: string,
    columns: string,
    useAllMatched = false,
    rowRanges?: RowRanges,
  ): string[] {
    const out: string[] = [];
    const startMs = Number(startNs / 1_000_000n) - 1;
    const endMs = Number(endNs / 1_000_000n) + 1;
    const tsWhere = `ts >= ${startNs} AND ts < ${endNs}`;
    const all = matchers.length === 0;
    for (let ti = 0; ti < tenants.length; ti++) {
      if (streamSets[ti]!.size === 0) continue;
      const tenant = tenants[ti]!;
      const pids: number[] = [];
      for (const p of snap.partitions.values()) {
        if (p.tenant === tenant && p.windowStartMs < endMs && p.windowEndMs > startMs) pids.push(p.pid);
      }
      if (pids.length === 0) continue;
      const streamWhere = all || (useAllMatched && this.allMatched.has(streamSets[ti]!))
        ? 'TRUE'
        : `stream_id IN (SELECT stream_id FROM log_streams WHERE tenant = ${quoteString(tenant)} AND (${matchersSql(matchers)}))`;
      const sel = columns.replace(/^DISTINCT /, '');
      const distinct = columns.startsWith('DISTINCT ') ? 'DISTINCT ' : '';
      // `nbytes`: each line's UTF-8 byte length (computed only where an outer column uses it).
      const inner = `SELECT ${ti} AS t, stream_id, ts, line, md, nbytes FROM`;
      for (const h of snap.heads) {
        out.push(
          `SELECT ${distinct}${sel} FROM (${inner} (SELECT *, strlen(line)::INTEGER AS nbytes FROM ${h.table}) WHERE pid IN (${pids.join(', ')}) AND ${tsWhere}) ` +
            `WHERE ${streamWhere} AND ${filters}`,
        );
      }
      const pidSet = new Set(pids);
      const blocks = snap.blocks.filter((b) => pidSet.has(b.pid) && b.minTs < endNs && b.maxTs >= startNs);
      const source = blocks.length > 0 ? blocksSql(blocks, 'stream_id, ts, line, md, nbytes', rowRanges) : '';
      if (source !== '') {
        out.push(`SELECT ${distinct}${sel} FROM (${inner} (${source}) WHERE ${tsWhere}) WHERE ${streamWhere} AND ${filters}`);
      }
    }
    return out;
  }

  /**
   * The rows of each block with token blooms that the line filters' required tokens leave to read
   * (token-bloom.ts), for the blocks overlapping [startNs, endNs); undefined when the filters require no token.
   */
  private async bloomRanges(snap: Snapshot, lineFilters: LogSelectParams['lineFilters'], startNs: bigint, endNs: bigint): Promise<RowRanges | undefined> {
    const tokens = requiredTokens(lineFilters);
    if (tokens.length === 0) return undefined;
    const blocks = snap.blocks.filter((b) => b.format >= 3 && b.minTs < endNs && b.maxTs >= startNs);
    const out = new Map<string, [number, number][]>();
    const blooms = await Promise.all(blocks.map((b) => this.host.blooms.get(b.path)));
    for (let i = 0; i < blocks.length; i++) {
      const f = blooms[i];
      const rows = f && candidateRows(f, tokens);
      if (rows) out.set(blocks[i]!.path, rows);
    }
    return out;
  }

  /** The rows of the tenants' blocks overlapping [startNs, endNs) (what a read of the range scans, heads left out). */
  private rowsIn(snap: Snapshot, startNs: bigint, endNs: bigint): number {
    const tenants = new Set<string>(this.tenants);
    let rows = 0;
    for (const b of snap.blocks) {
      const p = snap.partitions.get(b.pid);
      if (p && tenants.has(p.tenant) && b.minTs < endNs && b.maxTs >= startNs) rows += b.rows;
    }
    return rows;
  }

  /** How many blocks and head partitions the range touches (Loki's `chunks` in index stats). */
  private touched(snap: Snapshot, tenants: readonly TenantId[], startNs: bigint, endNs: bigint): number {
    const set = new Set<string>(tenants);
    let n = 0;
    const pids = new Set<number>();
    for (const p of snap.partitions.values()) {
      if (set.has(p.tenant) && p.windowStartMs * 1e6 < Number(endNs) && p.windowEndMs * 1e6 > Number(startNs)) pids.add(p.pid);
    }
    for (const b of snap.blocks) if (pids.has(b.pid) && b.minTs < endNs && b.maxTs >= startNs) n++;
    return n + (pids.size > 0 ? snap.heads.length : 0);
  }
}

/** Splits [start, end) at window boundaries, in direction order. */
function slices(startNs: bigint, endNs: bigint, windowMs: number, backward: boolean): [bigint, bigint][] {
  const w = BigInt(windowMs) * 1_000_000n;
  const out: [bigint, bigint][] = [];
  let s = startNs;
  // Bound the number of slices: a very long range falls back to fewer, larger slices.
  const count = (endNs - startNs) / w;
  const step = count > 2000n ? w * (count / 2000n + 1n) : w;
  while (s < endNs) {
    const boundary = floorDiv(s, step) * step + step;
    const e = boundary < endNs ? boundary : endNs;
    out.push([s, e]);
    s = e;
  }
  return backward ? out.reverse() : out;
}

function floorDiv(a: bigint, b: bigint): bigint {
  const q = a / b;
  return a % b !== 0n && a < 0n !== b < 0n ? q - 1n : q;
}

/** An inclusive millisecond range as [startNs, endNs) covering every nanosecond of its last millisecond. */
function rangeNs(range: TimeRange): [bigint, bigint] {
  return [BigInt(Math.floor(range.startMs)) * 1_000_000n, (BigInt(Math.floor(range.endMs)) + 1n) * 1_000_000n];
}
