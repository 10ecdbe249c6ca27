import type { DuckDBConnection } from '@duckdb/node-api';
import { quoteString } from '../columnar/index.ts';
import type { Attribute, AttributeScalar, InstrumentationScope, Span, SpanKind, SpanStatusCode, TenantId } from '../model/index.ts';
import type { AttributeScope, SpanCountParams, SpanCountRow, StoredSpan, TraceTimeRange } from '../storage/index.ts';
import { RESOURCE_COLUMNS, SPAN_COLUMNS, attributesOf, joinAttributes } from './block-columns.ts';
import type { AttrRow } from './block-columns.ts';
import { listKeysOfRows, listKeysSql, unionListKeys } from './block-index-cache.ts';
import type { BlockIndexCache, ListKeys } from './block-index-cache.ts';
import type { BlockInfo } from './catalog.ts';
import { conditionsSql } from './condition-sql.ts';
import { valueKey } from './head-source.ts';
import { isIntrinsicTag } from './span-source.ts';
import type { Prefilter, SpanSource, TagScope } from './span-source.ts';
import { bloomMayContain } from './trace-id-bloom.ts';
import { TraceRecordsIndex, readTraceRecords } from './trace-records.ts';

/** Counters of what block reads touched (tests assert the trace-id index keeps trace-by-id narrow). */
export interface BlockReadStats {
  /** Blocks a trace-by-id-style read (few ids) read spans from. */
  blocksRead: number;
  /** Trace records regions (one per trace and block) such reads read. */
  recordsRead: number;
  /** Row groups whose trace-id range admits a requested id, in the blocks without trace records such reads read. */
  rowGroupsRead: number;
}

/** Id sets up to this size are listed in a search's SQL; larger ones are filtered after reading. */
const MAX_LISTED_IDS = 5000;

/** Id sets up to this size are checked against each block's bloom filter before its index or file is read. */
const BLOOM_MAX_IDS = 16;

/**
 * The blocks of one catalog snapshot as a {@link SpanSource}. Spans of given traces come from the blocks' trace
 * records (blocks chosen by trace-id range, bloom filter and records index, all cached); everything else is read
 * with DuckDB straight from the Parquet files: time ranges and the prefilter are pushed into SQL and blocks are
 * chosen by their time bounds. One DuckDB connection per source (one read of a querier), opened when first needed
 * and closed by `close`, so a read runs independently of cuts.
 */
export class BlockSource implements SpanSource {
  private conn: Promise<DuckDBConnection> | undefined;

  constructor(
    private readonly blocks: readonly BlockInfo[],
    private readonly connect: () => Promise<DuckDBConnection>,
    private readonly indexes: BlockIndexCache,
    private readonly stats: BlockReadStats,
  ) {}

  /** Closes the connection, if one was opened (no read of this source may be running). */
  async close(): Promise<void> {
    const conn = this.conn;
    this.conn = undefined;
    if (conn) (await conn).closeSync();
  }

  async idsInRange(tenant: TenantId, startNs: bigint, endNs: bigint, signal?: AbortSignal, only?: ReadonlySet<string>): Promise<Map<string, bigint>> {
    const out = new Map<string, bigint>();
    if (only?.size === 0) return out;
    const blocks = this.inRange(tenant, { startNs, endNs });
    if (blocks.length === 0) return out;
    // A few ids go into the SQL (DuckDB skips row groups by their id statistics); many are filtered here.
    const listed = only !== undefined && only.size <= MAX_LISTED_IDS ? [...only].sort() : undefined;
    const ids = listed ? ` AND trace_id BETWEEN ${quoteString(listed[0]!)} AND ${quoteString(listed.at(-1)!)} AND trace_id IN (${listed.map(quoteString).join(', ')})` : '';
    const sql = `SELECT trace_id, min(trace_start_ns) FROM read_parquet(${fileList(blocks)}) WHERE start_ns >= ${startNs} AND start_ns < ${endNs}${ids} GROUP BY trace_id`;
    for (const [id, start] of await this.query(sql, signal, false)) {
      if (only === undefined || only.has(String(id))) out.set(String(id), start as bigint);
    }
    return out;
  }

  async idsMatching(tenant: TenantId, filter: Prefilter, near: TraceTimeRange, range: TraceTimeRange, signal?: AbortSignal): Promise<Map<string, bigint | undefined>> {
    const out = new Map<string, bigint | undefined>();
    const blocks = this.inRange(tenant, near);
    if (blocks.length === 0) return out;
    const keys = filter.conditions.some((c) => c.scope === 'span' || c.scope === 'resource' || c.scope === 'any') ? await this.listKeys(blocks, signal) : undefined;
    // One pass: the matching traces, and for those with a matching span in the range their start bound (a
    // separate pass over the range's ids costs a full group-by once the matches are too many to list).
    const inSelectRange = `start_ns >= ${range.startNs} AND start_ns < ${range.endNs}`;
    const sql =
      `SELECT trace_id, min(trace_start_ns) FILTER (WHERE ${inSelectRange}) FROM read_parquet(${fileList(blocks)}) ` +
      `WHERE start_ns >= ${near.startNs} AND start_ns < ${near.endNs} AND (${conditionsSql(filter.conditions, filter.match, keys)}) GROUP BY trace_id`;
    for (const [id, bound] of await this.query(sql, signal, false)) out.set(String(id), bound === null ? undefined : (bound as bigint));
    return out;
  }

  /** The keys the span and resource lists of `blocks` hold (cached per block: blocks are immutable). */
  private async listKeys(blocks: readonly BlockInfo[], signal: AbortSignal | undefined): Promise<ListKeys> {
    const all: ListKeys[] = [];
    for (const b of blocks) {
      const load = async (): Promise<ListKeys> => listKeysOfRows(await this.query(listKeysSql(fileList([b])), signal, false));
      // A load shared with another read fails with that read (its abort, its closed connection): then this one loads.
      all.push(await this.indexes.listKeys(b, load).catch(load));
    }
    return unionListKeys(all);
  }

  async spansOf(tenant: TenantId, ids: ReadonlySet<string>, range?: TraceTimeRange, signal?: AbortSignal): Promise<Map<string, StoredSpan[]>> {
    const out = new Map<string, StoredSpan[]>();
    if (ids.size === 0) return out;
    const sorted = [...ids].sort();
    const lo = sorted[0]!;
    const hi = sorted[sorted.length - 1]!;
    const few = sorted.length <= BLOOM_MAX_IDS;
    const add = (spans: readonly StoredSpan[]): void => {
      for (const s of spans) {
        let list = out.get(s.span.traceId);
        if (!list) out.set(s.span.traceId, (list = []));
        list.push(s);
      }
    };
    const viaParquet: BlockInfo[] = [];
    for (const b of this.blocks) {
      if (b.tenant !== tenant || b.maxTraceId < lo || b.minTraceId > hi) continue;
      if (range && (b.maxEndNs < range.startNs || b.minStartNs >= range.endNs)) continue;
      signal?.throwIfAborted();
      let wanted = sorted.filter((id) => id >= b.minTraceId && id <= b.maxTraceId);
      // The bloom filter (12 bits a trace) spares loading a bigger index for blocks that hold none of a few ids.
      if (few) {
        const bloom = await this.indexes.bloom(b);
        wanted = wanted.filter((id) => bloomMayContain(bloom, id));
      }
      if (wanted.length === 0) continue;
      if (b.recordsBytes > 0) {
        // The records index knows exactly which traces the block holds: one region read per trace it has.
        const index = await this.indexes.records(b);
        let regions = 0;
        for (const id of wanted) {
          const region = index.find(id);
          if (region === undefined) continue;
          add(await readTraceRecords(b.recordsPath, region));
          regions++;
        }
        if (few && regions > 0) {
          this.stats.blocksRead++;
          this.stats.recordsRead += regions;
        }
        continue;
      }
      // A block without trace records (format 2): the row groups whose id range holds a requested id.
      let groups = 0;
      for (const g of b.rowGroups) if (g.lastTraceId >= lo && g.firstTraceId <= hi && wanted.some((id) => id >= g.firstTraceId && id <= g.lastTraceId)) groups++;
      if (groups === 0) continue;
      if (few) {
        this.stats.blocksRead++;
        this.stats.rowGroupsRead += groups;
      }
      viaParquet.push(b);
    }
    if (viaParquet.length === 0) return out;
    const idList = sorted.map(quoteString).join(', ');
    const sql =
      `SELECT * FROM read_parquet(${fileList(viaParquet)}) ` +
      `WHERE trace_id BETWEEN ${quoteString(lo)} AND ${quoteString(hi)} AND trace_id IN (${idList})`;
    const shared = new SharedParts();
    add((await this.query(sql, signal)).map((row) => decodeSpan(row, shared)));
    return out;
  }

  /**
   * The count as one aggregate query over the blocks in range: DuckDB groups, nothing is decoded per span. A span
   * stored in several blocks (a client's retry after a cut) counts once. The conditions' SQL is exact for scalar
   * values; a span with an array value under a key they name makes the answer undefined (the engine reads traces).
   */
  async countSpans(tenant: TenantId, p: SpanCountParams, counted?: ReadonlyMap<string, ReadonlySet<string>>): Promise<SpanCountRow[] | undefined> {
    // The querier counts the blocks in full (the head leaves out what they hold).
    if (counted !== undefined && counted.size > 0) throw new Error('block source: counts leaving out spans are not supported');
    const blocks = this.inRange(tenant, { startNs: p.fromNs + 1n, endNs: p.toNs + 1n });
    if (blocks.length === 0) return [];
    // A group-by key the blocks' lists never hold is read from its dedicated column alone: the per-row list scan
    // is most of a grouped count's cost.
    const keys = p.groupBy.length > 0 || (p.conditions ?? []).some((c) => c.scope === 'span' || c.scope === 'resource' || c.scope === 'any') ? await this.listKeys(blocks, p.signal) : undefined;
    const groupCols = p.groupBy.flatMap((g, i) => {
      const cols = g.scope === 'span' ? SPAN_COLUMNS : RESOURCE_COLUMNS;
      const dedicated = cols.find((c) => c.key === g.name);
      const inLists = keys === undefined || (g.scope === 'span' ? keys.span : keys.resource).has(g.name);
      const list = inLists ? `list_filter(${g.scope === 'span' ? 'span_attrs' : 'resource_attrs'}, lambda x: x.k = ${quoteString(g.name)})[1]` : 'NULL';
      return [`${dedicated ? dedicated.column : 'NULL'} AS d${i}`, `${list} AS l${i}`];
    });
    const conditions = p.conditions ?? [];
    // Arrays live in the lists only: a key the lists lack has none.
    const arrays = conditions.flatMap((c) =>
      (c.scope === 'span' || c.scope === 'resource') && (keys === undefined || keys[c.scope].has(c.name))
        ? [`len(list_filter(${c.scope}_attrs, lambda x: x.k = ${quoteString(c.name)} AND x.a IS NOT NULL)) > 0`]
        : [],
    );
    const arrayFlag = arrays.length > 0 ? `(${arrays.join(' OR ')})` : 'FALSE';
    const where = conditions.length > 0 ? ` AND (${conditionsSql(conditions, 'all', keys)} OR ${arrayFlag})` : '';
    // One row per (trace id, span id) first: a retried span cut into two blocks counts once. Only traces that
    // several blocks hold can repeat a span, so only their rows go through the (costly) DISTINCT.
    const cols = `trace_id, span_id, start_ns, ${arrayFlag} AS arr${groupCols.map((c) => `, ${c}`).join('')}`;
    const from = `FROM read_parquet(${fileList(blocks)}) WHERE start_ns > ${p.fromNs} AND start_ns <= ${p.toNs}${where}`;
    const repeated = await this.tracesInSeveral(blocks);
    let spans: string;
    if (repeated === undefined || repeated.size > MAX_LISTED_IDS) spans = `SELECT DISTINCT ON (trace_id, span_id) ${cols} ${from}`;
    else if (repeated.size === 0) spans = `SELECT ${cols} ${from}`;
    else {
      const list = [...repeated].map(quoteString).join(', ');
      spans = `SELECT ${cols} ${from} AND trace_id NOT IN (${list}) UNION ALL SELECT DISTINCT ON (trace_id, span_id) ${cols} ${from} AND trace_id IN (${list})`;
    }
    const sql =
      `SELECT (start_ns - ${p.fromNs} - 1) // ${p.stepNs} AS iv${p.groupBy.map((_g, i) => `, d${i}, l${i}`).join('')}, count(*) AS n, bool_or(arr) AS arr, ` +
      `arg_min(trace_id, start_ns) AS xt, arg_min(span_id, start_ns) AS xs, min(start_ns) AS xts FROM (${spans}) GROUP BY ALL`;
    const rows = await this.query(sql, p.signal);
    if (rows.some((r) => r.arr === true)) return undefined;
    return rows.map((r) => ({
      interval: Number(r.iv),
      values: p.groupBy.map((_g, i) => {
        const d = r[`d${i}`];
        if (d !== null && d !== undefined) return typeof d === 'bigint' ? Number(d) : (d as string);
        const l = r[`l${i}`] as AttrRow | null;
        return l === null ? undefined : attributesOf([l])[0]!.value;
      }),
      count: Number(r.n),
      exemplar: { traceId: r.xt as string, spanId: idHex(r.xs), startNs: r.xts as bigint },
    }));
  }

  /**
   * The traces more than one of `blocks` holds (their records indexes say exactly), or undefined when that cannot
   * tell which spans may repeat: a block without trace records, or one written before format 5, whose merges kept a
   * span stored in two inputs twice.
   */
  private async tracesInSeveral(blocks: readonly BlockInfo[]): Promise<Set<string> | undefined> {
    if (blocks.some((b) => b.recordsBytes === 0 || b.listKeys === undefined)) return undefined;
    if (blocks.length === 1) return new Set();
    const indexes = [];
    for (const b of blocks) indexes.push(await this.indexes.records(b));
    return TraceRecordsIndex.idsInSeveral(indexes);
  }

  async tagNames(tenant: TenantId, scope: TagScope, range?: TraceTimeRange): Promise<Set<string>> {
    const names = new Set<string>();
    const blocks = this.inRange(tenant, range);
    if (blocks.length === 0) return names;
    const from = `read_parquet(${fileList(blocks)})${rangeWhere(range)}`;
    const keys: Record<TagScope, string> = {
      span: 'list_transform(span_attrs, lambda x: x.k)',
      resource: 'list_transform(resource_attrs, lambda x: x.k)',
      instrumentation: 'list_transform(coalesce(scope_attrs, []), lambda x: x.k)',
      event: 'flatten(list_transform(coalesce(events, []), lambda e: list_transform(coalesce(e.attrs, []), lambda x: x.k)))',
      link: 'flatten(list_transform(coalesce(links, []), lambda l: list_transform(coalesce(l.attrs, []), lambda x: x.k)))',
    };
    for (const [k] of await this.query(`SELECT DISTINCT unnest(${keys[scope]}) FROM ${from}`, undefined, false)) names.add(String(k));
    const cols = scope === 'span' ? SPAN_COLUMNS : scope === 'resource' ? RESOURCE_COLUMNS : [];
    if (cols.length > 0) {
      const [counts] = await this.query(`SELECT ${cols.map((c) => `count(${c.column})`).join(', ')} FROM ${from}`, undefined, false);
      cols.forEach((c, i) => {
        if (Number((counts as unknown[])[i]) > 0) names.add(c.key);
      });
    }
    return names;
  }

  async tagValues(
    tenant: TenantId,
    scope: AttributeScope,
    name: string,
    range: TraceTimeRange | undefined,
    limit: number,
    into: Map<string, AttributeScalar>,
  ): Promise<void> {
    const blocks = this.inRange(tenant, range);
    if (blocks.length === 0 || into.size >= limit) return;
    const from = `read_parquet(${fileList(blocks)})${rangeWhere(range)}`;
    const add = (v: AttributeScalar): void => {
      if (into.size < limit) into.set(valueKey(v), v);
    };
    if (scope === 'intrinsic') {
      if (!isIntrinsicTag(name)) return;
      const expr: Record<typeof name, string> = {
        name: 'name',
        statusMessage: 'status_message',
        'trace:rootService': 'root_service',
        'trace:rootName': 'root_name',
        'event:name': 'unnest(list_transform(coalesce(events, []), lambda e: e.name))',
        'instrumentation:name': 'scope_name',
        'instrumentation:version': 'scope_version',
      };
      const rows = await this.query(`SELECT DISTINCT v FROM (SELECT ${expr[name]} AS v FROM ${from}) WHERE v IS NOT NULL AND v <> '' ORDER BY v LIMIT ${limit}`, undefined, false);
      for (const [v] of rows) add(String(v));
      return;
    }
    const scopes: TagScope[] = scope === 'any' ? ['span', 'resource'] : [scope];
    for (const sc of scopes) {
      const cols = sc === 'span' ? SPAN_COLUMNS : sc === 'resource' ? RESOURCE_COLUMNS : [];
      const col = cols.find((c) => c.key === name);
      if (col) {
        const notNull = `${range ? ' AND' : ' WHERE'} ${col.column} IS NOT NULL`;
        const rows = await this.query(`SELECT DISTINCT ${col.column} FROM ${from}${notNull} ORDER BY 1 LIMIT ${limit}`, undefined, false);
        for (const [v] of rows) add(typeof v === 'bigint' ? Number(v) : String(v));
      }
      const lists: Record<TagScope, string> = {
        span: 'span_attrs',
        resource: 'resource_attrs',
        instrumentation: 'coalesce(scope_attrs, [])',
        event: 'flatten(list_transform(coalesce(events, []), lambda e: coalesce(e.attrs, [])))',
        link: 'flatten(list_transform(coalesce(links, []), lambda l: coalesce(l.attrs, [])))',
      };
      const rows = await this.query(
        `SELECT DISTINCT x.k, x.s, x.n, x.b, x.a FROM (SELECT unnest(list_filter(${lists[sc]}, lambda x: x.k = ${quoteString(name)})) AS x FROM ${from}) ORDER BY x.s, x.n, x.b, x.a LIMIT ${limit}`,
        undefined,
        false,
      );
      for (const [k, s, n, b, a] of rows) {
        const v = attributesOf([{ k, s, n, b, a } as AttrRow])[0]!.value;
        if (Array.isArray(v)) for (const e of v as AttributeScalar[]) add(e);
        else add(v as AttributeScalar);
      }
    }
  }

  private inRange(tenant: TenantId, range: TraceTimeRange | undefined): BlockInfo[] {
    return this.blocks.filter((b) => b.tenant === tenant && (!range || (b.maxStartNs >= range.startNs && b.minStartNs < range.endNs)));
  }

  /** Runs a read on the source's connection; `objects` returns row objects (column name → value). */
  private async query(sql: string, signal: AbortSignal | undefined, objects?: true): Promise<Record<string, unknown>[]>;
  private async query(sql: string, signal: AbortSignal | undefined, objects: false): Promise<unknown[][]>;
  private async query(sql: string, signal: AbortSignal | undefined, objects = true): Promise<Record<string, unknown>[] | unknown[][]> {
    signal?.throwIfAborted();
    this.conn ??= this.connect();
    const conn = await this.conn;
    const onAbort = (): void => conn.interrupt();
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      const r = await conn.runAndReadAll(sql);
      signal?.throwIfAborted();
      return objects ? (r.getRowObjectsJS()) : (r.getRowsJS());
    } finally {
      signal?.removeEventListener('abort', onAbort);
    }
  }
}

function fileList(blocks: readonly BlockInfo[]): string {
  return `[${blocks.map((b) => quoteString(b.path)).join(', ')}]`;
}

function rangeWhere(range: TraceTimeRange | undefined): string {
  return range ? ` WHERE start_ns >= ${range.startNs} AND start_ns < ${range.endNs}` : '';
}

const idHex = (v: unknown): string => Buffer.from(v as Uint8Array).toString('hex');

/**
 * Resources and scopes decoded for one read, shared by the spans that have equal ones: as written, one object per
 * resource and scope, so consumers grouping spans by resource (the Tempo API's batches) see them together.
 */
class SharedParts {
  private readonly resources = new Map<string, Attribute[]>();
  private readonly scopes = new Map<string, InstrumentationScope>();

  resource(r: Record<string, unknown>): Attribute[] {
    const values = RESOURCE_COLUMNS.map((c) => r[c.column]);
    const key = JSON.stringify([r.resource_attrs, values, r.resource_attr_slots], jsonSafe);
    let out = this.resources.get(key);
    if (!out) {
      out = joinAttributes(attributesOf(r.resource_attrs as AttrRow[]), RESOURCE_COLUMNS, values, r.resource_attr_slots as string | null);
      this.resources.set(key, out);
    }
    return out;
  }

  scope(r: Record<string, unknown>): InstrumentationScope {
    const key = JSON.stringify([r.scope_name, r.scope_version, r.scope_attrs], jsonSafe);
    let out = this.scopes.get(key);
    if (!out) {
      const attrs = r.scope_attrs as AttrRow[] | null;
      out = {
        name: r.scope_name as string,
        ...(r.scope_version !== null ? { version: r.scope_version as string } : {}),
        ...(attrs !== null ? { attributes: attributesOf(attrs) } : {}),
      };
      this.scopes.set(key, out);
    }
    return out;
  }
}

/** JSON of decoded cells for a map key: bigints as text, non-finite doubles by name. */
function jsonSafe(_k: string, v: unknown): unknown {
  if (typeof v === 'bigint') return `${v}n`;
  if (typeof v === 'number' && !Number.isFinite(v)) return String(v);
  return v;
}

/** A block row back as the span and resource it was written from (docs/formats/tracestore.md, "Blocks"). */
function decodeSpan(r: Record<string, unknown>, shared: SharedParts): StoredSpan {
  const resource = shared.resource(r);
  const attributes = joinAttributes(attributesOf(r.span_attrs as AttrRow[]), SPAN_COLUMNS, SPAN_COLUMNS.map((c) => r[c.column]), r.span_attr_slots as string | null);
  const start = r.start_ns as bigint;
  const events = r.events as { time_ns: bigint; name: string; attrs: AttrRow[] | null }[] | null;
  const links = r.links as { trace_id: Uint8Array; span_id: Uint8Array; trace_state: string | null; attrs: AttrRow[] | null }[] | null;
  const span: Span = {
    traceId: r.trace_id as string,
    spanId: idHex(r.span_id),
    ...(r.parent_span_id !== null ? { parentSpanId: idHex(r.parent_span_id) } : {}),
    ...(r.trace_state !== null ? { traceState: r.trace_state as string } : {}),
    name: r.name as string,
    kind: r.kind as SpanKind,
    startTimeUnixNs: start,
    endTimeUnixNs: start + (r.duration_ns as bigint),
    attributes,
    statusCode: r.status_code as SpanStatusCode,
    ...(r.status_message !== null ? { statusMessage: r.status_message as string } : {}),
    ...(events !== null
      ? { events: events.map((e) => ({ timeUnixNs: e.time_ns, name: e.name, ...(e.attrs !== null ? { attributes: attributesOf(e.attrs) } : {}) })) }
      : {}),
    ...(links !== null
      ? {
          links: links.map((l) => ({
            traceId: idHex(l.trace_id),
            spanId: idHex(l.span_id),
            ...(l.trace_state !== null ? { traceState: l.trace_state } : {}),
            ...(l.attrs !== null ? { attributes: attributesOf(l.attrs) } : {}),
          })),
        }
      : {}),
    scope: shared.scope(r),
    ...(r.dropped_attributes !== null ? { droppedAttributesCount: r.dropped_attributes as number } : {}),
    ...(r.dropped_events !== null ? { droppedEventsCount: r.dropped_events as number } : {}),
    ...(r.dropped_links !== null ? { droppedLinksCount: r.dropped_links as number } : {}),
  };
  return { span, resource };
}
