import fsp from 'node:fs/promises';
import path from 'node:path';
import { StorageFormatError } from '../storage/index.ts';
import { writeFileDurably } from '../objstore/index.ts';

/** The on-disk format this build writes and reads (docs/formats/tsdb.md). Bump on incompatible changes (2: exemplar blocks). */
export const TSDB_FORMAT_VERSION = 2;
const FORMAT_NAME = 'heimdall-tsdb';
const FORMAT_FILE = 'FORMAT.json';

/**
 * Reads the directory's format marker. Returns undefined for a fresh directory; throws
 * {@link StorageFormatError} for another format or a newer version than this build understands.
 */
export async function readFormat(dir: string): Promise<number | undefined> {
  let text: string;
  try {
    text = await fsp.readFile(path.join(dir, FORMAT_FILE), 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  let parsed: { format?: unknown; version?: unknown };
  try {
    parsed = JSON.parse(text) as { format?: unknown; version?: unknown };
  } catch (err) {
    throw new StorageFormatError(`${path.join(dir, FORMAT_FILE)} is not valid JSON`, { cause: err });
  }
  if (parsed.format !== FORMAT_NAME || typeof parsed.version !== 'number') {
    throw new StorageFormatError(`${dir} does not hold a Heimdall metrics store (${FORMAT_FILE} names ${String(parsed.format)})`);
  }
  if (parsed.version > TSDB_FORMAT_VERSION) {
    throw new StorageFormatError(
      `${dir} was written by a newer Heimdall (metrics format ${parsed.version}; this build reads up to ${TSDB_FORMAT_VERSION}); ` +
        'upgrade Heimdall or point it at another data directory',
    );
  }
  return parsed.version;
}

/** Writes the format marker durably (temp file, fsync, rename, fsync of the directory). */
export async function writeFormat(dir: string): Promise<void> {
  await writeFileDurably(path.join(dir, FORMAT_FILE), JSON.stringify({ format: FORMAT_NAME, version: TSDB_FORMAT_VERSION }) + '\n');
}
