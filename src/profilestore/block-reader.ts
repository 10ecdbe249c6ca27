import type { DuckDBConnection } from '@duckdb/node-api';
import { quoteString } from '../columnar/index.ts';
import type { Labels, ProfileFunction, ProfileSample } from '../model/index.ts';
import type { ProfileReadShape, ProfileTimeRange, StoredProfile } from '../storage/index.ts';
import { blockFile } from './block.ts';
import type { BlockSeries, ProfileBlock } from './block.ts';

/** Profiles per batch a block read yields. */
const BATCH_PROFILES = 256;

/** The profiles of one series a read takes from a block: ids `first..last` (one run, see {@link BlockSeries}). */
interface SeriesRun {
  readonly series: number;
  readonly first: number;
  readonly last: number;
  readonly minMs: number;
  readonly maxMs: number;
  readonly count: number;
}

/** A block and the ids of its series a read picked. */
export interface BlockPick {
  readonly block: ProfileBlock;
  readonly series: readonly number[];
}

/** A block's symbols as the model has them: functions and stacks (function ids, leaf first). */
interface BlockSymbolTable {
  readonly functions: readonly ProfileFunction[];
  readonly stacks: readonly (readonly number[])[];
}

/**
 * Block symbol tables recently read, kept up to a byte budget (least recently used out first): blocks are
 * immutable, and a merge over a day reads the symbols of every block of the day.
 */
export class BlockSymbolCache {
  private readonly entries = new Map<string, { table: BlockSymbolTable; bytes: number }>();
  private bytes = 0;

  constructor(private readonly maxBytes: number) {}

  get(dir: string): BlockSymbolTable | undefined {
    const e = this.entries.get(dir);
    if (!e) return undefined;
    this.entries.delete(dir);
    this.entries.set(dir, e);
    return e.table;
  }

  set(dir: string, table: BlockSymbolTable): void {
    let bytes = 64 * table.functions.length;
    for (const s of table.stacks) bytes += 32 + 8 * s.length;
    if (bytes > this.maxBytes) return;
    this.entries.set(dir, { table, bytes });
    this.bytes += bytes;
    for (const [k, e] of this.entries) {
      if (this.bytes <= this.maxBytes) break;
      this.entries.delete(k);
      this.bytes -= e.bytes;
    }
  }
}

const parquet = (b: ProfileBlock, t: Parameters<typeof blockFile>[1]): string => `read_parquet(${quoteString(blockFile(b.dir, t))})`;

/** `profile BETWEEN a AND b OR ...` over the runs (adjacent runs joined). */
function runsCondition(runs: readonly SeriesRun[]): string {
  const sorted = [...runs].sort((a, b) => a.first - b.first);
  const spans: [number, number][] = [];
  for (const r of sorted) {
    const last = spans[spans.length - 1];
    if (last && last[1] + 1 >= r.first) last[1] = Math.max(last[1], r.last);
    else spans.push([r.first, r.last]);
  }
  return spans.map(([a, b]) => `profile BETWEEN ${a} AND ${b}`).join(' OR ');
}

/**
 * Reads profiles from blocks (docs/formats/profilestore.md, "Blocks") on one DuckDB connection, in the shape
 * the caller asks for: whole profiles, sums per series and stack computed by DuckDB (`merged`), or per
 * profile totals (`totals`) from the profiles file alone.
 *
 * Contract: one read at a time per reader (its connection runs one statement at a time).
 */
export class ProfileBlockReader {
  constructor(
    private readonly conn: DuckDBConnection,
    private readonly cache?: BlockSymbolCache,
  ) {}

  /** A block's series, in id order. */
  async series(dir: string): Promise<BlockSeries[]> {
    const r = await this.conn.runAndReadAll(
      `SELECT labels, first_profile, profiles, min_ms::DOUBLE, max_ms::DOUBLE FROM read_parquet(${quoteString(blockFile(dir, 'series'))}) ORDER BY series`,
    );
    return r.getRowsJS().map(([labels, firstProfile, profiles, minMs, maxMs]) => ({
      labels: JSON.parse(String(labels)) as Labels,
      firstProfile: Number(firstProfile),
      profiles: Number(profiles),
      minMs: Number(minMs),
      maxMs: Number(maxMs),
    }));
  }

  /** The sequence numbers of the profiles the blocks hold (replay leaves them out). */
  async seqs(blocks: readonly ProfileBlock[]): Promise<Set<number>> {
    const out = new Set<number>();
    if (blocks.length === 0) return out;
    const files = blocks.map((b) => quoteString(blockFile(b.dir, 'profiles'))).join(', ');
    const r = await this.conn.runAndReadAll(`SELECT seq::DOUBLE FROM read_parquet([${files}])`);
    for (const [seq] of r.getRowsJS()) out.add(Number(seq));
    return out;
  }

  /**
   * The profiles of the picked series in `range` from the blocks, in batches, in the shape `read`. Merges and
   * totals read every block in one statement (DuckDB scans them in parallel); whole profiles a block at a time.
   */
  async *select(picks: readonly BlockPick[], range: ProfileTimeRange, read: ProfileReadShape): AsyncIterable<StoredProfile[]> {
    const withRuns: { block: ProfileBlock; runs: SeriesRun[] }[] = [];
    for (const p of picks) {
      const runs = await this.runs(p.block, p.series, range);
      if (runs.length > 0) withRuns.push({ block: p.block, runs });
    }
    if (withRuns.length === 0) return;
    if (read === 'totals') yield* this.totals(withRuns);
    else if (read === 'merged') yield await this.merged(withRuns);
    else for (const { block, runs } of withRuns) yield* this.whole(block, runs);
  }

  /** The run of profile ids of each series in the range (the whole series when the range covers it). */
  private async runs(block: ProfileBlock, seriesIds: readonly number[], range: ProfileTimeRange): Promise<SeriesRun[]> {
    const out: SeriesRun[] = [];
    const partial: number[] = [];
    for (const id of seriesIds) {
      const s = block.series[id]!;
      if (s.maxMs < range.startMs || s.minMs > range.endMs) continue;
      if (s.minMs >= range.startMs && s.maxMs <= range.endMs) {
        out.push({ series: id, first: s.firstProfile, last: s.firstProfile + s.profiles - 1, minMs: s.minMs, maxMs: s.maxMs, count: s.profiles });
      } else partial.push(id);
    }
    if (partial.length > 0) {
      const r = await this.conn.runAndReadAll(
        `SELECT series, min(profile), max(profile), min(time_ms)::DOUBLE, max(time_ms)::DOUBLE, count(*)::INTEGER FROM ${parquet(block, 'profiles')}
          WHERE series IN (${partial.join(', ')}) AND time_ms BETWEEN ${Math.floor(range.startMs)} AND ${Math.ceil(range.endMs)} GROUP BY series`,
      );
      for (const [series, first, last, minMs, maxMs, count] of r.getRowsJS()) {
        out.push({ series: Number(series), first: Number(first), last: Number(last), minMs: Number(minMs), maxMs: Number(maxMs), count: Number(count) });
      }
    }
    return out;
  }

  private async symbols(block: ProfileBlock): Promise<BlockSymbolTable> {
    const cached = this.cache?.get(block.dir);
    if (cached) return cached;
    const f = await this.conn.runAndReadAll(
      `SELECT n.value, fn.value FROM ${parquet(block, 'functions')} f JOIN ${parquet(block, 'strings')} n ON n.id = f.name
        LEFT JOIN ${parquet(block, 'strings')} fn ON fn.id = f.filename ORDER BY f.id`,
    );
    const functions: ProfileFunction[] = f.getRowsJS().map(([name, filename]) => (filename === null ? { name: String(name) } : { name: String(name), filename: String(filename) }));
    const s = await this.conn.runAndReadAll(`SELECT functions FROM ${parquet(block, 'stacks')} ORDER BY id`);
    const stacks = s.getColumnsJS()[0]!.map((list) => (list as number[]).map(Number));
    const table = { functions, stacks };
    this.cache?.set(block.dir, table);
    return table;
  }

  /** One profile per block and series: the samples of its profiles in the range summed per stack and span. */
  private async merged(picks: readonly { block: ProfileBlock; runs: SeriesRun[] }[]): Promise<StoredProfile[]> {
    const scans = picks.map(({ block, runs }, i) => `SELECT ${i} AS b, series, stack, span_id, value FROM ${parquet(block, 'samples')} WHERE ${runsCondition(runs)}`);
    const r = await this.conn.runAndReadAll(`SELECT b, series, stack, span_id, sum(value)::DOUBLE FROM (${scans.join(' UNION ALL ')}) GROUP BY ALL`);
    const [blockCol, seriesCol, stackCol, spanCol, valueCol] = r.getColumnsJS() as [number[], number[], number[], (string | null)[], number[]];
    const samples = new Map<string, ProfileSample[]>();
    for (let i = 0; i < seriesCol.length; i++) {
      const key = `${blockCol[i]} ${seriesCol[i]}`;
      let list = samples.get(key);
      if (!list) samples.set(key, (list = []));
      const spanId = spanCol[i];
      list.push(spanId === null || spanId === undefined ? { stack: stackCol[i]!, value: valueCol[i]! } : { stack: stackCol[i]!, value: valueCol[i]!, spanId });
    }
    const out: StoredProfile[] = [];
    for (let b = 0; b < picks.length; b++) {
      const { block, runs } = picks[b]!;
      const symbols = await this.symbols(block);
      for (const run of runs) {
        out.push({
          profile: {
            labels: block.series[run.series]!.labels,
            timeMs: run.minMs,
            durationNs: 0,
            functions: symbols.functions,
            stacks: symbols.stacks,
            samples: samples.get(`${b} ${run.series}`) ?? [],
          },
          merged: { lastMs: run.maxMs, count: run.count },
        });
      }
    }
    return out;
  }

  /** Each profile with one sample holding its total (no symbols). */
  private async *totals(picks: readonly { block: ProfileBlock; runs: SeriesRun[] }[]): AsyncIterable<StoredProfile[]> {
    const scans = picks.map(
      ({ block, runs }, i) => `SELECT ${i} AS b, series, time_ms::DOUBLE, duration_ns::DOUBLE, total::DOUBLE FROM ${parquet(block, 'profiles')} WHERE ${runsCondition(runs)}`,
    );
    const r = await this.conn.runAndReadAll(scans.join(' UNION ALL '));
    const [blockCol, seriesCol, timeCol, durationCol, totalCol] = r.getColumnsJS() as number[][];
    let batch: StoredProfile[] = [];
    for (let i = 0; i < seriesCol!.length; i++) {
      const block = picks[blockCol![i]!]!.block;
      batch.push({
        profile: { labels: block.series[seriesCol![i]!]!.labels, timeMs: timeCol![i]!, durationNs: durationCol![i]!, functions: [], stacks: [], samples: [{ stack: 0, value: totalCol![i]! }] },
      });
      if (batch.length >= BATCH_PROFILES * 16) {
        yield batch;
        batch = [];
      }
    }
    if (batch.length > 0) yield batch;
  }

  /** Every profile whole, its stacks and functions the block's tables. */
  private async *whole(block: ProfileBlock, runs: readonly SeriesRun[]): AsyncIterable<StoredProfile[]> {
    const symbols = await this.symbols(block);
    const cond = runsCondition(runs);
    const p = await this.conn.runAndReadAll(
      `SELECT profile, series, time_ms::DOUBLE, duration_ns::DOUBLE, profile_id FROM ${parquet(block, 'profiles')} WHERE ${cond} ORDER BY profile`,
    );
    const s = await this.conn.runAndReadAll(`SELECT profile, stack, value::DOUBLE, span_id FROM ${parquet(block, 'samples')} WHERE ${cond} ORDER BY profile`);
    const [sProfile, sStack, sValue, sSpan] = s.getColumnsJS() as [number[], number[], number[], (string | null)[]];
    let j = 0;
    let batch: StoredProfile[] = [];
    for (const [profile, series, timeMs, durationNs, profileId] of p.getRowsJS()) {
      const id = Number(profile);
      while (j < sProfile.length && sProfile[j]! < id) j++;
      const samples: ProfileSample[] = [];
      for (; j < sProfile.length && sProfile[j] === id; j++) {
        const spanId = sSpan[j];
        samples.push(spanId === null || spanId === undefined ? { stack: sStack[j]!, value: sValue[j]! } : { stack: sStack[j]!, value: sValue[j]!, spanId });
      }
      batch.push({
        profile: {
          labels: block.series[Number(series)]!.labels,
          timeMs: Number(timeMs),
          durationNs: Number(durationNs),
          functions: symbols.functions,
          stacks: symbols.stacks,
          samples,
          ...(profileId === null ? {} : { profileId: String(profileId) }),
        },
      });
      if (batch.length >= BATCH_PROFILES) {
        yield batch;
        batch = [];
      }
    }
    if (batch.length > 0) yield batch;
  }
}
