import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { Labels, TenantId } from '../model/index.ts';

/**
 * The Parquet files of a block (docs/formats/profilestore.md, "Blocks"): symbols once per block (strings,
 * functions naming strings, stacks naming functions), series, profiles, and samples naming stacks by id.
 */
export const BLOCK_TABLES = ['strings', 'functions', 'stacks', 'series', 'profiles', 'samples'] as const;
export type BlockTable = (typeof BLOCK_TABLES)[number];

/** One series of a block. Profiles are sorted by series, then time: a series' are one run of profile ids. */
export interface BlockSeries {
  readonly labels: Labels;
  readonly firstProfile: number;
  readonly profiles: number;
  readonly minMs: number;
  readonly maxMs: number;
}

/** An immutable block: one tenant's profiles of one window, cut from the head. */
export interface ProfileBlock {
  readonly seq: number;
  readonly tenant: TenantId;
  readonly windowStartMs: number;
  /** Bucket key of the block's directory, `<tenant>/profiles/<windowStartMs>/<seq>`. */
  readonly key: string;
  /** Its path on disk. */
  readonly dir: string;
  /** The WAL segment current when the cut started: its profiles came from this one or older ones. */
  readonly walSegment: number;
  readonly profiles: number;
  readonly samples: number;
  readonly sizeBytes: number;
  readonly minMs: number;
  readonly maxMs: number;
  /** The highest sequence number of its profiles (sequence numbers continue above it after a restart). */
  readonly maxSeq: number;
  /** The block's series in id order (read from `series.parquet` when the block is loaded). */
  readonly series: readonly BlockSeries[];
}

/** The path of one of a block's files. */
export function blockFile(dir: string, table: BlockTable): string {
  return path.join(dir, `${table}.parquet`);
}

/** Removes a block's directory (a dropped block, or a failed or crashed write's leftovers). */
export async function removeBlockDir(dir: string): Promise<void> {
  await fs.rm(dir, { recursive: true, force: true });
}
