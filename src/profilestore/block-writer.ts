import { promises as fs } from 'node:fs';
import type { DuckDBAppender, DuckDBConnection } from '@duckdb/node-api';
import { quoteString } from '../columnar/index.ts';
import { labelsKey } from '../model/index.ts';
import type { ProfileFunction } from '../model/index.ts';
import { publishFileDurably } from '../objstore/index.ts';
import { BLOCK_TABLES, blockFile, removeBlockDir } from './block.ts';
import type { BlockSeries, BlockTable, ProfileBlock } from './block.ts';
import { FORMAT_VERSION } from './format.ts';
import type { CutWindow } from './head.ts';

/** Where a new block goes; the rest of its {@link ProfileBlock} comes from its profiles. */
export type BlockTarget = Pick<ProfileBlock, 'seq' | 'tenant' | 'windowStartMs' | 'key' | 'dir' | 'walSegment'>;

/** Staging tables (temporary, the writer connection's own) and the ordered SELECT each file is copied from. */
const STAGES: Record<BlockTable, { create: string; select: string }> = {
  strings: { create: '(id INTEGER, value VARCHAR)', select: 'SELECT id, value FROM st_strings ORDER BY id' },
  functions: { create: '(id INTEGER, name INTEGER, filename INTEGER)', select: 'SELECT id, name, filename FROM st_functions ORDER BY id' },
  stacks: { create: '(id INTEGER, functions VARCHAR)', select: 'SELECT id, CAST(functions AS INTEGER[]) AS functions FROM st_stacks ORDER BY id' },
  series: {
    create: '(series INTEGER, labels VARCHAR, first_profile INTEGER, profiles INTEGER, min_ms BIGINT, max_ms BIGINT)',
    select: 'SELECT series, labels, first_profile, profiles, min_ms, max_ms FROM st_series ORDER BY series',
  },
  profiles: {
    create: '(profile INTEGER, series INTEGER, time_ms BIGINT, duration_ns BIGINT, profile_id VARCHAR, total BIGINT, seq BIGINT)',
    select: 'SELECT profile, series, time_ms, duration_ns, profile_id, total, seq FROM st_profiles ORDER BY profile',
  },
  samples: {
    create: '(profile INTEGER, series INTEGER, stack INTEGER, value BIGINT, span_id VARCHAR)',
    select: 'SELECT profile, series, stack, value, span_id FROM st_samples ORDER BY profile, stack',
  },
};

/**
 * A block's symbol tables as they are built: each distinct string, function and stack gets one id. A
 * head profile's functions and stacks are arrays shared by the profiles decoded from one pprof, so their
 * translation to block ids is computed once per array and memoized.
 */
class BlockSymbols {
  readonly strings: string[] = [];
  readonly functions: [number, number][] = [];
  readonly stacks: number[][] = [];
  private readonly stringIds = new Map<string, number>();
  private readonly functionIds = new Map<string, number>();
  private readonly stackIds = new Map<string, number>();
  private readonly functionMaps = new Map<readonly ProfileFunction[], Int32Array>();
  private readonly stackMaps = new Map<readonly (readonly number[])[], Int32Array>();

  /** The block id of stack `index` of a profile with these symbol arrays. */
  stackId(functions: readonly ProfileFunction[], stacks: readonly (readonly number[])[], index: number): number {
    let map = this.stackMaps.get(stacks);
    if (!map) this.stackMaps.set(stacks, (map = new Int32Array(stacks.length).fill(-1)));
    const known = map[index]!;
    if (known >= 0) return known;
    const ids = (stacks[index] ?? []).map((f) => this.functionId(functions, f));
    const key = ids.join(',');
    let id = this.stackIds.get(key);
    if (id === undefined) {
      id = this.stacks.length;
      this.stacks.push(ids);
      this.stackIds.set(key, id);
    }
    map[index] = id;
    return id;
  }

  private functionId(functions: readonly ProfileFunction[], index: number): number {
    let map = this.functionMaps.get(functions);
    if (!map) this.functionMaps.set(functions, (map = new Int32Array(functions.length).fill(-1)));
    const known = map[index] ?? -1;
    if (known >= 0) return known;
    const f = functions[index] ?? { name: '' };
    const name = this.stringId(f.name);
    const filename = f.filename === undefined ? -1 : this.stringId(f.filename);
    const key = `${name},${filename}`;
    let id = this.functionIds.get(key);
    if (id === undefined) {
      id = this.functions.length;
      this.functions.push([name, filename]);
      this.functionIds.set(key, id);
    }
    if (index < map.length) map[index] = id;
    return id;
  }

  private stringId(s: string): number {
    let id = this.stringIds.get(s);
    if (id === undefined) {
      id = this.strings.length;
      this.strings.push(s);
      this.stringIds.set(s, id);
    }
    return id;
  }
}

/**
 * Writes profile blocks on one DuckDB connection. Not for concurrent use: the profile store runs cuts one at
 * a time.
 */
export class ProfileBlockWriter {
  private prepared = false;

  constructor(private readonly conn: DuckDBConnection) {}

  /**
   * Writes a cut window into a block at `target`: every file durable (temp file, fsync, rename, directory
   * fsync) when this resolves; registering it is the caller's. A failure removes what was written.
   */
  async write(target: BlockTarget, cut: CutWindow): Promise<ProfileBlock> {
    if (!this.prepared) {
      for (const t of BLOCK_TABLES) await this.conn.run(`CREATE TEMP TABLE IF NOT EXISTS st_${t} ${STAGES[t].create}`);
      this.prepared = true;
    }
    try {
      const stats = await this.stage(cut);
      await fs.mkdir(target.dir, { recursive: true });
      let sizeBytes = 0;
      for (const t of BLOCK_TABLES) {
        const file = blockFile(target.dir, t);
        await publishFileDurably(file, async (tmp) => {
          await this.conn.run(
            `COPY (${STAGES[t].select}) TO ${quoteString(tmp)} (FORMAT parquet, PARQUET_VERSION V2, COMPRESSION zstd, COMPRESSION_LEVEL 3, ` +
              `KV_METADATA {heimdall_profiles_format: '${FORMAT_VERSION}'})`,
          );
        });
        sizeBytes += (await fs.stat(file)).size;
      }
      return { ...target, ...stats, sizeBytes };
    } catch (err) {
      await removeBlockDir(target.dir).catch(() => undefined);
      throw err;
    } finally {
      for (const t of BLOCK_TABLES) await this.conn.run(`DELETE FROM st_${t}`);
    }
  }

  private async stage(cut: CutWindow): Promise<Pick<ProfileBlock, 'profiles' | 'samples' | 'minMs' | 'maxMs' | 'maxSeq' | 'series'>> {
    const apps = new Map<BlockTable, DuckDBAppender>();
    try {
      for (const t of BLOCK_TABLES) apps.set(t, await this.conn.createAppender(`st_${t}`, 'main', 'temp'));
      const app = (t: BlockTable): DuckDBAppender => apps.get(t)!;
      const symbols = new BlockSymbols();
      // Series in label order, each one's profiles by time: a series' profiles are one run of ids.
      const parts = [...cut.series].sort((a, b) => (labelsKey(a.labels) < labelsKey(b.labels) ? -1 : 1));
      const series: BlockSeries[] = [];
      let profile = 0;
      let samples = 0;
      let minMs = Infinity;
      let maxMs = -Infinity;
      let maxSeq = -Infinity;
      for (let sid = 0; sid < parts.length; sid++) {
        const part = parts[sid]!;
        const list = [...part.profiles].sort((a, b) => a.profile.timeMs - b.profile.timeMs || a.seq - b.seq);
        const first = profile;
        for (const hp of list) {
          const p = hp.profile;
          let total = 0;
          for (const s of p.samples) {
            const stack = symbols.stackId(p.functions, p.stacks, s.stack);
            const a = app('samples');
            a.appendInteger(profile);
            a.appendInteger(sid);
            a.appendInteger(stack);
            a.appendBigInt(BigInt(Math.round(s.value)));
            if (s.spanId === undefined) a.appendNull();
            else a.appendVarchar(s.spanId);
            a.endRow();
            total += s.value;
            samples++;
          }
          const a = app('profiles');
          a.appendInteger(profile);
          a.appendInteger(sid);
          a.appendBigInt(BigInt(p.timeMs));
          a.appendBigInt(BigInt(Math.round(p.durationNs)));
          if (p.profileId === undefined) a.appendNull();
          else a.appendVarchar(p.profileId);
          a.appendBigInt(BigInt(Math.round(total)));
          a.appendBigInt(BigInt(hp.seq));
          if (hp.seq > maxSeq) maxSeq = hp.seq;
          a.endRow();
          profile++;
        }
        const s: BlockSeries = { labels: part.labels, firstProfile: first, profiles: list.length, minMs: list[0]!.profile.timeMs, maxMs: list[list.length - 1]!.profile.timeMs };
        series.push(s);
        minMs = Math.min(minMs, s.minMs);
        maxMs = Math.max(maxMs, s.maxMs);
        const a = app('series');
        a.appendInteger(sid);
        a.appendVarchar(JSON.stringify(part.labels));
        a.appendInteger(first);
        a.appendInteger(list.length);
        a.appendBigInt(BigInt(s.minMs));
        a.appendBigInt(BigInt(s.maxMs));
        a.endRow();
      }
      symbols.strings.forEach((v, id) => {
        const a = app('strings');
        a.appendInteger(id);
        a.appendVarchar(v);
        a.endRow();
      });
      symbols.functions.forEach(([name, filename], id) => {
        const a = app('functions');
        a.appendInteger(id);
        a.appendInteger(name);
        if (filename < 0) a.appendNull();
        else a.appendInteger(filename);
        a.endRow();
      });
      symbols.stacks.forEach((fns, id) => {
        const a = app('stacks');
        a.appendInteger(id);
        a.appendVarchar(`[${fns.join(',')}]`);
        a.endRow();
      });
      for (const a of apps.values()) a.flushSync();
      return { profiles: profile, samples, minMs, maxMs, maxSeq, series };
    } finally {
      for (const a of apps.values()) {
        try {
          a.closeSync();
        } catch {
          // A failed appender may refuse to close; the staging tables are cleared either way.
        }
      }
    }
  }
}
