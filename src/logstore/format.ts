/**
 * The log store's on-disk format version (docs/formats/logstore.md). Bump it for any change an older build
 * would misread; opening newer data is refused.
 */
export const FORMAT_VERSION = 1;

/** The database file name inside the store's directory (`logs.duckdb`). */
export const DATABASE_NAME = 'logs';
