/**
 * The profile store's on-disk format version (docs/formats/profilestore.md): the format stamp, the WAL
 * frame encoding, the catalog table and the Parquet block files. Bump it for any change an older build would
 * misread; opening newer data is refused.
 */
export const FORMAT_VERSION = 2;

/** The store's name in its format stamp (`profiles.format.json`). */
export const STORE_NAME = 'profiles';
