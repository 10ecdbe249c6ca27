import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { DuckDBAppender, DuckDBConnection } from '@duckdb/node-api';
import { quoteString } from '../columnar/index.ts';
import type { Attribute } from '../model/index.ts';
import { publishFileDurably, writeFileDurably } from '../objstore/index.ts';
import type { StoredSpan } from '../storage/index.ts';
import { ATTR_TYPE, RESOURCE_COLUMNS, SPAN_COLUMNS, attrCells, columnIndex, splitAttributes } from './block-columns.ts';
import type { BlockInfo, RowGroupRange } from './catalog.ts';
import { FORMAT_VERSION } from './format.ts';
import { rootSpan, serviceName } from './head-source.ts';
import { buildTraceIdBloom } from './trace-id-bloom.ts';

/** One trace's spans going into a block. */
interface BlockTrace {
  readonly traceId: string;
  readonly spans: readonly StoredSpan[];
}

/** Where a new block goes and what it records beyond what its spans give. */
export type BlockTarget = Pick<BlockInfo, 'seq' | 'tenant' | 'windowStartMs' | 'key' | 'path' | 'bloomPath' | 'walSegment' | 'level'>;

const RESOURCE_INDEX = columnIndex(RESOURCE_COLUMNS);
const SPAN_INDEX = columnIndex(SPAN_COLUMNS);
/** Attribute owners in the staging table. */
const SCOPE_SPAN = 0;
const SCOPE_RESOURCE = 1;
const SCOPE_INSTRUMENTATION = 2;
const SCOPE_EVENT = 3;
const SCOPE_LINK = 4;

const dedicatedDefs = (cols: typeof SPAN_COLUMNS): string => cols.map((c) => `, ${c.column} ${c.type}`).join('');

/*
 * Staging: spans are appended flat (one row per span, attribute, event and link) into temporary tables on the
 * writer's connection, then one `COPY (SELECT ...)` nests them into the block's columns, sorted by trace id
 * then start. Flat appends are what DuckDB's appender does fastest; the nesting runs vectorised in SQL.
 */
const STAGE_TABLES = [
  `CREATE TEMP TABLE IF NOT EXISTS st_span (row INTEGER, res INTEGER, trace_id VARCHAR, span_id BLOB, parent_span_id BLOB,
    trace_state VARCHAR, name VARCHAR, kind UTINYINT, start_ns BIGINT, end_ns BIGINT, status_code UTINYINT,
    status_message VARCHAR, scope_name VARCHAR, scope_version VARCHAR, has_scope_attrs BOOLEAN, has_events BOOLEAN,
    has_links BOOLEAN, dropped_attributes INTEGER, dropped_events INTEGER, dropped_links INTEGER,
    root_service VARCHAR, root_name VARCHAR, trace_start_ns BIGINT, trace_end_ns BIGINT, span_attr_slots VARCHAR${dedicatedDefs(SPAN_COLUMNS)})`,
  `CREATE TEMP TABLE IF NOT EXISTS st_res (res INTEGER, resource_attr_slots VARCHAR${dedicatedDefs(RESOURCE_COLUMNS)})`,
  'CREATE TEMP TABLE IF NOT EXISTS st_attr (owner INTEGER, scope UTINYINT, sub INTEGER, pos INTEGER, k VARCHAR, s VARCHAR, n DOUBLE, b BOOLEAN, a VARCHAR)',
  'CREATE TEMP TABLE IF NOT EXISTS st_event (row INTEGER, idx INTEGER, time_ns BIGINT, name VARCHAR, has_attrs BOOLEAN)',
  'CREATE TEMP TABLE IF NOT EXISTS st_link (row INTEGER, idx INTEGER, trace_id BLOB, span_id BLOB, trace_state VARCHAR, has_attrs BOOLEAN)',
];

/** The block's columns, nested from the staging tables and sorted (docs/formats/tracestore.md, "Blocks"). */
function blockSelect(): string {
  const list = `${ATTR_TYPE}[]`;
  const attrs = (scope: number, alias: string): string => `LEFT JOIN a ${alias} ON ${alias}.scope = ${scope} AND ${alias}.owner = ${scope === SCOPE_RESOURCE ? 's.res' : 's.row'}`;
  return `WITH a AS (
      SELECT owner, scope, sub, list({'k': k, 's': s, 'n': n, 'b': b, 'a': a} ORDER BY pos) AS l FROM st_attr GROUP BY owner, scope, sub),
    ev AS (
      SELECT e.row, list({'time_ns': e.time_ns, 'name': e.name, 'attrs': CASE WHEN e.has_attrs THEN coalesce(x.l, []::${list}) END} ORDER BY e.idx) AS l
      FROM st_event e LEFT JOIN a x ON x.scope = ${SCOPE_EVENT} AND x.owner = e.row AND x.sub = e.idx GROUP BY e.row),
    lk AS (
      SELECT k.row, list({'trace_id': k.trace_id, 'span_id': k.span_id, 'trace_state': k.trace_state,
        'attrs': CASE WHEN k.has_attrs THEN coalesce(x.l, []::${list}) END} ORDER BY k.idx) AS l
      FROM st_link k LEFT JOIN a x ON x.scope = ${SCOPE_LINK} AND x.owner = k.row AND x.sub = k.idx GROUP BY k.row)
    SELECT s.trace_id, s.root_service, s.root_name, s.trace_start_ns, s.trace_end_ns - s.trace_start_ns AS trace_duration_ns,
      s.span_id, s.parent_span_id, s.trace_state, s.name, s.kind, s.start_ns, s.end_ns - s.start_ns AS duration_ns,
      s.status_code, s.status_message, s.scope_name, s.scope_version,
      CASE WHEN s.has_scope_attrs THEN coalesce(ia.l, []::${list}) END AS scope_attrs,
      s.dropped_attributes, s.dropped_events, s.dropped_links,
      ${RESOURCE_COLUMNS.map((c) => `r.${c.column}`).join(', ')}, r.resource_attr_slots, coalesce(ra.l, []::${list}) AS resource_attrs,
      ${SPAN_COLUMNS.map((c) => `s.${c.column}`).join(', ')}, s.span_attr_slots, coalesce(sa.l, []::${list}) AS span_attrs,
      CASE WHEN s.has_events THEN coalesce(ev.l, []) END AS events,
      CASE WHEN s.has_links THEN coalesce(lk.l, []) END AS links
    FROM st_span s JOIN st_res r ON r.res = s.res
      ${attrs(SCOPE_SPAN, 'sa')} AND sa.sub = 0
      ${attrs(SCOPE_RESOURCE, 'ra')} AND ra.sub = 0
      ${attrs(SCOPE_INSTRUMENTATION, 'ia')} AND ia.sub = 0
      LEFT JOIN ev ON ev.row = s.row LEFT JOIN lk ON lk.row = s.row
    ORDER BY s.trace_id, s.start_ns, s.span_id`;
}

const hex = (id: string): Buffer => Buffer.from(id, 'hex');

/**
 * Writes blocks on one DuckDB connection (its temporary staging tables are the connection's own). Not for
 * concurrent use: the trace store runs cuts one at a time.
 */
export class BlockWriter {
  private prepared = false;

  constructor(
    private readonly conn: DuckDBConnection,
    private readonly rowGroupSpans: number,
  ) {}

  /**
   * Writes `traces` into a block at `target`: the Parquet file and its trace-id bloom filter, each durable
   * (temp file, fsync, rename, directory fsync) when this resolves; registering it is the caller's. A failure
   * removes what was written.
   */
  async write(target: BlockTarget, traces: readonly BlockTrace[]): Promise<BlockInfo> {
    if (!this.prepared) {
      for (const sql of STAGE_TABLES) await this.conn.run(sql);
      this.prepared = true;
    }
    const sorted = [...traces].sort((a, b) => (a.traceId < b.traceId ? -1 : a.traceId > b.traceId ? 1 : 0));
    let stats: Omit<BlockStats, 'rowGroups'>;
    try {
      stats = await this.stage(sorted);
      await fs.mkdir(path.dirname(target.path), { recursive: true });
      await publishFileDurably(target.path, async (tmp) => {
        await this.conn.run(
          `COPY (${blockSelect()}) TO ${quoteString(tmp)} (FORMAT parquet, PARQUET_VERSION V2, COMPRESSION zstd, COMPRESSION_LEVEL 3, ` +
            `ROW_GROUP_SIZE ${this.rowGroupSpans}, KV_METADATA {heimdall_traces_format: '${FORMAT_VERSION}'})`,
        );
      });
    } finally {
      await this.clearStage();
    }
    try {
      const rowGroups = await this.rowGroups(target.path, sorted);
      const bloom = buildTraceIdBloom(
        sorted.map((t) => t.traceId),
        sorted.length,
      );
      await writeFileDurably(target.bloomPath, bloom);
      const sizeBytes = (await fs.stat(target.path)).size + bloom.length;
      return {
        ...target,
        ...stats,
        rowGroups,
        sizeBytes,
        bloomBlocks: bloom.readUInt32LE(4),
        traces: sorted.length,
        minTraceId: sorted[0]!.traceId,
        maxTraceId: sorted[sorted.length - 1]!.traceId,
      };
    } catch (err) {
      await removeBlockFiles(target);
      throw err;
    }
  }

  /** The trace ids each row group holds: rows are sorted by trace id, so each covers a contiguous run. */
  private async rowGroups(file: string, sorted: readonly BlockTrace[]): Promise<RowGroupRange[]> {
    const r = await this.conn.runAndReadAll(
      `SELECT row_group_num_rows FROM parquet_metadata(${quoteString(file)}) WHERE path_in_schema = 'trace_id' ORDER BY row_group_id`,
    );
    const out: RowGroupRange[] = [];
    let t = 0;
    let usedOfT = 0;
    for (const [rowsV] of r.getRows()) {
      const rows = Number(rowsV);
      let left = rows;
      const first = sorted[t]!.traceId;
      let last = first;
      while (left > 0) {
        const trace = sorted[t]!;
        const take = Math.min(left, trace.spans.length - usedOfT);
        last = trace.traceId;
        left -= take;
        usedOfT += take;
        if (usedOfT === trace.spans.length) {
          t++;
          usedOfT = 0;
        }
      }
      out.push({ firstTraceId: first, lastTraceId: last, spans: rows });
    }
    return out;
  }

  private async stage(sorted: readonly BlockTrace[]): Promise<{ spans: number; minStartNs: bigint; maxStartNs: bigint; maxEndNs: bigint }> {
    const spanApp = await this.conn.createAppender('st_span', 'main', 'temp');
    const resApp = await this.conn.createAppender('st_res', 'main', 'temp');
    const attrApp = await this.conn.createAppender('st_attr', 'main', 'temp');
    const eventApp = await this.conn.createAppender('st_event', 'main', 'temp');
    const linkApp = await this.conn.createAppender('st_link', 'main', 'temp');
    try {
      const resources = new Map<readonly Attribute[], number>();
      let row = 0;
      let minStartNs = sorted[0]!.spans[0]!.span.startTimeUnixNs;
      let maxStartNs = minStartNs;
      let maxEndNs = sorted[0]!.spans[0]!.span.endTimeUnixNs;
      for (const trace of sorted) {
        const root = rootSpan(trace.spans);
        let traceStart = trace.spans[0]!.span.startTimeUnixNs;
        let traceEnd = trace.spans[0]!.span.endTimeUnixNs;
        for (const { span } of trace.spans) {
          if (span.startTimeUnixNs < traceStart) traceStart = span.startTimeUnixNs;
          if (span.endTimeUnixNs > traceEnd) traceEnd = span.endTimeUnixNs;
        }
        if (traceStart < minStartNs) minStartNs = traceStart;
        if (traceEnd > maxEndNs) maxEndNs = traceEnd;
        for (const { span, resource } of trace.spans) {
          if (span.startTimeUnixNs > maxStartNs) maxStartNs = span.startTimeUnixNs;
          let res = resources.get(resource);
          if (res === undefined) {
            res = resources.size;
            resources.set(resource, res);
            const split = splitAttributes(resource, RESOURCE_COLUMNS, RESOURCE_INDEX);
            resApp.appendInteger(res);
            appendNullable(resApp, split.slots);
            for (let c = 0; c < RESOURCE_COLUMNS.length; c++) appendNullable(resApp, split.dedicated[c] ?? null);
            resApp.endRow();
            appendAttrs(attrApp, res, SCOPE_RESOURCE, 0, split.rest);
          }
          const split = splitAttributes(span.attributes, SPAN_COLUMNS, SPAN_INDEX);
          spanApp.appendInteger(row);
          spanApp.appendInteger(res);
          spanApp.appendVarchar(span.traceId);
          spanApp.appendBlob(hex(span.spanId));
          appendNullable(spanApp, span.parentSpanId === undefined ? null : hex(span.parentSpanId));
          appendNullable(spanApp, span.traceState ?? null);
          spanApp.appendVarchar(span.name);
          spanApp.appendUTinyInt(span.kind);
          spanApp.appendBigInt(span.startTimeUnixNs);
          spanApp.appendBigInt(span.endTimeUnixNs);
          spanApp.appendUTinyInt(span.statusCode);
          appendNullable(spanApp, span.statusMessage ?? null);
          spanApp.appendVarchar(span.scope.name);
          appendNullable(spanApp, span.scope.version ?? null);
          spanApp.appendBoolean(span.scope.attributes !== undefined);
          spanApp.appendBoolean(span.events !== undefined);
          spanApp.appendBoolean(span.links !== undefined);
          appendNullableInt(spanApp, span.droppedAttributesCount);
          appendNullableInt(spanApp, span.droppedEventsCount);
          appendNullableInt(spanApp, span.droppedLinksCount);
          appendNullable(spanApp, root ? (serviceName(root.resource) ?? null) : null);
          appendNullable(spanApp, root ? root.span.name : null);
          spanApp.appendBigInt(traceStart);
          spanApp.appendBigInt(traceEnd);
          appendNullable(spanApp, split.slots);
          for (let c = 0; c < SPAN_COLUMNS.length; c++) appendNullable(spanApp, split.dedicated[c] ?? null);
          spanApp.endRow();
          appendAttrs(attrApp, row, SCOPE_SPAN, 0, split.rest);
          if (span.scope.attributes) appendAttrs(attrApp, row, SCOPE_INSTRUMENTATION, 0, span.scope.attributes);
          span.events?.forEach((e, i) => {
            eventApp.appendInteger(row);
            eventApp.appendInteger(i);
            eventApp.appendBigInt(e.timeUnixNs);
            eventApp.appendVarchar(e.name);
            eventApp.appendBoolean(e.attributes !== undefined);
            eventApp.endRow();
            if (e.attributes) appendAttrs(attrApp, row, SCOPE_EVENT, i, e.attributes);
          });
          span.links?.forEach((l, i) => {
            linkApp.appendInteger(row);
            linkApp.appendInteger(i);
            linkApp.appendBlob(hex(l.traceId));
            linkApp.appendBlob(hex(l.spanId));
            appendNullable(linkApp, l.traceState ?? null);
            linkApp.appendBoolean(l.attributes !== undefined);
            linkApp.endRow();
            if (l.attributes) appendAttrs(attrApp, row, SCOPE_LINK, i, l.attributes);
          });
          row++;
        }
      }
      for (const app of [spanApp, resApp, attrApp, eventApp, linkApp]) app.flushSync();
      return { spans: row, minStartNs, maxStartNs, maxEndNs };
    } finally {
      for (const app of [spanApp, resApp, attrApp, eventApp, linkApp]) {
        try {
          app.closeSync();
        } catch {
          // A failed appender may refuse to close; the staging tables are cleared either way.
        }
      }
    }
  }

  private async clearStage(): Promise<void> {
    for (const t of ['st_span', 'st_res', 'st_attr', 'st_event', 'st_link']) await this.conn.run(`DELETE FROM ${t}`);
  }
}

type BlockStats = Pick<BlockInfo, 'spans' | 'minStartNs' | 'maxStartNs' | 'maxEndNs' | 'rowGroups'>;

/** Removes a block's files (a failed or crashed write's leftovers, or a dropped block). */
export async function removeBlockFiles(b: Pick<BlockInfo, 'path' | 'bloomPath'>): Promise<void> {
  for (const f of [b.path, b.bloomPath, `${b.path}.tmp`, `${b.bloomPath}.tmp`]) await fs.rm(f, { force: true });
}

function appendNullable(app: DuckDBAppender, v: string | bigint | Uint8Array | null): void {
  if (v === null) app.appendNull();
  else if (typeof v === 'string') app.appendVarchar(v);
  else if (typeof v === 'bigint') app.appendBigInt(v);
  else app.appendBlob(v);
}

function appendNullableInt(app: DuckDBAppender, v: number | undefined): void {
  if (v === undefined) app.appendNull();
  else app.appendInteger(v);
}

function appendAttrs(app: DuckDBAppender, owner: number, scope: number, sub: number, list: readonly Attribute[]): void {
  for (let pos = 0; pos < list.length; pos++) {
    const a = list[pos]!;
    const c = attrCells(a.value);
    app.appendInteger(owner);
    app.appendUTinyInt(scope);
    app.appendInteger(sub);
    app.appendInteger(pos);
    app.appendVarchar(a.key);
    appendNullable(app, c.s);
    if (c.n === null) app.appendNull();
    else app.appendDouble(c.n);
    if (c.b === null) app.appendNull();
    else app.appendBoolean(c.b);
    appendNullable(app, c.a);
    app.endRow();
  }
}
