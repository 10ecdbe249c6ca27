import type { FormatSpec } from '../columnar/index.ts';
import { StorageFormatError } from '../storage/index.ts';

/**
 * The on-disk format this build writes and reads (docs/formats/tsdb.md). Bump on incompatible changes.
 * 1: WAL, checkpoints and sample blocks; 2: adds exemplar blocks (version 1 directories are read as they are).
 */
export const TSDB_FORMAT_VERSION = 2;

/**
 * The TSDB's format stamp, `tsdb.format.json` (the shared mechanism of columnar/format-stamp.ts). Builds before it
 * wrote `FORMAT.json` (`{"format":"heimdall-tsdb","version":N}`); such a directory is converted at open.
 */
export const TSDB_FORMAT: FormatSpec = {
  name: 'tsdb',
  version: TSDB_FORMAT_VERSION,
  legacy: { file: 'FORMAT.json', versionOf: legacyVersion },
};

function legacyVersion(text: string, file: string): number {
  let parsed: { format?: unknown; version?: unknown };
  try {
    parsed = JSON.parse(text) as { format?: unknown; version?: unknown };
  } catch (err) {
    throw new StorageFormatError(`${file} is not valid JSON; the data directory may be corrupt`, { cause: err });
  }
  if (parsed.format !== 'heimdall-tsdb' || typeof parsed.version !== 'number') {
    throw new StorageFormatError(`${file} does not describe a Heimdall metrics store (it names ${String(parsed.format)})`);
  }
  return parsed.version;
}
