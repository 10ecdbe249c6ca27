import { promises as fs } from 'node:fs';
import path from 'node:path';
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import type { DuckDBAppender, DuckDBConnection } from '@duckdb/node-api';
import { quoteString } from '../columnar/index.ts';
import type { Attribute } from '../model/index.ts';
import { publishFileDurably, writeFileDurably } from '../objstore/index.ts';
import type { StoredSpan } from '../storage/index.ts';
import { RESOURCE_COLUMNS, SPAN_COLUMNS, attrCells, columnIndex, splitAttributes } from './block-columns.ts';
import { listKeysOfRows, listKeysSql, unionListKeys } from './block-index-cache.ts';
import type { ListKeys } from './block-index-cache.ts';
import type { BlockInfo, RowGroupRange } from './catalog.ts';
import { FORMAT_VERSION } from './format.ts';
import { rootSpan, serviceName } from './head-source.ts';
import { buildTraceIdBloom } from './trace-id-bloom.ts';
import { TraceRecordsIndex, mergeTraceRecords, writeTraceRecords } from './trace-records.ts';

/** One trace's spans going into a block. */
interface BlockTrace {
  readonly traceId: string;
  readonly spans: readonly StoredSpan[];
}

/** How many spans of one trace a block holds (the block's rows are sorted by trace id). */
interface TraceSpanCount {
  readonly traceId: string;
  readonly spans: number;
}

/** Where a new block goes and what it records beyond what its spans give. */
export type BlockTarget = Pick<BlockInfo, 'seq' | 'tenant' | 'windowStartMs' | 'key' | 'path' | 'bloomPath' | 'recordsPath' | 'walSegment' | 'level'>;

const RESOURCE_INDEX = columnIndex(RESOURCE_COLUMNS);
const SPAN_INDEX = columnIndex(SPAN_COLUMNS);
const dedicatedDefs = (cols: typeof SPAN_COLUMNS): string => cols.map((c) => `, ${c.column} ${c.type}`).join('');

/*
 * Staging: one row per span (and per resource) is appended into temporary tables on the writer's connection,
 * with scalar columns as they are and every list (attributes, events, links) as JSON text, which one
 * `COPY (SELECT ...)` turns into the block's nested columns with `json_transform` (vectorised; an ordered
 * list aggregate over a row per attribute measured several times slower).
 */
const STAGE_TABLES = [
  `CREATE TEMP TABLE IF NOT EXISTS st_span (row INTEGER, res INTEGER, trace_id VARCHAR, span_id BLOB, parent_span_id BLOB,
    trace_state VARCHAR, name VARCHAR, kind UTINYINT, start_ns BIGINT, end_ns BIGINT, status_code UTINYINT,
    status_message VARCHAR, scope_name VARCHAR, scope_version VARCHAR, scope_attrs VARCHAR, events VARCHAR, links VARCHAR,
    dropped_attributes INTEGER, dropped_events INTEGER, dropped_links INTEGER,
    root_service VARCHAR, root_name VARCHAR, trace_start_ns BIGINT, trace_end_ns BIGINT, span_attr_slots VARCHAR,
    span_attrs VARCHAR${dedicatedDefs(SPAN_COLUMNS)})`,
  `CREATE TEMP TABLE IF NOT EXISTS st_res (res INTEGER, resource_attr_slots VARCHAR, resource_attrs VARCHAR${dedicatedDefs(RESOURCE_COLUMNS)})`,
];

/** `json_transform`'s structure of an attribute list (ATTR_TYPE). */
const ATTRS_JSON = '[{"k":"VARCHAR","s":"VARCHAR","n":"DOUBLE","b":"BOOLEAN","a":"VARCHAR"}]';

/** The block's columns from the staging tables, in row order (docs/formats/tracestore.md, "Blocks"). */
function blockSelect(): string {
  const attrs = (col: string): string => `json_transform(${col}, '${ATTRS_JSON}')`;
  const links = `json_transform(s.links, '[{"trace_id":"VARCHAR","span_id":"VARCHAR","trace_state":"VARCHAR","attrs":${ATTRS_JSON}}]')`;
  return `SELECT s.trace_id, s.root_service, s.root_name, s.trace_start_ns, s.trace_end_ns - s.trace_start_ns AS trace_duration_ns,
      s.span_id, s.parent_span_id, s.trace_state, s.name, s.kind, s.start_ns, s.end_ns - s.start_ns AS duration_ns,
      s.status_code, s.status_message, s.scope_name, s.scope_version, ${attrs('s.scope_attrs')} AS scope_attrs,
      s.dropped_attributes, s.dropped_events, s.dropped_links,
      ${RESOURCE_COLUMNS.map((c) => `r.${c.column}`).join(', ')}, r.resource_attr_slots, ${attrs('r.resource_attrs')} AS resource_attrs,
      ${SPAN_COLUMNS.map((c) => `s.${c.column}`).join(', ')}, s.span_attr_slots, ${attrs('s.span_attrs')} AS span_attrs,
      json_transform(s.events, '[{"time_ns":"BIGINT","name":"VARCHAR","attrs":${ATTRS_JSON}}]') AS events,
      list_transform(${links}, lambda l: {'trace_id': from_hex(l.trace_id), 'span_id': from_hex(l.span_id), 'trace_state': l.trace_state, 'attrs': l.attrs}) AS links
    FROM st_span s JOIN st_res r ON r.res = s.res
    ORDER BY s.row`;
}

const hex = (id: string): Buffer => Buffer.from(id, 'hex');

/**
 * Spans staged between yields to the event loop: a cut of the whole head (tens of thousands of spans) would
 * otherwise hold it for a second, stalling every request meanwhile (trace by id's slowest answers under ingest).
 */
const STAGE_YIELD_SPANS = 256;

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
   * Writes `traces` into a block at `target`: the Parquet file, its trace-id bloom filter and trace records, each durable
   * (temp file, fsync, rename, directory fsync) when this resolves; registering it is the caller's. A failure
   * removes what was written.
   */
  async write(target: BlockTarget, traces: readonly BlockTrace[]): Promise<BlockInfo> {
    if (!this.prepared) {
      for (const sql of STAGE_TABLES) await this.conn.run(sql);
      this.prepared = true;
    }
    const sorted = [...traces].sort((a, b) => (a.traceId < b.traceId ? -1 : a.traceId > b.traceId ? 1 : 0));
    let stats: StagedStats;
    try {
      stats = await this.stage(sorted);
      await fs.mkdir(path.dirname(target.path), { recursive: true });
      await publishFileDurably(target.path, async (tmp) => {
        await this.conn.run(`COPY (${blockSelect()}) TO ${quoteString(tmp)} (${this.copyOptions()})`);
      });
    } finally {
      await this.clearStage();
    }
    try {
      const recordsBytes = await writeTraceRecords(target.recordsPath, sorted);
      return await this.finish(
        target,
        sorted.map((t) => ({ traceId: t.traceId, spans: t.spans.length })),
        stats,
        recordsBytes,
        stats.listKeys,
      );
    } catch (err) {
      await removeBlockFiles(target);
      throw err;
    }
  }

  /**
   * Merges `inputs` (blocks of one tenant and window) into one block at `target`, rows re-sorted by trace id,
   * start and span id, so a trace split over several small blocks ends up in one run of row groups; its trace
   * records are the inputs' regions of each trace put together (none when an input has none). The files are
   * durable when this resolves; the inputs are untouched (swapping them out of the
   * catalog is the caller's). A failure removes what was written.
   */
  async merge(target: BlockTarget, inputs: readonly BlockInfo[]): Promise<BlockInfo> {
    await fs.mkdir(path.dirname(target.path), { recursive: true });
    try {
      await publishFileDurably(target.path, async (tmp) => {
        await this.conn.run(
          // One row per span (a retry cut into two inputs is stored once): counts need no DISTINCT within a block.
          `COPY (SELECT * FROM (SELECT DISTINCT ON (trace_id, span_id) * FROM read_parquet([${inputs.map((b) => quoteString(b.path)).join(', ')}])) ` +
            `ORDER BY trace_id, start_ns, span_id) ` +
            `TO ${quoteString(tmp)} (${this.copyOptions()})`,
        );
      });
      const file = quoteString(target.path);
      const counts = (await this.conn.runAndReadAll(`SELECT trace_id, count(*)::INTEGER FROM read_parquet(${file}) GROUP BY trace_id ORDER BY trace_id`))
        .getRows()
        .map(([id, n]): TraceSpanCount => ({ traceId: String(id), spans: Number(n) }));
      const [[spans, minStart, maxStart, maxEnd]] = (
        await this.conn.runAndReadAll(`SELECT count(*), min(start_ns), max(start_ns), max(start_ns + duration_ns) FROM read_parquet(${file})`)
      ).getRows() as [[bigint, bigint, bigint, bigint]];
      // The inputs' keys put together; an input written before format 5 has none recorded: the merged file is read.
      const known = inputs.map((b) => b.listKeys);
      const listKeys = known.every((k) => k !== undefined)
        ? unionListKeys(known)
        : listKeysOfRows((await this.conn.runAndReadAll(listKeysSql(`[${file}]`))).getRows());
      let recordsBytes = 0;
      if (inputs.every((b) => b.recordsBytes > 0)) {
        const indexed = [];
        for (const b of inputs) indexed.push({ path: b.recordsPath, index: await TraceRecordsIndex.read(b.recordsPath) });
        recordsBytes = await mergeTraceRecords(target.recordsPath, indexed);
      }
      return await this.finish(target, counts, { spans: Number(spans), minStartNs: minStart, maxStartNs: maxStart, maxEndNs: maxEnd }, recordsBytes, listKeys);
    } catch (err) {
      await removeBlockFiles(target);
      throw err;
    }
  }

  private copyOptions(): string {
    return (
      `FORMAT parquet, PARQUET_VERSION V2, COMPRESSION zstd, COMPRESSION_LEVEL 3, ` +
      `ROW_GROUP_SIZE ${this.rowGroupSpans}, KV_METADATA {heimdall_traces_format: '${FORMAT_VERSION}'}`
    );
  }

  /** Writes the bloom filter of a block whose Parquet file (and records) are published, and describes the block. */
  private async finish(
    target: BlockTarget,
    counts: readonly TraceSpanCount[],
    stats: Omit<BlockStats, 'rowGroups'>,
    recordsBytes: number,
    listKeys: ListKeys,
  ): Promise<BlockInfo> {
    const rowGroups = await this.rowGroups(target.path, counts);
    const bloom = buildTraceIdBloom(
      counts.map((t) => t.traceId),
      counts.length,
    );
    await writeFileDurably(target.bloomPath, bloom);
    const sizeBytes = (await fs.stat(target.path)).size + bloom.length + recordsBytes;
    return {
      ...target,
      recordsBytes,
      spans: stats.spans,
      minStartNs: stats.minStartNs,
      maxStartNs: stats.maxStartNs,
      maxEndNs: stats.maxEndNs,
      rowGroups,
      listKeys,
      sizeBytes,
      bloomBlocks: bloom.readUInt32LE(4),
      traces: counts.length,
      minTraceId: counts[0]!.traceId,
      maxTraceId: counts[counts.length - 1]!.traceId,
    };
  }

  /** The trace ids each row group holds: rows are sorted by trace id, so each covers a contiguous run. */
  private async rowGroups(file: string, sorted: readonly TraceSpanCount[]): Promise<RowGroupRange[]> {
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
        const take = Math.min(left, trace.spans - usedOfT);
        last = trace.traceId;
        left -= take;
        usedOfT += take;
        if (usedOfT === trace.spans) {
          t++;
          usedOfT = 0;
        }
      }
      out.push({ firstTraceId: first, lastTraceId: last, spans: rows });
    }
    return out;
  }

  private async stage(sorted: readonly BlockTrace[]): Promise<StagedStats> {
    const spanApp = await this.conn.createAppender('st_span', 'main', 'temp');
    const resApp = await this.conn.createAppender('st_res', 'main', 'temp');
    try {
      const resources = new Map<readonly Attribute[], number>();
      const spanKeys = new Set<string>();
      const resourceKeys = new Set<string>();
      let row = 0;
      let lastYield = 0;
      let minStartNs = sorted[0]!.spans[0]!.span.startTimeUnixNs;
      let maxStartNs = minStartNs;
      let maxEndNs = sorted[0]!.spans[0]!.span.endTimeUnixNs;
      for (const trace of sorted) {
        if (row - lastYield >= STAGE_YIELD_SPANS) {
          lastYield = row;
          await yieldToLoop();
        }
        const root = rootSpan(trace.spans);
        // Rows go in block order: by trace id (the caller sorted), then start, then span id.
        const spans = [...trace.spans].sort((x, y) =>
          x.span.startTimeUnixNs < y.span.startTimeUnixNs ? -1 : x.span.startTimeUnixNs > y.span.startTimeUnixNs ? 1 : x.span.spanId < y.span.spanId ? -1 : 1,
        );
        const traceStart = spans[0]!.span.startTimeUnixNs;
        let traceEnd = spans[0]!.span.endTimeUnixNs;
        for (const { span } of spans) if (span.endTimeUnixNs > traceEnd) traceEnd = span.endTimeUnixNs;
        if (traceStart < minStartNs) minStartNs = traceStart;
        if (traceEnd > maxEndNs) maxEndNs = traceEnd;
        for (const { span, resource } of spans) {
          if (span.startTimeUnixNs > maxStartNs) maxStartNs = span.startTimeUnixNs;
          let res = resources.get(resource);
          if (res === undefined) {
            res = resources.size;
            resources.set(resource, res);
            const split = splitAttributes(resource, RESOURCE_COLUMNS, RESOURCE_INDEX);
            for (const a of split.rest) resourceKeys.add(a.key);
            resApp.appendInteger(res);
            appendNullable(resApp, split.slots);
            resApp.appendVarchar(attrsJson(split.rest));
            for (let c = 0; c < RESOURCE_COLUMNS.length; c++) appendNullable(resApp, split.dedicated[c] ?? null);
            resApp.endRow();
          }
          const split = splitAttributes(span.attributes, SPAN_COLUMNS, SPAN_INDEX);
          for (const a of split.rest) spanKeys.add(a.key);
          spanApp.appendInteger(row++);
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
          appendNullable(spanApp, span.scope.attributes ? attrsJson(span.scope.attributes) : null);
          appendNullable(
            spanApp,
            span.events
              ? `[${span.events.map((e) => `{"time_ns":${e.timeUnixNs},"name":${JSON.stringify(e.name)},"attrs":${e.attributes ? attrsJson(e.attributes) : 'null'}}`).join(',')}]`
              : null,
          );
          appendNullable(
            spanApp,
            span.links
              ? `[${span.links
                  .map(
                    (l) =>
                      `{"trace_id":"${l.traceId}","span_id":"${l.spanId}","trace_state":${l.traceState === undefined ? 'null' : JSON.stringify(l.traceState)},` +
                      `"attrs":${l.attributes ? attrsJson(l.attributes) : 'null'}}`,
                  )
                  .join(',')}]`
              : null,
          );
          appendNullableInt(spanApp, span.droppedAttributesCount);
          appendNullableInt(spanApp, span.droppedEventsCount);
          appendNullableInt(spanApp, span.droppedLinksCount);
          appendNullable(spanApp, root ? (serviceName(root.resource) ?? null) : null);
          appendNullable(spanApp, root ? root.span.name : null);
          spanApp.appendBigInt(traceStart);
          spanApp.appendBigInt(traceEnd);
          appendNullable(spanApp, split.slots);
          spanApp.appendVarchar(attrsJson(split.rest));
          for (let c = 0; c < SPAN_COLUMNS.length; c++) appendNullable(spanApp, split.dedicated[c] ?? null);
          spanApp.endRow();
        }
      }
      spanApp.flushSync();
      resApp.flushSync();
      return { spans: row, minStartNs, maxStartNs, maxEndNs, listKeys: { span: spanKeys, resource: resourceKeys } };
    } finally {
      for (const app of [spanApp, resApp]) {
        try {
          app.closeSync();
        } catch {
          // A failed appender may refuse to close; the staging tables are cleared either way.
        }
      }
    }
  }

  private async clearStage(): Promise<void> {
    for (const t of ['st_span', 'st_res']) await this.conn.run(`DELETE FROM ${t}`);
  }
}

type BlockStats = Pick<BlockInfo, 'spans' | 'minStartNs' | 'maxStartNs' | 'maxEndNs' | 'rowGroups'>;
/** What staging a cut's spans learns about them: the block's time bounds and its lists' keys. */
type StagedStats = Omit<BlockStats, 'rowGroups'> & { readonly listKeys: ListKeys };

/** Removes a block's files (a failed or crashed write's leftovers, or a dropped block). */
export async function removeBlockFiles(b: Pick<BlockInfo, 'path' | 'bloomPath' | 'recordsPath'>): Promise<void> {
  for (const f of [b.path, b.bloomPath, b.recordsPath]) {
    await fs.rm(f, { force: true });
    await fs.rm(`${f}.tmp`, { force: true });
  }
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

/** An attribute list as the JSON `json_transform` reads into ATTR_TYPE (non-finite numbers and -0 as text). */
function attrsJson(list: readonly Attribute[]): string {
  let out = '[';
  for (let i = 0; i < list.length; i++) {
    const a = list[i]!;
    const c = attrCells(a.value);
    let v: string;
    if (c.s !== null) v = `"s":${JSON.stringify(c.s)}`;
    else if (c.n !== null) v = Number.isFinite(c.n) && !Object.is(c.n, -0) ? `"n":${c.n}` : `"n":"${Object.is(c.n, -0) ? '-0' : String(c.n)}"`;
    else if (c.b !== null) v = `"b":${c.b}`;
    else v = `"a":${JSON.stringify(c.a)}`;
    out += `${i > 0 ? ',' : ''}{"k":${JSON.stringify(a.key)},${v}}`;
  }
  return `${out}]`;
}
