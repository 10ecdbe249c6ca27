/**
 * The log store's on-disk format version (docs/formats/logstore.md). Bump it for any change an older build
 * would misread; opening newer data is refused.
 */
export const FORMAT_VERSION = 2;

/**
 * The version of the blocks this build writes (`log_blocks.format`). Version 1 blocks have no `nbytes`
 * column (their line lengths are computed from the lines); they stay readable and are rewritten as version 2
 * when merged.
 */
export const BLOCK_FORMAT = 2;

/** The database file name inside the store's directory (`logs.duckdb`). */
export const DATABASE_NAME = 'logs';
