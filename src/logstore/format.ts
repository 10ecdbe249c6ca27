/**
 * The log store's on-disk format version (docs/formats/logstore.md). Bump it for any change an older build
 * would misread; opening newer data is refused.
 */
export const FORMAT_VERSION = 3;

/**
 * The version of the blocks this build writes (`log_blocks.format`). Version 1 blocks have no `nbytes`
 * column (their line lengths are computed from the lines); version 2 blocks have no token bloom sidecar
 * (every row group is read). Both stay readable and are rewritten as the current version when merged.
 */
export const BLOCK_FORMAT = 3;

/** Rows per Parquet row group of a format-3 block (8,192 made count queries ~1.5× slower). */
export const ROW_GROUP_ROWS = 16_384;

/**
 * Rows per token bloom filter in a format-3 block's sidecar: a quarter of a row group, since DuckDB also
 * skips the pages of a row group outside a query's `file_row_number` ranges.
 */
export const BLOOM_GROUP_ROWS = 4096;

/** The token bloom sidecar of a format-3 block file or key: `<class>-<seq>.bloom` beside the `.parquet`. */
export function bloomPath(block: string): string {
  return block.replace(/\.parquet$/, '.bloom');
}

/** The database file name inside the store's directory (`logs.duckdb`). */
export const DATABASE_NAME = 'logs';
