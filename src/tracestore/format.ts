/**
 * The trace store's on-disk format version (docs/formats/tracestore.md): the WAL frame encoding, the
 * catalog tables and the Parquet block schema. Bump it for any change an older build would misread;
 * opening newer data is refused.
 */
export const FORMAT_VERSION = 5;

/** The catalog database's name inside the store's directory (`traces.duckdb`). */
export const DATABASE_NAME = 'traces';
